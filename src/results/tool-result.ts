import type { SampleFn } from '../model/sampling.js';
import type { MapPrint, OutputTap } from '../runtime/execution.js';

/**
 * Why a call did not succeed. Each kind has its own CLI exit code (src/cli/exit-codes.ts);
 * an `internal` error is a bug in mcptrace, never "the trace failed".
 */
export type ErrorKind = 'input' | 'not_found' | 'environment' | 'failed' | 'timeout' | 'internal' | 'policy';

/** What every tool returns, to MCP and the CLI alike. */
export interface ToolResult<S extends object = Record<string, unknown>> {
  structured: S;
  text: string;
  isError?: boolean;
  /** CLI exit code class; MCP ignores it. */
  errorKind?: ErrorKind;
  /** Stack of an internal error; the CLI shows it only with --debug, MCP never. */
  debug?: string;
  /** Resources the result points at (e.g. a run's whole output); MCP sends them as resource_link items. */
  links?: ResourceLinkItem[];
  /** The text is a file's content (an exported session): a terminal prints it as is, never reworded. */
  verbatim?: boolean;
  /** Pictures and files that go with the result (analyze_output's charts). */
  attachments?: Attachment[];
  /**
   * The run waits for a person's yes (a policy `confirm` verdict): MCP turns this into an input
   * request (input_required, or elicitation/create for a 2025 client) and calls again with the answer.
   */
  confirm?: ConfirmRequest;
}

/** What a person is asked before a run the policy wants confirmed. */
export interface ConfirmRequest {
  tool: string;
  /** The rules that asked, and why, in a sentence each. */
  reason: string;
  rules: string[];
  level: string;
  program?: string;
  argv: string[];
}

/**
 * A person's answer: yes, no, or dismissed. `ask` means "not answered yet, ask over the protocol";
 * `unavailable` means nobody can be asked here (no terminal, a client without elicitation).
 */
export type ConfirmAnswer = 'accept' | 'decline' | 'cancel' | 'ask' | 'unavailable';

/** Who made a call, for the audit log and the per-caller run quota. */
export interface Caller {
  /** token:NAME, oauth:SUBJECT, stdio:USER or cli:USER. */
  who: string;
  via: 'stdio' | 'http' | 'cli';
  /** The client's address (HTTP). */
  remote?: string;
  /** The most runs this caller may have running at once. */
  maxRuns?: number;
  /** May run at the permissive level's powers (bpftrace --unsafe): the trace:admin scope. */
  admin?: boolean;
}

export interface ResourceLinkItem {
  uri: string;
  name: string;
  description?: string;
  mimeType?: string;
}

/**
 * A picture or file beside a result. MCP sends binary data (a PNG) as image content and text
 * (an SVG, folded stacks) as an embedded resource under `uri`; the CLI writes either to a file.
 */
export interface Attachment {
  name: string;
  mimeType: string;
  uri: string;
  text?: string;
  data?: Uint8Array;
}

export function errorResult(message: string, errorKind: ErrorKind = 'input', extra: Record<string, unknown> = {}): ToolResult {
  return { structured: { error: message, ...extra }, text: message, isError: true, errorKind };
}

export interface Progress {
  elapsedMs: number;
  lines: number;
  status: string;
  phase: string;
}

export interface CallContext {
  /** Aborted by an MCP cancellation or a CLI Ctrl-C: the run is stopped. */
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /**
   * Called with each batch of new lines while a waited run is in flight (CLI live output), with
   * the maps printed among them (by line index) so a terminal can render those as tables.
   */
  onLines?: (lines: readonly string[], from: number, maps: ReadonlyMap<number, MapPrint>) => void;
  /**
   * Sees every output line of the run it starts, kept or not (the CLI streams the whole trace to
   * stdout, unbounded, while the run keeps only what its caps allow).
   */
  tap?: OutputTap;
  /** No deadline unless the input names a timeout: a person at a terminal ends it with Ctrl-C. */
  noDeadline?: boolean;
  /** The MCP client's model, when it declared sampling (generate_program's fallback). */
  sample?: SampleFn;
  /** The saved session this call replays (run_session): the history records the run under it. */
  session?: string;
  /** Who is calling (audit, quotas); absent in library use and unit tests. */
  caller?: Caller;
  /**
   * Asks a person to approve a run the policy marks `confirm`. The CLI prompts on its terminal;
   * MCP answers from the client's reply, or `ask` to send the question. Absent: nobody can be asked.
   */
  confirm?: (request: ConfirmRequest) => Promise<ConfirmAnswer>;
}
