import { MAX_LINE_BYTES } from '../../config/defaults.js';
import type { MapEventType, OutputDecoder, OutputEvent, TypedMap } from '../output-decoder.js';
import {
  decodeBytes,
  isIndexKey,
  isRecord,
  parseJsonLine,
  parseRepaired,
  plainKey,
  parseFlatObject,
  scanFlatMapEvent,
  unescapeTwice,
  unmarkKeys,
  type FlatMapEvent,
} from './json-parse.js';
import { formatValue, renderFlatMap, renderMap } from './map-render.js';
import { fits, isPlain, typesOfSource, typesOfTypedProgram, type MapTypes, type ProgramTypes, type ValueType } from './value-types.js';
import { featuresOf, OLDEST_SUPPORTED, type BpftraceFeatures } from './version.js';

const ATTACH_MARKER = '__BPFTRACE_NOTIFY_PROBES_ATTACHED';
/** The first line of `-d types` output (0.25+), which comes before the program runs. */
const TYPES_DUMP_HEAD = '// Functions';
const TYPED_PROGRAM_HEAD = '// Program';
const NO_TYPES: ProgramTypes = { maps: new Map(), prints: [], enums: new Map(), fromBpftrace: false };
const PRINTF_HEAD = '{"type": "printf", "data": "';
const MAP_TYPES: ReadonlySet<string> = new Set(['map', 'hist', 'stats', 'tseries']);

interface JsonEvent {
  type?: unknown;
  data?: unknown;
  count?: unknown;
  msg?: unknown;
  [field: string]: unknown;
}

export interface DecoderOptions {
  /**
   * The program's source. Up to 0.23 text mode prints every map at exit, an empty one as blank
   * lines, which JSON leaves out: the source names the maps that exist.
   */
  program?: string;
}

interface MapPrint {
  map: TypedMap;
  lines: string[];
}

/**
 * bpftrace `-f json` decoding: typed events become the lines bpftrace's text mode prints for
 * the same program, byte for byte, plus typed maps.
 *
 * Stateful, because text mode's lines do not map one to one onto events: printf output need
 * not end a line; text mode prints two blank lines when the maps start printing at exit (raw
 * lines in JSON up to 0.23, nothing at all since 0.24), and an empty map as blank lines (JSON:
 * nothing) up to 0.23.
 */
export class BpftraceJsonDecoder implements OutputDecoder {
  readonly features: BpftraceFeatures;
  /** Output that does not end a line yet. */
  private partial = '';
  private rawBlankLines = 0;
  private atExit = false;
  private probesAttached = false;
  private attachedProbes?: number;
  private attachNoticeSeen = false;
  /** Every map printed so far or named by the program, and its event type: all of them print at exit. */
  private readonly known = new Map<string, MapEventType>();
  /** Maps printed since the exit started. */
  private readonly printedAtExit = new Set<string>();
  /** Since 0.24: map prints that may be the first ones of the exit (see holdMap). */
  private held: MapPrint[] = [];
  /** What JSON does not tell about the values: bpftrace's typed program, else a guess from the source. */
  private types: ProgramTypes;
  /** Whether some print() has a type that JSON does not show. */
  private typedPrints: boolean;
  /** The print() statement after the one that printed last (see printType). */
  private printCursor = 0;
  /** The `-d types` output while it is being read; it is never output. */
  private dump?: string[];
  private stdoutSeen = false;

  constructor(features?: BpftraceFeatures, options: DecoderOptions = {}) {
    this.features = features ?? featuresOf(OLDEST_SUPPORTED);
    if (options.program && this.features.emptyMapsPrintBlank) for (const [name, type] of mapsOfProgram(options.program)) this.known.set(name, type);
    this.types = options.program ? typesOfSource(options.program) : NO_TYPES;
    this.typedPrints = this.types.prints.some((t) => !isPlain(t));
  }

  stdout(raw: string): OutputEvent[] {
    if (!this.stdoutSeen) {
      this.stdoutSeen = true;
      if (raw === TYPES_DUMP_HEAD) {
        this.dump = [];
        return [];
      }
    }
    if (this.dump) {
      // The typed program ends where bpftrace's own output starts.
      if (!raw.startsWith('{"') && !raw.startsWith(ATTACH_MARKER)) {
        this.dump.push(raw);
        return [];
      }
      this.endDump();
    }
    if (raw.startsWith(ATTACH_MARKER)) return this.attachNotice();
    if (raw === '') return this.rawBlankLine();
    this.rawBlankLines = 0;
    // Not JSON: a command run with -c shares bpftrace's stdout.
    if (raw[0] !== '{') return this.text(`${raw}\n`);
    // The hot path of a busy trace: one printf event a line, a JSON string and nothing else
    // that needs the map machinery below (measured: 2x the cost per line without it).
    if (raw.startsWith(PRINTF_HEAD) && raw.endsWith('"}')) {
      const data = (JSON.parse(raw) as { data: string }).data;
      return this.output(decodeBytes(data));
    }
    const flat = scanFlatMapEvent(raw);
    if (flat && !this.needsTypes(flat.name)) return this.flatMapEvent(flat);
    const event = parseEvent(raw);
    if (!event) return this.undecodable(raw);
    return this.event(event);
  }

