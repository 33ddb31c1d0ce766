import { runCommand } from '@oclif/test';
import { cpSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { describeKernel } from '../helpers/kernel.js';
import { REPO, withServer } from '../helpers/mcp.js';

// A template, its own partial and its manifest copied into a user tools dir: no code change.
// The CLI builds its command list once per process (vitest runs each file in its own), so the
// directory is set before oclif loads.
const dir = mkdtempSync(path.join(os.tmpdir(), 'mcptrace-user-templates-'));
cpSync(path.join(__dirname, '../fixtures/user-templates'), dir, { recursive: true });
process.env.MCPTRACE_TOOLS_PATH = dir;

describeKernel('a template dropped into a user tools dir', () => {
  it('is an MCP tool that runs, is listed by list_templates, and renders with its own partial', async () => {
    await withServer({ args: ['--tools-dir', dir] }, async (s) => {
      const tools = (await s.client.listTools()).tools.map((t) => t.name);
      expect(tools).toContain('trace_user_wakeups');
      const listed = (await s.call('list_templates', { filter: 'wakeups' })).structuredContent;
      expect(listed.templates.map((t: { name: string }) => t.name)).toEqual(['trace_user_wakeups']);
      const rendered = (await s.call('render_template', { name: 'trace_user_wakeups', params: { comm: 'bash' } })).structuredContent;
      expect(rendered.program).toContain('/ 1 && args->comm == "bash" /');
      expect(rendered.probes).toEqual(['tracepoint:sched:sched_wakeup', 'interval:s:5']);
      const run = await s.call('trace_user_wakeups', { duration: 1 });
      expect(run.structuredContent.status, JSON.stringify(run.structuredContent)).toBe('completed');
      expect(run.structuredContent.output.some((l: string) => l.startsWith('@wakeups['))).toBe(true);
    });
  }, 60_000);

  it('is a CLI command with help and runs', async () => {
    const help = await runCommand(['wakeups', '--help'], { root: REPO });
    expect(help.stdout).toContain('Count scheduler wakeups per woken command name');
    expect(help.stdout).toMatch(/--comm=string/);
    const r = await runCommand(['wakeups', '--duration', '1'], { root: REPO });
    expect(r.stdout).toMatch(/@wakeups\[/);
  }, 60_000);
});
