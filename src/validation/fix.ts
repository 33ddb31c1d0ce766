import type { ProbeSpec } from './probes.js';
import type { Diagnostic } from './taxonomy.js';
import { tokenize, type Token } from './tokens.js';

/** One change a fix made, in the user's terms. */
export interface FixChange {
  line: number;
  was: string;
  now: string;
  why: string;
}

interface Edit {
  start: number;
  end: number;
  text: string;
  why: string;
}

/**
 * Idioms of other tracers with a bpftrace equivalent: DTrace, bcc's C/Python and SystemTap
 * (how GPTtrace's and KEN's users wrote, and how models often still do). A name maps to an
 * expression; `()` marks the form that is called.
 */
const IDIOM_IDENTS: Record<string, { now: string; from: string }> = {
  execname: { now: 'comm', from: 'DTrace' },
  timestamp: { now: 'nsecs', from: 'DTrace' },
  vtimestamp: { now: 'nsecs', from: 'DTrace' },
  probefunc: { now: 'func', from: 'DTrace' },
  probename: { now: 'probe', from: 'DTrace' },
  curthread: { now: 'curtask', from: 'DTrace' },
};
const IDIOM_CALLS: Record<string, { now: string; from: string; args: 'keep' | 'none' }> = {
  copyinstr: { now: 'str', from: 'DTrace', args: 'keep' },
  stringof: { now: 'str', from: 'DTrace', args: 'keep' },
  quantize: { now: 'hist', from: 'DTrace', args: 'keep' },
  lquantize: { now: 'lhist', from: 'DTrace', args: 'keep' },
  printa: { now: 'print', from: 'DTrace', args: 'keep' },
  trace: { now: 'print', from: 'DTrace', args: 'keep' },
  bpf_trace_printk: { now: 'printf', from: 'bcc', args: 'keep' },
  bpf_ktime_get_ns: { now: 'nsecs', from: 'bcc', args: 'none' },
  bpf_get_current_uid_gid: { now: 'uid', from: 'bcc', args: 'none' },
  bpf_get_smp_processor_id: { now: 'cpu', from: 'bcc', args: 'none' },
  execname: { now: 'comm', from: 'SystemTap', args: 'none' },
  pid: { now: 'pid', from: 'SystemTap', args: 'none' },
  tid: { now: 'tid', from: 'SystemTap', args: 'none' },
  uid: { now: 'uid', from: 'SystemTap', args: 'none' },
  cpu: { now: 'cpu', from: 'SystemTap', args: 'none' },
  gettimeofday_ns: { now: 'nsecs', from: 'SystemTap', args: 'none' },
  local_clock_ns: { now: 'nsecs', from: 'SystemTap', args: 'none' },
};

/** bpftrace's equivalent of another tracer's name, for a hint even where no fix compiles. */
export function idiomFor(name: string, called: boolean): string | undefined {
  const hit = called ? (IDIOM_CALLS[name] ?? undefined) : IDIOM_IDENTS[name];
  if (!hit) return undefined;
  const now = called && 'args' in hit && hit.args === 'keep' ? `${hit.now}()` : hit.now;
  return `${name}${called ? '()' : ''} is ${hit.from}'s; in bpftrace write ${now}`;
}

