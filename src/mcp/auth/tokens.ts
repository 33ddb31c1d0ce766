import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import jsonc from 'jsonc-parser';
import { defaultStateDir } from '../../history/paths.js';
import { formatProblemWithSource } from '../../manifest/problem.js';
import { didYouMean, suggestionText } from '../../util/did-you-mean.js';
import { lineColAt } from '../../util/text-position.js';
import { DEFAULT_SCOPES, isScope, SCOPES, type Principal } from './principal.js';

/** The token file's name inside the state directory. */
export const TOKEN_FILE = 'tokens.json';

export function tokenFile(stateDir: string = defaultStateDir()): string {
  return path.join(stateDir, TOKEN_FILE);
}

const TOKEN_PREFIX = 'mcpt_';
/** 32 random bytes are 43 base64url characters. */
const TOKEN_SHAPE = /^mcpt_[A-Za-z0-9_-]{43}$/;
const NAME_SHAPE = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const FORMAT_VERSION = 1;
/** A revoke by another process is seen within this long; verify() stats the file no more often. */
const RESTAT_MS = 1000;
const NEW_TOKEN_HINT = "ask the server's operator for a new one (mcptrace token create)";

/** One token as the file keeps it: its hash, never its text. Times are ISO 8601. */
export interface TokenRecord {
  name: string;
  sha256: string;
  /** The token's last 4 characters, so a person can tell two tokens apart. */
  last4: string;
  scopes: string[];
  created: string;
  expires?: string;
  revoked?: string;
  requestsPerMinute?: number;
  maxRuns?: number;
}

export type TokenStatus = 'active' | 'expired' | 'revoked';

/** A token as `list` shows it: everything but the hash, and whether it still works. */
export type TokenInfo = Omit<TokenRecord, 'sha256'> & { status: TokenStatus };

export interface CreateOptions {
  scopes?: string[];
  /** 30d, 12h, 90m, or an ISO date or time (2026-12-31, 2026-12-31T18:00Z); absent: never. */
  expires?: string;
  requestsPerMinute?: number;
  maxRuns?: number;
}

/** Why a store operation failed; `kind` is the ErrorKind the CLI turns into an exit code. */
export interface TokenFailure {
  ok: false;
  kind: 'input' | 'not_found' | 'environment';
  message: string;
}

export type VerifyFailureReason = 'malformed' | 'unknown' | 'revoked' | 'expired' | 'unavailable';

/**
 * `message` is written for the client that sent the token: it names no file and no other token.
 * 'unavailable' means the token file cannot be read (the operator's problem, not the client's).
 */
export type VerifyResult = { ok: true; principal: Principal } | { ok: false; reason: VerifyFailureReason; message: string };

interface TokenFileData {
  version: number;
  comment?: string;
  tokens: TokenRecord[];
}

/** What was read from disk, keyed by what identifies one version of the file. */
interface Snapshot {
  stamp: string;
  data?: TokenFileData;
  error?: string;
  warnings: string[];
  /** The file is group- or world-writable: verify() trusts no token in it. */
  openToOthers?: boolean;
}

const FILE_COMMENT = 'mcptrace API tokens: only SHA-256 hashes of the tokens are kept. Manage with mcptrace token create | list | revoke.';

/**
 * The API tokens of `mcptrace serve --http`, in one JSON file of the state directory. A token
 * is shown to its creator once; the file keeps only its SHA-256, so reading the file does not
 * give anyone a token. Every process (the CLI that revokes, the server that verifies) reads the
 * same file, and a running server notices a new version of it within a second.
 */
export class TokenStore {
  readonly file: string;
  private readonly now: () => number;
  private snapshot?: Snapshot;
  private lastStat = -Infinity;

