import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Execution } from '../../src/runtime/execution.js';
import { FleetRun } from '../../src/runtime/fleet/fleet-run.js';
import { aggregatesOf, mergeHistograms, mergeMaps, mergeValues } from '../../src/runtime/fleet/merge.js';
import { parseProbe, sshFailure } from '../../src/runtime/fleet/remote.js';
import { encodeRequest, REMOTE_MAGIC } from '../../src/runtime/fleet/ssh.js';
import { runProcess, type LaunchSpec } from '../../src/runtime/process-lifecycle.js';
import type { Spawner } from '../../src/runtime/spawner.js';
import { TextDecoder } from '../../src/runtime/output-decoder.js';

const LIMITS = { max_lines: 1000, max_bytes: 1 << 20 };

describe('merging what hosts printed', () => {
  it("reads each map's function from the program", () => {
    const a = aggregatesOf(
      'k:f { @c[comm] = count(); @s = sum(arg0); @hi = max(x); @lo = min(y); @a = avg(z); @st = stats(z); @h = hist(z); @l = lhist(z, 0, 10, 1); @n++; @b += 3; @plain = 4; }',
    );
    expect(Object.fromEntries(a)).toEqual({
      '@c': 'sum',
      '@s': 'sum',
      '@hi': 'max',
      '@lo': 'min',
      '@a': 'avg',
      '@st': 'stats',
      '@h': 'hist',
      '@l': 'hist',
      '@n': 'sum',
      '@b': 'sum',
    });
    expect(aggregatesOf(undefined).size).toBe(0);
  });

  it('adds counts key by key, keeps the extreme of max and min, and orders keys by value as bpftrace prints', () => {
    const m = mergeMaps(
      [
        { type: 'map', name: '@c', value: { bash: 3, sshd: 10 } },
        { type: 'map', name: '@c', value: { bash: 4, cron: 1 } },
      ],
      'sum',
    );
    expect(m.value).toEqual({ bash: 7, sshd: 10, cron: 1 });
    expect(m.keys).toEqual(['cron', 'bash', 'sshd']);
    expect(mergeValues([5, 9, 2], 'max')).toBe(9);
    expect(mergeValues([5, 9, 2], 'min')).toBe(2);
    expect(mergeValues([5, undefined, 2], 'sum')).toBe(7);
    expect(mergeValues([undefined], 'sum')).toBeUndefined();
  });

  it('adds histograms bucket by bucket and stats by count and total', () => {
    const h = mergeValues(
      [
        [
          { min: 0, max: 1, count: 2 },
          { min: 2, max: 3, count: 1 },
        ],
        [
          { min: 2, max: 3, count: 5 },
          { min: 4, max: 7, count: 1 },
        ],
      ],
      'hist',
    );
    expect(h).toEqual([
      { min: 0, max: 1, count: 2 },
      { min: 2, max: 3, count: 6 },
      { min: 4, max: 7, count: 1 },
    ]);
    expect(
      mergeValues(
        [
          { count: 2, average: 5, total: 10 },
          { count: 3, average: 10, total: 30 },
        ],
        'stats',
      ),
    ).toEqual({ count: 5, average: 8, total: 40 });
    const th = mergeHistograms([
      { name: 'usecs', unit: 'usecs', buckets: [{ low: 0, high: 1, count: 1 }] },
      {
        name: 'usecs',
        unit: 'usecs',
        buckets: [
          { low: 0, high: 1, count: 2 },
          { low: 2, high: 3, count: 4 },
        ],
      },
    ]);
    expect(th.buckets).toEqual([
      { low: 0, high: 1, count: 3 },
      { low: 2, high: 3, count: 4 },
    ]);
  });

  it('keyed histograms merge per key; strings keep the first host’s value', () => {
    expect(mergeValues([{ a: [{ min: 0, max: 1, count: 1 }] }, { a: [{ min: 0, max: 1, count: 2 }], b: [{ min: 0, max: 1, count: 1 }] }], 'hist')).toEqual({
      a: [{ min: 0, max: 1, count: 3 }],
      b: [{ min: 0, max: 1, count: 1 }],
    });
    expect(mergeValues(['x', 'y'], 'unknown')).toBe('x');
  });
});

