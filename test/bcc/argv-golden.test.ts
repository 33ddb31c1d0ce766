import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Core } from '../../src/core/core.js';
import { loadBccSpec, resolveBccCommand, unavailableMessage, variantName, type BccVariant } from '../../src/kinds/bcc/bcc-spec.js';
import { NON_PROGRAM_INPUTS } from '../../src/kinds/runnable.js';

// The argv every provider of every catalog tool gets for an input that sets each mapped
// property, as golden files (test/golden/bcc-argv/TOOL.txt; UPDATE_GOLDEN=1 rewrites them).
// Pure: providers are "found" at /usr/sbin/NAME, nothing runs.
const GOLDEN = path.resolve('test/golden/bcc-argv');
const core = new Core({ env: { HOME: '/nonexistent' } });
afterAll(() => core.shutdown());

const SAMPLES: Record<string, unknown> = { local_port: '80,443', remote_port: '5432', disk: 'vda', function: '/lib/x86_64-linux-gnu/libc.so.6:getpwnam' };

function sample(name: string, schema: Record<string, unknown>): unknown {
  if (name in SAMPLES) return SAMPLES[name];
  if (schema.type === 'boolean') return true;
  if (schema.type === 'integer') return Math.min(Math.max(42, Number(schema.minimum ?? 0)), Number(schema.maximum ?? 1e9));
  return 'sample';
}

const specs = readdirSync('bcc')
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => loadBccSpec(path.resolve('bcc', f)).spec!);

describe('bcc argv mapping (golden)', () => {
  for (const spec of specs) {
    it(spec.tool, () => {
      const def = core.tool(spec.tool)!.def;
      const props = (def.input.properties ?? {}) as Record<string, Record<string, unknown>>;
      const out: string[] = [];
      for (const v of spec.variants) {
        const only = (x: BccVariant) => (x === v ? [`/usr/sbin/${variantName(v)}`] : undefined);
        // Every input the provider maps, then the defaults alone: what each call shape runs.
        const mapped = Object.fromEntries((v.args ?? []).map((a) => [a.input, sample(a.input, props[a.input])]));
        for (const [label, input] of [
          ['defaults', {}],
          ['every mapped input', mapped],
        ] as const) {
          const r = resolveBccCommand(spec, input, new Set([...NON_PROGRAM_INPUTS, 'duration']), { duration: 3, locate: only });
          out.push(`${variantName(v)} (${label}, duration 3): ${JSON.stringify(r.argv)}${r.endsItself ? '' : ' + SIGINT after 3 s'}`);
        }
      }
      const text = `${out.join('\n')}\n`;
      const file = path.join(GOLDEN, `${spec.tool}.txt`);
      if (process.env.UPDATE_GOLDEN === '1') {
        mkdirSync(GOLDEN, { recursive: true });
        writeFileSync(file, text);
      }
      expect(text).toBe(readFileSync(file, 'utf8'));
    });
  }

  it('every mapped input is one the manifest declares, and the other way round for libbpf-tools', () => {
    for (const spec of specs) {
      const props = Object.keys(core.tool(spec.tool)!.def.input.properties as object).filter((k) => !NON_PROGRAM_INPUTS.has(k) && k !== 'duration');
      const libbpf = (spec.variants[0].args ?? []).map((a) => a.input);
      expect(libbpf.sort(), spec.tool).toEqual(props.sort());
    }
  });

  it('an input the installed provider cannot honour is refused, not dropped', () => {
    const spec = specs.find((s) => s.tool === 'opensnoop')!;
    const bt = spec.variants.find((v) => v.bpftrace_script)!;
    expect(() => resolveBccCommand(spec, { pid: 1 }, new Set(), { locate: (v) => (v === bt ? ['/usr/sbin/opensnoop.bt'] : undefined) })).toThrow(
      /opensnoop\.bt \(the installed variant of opensnoop\) does not support the "pid" option; remove it, or install libbpf-tools/,
    );
  });

  it('a tool with no installed provider lists every provider tried and its package', () => {
    const spec = specs.find((s) => s.tool === 'opensnoop')!;
    expect(() => resolveBccCommand(spec, {}, new Set(), { locate: () => undefined })).toThrow(unavailableMessage(spec));
    expect(unavailableMessage(spec)).toBe(
      'opensnoop is not installed: looked for opensnoop (package libbpf-tools), opensnoop-bpfcc (package bpfcc-tools), opensnoop.bt (package bpftrace). ' +
        'Install one with: apt-get install -y libbpf-tools or bpfcc-tools or bpftrace',
    );
  });
});