  /** The types in the `-d types` output just read; the guess from the source stays where they say nothing. */
  private endDump(): void {
    const lines = this.dump ?? [];
    this.dump = undefined;
    const start = lines.indexOf(TYPED_PROGRAM_HEAD);
    if (start < 0) return;
    const typed = typesOfTypedProgram(lines.slice(start + 1).join('\n'));
    for (const [name, guess] of this.types.maps) typed.maps.set(name, { ...guess, ...typed.maps.get(name) });
    for (const [name, values] of this.types.enums) if (!typed.enums.has(name)) typed.enums.set(name, values);
    this.types = typed;
    this.typedPrints = typed.prints.some((t) => !isPlain(t));
  }

  /**
   * A line that is no JSON bpftrace should have written. Nothing bpftrace prints is dropped: a
   * known broken shape is shown as text mode prints it, anything else as it is, with a warning.
   */
  private undecodable(raw: string): OutputEvent[] {
    const bare = BARE_VALUE.exec(raw);
    if (bare) return [...this.output(`${bare[1]}\n`), { kind: 'warning', text: REPAIRED }];
    const bareMap = BARE_MAP_VALUE.exec(raw);
    if (bareMap) {
      const map: TypedMap = { type: 'map', name: bareMap[1], value: bareMap[2] };
      return [...this.printMap(map, [`${map.name}: ${bareMap[2]}`]), { kind: 'warning', text: REPAIRED }];
    }
    const shown = raw.length > 200 ? `${raw.slice(0, 200)}...` : raw;
    return [...this.output(`${raw}\n`), { kind: 'warning', text: `bpftrace wrote a line that is not valid JSON; it is shown as it was written: ${shown}` }];
  }

  /**
   * The type of a print()ed value: the first print() statement, from the one after the last
   * that printed, whose type fits the value. In one probe the prints come in program order.
   */
  private printType(v: unknown): ValueType | undefined {
    const prints = this.types.prints;
    for (let k = 0; k < prints.length; k++) {
      const i = (this.printCursor + k) % prints.length;
      if (fits(v, prints[i])) {
        this.printCursor = i + 1;
        return prints[i];
      }
    }
    return undefined;
  }

  /**
   * Whether this print of a map may be one of the exit's. bpftrace's typed program can tell it
   * cannot: since 0.25 the exit skips empty maps, and the program clears this one after every
   * write. (The source alone cannot: the guess that a clear() always runs is only safe there.)
   */
  private mayPrintAtExit(name: string): boolean {
    return !(this.types.fromBpftrace && this.types.maps.get(name)?.emptyAtExit);
  }

  /** Whether a map's text differs from its JSON in more than the scanned fast path handles. */
  private needsTypes(name: string): boolean {
    const t = this.types.maps.get(name);
    return t !== undefined && (t.scalar === true || !isPlain(t.value) || !isPlain(t.key));
  }

  private mapTypes(name: string): MapTypes | undefined {
    return this.types.maps.get(name);
  }

  stderr(line: string): OutputEvent[] {
    if (line.startsWith(ATTACH_MARKER)) return this.attachNotice();
    const lost = /^Lost (\d+) events/.exec(line);
    return lost
      ? [
          { kind: 'lost', events: Number(lost[1]) },
          { kind: 'stderr', text: line },
        ]
      : [{ kind: 'stderr', text: line }];
  }

  /** Emits what the stream's end completes: held maps, the exit's blank lines, a partial line. */
  end(): OutputEvent[] {
    // A program that failed to compile after bpftrace printed its types: nothing was output.
    this.dump = undefined;
    const out: OutputEvent[] = [];
    if (this.features.exitBlankLines === 'text-only' && this.probesAttached && !this.atExit) out.push(...this.exitFromHeld());
    out.push(...this.flushHeld());
    if (this.atExit && this.features.emptyMapsPrintBlank) out.push(...this.emptyMapsBefore(undefined));
    if (this.partial) {
      out.push({ kind: 'text', text: this.partial });
      this.partial = '';
    }
    return out;
  }

