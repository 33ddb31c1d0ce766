import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadToolFile, loadTools } from '../../src/core/tool-loader.js';
import { formatProblem } from '../../src/manifest/problem.js';

const BAD = path.join(__dirname, '../fixtures/bad-manifests');

/** Problems as a user sees them, with paths relative to the fixture folder. */
function problemsOf(file: string): string {
  return `${loadToolFile(file, { eager: true })
    .problems.map((p) => formatProblem({ ...p, file: path.relative(BAD, p.file) }))
    .join('\n')}\n`;
}

describe('manifest loader: golden bad manifests', () => {
  const cases = readdirSync(BAD).filter((f) => f.endsWith('.yaml'));
  it('has a golden .out for every bad manifest', () => {
    expect(cases.length).toBeGreaterThanOrEqual(8);
    for (const c of cases) expect(existsSync(path.join(BAD, c.replace(/\.yaml$/, '.out'))), c).toBe(true);
  });
  for (const c of cases) {
    it(`${c} reports file:line:col problems`, () => {
      const golden = path.join(BAD, c.replace(/\.yaml$/, '.out'));
      const got = problemsOf(path.join(BAD, c));
      if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden, got);
      expect(got).toBe(readFileSync(golden, 'utf8'));
      expect(got).toMatch(/^\S+:\d+:\d+: .+ \[[a-z-]+\]$/m);
    });
  }
});

describe('manifest loader: directories', () => {
  it('loads every built-in manifest without problems', () => {
    const r = loadTools({ env: { HOME: '/nonexistent' } });
    expect(r.problems.map(formatProblem)).toEqual([]);
    const names = r.tools.map((t) => t.def.name);
    for (const n of ['exec_program', 'get_result', 'stop_execution', 'list_executions', 'list_probes', 'bpf_info', 'count_syscalls', 'execsnoop']) {
      expect(names).toContain(n);
    }
    expect(new Set(r.tools.map((t) => t.def.kind))).toEqual(new Set(['bpftrace', 'template', 'bcc', 'builtin']));
  });

  it('skips a bad user manifest, reports it, and keeps the good ones', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mcptrace-tools-'));
    copyFileSync(path.join(BAD, 'unknown-key.yaml'), path.join(dir, 'broken.yaml'));
    copyFileSync(path.join(__dirname, '../fixtures/user-tools/hello_user.yaml'), path.join(dir, 'hello_user.yaml'));
    const r = loadTools({ toolsDirs: [dir], env: { HOME: '/nonexistent' } });
    expect(r.tools.map((t) => t.def.name)).toContain('hello_user');
    expect(r.tools.map((t) => t.def.name)).toContain('exec_program');
    expect(r.problems.map(formatProblem).join('\n')).toContain(`${path.join(dir, 'broken.yaml')}:3:1: unknown key "descripton"`);
  });

  it('reads MCPTRACE_TOOLS_PATH and XDG_CONFIG_HOME/mcptrace/tools.d', () => {
    const xdg = mkdtempSync(path.join(os.tmpdir(), 'mcptrace-xdg-'));
    const envDir = mkdtempSync(path.join(os.tmpdir(), 'mcptrace-env-'));
    const xdgTools = path.join(xdg, 'mcptrace', 'tools.d');
    mkdirSync(xdgTools, { recursive: true });
    const src = readFileSync(path.join(__dirname, '../fixtures/user-tools/hello_user.yaml'), 'utf8');
    writeFileSync(path.join(xdgTools, 'a.yaml'), src.replace('name: hello_user', 'name: from_xdg').replace('aliases: [hello]', 'aliases: [hx]'));
    writeFileSync(path.join(envDir, 'b.yaml'), src.replace('name: hello_user', 'name: from_env').replace('aliases: [hello]', 'aliases: [he]'));
    const r = loadTools({ env: { XDG_CONFIG_HOME: xdg, MCPTRACE_TOOLS_PATH: envDir } });
    expect(r.problems).toEqual([]);
    const names = r.tools.map((t) => t.def.name);
    expect(names).toContain('from_xdg');
    expect(names).toContain('from_env');
  });

  it('reports a duplicate tool name with both files', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mcptrace-dup-'));
    const src = readFileSync(path.join(__dirname, '../../tools.d/bpf_info.yaml'), 'utf8');
    writeFileSync(path.join(dir, 'mine.yaml'), src.replace('aliases: [info]', 'aliases: [myinfo]'));
    const r = loadTools({ toolsDirs: [dir], env: { HOME: '/nonexistent' } });
    const msg = r.problems.map(formatProblem).join('\n');
    expect(msg).toContain(
      `${path.join(dir, 'mine.yaml')}:1:7: duplicate tool name "bpf_info": already defined in ${path.resolve(__dirname, '../../tools.d/bpf_info.yaml')}`,
    );
    expect(r.tools.filter((t) => t.def.name === 'bpf_info')).toHaveLength(1);
  });

  it('inlines shared parameters so inputSchema is self-contained', () => {
    const r = loadTools({ env: { HOME: '/nonexistent' } });
    const tool = r.tools.find((t) => t.def.name === 'count_syscalls')!;
    const props = tool.def.input.properties as Record<string, Record<string, unknown>>;
    expect(props.pid).toMatchObject({ type: 'integer', minimum: 1 });
    expect(props.wait.default).toBe(true);
    expect(JSON.stringify(tool.def.input)).not.toContain('$ref');
  });
});
