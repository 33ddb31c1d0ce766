import { closeSync, constants, openSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { loadExeca } from './subprocess.js';

/** A named pipe that a tracer writes its output to (`-o`), read here as a stream. */
export interface TraceFifo {
  readonly stream: NodeJS.ReadableStream;
  /** The tracer has exited: drop our own writer, so the stream ends once its data is read. */
  release(): void;
  /** Closes everything and removes the pipe and its directory. */
  cleanup(): Promise<void>;
}

/**
 * Creates the pipe at `file` (its directory must not exist yet: it is made private, 0700) and
 * opens it. With `-c`, the traced command writes to bpftrace's stdout, so the trace itself goes
 * through this pipe and the two never mix.
 *
 * Both ends are opened non-blocking, read end first: a blocking open would wait (in a libuv
 * thread) for a tracer that may fail before it ever opens the pipe. Our own writer keeps the
 * reader from seeing end-of-file before the tracer has opened it.
 */
export async function openTraceFifo(file: string): Promise<TraceFifo> {
  const dir = path.dirname(file);
  await mkdir(dir, { mode: 0o700 });
  const { execa } = await loadExeca();
  await execa('mkfifo', ['-m', '600', file]);
  const readFd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  let writeFd: number | undefined = openSync(file, constants.O_WRONLY | constants.O_NONBLOCK);
  const stream = new net.Socket({ fd: readFd, readable: true, writable: false });
  const release = () => {
    if (writeFd === undefined) return;
    closeSync(writeFd);
    writeFd = undefined;
  };
  return {
    stream,
    release,
    async cleanup() {
      release();
      stream.destroy();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
