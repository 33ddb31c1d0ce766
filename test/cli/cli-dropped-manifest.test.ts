import { runCommand } from '@oclif/test';
import { copyFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { describeKernel } from '../helpers/kernel.js';
import { REPO } from '../helpers/mcp.js';

// The command list is built from the manifests when oclif loads it, once per process; vitest
// runs each test file in its own process, so this file's tools dir is set before that.
const dir = mkdtempSync(path.join(os.tmpdir(), 'mcptrace-oclif-tools-'));
copyFileSync(path.join(__dirname, '../fixtures/user-tools/hello_user.yaml'), path.join(dir, 'hello_user.yaml'));
process.env.MCPTRACE_TOOLS_PATH = dir;

describeKernel('a manifest dropped into a tools dir (runCommand)', () => {
  it('becomes a command with help and runs', async () => {
    const help = await runCommand(['hello', '--help'], { root: REPO });
    expect(help.stdout).toContain('Say hello from a user manifest');
    expect(help.stdout).toMatch(/--word=string/);
    const r = await runCommand(['hello', '--word', 'oclif'], { root: REPO });
    // bpftrace's own output around the greeting (its attach line, the exit's blank lines) stays.
    expect(r.stdout).toMatch(/^(Attaching 1 probe...\n)?hello oclif\n/);
  });
});
