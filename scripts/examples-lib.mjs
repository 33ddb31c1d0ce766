// What scripts/verify-examples.mjs and test/examples share: loading examples/, compiling one
// program with one bpftrace version, and asking whether a probe exists on this machine. The
// tests use the very same checks, so the recorded `compiles` map can be proven true.
import { execa } from 'execa';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const EXAMPLES_DIR = path.join(ROOT, 'examples');

/**
 * The bpftrace versions every example is checked against (docs/bpftrace-versions.md).
 * 0.27's --emit-elf writes the ELF and then goes on to attach and run the program (measured:
 * a tracepoint program ran until killed), so it also gets `--mode codegen`, which stops after
 * code generation; 0.17 and 0.23 stop after writing the ELF by themselves.
 */
export const VERSIONS = [
  { version: '0.17', bin: process.env.MCPTRACE_BPFTRACE_017 || '/usr/bin/bpftrace', args: [] },
  { version: '0.23', bin: process.env.MCPTRACE_BPFTRACE_023 || '/srv/mcptrace-roots/bin/bpftrace-trixie', args: [] },
  { version: '0.27', bin: process.env.MCPTRACE_BPFTRACE_027 || '/srv/mcptrace-roots/bin/bpftrace-sid', args: ['--mode', 'codegen'] },
];
export const HOST_VERSION = '0.17';

/** Every examples/<category>/<id>.yaml, sorted, with its parsed Document (for writing back) and data. */
export function loadExamples(dir = EXAMPLES_DIR) {
  const out = [];
  for (const category of readdirSync(dir).sort()) {
    const cdir = path.join(dir, category);
    if (!statSync(cdir).isDirectory()) continue;
    for (const name of readdirSync(cdir).sort()) {
      if (!name.endsWith('.yaml')) continue;
      const file = path.join(cdir, name);
      const text = readFileSync(file, 'utf8');
      const doc = parseDocument(text);
      out.push({ file, category, name, text, doc, data: doc.toJS(), parseErrors: doc.errors.map((e) => e.message) });
    }
  }
  return out;
}

// Program files live under /tmp because the trixie and sid roots bind-mount only /tmp.
let workDir;
function tmpDir() {
  workDir ??= mkdtempSync('/tmp/mcptrace-examples-');
  return workDir;
}
export function cleanup() {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  workDir = undefined;
}

let seq = 0;
/**
 * Whether `bin` compiles `program` (bpftrace --emit-elf): exit 0 and a non-empty ELF file.
 * The timeout is a guard, not a measure: should a version ever attach instead of stopping,
 * SIGINT ends it and the ELF on disk still tells whether code generation succeeded.
 */
export async function compileProgram({ bin, args }, program) {
  const n = ++seq;
  const src = path.join(tmpDir(), `p${n}.bt`);
  const elf = path.join(tmpDir(), `p${n}.elf`);
  writeFileSync(src, program);
  const r = await execa(bin, [...args, '--emit-elf', elf, src], {
    reject: false,
    timeout: 30_000,
    killSignal: 'SIGINT',
    stdin: 'ignore',
  });
  const ok = (r.exitCode === 0 || r.timedOut) && existsSync(elf) && statSync(elf).size > 0;
  rmSync(src, { force: true });
  rmSync(elf, { force: true });
  return { ok, exitCode: r.exitCode, stderr: errorLines(r.stderr) };
}

/** The stderr lines that say why a compile failed, without the notices every run prints here. */
function errorLines(stderr) {
  return String(stderr ?? '')
    .split('\n')
    .filter((l) => l && !/RLIMIT_MEMLOCK|^WARNING: Could not read functions from/.test(l))
    .join('\n');
}

// Probe types that need no kernel or binary support to exist, and one that needs a PMU this
// machine lacks (docs in MACHINE.md: no hardware PMU).
const ALWAYS = new Set(['BEGIN', 'END', 'interval', 'i', 'profile', 'p', 'software', 's', 'self']);
const NEVER = new Set(['hardware', 'h', 'watchpoint', 'w', 'asyncwatchpoint']);
// A return probe exists exactly when its entry probe does; bpftrace -l lists only the entry form.
const LIST_AS = { kretprobe: 'kprobe', uretprobe: 'uprobe', kretfunc: 'kfunc', fexit: 'fentry', ur: 'uprobe', kr: 'kprobe' };

