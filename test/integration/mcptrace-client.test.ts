import { execFileSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { BPFTRACE, describeKernel } from '../helpers/kernel.js';
import { withServer } from '../helpers/mcp.js';

// A client written for MCPtrace (its Python and Rust servers) uses these tools, arguments and
// result fields, and nothing else. It must work unchanged against mcptrace.
describeKernel('an MCPtrace client, unchanged', () => {
  it('exec_program, then get_result polled while running, reads output under MCPtrace field names', async () => {
    await withServer({}, async (s) => {
      // Ends after its third tick, whatever the timers' drift: two independent runs (here and
      // bpftrace's own below) print the same lines. A separate 350 ms exit timer raced the third.
      const program = 'interval:ms:100 { @ticks++; printf("tick\\n"); if (@ticks == 3) { exit(); } }';
      const started = await s.call('exec_program', { program, timeout: 10 });
      const id = started.structuredContent.execution_id as string;
      expect(id).toMatch(/^exec-/);
      let r = await s.call('get_result', { execution_id: id });
      for (let i = 0; i < 100 && r.structuredContent.status === 'running'; i++) {
        await new Promise((res) => setTimeout(res, 100));
        r = await s.call('get_result', { execution_id: id, offset: 0, limit: 1000 });
      }
      const v = r.structuredContent;
      expect(v.status).toBe('completed');
      // Exactly what bpftrace itself prints for the program, whatever its version.
      const direct = execFileSync(BPFTRACE, ['-e', program], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      expect(v.output).toEqual(direct.replace(/\n$/, '').split('\n'));
      expect(v.output.filter((l: string) => l === 'tick')).toHaveLength(3);
      expect(v.lines_total).toBe(v.output.length);
      expect(v.lines_returned).toBe(v.output.length);
      expect(v.has_more).toBe(false);
      expect(v.error_message).toBeNull();
      expect(v.duration).toBeGreaterThan(0.3);
      expect(v.duration).toBeLessThan(10);
    });
  });

  it('a compile error is a failed run with error_message; paging uses offset and limit', async () => {
    await withServer({}, async (s) => {
      const bad = await s.call('exec_program', { program: 'BEGIN { @x = ; }', wait: true });
      expect(bad.structuredContent.status).toBe('failed');
      expect(bad.structuredContent.error_message).toMatch(/stdin:1:\d+(-\d+)?: ERROR: syntax/);
      const many = await s.call('exec_program', { program: 'BEGIN { $i = 0; unroll(20) { printf("%d\\n", $i); $i++; } exit(); }', wait: true });
      const first = (many.structuredContent.output as string[]).indexOf('0');
      const page = await s.call('get_result', { execution_id: many.structuredContent.execution_id, offset: first + 4, limit: 3 });
      expect(page.structuredContent.output).toEqual(['4', '5', '6']);
      expect(page.structuredContent).toMatchObject({ lines_returned: 3, lines_total: many.structuredContent.lines_total, has_more: true });
    });
  });

  it('list_probes returns probes and count; list_helpers returns helpers and count; get_result pages 1000 lines by default', async () => {
    await withServer({}, async (s) => {
      const probes = await s.call('list_probes', { filter: 'tracepoint:syscalls:sys_enter_open*' });
      expect(probes.structuredContent.probes).toContain('tracepoint:syscalls:sys_enter_openat');
      expect(probes.structuredContent.count).toBe(probes.structuredContent.probes.length);
      const helpers = await s.call('list_helpers', {});
      expect(helpers.structuredContent.count).toBe(helpers.structuredContent.helpers.length);
      expect(helpers.structuredContent.helpers.map((h: { name: string }) => h.name)).toEqual(expect.arrayContaining(['printf', 'comm', 'kstack', 'hist']));
      const big = await s.call('exec_program', { program: 'BEGIN { $i = 0; while ($i < 1500) { printf("%d\\n", $i); $i++; } exit(); }', wait: true });
      const page = await s.call('get_result', { execution_id: big.structuredContent.execution_id });
      expect(page.structuredContent.lines_returned).toBe(1000);
      expect(page.structuredContent.has_more).toBe(true);
    });
  });
});
