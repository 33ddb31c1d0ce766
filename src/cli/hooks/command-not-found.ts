import type { Hook } from '@oclif/core';
import { didYouMean, suggestionText } from '../../util/did-you-mean.js';
import { EXIT } from '../exit-codes.js';

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

/** An unknown command is the caller's input: exit 2, name the nearest commands, no stack. */
const hook: Hook<'command_not_found'> = async function (opts) {
  const { typed, suggestions } = commandSuggestions(opts.id, opts.config.commands);
  const bin = opts.config.bin;
  process.stderr.write(
    `Error: unknown command "${typed}".${suggestionText(suggestions.map((s) => `\`${bin} ${s}\``))}\nSee: ${bin} --help (the list of commands)\n`,
  );
  process.exitCode = EXIT.input;
};

export default hook;