/** Probe headers of DTrace and SystemTap, and bpftrace's own lowercase begin/end (0.24+ only). */
const PROBE_HEADERS: { rx: RegExp; now: (m: RegExpExecArray) => string; why: string }[] = [
  {
    rx: /^(\s*)syscall::(\w+):entry\b/gm,
    now: (m) => `${m[1]}tracepoint:syscalls:sys_enter_${m[2]}`,
    why: "DTrace's syscall::NAME:entry is tracepoint:syscalls:sys_enter_NAME",
  },
  {
    rx: /^(\s*)syscall::(\w+):return\b/gm,
    now: (m) => `${m[1]}tracepoint:syscalls:sys_exit_${m[2]}`,
    why: "DTrace's syscall::NAME:return is tracepoint:syscalls:sys_exit_NAME",
  },
  { rx: /^(\s*)profile-(\d+)(hz)?\b/gm, now: (m) => `${m[1]}profile:hz:${m[2]}`, why: "DTrace's profile-N is profile:hz:N" },
  {
    rx: /^(\s*)tick-(\d+)(s|sec|ms|msec)\b/gm,
    now: (m) => `${m[1]}interval:${m[3].startsWith('m') ? 'ms' : 's'}:${m[2]}`,
    why: "DTrace's tick-N is interval:s:N",
  },
  { rx: /^(\s*)fbt::(\w+):entry\b/gm, now: (m) => `${m[1]}kprobe:${m[2]}`, why: "DTrace's fbt::F:entry is kprobe:F" },
  { rx: /^(\s*)fbt::(\w+):return\b/gm, now: (m) => `${m[1]}kretprobe:${m[2]}`, why: "DTrace's fbt::F:return is kretprobe:F" },
  {
    rx: /^(\s*)probe\s+syscall\.(\w+)\.return\b/gm,
    now: (m) => `${m[1]}tracepoint:syscalls:sys_exit_${m[2]}`,
    why: "SystemTap's syscall.NAME.return is tracepoint:syscalls:sys_exit_NAME",
  },
  {
    rx: /^(\s*)probe\s+syscall\.(\w+)\b(?!\.)/gm,
    now: (m) => `${m[1]}tracepoint:syscalls:sys_enter_${m[2]}`,
    why: "SystemTap's syscall.NAME is tracepoint:syscalls:sys_enter_NAME",
  },
  {
    rx: /^(\s*)probe\s+timer\.(s|ms|sec|msec)\((\d+)\)/gm,
    now: (m) => `${m[1]}interval:${m[2].startsWith('m') ? 'ms' : 's'}:${m[3]}`,
    why: "SystemTap's timer.s(N) is interval:s:N",
  },
  { rx: /^(\s*)probe\s+timer\.profile\b/gm, now: (m) => `${m[1]}profile:hz:99`, why: "SystemTap's timer.profile is profile:hz:99" },
  { rx: /^(\s*)probe\s+begin\b/gm, now: (m) => `${m[1]}BEGIN`, why: "SystemTap's probe begin is BEGIN" },
  { rx: /^(\s*)probe\s+end\b/gm, now: (m) => `${m[1]}END`, why: "SystemTap's probe end is END" },
];

/** What a fix needs beyond the program: its diagnostics, and the bpftrace version. */
export interface FixInput {
  program: string;
  errors: readonly Diagnostic[];
  probes: readonly ProbeSpec[];
  /** major.minor as a number: 17 for 0.17, 27 for 0.27. */
  minor: number;
}

const lineOf = (src: string, offset: number) => src.slice(0, offset).split('\n').length;

/**
 * One round of mechanical fixes for a program that does not compile: idioms of other tracers,
 * `=` where `==` was meant, str() around a field compared with a string, the nearest probe,
 * field, function or map name this kernel and bpftrace know, and syntax this version lacks.
 * Returns the new program and what changed, or undefined when nothing applies. The caller
 * compiles the result: a fix is only offered once bpftrace accepts it.
 */
export function fixRound(input: FixInput): { program: string; changes: FixChange[] } | undefined {
  const src = input.program;
  const { tokens } = tokenize(src);
  const edits: Edit[] = [...idiomEdits(src, tokens, input.minor)];
  for (const d of input.errors) edits.push(...diagnosticEdits(d, src, tokens, input));
  const chosen = nonOverlapping(edits);
  if (!chosen.length) return undefined;
  let out = src;
  const changes: FixChange[] = [];
  for (const e of [...chosen].sort((a, b) => b.start - a.start)) {
    changes.unshift({ line: lineOf(src, e.start), was: src.slice(e.start, e.end), now: e.text, why: e.why });
    out = out.slice(0, e.start) + e.text + out.slice(e.end);
  }
  return out === src ? undefined : { program: out, changes };
}

