import { createInterface } from 'node:readline/promises';
import { localCaller } from '../history/audit.js';
import type { Caller, ConfirmAnswer, ConfirmRequest } from '../results/tool-result.js';

/** Who the CLI's calls are made by, for the audit log: the person at this terminal. */
export const cliCaller = (): Caller => ({ who: localCaller('cli'), via: 'cli' });

const MAX_SHOWN = 4000;

/**
 * A person's yes in a terminal, for a run the policy wants confirmed: the program and the reason
 * on stderr, then y/N (anything but y or yes is no; Ctrl-C or Ctrl-D dismisses). `--yes` answers for a
 * script, except at strict, where only a person may. Without a terminal and without --yes,
 * nobody can be asked: the run is refused with how to approve it.
 */
export function terminalConfirm(opts: { yes?: boolean; input?: NodeJS.ReadableStream & { isTTY?: boolean }; output?: NodeJS.WritableStream }) {
  const input = opts.input ?? process.stdin;
  const output = opts.output ?? process.stderr;
  return async (req: ConfirmRequest): Promise<ConfirmAnswer> => {
    if (opts.yes && req.level !== 'strict') return 'accept';
    if (!input.isTTY) return 'unavailable';
    const what = req.program ?? req.argv.join(' ');
    output.write(
      `\nmcptrace asks before it runs ${req.tool} (safety level ${req.level}).\nWhy: ${req.reason}\n\n${what.length > MAX_SHOWN ? `${what.slice(0, MAX_SHOWN)}\n… (${what.length - MAX_SHOWN} more characters)` : what}\n\n`,
    );
    const rl = createInterface({ input, output });
    try {
      // Ctrl-C at the question (readline takes it as SIGINT in raw mode) or Ctrl-D dismisses it.
      const dismissed = new Promise<null>((resolve) => {
        rl.once('close', () => resolve(null));
        rl.once('SIGINT', () => resolve(null));
      });
      const answer = await Promise.race([rl.question('Run it? [y/N] '), dismissed]);
      if (answer === null) return 'cancel';
      return /^y(es)?$/i.test(answer.trim()) ? 'accept' : 'decline';
    } finally {
      rl.close();
    }
  };
}