  constructor(file: string = tokenFile(), opts: { now?: () => number } = {}) {
    this.file = file;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Reads the file now. A server calls it at start, logs the warnings (a file others can read
   * or write) and refuses to start on an error. An absent file is no tokens, not an error.
   */
  load(): { ok: true; tokens: number; warnings: string[] } | TokenFailure {
    const s = this.read(true);
    if (s.error !== undefined) return { ok: false, kind: 'environment', message: s.error };
    return { ok: true, tokens: s.data!.tokens.length, warnings: s.warnings };
  }

  /** A new token. Its text is returned here and nowhere else, ever. */
  create(name: string, opts: CreateOptions = {}): { ok: true; token: string; record: TokenInfo } | TokenFailure {
    const s = this.read(true);
    if (s.error !== undefined) return { ok: false, kind: 'environment', message: s.error };
    const now = this.now();
    const problems: string[] = [];
    if (!NAME_SHAPE.test(name))
      problems.push(
        `token name "${name}" is not valid: use 1 to 64 letters, digits and _ . @ -, starting with a letter or digit (e.g. ci-runner, alice@laptop)`,
      );
    const scopes = opts.scopes ?? [...DEFAULT_SCOPES];
    if (!scopes.length) problems.push(`give at least one scope: ${SCOPES.join(', ')}`);
    for (const sc of scopes) if (!isScope(sc)) problems.push(`unknown scope "${sc}"${meant(sc, SCOPES)}: valid scopes are ${SCOPES.join(', ')}`);
    let expires: string | undefined;
    if (opts.expires !== undefined) {
      const at = parseExpiry(opts.expires, now);
      if (at === undefined) problems.push(`expiry "${opts.expires}" is not a duration or a date: give 30d, 12h, 90m or an ISO date such as 2026-12-31`);
      else if (at <= now)
        problems.push(`expiry "${opts.expires}" (${new Date(at).toISOString()}) is in the past: give a later date, or a duration such as 30d`);
      else expires = new Date(at).toISOString();
    }
    for (const [key, flag] of [
      ['requestsPerMinute', '--rpm'],
      ['maxRuns', '--max-runs'],
    ] as const) {
      const v = opts[key];
      if (v !== undefined && (!Number.isInteger(v) || v < 1)) problems.push(`${flag} must be a whole number ≥ 1, got ${v}`);
    }
    const active = s.data!.tokens.find((t) => t.name === name && statusOf(t, now) === 'active');
    if (active)
      problems.push(
        `a token named "${name}" is already active (created ${active.created}, ends …${active.last4}): revoke it first (mcptrace token revoke ${name}) or choose another name`,
      );
    if (problems.length) return { ok: false, kind: 'input', message: problems.join('; ') };

    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const record: TokenRecord = {
      name,
      sha256: sha256Hex(token),
      last4: token.slice(-4),
      scopes: [...new Set(scopes)],
      created: new Date(now).toISOString(),
      ...(expires ? { expires } : {}),
      ...(opts.requestsPerMinute !== undefined ? { requestsPerMinute: opts.requestsPerMinute } : {}),
      ...(opts.maxRuns !== undefined ? { maxRuns: opts.maxRuns } : {}),
    };
    const written = this.write({ ...s.data!, tokens: [...s.data!.tokens, record] });
    if (written) return written;
    // The write made the file private again, so a warning about its old mode is moot.
    return { ok: true, token, record: infoOf(record, now) };
  }

  /** Every token the file knows, oldest first, revoked and expired ones too. */
  list(): { ok: true; tokens: TokenInfo[]; warnings: string[] } | TokenFailure {
    const s = this.read(true);
    if (s.error !== undefined) return { ok: false, kind: 'environment', message: s.error };
    const now = this.now();
    return { ok: true, tokens: s.data!.tokens.map((t) => infoOf(t, now)), warnings: s.warnings };
  }

  /**
   * Revokes the token of that name that still works; revoking one that is already revoked is
   * not an error (a script may run twice), it says so with `alreadyRevoked`.
   */
  revoke(name: string): { ok: true; record: TokenInfo; alreadyRevoked: boolean } | TokenFailure {
    const s = this.read(true);
    if (s.error !== undefined) return { ok: false, kind: 'environment', message: s.error };
    const now = this.now();
    const tokens = s.data!.tokens;
    const mine = tokens.filter((t) => t.name === name);
    if (!mine.length) {
      const names = tokens.map((t) => t.name);
      return {
        ok: false,
        kind: 'not_found',
        message: names.length
          ? `no token named "${name}".${suggestionText(didYouMean(name, names))} See the names with: mcptrace token list`
          : `no token named "${name}": ${this.file} holds no tokens (create one with mcptrace token create NAME)`,
      };
    }
    const live = mine.find((t) => !t.revoked);
    if (!live) return { ok: true, record: infoOf(mine[mine.length - 1], now), alreadyRevoked: true };
    const revoked: TokenRecord = { ...live, revoked: new Date(now).toISOString() };
    const written = this.write({ ...s.data!, tokens: tokens.map((t) => (t === live ? revoked : t)) });
    if (written) return written;
    return { ok: true, record: infoOf(revoked, now), alreadyRevoked: false };
  }

  /**
   * Who a bearer token belongs to. The file is re-read when it changed (a `token revoke` in
   * another process), looked at no more than once a second. A file that cannot be read fails
   * every token: a revoke hidden in it must not be ignored.
   */
  verify(token: string): VerifyResult {
    if (!TOKEN_SHAPE.test(token))
      return {
        ok: false,
        reason: 'malformed',
        message: `the bearer token is not an mcptrace token: expected "${TOKEN_PREFIX}" and 43 base64url characters, as mcptrace token create prints them; check that the whole token was copied`,
      };
    let s = this.read(false);
    // A token nobody here knows may have been created since the last look (token create right
    // after the server started, then a client at once): look at the file again before refusing.
    // A revoke is still seen within RESTAT_MS: a known token is never looked up again here.
    if (s.error === undefined && !s.openToOthers && !this.knows(s, token)) s = this.read(true);
    if (s.error !== undefined)
      return {
        ok: false,
        reason: 'unavailable',
        message: "the server cannot read its token list right now, so it accepts no token; ask the server's operator to check it (mcptrace token list)",
      };
    // Anyone who can write the file can add a token of their own: trust none until it is private.
    if (s.openToOthers)
      return {
        ok: false,
        reason: 'unavailable',
        message:
          "the server's token list can be written by other users, so it accepts no token until that is fixed; ask the server's operator to run mcptrace token list, which says how",
      };
    const presented = createHash('sha256').update(token).digest();
    // Every record is compared, so the time taken does not say where in the file a match was.
    let match: TokenRecord | undefined;
    for (const t of s.data!.tokens) if (timingSafeEqual(presented, Buffer.from(t.sha256, 'hex'))) match = t;
    if (!match)
      return {
        ok: false,
        reason: 'unknown',
        message: `this token is not one this server knows (mistyped, or made for another server or state directory); ${NEW_TOKEN_HINT}`,
      };
    if (match.revoked) return { ok: false, reason: 'revoked', message: `token "${match.name}" was revoked at ${match.revoked}; ${NEW_TOKEN_HINT}` };
    if (statusOf(match, this.now()) === 'expired')
      return { ok: false, reason: 'expired', message: `token "${match.name}" expired at ${match.expires}; ${NEW_TOKEN_HINT}` };
    return {
      ok: true,
      principal: {
        kind: 'token',
        name: match.name,
        scopes: [...match.scopes],
        ...(match.expires ? { expiresAt: Math.floor(Date.parse(match.expires) / 1000) } : {}),
        ...(match.requestsPerMinute !== undefined ? { requestsPerMinute: match.requestsPerMinute } : {}),
        ...(match.maxRuns !== undefined ? { maxRuns: match.maxRuns } : {}),
      },
    };
  }

  private knows(s: Snapshot, token: string): boolean {
    const presented = createHash('sha256').update(token).digest();
    return s.data!.tokens.some((t) => timingSafeEqual(presented, Buffer.from(t.sha256, 'hex')));
  }

  /**
   * The file's current contents. `fresh` (create, list, revoke, load) always looks at the disk;
   * verify() keeps what it has for a second. A new version is told by inode, mtime and size:
   * an atomic write is a rename, so even two writes within one mtime tick differ in inode.
   */
  private read(fresh: boolean): Snapshot {
    const now = this.now();
    if (!fresh && this.snapshot && now - this.lastStat < RESTAT_MS) return this.snapshot;
    this.lastStat = now;
    let st: fs.Stats;
    try {
      st = fs.statSync(this.file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return (this.snapshot = { stamp: 'absent', data: emptyFile(), warnings: [] });
      return (this.snapshot = { stamp: `error:${code}`, error: this.cannot('read', e), warnings: [] });
    }
    const stamp = `${st.ino}:${st.mtimeMs}:${st.size}:${st.mode}`;
    if (this.snapshot?.stamp === stamp) return this.snapshot;
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (e) {
      return (this.snapshot = { stamp, error: this.cannot('read', e), warnings: [] });
    }
    const parsed = parseTokenFile(text, this.file);
    const warnings: string[] = [];
    const loose = st.mode & 0o077;
    if (loose)
      warnings.push(
        `${this.file} has mode ${(st.mode & 0o777).toString(8)}: ${loose & 0o022 ? 'others can write it, and so add a token of their own (the server accepts no token until it is fixed)' : 'others can read it (only hashes, but still)'}; run chmod 600 ${this.file} (mcptrace token create and revoke also fix it)`,
      );
    return (this.snapshot = { stamp, ...parsed, warnings, openToOthers: (loose & 0o022) !== 0 });
  }

  /** Writes the whole file anew, atomically and private; undefined when it worked. */
  private write(data: TokenFileData): TokenFailure | undefined {
    const dir = path.dirname(this.file);
    const tmp = path.join(dir, `.${path.basename(this.file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      const fd = fs.openSync(tmp, 'wx', 0o600);
      try {
        // The umask could have taken bits off the mode, never added any; set it exactly anyway.
        fs.fchmodSync(fd, 0o600);
        fs.writeSync(fd, `${JSON.stringify({ version: FORMAT_VERSION, comment: FILE_COMMENT, tokens: data.tokens }, null, 2)}\n`);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, this.file);
    } catch (e) {
      try {
        fs.unlinkSync(tmp);
      } catch {
        // Never made, or already renamed.
      }
      return { ok: false, kind: 'environment', message: this.cannot('write', e) };
    }
    this.snapshot = undefined;
    return undefined;
  }

  private cannot(what: 'read' | 'write', e: unknown): string {
    const err = e as NodeJS.ErrnoException;
    return (
      `cannot ${what} the token file ${this.file} (${err.code ?? 'error'}: ${err.message}): ` +
      `make it ${what === 'read' ? 'readable' : 'writable'} by this user, or keep the tokens elsewhere with --state-dir or MCPTRACE_STATE_DIR`
    );
  }
}

/** " (did you mean X?)" inside a list of problems, where a sentence of its own would not fit. */
function meant(word: string, candidates: Iterable<string>): string {
  const s = didYouMean(word, candidates);
  return s.length ? ` (did you mean ${s.join(' or ')}?)` : '';
}

const emptyFile = (): TokenFileData => ({ version: FORMAT_VERSION, tokens: [] });

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function statusOf(t: TokenRecord, now: number): TokenStatus {
  if (t.revoked) return 'revoked';
  if (t.expires && Date.parse(t.expires) <= now) return 'expired';
  return 'active';
}

function infoOf(t: TokenRecord, now: number): TokenInfo {
  // Spelled out, so a field added to the record later does not leak into listings unseen.
  return {
    name: t.name,
    scopes: [...t.scopes],
    created: t.created,
    ...(t.expires ? { expires: t.expires } : {}),
    ...(t.revoked ? { revoked: t.revoked } : {}),
    last4: t.last4,
    ...(t.requestsPerMinute !== undefined ? { requestsPerMinute: t.requestsPerMinute } : {}),
    ...(t.maxRuns !== undefined ? { maxRuns: t.maxRuns } : {}),
    status: statusOf(t, now),
  };
}

const UNITS: Record<string, number> = { m: 60e3, h: 3600e3, d: 86400e3 };

/**
 * When a token should stop working, in ms: a time from now (90m, 12h, 30d) or an ISO date or
 * time (2026-12-31, 2026-12-31T18:00Z; a date alone is its midnight UTC, as Date.parse reads it).
 */
export function parseExpiry(text: string, now: number): number | undefined {
  const t = text.trim();
  const rel = /^(\d+)\s*([mhd])$/i.exec(t);
  if (rel) return now + Number(rel[1]) * UNITS[rel[2].toLowerCase()];
  if (!/^\d{4}-\d{2}-\d{2}/.test(t)) return undefined;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

const RECORD_KEYS = new Set(['name', 'sha256', 'last4', 'scopes', 'created', 'expires', 'revoked', 'requestsPerMinute', 'maxRuns']);

/**
 * The file's tokens, or one message with every problem in it, located: the JSON error's line
 * and column, or the entry (tokens[2].scopes) that is wrong. Someone edited it by hand, so the
 * message says how to recover too.
 */
function parseTokenFile(text: string, file: string): { data: TokenFileData } | { error: string } {
  const recover = `Fix it, or move it away to start with no tokens (it holds only hashes; every token in it stops working)`;
  // jsonc-parser, strict, because JSON.parse does not always say where the problem is.
  const errors: jsonc.ParseError[] = [];
  const raw: unknown = jsonc.parse(text, errors, { allowTrailingComma: false, disallowComments: true, allowEmptyContent: false });
  if (errors.length) {
    const { line, col } = lineColAt(text, errors[0].offset);
    const what = jsonc
      .printParseErrorCode(errors[0].error)
      .replace(/([a-z])([A-Z])/g, '$1 $2')
      .toLowerCase();
    return { error: `${formatProblemWithSource({ file, line, col, message: `not valid JSON: ${what}`, kind: 'syntax' }, text)}\n${recover}` };
  }
  const problems: string[] = [];
  const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  if (!isObj(raw) || !Array.isArray(raw.tokens)) return { error: `${file}: expected an object with a "tokens" list. ${recover}` };
  if (raw.version !== FORMAT_VERSION)
    return {
      error: `${file}: format version ${JSON.stringify(raw.version)} is not one this mcptrace reads (${FORMAT_VERSION}); a newer mcptrace may have written it: upgrade mcptrace. Or: ${recover}`,
    };
  const isIso = (x: unknown) => typeof x === 'string' && !Number.isNaN(Date.parse(x));
  const posInt = (x: unknown) => x === undefined || (Number.isInteger(x) && (x as number) >= 1);
  for (const k of Object.keys(raw)) if (!['version', 'comment', 'tokens'].includes(k)) problems.push(`unknown key "${k}"`);
  for (const [i, t] of (raw.tokens as unknown[]).entries()) {
    const at = `tokens[${i}]`;
    if (!isObj(t)) {
      problems.push(`${at}: expected an object`);
      continue;
    }
    for (const k of Object.keys(t)) if (!RECORD_KEYS.has(k)) problems.push(`${at}: unknown key "${k}"${meant(k, RECORD_KEYS)}`);
    if (typeof t.name !== 'string' || !NAME_SHAPE.test(t.name)) problems.push(`${at}.name: expected a token name`);
    if (typeof t.sha256 !== 'string' || !SHA256_HEX.test(t.sha256)) problems.push(`${at}.sha256: expected 64 lowercase hex digits`);
    if (typeof t.last4 !== 'string') problems.push(`${at}.last4: expected a string`);
    if (!Array.isArray(t.scopes) || !t.scopes.every((s) => typeof s === 'string')) problems.push(`${at}.scopes: expected a list of scopes`);
    if (!isIso(t.created)) problems.push(`${at}.created: expected an ISO date`);
    for (const k of ['expires', 'revoked'] as const) if (t[k] !== undefined && !isIso(t[k])) problems.push(`${at}.${k}: expected an ISO date`);
    for (const k of ['requestsPerMinute', 'maxRuns'] as const) if (!posInt(t[k])) problems.push(`${at}.${k}: expected a whole number ≥ 1`);
  }
  if (problems.length) return { error: `${file}: ${problems.join('; ')}. ${recover}` };
  return { data: { version: FORMAT_VERSION, tokens: raw.tokens as TokenRecord[] } };
}
