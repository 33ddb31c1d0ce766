import { builtinsReference } from './builtins-reference.js';
import { idiomFor } from './fix.js';
import { nearest } from './nearest.js';
import { PROBE_TYPES, type ProbeSpec } from './probes.js';
import type { Diagnostic } from './taxonomy.js';
import type { Token } from './tokens.js';

/** Where suggestions come from: in-memory indexes, each built once (see ProgramValidator). */
export interface SuggestionSources {
  /** Every probe `bpftrace -l` lists. */
  probes(): Promise<readonly string[]>;
  /** Argument names of one tracepoint (`bpftrace -lv`). */
  tracepointArgs(probe: string): Promise<string[] | undefined>;
  /** Field names of a struct, through BTF (`bpftrace -lv 'struct NAME'`). */
  structFields(struct: string): Promise<string[] | undefined>;
  kernel: { kprobes: boolean; kfunc: boolean };
}

export interface ProgramFacts {
  tokens: readonly Token[];
  probes: readonly ProbeSpec[];
}

const list = (names: string[]) => names.map((n) => `"${n}"`).join(', ');
const didYouMean = (names: string[], what = '') => (names.length ? `did you mean ${what}${list(names)}?` : '');
const quoted = (message: string, rx: RegExp): string | undefined => rx.exec(message)?.[1]?.replace(/^'|'$/g, '');

/** A fix for one diagnostic, from bpftrace's own hint, the program and the indexes. */
export async function suggestFix(d: Diagnostic, facts: ProgramFacts, src: SuggestionSources): Promise<string | null> {
  const joined = d.hints.join('; ');
  const own = joined ? `bpftrace: ${joined}${/[.?!]$/.test(joined) ? '' : '.'} ` : '';
  const ours = await ourSuggestion(d, facts, src).catch(() => undefined);
  const text = `${own}${ours ?? ''}`.trim();
  return text || null;
}

async function ourSuggestion(d: Diagnostic, facts: ProgramFacts, src: SuggestionSources): Promise<string | undefined> {
  const m = d.message;
  switch (d.category) {
    case 'syntax':
      return syntaxFix(m);
    case 'unknown_probe':
      return probeFix(m, facts, src);
    case 'unknown_function':
      return functionFix(m, facts);
    case 'argument':
      return argumentFix(m, facts, src);
    case 'type':
      return typeFix(m, src);
    case 'map':
      return mapFix(m, facts);
    case 'unsafe': {
      const fn = quoted(m, /^(\w+)\(\) is an unsafe function/);
      if (fn) {
        return `${fn}() needs --unsafe, which bpftrace requires for functions that act on the system. mcptrace passes --unsafe only at safety level permissive (exec_program's unsafe input); otherwise print what you need (printf) and act on it outside the probe.`;
      }
      return 'bpftrace needs root or CAP_BPF+CAP_PERFMON: run mcptrace as root, or allow passwordless sudo for bpftrace (see mcptrace doctor).';
    }
    case 'environment':
      return environmentFix(m);
  }
}

function syntaxFix(m: string): string {
  if (/during comment|unterminated comment/.test(m)) return 'A /* comment is not closed: end it with */.';
  if (/unterminated string/.test(m)) return 'A string is not closed: end it with " on the same line (write a newline as \\n).';
  if (/expected \{|expecting \{|expected '\{'/.test(m)) return 'Every probe needs a body: add { ... } after the probe (and its /predicate/, if any).';
  if (/expecting (; or )?\}|expected '\}'/.test(m)) return 'A block is not closed: add the missing } (count the braces), and end each statement with ;.';
  if (/unexpected =,? expecting (end predicate|\))|expected '\/' to close predicate/.test(m))
    return 'To compare, write == (a single = assigns): /comm == "bash"/, if ($x == 1) { ... }.';
  if (/expecting ;|expected ';'|expecting ; or/.test(m)) return 'End the statement before this point with ;.';
  if (/expected expression|unexpected ;/.test(m)) return 'An expression is missing here: an assignment needs a value (@x = 1;), a call needs its arguments.';
  if (/immutable/.test(m)) return 'Build a new tuple instead of assigning to one of its fields.';
  return 'Fix the syntax at the line:column shown: statements end with ;, blocks are { ... }, predicates are /expr/ between the probe and its block, strings use double quotes.';
}

