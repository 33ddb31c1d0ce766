import { expect, it } from 'vitest';
import { describeKernel, pidsWith, waitFor } from '../helpers/kernel.js';
import { startRawServer } from '../helpers/raw-server.js';

// What a hostile or buggy client sends must get a JSON-RPC error and leave the server, and the
// traces it runs, as they were. stdout never carries anything but protocol.
describeKernel('hostile messages', () => {
  it('a message over the size limit is refused with an error; the server and its trace go on', async () => {
    const s = await startRawServer();
    try {
      const m = `h${process.pid}${Date.now().toString(36)}`;
      s.request(1, 'tools/call', { name: 'exec_program', arguments: { program: `interval:ms:100 { @${m} = count(); }`, timeout: 60 } });
      const id = (await s.reply(1)).result.structuredContent.execution_id;
      expect(await waitFor(() => pidsWith(m).length > 0, 10_000)).toBe(true);
      // 11 MiB, past the SDK's own 10 MiB buffer, which used to close the connection.
      s.send(
        JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'exec_program', arguments: { program: 'x'.repeat(11 * 1024 * 1024) } } }),
      );
      const big = await s.reply(2);
      expect(big.error?.code).toBe(-32600);
      expect(big.error?.message).toMatch(/over the \d+-byte limit and was not read/);
      s.request(3, 'tools/call', { name: 'get_result', arguments: { execution_id: id } });
      expect((await s.reply(3)).result.structuredContent.status).toBe('running');
      expect(pidsWith(m).length).toBeGreaterThan(0);
      expect(s.junk()).toEqual([]);
    } finally {
      s.child.kill('SIGTERM');
      await s.exited;
    }
  });

  it('malformed JSON gets -32700, a non-JSON-RPC message -32600, non-object arguments -32602', async () => {
    const s = await startRawServer();
    try {
      s.send('{"jsonrpc": "2.0", "id": 5, "method": ');
      await waitFor(() => s.messages().some((x) => (x as { error?: { code: number } }).error?.code === -32700), 5000);
      const parseError = s.messages().find((x) => (x as { error?: { code: number } }).error?.code === -32700) as { id: unknown; error: { message: string } };
      expect(parseError.id).toBeNull();
      expect(parseError.error.message).toContain('Parse error');
      s.send(JSON.stringify({ id: 6, hello: 'world' }));
      expect((await s.reply(6)).error?.code).toBe(-32600);
      for (const [id, args] of [
        [7, 5],
        [8, 'text'],
        [9, [1, 2]],
      ] as const) {
        s.request(id, 'tools/call', { name: 'list_probes', arguments: args });
        const r = await s.reply(id);
        expect(r.error?.code).toBe(-32602);
        expect(r.error?.message).toContain('"arguments" must be an object');
      }
      s.request(10, 'tools/list');
      expect((await s.reply(10)).result.tools.length).toBeGreaterThan(5);
      expect(s.junk()).toEqual([]);
    } finally {
      s.child.kill('SIGTERM');
      await s.exited;
    }
  });
});

describeKernel('live probe listings are bounded', () => {
  it('a uprobe listing of a FIFO (which blocked bpftrace for good) or a missing file is an input error at once', async () => {
    const { execFileSync } = await import('node:child_process');
    const { mkdtempSync } = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const fifo = path.join(mkdtempSync(path.join(os.tmpdir(), 'mcptrace-fifo-')), 'pipe');
    execFileSync('mkfifo', [fifo]);
    const s = await startRawServer();
    try {
      s.request(1, 'tools/call', { name: 'list_probes', arguments: { filter: `uprobe:${fifo}:*` } });
      const r = await s.reply(1, 5000);
      expect(r.result.isError).toBe(true);
      expect(r.result.content[0].text).toContain('is not a regular file');
      s.request(2, 'tools/call', { name: 'list_probes', arguments: { filter: 'uprobe:/no/such/binary:*' } });
      expect((await s.reply(2, 5000)).result.content[0].text).toContain('/no/such/binary does not exist');
    } finally {
      s.child.kill('SIGTERM');
      await s.exited;
    }
  });
});

describeKernel('answers are bounded in bytes', () => {
  it('a page of long lines stops at the byte bound and says where to go on; 300 compile errors on a 64 KB line stay small', async () => {
    const s = await startRawServer();
    try {
      // 2,000 lines of ~1.4 KB (the hostile page was 10,000 of them: over 10 MiB).
      const long = 'y'.repeat(1400);
      s.request(1, 'tools/call', {
        name: 'exec_program',
        arguments: { program: `BEGIN { $i = 0; while ($i < 2000) { printf("%d ${long}\\n", $i); $i++; } exit(); }`, wait: true },
      });
      const v = (await s.reply(1, 30_000)).result.structuredContent;
      expect(v.lines_total).toBeGreaterThan(1900);
      expect(v.has_more).toBe(true);
      expect(v.lines_returned).toBeLessThan(1000);
      expect(v.next_offset).toBe(v.lines_returned);
      s.request(2, 'tools/call', { name: 'get_result', arguments: { execution_id: v.execution_id, offset: v.next_offset, limit: 10000 } });
      expect((await s.reply(2)).result.structuredContent.output[0]).toMatch(new RegExp(`^${v.next_offset - 1} y+$`)); // line 0 is "Attaching 1 probe..."

      const program = `BEGIN { ${'@x = undefined_function(); '.repeat(300)} /* ${'z'.repeat(56_000)} */ }`;
      s.request(3, 'tools/call', { name: 'exec_program', arguments: { program, wait: true } });
      const started = Date.now();
      const bad = await s.reply(3, 30_000);
      const bytes = JSON.stringify(bad).length;
      expect(bad.result.structuredContent.status).toBe('failed');
      expect(bytes).toBeLessThan(1024 * 1024);
      expect(Date.now() - started).toBeLessThan(30_000);
    } finally {
      s.child.kill('SIGTERM');
      await s.exited;
    }
  });
});

describeKernel('the run queue holds under a burst', () => {
  it('50 exec_program calls written in one chunk: exactly concurrency + max-queued are accepted', async () => {
    const s = await startRawServer(['--concurrency', '1', '--max-queued', '2']);
    try {
      const m = `q${process.pid}${Date.now().toString(36)}`;
      const calls = Array.from({ length: 50 }, (_, i) =>
        JSON.stringify({
          jsonrpc: '2.0',
          id: 100 + i,
          method: 'tools/call',
          params: { name: 'exec_program', arguments: { program: `interval:ms:100 { @${m} = count(); }`, timeout: 30 } },
        }),
      );
      s.child.stdin!.write(`${calls.join('\n')}\n`);
      const replies = await Promise.all(calls.map((_, i) => s.reply(100 + i)));
      const accepted = replies.filter((r) => !r.result.isError);
      const refused = replies.filter((r) => r.result.isError);
      expect(accepted).toHaveLength(3);
      expect(refused).toHaveLength(47);
      expect(refused[0].result.content[0].text).toContain('the run queue is full');
      let id = 200;
      for (const r of accepted)
        s.request(id++, 'tools/call', { name: 'stop_execution', arguments: { execution_id: r.result.structuredContent.execution_id, wait: 0 } });
    } finally {
      s.child.kill('SIGTERM');
      await s.exited;
    }
  });
});
