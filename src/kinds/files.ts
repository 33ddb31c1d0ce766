import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * A file a manifest refers to: first beside the manifest (a user tools dir may carry its own
 * templates/ and bcc/), then in the package's directory.
 */
export function findBeside(manifestFile: string, subdir: string, name: string, fallbackDir: string): string | undefined {
  for (const candidate of [path.join(path.dirname(manifestFile), subdir, name), path.join(fallbackDir, name)]) {
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}
