// An MCP Apps host for the scripts (screenshots, the views' eval, the benchmark): a real
// `mcptrace serve` on stdio behind an MCP client that declares the extension, and Debian's
// Chromium showing a view the way a host does (ext-apps' AppBridge in the tests' host page,
// the view's ui:// HTML in a sandboxed iframe, its tool calls relayed to the server).
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { buildView } from './build-ui.mjs';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = path.join(REPO, 'bin/run.js');

/**
 * Starts the server (in `stateDir`, or a fresh one) and the browser. `call(name, args)` calls a
 * tool; `open(view, input, result, {theme, viewport, call})` shows a view and returns
 * {page, frame}; `call` there replaces the server (the benchmark's synthetic stacks).
 */
export async function startAppsHost({ stateDir = mkdtempSync(path.join(tmpdir(), 'mcptrace-apps-')), serveArgs = [], stderr = 'ignore' } = {}) {
  const hostHtml = readFileSync(await buildView(path.join(REPO, 'test/ui/harness/host.html'), mkdtempSync(path.join(tmpdir(), 'mcptrace-host-'))), 'utf8');
  const client = new Client(
    { name: 'mcptrace-apps-host', version: '1.0.0' },
    { capabilities: { extensions: { 'io.modelcontextprotocol/ui': { mimeTypes: ['text/html;profile=mcp-app'] } } } },
  );
  await client.connect(
    new StdioClientTransport({ command: process.execPath, args: [BIN, 'serve', ...serveArgs], env: { ...process.env, MCPTRACE_STATE_DIR: stateDir }, stderr }),
  );
  const call = (name, args) => client.callTool({ name, arguments: args }, undefined, { timeout: 120_000 });
  const browser = await chromium.launch({ executablePath: process.env.MCPTRACE_CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
  const views = new Map();
  const viewHtml = async (name) => {
    if (!views.has(name)) views.set(name, (await client.readResource({ uri: `ui://mcptrace/${name}.html` })).contents[0].text);
    return views.get(name);
  };

  async function open(view, input, result, { theme = 'light', viewport = { width: 1100, height: 760 }, call: relay } = {}) {
    const page = await browser.newPage({ viewport, colorScheme: theme });
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.exposeFunction('mcpCallTool', (p) => (relay ?? call)(p.name, p.arguments ?? {}));
    await page.setContent(hostHtml);
    await page.evaluate(([h, i, r, t]) => window.openView(h, i, r, t), [await viewHtml(view), input, result, theme]);
    return { page, frame: page.frames().find((f) => f !== page.mainFrame()), errors };
  }

  return {
    stateDir,
    client,
    call,
    browser,
    open,
    close: async () => {
      await browser.close();
      await client.close();
    },
  };
}
