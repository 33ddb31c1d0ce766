import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import jsonc from 'jsonc-parser';
import { describe, expect, it } from 'vitest';
import { BIN, REPO } from '../helpers/mcp.js';

/** The real CLI in a directory of its own, with its own HOME: setup edits files there only. */
function setup(args: string[], dir: string) {
  const r = spawnSync(process.execPath, [BIN, 'setup', ...args], {
    cwd: dir,
    env: { ...process.env, HOME: dir, XDG_CONFIG_HOME: '' },
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const entry = { type: 'stdio', command: process.execPath, args: [path.join(REPO, 'bin/run.js'), 'serve'] };

// What VS Code writes and accepts: comments, a trailing comma, another server, tabs.
const VSCODE_CONFIG = [
  '{',
  '\t// Servers for this workspace',
  '\t"servers": {',
  '\t\t"github": { "type": "http", "url": "https://api.githubcopilot.com/mcp/" }, // keep this one',
  '\t},',
  '\t/* inputs come later */',
  '\t"inputs": [],',
  '}',
  '',
].join('\n');

describe('setup edits real JSONC config files in place', () => {
  it('keeps comments, trailing commas, formatting and other servers, and is idempotent', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mcptrace-setup-'));
    const file = path.join(dir, '.vscode/mcp.json');
    mkdirSync(path.dirname(file));
    writeFileSync(file, VSCODE_CONFIG);

    const first = setup(['vscode'], dir);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`updated ${file} (previous version kept as ${file}.bak)`);
    const written = readFileSync(file, 'utf8');
    // Every line of the original is still there, unchanged, in the same order.
    const kept = written.split('\n').filter((l) => VSCODE_CONFIG.split('\n').includes(l));
    expect(kept).toEqual(VSCODE_CONFIG.split('\n'));
    expect(written).toContain('\t\t"mcptrace": {\n\t\t\t"type": "stdio",');
    const errors: jsonc.ParseError[] = [];
    const parsed = jsonc.parse(written, errors, { allowTrailingComma: true });
    expect(errors).toEqual([]);
    expect(parsed.servers.mcptrace).toEqual(entry);
    expect(parsed.servers.github.url).toBe('https://api.githubcopilot.com/mcp/');
    expect(readFileSync(`${file}.bak`, 'utf8')).toBe(VSCODE_CONFIG);

    const again = setup(['vscode'], dir);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(`${file} already has the mcptrace entry; nothing changed.\n`);
    expect(readFileSync(file, 'utf8')).toBe(written);
  });

  it('replaces an outdated mcptrace entry and nothing else', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mcptrace-setup-'));
    const file = path.join(dir, '.cursor/mcp.json');
    mkdirSync(path.dirname(file));
    const old = '{\n  "mcpServers": {\n    "mcptrace": { "command": "/old/node", "args": ["serve"] },\n    "other": { "command": "x" }, // mine\n  },\n}\n';
    writeFileSync(file, old);
    expect(setup(['cursor'], dir).code).toBe(0);
    const written = readFileSync(file, 'utf8');
    expect(written).toContain('    "other": { "command": "x" }, // mine\n  },\n}\n');
    expect(written).not.toContain('/old/node');
    const { command, args } = entry;
    expect(jsonc.parse(written, [], { allowTrailingComma: true }).mcpServers.mcptrace).toEqual({ command, args });
  });

  it('keeps Windows line ends and a byte-order mark', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mcptrace-setup-'));
    const file = path.join(dir, '.cursor/mcp.json');
    mkdirSync(path.dirname(file));
    writeFileSync(file, '\uFEFF{\r\n  "mcpServers": {\r\n    "other": { "command": "x" }\r\n  }\r\n}\r\n');
    const r = setup(['cursor'], dir);
    expect(r.stderr).toBe('');
    const written = readFileSync(file, 'utf8');
    expect(written.startsWith('\uFEFF{\r\n  "mcpServers": {\r\n    "mcptrace": {\r\n')).toBe(true);
    expect(written.endsWith('    "other": { "command": "x" }\r\n  }\r\n}\r\n')).toBe(true);
    expect(written.replace(/\r\n/g, '')).not.toContain('\n');
    expect(setup(['cursor'], dir).stdout).toContain('already has the mcptrace entry; nothing changed');
  });

  it('refuses an invalid file with file:line:col, the line and a fix, and never overwrites it', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mcptrace-setup-'));
    const file = path.join(dir, '.cursor/mcp.json');
    mkdirSync(path.dirname(file));
    const broken = '{\n  // two servers\n  "mcpServers": {\n    "a": { "command": "x" }\n    "b": { "command": "y" }\n  }\n}\n';
    writeFileSync(file, broken);
    const r = setup(['cursor'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `Error: ${file}:5:5: not valid JSON: a comma is missing before this [syntax]\n` +
        '  5 |     "b": { "command": "y" }\n' +
        '    |     ^\n' +
        'Fix the file there (comments and trailing commas are fine), or move it away; then run setup again. Nothing was written.\n',
    );
    expect(readFileSync(file, 'utf8')).toBe(broken);
    expect(existsSync(`${file}.bak`)).toBe(false);

    writeFileSync(file, '{ "mcpServers": ["x"] }');
    const wrongShape = setup(['cursor'], dir);
    expect(wrongShape.code).toBe(2);
    expect(wrongShape.stderr).toContain(`${file}:1:17: "mcpServers" is an array, not an object`);
    expect(readFileSync(file, 'utf8')).toBe('{ "mcpServers": ["x"] }');
  });

  it('--print only prints the entry, even with an invalid config present, and --dry-run writes nothing', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mcptrace-setup-'));
    const file = path.join(dir, '.cursor/mcp.json');
    mkdirSync(path.dirname(file));
    writeFileSync(file, '{ not json at all');
    const printed = setup(['cursor', '--print'], dir);
    expect(printed.stderr).toBe('');
    expect(printed.code).toBe(0);
    const { command, args } = entry;
    expect(JSON.parse(printed.stdout)).toEqual({ mcptrace: { command, args } });
    expect(JSON.parse(setup(['vscode', '--print'], dir).stdout)).toEqual({ mcptrace: entry });
    expect(readFileSync(file, 'utf8')).toBe('{ not json at all');

    writeFileSync(file, '{\n  "mcpServers": {}, // empty\n}\n');
    const dry = setup(['cursor', '--dry-run'], dir);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`would update ${file}`);
    expect(dry.stdout).toContain('"mcptrace": {');
    expect(dry.stdout).toContain('// empty');
    expect(readFileSync(file, 'utf8')).toBe('{\n  "mcpServers": {}, // empty\n}\n');
  });
});