  private event(e: JsonEvent): OutputEvent[] {
    const type = String(e.type);
    if (MAP_TYPES.has(type)) return this.mapEvent(type as MapEventType, e.data);
    switch (type) {
      case 'attached_probes':
        return this.attachedProbesEvent(Number(e.count ?? (e.data as { probes?: unknown } | undefined)?.probes ?? 0));
      case 'lost_events':
        return this.lostEvents(Number(e.count ?? (e.data as { events?: unknown } | undefined)?.events ?? 0));
      case 'printf':
      case 'time':
      case 'cat':
        return this.output(stringData(e.data));
      case 'join':
        // Text mode ends the line; the event's data does not carry the newline.
        return this.output(`${stringData(e.data)}\n`);
      case 'syscall':
        return this.output(this.features.systemOutputEndsLine ? `${stringData(e.data)}\n` : stringData(e.data));
      case 'value': {
        const v = decodeValue(unmarkKeys(e.data));
        const type = this.typedPrints ? this.printType(v) : undefined;
        return this.output(`${formatValue(v, this.features, type, this.types.enums)}\n`);
      }
      default:
        return this.diagnostic(e);
    }
  }

  private lostEvents(n: number): OutputEvent[] {
    const line = `Lost ${n} events`;
    const shown: OutputEvent[] = this.features.lostEventsLine === 'stdout' ? this.output(`${line}\n`) : [{ kind: 'stderr', text: line }];
    return [{ kind: 'lost', events: n }, ...shown];
  }

  private attachedProbesEvent(probes: number): OutputEvent[] {
    this.probesAttached = true;
    this.attachedProbes = probes;
    const out: OutputEvent[] = [];
    // The event means the probes are live only when it follows the attach; until 0.23 it comes
    // before (the marker is then the only sure sign), and a SIGINT sent then is lost.
    if (this.features.attachLine === 'stderr' || this.attachNoticeSeen) out.push({ kind: 'attached', probes });
    if (this.features.attachLine === 'stdout') out.push(...this.output(`Attaching ${probes} ${probes === 1 ? 'probe' : 'probes'}...\n`));
    return out;
  }

  private attachNotice(): OutputEvent[] {
    this.attachNoticeSeen = true;
    return [this.attachedProbes === undefined ? { kind: 'attached' } : { kind: 'attached', probes: this.attachedProbes }];
  }

  /**
   * Up to 0.23, bpftrace writes two newlines to stdout, JSON or not, when it starts printing
   * the maps at exit.
   */
  private rawBlankLine(): OutputEvent[] {
    const out = this.output('\n');
    if (++this.rawBlankLines === 2 && this.features.exitBlankLines === 'raw') this.atExit = true;
    return out;
  }

  private mapEvent(type: MapEventType, data: unknown): OutputEvent[] {
    if (!isRecord(data)) return [];
    const out: OutputEvent[] = [];
    for (const rawName in data) {
      const map = typedMap(type, plainKey(rawName), data[rawName], this.features.jsonKeysEscapedTwice, this.mapTypes(plainKey(rawName))?.scalar);
      out.push(...this.printMap(map, renderMap(map, this.features, this.mapTypes(map.name), this.types.enums)));
    }
    return out;
  }

  private flatMapEvent(f: FlatMapEvent): OutputEvent[] {
    const map = lazyTypedMap(f);
    return this.printMap(map, renderFlatMap(map, f.keys, f.values, this.features));
  }

  private printMap(map: TypedMap, lines: string[]): OutputEvent[] {
    const out: OutputEvent[] = [];
    if (this.features.emptyMapsPrintBlank) {
      if (this.atExit) out.push(...this.emptyMapsBefore(map.name));
      this.known.set(map.name, map.type);
      if (this.atExit) this.printedAtExit.add(map.name);
    }
    if (this.features.exitBlankLines === 'text-only' && !this.atExit && this.mayPrintAtExit(map.name)) out.push(...this.holdMap({ map, lines }));
    else if (this.features.exitBlankLines === 'text-only' && !this.atExit) out.push(...this.flushHeld(), { kind: 'map', map, lines: this.withPartial(lines) });
    else out.push({ kind: 'map', map, lines: this.withPartial(lines) });
    return out;
  }

  /** A printf without a newline runs into what text mode prints next, a map included. */
  private withPartial(lines: string[]): string[] {
    if (!this.partial || lines.length === 0) return lines;
    const first = this.partial + lines[0];
    this.partial = '';
    return [first, ...lines.slice(1)];
  }

