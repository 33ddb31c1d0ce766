import { expect, it } from 'vitest';
import { describeKernel } from '../helpers/kernel.js';
import { textOf, withServer } from '../helpers/mcp.js';

// Results a model reads: each of these once misled one (issue: results a model cannot misread).
describeKernel('exec_program options and results over MCP', () => {
  it('command (bpftrace -c, argv) keeps its output apart; args are $1, $2; pid must be running', async () => {
    await withServer({}, async (s) => {
      const r = await s.call('exec_program', {
        program: 'tracepoint:syscalls:sys_enter_exit_group /pid == cpid/ { printf("%s exited\\n", str($1)); }',
        command: ['/usr/bin/printf', 'one\\ntwo\\n'],
        args: ['the command'],
        wait: true,
      });
      const v = r.structuredContent;
      expect(v.status).toBe('completed');
      expect(v.output).toContain('the command exited');
      expect(v.output.join('\n')).not.toContain('one');
      expect(v.command_output).toEqual(['one', 'two']);
      expect(textOf(r)).toContain("the command's own output:\none\ntwo");

      const spaced = await s.call('exec_program', { program: 'BEGIN { exit(); }', command: ['/usr/bin/echo', 'a b'] });
      expect(spaced.isError).toBe(true);
      expect(textOf(spaced)).toContain('contains whitespace: bpftrace splits -c on spaces');

      const gone = await s.call('count_syscalls', { pid: 3999999, duration: 1 });
      expect(gone.isError).toBe(true);
      expect(textOf(gone)).toContain('no process with pid 3999999 is running');
    });
  });

  it('an empty run says that nothing matched and why it may be; list_executions shows what ran', async () => {
    await withServer({}, async (s) => {
      const r = await s.call('exec_program', {
        program: 'tracepoint:syscalls:sys_enter_openat /comm == "no-such-comm-xyz"/ { @[comm] = count(); }',
        timeout: 1,
        wait: true,
      });
      expect(r.structuredContent.status).toBe('timed_out');
      expect(r.structuredContent.warnings.join(' ')).toContain('no events matched');
      expect(textOf(r)).toContain('no events matched');
      await s.call('exec_program', { program: '// a comment first\nBEGIN { printf("second run\\n"); exit(); }', wait: true });
      const list = await s.call('list_executions', {});
      const summaries = list.structuredContent.executions.map((e: { summary: string }) => e.summary);
      expect(summaries).toEqual([
        'tracepoint:syscalls:sys_enter_openat /comm == "no-such-comm-xyz"/ { @[comm] = count(); }',
        'BEGIN { printf("second run\\n"); exit(); }',
      ]);
      expect(textOf(list)).toContain('BEGIN { printf("second run\\n"); exit(); }');
    });
  });

  it('stop_execution returns the end of the output with the final maps, and says where the rest is', async () => {
    await withServer({}, async (s) => {
      const started = await s.call('exec_program', {
        program: 'BEGIN { $i = 0; unroll(100) { printf("line %d\\n", $i); $i++; } } interval:ms:50 { @ticks = count(); }',
        timeout: 60,
      });
      const id = started.structuredContent.execution_id;
      let lines = 0;
      for (let i = 0; i < 100 && lines < 100; i++) {
        await new Promise((res) => setTimeout(res, 100));
        lines = (await s.call('get_result', { execution_id: id })).structuredContent.lines_total;
      }
      // Let the interval fire: since 0.25 bpftrace prints nothing for a map that was never set.
      await new Promise((res) => setTimeout(res, 500));
      const stopped = await s.call('stop_execution', { execution_id: id, limit: 20 });
      const v = stopped.structuredContent;
      expect(v.status).toBe('stopped');
      expect(v.output.join('\n')).toMatch(/^@ticks: \d+$/m);
      expect(v.offset).toBe(v.lines_total - v.output.length);
      expect(v.offset).toBeGreaterThan(0);
      expect(v.maps['@ticks'].type).toBeDefined();
      expect(textOf(stopped)).toContain(`lines 0-${v.offset - 1} come before this page: call get_result with offset 0`);
    });
  });

  it('a call can raise (or lower) the output caps within the server maximum', async () => {
    await withServer({ args: ['--max-output-lines', '50'] }, async (s) => {
      const program = 'BEGIN { $i = 0; unroll(40) { printf("line %d\\n", $i); $i++; } exit(); }';
      const few = await s.call('exec_program', { program, max_lines: 5, wait: true });
      expect(few.structuredContent.lines_total).toBe(5);
      expect(few.structuredContent.dropped.lines).toBeGreaterThan(30);
      expect(few.structuredContent.limits.max_lines).toBe(5);
      const over = await s.call('exec_program', { program, max_lines: 51, wait: true });
      expect(over.isError).toBe(true);
      expect(textOf(over)).toContain("max_lines 51 exceeds this server's maximum of 50");
    });
  });
});
