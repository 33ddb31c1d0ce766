import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';

export interface ProcessExit {
  exitCode: number | null;
  signal: string | null;
  /** Set when the process could not be started (e.g. ENOENT), with the reason. */
  spawnError?: { code?: string; message: string };
}

/** A started process, as the lifecycle sees it. */
export interface SpawnedProcess {
  readonly pid?: number;
  readonly stdout: NodeJS.ReadableStream;
  readonly stderr: NodeJS.ReadableStream;
  kill(signal: NodeJS.Signals): void;
  /** Resolves when the process has exited; never rejects. */
  readonly exit: Promise<ProcessExit>;
}

/**
 * The process seam: the lifecycle starts every tracer through one of these. The real one
 * runs node:child_process; tests replay recorded bpftrace output through a fake.
 */
export interface Spawner {
  spawn(argv: string[], env: Record<string, string>, opts?: { lifeline?: boolean }): Promise<SpawnedProcess>;
}

// The kernel sends this to the child when the server dies, even by SIGKILL, so no tracer
// outlives it. setpriv execs the target, so the pid and signals stay the same.
const PDEATHSIG_PREFIX = ['setpriv', '--pdeathsig', 'KILL', '--'];

/** A child whose stdout and stderr are pipes (startChild always makes them). */
export type PipedChild = ChildProcess & { stdout: Readable; stderr: Readable };

/**
 * Starts `argv` under the parent-death signal, in its own process group, stdout and stderr piped,
 * stdin a pipe (the lifeline, or a request to write) or /dev/null. `exit` never rejects. Every
 * tracer's process starts here, local or the ssh that runs one on another host.
 */
export function startChild(
  argv: string[],
  opts: { env?: Record<string, string>; stdin: 'pipe' | 'ignore' },
): { child: PipedChild; exit: Promise<ProcessExit> } {
  const full = [...PDEATHSIG_PREFIX, ...argv];
  const child = spawn(full[0], full.slice(1), {
    stdio: [opts.stdin, 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
    // Its own process group: a Ctrl-C at a terminal must not reach the tracer directly,
    // or it would get a second SIGINT on top of ours and cut its map output short. Nothing
    // kills a detached child when the server exits normally but Runner.shutdown; the
    // parent-death signal covers every other way the server ends.
    detached: true,
  });
  const exit = new Promise<ProcessExit>((resolve) => {
    // 'close', not 'exit': the run is over once its output has been read, as with execa.
    child.once('close', (code, signal) => resolve({ exitCode: code, signal }));
    // After a start the only 'error' is a failed kill(), and 'close' still follows.
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (child.pid !== undefined) return;
      resolve({
        exitCode: null,
        signal: null,
        spawnError: e.code === 'ENOENT' ? { code: 'ENOENT', message: `${argv[0]} not found` } : { message: e.message },
      });
    });
  });
  // A process that is gone closes the pipe first: that is its exit's to report, not an error here.
  child.stdin?.on('error', () => {});
  return { child: child as PipedChild, exit };
}

/**
 * Real processes: node:child_process with an argv array (never a shell), under a parent-death
 * signal. Not execa: on the exec round trip its option handling and promise plumbing cost ~1 ms
 * of CPU per run before the tracer even starts (profiled), for nothing this seam uses.
 */
export const processSpawner: Spawner = {
  async spawn(argv, env, opts) {
    // The lifeline: a pipe nobody writes to, whose EOF tells the privileged helper the server
    // is gone (the parent-death signal does not cross sudo or a file-capability exec).
    const { child, exit } = startChild(argv, { env, stdin: opts?.lifeline ? 'pipe' : 'ignore' });
    return {
      pid: child.pid,
      stdout: child.stdout,
      stderr: child.stderr,
      kill: (s) => void child.kill(s),
      exit,
    };
  },
};