  /**
   * Up to 0.23, text mode prints an empty map at exit as blank lines (two for avg and stats),
   * in name order among the others, while JSON prints nothing for it. Each known map that has
   * not printed at exit by the time a later name does (or the stream ends) was empty.
   */
  private emptyMapsBefore(name: string | undefined): OutputEvent[] {
    const missing = [...this.known.keys()].filter((n) => !this.printedAtExit.has(n) && n !== name && (name === undefined || n < name)).sort();
    const out: OutputEvent[] = [];
    for (const n of missing) {
      this.printedAtExit.add(n);
      out.push(...this.output(this.known.get(n) === 'stats' ? '\n\n' : '\n'));
    }
    return out;
  }

  /**
   * Since 0.24, text mode's two blank lines before the exit's maps have no JSON counterpart,
   * and nothing tells a map printed by print() from one printed at exit. The exit prints the
   * maps in name order, so a run of map prints with rising names may be the exit's: it is held
   * until other output or a name out of order shows it was not, or the stream ends.
   */
  private holdMap(print: MapPrint): OutputEvent[] {
    const last = this.held[this.held.length - 1];
    const out = last && !(print.map.name > last.map.name) ? this.flushHeld() : [];
    this.held.push(print);
    return out;
  }

  /**
   * Held maps were printed while running: a partial line pending when the first arrived runs
   * into it. (If they are the exit's, the blank lines end that partial line first.)
   */
  private flushHeld(): OutputEvent[] {
    const out: OutputEvent[] = this.held.map((p) => ({ kind: 'map', map: p.map, lines: this.withPartial(p.lines) }));
    this.held = [];
    return out;
  }

  /** At the end of a 0.24+ stream: the blank lines, then the held maps as the exit's. */
  private exitFromHeld(): OutputEvent[] {
    this.atExit = true;
    const blank = this.text('\n\n');
    return [...blank, ...this.flushHeld()];
  }

  /** Output other than a map: held maps were printed while running, before it. */
  private output(chunk: string): OutputEvent[] {
    const held = this.held.length ? this.flushHeld() : [];
    return held.length ? [...held, ...this.text(chunk)] : this.text(chunk);
  }

  private text(chunk: string): OutputEvent[] {
    // Most chunks are exactly one whole line.
    if (!this.partial && chunk.length > 0 && chunk.indexOf('\n') === chunk.length - 1) return [{ kind: 'text', text: chunk.slice(0, -1) }];
    // Only the new chunk is split: splitting `partial + chunk` each time was quadratic for a
    // printf without a newline (a 5.4 MB "line" after 80 s, and millions of lost events).
    const parts = chunk.split('\n');
    parts[0] = this.partial + parts[0];
    this.partial = parts.pop() ?? '';
    const out: OutputEvent[] = parts.map((text) => ({ kind: 'text', text }));
    // A line that never ends is cut into bounded lines rather than held without limit.
    while (this.partial.length >= MAX_LINE_BYTES) {
      out.push({ kind: 'text', text: this.partial.slice(0, MAX_LINE_BYTES) });
      this.partial = this.partial.slice(MAX_LINE_BYTES);
    }
    return out;
  }

  /**
   * Runtime errors and warnings (helper_error, errorf, warnf...): diagnostics, as text mode
   * prints them but for the column range and source line, which JSON does not carry.
   */
  private diagnostic(e: JsonEvent): OutputEvent[] {
    const where = e.line !== undefined ? `${String(e.filename ?? 'stdin')}:${String(e.line)}:${String(e.col ?? 0)}: ` : '';
    const level = ERROR_EVENTS.has(String(e.type)) ? 'ERROR' : 'WARNING';
    const lines = [`${where}${level}: ${diagnosticMessage(e)}`];
    if (e.type === 'helper_error' && e.msg !== undefined) lines.push(`Additional Info - helper: ${String(e.helper)}, retcode: ${String(e.retcode)}`);
    return lines.map((text) => ({ kind: 'stderr', text }));
  }
}

const ERROR_EVENTS: ReadonlySet<string> = new Set(['errorf', 'runtime_error', 'print_error']);

/**
 * bpftrace 0.17 writes a cgroup_path() value unquoted, `{"type": "value", "data": unified:/,...}`;
 * text mode prints the text between `"data": ` and the closing brace as it is.
 */
