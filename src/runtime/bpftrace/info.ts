import { statSync } from 'node:fs';
import { runToCompletion } from '../subprocess.js';
import { isHarmless } from './notices.js';

export type InfoSections = Record<string, Record<string, string>>;

const SECTION_KEYS: Record<string, string> = {
  System: 'system',
  Build: 'build',
  'Kernel helpers': 'helpers',
  'Kernel features': 'features',
  'Map types': 'map_types',
  'Probe types': 'probe_types',
};

/**
 * Parses `bpftrace --info`: "Section" headers, then indented "key: value" pairs, one per line up
 * to 0.21 and two per line (in columns) since 0.22.
 */
export function parseBpftraceInfo(text: string): InfoSections {
  const out: InfoSections = {};
  let section: Record<string, string> | undefined;
  for (const line of text.split('\n')) {
    if (!line.trim() || isHarmless(line)) continue;
    if (!/^\s/.test(line)) {
      const name = line.trim();
      section = out[SECTION_KEYS[name] ?? name.toLowerCase().replace(/[^a-z0-9]+/g, '_')] = {};
      continue;
    }
    // Columns are separated by two or more spaces; a key or a value has single spaces at most.
    for (const piece of line.trim().split(/\s{2,}/)) {
      const m = /^(.+?):\s*(.*)$/.exec(piece);
      if (m && section) section[m[1]] = m[2];
    }
  }
  return out;
}

const versions = new Map<string, Promise<{ ok: boolean; version: string }>>();

/** `bpftrace --version`, asked once per binary (path and mtime), not on every bpf_info. */
export function bpftraceVersion(bpftrace: string): Promise<{ ok: boolean; version: string }> {
  const key = `${bpftrace}:${statSync(bpftrace).mtimeMs}`;
  let v = versions.get(key);
  if (!v) {
    v = runToCompletion(bpftrace, ['--version']).then((r) => ({
      ok: r.exitCode === 0,
      version: String(r.stdout)
        .trim()
        .replace(/^bpftrace\s+/, ''),
    }));
    versions.set(key, v);
  }
  return v;
}