function nonOverlapping(edits: Edit[]): Edit[] {
  const out: Edit[] = [];
  for (const e of edits) if (!out.some((o) => e.start < o.end && o.start < e.end)) out.push(e);
  return out;
}

function idiomEdits(src: string, tokens: Token[], minor: number): Edit[] {
  const edits: Edit[] = [];
  for (const h of PROBE_HEADERS) {
    for (const m of src.matchAll(h.rx)) edits.push({ start: m.index!, end: m.index! + m[0].length, text: h.now(m as RegExpExecArray), why: h.why });
  }
  // bpftrace's lowercase begin/end probes came with 0.24; BEGIN/END work on every version.
  if (minor < 24) {
    for (const m of src.matchAll(/^(\s*)(begin|end)(?=\s*(\/|\{))/gm))
      edits.push({
        start: m.index! + m[1].length,
        end: m.index! + m[0].length,
        text: m[2].toUpperCase(),
        why: `bpftrace 0.${minor} knows only ${m[2].toUpperCase()}`,
      });
  }
  tokens.forEach((t, i) => {
    if (t.type !== 'ident') return;
    const prev = tokens[i - 1];
    const member = prev && prev.type === 'punct' && (prev.text === '.' || (prev.text === '>' && tokens[i - 2]?.text === '-'));
    if (member) return;
    const next = tokens[i + 1];
    const called = next?.type === 'punct' && next.text === '(';
    // DTrace's thread-local self->x and clause-local this->x.
    if ((t.text === 'self' || t.text === 'this') && next?.text === '-' && tokens[i + 2]?.text === '>' && tokens[i + 3]?.type === 'ident') {
      const name = tokens[i + 3];
      edits.push({
        start: t.start,
        end: name.end,
        text: t.text === 'self' ? `@${name.text}[tid]` : `$${name.text}`,
        why: t.text === 'self' ? "DTrace's thread-local self->x is a map keyed by thread: @x[tid]" : "DTrace's clause-local this->x is a scratch variable: $x",
      });
      return;
    }
    if (called) {
      const idiom = IDIOM_CALLS[t.text];
      if (!idiom) return;
      if (idiom.args === 'keep') {
        edits.push({ start: t.start, end: t.end, text: idiom.now, why: `${idiom.from}'s ${t.text}() is bpftrace's ${idiom.now}()` });
        return;
      }
      const close = matching(tokens, i + 1);
      if (close === undefined) return;
      // bcc's bpf_get_current_pid_tgid() >> 32 is the process id; its lower half the thread id.
      edits.push({ start: t.start, end: tokens[close].end, text: idiom.now, why: `${idiom.from}'s ${t.text}() is bpftrace's ${idiom.now}` });
      return;
    }
    const idiom = IDIOM_IDENTS[t.text];
    if (idiom) edits.push({ start: t.start, end: t.end, text: idiom.now, why: `${idiom.from}'s ${t.text} is bpftrace's ${idiom.now}` });
  });
  // bcc: pid and tid from one helper; PT_REGS_PARMn(ctx) and PT_REGS_RC(ctx).
  for (const m of src.matchAll(/bpf_get_current_pid_tgid\s*\(\s*\)\s*>>\s*32/g))
    edits.push({ start: m.index!, end: m.index! + m[0].length, text: 'pid', why: "bcc's bpf_get_current_pid_tgid() >> 32 is bpftrace's pid" });
  for (const m of src.matchAll(/\(\s*u32\s*\)\s*bpf_get_current_pid_tgid\s*\(\s*\)/g))
    edits.push({ start: m.index!, end: m.index! + m[0].length, text: 'tid', why: "bcc's (u32)bpf_get_current_pid_tgid() is bpftrace's tid" });
  for (const m of src.matchAll(/PT_REGS_PARM([1-6])\s*\(\s*ctx\s*\)/g))
    edits.push({
      start: m.index!,
      end: m.index! + m[0].length,
      text: `arg${Number(m[1]) - 1}`,
      why: `bcc's PT_REGS_PARM${m[1]}(ctx) is bpftrace's arg${Number(m[1]) - 1}`,
    });
  for (const m of src.matchAll(/PT_REGS_RC\s*\(\s*ctx\s*\)/g))
    edits.push({ start: m.index!, end: m.index! + m[0].length, text: 'retval', why: "bcc's PT_REGS_RC(ctx) is bpftrace's retval" });
  return edits.sort((a, b) => a.start - b.start);
}

/** The index of the token that closes the bracket at `open`. */
function matching(tokens: Token[], open: number): number | undefined {
  let depth = 0;
  for (let j = open; j < tokens.length; j++) {
    if (tokens[j].type !== 'punct') continue;
    if ('([{'.includes(tokens[j].text)) depth++;
    else if (')]}'.includes(tokens[j].text) && --depth === 0) return j;
  }
  return undefined;
}

/** The offset of line:col in src. */
function offsetOf(src: string, line: number, col: number): number {
  let off = 0;
  for (let l = 1; l < line; l++) off = src.indexOf('\n', off) + 1;
  return off + col - 1;
}

const firstCandidate = (suggestion: string | null): string | undefined => /did you mean (?:args->)?"?([^"?,\s]+)"?/.exec(suggestion ?? '')?.[1];

