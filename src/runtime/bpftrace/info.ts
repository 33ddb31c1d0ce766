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

export interface VersionProbe {
  /** It ran, exited 0 and said it is bpftrace. */
  ok: boolean;
  /** The version without the "bpftrace " prefix, e.g. "v0.17.0"; the raw first line otherwise. */
  version: string;
  /** Why `ok` is false, in words, e.g. "exited 1" or "printed \"true (GNU coreutils) 9.1\"". */
  failure?: string;
}

const versions = new Map<string, Promise<VersionProbe>>();

/**
 * `bpftrace --version`, asked once per binary (path and mtime), not on every bpf_info. A program
 * that exits 0 but does not answer "bpftrace vX.Y" is not bpftrace (MCPTRACE_BPFTRACE pointed at
 * the wrong file), and is reported as such rather than run as a tracer.
 */
export function bpftraceVersion(bpftrace: string): Promise<VersionProbe> {
  const key = `${bpftrace}:${statSync(bpftrace).mtimeMs}`;
  let v = versions.get(key);
  if (!v) {
    v = runToCompletion(bpftrace, ['--version']).then((r) => {
      const first = `${String(r.stdout ?? '')}\n${String(r.stderr ?? '')}`.trim().split('\n')[0].trim();
      const isBpftrace = /^bpftrace\s+v?\d/.test(first);
      const failure =
        r.exitCode !== 0
          ? r.exitCode === undefined
            ? `could not be started (${(r as { code?: string }).code ?? 'spawn failed'})`
            : `exited ${r.exitCode}${first ? ` saying "${first.slice(0, 120)}"` : ''}`
          : isBpftrace
            ? undefined
            : `printed ${first ? `"${first.slice(0, 120)}"` : 'nothing'} instead of "bpftrace vX.Y.Z"`;
      return { ok: failure === undefined, version: first.replace(/^bpftrace\s+/, ''), ...(failure ? { failure } : {}) };
    });
    versions.set(key, v);
  }
  return v;
}