describe('the SSH protocol and the host probe', () => {
  it('encodes argv and env as plain or base64 words after the magic, deadline, grace and counts', () => {
    const text = encodeRequest({
      argv: ['bpftrace', '-e', 'BEGIN { printf("$(id)\'\\n"); }'],
      env: { BPFTRACE_MAX_STRLEN: '200' },
      deadlineSec: 12.2,
      graceSec: 5,
    });
    const lines = text.split('\n');
    expect(lines.slice(0, 5)).toEqual([REMOTE_MAGIC, '13', '5', '3', '1']);
    // Plain words go as they are; anything a shell or a terminal could read specially, in base64.
    expect(lines.slice(5, 7)).toEqual(['=bpftrace', '=-e']);
    expect(lines[7][0]).toBe('b');
    expect(Buffer.from(lines[7].slice(1), 'base64').toString()).toBe('BEGIN { printf("$(id)\'\\n"); }');
    expect(lines[8]).toBe('=BPFTRACE_MAX_STRLEN=200');
    expect(
      encodeRequest({ argv: ['a b', '', '-x;y'], deadlineSec: 1, graceSec: 1 })
        .split('\n')
        .slice(5, 8),
    ).toEqual(['bYSBi', '=', 'bLXg7eQ==']);
    // No deadline (a terminal run until Ctrl-C) is 0 on the wire: the host sets none.
    expect(encodeRequest({ argv: ['x'], deadlineSec: Infinity, graceSec: 1 }).split('\n')[1]).toBe('0');
  });

  it("reads a host's probe: kernel, version, features, files and tracing tools", () => {
    const t = parseProbe(
      'db1',
      [
        'kernel 6.1.0-18-amd64',
        'version bpftrace v0.20.2',
        'kprobes',
        'btf',
        'ftrace',
        'file /usr/sbin/execsnoop',
        'file /usr/sbin/sh',
        'file /usr/share/bcc/tools/biolatency',
        'pkg /usr/sbin/execsnoop',
        'pkg /usr/sbin/opensnoop',
      ].join('\n'),
    );
    expect(t.kernel).toBe('6.1.0-18-amd64');
    expect(t.bpftraceVersion).toBe('bpftrace v0.20.2');
    expect(t.kernelFeatures).toEqual({ kprobes: true, btf: true, kfunc: true });
    expect([...t.files]).toEqual(['/usr/sbin/execsnoop', '/usr/sbin/sh', '/usr/share/bcc/tools/biolatency']);
    // A tracing package's file, or one in bcc's tools directory: never /usr/sbin/sh.
    expect([...t.tools]).toEqual(['/usr/sbin/execsnoop', '/usr/share/bcc/tools/biolatency']);
    expect(parseProbe('x', 'kernel 6\nmissing bpftrace').missing).toBe('bpftrace');
  });

  it("turns ssh's failures into a reason and a fix", () => {
    const host = { name: 'db1', address: '10.0.0.5', port: 2222, user: 'ops', groups: [], vars: {} };
    expect(sshFailure(host, 'Host key verification failed.\n').fix).toMatch(/ssh-keyscan -p 2222 10\.0\.0\.5/);
    expect(sshFailure(host, 'ops@10.0.0.5: Permission denied (publickey).\n').fix).toMatch(/BatchMode/);
    const refused = sshFailure(host, 'ssh: connect to host 10.0.0.5 port 2222: Connection refused\n');
    expect(refused.problem).toBe('unreachable over SSH (ops@10.0.0.5:2222): ssh: connect to host 10.0.0.5 port 2222: Connection refused');
  });
});

/** A process that prints `lines` and exits 0, as a host's tracer would over ssh. */
function printing(lines: string[], exitCode = 0): Spawner {
  return {
    async spawn() {
      const stdout = Readable.from(lines.map((l) => `${l}\n`));
      const stderr = Readable.from([]);
      const ee = new EventEmitter();
      return {
        pid: undefined,
        stdout,
        stderr,
        kill: () => ee.emit('k'),
        exit: new Promise((r) => stdout.on('end', () => setTimeout(() => r({ exitCode, signal: null }), 5))),
      };
    },
  };
}

const spec = (): LaunchSpec => ({ argv: ['x'], env: {}, decoder: () => new TextDecoder(), holdStopUntilAttached: false, timeoutMs: 10_000 });

describe('a fleet run gathers its hosts', () => {
  it('labels each line with its host, lists every host, and ends as its hosts did', async () => {
    const fleetExec = new Execution('fleet-1', 't', LIMITS, 'fleet');
    fleetExec.spawning();
    const fleet = new FleetRun(fleetExec, undefined);
    fleet.addFailure('gone', 'unreachable over SSH', 'check the host');
    const runs = ['a', 'b'].map((h) => {
      const e = new Execution(`exec-${h}`, 't', LIMITS, 'x');
      e.setHost(h);
      fleet.addRun(h, e, { bpftraceVersion: 'bpftrace v0.17.0' });
      return { e, done: runProcess(e, fleet.label(h, spec()), { graceMs: 1000, spawner: printing([`hello from ${h}`]) }) };
    });
    fleet.seal();
    await Promise.all(runs.map((r) => r.done));
    expect(fleetExec.status).toBe('completed');
    expect([...fleetExec.lines].sort()).toEqual(['[a] hello from a', '[b] hello from b']);
    expect(fleetExec.fleet?.map((h) => [h.host, h.status, h.execution_id])).toEqual([
      ['gone', 'failed', undefined],
      ['a', 'completed', 'exec-a'],
      ['b', 'completed', 'exec-b'],
    ]);
    expect(fleetExec.runWarnings.join('\n')).toMatch(/1 of 3 hosts failed, the others' results are complete: gone: unreachable over SSH/);
    expect(runs[0].e.lines).toEqual(['hello from a']);
  });

  it('fails as a whole only when every host failed, with each reason', () => {
    const fleetExec = new Execution('fleet-2', 't', LIMITS, 'fleet');
    fleetExec.spawning();
    const fleet = new FleetRun(fleetExec, undefined);
    fleet.addFailure('a', 'no bpftrace there', 'install it');
    fleet.addFailure('b', 'unreachable');
    fleet.seal();
    expect(fleetExec.status).toBe('failed');
    expect(fleetExec.error).toBe('every host failed (2): a: no bpftrace there; b: unreachable');
    expect(fleetExec.hint).toBe('install it');
  });
});
