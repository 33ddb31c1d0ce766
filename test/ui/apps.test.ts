import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Frame, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildPage, describeBrowser, launchBrowser, lowContrast } from '../helpers/browser.js';
import { kernel, pidsWith } from '../helpers/kernel.js';
import { BIN, REPO } from '../helpers/mcp.js';

const APPS = { 'io.modelcontextprotocol/ui': { mimeTypes: ['text/html;profile=mcp-app'] } };

async function connect(apps: boolean): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, 'serve', '--toolsets', 'all'],
    env: { ...(process.env as Record<string, string>), MCPTRACE_STATE_DIR: mkdtempSync(path.join(tmpdir(), 'mcptrace-apps-')) },
    stderr: 'pipe',
  });
  const client = new Client({ name: apps ? 'apps-host' : 'plain-client', version: '1.0.0' }, { capabilities: apps ? ({ extensions: APPS } as never) : {} });
  await client.connect(transport);
  return client;
}

const strip = (t: Record<string, unknown>) => {
  const { _meta: _drop, ...rest } = t;
  return rest;
};

// Without a kernel the MCP half still runs; the traces need it (and CI fails loudly without it).
describeBrowser('MCP Apps: views linked, listed and rendered in a real host', () => {
  let apps: Client;
  let plain: Client;
  let browser: Browser;
  let hostHtml: string;

  beforeAll(async () => {
    [apps, plain, browser, hostHtml] = await Promise.all([
      connect(true),
      connect(false),
      launchBrowser(),
      buildPage(path.join(REPO, 'test/ui/harness/host.html')),
    ]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([apps?.close(), plain?.close(), browser?.close()]);
  });

  it('links each tool to its view, and lists the views, for a client that renders apps', async () => {
    const { tools } = await apps.listTools();
    const uri = (name: string) => (tools.find((t) => t.name === name)?._meta as { ui?: { resourceUri?: string } } | undefined)?.ui?.resourceUri;
    expect(uri('exec_program')).toBe('ui://mcptrace/live-run.html');
    expect(uri('opensnoop')).toBe('ui://mcptrace/live-run.html');
    expect(uri('trace_cpu_profile')).toBe('ui://mcptrace/live-run.html');
    expect(uri('get_result')).toBe('ui://mcptrace/live-run.html');
    expect(uri('analyze_output')).toBe('ui://mcptrace/charts.html');
    expect(uri('compare_runs')).toBe('ui://mcptrace/flamegraph.html');
    expect(uri('list_probes')).toBeUndefined();
    const legacyKey = (tools.find((t) => t.name === 'exec_program')?._meta as Record<string, unknown>)['ui/resourceUri'];
    expect(legacyKey).toBe('ui://mcptrace/live-run.html');

    const { resources } = await apps.listResources();
    const views = resources.filter((r) => r.uri.startsWith('ui://'));
    expect(views.map((r) => r.uri).sort()).toEqual(['ui://mcptrace/charts.html', 'ui://mcptrace/flamegraph.html', 'ui://mcptrace/live-run.html']);
    for (const v of views) {
      expect(v.mimeType).toBe('text/html;profile=mcp-app');
      const read = await apps.readResource({ uri: v.uri });
      const c = read.contents[0] as { text: string; mimeType: string; _meta?: { ui?: { csp?: unknown } } };
      expect(c.mimeType).toBe('text/html;profile=mcp-app');
      expect(c._meta?.ui?.csp).toEqual({ connectDomains: [], resourceDomains: [] });
      // Self-contained: no script, style or image is fetched from anywhere.
      expect(c.text).toMatch(/^<!doctype html>/i);
      expect(c.text).not.toMatch(/<(script|link|img)\b[^>]*\b(src|href)=["']?(https?:)?\/\//i);
    }
  });

  it('gives a client without MCP Apps the same tools and the same results: the link is only metadata it ignores', async () => {
    const [withApps, without] = await Promise.all([apps.listTools(), plain.listTools()]);
    expect(without.tools).toEqual(withApps.tools);
    // The link is metadata beside the tool, never in its name, arguments or description.
    const before = without.tools.map((t) => strip(t as Record<string, unknown>));
    expect(before.every((t) => !JSON.stringify(t).includes('ui://'))).toBe(true);
    const args = { name: 'list_probes', arguments: { filter: 'tracepoint:sched:sched_switch' } };
    const [a, b] = await Promise.all([apps.callTool(args, CallToolResultSchema), plain.callTool(args, CallToolResultSchema)]);
    expect(b).toEqual(a);
    expect(JSON.stringify(b)).not.toContain('ui://');
  });

  it.runIf(kernel.ok)(
    'still returns the text, the PNG and the SVG to a client without MCP Apps',
    async () => {
      const run = await plain.callTool(
        { name: 'exec_program', arguments: { program: 'tracepoint:syscalls:sys_exit_read { @bytes = hist(args->ret); }', timeout: 1, wait: true } },
        CallToolResultSchema,
        { timeout: 60_000 },
      );
      const id = (run.structuredContent as { execution_id: string }).execution_id;
      const r = await plain.callTool({ name: 'analyze_output', arguments: { execution_id: id } }, CallToolResultSchema);
      const kinds = r.content.map((c) => (c.type === 'image' ? c.mimeType : c.type === 'resource' ? (c.resource as { mimeType: string }).mimeType : c.type));
      expect(kinds.sort()).toEqual(['image/png', 'image/svg+xml', 'text']);
      expect((r.content[0] as { text: string }).text).toMatch(/@bytes/);
    },
    60_000,
  );

  it('an unknown view is a clear not-found error', async () => {
    await expect(apps.readResource({ uri: 'ui://mcptrace/nope.html' })).rejects.toThrow(/the views are ui:\/\/mcptrace\/live-run\.html/);
  });

  async function openView(page: Page, view: string, input: Record<string, unknown>, result: unknown, theme: 'light' | 'dark' = 'light'): Promise<Frame> {
    const html = ((await apps.readResource({ uri: `ui://mcptrace/${view}.html` })).contents[0] as { text: string }).text;
    await page.exposeFunction('mcpCallTool', (p: { name: string; arguments?: Record<string, unknown> }) =>
      apps.callTool({ name: p.name, arguments: p.arguments ?? {} }, CallToolResultSchema, { timeout: 120_000 }),
    );
    await page.setContent(hostHtml);
    await page.evaluate(([h, i, r, t]) => window.openView(h as string, i as never, r, t as 'light'), [html, input, result, theme] as const);
    const frame = page.frames().find((f) => f !== page.mainFrame());
    if (!frame) throw new Error('the view did not load');
    return frame;
  }

  it.runIf(kernel.ok)(
    'the live view streams a real trace, Stop stops it by keyboard, and its maps appear',
    async () => {
      const marker = `live${process.pid}`;
      const program = `interval:ms:50 { printf("${marker} tick %d\\n", @ticks); @ticks++; } tracepoint:syscalls:sys_exit_read { @bytes = hist(args->ret); @reads[comm] = count(); }`;
      const started = await apps.callTool({ name: 'exec_program', arguments: { program, timeout: 120 } }, CallToolResultSchema);
      const id = (started.structuredContent as { execution_id: string; status: string }).execution_id;
      expect((started.structuredContent as { status: string }).status).toMatch(/running|queued/);
      const page = await browser.newPage();
      try {
        const frame = await openView(page, 'live-run', { program, timeout: 120 }, started);
        await frame.waitForFunction((m) => (document.getElementById('output')?.textContent ?? '').includes(`${m} tick 3`), marker, { timeout: 30_000 });
        // Streaming: later lines keep arriving while the run goes on.
        await frame.waitForFunction((m) => (document.getElementById('output')?.textContent ?? '').includes(`${m} tick 12`), marker, { timeout: 30_000 });
        expect(await frame.textContent('#status')).toMatch(/running/);
        expect(await lowContrast(frame)).toEqual([]);
        // Keyboard: Tab reaches Stop, Enter presses it.
        let reached = false;
        for (let i = 0; i < 6 && !reached; i++) {
          await page.keyboard.press('Tab');
          reached = await frame.evaluate(() => document.activeElement?.id === 'stop');
        }
        expect(reached).toBe(true);
        await page.keyboard.press('Enter');
        await frame.waitForFunction(() => /stopped/.test(document.getElementById('status')?.textContent ?? ''), undefined, { timeout: 60_000 });
        // END printed the maps; the view draws them: the histogram with its percentiles, the counts as top keys.
        await frame.waitForSelector('figure.chart [data-percentile="p50"]', { timeout: 30_000 });
        const captions = await frame.$$eval('figure.chart figcaption', (els) => els.map((e) => e.textContent ?? ''));
        expect(captions.some((c) => c.includes('@bytes'))).toBe(true);
        expect(captions.some((c) => c.includes('@reads'))).toBe(true);
        expect(await frame.textContent('#maps')).toContain('@ticks');
        const calls = await page.evaluate(() => window.toolCalls);
        expect(calls).toContain('stop_execution');
        expect(calls).toContain('get_result');
        const final = await apps.callTool({ name: 'get_result', arguments: { execution_id: id, limit: 1 } }, CallToolResultSchema);
        expect((final.structuredContent as { status: string }).status).toBe('stopped');
        expect(pidsWith(marker)).toEqual([]);
      } finally {
        await page.close();
      }
    },
    180_000,
  );

  /** A profile of this machine while a busy child burns CPU, so there are stacks to draw. */
  async function profile(hz: number): Promise<string> {
    const busy = spawn(process.execPath, ['-e', 'const end = Date.now() + 3000; while (Date.now() < end) Math.sqrt(Math.random());']);
    try {
      const r = await apps.callTool(
        { name: 'exec_program', arguments: { program: `profile:hz:${hz} { @[kstack] = count(); }`, timeout: 2, wait: true } },
        CallToolResultSchema,
        { timeout: 60_000 },
      );
      return (r.structuredContent as { execution_id: string }).execution_id;
    } finally {
      busy.kill();
    }
  }

  it.runIf(kernel.ok)(
    'the flame graph of compare_runs zooms, searches and resets, keys included',
    async () => {
      const [a, b] = [await profile(499), await profile(997)];
      const compared = await apps.callTool({ name: 'compare_runs', arguments: { a, b, png: false } }, CallToolResultSchema);
      expect(compared.isError).toBeFalsy();
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      try {
        const frame = await openView(page, 'flamegraph', { a, b }, compared);
        await frame.waitForSelector('.frame', { timeout: 30_000 });
        expect(await frame.textContent('#title')).toContain('Differential');
        const rootWidth = await frame.$eval('.frame[data-name="all"]', (e) => e.getBoundingClientRect().width);
        // Zoom: click the widest frame above the root; it spans the graph.
        const target = await frame.$$eval(
          '.frame',
          (els) =>
            els
              .filter((e) => e.getAttribute('data-name') !== 'all')
              .map((e) => ({ path: e.getAttribute('data-path')!, w: e.getBoundingClientRect().width, depth: JSON.parse(e.getAttribute('data-path')!).length }))
              .filter((x) => x.depth >= 3)
              .sort((x, y) => y.w - x.w)[0],
        );
        expect(target.w).toBeLessThan(rootWidth);
        await frame.click(`.frame[data-path='${target.path.replace(/'/g, "\\'")}']`);
        const zoomed = await frame.$eval(`.frame[data-path='${target.path.replace(/'/g, "\\'")}']`, (e) => e.getBoundingClientRect().width);
        expect(zoomed).toBeGreaterThan(rootWidth * 0.98);
        await frame.click('button:has-text("Reset")');
        expect(await frame.$eval(`.frame[data-path='${target.path.replace(/'/g, "\\'")}']`, (e) => e.getBoundingClientRect().width)).toBeCloseTo(target.w, 0);
        // Search: every frame whose name matches, and only those, is marked.
        const name = JSON.parse(target.path).at(-1) as string;
        await frame.fill('input[type="search"]', name);
        await frame.waitForFunction(() => document.querySelectorAll('.frame.match').length > 0);
        const marked = await frame.$$eval('.frame', (els) => els.map((e) => ({ name: e.getAttribute('data-name')!, match: e.classList.contains('match') })));
        for (const f of marked) expect(f.match).toBe(f.name.toLowerCase().includes(name.toLowerCase()));
        expect(await frame.textContent('[role="status"]')).toMatch(/match/);
        // Keyboard: focus the graph, go up a frame, Enter zooms, Escape resets.
        await frame.focus('[tabindex="0"][role="tree"], [tabindex="0"][role="application"]');
        await page.keyboard.press('ArrowUp');
        await page.keyboard.press('Enter');
        expect(await frame.textContent('[role="status"]')).toMatch(/Zoomed/i);
        await page.keyboard.press('Escape');
        expect(await frame.textContent('[role="status"]')).not.toMatch(/Zoomed/i);
        expect(await lowContrast(frame)).toEqual([]);
      } finally {
        await page.close();
      }
    },
    180_000,
  );

  it.runIf(kernel.ok)(
    'the charts view marks the percentiles analyze_output reports, in the dark theme too',
    async () => {
      const marker = `chart${process.pid}`;
      const run = await apps.callTool(
        {
          name: 'exec_program',
          arguments: { program: `tracepoint:syscalls:sys_exit_read /args->ret >= 0/ { @${marker} = hist(args->ret); }`, timeout: 2, wait: true },
        },
        CallToolResultSchema,
        { timeout: 60_000 },
      );
      const id = (run.structuredContent as { execution_id: string }).execution_id;
      const analysed = await apps.callTool({ name: 'analyze_output', arguments: { execution_id: id, png: false } }, CallToolResultSchema);
      const h = (
        analysed.structuredContent as { histograms: { map: string; p50: { value: number }; p90: { value: number }; p99: { value: number } }[] }
      ).histograms.find((x) => x.map === `@${marker}`);
      expect(h).toBeDefined();
      const page = await browser.newPage();
      try {
        await page.emulateMedia({ colorScheme: 'dark' });
        const frame = await openView(page, 'charts', { execution_id: id }, analysed, 'dark');
        await frame.waitForSelector('[data-percentile="p99"]', { timeout: 30_000 });
        expect(await frame.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
        const labels = await frame.$$eval('[data-percentile]', (els) => els.map((e) => `${e.getAttribute('data-percentile')}: ${e.textContent}`));
        for (const p of ['p50', 'p90', 'p99'] as const) expect(labels.some((l) => l.startsWith(`${p}:`))).toBe(true);
        expect(await frame.textContent('#summary')).toBe((analysed.structuredContent as { summary: string }).summary);
        expect(await lowContrast(frame)).toEqual([]);
      } finally {
        await page.close();
      }
    },
    120_000,
  );
});
