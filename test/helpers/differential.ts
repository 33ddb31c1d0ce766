import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

/** One program of test/differential/corpus.yaml (the file documents every field). */
export interface CorpusEntry {
  id: string;
  program: string;
  mask?: string[];
  versions?: string[];
  unordered?: string[];
  note?: string;
  timeout_ms?: number;
  env?: Record<string, string | number>;
  args?: (string | number)[];
  trigger?: { argv: string[]; after_ms?: number; every_ms?: number };
  expect_error?: boolean;
}

export const CORPUS_FILE = path.join(__dirname, '../differential/corpus.yaml');

export function loadCorpus(): CorpusEntry[] {
  return (parse(readFileSync(CORPUS_FILE, 'utf8')) as { programs: CorpusEntry[] }).programs;
}

/** Whether an entry runs on this version ("0.17.0"); entries name major.minor. */
export const appliesTo = (e: CorpusEntry, version: string): boolean =>
  !e.versions || e.versions.some((v) => version === String(v) || version.startsWith(`${v}.`));

/**
 * Programs whose text-mode output cannot be rebuilt from their JSON output, by version
 * (major.minor), with the reason. Everything else must match exactly.
 */
const EMPTY_PRINT = 'print() of an empty map prints a blank line in text mode up to 0.23, and nothing at all in JSON';
const HELPER_WARNING_ON_STDOUT =
  '0.23 text mode prints helper warnings on stdout with a column range and the source line (stdin:1:34-45: ... and a ~~~ underline); the JSON event has only the line and the first column';
export const EXCLUDED: ReadonlyMap<string, { versions: readonly string[]; why: string }> = new Map([
  [
    'str-in-map-key',
    {
      versions: ['0.17', '0.23', '0.27'],
      why: 'a string part of a two-part key holds a comma ("a,b\tc"): JSON joins the parts with commas, so which comma separates them cannot be known',
    },
  ],
  ['print-empty-map', { versions: ['0.17', '0.23'], why: EMPTY_PRINT }],
  ['interval-print-empty', { versions: ['0.17', '0.23'], why: EMPTY_PRINT }],
  ['delete-hist-int-key', { versions: ['0.23'], why: HELPER_WARNING_ON_STDOUT }],
  ['map-keys-limit', { versions: ['0.23'], why: HELPER_WARNING_ON_STDOUT }],
  [
    'kstack-perf-mode',
    {
      versions: ['0.17'],
      why: "profile fires on both CPUs before either has set @done: this recording's JSON run sampled two stacks (one of them empty), its text run one",
    },
  ],
]);

/** Whether a corpus entry is excluded from the comparison on this version (major.minor). */
export const excludedFrom = (id: string, minor: string): boolean => EXCLUDED.get(id)?.versions.includes(minor) ?? false;

const MAP_ENTRY = /^(@\w*)\[.*\]: (.*)$/;

/**
 * Sorts the lines of each block of consecutive entries of one map that share a value (bpftrace
 * sorts by value, and ties come out in hash order, which differs between runs), or of each
 * whole block of entries where the corpus marks the map order as unstable on this version.
 */
function sortUnstableBlocks(lines: string[], wholeMaps: boolean): string[] {
  const out: string[] = [];
  let block: string[] = [];
  let blockKey: string | undefined;
  const flush = () => {
    out.push(...block.sort());
    block = [];
    blockKey = undefined;
  };
  for (const line of lines) {
    const m = MAP_ENTRY.exec(line);
    const key = m ? (wholeMaps ? m[1] : `${m[1]}\0${m[2]}`) : undefined;
    if (key === undefined || key !== blockKey) flush();
    if (key === undefined) out.push(line);
    else {
      block.push(line);
      blockKey = key;
    }
  }
  flush();
  return out;
}

/**
 * Masks what the corpus marks as varying between runs. A run of identical masked lines (stack
 * lines, or map entries keyed by a symbol: `@s[<MASK>]: 1`) collapses to one,
 * because how many there are varies too: on two CPUs, `profile:hz:99 /@done == 0/` can fire on
 * both before either sets @done, and then the map holds two stacks instead of one.
 */
export function normalise(lines: string[], entry: CorpusEntry, minor: string): string[] {
  let text = lines.join('\n');
  for (const m of entry.mask ?? []) text = text.replace(new RegExp(m, 'gm'), '<MASK>');
  const masked = text.split('\n').filter((line, i, all) => !(line.includes('<MASK>') && all[i - 1] === line));
  return sortUnstableBlocks(masked, (entry.unordered ?? []).includes(minor));
}

/** Text mode's stdout as lines: a final partial line counts, a final newline ends the last. */
export function textLines(text: string): string[] {
  const parts = text.split('\n');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** The entry's trigger, run again and again (no shell) until `done()` says stop. */
export async function runTrigger(e: CorpusEntry, done: () => boolean): Promise<void> {
  if (!e.trigger) return;
  const { argv, after_ms = 300, every_ms = 150 } = e.trigger;
  await new Promise((r) => setTimeout(r, after_ms));
  while (!done()) {
    await new Promise((r) => execFile(argv[0], argv.slice(1), { timeout: 5_000 }, () => r(undefined)));
    await new Promise((r) => setTimeout(r, every_ms));
  }
}

/** bpftrace itself, in text mode, stopped with SIGINT after the entry's timeout: the reference. */
export function runText(bpftrace: string, e: CorpusEntry): Promise<{ stdout: string; exit: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(bpftrace, ['-e', e.program], {
      cwd: '/tmp',
      env: { ...process.env, BPFTRACE_PERF_RB_PAGES: '1024' },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let stdout = '';
    let done = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (stdout += d));
    const stop = setTimeout(() => child.kill('SIGINT'), e.timeout_ms ?? 10_000);
    void runTrigger(e, () => done);
    child.on('close', (code) => {
      done = true;
      clearTimeout(stop);
      resolve({ stdout, exit: code });
    });
  });
}
