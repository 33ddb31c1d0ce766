import { parseJSONRPCMessage, ProtocolErrorCode as ErrorCode, type JSONRPCMessage, type Transport } from '@modelcontextprotocol/server';
import { MAX_MCP_MESSAGE_BYTES, MAX_MCP_RESPONSE_BYTES } from '../config/defaults.js';

type Id = string | number | null;

/**
 * MCP over stdio, one JSON-RPC message per line, hardened against its client. The SDK's own
 * transport closes itself on a message over 10 MiB (the server then shut down and stopped every
 * trace), answers malformed JSON with nothing, re-scans its whole buffer on every chunk, and
 * sends answers larger than a client will read. Here:
 * - a line is assembled from the chunks it arrived in, scanned once; past the size limit the
 *   rest of it is skipped as it streams in, and the request is answered with an error;
 * - malformed JSON gets -32700, a message that is not JSON-RPC -32600, tools/call arguments
 *   that are not an object -32602; the server keeps serving after each;
 * - an answer over the response limit is replaced by an error that says how to ask for less;
 * - a client that goes away (stdin ends, stdout breaks) closes the transport, once.
 */
export class LineTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: Transport['onmessage'];

  private parts: Buffer[] = [];
  private size = 0;
  /** The start of a line that is being skipped (too large), kept to find its request id. */
  private skipped?: { head: string; bytes: number };
  private closed = false;
  private ended!: () => void;
  /**
   * Settles when the client goes away. The SDK's serving entry owns onclose, so the process
   * watches this instead to shut down.
   */
  readonly gone = new Promise<void>((resolve) => (this.ended = resolve));

  constructor(
    private readonly input: NodeJS.ReadableStream = process.stdin,
    private readonly output: NodeJS.WritableStream = process.stdout,
    private readonly limits = { message: MAX_MCP_MESSAGE_BYTES, response: MAX_MCP_RESPONSE_BYTES },
  ) {}

  async start(): Promise<void> {
    this.input.on('data', this.onData);
    this.input.on('end', this.onEnd);
    this.input.on('error', this.onEnd);
    // EPIPE: the client is gone. Without a listener it would be an uncaught exception.
    this.output.on('error', this.onEnd);
  }

  private readonly onEnd = () => void this.close();

  private readonly onData = (chunk: Buffer | string) => {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
      this.take(buf.subarray(start, nl));
      this.endLine();
      start = nl + 1;
    }
    if (start < buf.length) this.take(buf.subarray(start));
  };

  private take(part: Buffer): void {
    if (this.skipped) {
      this.skipped.bytes += part.length;
      return;
    }
    if (this.size + part.length > this.limits.message) {
      const head = Buffer.concat([...this.parts, part])
        .subarray(0, 512)
        .toString('utf8');
      this.skipped = { head, bytes: this.size + part.length };
      this.parts = [];
      this.size = 0;
      return;
    }
    this.parts.push(part);
    this.size += part.length;
  }

  private endLine(): void {
    if (this.skipped) {
      const { head, bytes } = this.skipped;
      this.skipped = undefined;
      this.reply(
        idIn(head),
        ErrorCode.InvalidRequest,
        `message of ${bytes} bytes is over the ${this.limits.message}-byte limit and was not read; send less (a bpftrace program is at most 64 KiB)`,
      );
      return;
    }
    const line = Buffer.concat(this.parts, this.size).toString('utf8').trim();
    this.parts = [];
    this.size = 0;
    if (line) this.handle(line);
  }

  private handle(line: string): void {
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (e) {
      this.reply(null, ErrorCode.ParseError, `Parse error: ${(e as Error).message}. Send one JSON-RPC 2.0 message per line.`);
      return;
    }
    let msg: JSONRPCMessage;
    try {
      msg = parseJSONRPCMessage(raw);
    } catch {
      const id = (raw as { id?: unknown } | null)?.id;
      this.reply(
        typeof id === 'string' || typeof id === 'number' ? id : null,
        ErrorCode.InvalidRequest,
        'Invalid Request: not a JSON-RPC 2.0 request, notification or response (needs "jsonrpc": "2.0" and a "method", or an "id" with a "result" or "error")',
      );
      return;
    }
    if ('method' in msg && msg.method === 'tools/call' && 'id' in msg) {
      const args = (msg.params as { arguments?: unknown } | undefined)?.arguments;
      if (args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args))) {
        this.reply(
          msg.id,
          ErrorCode.InvalidParams,
          `Invalid params: "arguments" must be an object of named arguments, got ${Array.isArray(args) ? 'an array' : JSON.stringify(args)}`,
        );
        return;
      }
    }
    this.onmessage?.(msg);
  }

  private reply(id: Id, code: number, message: string): void {
    void this.write({ jsonrpc: '2.0', id, error: { code, message } });
  }

  async send(message: JSONRPCMessage): Promise<void> {
    let json = JSON.stringify(message);
    if (json.length > this.limits.response && 'id' in message && 'result' in message) {
      // Byte length is at least the string length; a client stops reading past 10 MiB.
      const bytes = Buffer.byteLength(json);
      if (bytes > this.limits.response) {
        json = JSON.stringify({
          jsonrpc: '2.0',
          id: message.id,
          error: {
            code: ErrorCode.InternalError,
            message: `the answer would be ${bytes} bytes, over the ${this.limits.response}-byte limit that MCP clients read; ask for less (a smaller limit, or get_result pages)`,
          },
        });
      }
    }
    return this.write(json);
  }

  private write(message: string | object): Promise<void> {
    if (this.closed) return Promise.resolve();
    const text = `${typeof message === 'string' ? message : JSON.stringify(message)}\n`;
    return new Promise((resolve) => {
      if (this.output.write(text)) resolve();
      else this.output.once('drain', resolve);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.input.off('data', this.onData);
    this.onclose?.();
    this.ended();
  }
}

/** The id of a request from the start of its text, if it comes early (it usually does). */
function idIn(head: string): Id {
  const m = /"id"\s*:\s*("(?:[^"\\]|\\.){0,200}"|-?\d{1,16})/.exec(head);
  if (!m) return null;
  return m[1].startsWith('"') ? (JSON.parse(m[1]) as string) : Number(m[1]);
}
