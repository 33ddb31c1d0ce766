import type { Hook } from '@oclif/core';
import { didYouMean, suggestionText } from '../../util/did-you-mean.js';
import { EXIT } from '../exit-codes.js';
import { unexpectedArgsMessage } from '../parse-errors.js';

interface CommandNames {
  id: string;
  aliases: string[];
  hiddenAliases?: string[];
  hidden?: boolean;
}

/**
 * What a mistyped command could have meant. With the space topic separator oclif joins the
 * words it could not place into one id ("exe BEGIN{}" arrives as "exe:BEGIN{}"), so the id is
 * matched word by word: the longest leading run of words that is close to a command or alias.
 * A hidden alias (the MCP tool name) is matched too, but suggested as the command's own name.
 */
export function commandSuggestions(id: string, commands: CommandNames[]): { typed: string; suggestions: string[] } {
  const shownAs = new Map<string, string>();
  for (const c of commands.filter((c) => !c.hidden)) {
    for (const name of [c.id, ...c.aliases]) shownAs.set(name, name);
    for (const name of c.hiddenAliases ?? []) if (!shownAs.has(name)) shownAs.set(name, c.id);
  }
  const words = id.split(':');
  const depth = Math.max(...[...shownAs.keys()].map((n) => n.split(':').length));
  for (let n = Math.min(words.length, depth); n >= 1; n--) {
    const typed = words.slice(0, n).join(':');
    const close = didYouMean(
      typed,
      [...shownAs.keys()].filter((name) => name.split(':').length === n),
      Infinity,
    );
    const suggestions = [...new Set(close.map((name) => shownAs.get(name)!.replace(/:/g, ' ')))].slice(0, 3);
    if (suggestions.length) return { typed: typed.replace(/:/g, ' '), suggestions };
  }
  return { typed: words[0], suggestions: [] };
}

/** What `mcptrace` itself takes before a command name. */
const ROOT_FLAGS = ['--help', '--version'];

/**
 * A command that takes no arguments, given some: oclif reads the extra words as more of the
 * command's name ("doctor extra" as the id "doctor:extra"). The longest leading run of words
 * that names a command, and the words after it.
 */
export function knownCommandWithExtraWords(id: string, known: (id: string) => boolean): { id: string; extra: string[] } | undefined {
  const words = id.split(':');
  for (let n = words.length - 1; n >= 1; n--) {
    const head = words.slice(0, n).join(':');
    if (known(head)) return { id: head, extra: words.slice(n) };
  }
  return undefined;
}

/** An unknown command is the caller's input: exit 2, name the nearest commands, no stack. */
const hook: Hook<'command_not_found'> = async function (opts) {
  const bin = opts.config.bin;
  process.exitCode = EXIT.input;
  const withExtra = knownCommandWithExtraWords(opts.id, (id) => opts.config.findCommand(id) !== undefined);
  if (withExtra) {
    const cmd = opts.config.findCommand(withExtra.id)!;
    process.stderr.write(`Error: ${unexpectedArgsMessage(bin, cmd.id, cmd, withExtra.extra)}\nSee: ${bin} ${cmd.id.replace(/:/g, ' ')} --help\n`);
    return;
  }
  if (opts.id.startsWith('-')) {
    // A flag before any command: only the root's own flags exist there.
    const flag = opts.id.split('=')[0];
    process.stderr.write(`Error: unknown flag ${flag}.${suggestionText(didYouMean(flag, ROOT_FLAGS))}\nSee: ${bin} --help\n`);
    return;
  }
  const { typed, suggestions } = commandSuggestions(opts.id, opts.config.commands);
  process.stderr.write(
    `Error: unknown command "${typed}".${suggestionText(suggestions.map((s) => `\`${bin} ${s}\``))}\nSee: ${bin} --help (the list of commands)\n`,
  );
};

export default hook;
