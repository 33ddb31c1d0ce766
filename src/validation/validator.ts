import { existsSync } from 'node:fs';
import { kernelFeatures, type Preflight } from '../runtime/environment.js';
import { bpftraceArgv } from '../runtime/bpftrace/command.js';
import { needsLiveListing, probeMatcher, type ProbeCache } from '../runtime/probe-cache.js';
import { runToCompletion } from '../runtime/subprocess.js';
import { compileCheck } from './compile-check.js';
import { maxRate, rateOf, type EventRateClass } from './estimate.js';
import { extractProbes, PROBE_TYPES, type ProbeSpec } from './probes.js';
import { KPROBE_FIX, WILDCARD_FIX, suggestFix, type ProgramFacts, type SuggestionSources } from './suggest.js';
import { fixRound, type FixChange } from './fix.js';
import { categorize, parseCompilerOutput, type Diagnostic } from './taxonomy.js';
import { tokenize, type Token } from './tokens.js';

/** A program taken apart once: its tokens and its probes. Pure and fast (microseconds). */
export interface AnalyzedProgram extends ProgramFacts {
  program: string;
  tokens: Token[];
  probes: ProbeSpec[];
  lexProblems: { message: string; line: number; col: number }[];
}

export function analyzeProgram(program: string): AnalyzedProgram {
  const { tokens, problems } = tokenize(program);
  return { program, tokens, probes: extractProbes(program, tokens), lexProblems: problems };
}

export interface ProbeReport {
  pattern: string;
  count: number;
  exists: boolean;
}

export interface CheckReport {
  valid: boolean;
  errors: Diagnostic[];
  warnings: Diagnostic[];
  probes: ProbeReport[];
  estimate: { probes: number; maps: number; event_rate_class: EventRateClass };
  /** Time of the bpftrace compile alone, for the benchmark's ratio. */
  compile_ms: number;
}

/** bpftrace fails to attach a wildcard over this many probes (measured: it compiles, then fails). */
export const WILDCARD_ATTACH_LIMIT = 512;
const HAS_PMU = () => existsSync('/sys/bus/event_source/devices/cpu') || existsSync('/sys/bus/event_source/devices/cpu_core');
const ALWAYS_ONE = new Set(['BEGIN', 'END', 'begin', 'end', 'self', 'interval', 'profile', 'software', 'hardware', 'test', 'bench']);

/**
 * Validates programs and diagnoses failed compiles, with suggestions drawn from indexes built
 * once per process: the probe list (the shared ProbeCache), tracepoint arguments and BTF
 * struct fields (each read once, on the first error that needs them).
 */
export class ProgramValidator {
  private readonly args = new Map<string, Promise<string[] | undefined>>();
  private readonly fields = new Map<string, Promise<string[] | undefined>>();
  readonly sources: SuggestionSources;

  constructor(
    private readonly pre: () => Promise<Preflight>,
    private readonly probeCache: ProbeCache,
  ) {
    const kernel = kernelFeatures();
    this.sources = {
      kernel,
      probes: () => this.probeCache.all(),
      tracepointArgs: (probe) => this.cached(this.args, probe, async () => (await this.probeCache.detail(probe))?.args.map((a) => a.split(/[\s*]+/).pop()!)),
      structFields: (struct) => this.cached(this.fields, struct, () => this.readStruct(struct)),
    };
  }

  private cached<T>(m: Map<string, Promise<T>>, key: string, load: () => Promise<T>): Promise<T> {
    let p = m.get(key);
    if (!p) {
      p = load().catch(() => undefined as T);
      m.set(key, p);
    }
    return p;
  }

