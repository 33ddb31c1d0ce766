import type { Launch, Tool } from '../kinds/kind.js';
import type { CallContext, ToolResult } from '../results/tool-result.js';

/** Everything a pre-run hook sees: the tool, its validated input, and what would run. */
export interface PreRun {
  tool: Tool;
  input: Record<string, unknown>;
  launch: Launch;
  /** A hook that lets the run go may still say something: it shows in the run's warnings. */
  warn(message: string): void;
  /** Asks a person to approve the run (the call's CallContext.confirm). */
  confirm?: CallContext['confirm'];
  /** A hook names the verdict it reached (allow, warn, confirmed, refuse...) for the audit log. */
  verdict?(verdict: string): void;
}

/**
 * Called before every run of every runnable tool, after rendering and before anything starts
 * (and before a dry run answers). A hook that returns a result refuses the run with it. This is
 * the one place a policy plugs in, so no tool can go around it.
 */
export type PreRunHook = (run: PreRun) => ToolResult | undefined | Promise<ToolResult | undefined>;
