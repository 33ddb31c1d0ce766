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

/** "exec PROGRAM [FLAGS]": what a user types, with the required arguments named. */
export function usageLine(bin: string, id: string, cmd: Pick<Command.Class, 'args'>): string {
  const args = Object.entries(cmd.args ?? {}).map(([name, a]) => (a.required ? name.toUpperCase() : `[${name.toUpperCase()}]`));
  return [bin, id.replace(/:/g, ' '), ...args, '[FLAGS]'].join(' ');
}

/** Every spelling of every flag the command takes: --name, and -c for a char. */
function flagSpellings(cmd: Pick<Command.Class, 'flags' | 'baseFlags'>): string[] {
  const out: string[] = [];
  for (const [name, f] of Object.entries({ ...cmd.baseFlags, ...cmd.flags })) {
    if (f.hidden) continue;
    out.push(`--${name}`);
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
    return `missing the argument ${what.join('; and ')}. Pass it after the command name.\n${usage}`;
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
  return undefined;
}

/** oclif appends this to every parse error; mcptrace prints its own "See:" line instead. */
export function withoutOclifHelpHint(message: string): string {
  return message.replace(/\nSee more help with --help$/, '');
}