  private async readStruct(struct: string): Promise<string[] | undefined> {
    const argv = bpftraceArgv(await this.pre(), ['-lv', struct]);
    const r = await runToCompletion(argv[0], argv.slice(1), { timeout: 10_000 });
    const names = String(r.stdout)
      .split('\n')
      .slice(1)
      .map((l) => /([A-Za-z_]\w*)(\[[^\]]*\])*\s*(:\s*\d+)?;\s*$/.exec(l)?.[1])
      .filter((n): n is string => Boolean(n));
    return names.length ? names : undefined;
  }

  /** The taxonomy, located and with suggestions, for bpftrace's stderr on this program. */
  async diagnose(a: AnalyzedProgram, stderr: string, file: string): Promise<{ errors: Diagnostic[]; warnings: Diagnostic[] }> {
    const parsed = parseCompilerOutput(stderr, file);
    for (const d of parsed.errors) {
      this.locate(d, a);
      // A kprobe that matches nothing on a kernel without kprobes is the kernel's lack, not a typo.
      const kind = /No matches for (k(?:ret)?probe|kfunc|kretfunc|fentry|fexit)\b/.exec(d.message)?.[1];
      if (kind && (kind.startsWith('k') && kind.includes('probe') ? !this.sources.kernel.kprobes : !this.sources.kernel.kfunc)) d.category = 'environment';
      // Where kprobes exist, a kprobe that fails to attach names a function this kernel lacks.
      if (this.sources.kernel.kprobes && /attaching probe: 'k(ret)?probe:[\w.]+'/.test(d.message)) d.category = 'unknown_probe';
    }
    await Promise.all([...parsed.errors, ...parsed.warnings].map(async (d) => (d.suggestion = await suggestFix(d, a, this.sources))));
    return parsed;
  }

  /** Places errors bpftrace printed without a location (an abort, clang) on the user's line. */
  private locate(d: Diagnostic, a: AnalyzedProgram): void {
    if (d.line !== null) return;
    let at: { line: number; col: number } | undefined;
    if (d.category === 'environment' && /fatal error|file not found|Clang/.test(d.message))
      at = a.tokens.find((t) => t.type === 'directive' && /^#\s*include/.test(t.text));
    if (d.category === 'unknown_probe') at = a.probes.find((p) => !(PROBE_TYPES as readonly string[]).includes(p.type));
    if (at) {
      d.line = at.line;
      d.column = at.col;
      d.snippet = a.program.split('\n')[at.line - 1] ?? null;
    }
  }

  /** The compile check plus everything a compile cannot see (missing probes, kprobes here). */
  async check(program: string): Promise<CheckReport> {
    const a = analyzeProgram(program);
    const pre = await this.pre();
    const [compiled, probes] = await Promise.all([compileCheck(pre, program), this.countProbes(a)]);
    // A program that compiles can still draw bpftrace warnings ("not traceable").
    const parsed = await this.diagnose(a, compiled.stderr, compiled.file);
    const errors = compiled.ok ? [] : parsed.errors;
    const warnings = parsed.warnings;
    if (!compiled.ok && !errors.length) {
      // Never call a failed compile valid, whatever its shape (exit 134, a clang failure).
      const message = compiled.stderr.trim().split('\n').slice(-3).join(' ') || `bpftrace exited with code ${compiled.exitCode} and printed nothing`;
      const d: Diagnostic = { category: categorize(message), message, line: null, column: null, snippet: null, suggestion: null, hints: [] };
      this.locate(d, a);
      d.suggestion = await suggestFix(d, a, this.sources);
      errors.push(d);
    }
    warnings.push(...this.probeWarnings(a, probes));
    for (const d of await this.missingKernelFunctions(a, probes)) {
      // 0.25+ refuse such a kprobe themselves; the older ones compile it and fail to attach.
      if (!errors.some((e) => e.category === 'unknown_probe' && e.line === d.line)) errors.push(d);
    }
    const maps = new Set(a.tokens.filter((t) => t.type === 'map').map((t) => t.text)).size;
    return {
      valid: compiled.ok && errors.length === 0,
      errors,
      warnings: dedupe(warnings),
      probes: probes.map(({ pattern, count, exists }) => ({ pattern, count, exists })),
      estimate: {
        probes: probes.reduce((n, p) => n + p.count, 0),
        maps,
        event_rate_class: maxRate(probes.map((p) => p.rate)),
      },
      compile_ms: Math.round(compiled.ms * 10) / 10,
    };
  }

  /**
   * A corrected program for one that does not compile, when a mechanical fix exists: rounds of
   * fixRound, each compiled with this bpftrace, until one compiles with every probe present on
   * this kernel. Only a program bpftrace accepted is returned; nothing else is a fix.
   */
  async fix(program: string, report: CheckReport, rounds = 3): Promise<{ program: string; changes: FixChange[]; report: CheckReport } | undefined> {
    if (report.valid) return undefined;
    const version = /(\d+)\.(\d+)/.exec((await this.pre()).features.version);
    const minor = version ? Number(version[2]) : 17;
    const changes: FixChange[] = [];
    let current = program;
    let errors = report.errors;
    for (let r = 0; r < rounds; r++) {
      const next = fixRound({ program: current, errors, probes: analyzeProgram(current).probes, minor });
      if (!next) return undefined;
      changes.push(...next.changes);
      current = next.program;
      const checked = await this.check(current);
      if (checked.valid && checked.probes.every((p) => p.exists)) return { program: current, changes, report: checked };
      errors = checked.errors;
    }
    return undefined;
  }

  /** Each attach point with the probes it matches on this kernel. */
  async countProbes(a: AnalyzedProgram): Promise<(ProbeReport & { spec: ProbeSpec; rate: EventRateClass })[]> {
    return Promise.all(
      a.probes.map(async (spec) => {
        let matched: string[] = [];
        if (ALWAYS_ONE.has(spec.type)) matched = [spec.text];
        else if (needsLiveListing(spec.text)) matched = await this.probeCache.search(spec.text).catch(() => []);
        else {
          const all = await this.probeCache.all().catch(() => [] as string[]);
          // bpftrace lists a kernel function once, as kprobe:NAME; a kretprobe attaches to it too.
          const listedType = spec.type === 'kretprobe' ? 'kprobe' : spec.type;
          const full = spec.text.replace(/^([a-zA-Z]+):/, (_m, t: string) => `${spec.type === 'fentry' || spec.type === 'fexit' ? t : listedType}:`);
          matched = all.filter(probeMatcher(full));
        }
        return { pattern: spec.text, count: matched.length, exists: matched.length > 0, spec, rate: rateOf(spec, matched) };
      }),
    );
  }

  /**
   * Kprobes naming a function this kernel does not have (renamed, inlined, or in a module that
   * is not loaded): bpftrace up to 0.24 compiles them and then fails to attach, so they are
   * errors here, with the nearest functions the kernel does have (blk_account_io_start is
   * __blk_account_io_start on some kernels). Only on a kernel with kprobes, whose listing
   * names them, and only for plain names: offsets and module:function forms are bpftrace's.
   */
  private async missingKernelFunctions(a: AnalyzedProgram, probes: { spec: ProbeSpec; count: number }[]): Promise<Diagnostic[]> {
    const candidates = probes.filter(({ spec, count }) => count === 0 && /^k(ret)?probe$/.test(spec.type) && /^[^:]+:[\w.*?]+$/.test(spec.text));
    if (!candidates.length || !this.sources.kernel.kprobes) return [];
    const listed = await this.probeCache.all().catch(() => [] as string[]);
    if (!listed.some((p) => p.startsWith('kprobe:'))) return [];
    return Promise.all(
      candidates.map(async ({ spec }) => {
        const name = spec.text.slice(spec.text.indexOf(':') + 1);
        const d: Diagnostic = {
          category: 'unknown_probe',
          message: `${spec.text}: this kernel has no function ${name} to attach to (renamed, inlined, or in a module that is not loaded)`,
          line: spec.line,
          column: spec.col,
          snippet: a.program.split('\n')[spec.line - 1] ?? null,
          suggestion: null,
          hints: [],
        };
        // The suggestion bpftrace's own "No matches" error gets: the nearest listed kprobes.
        d.suggestion = await suggestFix({ ...d, message: `No matches for kprobe ${name}` }, a, this.sources);
        return d;
      }),
    );
  }

  private probeWarnings(a: AnalyzedProgram, probes: { spec: ProbeSpec; count: number }[]): Diagnostic[] {
    const out: Diagnostic[] = [];
    const at = (spec: ProbeSpec, category: Diagnostic['category'], message: string, suggestion: string) =>
      out.push({ category, message, line: spec.line, column: spec.col, snippet: a.program.split('\n')[spec.line - 1] ?? null, suggestion, hints: [] });
    for (const { spec, count } of probes) {
      if (/^k(ret)?probe$/.test(spec.type) && !this.sources.kernel.kprobes) {
        at(spec, 'environment', `${spec.text}: this kernel has no kprobes, so this probe compiles but never attaches`, KPROBE_FIX);
      } else if (/^u(ret)?probe$|^usdt$/.test(spec.type) && count === 0) {
        at(
          spec,
          'unknown_probe',
          `${spec.text} matches nothing: the binary has no such ${spec.type === 'usdt' ? 'USDT probe' : 'symbol'}, and bpftrace compiles it silently`,
          `List what the binary offers with list_probes, e.g. filter "${spec.type}:${spec.text.split(':')[1] ?? '/bin/bash'}:*".`,
        );
      }
      if (spec.type === 'hardware' && !HAS_PMU()) {
        at(
          spec,
          'environment',
          `${spec.text}: this machine has no hardware PMU (no /sys/bus/event_source/devices/cpu), so hardware probes compile but cannot attach`,
          'Use software:cpu-clock:N or profile:hz:99 for sampling instead.',
        );
      }
      if (count > WILDCARD_ATTACH_LIMIT) {
        at(
          spec,
          'unknown_probe',
          `${spec.text} matches ${count} probes: bpftrace compiles it, then fails to attach over ${WILDCARD_ATTACH_LIMIT}, and detaching takes ~70 ms per probe`,
          WILDCARD_FIX,
        );
      }
    }
    return out;
  }
}

const dedupe = (ds: Diagnostic[]): Diagnostic[] => {
  const seen = new Set<string>();
  return ds.filter((d) => {
    const k = `${d.line}:${d.column}:${d.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
};
