import { existsSync } from 'node:fs';
import path from 'node:path';
import { findInPath, usableFile } from './environment.js';

/** Whether a process with this id exists now (a zombie still counts: it has a /proc entry). */
export const processExists = (pid: number): boolean => existsSync(`/proc/${pid}`);

/**
 * The problem with a command given as an argv array for bpftrace's `-c`, or undefined. bpftrace
 * splits `-c`'s string on spaces, with no quoting and no expansion (measured on 0.17 and 0.27:
 * `"a b"` arrives as two words), so an argument with whitespace cannot reach the command intact.
 */
export function commandProblem(argv: readonly string[]): string | undefined {
  if (argv.length === 0) return 'command is empty; give the program to run and its arguments as an array, e.g. ["/usr/bin/ls", "-l"]';
  for (const [i, a] of argv.entries()) {
    if (a === '') return `command[${i}] is empty; remove it`;
    if (/\s/.test(a)) {
      return (
        `command[${i}] ${JSON.stringify(a)} contains whitespace: bpftrace splits -c on spaces and has no quoting, ` +
        'so it would arrive as several arguments. Put the command in a script and run the script instead'
      );
    }
  }
  return undefined;
}

/**
 * The command's executable as one absolute path. bpftrace 0.17 refuses a bare name that PATH
 * reaches twice ("path 'echo' must refer to a unique binary but matched 2 binaries", because /bin
 * links to /usr/bin), so the name is resolved here, the way a shell would.
 */
export function resolveCommand(name: string): { path: string } | { error: string } {
  const found = name.includes('/') ? (usableFile(name) ? path.resolve(name) : undefined) : findInPath(name, []);
  if (!found) {
    return {
      error: name.includes('/')
        ? `command ${JSON.stringify(name)} is not an executable file; check the path (ls -l ${name})`
        : `command ${JSON.stringify(name)} was not found in PATH; give its absolute path (which ${name})`,
    };
  }
  // Not the symlink's target: a multi-call binary (busybox) reads its name from argv[0].
  return { path: path.resolve(found) };
}
