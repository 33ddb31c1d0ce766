import { parseArgs } from 'node:util';
import type { CoreOptions } from '../core/core.js';

interface IntOption {
  type: 'integer';
  min: number;
  max: number;
  default: number;
  description: string;
}
interface BoolOption {
  type: 'boolean';
  description: string;
}
interface DirsOption {
  type: 'dirs';
  description: string;
}

/** The one definition of `serve`'s options: the oclif command and the fast path both use it. */
export const SERVE_OPTIONS: Record<string, IntOption | BoolOption | DirsOption> = {
  'tools-dir': { type: 'dirs', description: 'Also load tool manifests from this directory.' },
  concurrency: { type: 'integer', min: 1, max: 64, default: 4, description: 'Traces running at once.' },
  'max-queued': { type: 'integer', min: 0, max: 1000, default: 16, description: 'Traces waiting for a slot before new ones are refused.' },
  'grace-ms': { type: 'integer', min: 100, max: 600_000, default: 30_000, description: 'Time between SIGINT and SIGKILL when stopping a trace (hundreds of tracepoints take seconds to detach).' },
  'mount-tracefs': { type: 'boolean', description: 'Mount tracefs when it is missing (root only).' },
};

export type ServeValues = Record<string, string | boolean | string[] | number | undefined>;

export function toCoreOptions(v: ServeValues): CoreOptions {
  return {
    toolsDirs: (v['tools-dir'] as string[] | undefined) ?? [],
    runner: {
      concurrency: Number(v.concurrency ?? 4),
      maxQueued: Number(v['max-queued'] ?? 16),
      graceMs: Number(v['grace-ms'] ?? 30_000),
      ...(v['mount-tracefs'] ? { autoMountTracefs: true } : {}),
    },
  };
}

/** Parses `serve` arguments without oclif; returns an error message instead of throwing. */
export function parseServeArgv(argv: string[]): { values: ServeValues } | { error: string } {
  const options = Object.fromEntries(
    Object.entries(SERVE_OPTIONS).map(([name, o]) => [name, o.type === 'boolean' ? { type: 'boolean' as const } : { type: 'string' as const, multiple: o.type === 'dirs' }]),
  );
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  } catch (e) {
    return { error: `${(e as Error).message}. Valid options: ${Object.keys(SERVE_OPTIONS).map((n) => `--${n}`).join(', ')} (see mcptrace serve --help)` };
  }
  const values = { ...parsed.values } as ServeValues;
  for (const [name, o] of Object.entries(SERVE_OPTIONS)) {
    if (o.type !== 'integer') continue;
    const raw = values[name];
    if (raw === undefined) {
      values[name] = o.default;
      continue;
    }
    const n = Number(raw);
    if (!Number.isInteger(n) || n < o.min || n > o.max) return { error: `--${name} must be an integer from ${o.min} to ${o.max}, got "${String(raw)}"` };
    values[name] = n;
  }
  return { values };
}