async function probeFix(m: string, facts: ProgramFacts, src: SuggestionSources): Promise<string> {
  // 0.17 aborts (exit 134) on an unknown probe type; newer versions say "Invalid probe type: x".
  if (/Invalid probe type|attachpoint parser/.test(m)) {
    const bad = facts.probes.map((p) => p.type).find((t) => !(PROBE_TYPES as readonly string[]).includes(t)) ?? quoted(m, /Invalid probe type: (\S+)/);
    const near = bad ? nearest(bad, PROBE_TYPES, 2) : [];
    return `"${bad ?? '?'}" is not a probe type; ${didYouMean(near) || `probe types are ${PROBE_TYPES.slice(5, 17).join(', ')}`} (write e.g. tracepoint:syscalls:sys_enter_openat).`;
  }
  if (/not an accepted unit of time/.test(m)) return 'Time units are s, ms, us and hz: interval:s:1, interval:ms:100, profile:hz:99.';
  if (/profile probe|rate of profile/.test(m))
    return 'A profile probe needs a unit and a rate: profile:hz:99 (99 samples per second per CPU) or profile:ms:10.';
  if (/is not a software probe/.test(m))
    return 'Software probes are software:cpu-clock:N, task-clock, page-faults, context-switches, cpu-migrations, minor-faults, major-faults, alignment-faults, emulation-faults, bpf-output, dummy.';
  if (/is not a hardware probe/.test(m)) return 'This machine has no hardware PMU; use software:cpu-clock:N or profile:hz:99 instead.';
  const target = quoted(m, /(?:uprobe|usdt) target file '([^']+)'/);
  if (target)
    return `${target} does not exist or is not executable: give the full path of a binary or library, e.g. uprobe:/bin/bash:readline or uprobe:/lib/x86_64-linux-gnu/libc.so.6:malloc.`;
  const missing =
    /tracepoint not found: (\S+)/.exec(m) ??
    /No matches for (\w+) ([^\s]+?)\.?$/.exec(m) ??
    // 0.17-0.24 compile a kprobe on a function the kernel lacks and fail to attach it.
    (src.kernel.kprobes ? /attaching probe: '(kprobe|kretprobe):([\w.]+)'/.exec(m) : null);
  if (missing) {
    // A kernel function is listed once, as kprobe:NAME, whichever way it is probed.
    const [type, name] = missing.length === 3 ? [missing[1].replace(/^kretprobe$/, 'kprobe'), missing[2]] : ['tracepoint', missing[1]];
    if (/^(kprobe|kretprobe)$/.test(type) && !src.kernel.kprobes) return KPROBE_FIX;
    if (/^(fentry|fexit|kfunc|kretfunc)$/.test(type) && !src.kernel.kfunc) return KFUNC_FIX;
    const all = await src.probes();
    const prefix = `${type}:`;
    const candidates = all.filter((p) => p.startsWith(prefix));
    const wanted = name.replace(/^\*?:/, '');
    let near = nearest(wanted, candidates, 3, (p) => p.slice(prefix.length));
    if (!near.length) {
      // A wrong category: look for the event name alone (sys_enter_openat in "syscall:").
      const event = wanted.slice(wanted.lastIndexOf(':') + 1);
      near = nearest(event, candidates, 3, (p) => p.slice(p.lastIndexOf(':') + 1));
    }
    const event = wanted.slice(wanted.lastIndexOf(':') + 1);
    const search = `${prefix}*${event.replace(/^sys_(enter|exit)_/, '').slice(0, 4)}*`;
    return near.length
      ? `${didYouMean(near)} (list_probes with filter "${search}" shows more)`
      : `No probe of that name exists on this kernel; search with list_probes (filter "${search}").`;
  }
  if (/BPF programs, which exceeds|BPFTRACE_MAX_BPF_PROGS/.test(m)) return WILDCARD_FIX;
  if (/probe type requires/.test(m))
    return 'Write the probe as type:target:name, e.g. tracepoint:syscalls:sys_enter_openat, uprobe:/bin/bash:readline, interval:s:1.';
  if (/stoull|stoi|invalid integer/.test(m)) return 'A rate or period must be a number: profile:hz:99, interval:s:1, interval:ms:100.';
  if (/no valid attach points|No probes to attach/.test(m))
    return 'No probe matches this attach point on this kernel: search for the right name with list_probes.';
  return 'The probe does not exist on this kernel: search for the right name with list_probes.';
}

export const WILDCARD_FIX =
  'Narrow the wildcard below 512 probes (list_probes shows what it matches), e.g. tracepoint:syscalls:sys_enter_open* instead of tracepoint:syscalls:*, or use tracepoint:raw_syscalls:sys_enter with a predicate on args->id.';