function diagnosticEdits(d: Diagnostic, src: string, tokens: Token[], input: FixInput): Edit[] {
  const m = d.message;
  const at = d.line !== null && d.column !== null ? offsetOf(src, d.line, d.column) : undefined;
  const tokenAt = at === undefined ? undefined : tokens.find((t) => t.start <= at && at < t.end);
  // `=` where a comparison was meant: in a predicate or a condition, bpftrace stops at it.
  if (
    d.category === 'syntax' &&
    tokenAt?.type === 'punct' &&
    tokenAt.text === '=' &&
    loneEquals(tokens, tokenAt) &&
    inCondition(src, tokens, tokenAt, input.probes)
  ) {
    return [{ start: tokenAt.start, end: tokenAt.end, text: '==', why: '= assigns; a predicate or condition compares with ==' }];
  }
  // A char pointer (a tracepoint's string field, argN) compared with a string literal.
  if (d.category === 'type' && /(==|!=)|compar/.test(m) && /string/.test(m) && d.line !== null) {
    return strWraps(src, d.line);
  }
  // 0.17–0.20 read tracepoint fields with -> only.
  if (/using '->'|Try dereferencing it first/.test(m)) {
    return [...src.matchAll(/\bargs\.(?=\w)/g)].map((x) => ({
      start: x.index!,
      end: x.index! + 6,
      text: 'args->',
      why: `bpftrace 0.${input.minor} reads tracepoint fields as args->field`,
    }));
  }
  const near = firstCandidate(d.suggestion);
  if (d.category === 'unknown_probe' && near?.includes(':')) {
    const spec =
      input.probes.find((p) => (d.line === null || p.line === d.line) && m.includes(p.text.slice(p.text.indexOf(':') + 1))) ??
      input.probes.find((p) => p.line === d.line);
    if (spec) {
      const start = offsetOf(src, spec.line, spec.col);
      return [{ start, end: start + spec.text.length, text: near, why: `${spec.text} is not on this kernel; ${near} is the nearest probe it has` }];
    }
  }
  const field = /field named '([^']+)'|has no field "([^"]+)"/.exec(m);
  if (field && near && /args->/.test(d.suggestion ?? '')) {
    const bad = field[1] ?? field[2];
    return [...src.matchAll(new RegExp(`\\bargs(->|\\.)${bad}\\b`, 'g'))].map((x) => ({
      start: x.index! + 4 + x[1].length,
      end: x.index! + x[0].length,
      text: near,
      why: `the tracepoint has no argument ${bad}; ${near} is the nearest it has`,
    }));
  }
  if ((d.category === 'unknown_function' || d.category === 'map') && near && tokenAt && (tokenAt.type === 'ident' || tokenAt.type === 'map')) {
    const name = closestName(tokenAt.text, d.suggestion ?? '') ?? near.replace(/\(.*$/, '');
    if (name && name !== tokenAt.text)
      return [{ start: tokenAt.start, end: tokenAt.end, text: name, why: `${tokenAt.text} is unknown; ${name} is the nearest name bpftrace knows` }];
  }
  return [];
}

