import { readFileSync } from 'node:fs';
import path from 'node:path';
import { KNOWLEDGE_DIR } from '../../config/paths.js';
import { LiteralError, stringLiteral } from './bpftrace-literals.js';

interface KernelNames {
  syscalls: Record<string, Record<string, string>>;
  signals: Record<string, string>;
  errnos: Record<string, string>;
}

let names: KernelNames | undefined;
const load = (): KernelNames => (names ??= JSON.parse(readFileSync(path.join(KNOWLEDGE_DIR, 'kernel-names.json'), 'utf8')) as KernelNames);

// Syscall numbers differ per architecture; signal and errno numbers are the generic ones
// every architecture but alpha, mips, parisc and sparc uses.
const ARCH: Record<string, string> = { x64: 'x86_64' };

function syscalls(): Record<string, string> {
  const table = load().syscalls[ARCH[process.arch] ?? process.arch];
  if (!table) throw new LiteralError(`syscall names are only known for ${Object.keys(load().syscalls).join(', ')}, not ${process.arch}`);
  return table;
}

// A table is a run of map assignments in BEGIN: bpftrace has no array literals, and reading the
// name from a map keeps the probe itself small (one lookup per event).
const assignments = (map: string, table: Record<string, string>) =>
  Object.entries(table)
    .map(([n, name]) => `  @${map}[${Number(n)}] = ${stringLiteral(name)};`)
    .join('\n');

const memo = new Map<string, string>();
const once = (key: string, make: () => string) => memo.get(key) ?? memo.set(key, make()).get(key)!;

/**
 * Helpers that take no value and write a name table into the program, so that maps are keyed
 * by the names people read (as syscount does) instead of numbers. The map names are fixed.
 */
export const TABLE_HELPERS = {
  syscall_names: () => once('syscall', () => assignments('syscall_name', syscalls())),
  signal_names: () => once('signal', () => assignments('signal_name', load().signals)),
  errno_names: () => once('errno', () => assignments('errno_name', load().errnos)),
} as const;

/** A syscall's number on this machine from its name; refuses names the kernel does not have. */
export function syscallNumberLiteral(value: unknown): string {
  if (typeof value !== 'string') throw new LiteralError(`expected a syscall name, got ${JSON.stringify(value)}`);
  const table = syscalls();
  const nr = Object.keys(table).find((n) => table[n] === value);
  if (nr === undefined) {
    const near = Object.values(table)
      .filter((s) => editDistance(s, value) <= 2)
      .slice(0, 5);
    throw new LiteralError(`unknown syscall "${value.slice(0, 64)}"${near.length ? `; did you mean ${near.join(', ')}?` : '; e.g. read, openat, futex'}`);
  }
  return nr;
}

/** Levenshtein distance, for "did you mean" on a misspelled syscall name. */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}
