import type { Command } from '@oclif/core';
import { didYouMean, suggestionText } from '../util/did-you-mean.js';

/**
 * oclif's parser errors are not exported by @oclif/core, so they are recognised by their class
 * name and the fields they carry. Anything unrecognised keeps oclif's own message.
 */
interface ParseErrorShape extends Error {
  flags?: string[];
  args?: { name: string; description?: string; options?: readonly string[] }[];
}

/** The part of a command that says which positional arguments it takes. */
type WithArgs = { args?: Record<string, { required?: boolean }> };

/** "exec PROGRAM [FLAGS]": what a user types, with the required arguments named. */
export function usageLine(bin: string, id: string, cmd: WithArgs): string {
  const args = Object.entries(cmd.args ?? {}).map(([name, a]) => (a.required ? name.toUpperCase() : `[${name.toUpperCase()}]`));
  return [bin, id.replace(/:/g, ' '), ...args, '[FLAGS]'].join(' ');
}

/**
 * Words left over after a command's arguments. The usual cause is a value with spaces that
 * was not quoted (an unquoted bpftrace program), so the message says how many arguments the
 * command takes and to quote.
 */
export function unexpectedArgsMessage(bin: string, id: string, cmd: WithArgs, extra: string[]): string {
  const names = Object.keys(cmd.args ?? {}).map((n) => n.toUpperCase());
  const takes = names.length === 0 ? 'takes no arguments' : `takes ${names.length === 1 ? 'one argument' : `${names.length} arguments`}, ${names.join(' ')}`;
  const got = extra.map((a) => JSON.stringify(a)).join(' ');
  const quote = names.length ? ' Put quotes around a value that has spaces.' : '';
  return `unexpected argument${extra.length === 1 ? '' : 's'} ${got}: \`${bin} ${id.replace(/:/g, ' ')}\` ${takes}.${quote}\nUsage: ${usageLine(bin, id, cmd)}`;
}

/** Every spelling of every flag the command takes: --name, and -c for a char. */
function flagSpellings(cmd: Pick<Command.Class, 'flags' | 'baseFlags'>): string[] {
  const out: string[] = [];
  for (const [name, f] of Object.entries({ ...cmd.baseFlags, ...cmd.flags })) {
    if (f.hidden) continue;
    out.push(`--${name}`);
    if (f.char) out.push(`-${f.char}`);
    for (const alias of f.aliases ?? []) out.push(`--${alias}`);
    if (f.type === 'boolean' && f.allowNo) out.push(`--no-${name}`);
  }
  return out;
}

/**
 * The message for a parse error, or undefined to keep oclif's. A missing argument says only
 * what is missing and how to pass it (oclif adds a note on flags that take several values, which
 * has nothing to do with the mistake); an unknown flag names the nearest real ones.
 */
export function parseErrorMessage(err: Error, bin: string, id: string, cmd: Command.Class): string | undefined {
  const e = err as ParseErrorShape;
  const usage = `Usage: ${usageLine(bin, id, cmd)}`;
  if (e.constructor.name === 'RequiredArgsError' && e.args?.length) {
    const what = e.args.map((a) => {
      const options = a.options ? ` (one of: ${a.options.join(', ')})` : '';
      return `${a.name.toUpperCase()}${a.description ? `: ${a.description.replace(/\.$/, '')}` : ''}${options}`;
    });
    if (what.length === 1) return `missing the argument ${what[0]}. Pass it after the command name.\n${usage}`;
    return `missing the arguments ${what.join('; ')}. Pass them after the command name, in this order.\n${usage}`;
  }
  if (e.constructor.name === 'UnexpectedArgsError' && Array.isArray(e.args)) {
    return unexpectedArgsMessage(bin, id, cmd, e.args as unknown as string[]);
  }
  if (e.constructor.name === 'NonExistentFlagsError' && e.flags?.length) {
    const known = flagSpellings(cmd);
    const names = e.flags.map((given) => given.split('=')[0]);
    if (names.length === 1) return `unknown flag ${names[0]}.${suggestionText(didYouMean(names[0], known))}\n${usage}`;
    const parts = names.map((name) => {
      const hint = suggestionText(didYouMean(name, known)).trim();
      return hint ? `${name} (${hint.charAt(0).toLowerCase()}${hint.slice(1)})` : name;
    });
    return `unknown flags ${parts.join(', ')}.\n${usage}`;
  }
  // These two carry no fields, only a message: "Expected [--flag=]VALUE to be one of: A, B".
  const choice = /^Expected (?:(--[\w-]+)=)?(.*) to be one of: (.*)$/m.exec(withoutOclifHelpHint(e.message));
  if ((e.constructor.name === 'ArgInvalidOptionError' || e.constructor.name === 'FlagInvalidOptionError') && choice) {
    const [, flag, given, options] = choice;
    const valid = options.split(', ');
    return `${flag ? `${flag} ` : ''}"${given}" is not one of: ${valid.join(', ')}.${suggestionText(didYouMean(given, valid))}\n${usage}`;
  }
  return undefined;
}

/** oclif appends this to every parse error; mcptrace prints its own "See:" line instead. */
export function withoutOclifHelpHint(message: string): string {
  return message.replace(/\nSee more help with --help$/, '');
}
