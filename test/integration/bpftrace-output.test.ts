import { spawnSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { BpftraceJsonDecoder } from '../../src/runtime/bpftrace/json-decoder.js';
import { classifyStderr } from '../../src/runtime/bpftrace/notices.js';
import { describeKernel } from '../helpers/kernel.js';

// Deterministic values: every map type bpftrace has, printed at exit.
const PROGRAM = `BEGIN {
  printf("partial "); printf("line\\n");
  @hist[5] = hist(100); @hist[6] = hist(3); @hist[6] = hist(1500);
  @lin = lhist(5, 0, 10, 2);
  @st[1] = stats(5); @avg = avg(10);
  @m[1, "x"] = count(); @m[2, "y"] = count(); @m[2, "y"] = count();
  @scalar = sum(7);
  exit();
}`;

function run(args: string[]): { stdout: string; stderr: string } {
  const r = spawnSync('bpftrace', [...args, '-e', PROGRAM], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  expect(r.status).toBe(0);
  return { stdout: r.stdout, stderr: r.stderr };
}

const normalize = (lines: string[]) => lines.map((l) => l.trimEnd()).filter((l) => l && !/^Attaching/.test(l));

describeKernel('bpftrace -f json decoding', () => {
  it('renders typed events exactly as bpftrace prints text', () => {
    const text = run([]).stdout.split('\n');
    const decoder = new BpftraceJsonDecoder();
    const rendered: string[] = [];
    for (const line of run(['-f', 'json']).stdout.split('\n')) {
      for (const d of decoder.stdout(line)) {
        if (d.kind === 'text') rendered.push(d.text);
        if (d.kind === 'map') rendered.push(...d.lines);
      }
    }
    for (const d of decoder.end()) if (d.kind === 'text') rendered.push(d.text);
    expect(normalize(rendered)).toEqual(normalize(text));
    expect(normalize(rendered)).toContain('partial line');
  });

  it('keeps maps typed', () => {
    const decoder = new BpftraceJsonDecoder();
    const maps = run(['-f', 'json'])
      .stdout.split('\n')
      .flatMap((l) => decoder.stdout(l))
      .flatMap((d) => (d.kind === 'map' ? [d.map] : []));
    const byName = Object.fromEntries(maps.map((m) => [m.name, m]));
    expect(byName['@m']).toEqual({ type: 'map', name: '@m', value: { '1,x': 1, '2,y': 2 } });
    expect(byName['@scalar'].value).toBe(7);
    expect(byName['@hist'].type).toBe('hist');
    expect(byName['@st'].value).toEqual({ 1: { count: 1, average: 5, total: 5 } });
  });

  it('classifies the RLIMIT_MEMLOCK line as a notice and real errors as errors', () => {
    const { stderr } = run(['-f', 'json']);
    expect(stderr).toMatch(/RLIMIT_MEMLOCK|^$/);
    for (const l of stderr.split('\n').filter(Boolean)) {
      expect(classifyStderr(l)).toBe(/RLIMIT_MEMLOCK/.test(l) ? 'notice' : 'info');
    }
    expect(classifyStderr('stdin:1:23-24: ERROR: syntax error, unexpected }')).toBe('error');
  });
});
