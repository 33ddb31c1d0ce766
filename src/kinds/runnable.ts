import { bpftraceEnv, bpftraceJsonArgv } from '../runtime/bpftrace/command.js';
import { diagnoseFailure } from '../runtime/bpftrace/diagnose.js';
import { kernelFeatures, type Preflight } from '../runtime/environment.js';
import type { LaunchSpec } from '../runtime/process-lifecycle.js';
import type { Tool } from './kind.js';

/** Input keys every runnable tool declares; the core consumes them. */
export const RUNTIME_INPUTS: readonly string[] = ['timeout', 'wait'];
/** Keys that shape the result or the call rather than the program. */
export const RESULT_INPUTS: readonly string[] = ['include_maps', 'limit', 'dry_run', 'max_lines', 'max_bytes'];
/** Keys that say where a run goes (a fleet run); the core consumes them. */
export const TARGET_INPUTS: readonly string[] = ['hosts', 'target', 'node_selector'];
/** Keys a template or a tool's argv never sees. */
export const NON_PROGRAM_INPUTS: ReadonlySet<string> = new Set([...RUNTIME_INPUTS, ...RESULT_INPUTS, ...TARGET_INPUTS]);

/**
 * The run's safety stop in ms. A run with a planned duration gets it extended past that
 * duration, so it can end normally (status completed) rather than time out.
 */
export function timeoutMs(tool: Tool, input: Record<string, unknown>, durationSec = 0): number {
  // The maximum is the core's to check (a server may raise it); see Core.checkRunInput.
  const sec = Number(input.timeout ?? tool.def.limits.timeout.default);
  return Math.max(sec, durationSec > 0 ? durationSec + 5 : 0) * 1000;
}

// The decoder (and its renderer) is most of the code a run needs and none of what a server's
// start-up needs: it loads on first use, or when the MCP server prefetches it after tools/list.
let decoderModule: Promise<typeof import('../runtime/bpftrace/json-decoder.js')> | undefined;
export const loadBpftraceDecoder = () => (decoderModule ??= import('../runtime/bpftrace/json-decoder.js'));

/** A bpftrace run with typed output (`-f json`) and everything bpftrace needs to stop well. */
export function bpftraceSpec(pre: Preflight, args: string[], timing: { timeoutMs: number; durationMs?: number }, program?: string): LaunchSpec {
  const env = bpftraceEnv(pre.features);
  return {
    argv: bpftraceJsonArgv(pre, args, env),
    env,
    lifeline: pre.helper !== undefined,
    // The program tells the decoder which maps exist: up to 0.23 text mode prints an empty map
    // as a blank line at exit, where JSON prints nothing.
    decoder: async () => new (await loadBpftraceDecoder()).BpftraceJsonDecoder(pre.features, { program }),
    holdStopUntilAttached: true,
    eventLines: true,
    // Resending relies on seeing map events as they arrive; from 0.24 the decoder holds the exit
    // maps back (to place the blank lines), and a SIGINT during that print would cut it short.
    resendStop: !pre.features.outputLayer2024,
    diagnose: (stderr) => diagnoseFailure(stderr, pre.remote?.kernelFeatures ?? kernelFeatures()),
    ...timing,
  };
}