export const KPROBE_FIX =
  'This kernel has no kprobes (CONFIG_KPROBES is off), so kprobe/kretprobe programs compile but cannot attach. Use a tracepoint instead (list_probes filter "tracepoint:syscalls:*" or "tracepoint:*"), or uprobes/USDT for user space.';
const KFUNC_FIX =
  'This kernel has no kfunc/fentry support (no BTF trampolines), so fentry/kfunc probes cannot attach. Use a tracepoint instead (list_probes filter "tracepoint:*").';

function functionFix(m: string, facts: ProgramFacts): string {
  const ref = builtinsReference();
  const notHere = /^(\w+)(?:\(\))? can not be used (?:with "?(\w+)"? probes|for this probetype (\w+))/.exec(m);
  if (notHere) {
    return `${notHere[1]}() is not available in ${notHere[2] ?? notHere[3]} probes: use it in a probe type that has it (reg() and signal() need a kprobe, uprobe or tracepoint context; list_helpers describes each).`;
  }
  const fn = quoted(m, /Unknown function: '?([\w]+)'?/);
  const idiom = fn ? idiomFor(fn, true) : undefined;
  if (idiom) return `${idiom}.`;
  if (fn) {
    const names = [...ref.functions, ...ref.map_functions].map((f) => f.name);
    const near = nearest(fn, names, 3);
    const sig = near.map((n) => [...ref.functions, ...ref.map_functions].find((f) => f.name === n)?.signature ?? n);
    return `${fn}() is not a bpftrace function; ${near.length ? `did you mean ${sig.join(', ')}?` : 'list them with list_helpers.'}`;
  }
  const ident = quoted(m, /Unknown identifier: '?([\w]+)'?/);
  const identIdiom = ident ? idiomFor(ident, false) : undefined;
  if (identIdiom) return `${identIdiom}.`;
  if (ident) {
    const near = nearest(
      ident,
      ref.variables.map((v) => v.name).filter((n) => /^\w+$/.test(n)),
      3,
    );
    return `${ident} is not a builtin variable; ${near.length ? didYouMean(near) : 'list them with list_helpers (kind variable).'} Scratch variables start with $, maps with @.`;
  }
  const v = quoted(m, /Undefined or undeclared variable: (\$\w+)/);
  if (v) {
    const declared = [
      ...new Set(facts.tokens.filter((t, i) => t.type === 'var' && facts.tokens[i + 1]?.text === '=' && facts.tokens[i + 2]?.text !== '=').map((t) => t.text)),
    ];
    const near = nearest(v, declared, 2);
    return `${near.length ? `${didYouMean(near)} ` : ''}Assign ${v} before reading it (${v} = ...;): a $ variable lives inside one probe's block only; use a map (@name) to carry a value between probes.`;
  }
  return 'Check the name against list_helpers (builtin variables and functions).';
}

async function argumentFix(m: string, facts: ProgramFacts, src: SuggestionSources): Promise<string> {
  const field = quoted(m, /field named '([^']+)'/);
  const tp = /struct (?:_tracepoint_(\w+)|tracepoint:([\w:]+)_args)'/.exec(m);
  if (field && tp) {
    const probe = tp[2] ? `tracepoint:${tp[2]}` : tracepointOf(tp[1], facts);
    const args = probe ? await src.tracepointArgs(probe) : undefined;
    if (args?.length) {
      const near = nearest(field, args, 2);
      return `${probe} has no argument "${field}"; ${near.length ? `did you mean args->${near[0]}? ` : ''}Its arguments: ${args.join(', ')}.`;
    }
    return `The tracepoint has no argument "${field}": list its arguments with list_probes on the exact probe name.`;
  }
  if (/not enough arguments for format|too many arguments for format/i.test(m))
    return 'Give printf one argument per % specifier: printf("%d %s\\n", pid, comm).';
  const fn = quoted(m, /^(\w+)\(\)/) ?? quoted(m, /^(\w+):/);
  const ref = builtinsReference();
  const entry = fn ? [...ref.functions, ...ref.map_functions].find((f) => f.name === fn) : undefined;
  if (entry?.signature) return `Call it as ${entry.signature}: ${entry.description}`;
  if (/resolve kernel symbol/.test(m))
    return 'No kernel symbol has that name: check it (list_probes shows function names in probe names) or read it from /proc/kallsyms.';
  if (/(min|max|step) must be/.test(m))
    return 'lhist(value, min, max, step): min below max, and step a positive divisor of the range, e.g. lhist($x, 0, 100, 10).';
  if (/maximum value is/.test(m)) return 'Use a smaller literal within the limit bpftrace states.';
  if (/should not be indexed|indexed\) map print|Non-map print\(\)/.test(m))
    return 'print() takes the whole map, print(@map), or a value: print(@map[key]) is not allowed; use printf("%d\\n", @map[key]).';
  if (/string literal/.test(m)) return 'The format must be a literal string: printf("%s\\n", $value), never printf($value).';
  return 'Check the number and kind of arguments (list_helpers shows every signature).';
}

