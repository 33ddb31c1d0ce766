import type { IncomingMessage } from 'node:http';

/**
 * Reads a body up to `max` bytes. Past it, the rest is read and dropped (up to 16 times the
 * bound) so the client is still reading when the 413 comes, rather than seeing a broken pipe.
 */
export function readBody(req: IncomingMessage, max: number): Promise<{ text: string } | { tooLarge: number } | { aborted: true }> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= max) parts.push(c);
      else if (size > 16 * max) {
        resolve({ tooLarge: size });
        req.destroy();
      }
    });
    req.on('end', () => resolve(size > max ? { tooLarge: size } : { text: Buffer.concat(parts, size).toString('utf8') }));
    req.on('error', () => resolve({ aborted: true }));
    req.on('aborted', () => resolve({ aborted: true }));
  });
}
