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
export const appliesTo = (e: CorpusEntry, version: string): boolean => !e.versions || e.versions.some((v) => version === String(v) || version.startsWith(`${v}.`));

const matchesVersion = (list: string[] | undefined, version: string) => (list ?? []).some((v) => version.startsWith(`${v}.`) || version === v);

/**
 * What may differ between two runs of one program: the entry's masks, and, where bpftrace sorts
 * a map unstably (equal values) or not at all (the entry's `unordered` versions), the order of
 * the entries inside each printed map. Nothing else is normalised.
 */
export function normalise(text: string, e: CorpusEntry, version: string): string {
  let out = text;
  for (const m of e.mask ?? []) out = out.replace(new RegExp(m, 'gm'), '<MASK>');
  const lines = out.split('\n');
  const sorted: string[] = [];
  const unordered = matchesVersion(e.unordered, version);
  for (let i = 0; i < lines.length; ) {
    const m = /^(@\w*)\[.*\]: (.*)$/.exec(lines[i]);
    if (!m) {
      sorted.push(lines[i++]);
      continue;
    }
    // A block: consecutive one-line entries of the same map (with the same value unless unordered).
    let j = i + 1;
    const same = (l: string) => {
      const n = /^(@\w*)\[.*\]: (.*)$/.exec(l);
      return n !== null && n[1] === m[1] && (unordered || n[2] === m[2]);
    };
    while (j < lines.length && same(lines[j])) j++;
    sorted.push(...lines.slice(i, j).sort());
    i = j;
  }
  return sorted.join('\n');
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
    const child = spawn(bpftrace, ['-e', e.program], { cwd: '/tmp', env: { ...process.env, BPFTRACE_PERF_RB_PAGES: '1024' }, stdio: ['ignore', 'pipe', 'ignore'] });
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
