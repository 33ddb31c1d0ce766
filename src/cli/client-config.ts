import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import jsonc from 'jsonc-parser';
import { PACKAGE_ROOT } from '../config/paths.js';
import { formatProblemWithSource } from '../manifest/problem.js';
import { lineColAt } from '../util/text-position.js';

export const CLIENTS = ['claude-desktop', 'claude-code', 'vscode', 'cursor'] as const;
export type ClientName = (typeof CLIENTS)[number];

export interface ClientTarget {
  file: string;
  /** Key under which servers live: VS Code says "servers", the others "mcpServers". */
  key: 'mcpServers' | 'servers';
}

export function clientTarget(client: ClientName, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): ClientTarget {
  const home = env.HOME || os.homedir();
  const xdg = env.XDG_CONFIG_HOME || path.join(home, '.config');
  switch (client) {
    case 'claude-desktop':
      return {
        file:
          process.platform === 'darwin'
            ? path.join(home, 'Library/Application Support/Claude/claude_desktop_config.json')
            : path.join(xdg, 'Claude/claude_desktop_config.json'),
        key: 'mcpServers',
      };
    case 'claude-code':
      return { file: path.join(home, '.claude.json'), key: 'mcpServers' };
    case 'vscode':
      return { file: path.join(cwd, '.vscode/mcp.json'), key: 'servers' };
    case 'cursor':
      return { file: path.join(home, '.cursor/mcp.json'), key: 'mcpServers' };
  }
}

export function serverEntry(client: ClientName): Record<string, unknown> {
  const entry = { command: process.execPath, args: [path.join(PACKAGE_ROOT, 'bin/run.js'), 'serve'] };
  return client === 'vscode' ? { type: 'stdio', ...entry } : entry;
}

export interface SetupPlan {
  file: string;
  action: 'create' | 'update' | 'unchanged';
  content: string;
  backup?: string;
}

/** A config file mcptrace will not edit; the message says where, what and how to fix it. */
export class ConfigFileError extends Error {}

/** The snippet to paste by hand: what `setup --print` shows, without looking at any file. */
export function printedEntry(client: ClientName): string {
  return `${JSON.stringify({ mcptrace: serverEntry(client) }, null, 2)}\n`;
}

// JSONC as the clients read it: VS Code and Cursor accept comments and trailing commas.
const JSONC_OPTIONS = { allowTrailingComma: true, disallowComments: false };

function configError(file: string, raw: string, offset: number, what: string, fix: string): ConfigFileError {
  const { line, col } = lineColAt(raw, offset);
  const located = formatProblemWithSource({ file, line, col, message: what, kind: 'syntax' }, raw);
  return new ConfigFileError(`${located}\n${fix}; then run setup again. Nothing was written.`);
}

// What jsonc-parser's error codes mean at the place they point to; others are spelled out.
const PARSE_ERROR_TEXT: Partial<Record<string, string>> = {
  CommaExpected: 'a comma is missing before this',
  ColonExpected: 'a colon is missing after the property name',
  PropertyNameExpected: 'a property name in double quotes is expected here',
  ValueExpected: 'a value is expected here',
  CloseBraceExpected: 'a closing } is missing',
  CloseBracketExpected: 'a closing ] is missing',
  EndOfFileExpected: 'there is text after the end of the JSON value',
  InvalidSymbol: 'unexpected character here (strings and property names need double quotes)',
  UnexpectedEndOfString: 'a string is not closed',
  UnexpectedEndOfComment: 'a /* comment is not closed',
};

function describeParseError(code: jsonc.ParseErrorCode): string {
  const name = jsonc.printParseErrorCode(code);
  return PARSE_ERROR_TEXT[name] ?? name.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
}

/** The file's own indentation and line ends, so the inserted entry looks like the rest. */
function formattingOf(raw: string): jsonc.FormattingOptions {
  const indent = /^([ \t]+)\S/m.exec(raw)?.[1];
  return {
    insertSpaces: !indent?.startsWith('\t'),
    tabSize: indent && !indent.startsWith('\t') ? indent.length : indent ? 1 : 2,
    eol: raw.includes('\r\n') ? '\r\n' : '\n',
  };
}

const withArticle = (type: string) => `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Computes the new config without touching the disk. An existing file is edited in place as
 * JSONC: only the mcptrace entry changes, and comments, trailing commas, key order and
 * formatting elsewhere stay as they were. A file that does not parse is refused with its
 * location, never rewritten.
 */
export function planSetup(client: ClientName, env?: NodeJS.ProcessEnv, cwd?: string): SetupPlan {
  const { file, key } = clientTarget(client, env, cwd);
  const entry = serverEntry(client);
  const fresh = `${JSON.stringify({ [key]: { mcptrace: entry } }, null, 2)}\n`;
  if (!existsSync(file)) return { file, action: 'create', content: fresh };
  const original = readFileSync(file, 'utf8');
  // A byte-order mark (some Windows editors write one) is not JSON: set aside, put back on write.
  const bom = original.startsWith('\uFEFF') ? '\uFEFF' : '';
  const raw = original.slice(bom.length);
  if (!raw.trim()) return { file, action: 'update', content: fresh, backup: `${file}.bak` };
  const errors: jsonc.ParseError[] = [];
  const tree = jsonc.parseTree(raw, errors, JSONC_OPTIONS);
  if (errors.length) {
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more problem${errors.length > 2 ? 's' : ''} after it)` : '';
    throw configError(
      file,
      raw,
      errors[0].offset,
      `not valid JSON: ${describeParseError(errors[0].error)}${more}`,
      'Fix the file there (comments and trailing commas are fine), or move it away',
    );
  }
  if (tree?.type !== 'object') {
    throw configError(
      file,
      raw,
      tree?.offset ?? 0,
      `the top level is ${tree ? withArticle(tree.type) : 'empty'}, not an object`,
      `An MCP config is an object: { "${key}": { … } }. Fix the file, or move it away`,
    );
  }
  const servers = jsonc.findNodeAtLocation(tree, [key]);
  if (servers && servers.type !== 'object') {
    throw configError(file, raw, servers.offset, `"${key}" is ${withArticle(servers.type)}, not an object`, `Make it an object of servers: "${key}": { … }`);
  }
  const current = servers && jsonc.findNodeAtLocation(servers, ['mcptrace']);
  if (current && sameJson(jsonc.getNodeValue(current), entry)) return { file, action: 'unchanged', content: original };
  // Inserted first in its object: the edit then touches no line of the entries already there.
  const edits = jsonc.modify(raw, [key, 'mcptrace'], entry, { formattingOptions: formattingOf(raw), getInsertionIndex: () => 0 });
  return { file, action: 'update', content: bom + jsonc.applyEdits(raw, edits), backup: `${file}.bak` };
}

export function applySetup(plan: SetupPlan): void {
  if (plan.action === 'unchanged') return;
  mkdirSync(path.dirname(plan.file), { recursive: true });
  if (plan.backup) copyFileSync(plan.file, plan.backup);
  writeFileSync(plan.file, plan.content);
}
