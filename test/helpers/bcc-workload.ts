import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Core } from '../../src/core/core.js';
import type { Execution } from '../../src/runtime/execution.js';
import { executionView, type ExecutionResult } from '../../src/results/execution-view.js';
import { waitFor } from './kernel.js';

/**
 * A process that does one traceable thing when told, so a test can start a tool filtered on
 * its pid first and only then make it act. Answers each command with a line on stdout.
 */
export class Puppet {
  readonly child: ChildProcessWithoutNullStreams;
  private out = '';

  constructor() {
    const script = `
      const fs = require('node:fs'), net = require('node:net'), dns = require('node:dns'), rl = require('node:readline');
      const ok = () => process.stdout.write('ok\\n');
      rl.createInterface({ input: process.stdin }).on('line', (l) => {
        const [cmd, arg] = l.split(' ');
        if (cmd === 'open') { try { fs.closeSync(fs.openSync(arg, 'r')); } catch {} ok(); }
        else if (cmd === 'cont') { process.kill(process.pid, 'SIGCONT'); ok(); }
        else if (cmd === 'uid') { for (let i = 0; i < Number(arg); i++) process.getuid(); ok(); }
        else if (cmd === 'lookup') dns.lookup(arg, () => ok());
        else if (cmd === 'connect') {
          const srv = net.createServer((s) => { s.resume(); s.on('end', () => s.end()); }).listen(Number(arg), '127.0.0.1', () => {
            const c = net.connect(Number(arg), '127.0.0.1', () => c.end('x'.repeat(3000)));
            c.resume();
            c.on('close', () => srv.close(() => ok()));
          });
        } else if (cmd === 'exit') process.exit(Number(arg));
      });`;
    this.child = spawn(process.execPath, ['-e', script], { stdio: 'pipe' });
    this.child.stdout.on('data', (d) => (this.out += d.toString()));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Sends a command and waits for its answer. */
  async do(cmd: string): Promise<void> {
    const before = this.out.length;
    this.child.stdin.write(`${cmd}\n`);
    if (!(await waitFor(() => this.out.length > before, 10_000))) throw new Error(`puppet did not answer ${cmd}`);
  }

  exit(code: number): Promise<void> {
    return new Promise((resolve) => {
      this.child.on('exit', () => resolve());
      this.child.stdin.write(`exit ${code}\n`);
    });
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

export const run = (argv: string[]) => spawnSync(argv[0], argv.slice(1), { stdio: 'ignore', timeout: 20_000 });

/** A scratch directory, and a program under a name of our choosing (comm is the basename). */
export function scratch(): { dir: string; alias: (target: string, name: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mcptrace-bcc-'));
  mkdirSync(path.join(dir, 'bin'));
  return {
    dir,
    alias: (target, name) => {
      const p = path.join(dir, 'bin', name);
      symlinkSync(target, p);
      return p;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Starts a tool through the core, waits until it has printed its first line (libbpf-tools print
 * their banner or header once attached), runs the workload, and returns the finished run.
 */
export async function traceWhile(
  core: Core,
  tool: string,
  input: Record<string, unknown>,
  workload: () => unknown | Promise<unknown>,
): Promise<{ view: ExecutionResult; exec: Execution }> {
  const started = await core.callTool(tool, { duration: 3, ...input });
  const id = (started.structured as { execution_id?: string }).execution_id;
  if (!id) throw new Error(`${tool} did not start: ${started.text}`);
  const exec = core.runner.get(id)!;
  await waitFor(() => exec.lines.length > 0 || exec.finished, 15_000);
  // The header is printed right after the attach; a moment more lets every probe settle.
  await new Promise((r) => setTimeout(r, 150));
  if (!exec.finished) await workload();
  await waitFor(() => exec.finished, 30_000);
  return { view: executionView(exec, { limit: 10_000 }), exec };
}
