/**
 * Ansible inventories, INI and YAML, read into the hosts a trace runs on over SSH. Users keep
 * their fleet in an Ansible inventory already, so an existing file is read as Ansible reads it:
 * same groups, same ranges, same variable precedence. Every problem is an InventoryError at a
 * line and column, and nothing in the file can turn a host, user or port into an ssh option.
 */
import { readFileSync, statSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import path from 'node:path';
import type { Document, LineCounter, Pair, YAMLMap } from 'yaml';
import { MAX_YAML_ALIASES } from '../../config/defaults.js';
import { yamlLib } from '../../manifest/lazy-libs.js';
import { didYouMean, editDistance } from '../../util/did-you-mean.js';

export type VarValue = string | number | boolean;

export interface FleetHost {
  /** The inventory name. */
  name: string;
  /** ansible_host, else the name. */
  address: string;
  user?: string;
  port?: number;
  identityFile?: string;
  /** ansible_ssh_common_args then ansible_ssh_extra_args, split into words as a shell would. */
  sshArgs?: string[];
  /** Every group the host is in, directly or through children, sorted, without "all". */
  groups: string[];
  /** All its variables merged: host over child group over parent group over all. */
  vars: Record<string, VarValue>;
}

export interface InventoryGroup {
  /** The hosts listed in the group itself; all has every host, ungrouped those in no other group. */
  hosts: Set<string>;
  children: Set<string>;
  vars: Record<string, unknown>;
}

export interface Inventory {
  file: string;
  hosts: Map<string, FleetHost>;
  groups: Map<string, InventoryGroup>;
}

export class InventoryError extends Error {
  override name = 'InventoryError';
  constructor(
    readonly file: string,
    readonly line: number,
    readonly col: number,
    problem: string,
    /** How to fix it, in the user's terms. */
    readonly fix: string,
  ) {
    super(`${file}:${line}:${col}: ${problem}`);
  }
}

export class TargetError extends Error {
  override name = 'TargetError';
  constructor(
    readonly target: string,
    message: string,
    readonly fix: string,
  ) {
    super(message);
  }
}

/** A 1-based line and column. */
interface Pos {
  line: number;
  col: number;
}

/** Where character i of some text is, for errors inside a host pattern. */
type CharPos = (i: number) => Pos;

// Far above any real fleet; they stop a range typo (web[1:9999999]) from eating the memory.
const MAX_HOSTS = 100_000;
const MAX_INVENTORY_BYTES = 16 * 1024 * 1024;

const HOST_VARS = ['ansible_host', 'ansible_ssh_host'];
const USER_VARS = ['ansible_user', 'ansible_ssh_user'];
const PORT_VARS = ['ansible_port', 'ansible_ssh_port'];
const KEY_VARS = ['ansible_ssh_private_key_file', 'ansible_private_key_file'];
const ARGS_VARS = ['ansible_ssh_common_args', 'ansible_ssh_extra_args'];

// Each of these makes ssh run a command on this machine: an inventory must not smuggle one in.
const LOCAL_COMMAND = /(?:PermitLocal|Local|Proxy|KnownHosts)Command/i;

const RANGE_FIX = 'write a range as [start:end] or [start:end:step], e.g. web[01:20].example.com or db-[a:f]';
const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

export function parseInventory(text: string, file: string): Inventory {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const b = new Builder(file);
  if (isYaml(file, body)) readYaml(body, b);
  else readIni(body, b);
  return b.finish();
}

export function loadInventory(file: string): Inventory {
  return parseInventory(readInventoryFile(file), file);
}

function readInventoryFile(file: string): string {
  try {
    if (statSync(file).size > MAX_INVENTORY_BYTES) throw new Error(`it is over the ${MAX_INVENTORY_BYTES}-byte limit for an inventory`);
    return readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const fix =
      code === 'EISDIR'
        ? 'point at one inventory file in that directory: inventory directories are not read'
        : code
          ? 'check the path, and that you may read the file'
          : 'point at the inventory itself: no inventory is this large';
    throw new InventoryError(file, 1, 1, `cannot read the inventory: ${(e as Error).message}`, fix);
  }
}

// ---------------------------------------------------------------------------------------------
// Format detection

const YAML_EXTENSIONS = new Set(['.yml', '.yaml', '.json']);

/** Ansible picks the plugin by extension, but /etc/ansible/hosts-style files have none: sniff. */
function isYaml(file: string, text: string): boolean {
  if (YAML_EXTENSIONS.has(path.extname(file).toLowerCase())) return true;
  const [first, second] = meaningfulLines(text, 2);
  if (first === undefined) return false;
  if (/^---(?:\s|$)/.test(first) || first.startsWith('{')) return true;
  return /^[^\s#;[\]=:]+:\s*(?:#.*)?$/.test(first) && second !== undefined && /^\s/.test(second);
}

function meaningfulLines(text: string, count: number): string[] {
  const found: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim() || /^\s*[#;]/.test(line)) continue;
    if (found.push(line) === count) break;
  }
  return found;
}

// ---------------------------------------------------------------------------------------------
// The inventory as it is read, either format

interface GroupDef {
  hosts: Set<string>;
  /** Each child with where it was named, for the errors found only at the end. */
  children: Map<string, Pos>;
  vars: Record<string, unknown>;
  /** Named by a section or an entry of its own, not only as someone's child. */
  defined: boolean;
}

interface ChildEdge {
  parent: string;
  child: string;
  at: Pos;
}

/** Groups whose membership is computed at the end rather than listed. */
const IMPLICIT = new Set(['all', 'ungrouped']);

class Builder {
  readonly groups = new Map<string, GroupDef>();
  readonly hostVars = new Map<string, Record<string, unknown>>();
  /** Each host's groups as listed, without all and ungrouped. */
  readonly memberOf = new Map<string, Set<string>>();
  readonly edges: ChildEdge[] = [];

  constructor(readonly file: string) {
    this.group('all', true);
    this.group('ungrouped', true);
  }

  fail(at: Pos, problem: string, fix: string): never {
    throw new InventoryError(this.file, at.line, at.col, problem, fix);
  }

  group(name: string, defining: boolean): GroupDef {
    let g = this.groups.get(name);
    if (!g) this.groups.set(name, (g = { hosts: new Set(), children: new Map(), vars: {}, defined: false }));
    g.defined ||= defining;
    return g;
  }

  /** Puts a host in a group; returns the host's own variables, to be set. */
  addHost(name: string, group: string, at: Pos): Record<string, unknown> {
    let vars = this.hostVars.get(name);
    if (!vars) {
      if (this.hostVars.size >= MAX_HOSTS) this.fail(at, `the inventory has more than ${MAX_HOSTS} hosts`, 'split the inventory, or narrow its ranges');
      this.hostVars.set(name, (vars = {}));
      this.memberOf.set(name, new Set());
    }
    const g = this.group(group, true);
    if (!IMPLICIT.has(group)) {
      g.hosts.add(name);
      this.memberOf.get(name)!.add(group);
    }
    return vars;
  }

  addChild(parent: string, child: string, at: Pos): void {
    const p = this.group(parent, true);
    this.group(child, false);
    if (!p.children.has(child)) p.children.set(child, at);
    this.edges.push({ parent, child, at });
  }

  finish(): Inventory {
    this.checkChildren();
    const cycle = findCycle(this.groups);
    if (cycle) {
      this.fail(
        cycle.at,
        `group "${cycle.path[0]}" contains itself: ${cycle.path.join(' → ')}`,
        'remove one of these children entries: a group cannot be its own descendant',
      );
    }
    return assemble(this);
  }

  // Ansible lets a child be named before its own section, so this waits for the whole file.
  private checkChildren(): void {
    for (const { parent, child, at } of this.edges) {
      if (child === 'all')
        this.fail(at, `group "all" cannot be a child of "${parent}": it already holds every group`, `remove "all" from the children of "${parent}"`);
      if (!this.groups.get(child)!.defined) {
        this.fail(
          at,
          `group "${child}", a child of "${parent}", is not defined anywhere`,
          `define it (in INI a [${child}] section with its hosts, in YAML a "${child}:" entry with hosts:), write "${child}: {}" in YAML for an empty group, or remove it from the children`,
        );
      }
    }
  }
}

/** A back edge of a depth-first walk: the path it closes and where its last step was written. */
function findCycle(groups: Map<string, GroupDef>): { path: string[]; at: Pos } | undefined {
  const done = new Set<string>();
  for (const root of groups.keys()) {
    if (done.has(root)) continue;
    // Iterative, so that a long chain of groups cannot overflow the stack.
    const trail = [root];
    const walks = [groups.get(root)!.children.entries()];
    while (walks.length) {
      const next = walks[walks.length - 1].next();
      if (next.done) {
        walks.pop();
        done.add(trail.pop()!);
        continue;
      }
      const [child, at] = next.value;
      if (trail.includes(child)) return { path: [...trail.slice(trail.indexOf(child)), child], at };
      if (done.has(child)) continue;
      trail.push(child);
      walks.push(groups.get(child)!.children.entries());
    }
  }
  return undefined;
}

function assemble(b: Builder): Inventory {
  const parents = parentsOf(b.groups);
  const depth = depthsOf(b.groups, parents);
  const ancestry = new Map<string, string[]>();
  const hosts = new Map<string, FleetHost>();
  for (const [name, own] of b.hostVars) {
    const direct = b.memberOf.get(name)!;
    const groups = closure(direct.size ? [...direct] : ['ungrouped'], parents, ancestry);
    const ordered = [...groups].sort((x, y) => depth.get(x)! - depth.get(y)! || compare(x, y));
    const vars: Record<string, unknown> = {};
    for (const g of ordered) assign(vars, b.groups.get(g)!.vars);
    assign(vars, own);
    hosts.set(name, toFleetHost(name, vars, ordered.filter((g) => g !== 'all').sort(compare)));
  }
  return { file: b.file, hosts, groups: publicGroups(b, parents) };
}

function publicGroups(b: Builder, parents: Map<string, Set<string>>): Map<string, InventoryGroup> {
  const groups = new Map<string, InventoryGroup>();
  for (const [name, g] of b.groups) groups.set(name, { hosts: new Set(g.hosts), children: new Set(g.children.keys()), vars: g.vars });
  const all = groups.get('all')!;
  all.hosts = new Set(b.hostVars.keys());
  // all's children are the top-level groups, whether a YAML file names them under all: or not.
  all.children = new Set([...b.groups.keys()].filter((g) => g !== 'all' && [...(parents.get(g) ?? [])].every((p) => p === 'all')));
  groups.get('ungrouped')!.hosts = new Set([...b.memberOf].filter(([, m]) => !m.size).map(([h]) => h));
  return groups;
}

function parentsOf(groups: Map<string, GroupDef>): Map<string, Set<string>> {
  const parents = new Map<string, Set<string>>();
  for (const [name, g] of groups) for (const child of g.children.keys()) parents.set(child, (parents.get(child) ?? new Set()).add(name));
  return parents;
}

/** Ansible's depth: all is 0, a group is one deeper than its deepest parent (top-level ones: 1). */
function depthsOf(groups: Map<string, GroupDef>, parents: Map<string, Set<string>>): Map<string, number> {
  const waiting = new Map([...groups.keys()].map((g) => [g, parents.get(g)?.size ?? 0]));
  const order = [...groups.keys()].filter((g) => waiting.get(g) === 0);
  const depth = new Map(order.map((g) => [g, g === 'all' ? 0 : 1]));
  for (let i = 0; i < order.length; i++) {
    for (const child of groups.get(order[i])!.children.keys()) {
      depth.set(child, Math.max(depth.get(child) ?? 0, depth.get(order[i])! + 1));
      waiting.set(child, waiting.get(child)! - 1);
      if (waiting.get(child) === 0) order.push(child);
    }
  }
  return depth;
}

/** The groups, their ancestors and all. */
function closure(start: string[], parents: Map<string, Set<string>>, memo: Map<string, string[]>): Set<string> {
  const found = new Set<string>(['all']);
  for (const g of start) for (const a of ancestorsOf(g, parents, memo)) found.add(a);
  return found;
}

function ancestorsOf(group: string, parents: Map<string, Set<string>>, memo: Map<string, string[]>): string[] {
  const known = memo.get(group);
  if (known) return known;
  const seen = new Set([group]);
  for (const g of seen) for (const p of parents.get(g) ?? []) seen.add(p);
  memo.set(group, [...seen]);
  return [...seen];
}

// Python's sort, which Ansible uses for groups of equal depth: by code point, not locale.
function compare(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

// defineProperty, so that a variable named __proto__ stays a variable.
function put(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function assign(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(source)) put(target, k, v);
}

function toFleetHost(name: string, vars: Record<string, unknown>, groups: string[]): FleetHost {
  const host: FleetHost = { name, address: String(firstSet(vars, HOST_VARS) ?? name), ...sshSettings(vars), groups, vars: {} };
  for (const [k, v] of Object.entries(vars)) put(host.vars, k, flat(v));
  return host;
}

function sshSettings(vars: Record<string, unknown>): Pick<FleetHost, 'user' | 'port' | 'identityFile' | 'sshArgs'> {
  const settings: Pick<FleetHost, 'user' | 'port' | 'identityFile' | 'sshArgs'> = {};
  const user = firstSet(vars, USER_VARS);
  if (user !== undefined) settings.user = String(user);
  const port = firstSet(vars, PORT_VARS);
  if (port !== undefined) settings.port = portOf(port);
  const key = firstSet(vars, KEY_VARS);
  if (key !== undefined) settings.identityFile = String(key);
  const args = ARGS_VARS.flatMap((k) => (typeof vars[k] === 'string' ? splitWords(vars[k], false).map((w) => w.text) : []));
  if (args.length) settings.sshArgs = args;
  return settings;
}

function firstSet(vars: Record<string, unknown>, keys: string[]): unknown {
  return keys.map((k) => vars[k]).find((v) => v !== undefined && v !== null);
}

/** A FleetHost's variables are plain values; YAML's lists and maps are kept as JSON text. */
function flat(v: unknown): VarValue {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'bigint') return v.toString();
  return JSON.stringify(v) ?? String(v);
}

// ---------------------------------------------------------------------------------------------
// Variables that reach ssh's command line

/** Checked where a variable is set, so that the error points at the line that set it. */
function checkVar(b: Builder, key: string, value: unknown, at: Pos): void {
  if (value === null || value === undefined) return;
  if (PORT_VARS.includes(key)) checkPort(b, key, value, at);
  else if (HOST_VARS.includes(key) || USER_VARS.includes(key)) checkSshWord(b, key, value, at);
  else if (ARGS_VARS.includes(key)) checkSshArgs(b, key, value, at);
  else if (KEY_VARS.includes(key) && (typeof value !== 'string' || /\p{Cc}/u.test(value))) {
    b.fail(at, `${key} must be a file path, not ${show(value)}`, `set ${key} to the path of the private key file`);
  }
}

function portOf(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  return Number.isInteger(n) && n >= 1 && n <= 65535 ? n : undefined;
}

function checkPort(b: Builder, key: string, value: unknown, at: Pos): void {
  if (portOf(value) === undefined) {
    b.fail(
      at,
      `${key} must be a whole number from 1 to 65535, not ${show(value)}`,
      `set ${key} to the port sshd listens on, a whole number from 1 to 65535 (22 by default)`,
    );
  }
}

function checkSshWord(b: Builder, key: string, value: unknown, at: Pos): void {
  const what = USER_VARS.includes(key) ? 'a user name' : 'a host name or address';
  if (typeof value !== 'string' && typeof value !== 'number') b.fail(at, `${key} must be ${what}, not ${show(value)}`, `give ${key} ${what}`);
  const risk = optionRisk(String(value));
  if (risk) b.fail(at, `${key} ${show(value)} ${risk}`, `give ${key} ${what}: ssh must never read it as an option or as more than one word`);
}

/** Why a word must not reach ssh's command line, if it must not. */
function optionRisk(word: string): string | undefined {
  if (!word) return 'is empty';
  if (word.startsWith('-')) return 'starts with "-", so ssh would read it as an option';
  if (/\p{Cc}/u.test(word)) return 'contains a control character';
  if (/\s/.test(word)) return 'contains whitespace';
  return undefined;
}

function checkSshArgs(b: Builder, key: string, value: unknown, at: Pos): void {
  if (typeof value !== 'string')
    b.fail(at, `${key} must be a string of ssh options, not ${show(value)}`, `write ${key} as ssh options in one string, e.g. "-o ServerAliveInterval=30"`);
  let words: Word[];
  try {
    words = splitWords(value, false);
  } catch (e) {
    if (e instanceof WordError) b.fail(at, `${key}: ${e.message}`, e.fix);
    throw e;
  }
  for (const { text } of words) {
    const found = LOCAL_COMMAND.exec(text);
    if (found) {
      b.fail(
        at,
        `${key} sets ${found[0]} (${JSON.stringify(text)}), which makes ssh run a local command`,
        'reach the host through a jump host with ProxyJump instead (-o ProxyJump=user@bastion, or -J user@bastion), which runs no local command; ProxyCommand, LocalCommand, PermitLocalCommand and KnownHostsCommand are refused',
      );
    }
  }
}

function show(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? JSON.stringify(value)
    : value === null
      ? 'null'
      : `a ${Array.isArray(value) ? 'list' : typeof value}`;
}

// ---------------------------------------------------------------------------------------------
// Host patterns: name[01:10].example.com:2222

interface Pattern {
  names: string[];
  port?: number;
}

function expandPattern(b: Builder, pattern: string, at: CharPos): Pattern {
  const { host, hostAt, port, portAt } = splitPort(pattern);
  const risk = optionRisk(host);
  if (risk)
    b.fail(
      at(hostAt),
      `host name ${JSON.stringify(host)} ${risk}`,
      'name hosts with plain host names or addresses; give the address in ansible_host if the name is only a label',
    );
  const names = expandRanges(b, host, hostAt, at);
  if (port === undefined) return { names };
  const n = /^\d+$/.test(port) ? portOf(port) : undefined;
  if (n === undefined) {
    b.fail(
      at(portAt),
      port ? `port ${JSON.stringify(port)} after ${host} is not a whole number from 1 to 65535` : `host ${JSON.stringify(pattern)} ends in ":" with no port`,
      'write the ssh port after the colon, a whole number from 1 to 65535 (web1:2222), or drop the colon',
    );
  }
  return { names, port: n };
}

/** The host and the port after its last colon, minding [IPv6]:port, bare IPv6 and ranges. */
function splitPort(p: string): { host: string; hostAt: number; port?: string; portAt: number } {
  if (isIPv6(p)) return { host: p, hostAt: 0, portAt: 0 };
  const v6 = /^\[([^\]]*)\](?::(.*))?$/s.exec(p);
  if (v6 && isIPv6(v6[1])) return { host: v6[1], hostAt: 1, port: v6[2], portAt: v6[1].length + 3 };
  let depth = 0;
  for (let i = p.length - 1; i >= 0; i--) {
    if (p[i] === ']') depth++;
    else if (p[i] === '[') depth--;
    else if (p[i] === ':' && depth === 0) return { host: p.slice(0, i), hostAt: 0, port: p.slice(i + 1), portAt: i + 1 };
  }
  return { host: p, hostAt: 0, portAt: 0 };
}

function expandRanges(b: Builder, text: string, offset: number, at: CharPos): string[] {
  const open = text.indexOf('[');
  const stray = text.indexOf(']');
  if (stray >= 0 && (open < 0 || stray < open)) b.fail(at(offset + stray), 'a "]" in a host name closes no range', RANGE_FIX);
  if (open < 0) return [text];
  const close = text.indexOf(']', open);
  if (close < 0) b.fail(at(offset + open), `host range ${JSON.stringify(text.slice(open))} has no closing ]`, RANGE_FIX);
  const values = rangeValues(b, text.slice(open + 1, close), offset + open + 1, at);
  const rest = expandRanges(b, text.slice(close + 1), offset + close + 1, at);
  if (values.length * rest.length > MAX_HOSTS)
    b.fail(at(offset + open), `host ranges expand to ${values.length * rest.length} names, over ${MAX_HOSTS}`, 'narrow the range');
  const head = text.slice(0, open);
  return values.flatMap((v) => rest.map((r) => head + v + r));
}

/** The values of the range between brackets; `offset` is where its first character is. */
function rangeValues(b: Builder, spec: string, offset: number, at: CharPos): string[] {
  const parts = spec.split(':');
  if (parts.length < 2 || parts.length > 3) b.fail(at(offset - 1), `"[${spec}]" in a host name is not a range`, RANGE_FIX);
  const [first, end, stepText] = parts;
  // Ansible reads [:5] as [0:5].
  const start = first || '0';
  const endAt = offset + first.length + 1;
  if (!end) b.fail(at(endAt), `range [${spec}] has no end`, RANGE_FIX);
  const step = stepText === undefined ? 1 : /^\d+$/.test(stepText) ? Number(stepText) : NaN;
  if (!(step >= 1))
    b.fail(
      at(endAt + end.length + 1),
      `the step ${JSON.stringify(stepText)} of range [${spec}] is not a whole number of at least 1`,
      'give a positive step, e.g. [1:9:2] for 1, 3, 5, 7 and 9',
    );
  const range: Range = { spec, start, end, step, stepText, offset, endAt };
  if (/^\d+$/.test(start) && /^\d+$/.test(end)) return numberRange(b, range, at);
  if (/^[a-zA-Z]$/.test(start) && /^[a-zA-Z]$/.test(end)) return letterRange(b, range, at);
  return b.fail(
    at(offset),
    `range [${spec}] must have numbers or single letters at both ends`,
    'write both bounds as numbers ([1:9], [01:20]) or both as single letters ([a:f])',
  );
}

interface Range {
  spec: string;
  start: string;
  end: string;
  step: number;
  stepText?: string;
  offset: number;
  endAt: number;
}

function numberRange(b: Builder, r: Range, at: CharPos): string[] {
  const padded = /^0\d/.test(r.start) || /^0\d/.test(r.end);
  if (padded && r.start.length !== r.end.length) {
    const width = Math.max(r.start.length, r.end.length);
    b.fail(
      at(r.endAt),
      `range [${r.spec}]: ${r.start} has ${r.start.length} digits but ${r.end} has ${r.end.length}`,
      `give both bounds the same number of digits to pad the names ([${r.start.padStart(width, '0')}:${r.end.padStart(width, '0')}]), or write them without leading zeros`,
    );
  }
  const [s, e] = [Number(r.start), Number(r.end)];
  if (s > e) backwards(b, r, at);
  const count = Math.floor((e - s) / r.step) + 1;
  if (count > MAX_HOSTS) b.fail(at(r.offset), `range [${r.spec}] has ${count} values, over ${MAX_HOSTS}`, 'narrow the range');
  return Array.from({ length: count }, (_, i) => String(s + i * r.step).padStart(padded ? r.start.length : 0, '0'));
}

function letterRange(b: Builder, r: Range, at: CharPos): string[] {
  const [s, e] = [LETTERS.indexOf(r.start), LETTERS.indexOf(r.end)];
  if (s > e) backwards(b, r, at);
  const values: string[] = [];
  for (let i = s; i <= e; i += r.step) values.push(LETTERS[i]);
  return values;
}

function backwards(b: Builder, r: Range, at: CharPos): never {
  const swapped = [r.end, r.start, ...(r.stepText === undefined ? [] : [r.stepText])].join(':');
  return b.fail(at(r.offset), `range [${r.spec}] starts at ${r.start}, after its end ${r.end}`, `put the smaller bound first: [${swapped}]`);
}

// ---------------------------------------------------------------------------------------------
// Words, as Python's shlex (POSIX mode) splits them: Ansible splits INI host lines with it

interface Word {
  text: string;
  /** Where the word starts in the source. */
  start: number;
  /** Where each character of text came from in the source. */
  offsets: number[];
  /** Where in text each quoted stretch starts. */
  quoteStarts: number[];
}

class WordError extends Error {
  constructor(
    readonly offset: number,
    message: string,
    readonly fix: string,
  ) {
    super(message);
  }
}

const BLANK = /[ \t\r\n\f\v]/;

function splitWords(s: string, comments: boolean): Word[] {
  const words: Word[] = [];
  let word: Word | undefined;
  let i = 0;
  while (i < s.length) {
    if (BLANK.test(s[i])) {
      if (word) words.push(word);
      word = undefined;
      i++;
      continue;
    }
    // As in shlex, an unquoted # ends the line even inside a word.
    if (comments && s[i] === '#') break;
    word ??= { text: '', start: i, offsets: [], quoteStarts: [] };
    i = s[i] === "'" || s[i] === '"' ? readQuoted(s, i, word) : readPlain(s, i, word);
  }
  if (word) words.push(word);
  return words;
}

function append(word: Word, s: string, i: number): void {
  word.text += s[i];
  word.offsets.push(i);
}

function readPlain(s: string, i: number, word: Word): number {
  if (s[i] !== '\\') {
    append(word, s, i);
    return i + 1;
  }
  if (i + 1 >= s.length) throw new WordError(i, 'a backslash at the end of the line escapes nothing', 'remove the backslash, or quote the value');
  append(word, s, i + 1);
  return i + 2;
}

function readQuoted(s: string, i: number, word: Word): number {
  const q = s[i];
  word.quoteStarts.push(word.text.length);
  let j = i + 1;
  for (; j < s.length && s[j] !== q; j++) {
    if (q === '"' && s[j] === '\\' && (s[j + 1] === '"' || s[j + 1] === '\\')) j++;
    append(word, s, j);
  }
  if (j >= s.length) throw new WordError(i, `unterminated ${q} quote`, `close the quote with a matching ${q}, or escape it with a backslash`);
  return j + 1;
}

/** Where character i of a word is; past its end, just after its last character. */
function wordPos(word: Word, line: number): CharPos {
  return (i) => {
    const offset = i < word.offsets.length ? word.offsets[i] : word.offsets.length ? word.offsets[word.offsets.length - 1] + 1 : word.start;
    return { line, col: offset + 1 };
  };
}

// ---------------------------------------------------------------------------------------------
// INI

type SectionKind = 'hosts' | 'children' | 'vars';

interface Section {
  group: string;
  kind: SectionKind;
}

const SECTION = /^\[([^:\]\s]+)(?::([^\]\s]*))?\]\s*(?:[#;].*)?$/;
const CHILD_LINE = /^(\s*)([^:\]\s#;]+)\s*(?:[#;].*)?$/;

function readIni(text: string, b: Builder): void {
  const lines = text.split(/\r?\n/);
  if (lines[0].startsWith('#!')) {
    b.fail(
      { line: 1, col: 1 },
      'this is a script (it starts with #!), not an inventory file, and mcptrace never runs inventory scripts',
      `write its hosts to a file once with "ansible-inventory -i ${path.basename(b.file)} --list --yaml > hosts.yml" and point mcptrace at that file`,
    );
  }
  let section: Section = { group: 'ungrouped', kind: 'hosts' };
  lines.forEach((raw, i) => {
    section = readIniLine(b, raw, i + 1, section);
  });
}

function readIniLine(b: Builder, raw: string, line: number, section: Section): Section {
  const body = raw.trim();
  if (!body || body[0] === '#' || body[0] === ';') return section;
  const indent = raw.length - raw.trimStart().length;
  // A line that starts with [ is a header, unless it is an [IPv6]:port host.
  if (body[0] === '[' && !isIPv6(/^\[([^\]]*)\]/.exec(body)?.[1] ?? '')) return readSection(b, body, { line, col: indent + 1 });
  if (section.kind === 'hosts') readIniHost(b, raw, line, section.group);
  else if (section.kind === 'vars') readIniVar(b, raw, line, section.group);
  else readIniChild(b, raw, line, section.group);
  return section;
}

function readSection(b: Builder, body: string, at: Pos): Section {
  const m = SECTION.exec(body);
  if (!m)
    b.fail(
      at,
      `${JSON.stringify(body)} is not a section header`,
      'write a section header as [group], [group:children] or [group:vars], with no spaces inside the brackets',
    );
  const [, group, kind = 'hosts'] = m;
  if (kind !== 'hosts' && kind !== 'children' && kind !== 'vars') {
    const guess = didYouMean(kind, ['children', 'vars', 'hosts'])[0];
    b.fail(
      { line: at.line, col: at.col + group.length + 2 },
      `unknown section type ":${kind}" in [${group}:${kind}]`,
      `use [${group}:children] for child groups or [${group}:vars] for variables${guess ? ` (did you mean :${guess}?)` : ''}; a plain [${group}] lists hosts`,
    );
  }
  // A :vars or :children section makes the group exist even if no [group] lists hosts.
  b.group(group, true);
  return { group, kind };
}

function iniWords(b: Builder, raw: string, line: number): Word[] {
  try {
    return splitWords(raw, true);
  } catch (e) {
    if (e instanceof WordError) b.fail({ line, col: e.offset + 1 }, e.message, e.fix);
    throw e;
  }
}

function readIniHost(b: Builder, raw: string, line: number, group: string): void {
  const [first, ...rest] = iniWords(b, raw, line);
  if (!first) return;
  const at = wordPos(first, line);
  const { names, port } = expandPattern(b, first.text, at);
  const vars = rest.map((w) => readHostVar(b, w, line));
  for (const name of names) {
    const own = b.addHost(name, group, at(0));
    if (port !== undefined) put(own, 'ansible_port', port);
    for (const { key, value } of vars) put(own, key, value);
  }
}

function readHostVar(b: Builder, w: Word, line: number): { key: string; value: unknown } {
  const eq = w.text.indexOf('=');
  if (eq < 1) {
    b.fail(
      wordPos(w, line)(0),
      eq === 0 ? `host variable ${JSON.stringify(w.text)} has no name before "="` : `expected key=value after the host name, found ${JSON.stringify(w.text)}`,
      'write host variables as key=value, quoting a value with spaces: motd="hello world"',
    );
  }
  const key = w.text.slice(0, eq);
  const raw = w.text.slice(eq + 1);
  // A quoted value is a string; Ansible's literal_eval also strips quotes inside the quotes.
  const value = w.quoteStarts.some((q) => q > eq) ? unwrapQuotes(raw) : scalar(raw);
  checkVar(b, key, value, { line, col: w.offsets[eq] + 2 });
  return { key, value };
}

function unwrapQuotes(s: string): string {
  return s.length >= 2 && (s[0] === '"' || s[0] === "'") && s[s.length - 1] === s[0] ? s.slice(1, -1) : s;
}

/** A plain integer is a number, as in YAML; anything else (true, yes, 1.10, 0755) stays text. */
function scalar(s: string): string | number {
  return /^-?(?:0|[1-9]\d*)$/.test(s) && Number.isSafeInteger(Number(s)) ? Number(s) : s;
}

function readIniVar(b: Builder, raw: string, line: number, group: string): void {
  const eq = raw.indexOf('=');
  const indent = raw.length - raw.trimStart().length;
  if (eq < 0)
    b.fail({ line, col: indent + 1 }, `expected key=value in [${group}:vars], found ${JSON.stringify(raw.trim())}`, 'write one variable per line as key=value');
  const key = raw.slice(0, eq).trim();
  if (!key) b.fail({ line, col: eq + 1 }, `a variable in [${group}:vars] has no name before "="`, 'write one variable per line as key=value');
  const { value, col } = iniVarValue(b, raw, eq + 1, line);
  checkVar(b, key, value, { line, col });
  put(b.group(group, true).vars, key, value);
}

/** In :vars everything after = is the value: one quoted string, or plain text up to a comment. */
function iniVarValue(b: Builder, raw: string, from: number, line: number): { value: unknown; col: number } {
  let i = from;
  while (i < raw.length && BLANK.test(raw[i])) i++;
  const q = raw[i];
  if (q === '"' || q === "'") {
    const close = closingQuote(raw, i);
    if (close < 0) b.fail({ line, col: i + 1 }, `unterminated ${q} quote`, `close the quote with a matching ${q}, or escape it with a backslash`);
    const inside = raw.slice(i + 1, close);
    if (/^\s*(?:#.*)?$/.test(raw.slice(close + 1))) return { value: q === '"' ? inside.replace(/\\(["\\])/g, '$1') : inside, col: i + 1 };
  }
  return { value: scalar(raw.slice(i, commentStart(raw, i)).trimEnd()), col: i + 1 };
}

function closingQuote(s: string, open: number): number {
  for (let j = open + 1; j < s.length; j++) {
    if (s[open] === '"' && s[j] === '\\') j++;
    else if (s[j] === s[open]) return j;
  }
  return -1;
}

/** A # after a blank starts a comment, unless a closed quote holds it. */
function commentStart(s: string, from: number): number {
  for (let j = from; j < s.length; j++) {
    if (s[j] === '"' || s[j] === "'") {
      const close = closingQuote(s, j);
      if (close > 0) j = close;
    } else if (s[j] === '#' && BLANK.test(s[j - 1] ?? ' ')) return j;
  }
  return s.length;
}

function readIniChild(b: Builder, raw: string, line: number, group: string): void {
  const m = CHILD_LINE.exec(raw);
  if (!m) {
    b.fail(
      { line, col: raw.length - raw.trimStart().length + 1 },
      `expected one group name per line in [${group}:children], found ${JSON.stringify(raw.trim())}`,
      `list one child group per line; hosts go in a [${group}] section`,
    );
  }
  b.addChild(group, m[2], { line, col: m[1].length + 1 });
}

// ---------------------------------------------------------------------------------------------
// YAML

const GROUP_KEYS = ['hosts', 'vars', 'children'];

function readYaml(text: string, b: Builder): void {
  const { parseDocument, LineCounter } = yamlLib();
  const lines = new LineCounter();
  // YAML 1.1, as PyYAML reads Ansible's files: yes/no are booleans, << merges.
  const doc = parseDocument(text, { lineCounter: lines, version: '1.1', prettyErrors: false, uniqueKeys: true, logLevel: 'error' });
  const error = doc.errors[0];
  if (error) b.fail(lines.linePos(error.pos[0]), `YAML syntax error: ${error.message.split('\n')[0]}`, yamlFix(error.code));
  new YamlReader(b, doc, lines).read();
}

function yamlFix(code: string): string {
  if (code === 'TAB_AS_INDENT') return 'indent with spaces, not tabs';
  if (code === 'DUPLICATE_KEY') return 'write each key once per mapping: list a host once per group, and merge repeated hosts:, vars: or children: sections';
  return 'fix the YAML at this point: check the indentation, the colons after keys and the quotes';
}

class YamlReader {
  constructor(
    private readonly b: Builder,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  read(): void {
    const root = this.deref(this.doc.contents);
    if (this.isNull(root)) return;
    if (!yamlLib().isMap(root)) {
      this.b.fail(
        this.pos(root),
        `the top level of a YAML inventory must be a mapping of groups, not ${kindOf(root)}`,
        'start the file with "all:" and put hosts:, vars: and children: under it',
      );
    }
    for (const pair of root.items) {
      const name = this.keyText(pair, 'group name');
      if (name === 'plugin' && yamlLib().isScalar(pair.value)) {
        this.b.fail(
          this.pos(pair.key),
          `this is the configuration of the inventory plugin ${JSON.stringify(pair.value.value)}, not an inventory`,
          'write its hosts to a file once with "ansible-inventory -i <this file> --list --yaml > hosts.yml" and point mcptrace at that file',
        );
      }
      this.group(name, pair.value, true, this.pos(pair.key));
    }
  }

  /** A group's entry; a child given with nothing after its colon only names the group. */
  private group(name: string, node: unknown, top: boolean, at: Pos): void {
    const body = this.deref(node);
    if (this.isNull(body)) {
      this.b.group(name, top);
      return;
    }
    if (!yamlLib().isMap(body)) {
      const example = yamlLib().isScalar(body) && typeof body.value === 'string' ? body.value : 'host1';
      this.b.fail(
        this.pos(body, at),
        `group "${name}" is ${kindOf(body)}, not a mapping`,
        `give it hosts:, vars: or children:, e.g. ${name}: { hosts: { ${example}: } }`,
      );
    }
    this.b.group(name, true);
    for (const pair of body.items) this.groupEntry(name, pair);
  }

  private groupEntry(group: string, pair: Pair): void {
    const key = this.keyText(pair, 'key');
    const value = this.deref(pair.value);
    if (key === 'hosts') this.hosts(group, value);
    else if (key === 'vars') this.groupVars(group, value);
    else if (key === 'children') this.children(group, value);
    else {
      const guess = didYouMean(key, GROUP_KEYS)[0];
      this.b.fail(
        this.pos(pair.key),
        `unknown key "${key}" in group "${group}"`,
        `a group takes only hosts:, vars: and children:${guess ? ` (did you mean ${guess}:?)` : ''}; put variables under vars:`,
      );
    }
  }

  private hosts(group: string, node: unknown): void {
    const y = yamlLib();
    if (this.isNull(node)) return;
    // "hosts: web1" is one host, as the YAML plugin reads it.
    if (y.isScalar(node) && typeof node.value === 'string') return this.host(group, node.value, this.charPos(node), null);
    if (!y.isMap(node)) return this.notAMapping('hosts', group, node, 'write the hosts as a mapping, one "name:" per line');
    for (const pair of node.items) this.host(group, this.keyText(pair, 'host name'), this.charPos(pair.key), this.deref(pair.value));
  }

  private host(group: string, pattern: string, at: CharPos, body: unknown): void {
    const { names, port } = expandPattern(this.b, pattern, at);
    const y = yamlLib();
    if (!this.isNull(body) && !y.isMap(body)) {
      const example = y.isScalar(body) ? `e.g. ${pattern}: { ansible_host: ${String(body.value)} }` : `or nothing after "${pattern}:"`;
      this.b.fail(
        this.pos(body, at(0)),
        `the entry of host "${pattern}" in group "${group}" is ${kindOf(body)}, not a mapping of variables`,
        `write its variables as a mapping, ${example}`,
      );
    }
    const vars = y.isMap(body) ? this.vars(body) : [];
    for (const name of names) {
      const own = this.b.addHost(name, group, at(0));
      if (port !== undefined) put(own, 'ansible_port', port);
      for (const { key, value } of vars) put(own, key, value);
    }
  }

  private groupVars(group: string, node: unknown): void {
    if (this.isNull(node)) return;
    if (!yamlLib().isMap(node)) return this.notAMapping('vars', group, node, 'write vars as a mapping, one "name: value" per line');
    const g = this.b.group(group, true);
    for (const { key, value } of this.vars(node)) put(g.vars, key, value);
  }

  private children(group: string, node: unknown): void {
    const y = yamlLib();
    if (this.isNull(node)) return;
    if (y.isScalar(node) && typeof node.value === 'string') return this.b.addChild(group, node.value, this.pos(node));
    if (!y.isMap(node)) return this.notAMapping('children', group, node, 'write the child groups as a mapping, one "name:" per line');
    for (const pair of node.items) {
      const child = this.keyText(pair, 'group name');
      const at = this.pos(pair.key);
      this.b.addChild(group, child, at);
      this.group(child, pair.value, false, at);
    }
  }

  private notAMapping(section: string, group: string, node: unknown, fix: string): never {
    const y = yamlLib();
    const items = y.isSeq(node) ? node.items.map((i) => (y.isScalar(i) ? `${String(i.value)}:` : '')).filter(Boolean) : [];
    return this.b.fail(this.pos(node), `${section} of group "${group}" is ${kindOf(node)}, not a mapping`, items.length ? `${fix}: ${items.join(' ')}` : fix);
  }

  /** Variables with their values as YAML means them (merge keys applied), each checked where it is. */
  private vars(node: YAMLMap): { key: string; value: unknown }[] {
    const values = this.toJs(node) as Record<string, unknown>;
    const nodes = new Map(node.items.map((p) => [yamlLib().isScalar(p.key) ? String(p.key.value) : '', p]));
    return Object.entries(values).map(([key, value]) => {
      const pair = nodes.get(key);
      checkVar(this.b, key, value, this.pos(pair?.value ?? pair?.key ?? node));
      return { key, value };
    });
  }

  private toJs(node: YAMLMap): unknown {
    const y = yamlLib();
    y.visit(node, {
      Alias: (_, alias) => {
        if (!alias.resolve(this.doc))
          this.b.fail(
            this.pos(alias),
            `alias *${alias.source} refers to no anchor`,
            `define the anchor &${alias.source} before the alias, or write the value out`,
          );
      },
    });
    try {
      return node.toJS(this.doc, { maxAliasCount: MAX_YAML_ALIASES });
    } catch (e) {
      return this.b.fail(
        this.pos(node),
        `cannot read these variables: ${(e as Error).message}`,
        `expand at most ${MAX_YAML_ALIASES} aliases (*name), and define each anchor (&name) before its aliases`,
      );
    }
  }

  private keyText(pair: Pair, what: string): string {
    const key = pair.key;
    if (yamlLib().isScalar(key) && ['string', 'number', 'boolean'].includes(typeof key.value)) {
      // The source spelling, so that YAML 1.1 does not turn a host 010 into 8.
      return typeof key.value === 'string' || !key.source ? String(key.value) : key.source;
    }
    return this.b.fail(this.pos(key), `a ${what} must be a plain name, not ${kindOf(key)}`, `write the ${what} as a plain word followed by a colon`);
  }

  private deref(node: unknown): unknown {
    if (!yamlLib().isAlias(node)) return node;
    const target = node.resolve(this.doc);
    if (!target)
      this.b.fail(this.pos(node), `alias *${node.source} refers to no anchor`, `define the anchor &${node.source} before the alias, or write the value out`);
    return target;
  }

  private isNull(node: unknown): node is null | undefined {
    return node === null || node === undefined || (yamlLib().isScalar(node) && node.value === null);
  }

  private pos(node: unknown, fallback: Pos = { line: 1, col: 1 }): Pos {
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    return range ? this.lines.linePos(range[0]) : fallback;
  }

  /** Where character i of a scalar's text is (past its opening quote, if quoted). */
  private charPos(node: unknown): CharPos {
    const start = this.pos(node);
    const type = (node as { type?: string }).type;
    const shift = type === 'QUOTE_DOUBLE' || type === 'QUOTE_SINGLE' ? 1 : 0;
    return (i) => ({ line: start.line, col: start.col + shift + i });
  }
}

function kindOf(node: unknown): string {
  const y = yamlLib();
  if (y.isSeq(node)) return 'a list';
  if (y.isMap(node)) return 'a mapping';
  if (!y.isScalar(node)) return 'not a value';
  const v = node.value;
  if (typeof v === 'symbol') return 'a merge key (<<)';
  if (v === null) return 'empty';
  return typeof v === 'object' ? 'a date' : `a ${typeof v === 'bigint' ? 'number' : typeof v}`;
}

// ---------------------------------------------------------------------------------------------
// Targets: host and group names, comma lists, and plain hosts outside the inventory

const USER_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/;

export function resolveTargets(inv: Inventory | undefined, targets: readonly string[]): FleetHost[] {
  const chosen = new Map<string, FleetHost>();
  for (const target of targets) {
    for (const part of target.split(',')) {
      for (const host of resolveOne(inv, part.trim(), target)) if (!chosen.has(host.name)) chosen.set(host.name, host);
    }
  }
  if (!chosen.size) {
    const what = targets.length ? `${targets.map((t) => JSON.stringify(t)).join(', ')} matched no host` : 'no target was given';
    throw new TargetError(targets.join(','), `no hosts to run on: ${what}`, 'name at least one host, or a group that has hosts');
  }
  return [...chosen.values()];
}

function resolveOne(inv: Inventory | undefined, part: string, target: string): FleetHost[] {
  if (!part) throw new TargetError(target, `the target list ${JSON.stringify(target)} has an empty name in it`, 'separate names with single commas: web1,db1');
  // A name that is both a group and a host means the group, as in Ansible.
  if (inv?.groups.has(part)) return [...inv.hosts.values()].filter((h) => part === 'all' || h.groups.includes(part));
  const known = inv?.hosts.get(part);
  return [known ?? adHocHost(inv, part)];
}

/** A target outside the inventory: user@host:port, or the same around an inventory host. */
function adHocHost(inv: Inventory | undefined, part: string): FleetHost {
  const parsed = parseAddress(part);
  if (typeof parsed === 'string') throw refusal(inv, part, parsed);
  const base = inv?.hosts.get(parsed.host);
  const host: FleetHost = base
    ? { ...base, name: part, groups: [...base.groups], vars: { ...base.vars } }
    : { name: part, address: parsed.host, groups: [], vars: {} };
  if (parsed.user !== undefined) host.user = parsed.user;
  if (parsed.port !== undefined) host.port = parsed.port;
  return host;
}

/** user@host:port, or why the target is not one. */
function parseAddress(target: string): { user?: string; host: string; port?: number } | string {
  const risk = optionRisk(target);
  if (risk) return risk;
  const at = target.indexOf('@');
  const user = at < 0 ? undefined : target.slice(0, at);
  if (user !== undefined && !USER_NAME.test(user)) return `${JSON.stringify(user)} is not a user name`;
  const rest = target.slice(at + 1);
  if (rest.startsWith('-')) return 'its host starts with "-", so ssh would read it as an option';
  const { host, port } = splitPort(rest);
  const v6 = isIPv6(host) && (port === undefined || rest.startsWith('['));
  if (!v6 && !isIPv4(host) && !HOST_NAME.test(host)) return `${JSON.stringify(host)} is not a host name or an IPv4 or IPv6 address`;
  if (port === undefined) return { user, host };
  if (!port) return 'it ends in ":" with no port';
  const n = /^\d+$/.test(port) ? portOf(port) : undefined;
  return n === undefined ? `port ${JSON.stringify(port)} is not a whole number from 1 to 65535` : { user, host, port: n };
}

function refusal(inv: Inventory | undefined, part: string, reason: string): TargetError {
  if (!inv) {
    return new TargetError(
      part,
      `target ${JSON.stringify(part)} is not a host name or address (no inventory was given): ${reason}`,
      'give a host name or address such as web1.example.com, ops@10.0.0.5:2222 or [::1]:2222, or pass an inventory that defines it',
    );
  }
  const near = nearest(part, [...inv.groups.keys(), ...inv.hosts.keys()]);
  return new TargetError(
    part,
    `target ${JSON.stringify(part)} is not a host or group of ${inv.file}, nor a host name or address: ${reason}`,
    `name a host or group of ${inv.file}${near.length ? ` (the closest: ${near.join(', ')})` : ''}, or give a host name or address such as ops@10.0.0.5:2222 or [::1]:2222`,
  );
}

/** The close names if any are close, else the three least far. */
function nearest(word: string, names: string[]): string[] {
  const close = didYouMean(word, names);
  if (close.length) return close;
  return [...new Set(names)]
    .map((n) => ({ n, d: editDistance(word.toLowerCase(), n.toLowerCase()) }))
    .sort((x, y) => x.d - y.d || compare(x.n, y.n))
    .slice(0, 3)
    .map((x) => x.n);
}
