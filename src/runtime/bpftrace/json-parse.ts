/**
 * Parsing of bpftrace's `-f json` lines without losing what text mode shows: the order of a
 * map's keys (bpftrace sorts by value, JSON.parse moves integer-like keys to the front in
 * ascending order), integers past 2^53, and bytes that bpftrace writes as `\uffffffXX`.
 *
 * Any line: native JSON.parse behind two textual passes (parseJsonLine). The large case, a map
 * of integers printed at exit, is on the path of every stop: scanFlatMapEvent reads it in a
 * single pass over the text, without building objects, and the typed value is parsed later.
 */

/**
 * Put in front of integer-like object keys so that JSON.parse keeps them in document order.
 * U+0080 cannot come from bpftrace: it writes every byte past 0x7f as `\uffffffXX`.
 */
const KEY_MARK = '\u0080';
const INT_KEY = /"(\d+)":/g;
/**
 * A string token, or an integer of 16 digits or more outside any string (which may exceed
 * 2^53). Strings are matched first so that digits inside them are left alone.
 */
const LONG_INT = /"(?:[^"\\]|\\.)*"|(?<![\d.])(-?\d{16,})(?![\d.eE])/g;
const HAS_LONG_DIGITS = /\d{16}/;

/** Parses one JSON line, keeping key order and exact big integers; throws if it is no JSON. */
export function parseJsonLine(line: string): unknown {
  let text = line;
  if (HAS_LONG_DIGITS.test(text)) text = text.replace(LONG_INT, quoteUnsafeInteger);
  if (text.includes('":')) text = text.replace(INT_KEY, `"${KEY_MARK}$1":`);
  return JSON.parse(text);
}

function quoteUnsafeInteger(match: string, digits: string | undefined): string {
  return digits !== undefined && !Number.isSafeInteger(Number(digits)) ? `"${digits}"` : match;
}

/** A key as bpftrace wrote it (without the mark parseJsonLine added). */
export function plainKey(key: string): string {
  return key.charCodeAt(0) === 0x80 ? key.slice(1) : key;
}

/** A JSON object (not an array, not null). */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Removes the key marks from every object inside `v` (the typed value callers keep). */
export function unmarkKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(unmarkKeys);
  if (!isRecord(v)) return v;
  const out: Record<string, unknown> = {};
  for (const k in v) out[plainKey(k)] = unmarkKeys(v[k]);
  return out;
}

/**
 * bpftrace writes each byte past 0x7f as `\uffffffXX` (a sign-extended char), which JSON.parse
 * reads as U+FFFF followed by the text "ffXX". Turns each run of them back into its bytes and
 * those into UTF-8 text, as a terminal shows text mode's raw bytes.
 */
export function decodeBytes(s: string): string {
  if (!s.includes('\uffff')) return s;
  return s.replace(/(?:\uffffff[0-9a-fA-F]{2})+/g, (run) => {
    const bytes = Buffer.alloc(run.length / 5);
    for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(run.slice(i * 5 + 3, i * 5 + 5), 16);
    return bytes.toString('utf8');
  });
}

const SIMPLE_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', '"': '"', '\\': '\\', '/': '/' };

/**
 * Undoes one more level of JSON string escaping (bpftrace 0.23 escapes map keys twice), with
 * `\uffffffXX` read as a byte.
 */
export function unescapeTwice(s: string): string {
  if (!s.includes('\\')) return s;
  const bytes: number[] = [];
  let out = '';
  const flush = () => {
    if (bytes.length) out += Buffer.from(bytes.splice(0)).toString('utf8');
  };
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c !== '\\' || i + 1 >= s.length) {
      flush();
      out += c;
      continue;
    }
    const e = s[i + 1];
    if (e === 'u' && /^uffffff[0-9a-fA-F]{2}/.test(s.slice(i + 1, i + 10))) {
      bytes.push(parseInt(s.slice(i + 8, i + 10), 16));
      i += 9;
      continue;
    }
    flush();
    if (e === 'u' && /^u[0-9a-fA-F]{4}/.test(s.slice(i + 1, i + 6))) {
      out += String.fromCharCode(parseInt(s.slice(i + 2, i + 6), 16));
      i += 5;
    } else {
      out += SIMPLE_ESCAPES[e] ?? `\\${e}`;
      i += 1;
    }
  }
  flush();
  return out;
}

/**
 * bpftrace 0.17 writes some values unquoted (strftime results such as `18:09`), which makes
 * the line invalid JSON. Quotes every bare token that is no JSON literal, then parses again;
 * undefined if that does not help either.
 */
