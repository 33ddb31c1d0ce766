import { loadExeca } from './subprocess.js';

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
 * runs execa; tests replay recorded bpftrace output through a fake.
 */
export interface Spawner {
  spawn(argv: string[], env: Record<string, string>): Promise<SpawnedProcess>;
}

// The kernel sends this to the child when the server dies, even by SIGKILL, so no tracer
// outlives it. setpriv execs the target, so the pid and signals stay the same.
const PDEATHSIG_PREFIX = ['setpriv', '--pdeathsig', 'KILL', '--'];

/** Real processes: execa with an argv array (never a shell), under a parent-death signal. */
export const execaSpawner: Spawner = {
  async spawn(argv, env) {
    const { execa } = await loadExeca();
    const full = [...PDEATHSIG_PREFIX, ...argv];
    const child = execa(full[0], full.slice(1), {
      stdin: 'ignore',
      buffer: false,
      reject: false,
      env,
      extendEnv: true,
      // Its own process group: a Ctrl-C at a terminal must not reach the tracer directly,
      // or it would get a second SIGINT on top of ours and cut its map output short.
      detached: true,
      // execa's exit cleanup skips detached children anyway; the parent-death signal (and
      // Runner.shutdown on a normal exit) is what ends them.
      cleanup: false,
      forceKillAfterDelay: false,
    });
    const exit = child.then(
      (r) => ({
        exitCode: r.exitCode ?? null,
        signal: r.signal ?? null,
        ...(r.failed && (r as { code?: string }).code === 'ENOENT' ? { spawnError: { code: 'ENOENT', message: `${argv[0]} not found` } } : {}),
      }),
      (e: Error) => ({ exitCode: null, signal: null, spawnError: { message: e.message } }),
    );
    return { pid: child.pid, stdout: child.stdout!, stderr: child.stderr!, kill: (s) => void child.kill(s), exit };
  },
};
