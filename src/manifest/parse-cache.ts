import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../config/paths.js';

/**
 * Parsed YAML of the package's own manifests and bcc specs, and the templates that passed their
 * check, written at build time (scripts/build-cache.mjs). An entry is used only when the file's
 * content hash still matches, so an edited or added file is simply parsed; the cache cannot go
 * stale. User directories are never cached.
 */
export const CACHE_FILE = path.join(PACKAGE_ROOT, 'dist/generated/parse-cache.json');

interface Entry {
  sha1: string;
  /** Parsed YAML, or for a template the declared inputs it was checked against. */
  value: unknown;
}

let entries: Record<string, Entry> | undefined;

export const contentHash = (text: string) => createHash('sha1').update(text).digest('hex');

function load(): Record<string, Entry> {
  if (entries) return entries;
  try {
    entries = existsSync(CACHE_FILE) ? (JSON.parse(readFileSync(CACHE_FILE, 'utf8')) as Record<string, Entry>) : {};
  } catch {
    entries = {};
  }
  return entries;
}

/** The cached value for a file with exactly this text, or undefined. */
export function cached(file: string, text: string): unknown {
  const e = load()[path.relative(PACKAGE_ROOT, file)];
  if (!e || e.sha1 !== contentHash(text)) return undefined;
  return structuredClone(e.value);
}

const DEFINITION = 'definition:';

/**
 * A package manifest's whole definition as readDefinition made it at build time (its YAML
 * checked against the manifest schema with defaults applied, the shared `$ref`s inlined, the
 * input schema checked against the meta-schema): for this exact text and `key`, a fresh copy;
 * otherwise undefined and the file is read for real. Inlining alone was a tenth of a start-up
 * with every toolset listed.
 */
export function cachedDefinition(file: string, text: string, key: string): unknown {
  const e = load()[DEFINITION + path.relative(PACKAGE_ROOT, file)];
  if (!e || e.sha1 !== contentHash(`${key}\0${text}`)) return undefined;
  // Stored as a JSON string: the cache's own parse skips it, and each load gets its own copy.
  return JSON.parse(e.value as string);
}

/** The cache entry build-cache.mjs writes for a definition (see cachedDefinition). */
export function definitionEntry(file: string, text: string, key: string, definition: unknown): [string, Entry] {
  return [DEFINITION + path.relative(PACKAGE_ROOT, file), { sha1: contentHash(`${key}\0${text}`), value: JSON.stringify(definition) }];
}