/**
 * Whether a token sits where a comparison is expected: a probe's predicate (between the attach
 * point and its block) or the condition of an if or while. An `=` elsewhere is an assignment.
 */
function inCondition(src: string, tokens: Token[], t: Token, probes: readonly ProbeSpec[]): boolean {
  for (const p of probes) {
    const specEnd = offsetOf(src, p.line, p.col) + p.text.length;
    const open = tokens.find((x) => x.start >= specEnd && x.type === 'punct' && x.text === '{');
    if (t.start > specEnd && open && t.start < open.start) return true;
  }
  let depth = 0;
  for (let i = tokens.indexOf(t) - 1; i >= 0; i--) {
    const x = tokens[i];
    if (x.type !== 'punct') continue;
    if (x.text === ')') depth++;
    else if (x.text === '(') {
      if (depth === 0) return tokens[i - 1]?.type === 'ident' && /^(if|while)$/.test(tokens[i - 1].text);
      depth--;
    } else if (depth === 0 && (x.text === ';' || x.text === '{' || x.text === '}')) return false;
  }
  return false;
}

/**
 * Of the names a suggestion offers ("did you mean print(…), printf(…)?"), the one the typo most
 * likely meant: one that contains every letter typed, in order (a dropped letter: prinf →
 * printf), else the first.
 */
function closestName(typed: string, suggestion: string): string | undefined {
  const names = [...suggestion.matchAll(/(?:^|[\s",|])(@?\w+)(?=\(|"|,|\?)/g)].map((m) => m[1]).filter((n) => n !== typed && !/^(did|you|mean)$/.test(n));
  const within = (a: string, b: string) => {
    let i = 0;
    for (const ch of b) if (ch === a[i]) i++;
    return i === a.length;
  };
  return names.find((n) => within(typed, n)) ?? names[0];
}

/** A single `=`, not part of ==, !=, <=, >=, +=, -=, … */
function loneEquals(tokens: Token[], t: Token): boolean {
  const i = tokens.indexOf(t);
  const prev = tokens[i - 1];
  const next = tokens[i + 1];
  const glued = (a: Token | undefined, b: Token | undefined) => a && b && a.end === b.start && a.type === 'punct' && b.type === 'punct';
  return !(glued(prev, t) && /[=!<>+\-*/%&|^]/.test(prev!.text)) && !(glued(t, next) && next!.text === '=');
}

/** str() around each non-string operand compared with a string literal on this line. */
function strWraps(src: string, line: number): Edit[] {
  const lineStart = offsetOf(src, line, 1);
  const text = src.slice(lineStart, src.indexOf('\n', lineStart) === -1 ? undefined : src.indexOf('\n', lineStart));
  const operand = String.raw`(args(?:->|\.)\w+(?:(?:->|\.)\w+)*|arg\d|retval|\$\w+|@\w*\[[^\]]*\])`;
  const literal = String.raw`"(?:[^"\\]|\\.)*"`;
  const edits: Edit[] = [];
  const wrap = (start: number, expr: string) => {
    // Already read as a string.
    if (/str\($/.test(text.slice(0, start))) return;
    edits.push({
      start: lineStart + start,
      end: lineStart + start + expr.length,
      text: `str(${expr})`,
      why: `${expr} is a pointer to characters; str() reads the string it points to`,
    });
  };
  for (const x of text.matchAll(new RegExp(`${operand}\\s*(==|!=)\\s*${literal}`, 'g'))) wrap(x.index!, x[1]);
  for (const x of text.matchAll(new RegExp(`${literal}\\s*(==|!=)\\s*${operand}`, 'g'))) wrap(x.index! + x[0].length - x[2].length, x[2]);
  return edits;
}
