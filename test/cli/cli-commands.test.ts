import { runCommand } from '@oclif/test';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Core } from '../../src/core/core.js';
import { runCli } from '../helpers/cli.js';
import { REPO } from '../helpers/mcp.js';

const run = (args: string[]) => runCommand(args, { root: REPO });

describe('generated commands', () => {
  it('help for a generated command lists the flags from its schema', async () => {
    const { stdout } = await run(['syscalls', '--help']);
    expect(stdout).toContain('Count system calls');
    expect(stdout).toMatch(/--pid=integer 1\.\.4194304\s+Only trace this process id/);
    expect(stdout).toMatch(/--comm=string/);
    expect(stdout).toMatch(/--duration=integer 1\.\.3600\s+\[default: 5\]/);
    // A terminal trace always runs in the foreground: no --wait flag, and none in the examples.
    expect(stdout).not.toMatch(/--(\[no-\])?wait/);
    expect(stdout).toContain('$ mcptrace syscalls --comm nginx --duration 5');
  });

  it('an invalid flag value gives the same message as over MCP, naming the command instead of the tool', async () => {
    const { stderr } = await run(['probes', '--offset', 'abc', '--limit', '0']);
    const mcp = await new Core({ env: { HOME: '/nonexistent' } }).callTool('list_probes', { offset: 'abc', limit: 0 });
    expect(mcp.isError).toBe(true);
    expect(mcp.text).toContain('list_probes');
    expect(stderr).toBe(`Error: ${mcp.text.replaceAll('list_probes', 'mcptrace probes')}\n`);
    expect(process.exitCode).toBe(2);
    process.exitCode = 0;
  });

  it('tools validate output matches the golden file', async () => {
    const { stdout } = await run(['tools', 'validate', 'test/fixtures/bad-manifests']);
    const golden = path.join(REPO, 'test/golden/tools-validate.out');
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden, stdout);
    expect(stdout).toBe(readFileSync(golden, 'utf8'));
    expect(process.exitCode).toBe(1);
    process.exitCode = 0;
  });

  it('with --no-history, result, stop and ps say plainly that a terminal cannot see runs of another process', async () => {
    // A process of its own: the CLI reads --no-history from its argv once, at start-up.
    for (const argv of [['ps'], ['result', 'exec-1abcd'], ['stop', 'exec-1abcd']]) {
      const cli = runCli([...argv, '--no-history']);
      expect(await cli.exited).toBe(2);
      expect(cli.stderr()).toContain(`\`mcptrace ${argv[0]}\` cannot see any trace with the history off`);
      expect(cli.stderr()).toContain('Drop --no-history');
    }
  });

  it('tools validate passes the built-in manifests', async () => {
    const { stdout } = await run(['tools', 'validate', 'tools.d']);
    expect(stdout).toBe(`${readdirSync(path.join(REPO, 'tools.d')).length} files checked, no problems\n`);
  });

  it('tools list shows name, kind and description; --json is parseable', async () => {
    const { stdout } = await run(['tools', 'list']);
    expect(stdout.split('\n')[0]).toMatch(/^NAME\s+KIND\s+COMMAND\s+DESCRIPTION$/);
    expect(stdout).toMatch(/^exec_program\s+bpftrace\s+exec\s+Run a bpftrace program/m);
    const json = JSON.parse((await run(['tools', 'list', '--json'])).stdout);
    expect(json.map((t: { name: string }) => t.name)).toContain('execsnoop');
  });
});

describe('setup', () => {
  it('writes valid JSON, is idempotent, and keeps a backup of an existing file', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'mcptrace-home-'));
    const saved = { HOME: process.env.HOME, XDG_CONFIG_HOME: process.env.XDG_CONFIG_HOME };
    process.env.HOME = home;
    delete process.env.XDG_CONFIG_HOME;
    try {
      const file = path.join(home, '.config/Claude/claude_desktop_config.json');
      const first = await run(['setup', 'claude-desktop']);
      expect(first.stdout).toContain(`created ${file}`);
      const cfg = JSON.parse(readFileSync(file, 'utf8'));
      expect(cfg.mcpServers.mcptrace.args).toEqual([path.join(REPO, 'bin/run.js'), 'serve']);
      expect(existsSync(`${file}.bak`)).toBe(false);

      const again = await run(['setup', 'claude-desktop']);
      expect(again.stdout).toContain('already has the mcptrace entry; nothing changed');

      writeFileSync(file, JSON.stringify({ mcpServers: { other: { command: 'x' } }, theme: 'dark' }));
      const dry = await run(['setup', 'claude-desktop', '--dry-run']);
      expect(dry.stdout).toContain(`would update ${file}`);
      expect(JSON.parse(readFileSync(file, 'utf8')).mcpServers.mcptrace).toBeUndefined();

      await run(['setup', 'claude-desktop']);
      const merged = JSON.parse(readFileSync(file, 'utf8'));
      expect(Object.keys(merged.mcpServers).sort()).toEqual(['mcptrace', 'other']);
      expect(merged.theme).toBe('dark');
      expect(JSON.parse(readFileSync(`${file}.bak`, 'utf8')).mcpServers.mcptrace).toBeUndefined();

      writeFileSync(file, '{ broken');
      const bad = await run(['setup', 'claude-desktop']);
      expect(bad.stderr).toContain(`${file}:1:3: not valid JSON`);
      expect(readFileSync(file, 'utf8')).toBe('{ broken');
      process.exitCode = 0;
    } finally {
      process.env.HOME = saved.HOME;
      if (saved.XDG_CONFIG_HOME) process.env.XDG_CONFIG_HOME = saved.XDG_CONFIG_HOME;
    }
  });

  it('VS Code uses "servers" with type stdio', async () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'mcptrace-vscode-'));
    const { planSetup } = await import('../../src/cli/client-config.js');
    const plan = planSetup('vscode', { HOME: cwd }, cwd);
    expect(plan.file).toBe(path.join(cwd, '.vscode/mcp.json'));
    expect(JSON.parse(plan.content).servers.mcptrace.type).toBe('stdio');
  });
});
