import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands.js';

describe('CLI surface', () => {
  // A change to a command id or flag shows up in review as a diff of this file.
  it('matches the snapshot of command ids, aliases, args and flags', async () => {
    const surface = Object.fromEntries(
      Object.keys(COMMANDS)
        .sort()
        .map((id) => {
          const c = COMMANDS[id] as any;
          const flags = Object.fromEntries(
            Object.entries({ ...(c.baseFlags ?? {}), ...(c.flags ?? {}) })
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([name, f]: [string, any]) => [
                name,
                {
                  type: f.type,
                  ...(f.required ? { required: true } : {}),
                  ...(f.multiple ? { multiple: true } : {}),
                  ...(f.allowNo ? { allowNo: true } : {}),
                  ...(f.default !== undefined && typeof f.default !== 'function' ? { default: f.default } : {}),
                  ...(f.options ? { options: f.options } : {}),
                },
              ]),
          );
          return [id, { aliases: c.aliases ?? [], hiddenAliases: c.hiddenAliases ?? [], args: Object.keys(c.args ?? {}), flags }];
        }),
    );
    await expect(`${JSON.stringify(surface, null, 2)}\n`).toMatchFileSnapshot('../golden/cli-commands.json');
  });
});
