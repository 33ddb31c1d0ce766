import { existsSync, readFileSync, realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KNOWLEDGE_DIR } from '../config/paths.js';
import { validatePolicy } from '../generated/validators.js';
import type { Problem } from '../manifest/problem.js';
import { parseYamlFile } from '../manifest/yaml-file.js';
import type { ProbeSpec } from '../validation/probes.js';
import { findCalls, type Token } from '../validation/tokens.js';
import type { AnalyzedProgram } from '../validation/validator.js';
import { bufferCopies, busy, expandedProbe, globRx, keyedWrites, matchesAny, namedTargets, sampleRate, wildcardShape } from './program-facts.js';

export const SAFETY_LEVELS = ['strict', 'standard', 'permissive'] as const;
export type SafetyLevel = (typeof SAFETY_LEVELS)[number];
export const DEFAULT_SAFETY_LEVEL: SafetyLevel = 'standard';
/**
 * `confirm`: a person says yes before the run starts (a CLI y/N prompt, an MCP input request);
 * where nobody can be asked, the run is refused with how to approve it.
 */
export type Decision = 'refuse' | 'confirm' | 'warn' | 'allow';
/** From the most to the least severe: a report's verdict is its most severe finding's decision. */
export const DECISIONS: readonly Decision[] = ['refuse', 'confirm', 'warn', 'allow'];

export interface PolicyRule {
  id: string;
  message: string;
  remedy: string;
  levels: Record<SafetyLevel, Decision>;
  calls?: string[];
  string_args?: string[];
  directives?: string;
  argv?: string[];
  probes?: string[];
  tools?: string[];
  /** A busy probe that prints on every event; `busy` adds globs to the estimate's high-rate probes. */
  flood?: true | { busy: string[] };
  wildcard_over?: number;
  /** A timed or sampled probe firing more than this many times a second on each CPU. */
  sample_rate_over?: number;
  /** A wildcard over these probe types, as wide as the pattern says (not what this kernel lists). */
  wildcard?: { types: string[]; literal_under?: number; prefix_under?: number };
  /** Map writes keyed on these expressions (regular expressions), on busy probes only if `busy` is given. */
  map_keys?: { keys: string[]; busy?: string[] };
  /** str()/buf() copies of a data buffer (an argument matching `args`) taken on these probes. */
  copies?: { calls: string[]; probes: string[]; args: string[] };
  /** Only for programs that name one of these (a string, a probed binary, a positional parameter). */
  names?: string[];
  /** A run whose timeout or duration input is longer than this many seconds. */
  run_over?: number;
  /** The file the rule came from, for messages. */
  source?: string;
}

export interface Finding {
  rule: string;
  decision: Exclude<Decision, 'allow'>;
  message: string;
  remedy: string;
  line: number | null;
  column: number | null;
}

export type Verdict = Decision;

export interface SafetyReport {
  level: SafetyLevel;
  verdict: Verdict;
  findings: Finding[];
  /** With a confirm verdict: who should confirm, and what happens meanwhile. */
  confirmation?: string;
}

/** What a rule looks at: the tool, the argv that would run, the program (if any). */
export interface PolicySubject {
  tool: string;
  argv: readonly string[];
  program?: AnalyzedProgram;
  /** Probes each attach point matches, when known (for wildcard_over). */
  probeCounts?: ReadonlyMap<string, number>;
  /** The tool's input, for what only it says (timeout, duration). */
  input?: Readonly<Record<string, unknown>>;
}

/**
 * Rules as data (knowledge/policy.yaml plus the user's file), applied to a program's tokens:
 * never its raw text, so a name in a comment, a string or a longer identifier is not a call.
 */
export class Policy {
  constructor(
    readonly rules: readonly PolicyRule[],
    readonly level: SafetyLevel,
    /** Problems in a policy file: while any exist, every run is refused (fail closed). */
    readonly problems: readonly Problem[] = [],
  ) {}

  withLevel(level: SafetyLevel): Policy {
    return new Policy(this.rules, level, this.problems);
  }

