import { createRequire } from 'node:module';
import type { Node } from 'yaml';

/** One tool call of a session: what a client sent, to send again. */
export interface SessionCall {
  tool: string;
  input: unknown;
}

/** A named list of tool calls, saved to replay an investigation (on this machine or another). */
export interface Session {
  name: string;
  description?: string;
  createdAt: number;
  calls: SessionCall[];
}

/** A name that is also a safe file name and CLI argument. */
export const SESSION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** What is wrong with a session name, or undefined when it is fine. */
export function sessionNameProblem(name: unknown): string | undefined {
  if (typeof name === 'string' && SESSION_NAME.test(name)) return undefined;
  const shown = typeof name === 'string' ? JSON.stringify(name) : `a ${name === null ? 'null' : typeof name}`;
  return `${shown} is not a valid session name: use 1 to 64 letters, digits, '.', '_' or '-', ` + `starting with a letter or digit (e.g. "disk-latency-2")`;
}

/** What is wrong with a session's calls, or undefined when they are well formed. */
export function sessionCallsProblem(calls: unknown): string | undefined {
  if (!Array.isArray(calls)) return "a session's calls must be a list of { tool, input }";
  for (const [i, c] of calls.entries()) {
    const call = c as Partial<SessionCall> | null;
    if (typeof call !== 'object' || call === null || typeof call.tool !== 'string' || call.tool === '')
      return `call ${i + 1} needs a tool name (a non-empty string)`;
    if (typeof call.input !== 'object' || call.input === null || Array.isArray(call.input))
      return `call ${i + 1} (${call.tool}) needs an input object (the tool's arguments, {} for none)`;
  }
  return undefined;
}

/** How the header of an exported session tells its reader to import it. */
export const SESSION_IMPORT_HINT = 'mcptrace session import FILE (or the import_session tool)';

// yaml costs ~40 ms to import, and only session export and import need it.
let yaml: typeof import('yaml') | undefined;
const yamlLib = (): typeof import('yaml') => (yaml ??= createRequire(import.meta.url)('yaml') as typeof import('yaml'));

/**
 * A session as YAML a person reads and edits: a header saying what the file is, then each
 * call's tool and input, multi-line programs as `|` blocks so they read as code.
 */
export function sessionToYaml(s: Session, opts: { importHint?: string } = {}): string {
  const { Document } = yamlLib();
  const doc = new Document({
    name: s.name,
    ...(s.description ? { description: s.description } : {}),
    created_at: new Date(s.createdAt).toISOString(),
    calls: s.calls.map((c) => ({ tool: c.tool, input: c.input })),
  });
  doc.commentBefore = [
    ` mcptrace session "${s.name}": ${s.calls.length} tool call${s.calls.length === 1 ? '' : 's'} to run again, in order.`,
    ' Each call is a tool and its input, as the MCP tool takes it. Edit freely: add, remove',
    ' or change calls. Allowed keys: name, description, created_at, calls; in a call: tool, input.',
    ` Import it with: ${opts.importHint ?? SESSION_IMPORT_HINT}`,
  ].join('\n');
  return doc.toString({ blockQuote: 'literal', lineWidth: 0 });
}

export interface SessionProblem {
  message: string;
  line: number;
  column: number;
  file: string;
}

const TOP_KEYS = ['name', 'description', 'created_at', 'calls'];
const CALL_KEYS = ['tool', 'input'];

/**
 * Reads an exported (maybe hand-edited) session. Never throws on a bad file: every problem
 * found is returned with its line and column, and `session` only when there are none.
 */
