import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kernel } from '../helpers/kernel.js';
import { BIN, startServer, type TestServer } from '../helpers/mcp.js';

// Progressive disclosure over MCP: the default server lists the core tools only (list_bcc_tools
// among them), --toolsets or MCPTRACE_TOOLSETS choose more, and an unlisted tool still answers
// a call by name. Every result here passes the SDK client's outputSchema check.
const CORE = [
  'analyze_output',
  'bpf_info',
  'compare_runs',
  'delete_session',
  'discover_probes',
  'exec_program',
  'explain_result',
  'export_session',
  'generate_program',
  'get_result',
  'import_session',
  'list_bcc_tools',
  'list_executions',
  'list_helpers',
  'list_probes',
  'list_sessions',
  'list_templates',
  'plan_trace',
  'render_template',
  'run_session',
  'save_session',
  'search_examples',
  'search_history',
  'stop_execution',
  'validate_program',
];

describe('serve --toolsets', () => {
  let byDefault: TestServer;
  let withBcc: TestServer;
  beforeAll(async () => {
    byDefault = await startServer([], { HOME: '/nonexistent', MCPTRACE_TOOLSETS: '' });
    withBcc = await startServer([], { HOME: '/nonexistent', MCPTRACE_TOOLSETS: 'core,bcc' });
  });
  afterAll(async () => {
    await byDefault?.close();
    await withBcc?.close();
  });

  it('lists the core tools by default', async () => {
    const names = (await byDefault.client.listTools()).tools.map((t) => t.name).sort();
    expect(names).toEqual(CORE);
  });

  it('lists the bcc tools too when asked, the default list being a fraction of the size', async () => {
    const all = await withBcc.client.listTools();
    const names = all.tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining([...CORE, 'opensnoop', 'biolatency', 'execsnoop', 'tcplife', 'funclatency']));
    expect(names).not.toContain('count_syscalls');
    const bytes = (r: unknown) => JSON.stringify(r).length;
    expect(bytes(await byDefault.client.listTools()) * 3).toBeLessThan(bytes(all));
  });

  it.skipIf(!kernel.ok)('returns rows and histograms that pass the client outputSchema check', async () => {
    // A workload the tool must see: hard IRQs were once absent for a whole second on a quiet VM.
    const pending = withBcc.call('execsnoop', { duration: 2, wait: true });
    const load = setInterval(() => spawnSync('/bin/true'), 200);
    const rows = await pending.finally(() => clearInterval(load));
    expect(rows.structuredContent.status).toBe('completed');
    expect(rows.structuredContent.columns.map((c: { name: string }) => c.name)).toContain('pcomm');
    expect(rows.structuredContent.rows.length).toBeGreaterThan(0);
    const hist = await withBcc.call('runqlat', { duration: 1, wait: true });
    expect(hist.structuredContent.histograms[0].buckets.length).toBeGreaterThan(0);
  });

  it('answers a call to an unlisted tool by name', async () => {
    const r = await byDefault.call('opensnoop', { pid: -1 });
    expect(r.isError).toBe(true);
    expect((r.content[0] as { text: string }).text).toMatch(/pid/);
  });

  it('list_bcc_tools: one line each, with what can run here', async () => {
    const r = await byDefault.call('list_bcc_tools', {});
    const s = r.structuredContent as { available: number; total: number; tools: { name: string; purpose: string; available: boolean; detail: string }[] };
    expect(s.total).toBeGreaterThanOrEqual(30);
    expect(s.tools.find((t) => t.name === 'opensnoop')).toMatchObject({ available: true, detail: expect.stringMatching(/opensnoop/) });
    expect(s.tools.every((t) => t.purpose.length > 0 && t.purpose.length <= 100)).toBe(true);
    const only = (await byDefault.call('list_bcc_tools', { available_only: true })).structuredContent as typeof s;
    expect(only.tools.every((t) => t.available)).toBe(true);
    expect(only.tools.length).toBe(s.available);
  });

  it('bpf_info names the bcc tools that can run here', async () => {
    const r = await byDefault.call('bpf_info', {});
    const bcc = (r.structuredContent as { bcc_tools: { available: string[]; unavailable: { name: string; reason: string }[] } }).bcc_tools;
    expect(bcc.available).toContain('opensnoop');
    expect(bcc.available.length + bcc.unavailable.length).toBeGreaterThanOrEqual(30);
  });

  it('refuses an unknown toolset, naming the valid ones', () => {
    const r = spawnSync(process.execPath, [BIN, 'serve', '--toolsets', 'core,bc'], {
      encoding: 'utf8',
      input: '',
      env: { ...process.env, HOME: '/nonexistent' },
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown toolset "bc"; valid toolsets: bcc, core, templates, all');
  });
});
