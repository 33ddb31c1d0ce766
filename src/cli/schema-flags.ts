import { Args, Flags } from '@oclif/core';
import type { JsonSchema } from '../manifest/types.js';

export const kebab = (s: string) => s.replace(/_/g, '-');

// Flags are built from data at run time, so their static types are necessarily loose.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFlag = any;

/** "<integer 1..4194304>", shown in help so the bounds are visible before Ajv enforces them. */
function helpValue(p: JsonSchema): string {
  if (Array.isArray(p.enum)) return (p.enum as unknown[]).join('|');
  const type = String(p.type ?? 'value');
  const lo = p.minimum ?? p.exclusiveMinimum;
  const hi = p.maximum ?? p.exclusiveMaximum;
  if (lo !== undefined || hi !== undefined) return `${type} ${lo ?? ''}..${hi ?? ''}`;
  return type;
}

/**
 * Numbers are passed through unparsed when they don't look numeric, so the same Ajv check as
 * over MCP reports them, with the same message.
 */
const asNumberIfNumeric = async (v: string) => (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(v.trim()) ? Number(v) : v);

/**
 * Derives oclif flags and args from a tool's input schema: required strings become positional
 * args, everything else a --kebab-case flag with its type, bounds, enum and default in help.
 */
export function flagsFromSchema(
  schema: JsonSchema,
  omit: ReadonlySet<string> = new Set(),
): {
  flags: Record<string, AnyFlag>;
  args: Record<string, AnyFlag>;
  argNames: string[];
  flagNames: Record<string, string>;
} {
  const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required ?? []) as string[]);
  const flags: Record<string, AnyFlag> = {};
  const args: Record<string, AnyFlag> = {};
  const argNames: string[] = [];
  const flagNames: Record<string, string> = {};
  for (const [name, p] of Object.entries(props)) {
    if (omit.has(name)) continue;
    const description = String(p.description ?? '');
    if (required.has(name) && p.type === 'string') {
      // oclif would read stdin for an argument (with a 10 ms timeout); - is ours to handle.
      args[name] = Args.string({ description, required: true, ignoreStdin: true });
      argNames.push(name);
      continue;
    }
    const flagName = kebab(name);
    flagNames[flagName] = name;
    const common = { description, required: required.has(name), helpValue: helpValue(p) };
    if (p.type === 'boolean') {
      flags[flagName] = Flags.boolean({ description, allowNo: p.default === true, default: p.default as boolean | undefined });
    } else if (p.type === 'integer' || p.type === 'number') {
      flags[flagName] = Flags.custom<number | string>({ ...common, parse: asNumberIfNumeric, default: p.default as number | undefined })();
    } else if (p.type === 'array') {
      const items = (p.items ?? {}) as JsonSchema;
      flags[flagName] = Flags.custom<number | string>({
        description,
        // An item's title names one value (--hosts host...); else its type.
        helpValue: typeof items.title === 'string' ? items.title : helpValue(items),
        multiple: true,
        parse: items.type === 'integer' || items.type === 'number' ? asNumberIfNumeric : async (v: string) => v,
      })();
    } else {
      flags[flagName] = Flags.string({ ...common, default: p.default as string | undefined });
    }
  }
  return { flags, args, argNames, flagNames };
}
