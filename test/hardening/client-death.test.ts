import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';
import { describeKernel, pidsWith, waitFor } from '../helpers/kernel.js';
import { BIN, REPO } from '../helpers/mcp.js';
import { startRawServer, type RawServer } from '../helpers/raw-server.js';

// MCP clients are killed and restarted all the time. Each way a client can die must end the
// server within seconds, with every tracer stopped, and never leave it spinning.
const marker = (tag: string) => `d${tag}${process.pid}${Date.now().toString(36)}`;
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function serverWithTrace(tag: string): Promise<{ s: RawServer; m: string }> {
  const s = await startRawServer();
  const m = marker(tag);
  s.request(1, 'tools/call', { name: 'exec_program', arguments: { program: `interval:ms:100 { @${m} = count(); }`, timeout: 120 } });
  expect((await s.reply(1)).result.structuredContent.status).toMatch(/running|queued/);
  expect(await waitFor(() => pidsWith(m).length > 0, 10_000)).toBe(true);
  return { s, m };
}

async function expectGone(s: RawServer, m: string): Promise<void> {
  expect(await waitFor(() => !alive(s.child.pid!), 15_000)).toBe(true);
  expect(await waitFor(() => pidsWith(m).length === 0, 5000)).toBe(true);
}

describeKernel('a dead client never leaves a server or a tracer behind', () => {
  it('all three pipes closed by the client (it died): the server stops the trace and exits', async () => {
    const { s, m } = await serverWithTrace('pipes');
    s.child.stdin!.destroy();
    s.child.stdout!.destroy();
    s.child.stderr!.destroy();
    await expectGone(s, m);
  });

  it('stdin closed, outputs still read: exits 0 and says why on stderr', async () => {
    const { s, m } = await serverWithTrace('stdin');
    s.child.stdin!.end();
    expect((await s.exited).code).toBe(0);
    expect(s.stderr()).toContain('shutting down');
    await expectGone(s, m);
  });

  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    it(`${signal} to the server: exits 0 after stopping the trace`, async () => {
      const { s, m } = await serverWithTrace(signal.toLowerCase());
      s.child.kill(signal);
      expect((await s.exited).code).toBe(0);
      expect(s.stderr()).toContain(`shutting down (${signal})`);
      await expectGone(s, m);
    });
  }

  it('the client process killed with SIGKILL mid-trace: its server exits too', async () => {
    const m = marker('kill');
    // A tiny client: starts the server, starts a trace, prints the server pid, then waits.
    const client = `
      const { spawn } = require('node:child_process');
      const s = spawn(process.execPath, [${JSON.stringify(BIN)}, 'serve'], { stdio: ['pipe', 'pipe', 'pipe'] });
      const w = (o) => s.stdin.write(JSON.stringify(o) + '\\n');
      w({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'c', version: '0' } } });
      w({ jsonrpc: '2.0', method: 'notifications/initialized' });
      w({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'exec_program', arguments: { program: 'interval:ms:100 { @${m} = count(); }', timeout: 120 } } });
      s.stdout.on('data', () => {});
      console.log(s.pid);
      setInterval(() => {}, 1000);
    `;
    const c = spawn(process.execPath, ['-e', client], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout!.on('data', (d) => (out += d.toString()));
    expect(await waitFor(() => /^\d+\n/.test(out) && pidsWith(m).length > 0, 15_000)).toBe(true);
    const serverPid = Number(out.trim());
    c.kill('SIGKILL');
    expect(await waitFor(() => !alive(serverPid), 15_000)).toBe(true);
    expect(await waitFor(() => pidsWith(m).length === 0, 5000)).toBe(true);
  });
});

describeKernel('a tracer stopped from outside', () => {
  // The status comes from what the process did: bpftrace handles SIGINT and SIGTERM as a normal
  // stop (END runs, the maps print, exit status 0), so the run completed; SIGKILL is an end
  // mcptrace did not ask for, and the maps are lost.
  for (const [signal, want] of [
    ['SIGINT', 'completed'],
    ['SIGTERM', 'completed'],
    ['SIGKILL', 'failed'],
  ] as const) {
    it(`${signal} sent to bpftrace by someone else ends the run as "${want}"`, async () => {
      const s = await startRawServer();
      try {
        const m = marker(`ext${signal}`);
        s.request(1, 'tools/call', { name: 'exec_program', arguments: { program: `interval:ms:100 { @${m} = count(); }`, timeout: 60 } });
        const id = (await s.reply(1)).result.structuredContent.execution_id;
        expect(await waitFor(() => pidsWith(m).length > 0, 10_000)).toBe(true);
        await new Promise((r) => setTimeout(r, 500));
        for (const pid of pidsWith(m)) process.kill(pid, signal);
        // bpftrace 0.17 drops some SIGINTs (measured); whoever signals it from outside resends.
        let v: any;
        for (let i = 2; i < 60; i++) {
          s.request(i, 'tools/call', { name: 'get_result', arguments: { execution_id: id } });
          v = (await s.reply(i)).result.structuredContent;
          if (v.status !== 'running') break;
          if (i % 10 === 0) for (const pid of pidsWith(m)) process.kill(pid, signal);
          await new Promise((r) => setTimeout(r, 100));
        }
        expect(v.status).toBe(want);
        if (want === 'completed') {
          expect(v.exit_code).toBe(0);
          expect(v.output.join('\n')).toMatch(new RegExp(`@${m}: \\d+`));
        } else {
          expect(v.signal).toBe('SIGKILL');
          expect(v.error_message).toContain('which mcptrace did not send');
          expect(v.hint).toContain('stop_execution');
        }
      } finally {
        s.child.kill('SIGTERM');
        await s.exited;
      }
    });
  }
});
