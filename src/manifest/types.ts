import type { ToolLimits } from '../config/defaults.js';

export type JsonSchema = Record<string, unknown>;

export interface Annotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

/**
 * One manifest as the YAML says it, validated against schemas/manifest.schema.json, with
 * common.json references inlined. What its `run:` section means is its kind's business
 * (src/kinds): this layer never interprets it.
 */
export interface ToolDefinition {
  name: string;
  title: string;
  description: string;
  /** A kind registered in src/kinds; checked there, not here. */
  kind: string;
  /** The group `serve --toolsets` selects by; defaulted by kind when the manifest is silent. */
  toolset: string;
  aliases: string[];
  /** The MCP Apps view shown with this tool's result (src/mcp/apps.ts); defaulted by kind, absent for none. */
  view?: string;
  examples: { description: string; input: Record<string, unknown> }[];
  annotations: Annotations;
  /** Self-contained JSON Schema: common.json references are inlined. */
  input: JsonSchema;
  output?: JsonSchema;
  limits: ToolLimits;
  run: Record<string, unknown>;
  cli: CliPresentation;
  /** Absolute path of the YAML file, for messages. */
  file: string;
}

/** How the CLI presents a tool (manifest `cli:`); see schemas/manifest.schema.json. */
export interface CliPresentation {
  short?: Record<string, string>;
  split?: string[];
  rest?: string;
  program_file?: string;
}

/** The manifest's YAML, shaped by manifest.schema.json (what Ajv has already checked). */
export interface ManifestYaml {
  name: string;
  title: string;
  description: string;
  kind: string;
  toolset?: string;
  aliases?: string[];
  view?: string;
  examples?: { description: string; input: Record<string, unknown> }[];
  annotations: Annotations;
  input: JsonSchema;
  output?: JsonSchema;
  limits?: { timeout?: Partial<ToolLimits['timeout']>; output?: Partial<ToolLimits['output']> };
  run: Record<string, unknown>;
  cli?: CliPresentation;
}
