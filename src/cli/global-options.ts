import type { CoreOptions } from '../core/core.js';

/**
 * --tools-dir must be known before oclif builds the command list, because the commands are
 * the manifests; so it is read straight from argv here as well as declared as a flag.
 */
export function toolsDirsFromArgv(argv: string[] = process.argv): string[] {
  const dirs: string[] = [];
  argv.forEach((a, i) => {
    if (a === '--tools-dir' && argv[i + 1]) dirs.push(argv[i + 1]);
    else if (a.startsWith('--tools-dir=')) dirs.push(a.slice('--tools-dir='.length));
  });
  return dirs;
}

export function coreOptionsFromArgv(argv: string[] = process.argv): CoreOptions {
  return { toolsDirs: toolsDirsFromArgv(argv) };
}
