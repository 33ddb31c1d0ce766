import { Flags } from '@oclif/core';
import type { CoreOptions } from '../core/core.js';
import { openAudit } from '../history/audit.js';
import { HISTORY_FLAGS, historySettingsFrom, lazyHistory, type HistoryFlagValues } from '../history/open.js';
import { defaultStateDir } from '../history/paths.js';

/** The flags every command takes; BaseCommand declares them once as oclif baseFlags. */
export const GLOBAL_FLAGS = {
  json: Flags.boolean({ description: 'Print the structured result as JSON (for a tool: exactly what the MCP tool returns).' }),
  'tools-dir': Flags.string({ description: 'Also load tool manifests from this directory.', multiple: true, helpValue: 'dir' }),
  debug: Flags.boolean({ description: 'Show stack traces for internal errors.' }),
  'state-dir': Flags.string({ description: HISTORY_FLAGS['state-dir'].description, helpValue: 'dir', helpGroup: 'HISTORY' }),
  yes: Flags.boolean({
    description:
      'Answer yes when the safety policy asks a person to confirm a run (a script has no terminal to ask on). Not at safety level strict, where a person must answer.',
  }),
  inventory: Flags.string({
    description: 'An Ansible inventory (INI or YAML) whose host and group names --hosts takes. Default $MCPTRACE_INVENTORY.',
    helpValue: 'file',
    helpGroup: 'FLEET',
  }),
  'no-history': Flags.boolean({ description: HISTORY_FLAGS['no-history'].description, helpGroup: 'HISTORY' }),
  'history-max-runs': Flags.integer({ description: HISTORY_FLAGS['history-max-runs'].description, min: 1, helpGroup: 'HISTORY' }),
  'history-max-age': Flags.integer({ description: HISTORY_FLAGS['history-max-age'].description, min: 1, helpValue: 'days', helpGroup: 'HISTORY' }),
  'history-max-mb': Flags.integer({ description: HISTORY_FLAGS['history-max-mb'].description, min: 1, helpGroup: 'HISTORY' }),
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

/** The value of `--name V` or `--name=V` (the last one given), or true for a bare boolean flag. */
function argvFlag(argv: string[], name: string, boolean = false): string | boolean | undefined {
  let v: string | boolean | undefined;
  argv.forEach((a, i) => {
    if (a === `--${name}`) v = boolean ? true : argv[i + 1];
    else if (!boolean && a.startsWith(`--${name}=`)) v = a.slice(name.length + 3);
  });
  return v;
}

/** The history settings of a CLI process; a bad value is reported by oclif's own flag check. */
export function historyFromArgv(argv: string[] = process.argv, env: NodeJS.ProcessEnv = process.env): CoreOptions['history'] {
  const values: HistoryFlagValues = {};
  for (const [name, f] of Object.entries(HISTORY_FLAGS)) values[name as keyof typeof HISTORY_FLAGS] = argvFlag(argv, name, f.kind === 'boolean');
  const settings = historySettingsFrom(values, env);
  if ('error' in settings) return undefined;
  return lazyHistory(settings, (m) => process.stderr.write(`mcptrace: ${m}\n`), env);
}

export function coreOptionsFromArgv(argv: string[] = process.argv): CoreOptions {
  const history = historyFromArgv(argv);
  const dir = argvFlag(argv, 'state-dir');
  const stateDir = typeof dir === 'string' && dir ? dir : defaultStateDir();
  // A command's calls are audited as a server's are (mcptrace audit reads both); nothing opens until one is made.
  const inventory = argvFlag(argv, 'inventory');
  return {
    toolsDirs: toolsDirsFromArgv(argv),
    history,
    audit: openAudit({ history: history?.enabled ? history : undefined, stateDir }),
    ...(typeof inventory === 'string' && inventory ? { inventory } : {}),
  };
}
