import type { RunnerSettings } from '../config/defaults.js';
import type { EnvironmentCheck } from '../runtime/environment-checks.js';
import type { Preflight } from '../runtime/environment.js';
import type { Execution, RunState, StopReason } from '../runtime/execution.js';
import type { HistoryStore, RunListFilter } from '../history/store.js';
import type { ProbeCache } from '../runtime/probe-cache.js';
import type { KnowledgeBase } from '../knowledge/library.js';
import type { CallContext, ToolResult } from '../results/tool-result.js';
import type { TemplatesView } from './templates-view.js';
import type { Policy } from '../policy/policy.js';
import type { ProgramValidator } from '../validation/validator.js';

/** The runs a builtin may look at and stop: this process's live ones, and the history's. */
export interface RunsView {
  readonly options: Pick<RunnerSettings, 'maxRetained' | 'maxRetainedBytes'>;
  /** Whether runs outlive this process and other processes see them (the history is on). */
  readonly shared: boolean;
  /** The history, when it is on (search_history, sessions). */
  readonly history?: HistoryStore;
  /** A live run of this process: the only kind that can be waited on as it changes. */
  get(id: string): Execution | undefined;
  /** A live run, else a stored one (an earlier start's, another process's). */
  find(id: string): RunState | undefined;
  /** Oldest first. */
  list(filter?: RunListFilter): RunState[];
  stop(e: Execution, reason: StopReason): void;
  /** Stops a run another process is running (SIGINT to its tracer); undefined when sent, else why not. */
  stopElsewhere(run: RunState): string | undefined;
}

/** One loaded tool as a listing sees it. */
export interface ToolSummary {
  name: string;
  kind: string;
  toolset: string;
  /** One line on what it is for. */
  purpose: string;
  /** What its kind checks it needs (e.g. an installed bcc provider); empty when nothing. */
  checks: EnvironmentCheck[];
}

/** What the core lends a builtin: narrow on purpose, never the core itself. */
export interface BuiltinContext {
  runs: RunsView;
  probes: ProbeCache;
  preflight(): Promise<Preflight>;
  /** The loaded tools, with their purpose and checks (computed on each call: installs change). */
  tools(): ToolSummary[];
  templates: TemplatesView;
  /** The compile check and diagnosis (validate_program). */
  validator: ProgramValidator;
  /** The safety policy in force (the same one every run passes). */
  policy: Policy;
  /** The examples library and what runs here (search_examples, discover_probes). */
  knowledge: KnowledgeBase;
  /** The environment the core was given: where a model endpoint is configured (OPENAI_BASE_URL…). */
  env: NodeJS.ProcessEnv;
  /**
   * Calls a tool as a client would, through input validation and every pre-run hook (the
   * policy): run_session replays a saved session with it, never around the policy.
   */
  callTool(name: string, args: unknown, call?: CallContext): Promise<ToolResult>;
}

/**
 * One built-in tool: the handler named by a manifest's `run.handler`. Its input was already
 * validated against the manifest's schema (defaults applied), so a handler may rely on it.
 */
export interface BuiltinTool<I = Record<string, unknown>> {
  handler: string;
  /**
   * Reads the runs of this process (get_result, stop_execution, list_executions). With an
   * in-memory store it only makes sense inside one server session, never across CLI processes.
   */
  sessionScoped?: boolean;
  run(input: I, ctx: BuiltinContext, call: CallContext): Promise<ToolResult>;
}

/** Declares a builtin with its input type; the cast happens once, here, after Ajv's check. */
export const defineBuiltin = <I>(b: BuiltinTool<I>): BuiltinTool => b as unknown as BuiltinTool;