export function parseRepaired(line: string): unknown {
  const repaired = line.replace(BARE_TOKEN, (m: string, lead: string | undefined, token: string | undefined) =>
    token === undefined || JSON_LITERAL.test(token) ? m : `${lead}${JSON.stringify(token)}`,
  );
  try {
    return parseJsonLine(repaired);
  } catch {
    return undefined;
  }
}

const BARE_TOKEN = /"(?:[^"\\]|\\.)*"|([:[,]\s*)([^"\s[\]{},][^\]},]*?)(?=\s*[\]},])/g;
const JSON_LITERAL = /^(?:-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null)$/;

/** A map event whose entries are all plain keys with integer values: the common, large case. */
export interface FlatMapEvent {
  type: 'map' | 'stats';
  name: string;
  /** Keys as printed, in order. */
  keys: string[];
  /** Each value's JSON text: an integer, printed by text mode as it is. */
  values: string[];
  /** The map's own JSON object, for the typed value. */
  objectText: string;
}

const FLAT_MAP_HEAD = /^\{"type": ?"(map|stats)", ?"data": ?\{"(@\w*)": ?\{/;
const QUOTE = 34;

/**
 * Reads `{"type": "map", "data": {"@m": {"k": 1, ...}}}` without JSON.parse when every key is
 * free of escapes and every value is an integer, else undefined (then parse the line). On a
 * 10,000-key map this takes about a third of the time of JSON.parse with the key order kept
 * and the object built, and the text of each value is already what text mode prints.
 */
export function scanFlatMapEvent(line: string): FlatMapEvent | undefined {
  const head = FLAT_MAP_HEAD.exec(line);
  if (!head) return undefined;
  const open = head[0].length - 1;
  const body = scanFlatObject(line, open);
  if (!body || !/^\}\}\s*$/.test(line.slice(body.end))) return undefined;
  // One stats value ({"count": 2, "average": 5, "total": 10}), not a map keyed by those names.
  if (head[1] === 'stats' && body.keys.length === 3 && body.keys.join() === 'count,average,total') return undefined;
  return { type: head[1] as 'map' | 'stats', name: head[2], keys: body.keys, values: body.values, objectText: line.slice(open, body.end) };
}

function scanFlatObject(line: string, open: number): { keys: string[]; values: string[]; end: number } | undefined {
  const keys: string[] = [];
  const values: string[] = [];
  let i = open + 1;
  if (line.charCodeAt(i) === 125) return { keys, values, end: i + 1 };
  for (;;) {
    if (line.charCodeAt(i) !== QUOTE) return undefined;
    const keyEnd = line.indexOf('"', i + 1);
    if (keyEnd < 0) return undefined;
    const key = line.slice(i + 1, keyEnd);
    // An escape (a quote, a newline, a byte past 0x7f) needs the real parser.
    if (key.includes('\\')) return undefined;
    i = keyEnd + 1;
    if (line.charCodeAt(i) !== 58) return undefined;
    if (line.charCodeAt(++i) === 32) i++;
    const valueStart = i;
    let c = line.charCodeAt(i);
    if (c === 45) c = line.charCodeAt(++i);
    const digits = i;
    while (c >= 48 && c <= 57) c = line.charCodeAt(++i);
    if (i === digits) return undefined;
    keys.push(key);
    values.push(line.slice(valueStart, i));
    if (c === 125) return { keys, values, end: i + 1 };
    if (c !== 44) return undefined;
    if (line.charCodeAt(++i) === 32) i++;
  }
}

/** The typed value of a scanned map: integers past 2^53 become strings, as bpftrace 0.24+ writes them. */
export function parseFlatObject(map: FlatMapEvent): Record<string, unknown> {
  const value = JSON.parse(map.objectText) as Record<string, unknown>;
  for (let i = 0; i < map.values.length; i++) {
    const text = map.values[i];
    if (text.length > 15 && !Number.isSafeInteger(Number(text))) value[map.keys[i]] = text;
  }
  return value;
}

/** Whether a JS object would move this key to the front (a canonical array index). */
export function isIndexKey(key: string): boolean {
  const c = key.charCodeAt(0);
  if (c < 48 || c > 57 || (c === 48 && key.length > 1) || key.length > 10) return false;
  for (let i = 1; i < key.length; i++) {
    const d = key.charCodeAt(i);
    if (d < 48 || d > 57) return false;
  }
  return Number(key) < 4294967295;
}