  evaluate(s: PolicySubject, level: SafetyLevel = this.level): SafetyReport {
    const findings: Finding[] = [];
    const add = (r: PolicyRule, where?: { line: number; col: number }, detail?: string) => {
      const decision = r.levels[level];
      if (decision === 'allow') return;
      // One finding per rule and place.
      if (findings.some((f) => f.rule === r.id && f.line === (where?.line ?? null) && f.column === (where?.col ?? null))) return;
      findings.push({
        rule: r.id,
        decision,
        message: detail ? `${detail}: ${r.message}` : r.message,
        remedy: r.remedy,
        line: where?.line ?? null,
        column: where?.col ?? null,
      });
    };
    const calls = s.program ? findCalls(s.program.tokens) : [];
    // A more specific rule on the same call (cat of a secret) or wildcard speaks for it alone.
    const claimed = new Set<object>();
    let named: string[] | undefined;
    const runSeconds = Math.max(...(['timeout', 'duration'] as const).map((k) => (typeof s.input?.[k] === 'number' ? (s.input[k] as number) : 0)));
    for (const r of this.rules) {
      if (r.names) {
        named ??= namedTargets(s.program, s.argv);
        const rxs = r.names.map(rx);
        if (!named.some((n) => rxs.some((x) => x.test(n)))) continue;
      }
      // Only options count: after `--` every word is a positional parameter ($1 may be "--unsafe").
      const end = s.argv.indexOf('--');
      const options = end < 0 ? s.argv : s.argv.slice(0, end);
      if (r.argv && options.some((a) => r.argv!.includes(a))) add(r, undefined, `argv has ${r.argv.filter((a) => options.includes(a)).join(' ')}`);
      if (r.tools && r.tools.some((g) => globRx(g).test(s.tool))) add(r, undefined, `tool ${s.tool}`);
      if (r.run_over !== undefined && runSeconds > r.run_over) add(r, undefined, `a run of ${duration(runSeconds)}`);
      if (!s.program) continue;
      const p = s.program;
      if (r.calls) {
        for (const c of calls) {
          if (!r.calls.includes(c.name) || claimed.has(c)) continue;
          if (r.string_args) {
            const hit = stringForms(c.args).find((text) => r.string_args!.some((rx) => new RegExp(rx).test(text)));
            if (hit === undefined) continue;
            claimed.add(c);
            add(r, c.token, `${c.name}("${hit}")`);
          } else add(r, c.token, `${c.name}()`);
        }
      }
      if (r.directives) {
        const rx = new RegExp(r.directives);
        for (const t of p.tokens) if (t.type === 'directive' && rx.test(t.text)) add(r, t, t.text);
      }
      if (r.probes) for (const spec of p.probes) if (matchesAny(r.probes, expandedProbe(spec))) add(r, spec, spec.text);
      if (r.flood) for (const spec of p.probes) if (floods(spec, r.flood === true ? [] : r.flood.busy)) add(r, spec, spec.text);
      if (r.wildcard_over !== undefined && s.probeCounts) {
        for (const spec of p.probes) {
          const n = s.probeCounts.get(spec.text) ?? 0;
          if (n > r.wildcard_over) add(r, spec, `${spec.text} matches ${n} probes`);
        }
      }
      if (r.sample_rate_over !== undefined) {
        for (const spec of p.probes) {
          const hz = sampleRate(spec);
          if (hz !== undefined && hz > r.sample_rate_over)
            add(r, spec, `${spec.text} fires ${Math.round(hz)} times a second${spec.type === 'interval' ? '' : ' on every CPU'}`);
        }
      }
      if (r.wildcard) {
        const w = r.wildcard;
        for (const spec of p.probes) {
          const shape = w.types.includes(spec.type) && !claimed.has(spec) ? wildcardShape(spec) : undefined;
          if (!shape || (w.literal_under !== undefined && shape.literal >= w.literal_under) || (w.prefix_under !== undefined && shape.prefix >= w.prefix_under))
            continue;
          // The first wildcard rule that fits (the widest shape comes first) speaks for this probe.
          claimed.add(spec);
          add(r, spec, spec.text);
        }
      }
      if (r.map_keys) {
        const { keys, busy: globs } = r.map_keys;
        for (const k of keyedWrites(p, keys.map(rx), (specs) => !globs || busy(specs, globs))) add(r, k.at, `${k.map}[${k.key}]`);
      }
      if (r.copies) {
        for (const c of bufferCopies(p, { calls: r.copies.calls, probes: r.copies.probes, args: r.copies.args.map(rx) })) add(r, c.at, `${c.call}(${c.arg})`);
      }
    }
    if (this.problems.length) {
      findings.unshift({
        rule: 'policy-file',
        decision: 'refuse',
        message: `the safety policy has errors, so nothing runs until it is fixed: ${this.problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`).join('; ')}`,
        remedy: 'Fix the policy file named above (or remove it); mcptrace refuses every run while its policy is broken.',
        line: null,
        column: null,
      });
    }
    const verdict: Verdict = DECISIONS.find((d) => findings.some((f) => f.decision === d)) ?? 'allow';
    return verdict === 'confirm' ? { level, verdict, findings, confirmation: confirmationNote(findings, level) } : { level, verdict, findings };
  }
}

const rxCache = new Map<string, RegExp>();
const rx = (source: string) => {
  let r = rxCache.get(source);
  if (!r) rxCache.set(source, (r = new RegExp(source)));
  return r;
};

const duration = (sec: number) => (sec >= 86400 ? `${+(sec / 86400).toFixed(1)} days` : sec >= 3600 ? `${+(sec / 3600).toFixed(1)} hours` : `${sec} s`);

/** What a confirm verdict means to whoever reads a report (validate_program): who says yes, and how. */
export function confirmationNote(findings: readonly Finding[], level: SafetyLevel): string {
  const rules = [...new Set(findings.filter((f) => f.decision === 'confirm').map((f) => f.rule))];
  return (
    `this needs a person's confirmation (policy rule${rules.length === 1 ? '' : 's'} ${rules.map((r) => `"${r}"`).join(', ')} at safety level ${level}); ` +
    'a run asks first: a y/N prompt on a terminal (--yes in scripts, except at strict), an input request to an MCP client that supports elicitation, ' +
    'and a refusal anywhere else. An operator who accepts the findings can make the rule warn or allow with a rule of the same id in their policy file.'
  );
}

/**
 * Every form a call's string arguments may take at run time: as written, with a format's
 * literal arguments filled in (cat("/etc/sha%s", "dow")), normalised ("/etc//./shadow"), and
 * through symlinks that exist now. A path is judged by where it leads, not how it is spelled.
 */
function stringForms(args: Token[][]): string[] {
  const literal = (a: Token[]) => (a.length === 1 && (a[0].type === 'string' || a[0].type === 'number') ? a[0].text : undefined);
  const forms: string[] = [];
  args.forEach((a, i) => {
    if (a.length !== 1 || a[0].type !== 'string') return;
    const text = a[0].text;
    forms.push(text);
    if (i !== 0) return;
    let k = 1;
    const filled = text.replace(/%[-0-9.]*[a-z]+/g, (spec) => literal(args[k++] ?? []) ?? spec);
    for (const f of new Set([filled, path.posix.resolve('/', filled)])) {
      forms.push(f);
      try {
        if (!f.includes('%')) forms.push(realpathSync(f));
      } catch {
        // Not there (now): judged as written.
      }
    }
  });
  return forms;
}

/** A busy probe that prints on every event, with no predicate to thin it out. */
function floods(spec: ProbeSpec, globs: readonly string[]): boolean {
  if (spec.filtered || !busy([spec], globs)) return false;
  const prints = spec.body.some((t, i) => t.type === 'ident' && /^(printf|print|time|join|cat)$/.test(t.text) && spec.body[i + 1]?.text === '(');
  // An if in the body filters too; exit() makes it a one-shot.
  const filtersInBody = spec.body.some((t, i) => t.type === 'ident' && (t.text === 'if' || t.text === 'exit') && spec.body[i + 1]?.text === '(');
  return prints && !filtersInBody;
}

/** Where the user's own policy file lives unless --policy / MCPTRACE_POLICY name another. */
export function userPolicyFile(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config');
  return path.join(xdg, 'mcptrace', 'policy.yaml');
}

/** Reads one policy file: its rules, or located problems (never throws on bad content). */
export function readPolicyFile(file: string): { rules: PolicyRule[]; problems: Problem[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return { rules: [], problems: [{ file, line: 1, col: 1, message: `cannot read the policy file: ${(e as Error).message}`, kind: 'io' }] };
  }
  // The schema is compiled at build time and the package's own policy.yaml is in the parse cache:
  // every server start-up reads it, and parsing and compiling them took 40-60 ms.
  const parsed = parseYamlFile(file, text, validatePolicy);
  if (parsed.problems.length) return { rules: [], problems: parsed.problems };
  const rules = ((parsed.value as { rules?: PolicyRule[] } | null)?.rules ?? []).map((r) => ({ ...r, source: file }));
  const problems: Problem[] = [];
  rules.forEach((r, i) => {
    for (const [key, rxs, list] of [
      ['string_args', r.string_args ?? [], true],
      ['directives', r.directives ? [r.directives] : [], false],
      ['names', r.names ?? [], true],
      ['map_keys/keys', r.map_keys?.keys ?? [], true],
      ['copies/args', r.copies?.args ?? [], true],
    ] as const) {
      rxs.forEach((source, j) => {
        try {
          new RegExp(source);
        } catch (e) {
          const pointer = `/rules/${i}/${key}${list ? `/${j}` : ''}`;
          problems.push({ file, ...parsed.locator().value(pointer), message: `${pointer}: not a regular expression: ${(e as Error).message}`, kind: 'schema' });
        }
      });
    }
  });
  return { rules: problems.length ? [] : rules, problems };
}

export interface PolicyOptions {
  /** --policy / MCPTRACE_POLICY: a user policy file that must exist. */
  file?: string;
  /** --safety-level / MCPTRACE_SAFETY_LEVEL. */
  level?: string;
}

/**
 * The policy in force: the package's rules, then the user's ($XDG_CONFIG_HOME/mcptrace/
 * policy.yaml when it exists, or the file named by --policy / MCPTRACE_POLICY), where a rule
 * with a default rule's id replaces it.
 */
export function loadPolicy(opts: PolicyOptions = {}, env: NodeJS.ProcessEnv = process.env): Policy {
  const problems: Problem[] = [];
  const base = readPolicyFile(path.join(KNOWLEDGE_DIR, 'policy.yaml'));
  problems.push(...base.problems);
  const rules = new Map(base.rules.map((r) => [r.id, r]));
  const explicit = opts.file ?? env.MCPTRACE_POLICY;
  const userFile = explicit || userPolicyFile(env);
  if (explicit || existsSync(userFile)) {
    const user = readPolicyFile(userFile);
    problems.push(...user.problems);
    for (const r of user.rules) rules.set(r.id, r);
  }
  const rawLevel = opts.level ?? env.MCPTRACE_SAFETY_LEVEL ?? DEFAULT_SAFETY_LEVEL;
  let level: SafetyLevel = DEFAULT_SAFETY_LEVEL;
  if ((SAFETY_LEVELS as readonly string[]).includes(rawLevel)) level = rawLevel as SafetyLevel;
  else {
    level = 'strict';
    problems.push({
      file: opts.level ? '--safety-level' : 'MCPTRACE_SAFETY_LEVEL',
      line: 1,
      col: 1,
      message: `unknown safety level "${rawLevel}"; use one of ${SAFETY_LEVELS.join(', ')}`,
      kind: 'schema',
    });
  }
  return new Policy([...rules.values()], level, problems);
}

/** The text of a refusal: which rule refused, where, and how to proceed. */
export function refusalText(r: SafetyReport): string {
  const refusals = r.findings.filter((f) => f.decision === 'refuse');
  const lines = refusals.map(
    (f) =>
      `refused by policy rule "${f.rule}" (safety level ${r.level})${f.line !== null ? ` at line ${f.line}:${f.column}` : ''}: ${f.message} To proceed: ${f.remedy}`,
  );
  return lines.join('\n');
}
