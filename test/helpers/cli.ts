import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach } from 'vitest';
import { BIN, REPO } from './mcp.js';

const live = new Set<ChildProcess>();

// A test that fails half-way must not leave its CLI (and so its tracer) running: kill what is
// left. The tracer dies with the CLI through its parent-death signal.
afterEach(() => {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }
  }
  live.clear();
});

export interface CliRun {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/**
 * Runs the real CLI. With `tty`, it runs under a pseudo-terminal made by Python's pty module
 * (argv only, no shell), and everything the terminal shows arrives on stdout.
 */
export function runCli(args: string[], opts: { tty?: boolean; env?: Record<string, string> } = {}): CliRun {
  const argv = opts.tty
    ? ['python3', '-c', 'import pty, sys; sys.exit(pty.spawn(sys.argv[1:]) >> 8)', process.execPath, BIN, ...args]
    : [process.execPath, BIN, ...args];
  // Its own process group, so cleanup can kill the pty helper and the CLI together.
  const child = spawn(argv[0], argv.slice(1), {
    cwd: REPO,
    env: { ...process.env, ...opts.env, COLUMNS: '120' },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  live.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d.toString()));
  child.stderr!.on('data', (d) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}
