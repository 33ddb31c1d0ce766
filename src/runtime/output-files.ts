import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Where an execution's lines go once they no longer fit its in-memory caps. */
export interface OutputSink {
  write(lines: readonly string[]): void;
  /** Lines written so far. */
  readonly lines: number;
}

// A runaway tracer must not fill the disk: past this the file stops growing and says so.
const MAX_FILE_BYTES = 512 * 1024 * 1024;
const FLUSH_BYTES = 64 * 1024;
// Byte offset of every CHECKPOINT-th line, so a page far into a large file is read directly.
const CHECKPOINT = 1024;

/** One run's whole output, appended in order and read back in pages of lines. */
export class OutputFile implements OutputSink {
  private readonly fd: number;
  private pending: string[] = [];
  private pendingBytes = 0;
  private written = 0;
  private readonly checkpoints: number[] = [0];
  private count = 0;
  private bytes = 0;
  truncated = false;
  private closed = false;

  constructor(readonly file: string) {
    this.fd = openSync(file, 'w+', 0o600);
  }

  get lines(): number {
    return this.count;
  }

  write(lines: readonly string[]): void {
    if (this.closed) return;
    for (const l of lines) {
      const size = Buffer.byteLength(l) + 1;
      if (this.bytes + size > MAX_FILE_BYTES) {
        this.truncated = true;
        return;
      }
      if (this.count > 0 && this.count % CHECKPOINT === 0) this.checkpoints.push(this.bytes);
      this.pending.push(l);
      this.pendingBytes += size;
      this.bytes += size;
      this.count++;
    }
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
  }

  private flush(): void {
    if (!this.pending.length || this.closed) return;
    const buf = Buffer.from(`${this.pending.join('\n')}\n`);
    writeSync(this.fd, buf, 0, buf.length, this.written);
    this.written += buf.length;
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Lines [offset, offset + limit) of what was written so far. */
  read(offset: number, limit: number): string[] {
    if (this.closed || offset >= this.count || limit <= 0) return [];
    this.flush();
    const c = Math.floor(offset / CHECKPOINT);
    let line = c * CHECKPOINT;
    let pos = this.checkpoints[c];
    const out: string[] = [];
    let rest = '';
    const chunk = Buffer.alloc(256 * 1024);
    while (out.length < limit && pos < this.written) {
      const n = readSync(this.fd, chunk, 0, chunk.length, pos);
      if (n <= 0) break;
      pos += n;
      const parts = (rest + chunk.toString('utf8', 0, n)).split('\n');
      rest = parts.pop() ?? '';
      for (const p of parts) {
        if (line >= offset && out.length < limit) out.push(p);
        line++;
      }
    }
    return out;
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    closeSync(this.fd);
  }
}

/**
 * The files of every run whose output overflowed, in one private temporary directory created on
 * first use. A file is removed when its run is forgotten, and the directory at shutdown.
 */
export class OutputFiles {
  private dir?: string;
  private readonly files = new Map<string, OutputFile>();

  constructor(private readonly parent = os.tmpdir()) {}

  open(id: string): OutputFile {
    if (!this.dir) {
      this.dir = mkdtempSync(path.join(this.parent, 'mcptrace-output-'));
      // A CLI command never shuts its runner down; the files must not outlive the process.
      process.once('exit', () => this.removeAll());
    }
    const f = new OutputFile(path.join(this.dir, `${id}.log`));
    this.files.set(id, f);
    return f;
  }

  get(id: string): OutputFile | undefined {
    return this.files.get(id);
  }

  remove(id: string): void {
    const f = this.files.get(id);
    if (!f) return;
    this.files.delete(id);
    f.close();
    rmSync(f.file, { force: true });
  }

  removeAll(): void {
    for (const id of [...this.files.keys()]) this.remove(id);
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }

  /** The directory, once a file was created (tests check that it goes away). */
  get directory(): string | undefined {
    return this.dir;
  }
}
