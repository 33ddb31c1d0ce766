import type { BuiltinContext } from '../builtins/builtin.js';
import type { Problem, ProblemKind } from '../manifest/problem.js';
import type { JsonSchema, ToolDefinition } from '../manifest/types.js';
import type { EnvironmentCheck } from '../runtime/environment-checks.js';
import type { Preflight } from '../runtime/environment.js';
import type { LaunchSpec } from '../runtime/process-lifecycle.js';
import type { CallContext, ToolResult } from '../results/tool-result.js';

/** What a kind's prepare() may use and report into. */
export interface PrepareContext {
  readonly def: ToolDefinition;
  /** The input properties the manifest declares. */
  readonly inputs: readonly string[];
  /** A problem at a JSON pointer into the manifest (located for the user). */
  problem(pointer: string, message: string, kind?: ProblemKind): void;
  /** Problems found in another file the tool uses (a template, a bcc spec). */
  report(problems: Problem[]): void;
}

/** A loaded tool: its definition, its kind, and what the kind prepared once at load time. */
export interface Tool<P = unknown> {
  readonly def: ToolDefinition;
  readonly kind: ToolKind<P>;
  readonly prepared: P;
  /** Validates and fills in defaults; compiled on first use. */
  validateInput(input: unknown): { ok: true; value: Record<string, unknown> } | { ok: false; message: string };
}

/** A call that cannot be turned into a command; the message says how to fix the call. */
export class RenderError extends Error {}

/** What a runnable kind turns a call into. */
export interface Launch {
  spec: LaunchSpec;
  /** The rendered bpftrace program, when there is one: the pre-run hook and --dry-run see it. */
  program?: string;
  /** Which provider was chosen (e.g. a bcc variant), for listings. */
  variant?: string;
}

interface KindBase<P> {
  readonly name: string;
  /** JSON Schema of the manifest's `run:` section for this kind. */
  readonly runSchema: JsonSchema;
  /** Checks the manifest's kind-specific parts, reporting problems; returns what calls need. */
  prepare(ctx: PrepareContext): P | undefined;
  /** Whether the tool reads the runs of its own process only (meaningless across CLI processes). */
  sessionScoped?(tool: Tool<P>): boolean;
  /** Whether what a tool needs is installed here (doctor shows it), e.g. which bcc provider runs. */
  check?(tool: Tool<P>): EnvironmentCheck[];
  /** One line on what the tool is for, for short listings (list_bcc_tools). */
  summary?(tool: Tool<P>): string | undefined;
}

/** A kind whose tools start a process: the core queues, runs, stops and reads it. */
export interface RunnableKind<P = unknown> extends KindBase<P> {
  readonly runnable: true;
  /** Renders a validated call as an argv array and how to read its output. Throws RenderError. */
  launch(tool: Tool<P>, input: Record<string, unknown>, pre: Preflight): Launch;
  /**
   * The provider to try after `refused`, which the kernel refused as it started (a bcc tool's
   * libbpf build whose kprobe target is gone): the next installed one that can take this input,
   * or undefined. Its spec's `diagnose` must say `refused` for the core to ask (runtime/fallback.ts).
   */
  fallback?(tool: Tool<P>, input: Record<string, unknown>, pre: Preflight, refused: string): Launch | undefined;
}

/** A kind whose tools answer in-process (the built-ins). */
export interface CallableKind<P = unknown> extends KindBase<P> {
  readonly runnable: false;
  call(tool: Tool<P>, input: Record<string, unknown>, ctx: BuiltinContext, call: CallContext): Promise<ToolResult>;
}

export type ToolKind<P = unknown> = RunnableKind<P> | CallableKind<P>;
