import type { TypedMap } from '../runtime/bpftrace-output.js';

/** What every tool returns, to MCP and the CLI alike. */
export interface ToolResult {
  structured: Record<string, unknown>;
  text: string;
  isError?: boolean;
  /** CLI exit code class; MCP ignores it. */
  errorKind?: 'input' | 'environment' | 'failed' | 'timeout' | 'not_found';
  /** Stack of an internal error; the CLI shows it only with --debug, MCP never. */
  debug?: string;
}

export function errorResult(message: string, errorKind: ToolResult['errorKind'] = 'input', extra: Record<string, unknown> = {}): ToolResult {
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
  onLines?: (lines: string[], from: number, maps: ReadonlyMap<number, { map: TypedMap; count: number }>) => void;
}
