import { Command, Errors } from '@oclif/core';
import { EXIT } from './exit-codes.js';
import { GLOBAL_FLAGS } from './global-options.js';
import { parseErrorMessage, withoutOclifHelpHint } from './parse-errors.js';

/**
 * Every mcptrace command: the common flags, and one place that turns an error into a message
 * and an exit code. A bad flag or argument exits 2; anything unexpected is an internal error
 * (exit 70) whose stack is shown only with --debug.
 */
export abstract class BaseCommand extends Command {
  static baseFlags = GLOBAL_FLAGS;

  protected debugMode(): boolean {
    return this.argv.includes('--debug');
  }

  protected async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<void> {
    // oclif's own exits (help, version, this.exit()) carry their code; keep them.
    if (err instanceof Errors.ExitError) throw err;
    const oclifExit = err.oclif?.exit;
    if (oclifExit !== undefined) {
      // Parse errors (unknown flag, missing argument, bad value) are the caller's input.
      const id = this.id ?? '';
      const message = parseErrorMessage(err, this.config.bin, id, this.ctor) ?? withoutOclifHelpHint(err.message);
      process.stderr.write(`Error: ${message}\nSee: ${this.config.bin} ${id.replace(/:/g, ' ')} --help\n`);
      process.exitCode = oclifExit === 2 || err instanceof Errors.CLIError ? EXIT.input : oclifExit;
      return;
    }
    process.stderr.write(
      `Error: internal error: ${err.message}. This is a bug in mcptrace; please report it${this.debugMode() ? '' : ' (run with --debug for the stack)'}.\n`,
    );
    if (this.debugMode() && err.stack) process.stderr.write(`${err.stack}\n`);
    process.exitCode = EXIT.internal;
  }
}
