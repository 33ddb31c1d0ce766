import type { Options, Result } from 'execa';

// execa takes ~80 ms to import, more than the rest of the server's start-up together; it is
// loaded on first use (or prefetched once the server has answered tools/list).
let execaModule: Promise<typeof import('execa')> | undefined;

export function loadExeca(): Promise<typeof import('execa')> {
  execaModule ??= import('execa');
  return execaModule;
}

/** Runs a short command to completion (argv, never a shell) and returns its result. */
export async function runToCompletion(file: string, args: string[], opts: Options = {}): Promise<Result> {
  const { execa } = await loadExeca();
  return (await execa(file, args, { reject: false, stdin: 'ignore', ...opts })) as Result;
}
