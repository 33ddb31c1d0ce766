import { execFileSync, spawn, spawnSync } from 'node:child_process';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeBrowser, launchBrowser, lowContrast } from '../helpers/browser.js';
import { curl, createToken, startHttpServer, type HttpServer } from '../helpers/http.js';
import { describeKernel } from '../helpers/kernel.js';
import { BIN } from '../helpers/mcp.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A run recorded by the CLI in `stateDir`'s history, as any earlier run on this machine is; its id. */
function cliRun(stateDir: string, program: string, timeout = 1): string {
  // A run that reaches its timeout exits non-zero (the CLI's exit code says timed_out); its JSON is complete.
  const r = spawnSync(process.execPath, [BIN, 'exec_program', program, '--timeout', String(timeout), '--json'], {
    env: { ...process.env, MCPTRACE_STATE_DIR: stateDir },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return (JSON.parse(r.stdout) as { execution_id: string }).execution_id;
}

/** A CPU profile while something burns CPU in the kernel, so it has stacks. */
function profileRun(stateDir: string, hz: number): string {
  const busy = spawn('dd', ['if=/dev/urandom', 'of=/dev/null', 'bs=64k', 'count=200000']);
  try {
    return cliRun(stateDir, `profile:hz:${hz} /pid > 0/ { @[kstack] = count(); }`, 2);
  } finally {
    busy.kill();
  }
}

describeKernel('the views in a browser at /ui', () => {
  describeBrowser('serve --http and mcptrace ui', () => {
    let server: HttpServer;
    let browser: Browser;
    let token: string;
    let reader: string;
    const marker = `httpui${process.pid}`;
    const runs: { printed: string; a: string; b: string } = { printed: '', a: '', b: '' };
    const stateDir = mkdtempSync(path.join(tmpdir(), 'mcptrace-ui-'));

    beforeAll(async () => {
      token = createToken(stateDir, 'alice');
      reader = createToken(stateDir, 'reader', ['--scopes', 'trace:read']);
      runs.printed = cliRun(
        stateDir,
        `interval:ms:100 { printf("${marker} %d\\n", @n); @n++; } tracepoint:syscalls:sys_exit_read { @lat_${marker} = hist(args->ret); }`,
      );
      runs.a = profileRun(stateDir, 499);
      runs.b = profileRun(stateDir, 997);
      [server, browser] = await Promise.all([startHttpServer([], { MCPTRACE_STATE_DIR: stateDir }), launchBrowser()]);
    }, 120_000);
    afterAll(async () => {
      await Promise.all([server?.stop(), browser?.close()]);
    });

    const base = () => `http://127.0.0.1:${server.port}`;

    async function signedIn(t: string): Promise<{ context: BrowserContext; page: Page; requests: string[] }> {
      const context = await browser.newContext();
      const page = await context.newPage();
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(`${base()}/ui/`);
      expect(new URL(page.url()).pathname).toBe('/ui/login');
      await page.fill('#token', t);
      await page.click('button[type="submit"]');
      return { context, page, requests };
    }

    it('keeps every page and the API behind the sign-in, with a strict CSP', () => {
      // A browser is sent to sign in; a script gets a 401 that says how.
      const page = curl(`${base()}/ui/live?execution_id=x`, { method: 'GET', headers: { accept: 'text/html,application/xhtml+xml' } });
      expect(page.status).toBe(303);
      expect(page.headers.location).toBe('/ui/login?next=%2Fui%2Flive%3Fexecution_id%3Dx');
      const script = curl(`${base()}/ui/`, { method: 'GET', headers: { accept: '*/*' } });
      expect(script.status).toBe(401);
      expect(JSON.parse(script.body).error).toMatch(/sign in at \/ui\/login, or send Authorization: Bearer TOKEN/);
      const api = curl(`${base()}/ui/api/call`, { body: JSON.stringify({ name: 'list_executions', arguments: {} }) });
      expect(api.status).toBe(401);
      expect(JSON.parse(api.body).error).toMatch(/sign in at \/ui\/login/);
      const login = curl(`${base()}/ui/login`, { method: 'GET' });
      expect(login.status).toBe(200);
      expect(login.headers['content-security-policy']).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
      expect(login.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(login.headers['content-security-policy']).not.toMatch(/script-src[^;]*unsafe-inline/);
      // A bearer header works for scripts, as on /mcp.
      const bearer = curl(`${base()}/ui/api/call`, {
        headers: { authorization: `Bearer ${token}` },
        body: JSON.stringify({ name: 'get_result', arguments: { execution_id: runs.printed, limit: 1 } }),
      });
      expect(bearer.status).toBe(200);
      expect(JSON.parse(bearer.body).structuredContent.execution_id).toBe(runs.printed);
      // Only an open redirect's opposite: next stays inside /ui.
      const evil = curl(`${base()}/ui/login`, {
        body: `token=${token}&next=https://evil.example/`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(evil.status).toBe(303);
      expect(evil.headers.location).toBe('/ui/');
    });

    it('signs in, lists and searches the runs, opens one, and compares two as a differential flame graph', async () => {
      const { context, page, requests } = await signedIn('not-a-token');
      try {
        await page.waitForSelector('#failed:not([hidden])');
        await page.fill('#token', token);
        await page.click('button[type="submit"]');
        await page.waitForSelector('#runs tbody tr');
        expect(new URL(page.url()).pathname).toBe('/ui/');
        const ids = await page.$$eval('#runs tbody tr td:nth-child(2)', (tds) => tds.map((t) => t.textContent));
        for (const id of Object.values(runs)) expect(ids).toContain(id);
        expect(await lowContrast(page)).toEqual([]);

        await page.fill('#query', marker);
        await page.press('#query', 'Enter');
        await page.waitForFunction((id) => document.querySelectorAll('#runs tbody tr').length === 1 && document.body.textContent!.includes(id), runs.printed);
        await page.click(`a[aria-label="Output of ${runs.printed}"]`);
        await page.waitForFunction((m) => (document.getElementById('output')?.textContent ?? '').includes(`${m} 3`), marker);
        expect(await page.textContent('#status')).toBe('timed_out');
        await page.waitForSelector('[data-percentile="p50"]');

        await page.goto(`${base()}/ui/`);
        await page.waitForSelector('#runs tbody tr');
        await page.check(`input[aria-label="Select ${runs.a} to compare"]`);
        expect(await page.isDisabled('#compare')).toBe(true);
        await page.check(`input[aria-label="Select ${runs.b} to compare"]`);
        await page.click('#compare');
        await page.waitForSelector('.frame');
        expect(await page.textContent('#title')).toContain('Differential');
        expect(await page.textContent('#summary')).toMatch(/samples/);
        // Nothing left this server: every request went to our own origin.
        expect(requests.filter((u) => !u.startsWith(base()) && !u.startsWith('data:'))).toEqual([]);
      } finally {
        await context.close();
      }
    }, 120_000);

    it('lets the pages read and stop runs, never start one, and holds a reader to its scope', async () => {
      const { context, page } = await signedIn(reader);
      try {
        await page.waitForSelector('#runs tbody tr');
        const post = (name: string, args: Record<string, unknown>, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
          page.request.post(`${base()}/ui/api/call`, { data: JSON.stringify({ name, arguments: args }), headers });
        const start = await post('exec_program', { program: 'BEGIN { exit(); }' });
        expect(start.status()).toBe(403);
        expect((await start.json()).error).toMatch(/may call get_result, stop_execution, .*exec_program is not one of them/);
        const stop = await post('stop_execution', { execution_id: runs.printed });
        expect(stop.status()).toBe(403);
        expect((await stop.json()).error).toMatch(/stop_execution needs the trace:run scope; token:reader has trace:read/);
        // A cross-site form can only send text/plain: refused before anything runs.
        const form = await post('get_result', { execution_id: runs.printed }, { 'content-type': 'text/plain' });
        expect(form.status()).toBe(415);
        const read = await post('analyze_output', { execution_id: runs.printed, png: false });
        expect(read.status()).toBe(200);
        expect((await read.json()).structuredContent.histograms[0].map).toBe(`@lat_${marker}`);
        // Signing out ends the session on the server: the same cookie opens nothing any more.
        await page.click('button:has-text("Sign out")');
        await page.waitForURL(/\/ui\/login$/);
        expect((await post('get_result', { execution_id: runs.printed })).status()).toBe(401);
      } finally {
        await context.close();
      }
      // Every page call is audited under the signed-in token.
      const audit = execFileSync(process.execPath, [BIN, 'audit', '--who', 'token:reader', '--json'], {
        env: { ...process.env, MCPTRACE_STATE_DIR: stateDir },
        encoding: 'utf8',
      });
      expect(audit).toContain('analyze_output');
    }, 60_000);

    it('mcptrace ui prints a link that signs the browser in, and nothing else opens the pages', async () => {
      const ui = spawn(process.execPath, [BIN, 'ui', '--no-open'], {
        env: { ...process.env, MCPTRACE_STATE_DIR: stateDir },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      try {
        const link = await new Promise<string>((resolve, reject) => {
          ui.stdout.on('data', (d) => resolve(String(d).trim()));
          ui.on('exit', (code) => reject(new Error(`mcptrace ui exited with ${code}`)));
        });
        expect(link).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/ui\/login\?token=[A-Za-z0-9_-]{32}$/);
        const origin = new URL(link).origin;
        const context = await browser.newContext();
        const page = await context.newPage();
        await page.goto(`${origin}/ui/charts?execution_id=${runs.printed}`);
        expect(new URL(page.url()).pathname).toBe('/ui/login');
        await page.goto(link.replace(/token=\w/, 'token=X'));
        await page.waitForSelector('#failed:not([hidden])');
        await page.goto(link);
        await page.waitForSelector('#runs tbody tr');
        await page.goto(`${origin}/ui/charts?execution_id=${runs.printed}`);
        await page.waitForSelector('[data-percentile="p99"]');
        await context.close();
      } finally {
        ui.kill('SIGINT');
      }
      expect(await new Promise((resolve) => ui.once('exit', (code, signal) => resolve(code ?? signal)))).not.toBeNull();
    }, 60_000);
  });
});
