import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../config/paths.js';

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

export class ConfigFileError extends Error {}

/** Computes the new config without touching the disk. */
export function planSetup(client: ClientName, env?: NodeJS.ProcessEnv, cwd?: string): SetupPlan {
  const { file, key } = clientTarget(client, env, cwd);
  let current: Record<string, unknown> = {};
  let raw: string | undefined;
  if (existsSync(file)) {
    raw = readFileSync(file, 'utf8');
    try {
      current = raw.trim() ? JSON.parse(raw) : {};
    } catch (e) {
      throw new ConfigFileError(`${file} is not valid JSON (${(e as Error).message}); fix it or move it away, then run setup again. Nothing was written.`);
    }
  }
  const next = { ...current, [key]: { ...((current[key] as Record<string, unknown> | undefined) ?? {}), mcptrace: serverEntry(client) } };
  const content = `${JSON.stringify(next, null, 2)}\n`;
  if (raw !== undefined && JSON.stringify(current) === JSON.stringify(next)) return { file, action: 'unchanged', content: raw };
  return { file, action: raw === undefined ? 'create' : 'update', content, backup: raw === undefined ? undefined : `${file}.bak` };
}

export function applySetup(plan: SetupPlan): void {
  if (plan.action === 'unchanged') return;
  mkdirSync(path.dirname(plan.file), { recursive: true });
  if (plan.backup) copyFileSync(plan.file, plan.backup);
  writeFileSync(plan.file, plan.content);
}
