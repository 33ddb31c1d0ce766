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
