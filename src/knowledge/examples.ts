import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { yamlLib } from '../manifest/lazy-libs.js';

/**
 * One searchable bpftrace program: an example of our library (examples/<category>/<id>.yaml) or
 * one of the .bt tools installed with the machine's bpftrace.
 */
export interface Example {
  id: string;
  title: string;
  description: string;
  category: string;
  tags: string[];
  /** Probe specs as written in the program (globs included). */
  probes: string[];
  /** kprobes | uprobes | usdt | btf | binary:/path … */
  requires: string[];
  complexity: string;
  output: string;
  program: string;
  /** bpftrace version ("0.17") → whether the program compiles with it; empty when unknown. */
  compiles: Record<string, boolean>;
  /** Whether it ran on the machine that verified the library. */
  runs_here?: boolean;
  /** `library`: written and verified by us; `machine`: shipped with the installed bpftrace. */
  source: 'library' | 'machine';
  file: string;
}

export interface ExampleProblem {
  file: string;
  message: string;
}

const REQUIRED_STRINGS = ['id', 'title', 'description', 'category', 'program'] as const;
const ID = /^[a-z0-9]+(-[a-z0-9]+)*$/;

function yamlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** Checks one parsed example file; the library's own test runs this over every file. */
export function toExample(value: unknown, file: string): Example | ExampleProblem {
  if (!value || typeof value !== 'object') return { file, message: 'not a YAML mapping' };
  const v = value as Record<string, unknown>;
  for (const k of REQUIRED_STRINGS) {
    if (typeof v[k] !== 'string' || !(v[k] as string).trim()) return { file, message: `"${k}" is missing or not a string` };
  }
  if (!ID.test(v.id as string)) return { file, message: `id "${String(v.id)}" is not kebab-case` };
  const compiles: Record<string, boolean> = {};
  if (v.compiles && typeof v.compiles === 'object') {
    for (const [ver, ok] of Object.entries(v.compiles as Record<string, unknown>)) if (typeof ok === 'boolean') compiles[ver] = ok;
  }
  return {
    id: v.id as string,
    title: v.title as string,
    description: (v.description as string).trim(),
    category: v.category as string,
    tags: strings(v.tags),
    probes: strings(v.probes),
    requires: strings(v.requires),
    complexity: typeof v.complexity === 'string' ? v.complexity : 'basic',
    output: typeof v.output === 'string' ? v.output : 'printf',
    program: v.program as string,
    compiles,
    ...(typeof v.runs_here === 'boolean' ? { runs_here: v.runs_here } : {}),
    source: 'library',
    file,
  };
}

/**
 * The build's parse of the library (scripts/build-examples.mjs): each file's parsed YAML by
 * content hash, so start-up skips the YAML parser (about 10 ms a file on a cold parser), and
 * the MiniSearch index of exactly those files.
 */
export interface LibraryCache {
  files: Record<string, { sha1: string; value: unknown }>;
  /** MiniSearch's JSON of the index over `ids`, in that order. */
  index?: string;
  ids?: string[];
}

export interface Library {
  examples: Example[];
  problems: ExampleProblem[];
  /** Every file came from the cache unchanged: its index can be used as it is. */
  fromCache: boolean;
}

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

/** Reads every example under `dir`; a bad file is reported and skipped, never fatal. */
export function loadLibrary(dir: string, cache?: LibraryCache): Library {
  const examples: Example[] = [];
  const problems: ExampleProblem[] = [];
  const seen = new Map<string, string>();
  let fromCache = cache !== undefined;
  const files = yamlFiles(dir);
  if (cache && files.length !== Object.keys(cache.files).length) fromCache = false;
  for (const file of files) {
    let value: unknown;
    try {
      const text = readFileSync(file, 'utf8');
      const hit = cache?.files[path.relative(dir, file)];
      if (hit && hit.sha1 === sha1(text)) value = hit.value;
      else {
        fromCache = false;
        value = yamlLib().parse(text);
      }
    } catch (e) {
      problems.push({ file, message: (e as Error).message.split('\n')[0] });
      continue;
    }
    const ex = toExample(value, file);
    if ('message' in ex) problems.push(ex);
    else if (seen.has(ex.id)) problems.push({ file, message: `id "${ex.id}" is also used by ${seen.get(ex.id)}` });
    else {
      seen.set(ex.id, file);
      examples.push(ex);
    }
  }
  return { examples, problems, fromCache: fromCache && problems.length === 0 };
}

