import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SCHEMAS_DIR } from './paths.js';

/**
 * The one home of every default. A default written twice drifts: `serve` once ignored the
 * MCPTRACE_* variables because its own copy of these numbers won.
 */

/** How the runner schedules, keeps and stops runs. */
export interface RunnerSettings {
  /** Runs executing at once. */
  concurrency: number;
  /** Runs waiting for a slot; one more is refused. */
  maxQueued: number;
  /** Finished runs kept for get_result; the oldest are forgotten first. */
  maxRetained: number;
  /** Output bytes kept across finished runs, so many large runs cannot exhaust memory. */
  maxRetainedBytes: number;
  /** SIGINT to SIGKILL. */
  graceMs: number;
  autoMountTracefs: boolean;
  /** Seconds; when set, the longest timeout any call may ask for, over each tool's own maximum. */
  maxTimeoutSec?: number;
  /** The most output a call may ask one run to keep (max_lines, max_bytes inputs). */
  maxOutputLines: number;
  maxOutputBytes: number;
  /** Hosts a fleet run talks to at once (SSH connections, probes and runs), as pssh's -p. */
  fleetParallelism: number;
  /** Seconds a host may take to answer its probe (connection included) before it counts as unreachable. */
  fleetHostTimeoutSec: number;
}

export const RUNNER_DEFAULTS: Readonly<RunnerSettings> = {
  concurrency: 4,
  maxQueued: 16,
  maxRetained: 200,
  maxRetainedBytes: 256 * 1024 * 1024,
  // 360 tracepoints take ~26 s to detach; SIGKILL is no faster, so don't rush it.
  graceMs: 30_000,
  autoMountTracefs: false,
  maxOutputLines: 1_000_000,
  // As much as the retention budget: one run may use all of it, never more.
  maxOutputBytes: 256 * 1024 * 1024,
  // pssh's default; a remote run costs the server a process and a pipe, not a core.
  fleetParallelism: 32,
  fleetHostTimeoutSec: 15,
};

/** The environment variable behind each runner setting that people can set. */
export const RUNNER_ENV: Readonly<Partial<Record<keyof RunnerSettings, string>>> = {
  concurrency: 'MCPTRACE_CONCURRENCY',
  maxQueued: 'MCPTRACE_MAX_QUEUED',
  graceMs: 'MCPTRACE_GRACE_MS',
  autoMountTracefs: 'MCPTRACE_MOUNT_TRACEFS',
  maxTimeoutSec: 'MCPTRACE_MAX_TIMEOUT',
  maxOutputLines: 'MCPTRACE_MAX_OUTPUT_LINES',
  maxOutputBytes: 'MCPTRACE_MAX_OUTPUT_BYTES',
  fleetParallelism: 'MCPTRACE_FLEET_PARALLELISM',
  fleetHostTimeoutSec: 'MCPTRACE_FLEET_HOST_TIMEOUT',
};

/**
 * Runner settings from the environment over the defaults, read when asked (never at import
 * time, so a test or a caller that sets a variable later is honoured). Explicit options win.
 */
export function runnerSettings(explicit: Partial<RunnerSettings> = {}, env: NodeJS.ProcessEnv = process.env): RunnerSettings {
  const fromEnv: Partial<RunnerSettings> = {};
  for (const [key, name] of Object.entries(RUNNER_ENV) as [keyof RunnerSettings, string][]) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    if (key === 'autoMountTracefs') fromEnv.autoMountTracefs = raw === '1' || raw === 'true';
    else if (Number.isFinite(Number(raw))) (fromEnv as Record<string, number>)[key] = Number(raw);
  }
  const defined = Object.fromEntries(Object.entries(explicit).filter(([, v]) => v !== undefined));
  return { ...RUNNER_DEFAULTS, ...fromEnv, ...defined };
}

/** Per-tool caps a manifest may lower or raise (`limits:`). */
export interface ToolLimits {
  /** Seconds. */
  timeout: { default: number; max: number };
  output: { max_lines: number; max_bytes: number };
}

export const TOOL_LIMITS: Readonly<ToolLimits> = {
  timeout: { default: 10, max: 3600 },
  output: { max_lines: 100_000, max_bytes: 16 * 1024 * 1024 },
};

/**
 * What a streamed run keeps (the CLI writes every line out as it comes, so memory stays flat
 * however long the trace runs); the final maps are always kept on top.
 */
export const STREAMED_LIMITS: Readonly<ToolLimits['output']> = { max_lines: 1000, max_bytes: 1024 * 1024 };