const BARE_VALUE = /^\{"type": ?"value", ?"data": ?([^"{[][\s\S]*)\}$/;
const BARE_MAP_VALUE = /^\{"type": ?"map", ?"data": ?\{"(@\w*)": ?([^"{[][\s\S]*)\}\}$/;
const REPAIRED = 'bpftrace wrote a value without quotes (invalid JSON, a known bug of bpftrace 0.17 for cgroup_path()); it is shown as text mode prints it';

function diagnosticMessage(e: JsonEvent): string {
  if (typeof e.msg === 'string') return decodeBytes(e.msg);
  // 0.17's helper_error has no message, only the helper and its return code.
  if (e.type === 'helper_error') return `Failed to ${String(e.helper)}: error ${String(e.retcode)}`;
  return typeof e.data === 'string' ? decodeBytes(e.data) : JSON.stringify(unmarkKeys(e));
}

const COMMENT_OR_STRING = /"(?:[^"\\\n]|\\.)*"|\/\/[^\n]*|\/\*[\s\S]*?\*\//g;
const MAP_NAME = /@\w*/g;
/** `@name[key] = avg(` or `= stats(`, with one level of brackets inside the key. */
const STATS_ASSIGNMENT = /(@\w*)\s*(?:\[(?:[^[\]]|\[[^[\]]*\])*\])?\s*=\s*(?:avg|stats)\s*\(/g;

/**
 * The maps a program names (outside strings and comments), as the event type their print
 * would have: avg and stats maps are "stats" (text mode prints two blank lines for them).
 */
export function mapsOfProgram(program: string): Map<string, MapEventType> {
  const code = program.replace(COMMENT_OR_STRING, ' ');
  const maps = new Map<string, MapEventType>();
  for (const m of code.matchAll(MAP_NAME)) maps.set(m[0], 'map');
  for (const m of code.matchAll(STATS_ASSIGNMENT)) maps.set(m[1], 'stats');
  return maps;
}

function parseEvent(raw: string): JsonEvent | undefined {
  let parsed: unknown;
  try {
    parsed = parseJsonLine(raw);
  } catch {
    parsed = parseRepaired(raw);
  }
  return isRecord(parsed) && typeof parsed.type === 'string' ? (parsed as JsonEvent) : undefined;
}

function stringData(data: unknown): string {
  return typeof data === 'string' ? decodeBytes(data) : formatValue(decodeValue(unmarkKeys(data)));
}

/** A typed value with its strings decoded (bytes past 0x7f, see decodeBytes). */
function decodeValue(v: unknown): unknown {
  if (typeof v === 'string') return decodeBytes(v);
  if (Array.isArray(v)) return v.map(decodeValue);
  if (isRecord(v)) {
    const out: Record<string, unknown> = {};
    for (const k in v) out[k] = decodeValue(v[k]);
    return out;
  }
  return v;
}

/**
 * The map as callers keep it: keys decoded, and, when a JS object would reorder them
 * (integer-like keys go first, ascending), their printed order in `keys`.
 */
function typedMap(type: MapEventType, name: string, value: unknown, keysEscapedTwice: boolean, scalar = false): TypedMap {
  if (!isRecord(value) || scalar || (type === 'stats' && isStatsValue(value))) {
    return { type, name, value: decodeValue(unmarkKeys(value)) };
  }
  const keys: string[] = [];
  const out: Record<string, unknown> = {};
  let reordered = false;
  for (const raw in value) {
    const plain = plainKey(raw);
    const key = keysEscapedTwice ? unescapeTwice(plain) : decodeBytes(plain);
    reordered ||= isIndexKey(key);
    keys.push(key);
    const v = value[raw];
    out[key] = typeof v === 'number' ? v : decodeValue(unmarkKeys(v));
  }
  return reordered ? { type, name, value: out, keys } : { type, name, value: out };
}

/**
 * A scanned map whose typed value is parsed when first read. Building a 10,000-key object
 * costs more than scanning and rendering the line together, and most prints of a map that is
 * printed again and again are never read as values: only the latest one is kept.
 */
function lazyTypedMap(f: FlatMapEvent): TypedMap {
  const map: TypedMap = { type: f.type, name: f.name, value: undefined };
  if (f.keys.some(isIndexKey)) map.keys = f.keys;
  let scanned: FlatMapEvent | undefined = f;
  let value: unknown;
  Object.defineProperty(map, 'value', {
    enumerable: true,
    configurable: true,
    get() {
      if (scanned) {
        value = parseFlatObject(scanned);
        scanned = undefined;
      }
      return value;
    },
    set(v: unknown) {
      scanned = undefined;
      value = v;
    },
  });
  return map;
}

function isStatsValue(v: Record<string, unknown>): boolean {
  return 'count' in v && 'average' in v && 'total' in v && !isRecord(v.count);
}
