// The shape of the public eval set (test/eval/requests.yaml): enough requests, subsystems and
// styles, a fixed held-out third, well-formed probe globs, workloads that exist, and reference
// programs that compile with this machine's bpftrace. No score is asserted here: the figures
// come from `npm run eval:requests`, and `npm run eval:requests -- --verify` runs the references.
import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HOST_VERSION, VERSIONS, cleanup, compileProgram, mapLimit } from '../../scripts/examples-lib.mjs';
import { PROBE_GLOB, REPO, STYLES, heldoutIds, loadRequests, probeMatches } from '../../scripts/eval-requests.mjs';
import { describeKernel } from '../helpers/kernel';

interface Request {
  id: string;
  split: string;
  subsystem: string;
  style: string;
  request: string;
  probes: string[];
  requires?: string;
  workload: string[];
  reference: string;
  check: string;
  settle?: number;
}

const requests: Request[] = loadRequests();
const KEYS = new Set(['id', 'split', 'subsystem', 'style', 'request', 'probes', 'requires', 'workload', 'reference', 'check', 'settle']);
const count = (key: (r: Request) => string) => {
  const m = new Map<string, number>();
  for (const r of requests) m.set(key(r), (m.get(key(r)) ?? 0) + 1);
  return m;
};

describe('eval requests: shape', () => {
  it('has at least 150 requests with unique ids and only known keys', () => {
    expect(requests.length).toBeGreaterThanOrEqual(150);
    expect(new Set(requests.map((r) => r.id)).size).toBe(requests.length);
    const bad = requests.flatMap((r) =>
      Object.keys(r)
        .filter((k) => !KEYS.has(k))
        .map((k) => `${r.id}: ${k}`),
    );
    expect(bad).toEqual([]);
    const missing = requests.filter(
      (r) => !r.id || !r.subsystem || !r.request?.trim() || !r.reference?.trim() || !r.check || !r.workload?.length || !r.probes?.length,
    );
    expect(missing.map((r) => r.id)).toEqual([]);
  });

  it('spans at least 15 subsystems, and every style has at least 25 requests', () => {
    expect(count((r) => r.subsystem).size).toBeGreaterThanOrEqual(15);
    const styles = count((r) => r.style);
    expect([...styles.keys()].sort()).toEqual([...STYLES].sort());
    for (const s of STYLES) expect(styles.get(s), s).toBeGreaterThanOrEqual(25);
  });

  it('holds out exactly a third, the ids heldoutIds() picks (the split never moves)', () => {
    const held = heldoutIds(requests.map((r) => r.id));
    expect(held.size).toBe(Math.round(requests.length / 3));
    const wrong = requests.filter((r) => r.split !== (held.has(r.id) ? 'heldout' : 'dev')).map((r) => `${r.id}: ${r.split}`);
    expect(wrong).toEqual([]);
  });

  it('every probe glob is well formed and requires is kprobes, cpufreq or journal', () => {
    const bad = requests.flatMap((r) => r.probes.filter((p) => !PROBE_GLOB.test(p)).map((p) => `${r.id}: ${p}`));
    expect(bad).toEqual([]);
    expect(requests.filter((r) => r.requires !== undefined && !['kprobes', 'cpufreq', 'journal'].includes(r.requires)).map((r) => r.id)).toEqual([]);
    // A request that needs kprobes offers kprobe globs; the others offer one that is not a kprobe.
    const kp = /^(kprobe|kretprobe|kfunc|kretfunc):/;
    expect(requests.filter((r) => r.requires === 'kprobes' && !r.probes.some((p) => kp.test(p))).map((r) => r.id)).toEqual([]);
    expect(requests.filter((r) => !r.requires && r.probes.every((p) => kp.test(p))).map((r) => r.id)).toEqual([]);
  });

  it('every reference uses one of its accepted probes', () => {
    const attach = /^\s*([a-z]+:[^\s{,]+)/gm;
    const wrong = requests.filter((r) => {
      const used = [...r.reference.matchAll(attach)].map((m) => m[1]).concat(r.reference.match(/(?<=,\s*)[a-z]+:[^\s{,]+/g) ?? []);
      return !used.some((p) => probeMatches(r.probes, p));
    });
    expect(wrong.map((r) => r.id)).toEqual([]);
  });

  it('every check is a valid regular expression', () => {
    const bad = requests.filter((r) => {
      try {
        new RegExp(r.check, 'm');
        return false;
      } catch {
        return true;
      }
    });
    expect(bad.map((r) => r.id)).toEqual([]);
  });

  it("every workload's executable exists, and a script it names is in test/eval/workloads", () => {
    const bad = requests.flatMap((r) => {
      const [exe, ...rest] = r.workload;
      const out: string[] = [];
      if (!path.isAbsolute(exe)) out.push(`${r.id}: ${exe} is not an absolute path`);
      else
        try {
          accessSync(exe, constants.X_OK);
        } catch {
          out.push(`${r.id}: ${exe} is not executable here`);
        }
      for (const a of rest.filter((x) => x.startsWith('test/eval/workloads/'))) if (!existsSync(path.join(REPO, a))) out.push(`${r.id}: ${a} is missing`);
      return out;
    });
    expect(bad).toEqual([]);
  });
});

describeKernel('eval requests: references on this machine', () => {
  it(`every reference compiles with bpftrace ${HOST_VERSION} (--emit-elf)`, async () => {
    const host = VERSIONS.find((v) => v.version === HOST_VERSION)!;
    const results = await mapLimit(requests, 2, (r: Request) => compileProgram(host, r.reference));
    cleanup();
    const failed = requests.flatMap((r, i) => (results[i].ok ? [] : [`${r.id}: ${results[i].stderr.split('\n').slice(0, 3).join(' | ')}`]));
    expect(failed).toEqual([]);
    // 0.17 warns at compile time about what misbehaves at run time (== on a string read from
    // user memory): only the references that need kprobes may warn, as kprobes are missing.
    const warned = requests.flatMap((r, i) => (!r.requires && /WARNING/.test(results[i].stderr) ? [`${r.id}: ${results[i].stderr}`] : []));
    expect(warned).toEqual([]);
  }, 900_000);
});
