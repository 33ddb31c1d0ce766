import { isHarmless } from '../runtime/bpftrace/notices.js';

/** What kind of mistake a compile error is: the category tells an assistant where to look. */
export type ErrorCategory = 'syntax' | 'unknown_probe' | 'unknown_function' | 'type' | 'argument' | 'unsafe' | 'map' | 'environment';

export const ERROR_CATEGORIES: readonly ErrorCategory[] = ['syntax', 'unknown_probe', 'unknown_function', 'type', 'argument', 'unsafe', 'map', 'environment'];

/** One error or warning from bpftrace (or clang under it), located in the user's program. */
export interface Diagnostic {
  category: ErrorCategory;
  message: string;
  /** 1-based; null when bpftrace gave no place (an abort, a clang failure). */
  line: number | null;
  column: number | null;
  /** The program line the error points at, with a ~~~ marker under the culprit. */
  snippet: string | null;
  /** How to fix it: bpftrace's own hint when it gave one, ours otherwise. */
  suggestion: string | null;
  /** bpftrace's own hints (0.24+ HINT lines, "Did you mean" warnings), kept as printed. */
  hints: string[];
}

// "stdin:1:9-14: ERROR: msg", "/tmp/x.bt:1-2: ERROR: msg" (a line range), "definitions.h:2:10:
// fatal error: msg" (clang). The location part is optional: 0.27 prints "ERROR: msg" alone.
const LOCATED = /^(?<file>[^\s:]+):(?<line>\d+)(?::(?<col>\d+))?(?:-(?<end>\d+))?: (?<level>ERROR|WARNING|HINT|fatal error|error|warning|note): (?<msg>.*)$/;
const BARE = /^(?<level>ERROR|WARNING|HINT|FATAL): ?(?<msg>.*)$/;

/**
 * The categories, checked in order: the first pattern that matches a message wins. Patterns
 * are written against the messages of 0.17, 0.23 and 0.27 (test/validation/corpus.yaml).
 */
const RULES: [ErrorCategory, RegExp][] = [
  [
    'syntax',
    /syntax error|^syntax:|unterminated|during comment|unexpected end of file|expected [{};]|^unexpected|invalid character|Invalid escape|unexpected token/i,
  ],
  ['unsafe', /unsafe function|--unsafe|Operation not permitted|Permission denied|must be run as root|CAP_BPF|CAP_SYS_ADMIN/i],
  [
    'environment',
    /fatal error:|file not found|Clang parse error|kernel headers|not available for your kernel|BTF (is )?not available|no BTF|kernel does not support|Could not load|Failed to load|LLVM ERROR/i,
  ],
  [
    'unknown_probe',
    /tracepoint not found|No matches for|Invalid probe type|attachpoint parser|is not a (software|hardware) probe|target file .* does not exist|no valid attach points|not an accepted unit of time|probe type requires|Invalid rate of|BPF programs, which exceeds|BPFTRACE_MAX_BPF_PROGS|^stoull$|^stoi$|invalid integer|Unknown probe|No probes to attach|Could not resolve symbol|invalid probe|probe .* does not exist|must have at least one attach point/i,
  ],
  [
    'unknown_function',
    /Unknown function|Unknown identifier|Undefined or undeclared variable|Unknown builtin|is not a builtin|undefined function|can not be used with "?\w+"? probes|can not be used for this probetype|not available in this probe/i,
  ],
  [
    'map',
    /Undefined map|mismatch for @|used as a map|should be directly assigned to a map|must be assigned directly to a map|expects a map|map already (contains|has)|map key|map value|scalar map|non-scalar map/i,
  ],
  [
    'argument',
    /requires (at least |up to )?(no|one|two|\d+) arguments?|resolve kernel symbol|(min|max|step) must be|maximum value is|should not be indexed|indexed\) map print|(Not enough|Too many) arguments|takes (up to |no |exactly )?\S+ arguments?|expects (a string literal|an? \w+ (type )?as (first|second|third) argument)|only supports \w+ arguments|struct (_tracepoint_|tracepoint:)|Invalid number of arguments|argument/i,
  ],
  [
    'type',
    /type|not printable|Invalid condition|Unknown struct|does not contain a field|can only be used on|String is too long|specifier|cast|sign|integer|pointer/i,
  ],
];

