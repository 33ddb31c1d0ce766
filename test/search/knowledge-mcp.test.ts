import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeKernel } from '../helpers/kernel.js';
import { REPO, startServer, textOf, type TestServer } from '../helpers/mcp.js';

const LIB = path.join(REPO, 'test/fixtures/examples-lib');
const USER_TOOLS = path.join(REPO, 'test/fixtures/user-tools');

describe('resources and prompts over MCP', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer(['--tools-dir', USER_TOOLS], { MCPTRACE_EXAMPLES_DIR: LIB });
  });
  afterAll(() => s.close());

  it('lists the guides and the examples, and the resource templates', async () => {
    const { resources } = await s.client.listResources();
    const uris = resources.map((r) => r.uri);
    expect(uris).toEqual(
      expect.arrayContaining(['mcptrace://docs/bpftrace-reference', 'mcptrace://docs/troubleshooting', 'mcptrace://examples/vfs-write-latency']),
    );
    const { resourceTemplates } = await s.client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate)).toEqual([
      'mcptrace://examples/{id}',
      'mcptrace://probes/{probe}',
      'mcptrace://executions/{id}/output{?offset,limit}',
    ]);
  });

  it('reads an example, with its program and whether it runs here', async () => {
    const r = await s.client.readResource({ uri: 'mcptrace://examples/opens-by-file' });
    const text = (r.contents[0] as { text: string }).text;
    expect(text).toMatch(/^# Who opens which file/);
    expect(text).toContain('```bpftrace\ntracepoint:syscalls:sys_enter_openat');
  });

  it('reads our guides', async () => {
    const r = await s.client.readResource({ uri: 'mcptrace://docs/troubleshooting' });
    expect((r.contents[0] as { text: string }).text).toMatch(/lost events/);
  });

  it('answers an unknown resource with what exists', async () => {
    await expect(s.client.readResource({ uri: 'mcptrace://examples/no-such-example' })).rejects.toThrow(
      /no example has that id; find ids with search_examples/,
    );
    await expect(s.client.readResource({ uri: 'mcptrace://docs/nope' })).rejects.toThrow(/mcptrace:\/\/docs\/bpftrace-reference/);
    await expect(s.client.readResource({ uri: 'mcptrace://executions/exec-zz/output' })).rejects.toThrow(/no run "exec-zz"/);
  });

  it('lists the five workflow prompts and fills one in', async () => {
    const { prompts } = await s.client.listPrompts();
    expect(prompts.map((p) => p.name)).toEqual(['who_opens_file', 'why_disk_slow', 'where_cpu_time', 'function_latency', 'why_connections_fail']);
    const p = await s.client.getPrompt({ name: 'who_opens_file', arguments: { path: '/etc/hosts' } });
    const text = (p.messages[0].content as { text: string }).text;
    expect(text).toContain('path = "/etc/hosts"');
    const steps = ['discover_probes', 'search_examples', 'validate_program', 'exec_program', 'get_result', 'analyze_output'].map((t) => text.indexOf(t));
    expect(steps.every((i) => i >= 0)).toBe(true);
    expect([...steps].sort((a, b) => a - b)).toEqual(steps);
  });

  it('refuses a prompt without its required argument, saying which', async () => {
    await expect(s.client.getPrompt({ name: 'function_latency', arguments: {} })).rejects.toThrow(/needs "function"/);
  });

  it('searches examples over MCP, the result matching the output schema', async () => {
    const r = await s.call('search_examples', { query: 'my app is slow writing files', limit: 3 });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent.results[0]).toMatchObject({ id: 'vfs-write-latency', resource: 'mcptrace://examples/vfs-write-latency' });
    expect(textOf(r)).toMatch(/^1\. vfs-write-latency/);
  });
});

describeKernel('kernel-backed resources over MCP', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer(['--tools-dir', USER_TOOLS], { MCPTRACE_EXAMPLES_DIR: LIB });
  });
  afterAll(() => s.close());

  it('marks an example needing kprobes as not running on this kernel (no kprobes here)', async () => {
    const r = await s.call('search_examples', { query: 'vfs write latency', limit: 5 });
    const vfs = r.structuredContent.results.find((x: { id: string }) => x.id === 'vfs-write-latency');
    const block = (await s.call('search_examples', { query: 'disk latency', limit: 1 })).structuredContent.results[0];
    expect(block).toMatchObject({ id: 'block-io-latency', runs_here: true, probes_exist: true });
    // The host kernel of this project has no kprobes; a kernel with them lists kprobe:vfs_write.
    const listed = (await s.call('list_probes', { filter: 'kprobe:vfs_write' })).structuredContent.total > 0;
    expect(vfs.probes_exist).toBe(listed);
  });

  it('discovers probes over MCP and reads one as a resource', async () => {
    const d = await s.call('discover_probes', { goal: 'why is the disk slow', limit: 5 });
    expect(d.isError).toBeFalsy();
    expect(d.structuredContent.groups[0].subsystem).toBe('block');
    const r = await s.client.readResource({ uri: 'mcptrace://probes/tracepoint:block:block_rq_issue' });
    const text = (r.contents[0] as { text: string }).text;
    expect(text).toContain('sector_t sector');
    expect(text).toContain('pair: tracepoint:block:block_rq_issue → tracepoint:block:block_rq_complete');
    await expect(s.client.readResource({ uri: 'mcptrace://probes/tracepoint:nope:nope' })).rejects.toThrow(/not a probe on this kernel/);
  });

  it('links the whole output of a run cut by its caps, readable in pages, and removes the file at shutdown', async () => {
    const r = await s.call('capped_program', {
      program: 'BEGIN { $i = 0; while ($i < 40) { printf("line %d\\n", $i); $i++; } exit(); }',
      wait: true,
      timeout: 30,
    });
    expect(r.structuredContent.dropped.lines).toBeGreaterThan(0);
    const uri = r.structuredContent.full_output.uri;
    expect(uri).toBe(`mcptrace://executions/${r.structuredContent.execution_id}/output`);
    expect(r.content).toContainEqual(expect.objectContaining({ type: 'resource_link', uri }));
    const whole = (await s.client.readResource({ uri })).contents[0] as { text: string; _meta: Record<string, unknown> };
    const lines = whole.text.slice(0, -1).split('\n');
    // Every line the program printed, in order, though only 5 were kept in the result.
    expect(lines.filter((l) => l.startsWith('line '))).toEqual(Array.from({ length: 40 }, (_, i) => `line ${i}`));
    expect(whole._meta).toMatchObject({ offset: 0, lines_total: lines.length, has_more: false });
    const page = await s.client.readResource({ uri: `${uri}?offset=10&limit=5` });
    expect((page.contents[0] as { text: string }).text).toBe(`${lines.slice(10, 15).join('\n')}\n`);
    expect(page.contents[0]._meta).toMatchObject({ offset: 10, lines_returned: 5, lines_total: lines.length, next_offset: 15, has_more: true });
    await expect(s.client.readResource({ uri: `${uri}?offset=-1` })).rejects.toThrow(/offset must be a whole number/);
    const dirs = (await import('node:fs')).readdirSync('/tmp').filter((d) => d.startsWith('mcptrace-output-'));
    expect(dirs.length).toBeGreaterThan(0);
    await s.close();
    // The server removes its output directory on shutdown; others may belong to other servers.
    const after = (await import('node:fs')).readdirSync('/tmp').filter((d) => d.startsWith('mcptrace-output-'));
    expect(after.filter((d) => !dirs.includes(d))).toEqual([]);
    expect(dirs.some((d) => !existsSync(path.join('/tmp', d)))).toBe(true);
  });
});
