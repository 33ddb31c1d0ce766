import { expect, it } from 'vitest';
import { describeKernel } from '../helpers/kernel.js';
import { withServer } from '../helpers/mcp.js';

// A map of 60,000 keys is one JSON line of about 1.3 MB; bpftrace's own limit is raised to
// 65,536 keys, so maps this big are expected (per-pid, per-stack). It once reached the user as
// JSON fragments (`013": 48671, "48672146016": …`).
// A loop in BEGIN would be simplest, but 0.23's and 0.27's verifiers refuse one this long, so
// the keys come from dd's 60,000 one-byte writes (and the three lines of its report).
const KEYS = 60_003;
const PROGRAM = 'tracepoint:syscalls:sys_enter_write /pid == cpid/ { @[@n * 1000003] = @n; @n++; }';
const COMMAND = ['/usr/bin/dd', 'if=/dev/zero', 'of=/dev/null', 'bs=1', 'count=60000'];

describeKernel('a map bigger than 1 MiB as one JSON line', () => {
  it('arrives whole: in the text pages, in include_maps and in the analysis', async () => {
    await withServer({}, async (s) => {
      const r = (await s.call('exec_program', { program: PROGRAM, command: COMMAND, wait: true, include_maps: true })).structuredContent;
      expect(r.status).toBe('completed');
      expect(r.warnings).toEqual([]);
      expect(Object.keys(r.maps['@'].value)).toHaveLength(KEYS);
      expect(r.maps['@'].value['60002180006']).toBe(60_002);
      expect(r.maps['@n'].value).toBe(KEYS);

      const lines: string[] = [];
      for (let offset = 0; ;) {
        const page = (await s.call('get_result', { execution_id: r.execution_id, offset, limit: 10_000 })).structuredContent;
        lines.push(...page.output);
        if (!page.has_more) break;
        offset = page.next_offset;
      }
      const entries = lines.filter((l) => l.startsWith('@['));
      // Every other line is bpftrace's own: the attach notice (0.17–0.23), blank lines, @n.
      expect(lines.filter((l) => !l.startsWith('@[') && l !== '' && !/^Attach/.test(l))).toEqual([`@n: ${KEYS}`]);
      expect(entries).toHaveLength(KEYS);
      for (const l of entries) expect(l).toMatch(/^@\[\d+\]: \d+$/);
      expect(new Set(entries).size).toBe(KEYS);
      expect(entries).toContain('@[60002180006]: 60002');

      const a = (await s.call('analyze_output', { execution_id: r.execution_id })).structuredContent;
      expect(JSON.stringify(a)).toContain('60002180006');
    });
  }, 120_000);
});
