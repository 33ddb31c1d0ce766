import os from 'node:os';
import path from 'node:path';

/** The history database's file name inside the state directory. */
export const HISTORY_FILE = 'history.db';

/**
 * Where mcptrace keeps state that outlives a process (the run history): $MCPTRACE_STATE_DIR
 * when set, else $XDG_STATE_HOME/mcptrace, else ~/.local/state/mcptrace. State, not cache:
 * the XDG spec puts history there, and deleting it loses something the user wanted.
 */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MCPTRACE_STATE_DIR) return path.resolve(env.MCPTRACE_STATE_DIR);
  const xdg = env.XDG_STATE_HOME || path.join(env.HOME || os.homedir(), '.local', 'state');
  return path.join(xdg, 'mcptrace');
}

/** The history database of a state directory (default: defaultStateDir()). */
export function defaultHistoryPath(env: NodeJS.ProcessEnv = process.env, stateDir = defaultStateDir(env)): string {
  return path.join(stateDir, HISTORY_FILE);
}
