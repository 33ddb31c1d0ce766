import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { ProcessExit, SpawnedProcess, Spawner } from '../../src/runtime/spawner.js';

/** Real bpftrace output, recorded by test/fixtures/recorded/record.mjs. */
export interface Recording {
  program: string;
  exitCode: number | null;
  before: { stdout: string[]; stderr: string[] };
  after: { stdout: string[]; stderr: string[] };
}

export const recording = (name: string): Recording =>
  JSON.parse(readFileSync(path.join(__dirname, '../fixtures/recorded', `${name}.json`), 'utf8')) as Recording;

export interface FakeBehaviour {
  /** SIGINTs ignored before one is honoured (bpftrace 0.17 drops some). Infinity: never. */
  dropSigints?: number;
  /** Leave out the attach notification, as a bpftrace that prints none would. */
  noAttachNotice?: boolean;
  /** Delay before the recorded "before" lines appear (the attach takes this long). */
  attachDelayMs?: number;
  /** Exit by itself after the "before" lines (a program that calls exit()). */
  exitsAlone?: boolean;
}

/**
 * A tracer that replays a recording: its start-up output, then on SIGINT its final output and
 * exit code, and on SIGKILL death with nothing more. Every signal it gets is logged.
 */
export class FakeTracer implements SpawnedProcess {
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  readonly pid = 4_000_000 + Math.floor(Math.random() * 100_000);
  readonly signals: NodeJS.Signals[] = [];
  readonly exit: Promise<ProcessExit>;
  private done = false;
  private dropped = 0;
  private resolveExit!: (e: ProcessExit) => void;

  constructor(
    readonly argv: string[],
    private readonly rec: Recording,
    private readonly how: FakeBehaviour,
  ) {
    this.exit = new Promise((r) => (this.resolveExit = r));
    setTimeout(() => {
      if (this.done) return;
      const stderr = how.noAttachNotice ? rec.before.stderr.filter((l) => !l.startsWith('__BPFTRACE_NOTIFY')) : rec.before.stderr;
      this.write(rec.before.stdout, stderr);
      if (how.exitsAlone) this.end(rec.exitCode, null);
    }, how.attachDelayMs ?? 5);
  }

  kill(signal: NodeJS.Signals): void {
    this.signals.push(signal);
    if (this.done) return;
    if (signal === 'SIGKILL') return this.end(null, 'SIGKILL');
    if (signal === 'SIGINT' && this.dropped++ < (this.how.dropSigints ?? 0)) return;
    this.write(this.rec.after.stdout, this.rec.after.stderr);
    this.end(this.rec.exitCode, null);
  }

  private write(stdout: string[], stderr: string[]): void {
    if (stdout.length) this.stdout.write(`${stdout.join('\n')}\n`);
    if (stderr.length) this.stderr.write(`${stderr.join('\n')}\n`);
  }

  private end(exitCode: number | null, signal: string | null): void {
    this.done = true;
    this.stdout.end();
    this.stderr.end();
    setImmediate(() => this.resolveExit({ exitCode, signal }));
  }
}

/** Spawns FakeTracers; the last one started is kept for assertions. */
export class FakeSpawner implements Spawner {
  readonly started: FakeTracer[] = [];

  constructor(
    private readonly rec: Recording,
    private readonly how: FakeBehaviour = {},
  ) {}

  async spawn(argv: string[]): Promise<SpawnedProcess> {
    const t = new FakeTracer(argv, this.rec, this.how);
    this.started.push(t);
    return t;
  }

  get last(): FakeTracer {
    return this.started[this.started.length - 1];
  }
}