/** The probe in the program that 0.17's "_tracepoint_CAT_EVENT" struct name stands for. */
function tracepointOf(mangled: string, facts: ProgramFacts): string | undefined {
  return facts.probes
    .find((p) => p.type === 'tracepoint' && p.text.replace(/^(t|tracepoint):/, '').replace(/:/g, '_') === mangled)
    ?.text.replace(/^t:/, 'tracepoint:');
}

async function typeFix(m: string, src: SuggestionSources): Promise<string> {
  const field = quoted(m, /field named '([^']+)'/);
  const struct = quoted(m, /of type '(struct \w+|union \w+)'/);
  if (field && struct) {
    const fields = await src.structFields(struct);
    if (fields?.length) {
      const near = nearest(field, fields, 3);
      return `${struct} has no field "${field}"; ${near.length ? didYouMean(near) : `its fields include ${fields.slice(0, 12).join(', ')}`} (BTF lists them: bpftrace -lv '${struct}').`;
    }
  }
  if (/Unknown struct|Cannot resolve unknown type/.test(m))
    return "The kernel's BTF has no such type: check its name (bpftrace -lv 'struct NAME'), or use a tracepoint's args instead.";
  if (/specifier/.test(m))
    return 'Match each printf specifier to its argument: %d/%u for integers, %s for strings (str(ptr) turns a char pointer into one), %p for pointers.';
  if (/comparing 'string|comparing string|with 'string|with string/.test(m))
    return 'Compare strings with strings and integers with integers: comm == "bash", str(args->filename) == "/etc/passwd", pid == 123.';
  if (/too long/.test(m)) return 'String literals are limited to 64 bytes here: compare a prefix with strncmp(str, "prefix", N).';
  if (/Invalid condition/.test(m)) return 'A condition must be an integer or a comparison: if (str($s) == "x"), if ($n > 0).';
  if (/array index/.test(m)) return 'Only arrays and pointers can be indexed: index a map with @m[key], or dereference a pointer field.';
  if (/Type mismatch for \$/.test(m)) return 'A $ variable keeps the type of its first assignment: use another variable for a value of another type.';
  return 'Check the types at the location shown: cast with (int64), read strings with str(), and compare like with like.';
}

function mapFix(m: string, facts: ProgramFacts): string {
  const undef = quoted(m, /Undefined map: (@\w*)/);
  if (undef) {
    const maps = [...new Set(facts.tokens.filter((t) => t.type === 'map').map((t) => t.text))].filter((n) => n !== undef);
    const near = nearest(undef, maps, 2);
    return `${undef} is read but never assigned; ${near.length ? `${didYouMean(near)} ` : ''}assign it first (${undef}[key] = count(); or ${undef} = value;).`;
  }
  if (/directly assigned to a map|assigned directly to a map/.test(m))
    return 'Aggregations (count, sum, avg, min, max, hist, lhist, stats) go straight into a map: @name = count(); or @name[key] = count();';
  if (/Argument mismatch|explicit key|without an explicit key/.test(m))
    return 'Use a map with the same keys every time (the same number and types of keys), or give the other use its own map name.';
  if (/Type mismatch for @|map already/.test(m))
    return 'A map holds one type of value: keep one kind of value per map (e.g. @count = count() and @last = value in two maps).';
  if (/expects a map/.test(m)) return 'Pass a map: delete(@map[key]) or clear(@map).';
  return 'Check the map: the same keys and the same kind of value at every use.';
}

function environmentFix(m: string): string {
  if (/kfunc|fentry|fexit/.test(m)) return KFUNC_FIX;
  if (/kprobe|kretprobe|is not traceable/.test(m)) return KPROBE_FIX;
  if (/fatal error|file not found|Clang parse error/.test(m)) {
    return "Remove the #include: bpftrace reads kernel types from BTF here, so struct names work without headers (and mcptrace's policy refuses #include).";
  }
  if (/kernel headers/.test(m)) return 'This kernel ships no headers: use BTF types (struct names work directly) or tracepoint args instead of #include.';
  return 'bpftrace could not compile this on this machine: check mcptrace doctor, and prefer tracepoints with args.';
}