export function categorize(message: string): ErrorCategory {
  for (const [category, rx] of RULES) if (rx.test(message)) return category;
  return 'environment';
}

interface Raw {
  level: 'error' | 'warning' | 'hint';
  file: string | null;
  line: number | null;
  col: number | null;
  message: string;
  context: string[];
}

/**
 * Parses bpftrace's stderr (any supported version) into located errors and warnings of the
 * program in `file` (its temp file, or "stdin" for -e). Errors bpftrace reports inside its own
 * stdlib (0.24+) take the place of the user's line it says they were "expanded from".
 */
export function parseCompilerOutput(stderr: string, file: string): { errors: Diagnostic[]; warnings: Diagnostic[] } {
  const lines = stderr.split('\n').filter((l) => l.trim() && !isHarmless(l) && !/^__BPFTRACE_NOTIFY/.test(l));
  const ours = (f: string | null) => f === null || f === 'stdin' || f === file || f.endsWith(`/${base(file)}`) || f === base(file);
  const raws: Raw[] = [];
  for (const l of lines) {
    const m = LOCATED.exec(l) ?? BARE.exec(l);
    if (m?.groups) {
      const g = m.groups;
      const level = /^(ERROR|FATAL|fatal error|error)$/.test(g.level) ? 'error' : g.level === 'HINT' ? 'hint' : g.level === 'note' ? 'hint' : 'warning';
      raws.push({ level, file: g.file ?? null, line: g.line ? Number(g.line) : null, col: g.col ? Number(g.col) : null, message: g.msg.trim(), context: [] });
    } else if (raws.length) {
      raws[raws.length - 1].context.push(l);
    } else if (/error|abort|fail/i.test(l)) {
      raws.push({ level: 'error', file: null, line: null, col: null, message: l.trim(), context: [] });
    }
  }
  const errors: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  let last: Diagnostic | undefined;
  let pendingForeign: Raw | undefined;
  const seen = new Set<string>();
  for (const r of raws) {
    // Unlocated warnings are about the machine (no available_filter_functions, no kernel
    // headers), printed for every program: not about this one.
    if (r.level === 'warning' && r.file === null) continue;
    if (r.level === 'hint') {
      if (last) last.hints.push(r.message);
      continue;
    }
    if (r.message === 'expanded from' && pendingForeign && ours(r.file)) {
      r.message = pendingForeign.message;
      pendingForeign = undefined;
    } else if (!ours(r.file) && r.file !== 'definitions.h') {
      // Inside bpftrace's stdlib: wait for the user's line it came from.
      if (r.level === 'error' && !pendingForeign) pendingForeign = r;
      continue;
    }
    const key = `${r.level}:${r.line}:${r.col}:${r.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    // A "Did you mean" warning is bpftrace's fix for the error just before it.
    if (r.level === 'warning' && /^Did you mean/.test(r.message) && last) {
      last.hints.push(r.message);
      continue;
    }
    const located = ours(r.file) && r.file !== 'definitions.h';
    const d: Diagnostic = {
      category: categorize(r.message),
      message: r.message,
      line: located ? r.line : null,
      column: located ? r.col : null,
      snippet: located ? snippetOf(r.context) : null,
      suggestion: null,
      hints: [],
    };
    (r.level === 'error' ? errors : warnings).push(d);
    last = d;
  }
  if (pendingForeign && !errors.length) {
    errors.push({
      category: categorize(pendingForeign.message),
      message: pendingForeign.message,
      line: null,
      column: null,
      snippet: null,
      suggestion: null,
      hints: [],
    });
  }
  // 0.24+ also reports what an unknown name broke ("value of type 'none'") and may print that
  // first: the root cause goes first, since its fix removes the others.
  const consequence = (d: Diagnostic) => (/\bnone\b/.test(d.message) ? 1 : 0);
  errors.sort((a, b) => consequence(a) - consequence(b));
  return { errors, warnings };
}

const base = (f: string) => f.slice(f.lastIndexOf('/') + 1);

/** The source line and its ~~~ marker, as bpftrace printed them. */
function snippetOf(context: string[]): string | null {
  const shown = context.filter((l) => !/^(HINT|WARNING|ERROR):/.test(l)).slice(0, 2);
  return shown.length ? shown.join('\n') : null;
}
