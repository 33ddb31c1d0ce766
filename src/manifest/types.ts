export type ToolKind = 'bpftrace' | 'template' | 'bcc' | 'builtin';

export type JsonSchema = Record<string, unknown>;

export interface Annotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

export interface Limits {
  /** Seconds. */
  timeout: { default: number; max: number };
  output: { max_lines: number; max_bytes: number };
}

export type RunSpec =
  | { kind: 'bpftrace'; program?: string; program_input?: string; positional?: string[] }
  | { kind: 'template'; template: string; templatePath: string; declared: string[] }
  | { kind: 'bcc'; tool: string; duration_input?: string; specPath: string }
  | { kind: 'builtin'; handler: string };

export interface Manifest {
  name: string;
  title: string;
  description: string;
  kind: ToolKind;
  aliases: string[];
  examples: { description: string; input: Record<string, unknown> }[];
  annotations: Annotations;
  /** Self-contained JSON Schema: common.json references are inlined. */
  input: JsonSchema;
  output?: JsonSchema;
  limits: Limits;
  run: RunSpec;
  /** Absolute path of the YAML file, for messages. */
  file: string;
}

export const DEFAULT_LIMITS: Limits = {
  timeout: { default: 10, max: 3600 },
  output: { max_lines: 100_000, max_bytes: 16 * 1024 * 1024 },
};

/** What the loader prepares once per manifest so that a call does no parsing. */
export interface Prepared {
  validateInput: (input: unknown) => { ok: true; value: Record<string, unknown> } | { ok: false; message: string };
  renderTemplate?: (input: Record<string, unknown>) => string;
  bccSpec?: import('../runtime/bcc-tools.js').BccSpec;
}

export interface LoadedTool {
  manifest: Manifest;
  prepared: Prepared;
}
