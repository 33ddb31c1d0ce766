/**
 * bpftrace `-f json` decoding, and rendering of its typed events back into the text that
 * bpftrace itself would have printed, so callers get both readable lines and typed maps.
 */

export interface HistBucket {
  min?: number;
  max?: number;
  count: number;
}

export type MapEventType = 'map' | 'hist' | 'stats';

/** The latest printed value of one map, as bpftrace typed it. */
export interface TypedMap {
  type: MapEventType;
  name: string;
  value: unknown;
}

export type DecodedLine =
  | { kind: 'text'; text: string }
  | { kind: 'map'; map: TypedMap; lines: string[] }
  | { kind: 'lost'; events: number }
  | { kind: 'attached'; probes: number }
  | { kind: 'none' };

/**
 * Stateful because printf output need not end in a newline: a partial line is held until the
 * rest arrives or the stream ends.
 */
export class BpftraceJsonDecoder {
  private partial = '';

  /** Decodes one stdout line; returns the complete text lines and typed events it yields. */
  decode(raw: string): DecodedLine[] {
    if (raw.length === 0) return [];
    if (raw[0] !== '{') return this.text(raw + '\n');
    let msg: { type?: string; data?: unknown };
    try {
      msg = JSON.parse(raw);
    } catch {
      return this.text(raw + '\n');
    }
    switch (msg.type) {
      case 'printf':
      case 'time':
      case 'join':
      case 'cat':
      case 'syscall':
        return this.text(typeof msg.data === 'string' ? msg.data : JSON.stringify(msg.data));
      case 'value':
        return this.text(`${formatValue(msg.data)}\n`);
      case 'attached_probes':
        return [{ kind: 'attached', probes: Number((msg.data as { probes?: number })?.probes ?? 0) }];
      case 'lost_events':
        return [{ kind: 'lost', events: Number((msg.data as { events?: number })?.events ?? 0) }];
      case 'map':
      case 'hist':
      case 'stats': {
        const out: DecodedLine[] = this.flush();
        for (const [name, value] of Object.entries((msg.data ?? {}) as Record<string, unknown>)) {
          const map: TypedMap = { type: msg.type, name, value };
          out.push({ kind: 'map', map, lines: renderMap(map) });
        }
        return out;
      }
      default:
        return this.text(raw + '\n');
    }
  }

  /** Emits a held partial line at end of stream. */
  flush(): DecodedLine[] {
    if (!this.partial) return [];
    const text = this.partial;
    this.partial = '';
    return [{ kind: 'text', text }];
  }

  private text(chunk: string): DecodedLine[] {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    return parts.map((text) => ({ kind: 'text', text }));
  }
}