const TRACEFS = '/sys/kernel/tracing/events';
const known = new Map();

/**
 * Whether a probe spec exists on this machine. A plain tracepoint is a tracefs directory; the
 * rest are asked of the host bpftrace with -l (about 40 ms a spawn, so answers are cached).
 */
export function probeExists(spec, bin = VERSIONS[0].bin) {
  const key = `${bin}\0${spec}`;
  if (!known.has(key)) known.set(key, lookupProbe(spec, bin));
  return known.get(key);
}

async function lookupProbe(spec, bin) {
  const [type, ...rest] = spec.split(':');
  if (ALWAYS.has(type)) return true;
  if (NEVER.has(type)) return false;
  if ((type === 'tracepoint' || type === 't') && rest.length === 2 && !/[*?[]/.test(spec) && existsSync(TRACEFS))
    return existsSync(path.join(TRACEFS, rest[0], rest[1]));
  const listed = LIST_AS[type] ? LIST_AS[type] + spec.slice(type.length) : spec;
  const r = await execa(bin, ['-l', listed], { reject: false, timeout: 30_000, stdin: 'ignore' });
  return r.exitCode === 0 && r.stdout.trim().length > 0;
}

/** Runs fn over items with at most `limit` in flight (bpftrace compiles take a core each). */
export async function mapLimit(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** The version entries whose binary is present here. */
export function availableVersions() {
  return VERSIONS.filter((v) => existsSync(v.bin));
}

/**
 * The example's text with `compiles` and `runs_here` set to the measured values. Only those two
 * values change: the Document gives each node's source range, and the rest of the file (folded
 * descriptions, the program block, comments) stays byte for byte as written. A missing key is
 * appended.
 */
export function withMeasured(text, doc, compiles, runsHere) {
  const flow = `{ ${Object.entries(compiles)
    .map(([v, ok]) => `"${v}": ${ok}`)
    .join(', ')} }`;
  const edits = [];
  let tail = '';
  for (const [key, value] of [
    ['compiles', flow],
    ['runs_here', String(runsHere)],
  ]) {
    const node = doc.get(key, true);
    if (node?.range) edits.push([node.range[0], node.range[1], value]);
    else tail += `${key}: ${value}\n`;
  }
  let out = text;
  for (const [start, end, value] of edits.sort((a, b) => b[0] - a[0])) out = out.slice(0, start) + value + out.slice(end);
  if (tail) out = (out.endsWith('\n') ? out : out + '\n') + tail;
  return out;
}

const CLI = path.join(ROOT, 'bin/run.js');

/**
 * Runs a program on the live kernel through mcptrace's own exec command, so the stop is the
 * runtime's: SIGINT only once the probes are attached, sent again when 0.17 ignores it (it
 * does, now and then, for quiet programs), SIGKILL after `graceMs`. `seconds` counts from the
 * start, attach included. Needs a build (npm run build).
 */
export async function runBriefly({ bin }, program, seconds = 3, graceMs = 30_000) {
  if (!existsSync(path.join(ROOT, 'dist/cli/commands.js'))) throw new Error('runs go through mcptrace exec: run npm run build first');
  const r = await execa(process.execPath, [CLI, 'exec', program, '--timeout', String(seconds), '--json'], {
    reject: false,
    stdin: 'ignore',
    // Whether bpftrace runs the example is the question here, not whether the default safety
    // policy allows it: TLS plaintext and password probes are refused below permissive.
    env: { MCPTRACE_BPFTRACE: bin, MCPTRACE_GRACE_MS: String(graceMs), MCPTRACE_SAFETY_LEVEL: 'permissive' },
    timeout: seconds * 1000 + graceMs + 60_000,
  });
  let result;
  try {
    result = JSON.parse(r.stdout);
  } catch {
    return { ok: false, problem: `mcptrace exec gave no JSON result (exit ${r.exitCode}): ${String(r.stderr).slice(0, 400)}` };
  }
  const ended = result.status === 'timed_out' || result.status === 'completed';
  const ok = ended && result.exit_code === 0 && !result.error_message && result.stderr.length === 0 && result.attached_probes > 0;
  const why = result.error_message ?? result.stderr.join(' | ');
  return { ok, result, problem: ok ? undefined : `${result.status}, exit ${result.exit_code ?? result.signal}: ${why}`.slice(0, 600) };
}
