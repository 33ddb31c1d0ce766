import { Flags } from '@oclif/core';
import type { CoreOptions } from '../core/core.js';

/** The flags every command takes; BaseCommand declares them once as oclif baseFlags. */
export const GLOBAL_FLAGS = {
  json: Flags.boolean({ description: 'Print the structured result as JSON (for a tool: exactly what the MCP tool returns).' }),
  'tools-dir': Flags.string({ description: 'Also load tool manifests from this directory.', multiple: true, helpValue: 'dir' }),
  debug: Flags.boolean({ description: 'Show stack traces for internal errors.' }),
};

/**
 * --tools-dir must be known before oclif builds the command list, because the commands are
 * the manifests; so besides being a flag it is read from argv here, once.
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