function formatValue(v: unknown): string {
  if (Array.isArray(v)) return `(${v.map(formatValue).join(', ')})`;
  if (v !== null && typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function keyLabel(key: string): string {
  // bpftrace joins multi-part keys with "," in JSON and ", " in text.
  return key.startsWith('\n') || !key.includes(',') ? key : key.split(',').join(', ');
}

/** Renders one typed map as bpftrace's text output would show it. */
export function renderMap(map: TypedMap): string[] {
  const { name, value } = map;
  const isKeyed = (v: unknown) =>
    map.type === 'hist' ? v !== null && typeof v === 'object' && !Array.isArray(v) : v !== null && typeof v === 'object' && !Array.isArray(v) && !isStats(v);
  if (map.type === 'hist') {
    if (!isKeyed(value)) return [`${name}:`, ...renderHist(value as HistBucket[]), ''];
    return Object.entries(value as Record<string, HistBucket[]>).flatMap(([k, b]) => [`${name}[${keyLabel(k)}]:`, ...renderHist(b), '']);
  }
  if (!isKeyed(value)) return `${name}: ${formatScalar(value)}`.split('\n');
  // The hot path when a large map is printed at exit (10k keys took ~10 ms with flatMap and a
  // split per entry): one loop, and a split only for the rare multi-line (stack) entries.
  const out: string[] = [];
  const entries = value as Record<string, unknown>;
  for (const k in entries) {
    const v = entries[k];
    const line = `${name}[${keyLabel(k)}]: ${typeof v === 'number' ? v : formatScalar(v)}`;
    if (line.includes('\n')) out.push(...line.split('\n'));
    else out.push(line);
  }
  return out;
}

function isStats(v: unknown): v is { count: number; average: number; total: number } {
  return v !== null && typeof v === 'object' && 'count' in v && 'average' in v && 'total' in v;
}

function formatScalar(v: unknown): string {
  if (isStats(v)) return `count ${v.count}, average ${v.average}, total ${v.total}`;
  return formatValue(v);
}

const BAR_WIDTH = 52;

export function renderHist(buckets: HistBucket[]): string[] {
  const maxCount = Math.max(1, ...buckets.map((b) => b.count));
  return buckets.map((b) => {
    const bar = '@'.repeat(Math.round((b.count * BAR_WIDTH) / maxCount));
    return `${bucketLabel(b).padEnd(16)} ${String(b.count).padStart(7)} |${bar.padEnd(BAR_WIDTH)}|`;
  });
}

function bucketLabel(b: HistBucket): string {
  if (b.min === undefined) return `(..., ${sizeLabel(b.max! + 1)})`;
  if (b.max === undefined) return `[${sizeLabel(b.min)}, ...)`;
  if (b.min === b.max) return `[${sizeLabel(b.min)}]`;
  return `[${sizeLabel(b.min)}, ${sizeLabel(b.max + 1)})`;
}

function sizeLabel(n: number): string {
  for (const [suffix, size] of [['P', 2 ** 50], ['T', 2 ** 40], ['G', 2 ** 30], ['M', 2 ** 20], ['K', 2 ** 10]] as const) {
    if (n >= size && n % size === 0) return `${n / size}${suffix}`;
  }
  return String(n);
}

export type StderrLevel = 'error' | 'warning' | 'notice' | 'info';

/**
 * Classifies a bpftrace stderr line. The RLIMIT_MEMLOCK complaint is printed on kernels that
 * account BPF memory with memcg, where the limit no longer matters: a notice, never the error.
 */
export function classifyStderr(line: string): StderrLevel {
  if (/couldn't set RLIMIT_MEMLOCK/.test(line)) return 'notice';
  if (/^__BPFTRACE_NOTIFY_PROBES_ATTACHED/.test(line)) return 'info';
  if (/\bERROR\b/.test(line)) return 'error';
  if (/\bWARNING\b/.test(line)) return 'warning';
  if (/^Attaching \d+ probes?/.test(line)) return 'info';
  return 'info';
}

/** Turns bpftrace's error output into a message with a fix an assistant can act on. */
export function diagnoseFailure(stderrLines: string[], env: { kprobes: boolean; kfunc: boolean }): { error: string; hint?: string } {
  const significant = stderrLines.filter((l) => classifyStderr(l) !== 'notice' && !/^__BPFTRACE_NOTIFY/.test(l));
  const errors = significant.filter((l) => classifyStderr(l) === 'error');
  const error = (errors.length ? significantWithContext(significant) : significant.slice(-10)).join('\n') || 'bpftrace failed without printing an error';
  const attach = /Error attaching probe: '(k(?:ret)?probe|kfunc|kretfunc|fentry|fexit):/.exec(error);
  if (attach && (attach[1].startsWith('kf') || attach[1].startsWith('f') ? !env.kfunc : !env.kprobes)) {
    return {
      error,
      hint: `This kernel has no ${attach[1].startsWith('k') && attach[1].includes('probe') ? 'kprobes (CONFIG_KPROBES is off)' : 'kfunc/fentry support (no BTF trampolines)'}, so ${attach[1]} probes compile but cannot attach. Use a tracepoint instead (list them with list_probes, filter "tracepoint:syscalls:*"), or uprobes/USDT for user space.`,
    };
  }
  if (/syntax error|ERROR: Unknown (identifier|function)|undefined/.test(error)) {
    return { error, hint: 'Fix the program at the line:column shown; validate probe names with list_probes.' };
  }
  if (/No probes? to attach|matched no probes|Invalid probe|unknown probe/i.test(error)) {
    return { error, hint: 'The probe does not exist on this kernel: search for the right name with list_probes.' };
  }
  if (/Operation not permitted|Permission denied/.test(error)) {
    return { error, hint: 'bpftrace needs root or CAP_BPF+CAP_PERFMON: run mcptrace as root, or allow passwordless sudo for bpftrace (see mcptrace doctor).' };
  }
  return { error };
}

// An error line such as "stdin:1:23-24: ERROR: ..." is followed by the source line and a
// marker; keep those with it so the location is visible.
function significantWithContext(lines: string[]): string[] {
  const out: string[] = [];
  lines.forEach((l, i) => {
    if (classifyStderr(l) === 'error') {
      out.push(l);
      if (/^\S+:\d+:\d+(-\d+)?: ERROR/.test(l)) out.push(...lines.slice(i + 1, i + 3).filter((x) => classifyStderr(x) === 'info'));
    }
  });
  return out;
}