/**
 * One MCP message read from a client. Far above any real request (a program is at most 64 KiB),
 * far below what would hurt: a larger one is skipped as it streams in and answered with an error.
 */
export const MAX_MCP_MESSAGE_BYTES = 4 * 1024 * 1024;

/** One MCP answer: the SDK's client stops reading (and disconnects) past 10 MiB. */
export const MAX_MCP_RESPONSE_BYTES = 8 * 1024 * 1024;

/**
 * The longest output line (in characters) kept whole; a longer one (printf without a newline,
 * running for minutes) is cut into lines of this length.
 */
export const MAX_LINE_BYTES = 1024 * 1024;

/**
 * The longest line a decoder reads whole when each line is one structured event (bpftrace's
 * `-f json`): a printed map is one line, and with 65,536 keys (per-pid or per-stack maps,
 * system-wide user stacks) it passes 1 MiB easily. Cutting such a line would turn it into
 * fragments, so it is never cut: a larger one is skipped whole, with a warning. The bound is
 * memory's, not the caller's: byte caps apply to the lines kept, after decoding.
 */
export const MAX_EVENT_LINE_BYTES = 256 * 1024 * 1024;

/** Warnings one run keeps about its output (a decoder warns once per kind of problem). */
export const MAX_RUN_WARNINGS = 50;

/** The largest manifest or bcc spec read; a tool's YAML is a few KiB (a 30 MB one took 1.1 GB). */
export const MAX_MANIFEST_BYTES = 256 * 1024;

/** Alias expansions allowed in one YAML file (the yaml library's own guard against alias bombs). */
export const MAX_YAML_ALIASES = 100;

/**
 * Output bytes in one page of a result. The page goes out twice (text and structured content)
 * and JSON-escaped, so this keeps an answer well under the 8 MiB response limit.
 */
export const PAGE_MAX_BYTES = 1024 * 1024;

/**
 * Typed maps in one result (include_maps), as JSON. With a page of output, twice over (text and
 * structured content), this stays under the 8 MiB that MCP clients read.
 */
export const MAPS_PAGE_MAX_BYTES = 2.5 * 1024 * 1024;

/** A stderr line (or an error message) longer than this is cut: 300 compile errors repeating a 64 KB line made a 40 MB answer. */
export const MAX_DIAGNOSTIC_CHARS = 4096;
export const MAX_ERROR_MESSAGE_CHARS = 64 * 1024;

/** stderr lines kept per run, and their bytes; more are counted as dropped. */
export const MAX_STDERR_LINES = 2000;
export const MAX_STDERR_BYTES = 256 * 1024;

/** Lines of a traced command's own output (bpftrace -c) kept per run: the last ones. */
export const MAX_COMMAND_OUTPUT_LINES = 1000;

/** A passing environment check is reused this long (it scans PATH and the mount table). */
export const PREFLIGHT_TTL_MS = 2000;

let defs: Record<string, Record<string, unknown>> | undefined;

/** The shared parameter definitions of schemas/common.json, read once on first use. */
export function commonDefs(): Record<string, Record<string, unknown>> {
  defs ??= JSON.parse(readFileSync(path.join(SCHEMAS_DIR, 'common.json'), 'utf8')).$defs as Record<string, Record<string, unknown>>;
  return defs;
}

/**
 * Lines in one page of output. Its home is the `limit` parameter's default in
 * schemas/common.json, which clients see; code that pages without an explicit limit reads it
 * from there (it once said 1000 in one place and 500 in another).
 */
export const pageSize = (): number => Number(commonDefs().limit.default);

/** One model request (generate_program, explain_result, ask); MCPTRACE_MODEL_TIMEOUT overrides it. */
export const MODEL_TIMEOUT_MS = 60_000;

/** Retries of a rate-limited (429) model request, and the longest Retry-After worth waiting for. */
export const MODEL_MAX_RETRIES = 2;
export const MODEL_MAX_RETRY_WAIT_MS = 20_000;

/** A model's answer is a few KiB; a larger body is refused unread. */
export const MODEL_MAX_ANSWER_BYTES = 1024 * 1024;

/** generate_program's attempts at a program that compiles (the first one and its fixes). */
export const GENERATE_DEFAULT_ATTEMPTS = 3;
export const GENERATE_MAX_ATTEMPTS = 8;

/** plan_trace's answer, in tokens (≈ 4 bytes each), unless the call names a budget. */
export const PLAN_DEFAULT_BUDGET_TOKENS = 2000;