/** What scripts/build-examples.mjs stores for `dir`: each file's parse, by content hash. */
export function libraryFiles(dir: string): LibraryCache['files'] {
  const files: LibraryCache['files'] = {};
  for (const file of yamlFiles(dir)) {
    const text = readFileSync(file, 'utf8');
    files[path.relative(dir, file)] = { sha1: sha1(text), value: yamlLib().parse(text) };
  }
  return files;
}

const PROBE_TYPES =
  'BEGIN|END|tracepoint|kprobe|kretprobe|uprobe|uretprobe|usdt|profile|interval|software|hardware|kfunc|kretfunc|fentry|fexit|rawtracepoint|iter|watchpoint|t|k|kr|u|ur|U|p|i|s|h|f|fr|rt';
// After the type, ":"-separated parts; a part may be a path ("uretprobe:/bin/bash:readline"),
// which only a part can start with, so a predicate's "/" after a name still ends the spec.
const PROBE_SPEC = new RegExp(`(?:^|[\\s,])((?:${PROBE_TYPES})(?::(?:/[^\\s,{:]*|[^\\s,{/:]*))*)(?=[\\s,{/]|$)`, 'g');

/**
 * The probe specs of a program: what stands outside every block, with comments and strings
 * removed. Enough for the .bt tools, which list their probes one per line.
 */
export function probesOf(program: string): string[] {
  const src = program.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/[^\n]*/g, ' ');
  let depth = 0;
  let top = '';
  let inString = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{') {
      if (depth === 0) top += '\n';
      depth++;
    } else if (c === '}') depth = Math.max(0, depth - 1);
    else if (depth === 0) top += c;
  }
  const found = new Set<string>();
  for (const line of top.split('\n')) {
    // A predicate (/.../) follows the probe list; nothing in it is a probe.
    const head = line.split(/\s\/|^\//)[0];
    for (const m of head.matchAll(PROBE_SPEC)) if (m[1] === 'BEGIN' || m[1] === 'END' || m[1].includes(':')) found.add(m[1]);
  }
  return [...found];
}

/**
 * The description in a .bt tool's header comment: the text after its name on the first line and
 * what follows until the boilerplate (platform, copyright, history).
 */
export function headerDescription(program: string, name: string): { summary: string; detail: string } {
  const comment = /\/\*([\s\S]*?)\*\//.exec(program)?.[1] ?? '';
  const lines = comment.split('\n').map((l) => l.replace(/^\s*\*\s?/, '').trim());
  const start = lines.findIndex((l) => l.startsWith(`${name}.bt`) || l.startsWith(name));
  if (start < 0) return { summary: '', detail: '' };
  const summary = lines[start].replace(new RegExp(`^${name}(\\.bt)?\\s*`), '').trim();
  const detail: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (/^(For Linux|Copyright|Licensed|This is a bpftrace version|\d{1,2}-\w{3}-\d{4})/i.test(l)) {
      if (/^(Copyright|Licensed|\d)/i.test(l)) break;
      continue;
    }
    if (/^USAGE/i.test(l)) continue;
    if (l) detail.push(l);
  }
  return { summary, detail: detail.join(' ') };
}

/** The .bt tools installed with bpftrace, each with its header comment as description. */
export function loadMachineTools(dirs: readonly string[]): Example[] {
  const seen = new Set<string>();
  const out: Example[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir).filter((f) => f.endsWith('.bt'));
    } catch {
      continue;
    }
    for (const f of names.sort()) {
      const name = f.slice(0, -3);
      if (seen.has(name)) continue;
      const file = path.join(dir, f);
      let program: string;
      try {
        if (!statSync(file).isFile()) continue;
        program = readFileSync(file, 'utf8');
      } catch {
        continue;
      }
      seen.add(name);
      const { summary, detail } = headerDescription(program, name);
      const probes = probesOf(program);
      out.push({
        id: `bt-${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`,
        title: `${name}.bt${summary ? `: ${summary.replace(/\.$/, '')}` : ''}`,
        description: [summary, detail].filter(Boolean).join(' ') || `${name}.bt, installed with bpftrace`,
        category: 'machine',
        tags: [name, 'bpftrace-tools'],
        probes,
        requires: [...new Set(probes.filter((p) => /^(kprobe|kretprobe|k|kr):/.test(p)).map(() => 'kprobes'))],
        complexity: 'intermediate',
        output: 'mixed',
        program,
        compiles: {},
        source: 'machine',
        file,
      });
    }
  }
  return out;
}
