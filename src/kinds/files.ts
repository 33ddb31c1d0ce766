import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';

/**
 * A file a manifest refers to: first beside the manifest (a user tools dir may carry its own
 * templates/ and bcc/), then in the package's directory. The file must stay inside the
 * directory it was looked up in once symlinks are resolved: `template: ../../../../tmp/x.hbs`,
 * or a template symlinked to /etc/passwd, is not found.
 */
export function findBeside(manifestFile: string, subdir: string, name: string, fallbackDir: string): string | undefined {
  for (const dir of [path.join(path.dirname(manifestFile), subdir), fallbackDir]) {
    const candidate = path.join(dir, name);
    if (existsSync(candidate) && insideDir(candidate, dir)) return candidate;
  }
  return undefined;
}

/** Whether `file`, symlinks resolved, lies inside `dir` (symlinks resolved too). */
export function insideDir(file: string, dir: string): boolean {
  try {
    const real = realpathSync(file);
    const base = realpathSync(dir);
    return real.startsWith(`${base}${path.sep}`);
  } catch {
    return false;
  }
}
