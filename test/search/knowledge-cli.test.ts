import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { REPO } from '../helpers/mcp.js';

const env = { MCPTRACE_EXAMPLES_DIR: path.join(REPO, 'test/fixtures/examples-lib') };
const run = async (args: string[]) => {
  const r = runCli(args, { env });
  const code = await r.exited;
  return { code, out: r.stdout(), err: r.stderr() };
};

describe('the knowledge from a terminal', () => {
  it('mcptrace search takes the query as its argument and explains each match', async () => {
    const r = await run(['search', 'my app is slow writing files', '--limit', '1']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^1\. vfs-write-latency: VFS write latency histogram {2}\[/);
    expect(r.out).toContain('why: words: slow, writing, files; concepts: ');
    expect(r.out).toContain('    kprobe:vfs_write { @start[tid] = nsecs; }');
  });

  it('reads a resource and fills in a prompt, and names what exists when asked for what does not', async () => {
    const ex = await run(['resources', 'read', 'mcptrace://examples/exec-trace']);
    expect(ex.code).toBe(0);
    expect(ex.out).toMatch(/^# Trace new processes\n/);
    const missing = await run(['resources', 'read', 'mcptrace://examples/nope']);
    expect(missing.code).toBe(2);
    // The fixture's two bad files are reported first (skipped, never fatal), then the error.
    expect(missing.err).toMatch(/skipped example .*bad-id\.yaml: id "Not_Kebab" is not kebab-case\n/);
    expect(missing.err).toMatch(/\nError: resource mcptrace:\/\/examples\/nope does not exist: no example has that id; find ids with search_examples\n$/);
    const p = await run(['prompts', 'get', 'why_connections_fail', '--arg', 'port=443']);
    expect(p.out).toMatch(/^Why do connections fail\? \(port = "443"\)/);
    const bad = await run(['prompts', 'get', 'nope']);
    expect(bad.err).toMatch(/unknown prompt "nope"; the prompts are who_opens_file, why_disk_slow/);
  });
});