export function sessionFromYaml(text: string, file: string): { session?: Session; problems: SessionProblem[] } {
  const Y = yamlLib();
  const lines = new Y.LineCounter();
  const doc = Y.parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const problems: SessionProblem[] = [];
  const at = (node: Node | null | undefined, message: string, fallback = 0): void => {
    const { line, col } = lines.linePos(node?.range?.[0] ?? fallback);
    problems.push({ message, line, column: col, file });
  };
  for (const e of [...doc.errors, ...doc.warnings]) {
    const pos = e.linePos?.[0] ?? lines.linePos(e.pos[0]);
    problems.push({ message: e.message.split('\n')[0], line: pos.line, column: pos.col, file });
  }
  if (problems.length) return { problems };

  const root = doc.contents;
  if (!Y.isMap(root)) {
    at(root, `a session file is a mapping with the keys ${TOP_KEYS.join(', ')} (export one with mcptrace to see the shape)`);
    return { problems };
  }
  const fields = keyed(Y, root.items, TOP_KEYS, 'the session', at);

  // A key that is there without a value was reported by keyed(): only an absent one is reported here.
  const nameNode = fields.get('name');
  const name = scalarString(Y, nameNode);
  if (!fields.has('name')) at(root, 'the session has no name: add `name: my-session`');
  else if (nameNode) {
    const problem = sessionNameProblem(name);
    if (problem) at(nameNode, problem);
  }

  const descNode = fields.get('description');
  const description = descNode ? scalarString(Y, descNode) : undefined;
  if (descNode && description === undefined) at(descNode, 'description must be a string');

  let createdAt = Date.now();
  const createdNode = fields.get('created_at');
  if (createdNode) {
    const v = Y.isScalar(createdNode) ? createdNode.value : undefined;
    const t = typeof v === 'string' ? Date.parse(v) : typeof v === 'number' ? v : NaN;
    if (Number.isNaN(t)) at(createdNode, 'created_at must be a date and time, e.g. 2024-05-01T12:00:00Z (or leave it out)');
    else createdAt = t;
  }

  const calls: SessionCall[] = [];
  const callsNode = fields.get('calls');
  if (!fields.has('calls')) at(root, 'the session has no calls: add `calls:` with a list of `- tool: NAME` / `input: {...}` entries');
  else if (!callsNode) {
    // Reported by keyed().
  } else if (!Y.isSeq(callsNode) || callsNode.items.length === 0) at(callsNode, 'calls must be a non-empty list of `- tool: NAME` / `input: {...}` entries');
  else {
    for (const [i, item] of callsNode.items.entries()) {
      const where = `call ${i + 1}`;
      if (!Y.isMap(item)) {
        at(item as Node, `${where} must be a mapping with the keys ${CALL_KEYS.join(', ')}`);
        continue;
      }
      const f = keyed(Y, item.items, CALL_KEYS, where, at);
      const toolNode = f.get('tool');
      const tool = scalarString(Y, toolNode);
      if (!f.has('tool')) at(item, `${where} has no tool: add \`tool: NAME\``);
      else if (toolNode && !tool) at(toolNode, `${where}'s tool must be a tool name (a non-empty string)`);
      const inputNode = f.get('input');
      if (!f.has('input')) at(item, `${where} has no input: add \`input: {}\` when the tool takes none`);
      else if (!inputNode) {
        // Reported by keyed().
      } else if (!Y.isMap(inputNode)) at(inputNode, `${where}'s input must be a mapping of the tool's arguments (\`{}\` for none)`);
      else if (tool) calls.push({ tool, input: inputNode.toJS(doc) });
    }
  }
  if (problems.length) return { problems };
  return { session: { name: name!, ...(description ? { description } : {}), createdAt, calls }, problems };
}

type Yaml = typeof import('yaml');
type At = (node: Node | null | undefined, message: string) => void;

/**
 * The values of a mapping's known keys. An unknown key is a problem that lists the allowed
 * ones; a key with no value is a problem at the key, and left out.
 */
function keyed(Y: Yaml, pairs: { key: unknown; value: unknown }[], allowed: string[], what: string, at: At): Map<string, Node | undefined> {
  const out = new Map<string, Node | undefined>();
  for (const pair of pairs) {
    const key = Y.isScalar(pair.key) ? String(pair.key.value) : undefined;
    if (key === undefined || !allowed.includes(key)) {
      at(pair.key as Node, `unknown key ${key === undefined ? '(not a plain key)' : JSON.stringify(key)} in ${what}: allowed keys are ${allowed.join(', ')}`);
    } else if (pair.value === null || pair.value === undefined || (Y.isScalar(pair.value) && pair.value.value === null)) {
      at(pair.key as Node, `${key} in ${what} has no value`);
      out.set(key, undefined);
    } else out.set(key, pair.value as Node);
  }
  return out;
}

function scalarString(Y: Yaml, node: Node | null | undefined): string | undefined {
  return node && Y.isScalar(node) && typeof node.value === 'string' ? node.value : undefined;
}
