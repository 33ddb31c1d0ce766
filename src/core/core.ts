import { hostname, release } from 'node:os';
import { PREFLIGHT_TTL_MS, STREAMED_LIMITS, pageSize, type RunnerSettings } from '../config/defaults.js';
import type { BuiltinContext, ToolSummary } from '../builtins/builtin.js';
import { RenderError, type Launch, type Tool } from '../kinds/kind.js';
import { loadBpftraceDecoder, NON_PROGRAM_INPUTS } from '../kinds/runnable.js';
import { templateCatalog } from '../kinds/template/catalog.js';
import { loadExeca } from '../runtime/subprocess.js';
import type { EnvironmentCheck } from '../runtime/environment-checks.js';
import { EnvironmentError, preflight, type Preflight } from '../runtime/environment.js';
import type { ExecutionStore } from '../runtime/execution-store.js';
import { FINAL_STATUSES, type Execution, type RefusedProvider } from '../runtime/execution.js';
import { providerFallback, type NextProvider } from '../runtime/fallback.js';
import type { LaunchSpec } from '../runtime/process-lifecycle.js';
import { ProbeCache } from '../runtime/probe-cache.js';
import { processExists } from '../runtime/processes.js';
import { KnowledgeBase, type KnowledgeOptions } from '../knowledge/library.js';
import { QueueFullError, Runner } from '../runtime/runner.js';
import type { Spawner } from '../runtime/spawner.js';
import { HistoryRecorder } from '../history/recorder.js';
import { RunsWithHistory } from '../history/runs.js';
import type { LazyHistory } from '../history/open.js';
import { executionResult, waitForExecution } from '../results/execution-view.js';
import { errorResult, type CallContext, type ToolResult } from '../results/tool-result.js';
import { loadPolicy, Policy, type PolicyOptions } from '../policy/policy.js';
import { policyHook } from '../policy/hook.js';
import { withDiagnosis } from '../validation/exec-diagnosis.js';
import { ProgramValidator } from '../validation/validator.js';
import { dryRunResult } from './dry-run.js';
import { FleetLauncher } from './fleet.js';
import type { PreRunHook } from './pre-run.js';
import { loadTools, type LoadOptions, type LoadResult } from './tool-loader.js';

export interface CoreOptions extends LoadOptions {
  runner?: Partial<RunnerSettings>;
  /** The process seam; tests replay recorded tracers through a fake. */
  spawner?: Spawner;
  store?: ExecutionStore;
  /** The environment check; tests of the run path without a kernel supply their own. */
  preflight?: () => Promise<Preflight>;
  /** The safety policy: a loaded one, or where to find it (--policy, --safety-level). */
  policy?: Policy | PolicyOptions;
  /** Where the examples library and the machine's .bt tools are read from. */
  knowledge?: KnowledgeOptions;
  /**
   * The run history (opened by the caller: the CLI and the server do, unless --no-history).
   * Every run is recorded in it, and every tool that takes an execution_id reads it.
   */
  history?: LazyHistory;
  /** Where every call is recorded (who, what, the verdict, the outcome): the server's audit log. */
  audit?: AuditSink;
  /** The Ansible inventory that `hosts` names are read from (--inventory; else MCPTRACE_INVENTORY). */
  inventory?: string;
}

/** One call as the audit log records it (src/history/audit.ts stores it). */
export interface AuditRecord {
  at: string;
  who: string;
  via: 'http' | 'stdio' | 'cli';
  remote?: string;
  tool: string;
  args?: Record<string, unknown>;
  program?: string;
  argv?: string[];
  verdict?: string;
  outcome: string;
  executionId?: string;
  durationMs?: number;
}

export interface AuditSink {
  record(entry: AuditRecord): void;
  /** Writes what it still holds; called once, at shutdown. */
  close?(): void;
}

/** What a run tells the audit of its call: what ran and what the policy said. */
interface RunNote {
  program?: string;
  argv?: string[];
  verdict?: string;
}

export type { PreRun, PreRunHook } from './pre-run.js';

/**
 * The one core behind both faces: MCP and the CLI call `callTool` with raw arguments and get the
 * same ToolResult back.
 */
export class Core {
  readonly loaded: LoadResult;
  readonly runner: Runner;
  /** This process's live runs, then the history's: what every tool that takes an execution_id reads. */
  readonly runs: RunsWithHistory;
  private recorder?: HistoryRecorder;
  readonly history?: LazyHistory;
  readonly probes: ProbeCache;
  readonly validator: ProgramValidator;
  readonly policy: Policy;
  readonly knowledge: KnowledgeBase;
  private readonly byName = new Map<string, Tool>();
  private readonly env: NodeJS.ProcessEnv;
  private readonly hooks: PreRunHook[] = [];
  private readonly checkEnvironment: () => Promise<Preflight>;
  private lastPreflight?: { at: number; result: Promise<Preflight> };
  private readonly audit?: AuditSink;
  /** Each caller's running runs, for the per-caller quota (Caller.maxRuns). */
  private readonly running = new Map<string, Set<string>>();
  private readonly fleet: FleetLauncher;

  constructor(opts: CoreOptions = {}) {
    this.loaded = loadTools(opts);
    this.env = opts.env ?? process.env;
    for (const t of this.loaded.tools) this.byName.set(t.def.name, t);
    const history = (this.history = opts.history);
    this.audit = opts.audit;
    this.runner = new Runner(opts.runner ?? {}, { spawner: opts.spawner, store: opts.store, idTaken: (id) => history?.()?.idExists(id) ?? false });
    this.runs = new RunsWithHistory(this.runner, history, history?.enabled ?? false);
    this.checkEnvironment = opts.preflight ?? (() => preflight({ autoMountTracefs: this.runner.options.autoMountTracefs }));
    this.probes = new ProbeCache(() => this.preflight());
    this.validator = new ProgramValidator(() => this.preflight(), this.probes);
    this.policy = opts.policy instanceof Policy ? opts.policy : loadPolicy(opts.policy);
    this.addPreRunHook(policyHook(this.policy, this.probes));
    this.knowledge = new KnowledgeBase(this.probes, () => this.preflight(), opts.knowledge);
    this.fleet = new FleetLauncher({
      runner: this.runner,
      hooks: this.hooks,
      runSpec: (tool, input, launch, pre, ctx) => this.runSpec(tool, input, launch, pre, ctx),
      record: (exec, m) =>
        this.historyRecorder()?.record(exec, {
          id: exec.id,
          tool: m.tool,
          input: m.input,
          program: m.program,
          argv: m.argv,
          bpftraceVersion: m.version,
          kernel: m.kernel,
          // The machine that runs and records it (a stop from another process goes there).
          host: hostname(),
          policyVerdict: m.verdict,
        }),
      tools: () => this.tools,
      inventoryFile: opts.inventory ?? (this.env.MCPTRACE_INVENTORY || undefined),
      env: this.env,
    });
  }

  get tools(): Tool[] {
    return this.loaded.tools;
  }

  tool(name: string): Tool | undefined {
    return this.byName.get(name);
  }

  /** What each tool's kind says about its own requirements (e.g. which bcc provider is installed). */
  providerChecks(): EnvironmentCheck[] {
    return this.tools.flatMap((t) => t.kind.check?.(t) ?? []);
  }

  addPreRunHook(hook: PreRunHook): void {
    this.hooks.push(hook);
  }

  /**
   * The environment check before each run. A passing check is reused for a moment: it reads the
   * mount table and scans PATH (~0.4 ms), which a burst of runs need not repeat. A failing
   * check is never reused, so a fix (mounting tracefs, installing bpftrace) takes effect at once.
   */
  preflight(): Promise<Preflight> {
    const now = Date.now();
    if (this.lastPreflight && now - this.lastPreflight.at < PREFLIGHT_TTL_MS) return this.lastPreflight.result;
    const result = this.checkEnvironment();
    this.lastPreflight = { at: now, result };
    result.catch(() => (this.lastPreflight = undefined));
    return result;
  }

  private builtinContext(): BuiltinContext {
    return {
      runs: this.runs,
      probes: this.probes,
      preflight: () => this.preflight(),
      tools: () => this.toolSummaries(),
      templates: templateCatalog(
        () => this.tools,
        (n) => this.tool(n),
      ),
      validator: this.validator,
      policy: this.policy,
      knowledge: this.knowledge,
      env: this.env,
      callTool: (name, args, call) => this.callTool(name, args, call),
    };
  }

  private toolSummaries(): ToolSummary[] {
    return this.tools.map((t) => ({
      name: t.def.name,
      kind: t.def.kind,
      toolset: t.def.toolset,
      purpose: t.kind.summary?.(t) ?? t.def.title,
      checks: t.kind.check?.(t) ?? [],
    }));
  }

  /**
   * Records a call that a transport refused before it reached callTool (over HTTP: a message
   * beyond the caller's scope), so the audit holds every call, answered or not.
   */
  auditRefusal(entry: Omit<AuditRecord, 'outcome'> & { outcome: `error:${string}` }): void {
    this.audit?.record(entry);
  }

  async callTool(name: string, args: unknown, ctx: CallContext = {}): Promise<ToolResult> {
    if (!this.audit || !ctx.caller) return this.dispatch(name, args, ctx, {});
    const started = Date.now();
    const note: RunNote = {};
    const r = await this.dispatch(name, args, ctx, note);
    const caller = ctx.caller;
    const id = (r.structured as { execution_id?: unknown }).execution_id;
    this.audit.record({
      at: new Date(started).toISOString(),
      who: caller.who,
      via: caller.via,
      remote: caller.remote,
      tool: name,
      args: args && typeof args === 'object' && !Array.isArray(args) ? (args as Record<string, unknown>) : undefined,
      program: note.program,
      argv: note.argv,
      verdict: note.verdict,
      outcome: r.confirm ? 'asked' : r.isError ? `error:${r.errorKind ?? 'failed'}` : 'ok',
      executionId: typeof id === 'string' ? id : undefined,
      durationMs: Date.now() - started,
    });
    return r;
  }

  private async dispatch(name: string, args: unknown, ctx: CallContext, note: RunNote): Promise<ToolResult> {
    const tool = this.byName.get(name);
    if (!tool) return errorResult(`unknown tool "${name}"; available tools: ${[...this.byName.keys()].join(', ')}`, 'not_found');
    let checked: ReturnType<Tool['validateInput']>;
    try {
      checked = tool.validateInput(args ?? {});
    } catch (e) {
      // Input schemas compile on first use; a strict-mode error in a user manifest lands here.
      return errorResult(
        `${name} has an invalid input schema (${(e as Error).message}); fix ${tool.def.file} (check it with: mcptrace tools validate ${tool.def.file})`,
        'input',
      );
    }
    if (!checked.ok) return errorResult(checked.message, 'input');
    const input = checked.value;
    try {
      if (!tool.kind.runnable) return await tool.kind.call(tool, input, this.builtinContext(), ctx);
      return await this.run(tool, input, ctx, note);
    } catch (e) {
      if (e instanceof EnvironmentError) return errorResult(e.message, 'environment');
      if (e instanceof RenderError || e instanceof QueueFullError) return errorResult(e.message, 'input');
      return {
        ...errorResult(
          `internal error in ${name}: ${(e as Error).message}. This is a bug in mcptrace, not in your call; please report it (run with --debug for the stack).`,
          'internal',
        ),
        debug: (e as Error).stack,
      };
    }
  }

  private async run(tool: Tool, input: Record<string, unknown>, ctx: CallContext, note: RunNote): Promise<ToolResult> {
    if (!tool.kind.runnable) throw new Error(`${tool.def.name} is not runnable`);
    if (Array.isArray(input.hosts) || input.target === 'k8s' || input.node_selector !== undefined) return this.runFleet(tool, input, ctx, note);
    const bad = this.checkRunInput(tool, input);
    if (bad) return errorResult(bad, 'input');
    const denied = this.checkCaller(tool, input, ctx);
    if (denied) {
      note.verdict = denied.verdict;
      return errorResult(denied.text, 'policy');
    }
    const pre = await this.preflight();
    const launch = tool.kind.launch(tool, input, pre);
    note.program = launch.program;
    note.argv = launch.spec.argv;
    const warnings: string[] = [];
    const verdict = (v: string) => (note.verdict = v);
    for (const hook of this.hooks) {
      const refused = await hook({ tool, input, launch, warn: (m) => warnings.push(m), confirm: ctx.confirm, verdict });
      if (refused) return refused;
    }
    if (input.dry_run) return dryRunResult(tool, launch);
    const spec = this.runSpec(tool, input, launch, pre, ctx);
    // A streamed run (the CLI) has every line written out already; it keeps a bounded head.
    const limits = ctx.tap ? STREAMED_LIMITS : outputLimits(tool, input);
    const exec = this.runner.start({
      tool: tool.def.name,
      limits,
      spec,
      variant: launch.variant,
      summary: runSummary(input, launch),
      attemptOf: typeof input.attempt_of === 'string' ? input.attempt_of : undefined,
      warnings,
    });
    if (ctx.tap) exec.streamTo(ctx.tap);
    this.historyRecorder()?.record(exec, {
      id: exec.id,
      tool: tool.def.name,
      input,
      program: launch.program,
      argv: spec.argv,
      bpftraceVersion: pre.features.version,
      kernel: release(),
      host: hostname(),
      policyVerdict: note.verdict ?? (warnings.length ? 'warn' : 'allow'),
      session: ctx.session,
    });
    return this.started(exec, input, ctx);
  }

  /** The same call on every host of `hosts` (core/fleet.ts): one fleet run, each host's run in it. */
  private async runFleet(tool: Tool, input: Record<string, unknown>, ctx: CallContext, note: RunNote): Promise<ToolResult> {
    // A pid names a process on each host, which this machine cannot check.
    const bad = this.checkRunInput(tool, { ...input, pid: undefined });
    if (bad) return errorResult(bad, 'input');
    const denied = this.checkCaller(tool, input, ctx);
    if (denied) {
      note.verdict = denied.verdict;
      return errorResult(denied.text, 'policy');
    }
    const plan = await this.fleet.plan(input, ctx);
    if ('error' in plan) return plan.error;
    const { fleet, result } = await this.fleet.run(tool, input, plan.hosts, ctx);
    if (result) return result;
    const exec = fleet!.exec;
    this.historyRecorder()?.record(exec, {
      id: exec.id,
      tool: tool.def.name,
      input,
      argv: [],
      kernel: 'fleet',
      host: hostname(),
      policyVerdict: 'per host',
      session: ctx.session,
    });
    return this.started(exec, input, ctx);
  }

  /** A run that has started, local or a fleet's: counted against its caller, waited for if asked, answered. */
  private async started(exec: Execution, input: Record<string, unknown>, ctx: CallContext): Promise<ToolResult> {
    this.holdFor(ctx.caller, exec);
    if (input.wait || ctx.signal?.aborted) {
      await waitForExecution(exec, ctx, { onAbort: () => this.runner.stop(exec, 'cancel') });
    }
    return executionResult(exec, { offset: 0, limit: Number(input.limit ?? pageSize()), includeMaps: Boolean(input.include_maps) });
  }

  /** What the runtime runs for a launch: its deadline, its diagnosis, and the provider to fall back to. */
  private runSpec(tool: Tool, input: Record<string, unknown>, launch: Launch, pre: Preflight, ctx: CallContext): LaunchSpec {
    // A terminal with no --timeout runs until Ctrl-C, as bpftrace does; MCP calls always have one.
    const timed = ctx.noDeadline ? { ...launch.spec, timeoutMs: Infinity } : launch.spec;
    // A program's failed compile comes back in validate_program's taxonomy, from the run's own
    // stderr: never a second compile.
    const spec = launch.program !== undefined ? withDiagnosis(timed, launch.program, this.validator) : timed;
    const kind = tool.kind;
    if (!kind.runnable || !kind.fallback || launch.variant === undefined) return spec;
    // The kernel refused this provider as it started: the kind's next one runs in the same run,
    // after the same pre-run hooks (the policy judges its argv too). A hook that refuses it
    // leaves the first refusal as the run's answer.
    const next = async (refused: RefusedProvider): Promise<NextProvider | undefined> => {
      const launched = kind.fallback!(tool, input, pre, refused.variant);
      if (!launched?.variant) return undefined;
      const warnings: string[] = [];
      for (const hook of this.hooks) if (await hook({ tool, input, launch: launched, warn: (m) => warnings.push(m), confirm: ctx.confirm })) return undefined;
      return { spec: this.runSpec(tool, input, launched, pre, ctx), variant: launched.variant, warnings };
    };
    return { ...spec, fallback: providerFallback(spec, next) };
  }

  /**
   * What the caller may do: `unsafe` (bpftrace --unsafe) needs the trace:admin scope, and a caller
   * with a run quota may not start one more past it. Callers without these limits (the CLI, stdio,
   * library use) pass.
   */
  private checkCaller(tool: Tool, input: Record<string, unknown>, ctx: CallContext): { verdict: 'scope' | 'quota'; text: string } | undefined {
    const caller = ctx.caller;
    if (!caller) return undefined;
    // The HTTP layer checks the scope of each message it receives; this check is for calls made
    // on a caller's behalf by another tool (run_session replays saved calls), which it never sees.
    const adminWhy =
      input.unsafe === true ? 'with unsafe: true' : this.policy.level === 'permissive' ? `on a server at the permissive safety level` : undefined;
    if (adminWhy && caller.admin === false)
      return {
        verdict: 'scope',
        text: `${tool.def.name} ${adminWhy} needs the trace:admin scope, and ${caller.who} does not have it. ${input.unsafe === true ? 'Run it without unsafe, or a' : 'A'}sk the server's operator for a token with trace:admin (mcptrace token create NAME --scopes trace:read,trace:run,trace:admin).`,
      };
    const mine = this.running.get(caller.who);
    if (caller.maxRuns !== undefined && mine && mine.size >= caller.maxRuns)
      return {
        verdict: 'quota',
        text: `${caller.who} already has ${mine.size} run${mine.size === 1 ? '' : 's'} running, the most this caller may have at once (${caller.maxRuns}). Stop one with stop_execution (running: ${[...mine].join(', ')}), or wait for one to end.`,
      };
    return undefined;
  }

  /** Counts a run against its caller's quota until it ends. */
  private holdFor(caller: CallContext['caller'], exec: Execution): void {
    if (!caller || FINAL_STATUSES.has(exec.status)) return;
    let mine = this.running.get(caller.who);
    if (!mine) this.running.set(caller.who, (mine = new Set()));
    const held = mine;
    held.add(exec.id);
    exec.once('end', () => {
      held.delete(exec.id);
      if (!held.size && this.running.get(caller.who) === held) this.running.delete(caller.who);
    });
  }

  /** Checks every run's common inputs before anything starts: a deadline within the maximum, a live pid. */
  private checkRunInput(tool: Tool, input: Record<string, unknown>): string | undefined {
    const max = this.runner.options.maxTimeoutSec ?? tool.def.limits.timeout.max;
    if (typeof input.timeout === 'number' && input.timeout > max) {
      return (
        `timeout ${input.timeout} s exceeds ${this.runner.options.maxTimeoutSec === undefined ? `${tool.def.name}'s` : "this server's"} maximum of ${max} s; ` +
        'pass a smaller timeout (the server maximum is set with mcptrace serve --max-timeout or MCPTRACE_MAX_TIMEOUT)'
      );
    }
    const { maxOutputLines, maxOutputBytes } = this.runner.options;
    for (const [key, max, flag] of [
      ['max_lines', maxOutputLines, '--max-output-lines'],
      ['max_bytes', maxOutputBytes, '--max-output-bytes'],
    ] as const) {
      const v = input[key];
      if (typeof v === 'number' && v > max) {
        return `${key} ${v} exceeds this server's maximum of ${max}; pass at most ${max}, or read the output in pages with get_result while the run goes on (the maximum is set with mcptrace serve ${flag})`;
      }
    }
    // A filter on a pid that is not running matches nothing, and the run would end silently empty.
    if (typeof input.pid === 'number' && !processExists(input.pid)) {
      return `no process with pid ${input.pid} is running; find the pid with: pgrep -a NAME (or ps -e), then call again`;
    }
    return undefined;
  }

  private historyRecorder(): HistoryRecorder | undefined {
    const store = this.runs.history;
    if (store && this.recorder?.store !== store) this.recorder = new HistoryRecorder(store);
    return this.recorder;
  }

  /**
   * Loads what the first run needs (execa, the bpftrace decoder) in the background, so that run
   * does not pay for it; start-up, which most server launches are, never does.
   */
  prefetch(): void {
    void loadExeca();
    void loadBpftraceDecoder();
  }

  async shutdown(): Promise<void> {
    await this.runner.shutdown();
    // Before the history closes: the audit may keep its entries there.
    this.audit?.close?.();
    this.recorder?.close();
    this.history?.close();
  }
}

/**
 * What a run is, for list_executions: the first line of a program the caller wrote, otherwise
 * the input that shaped it (four exec_program runs once all read "exec_program").
 */
function runSummary(input: Record<string, unknown>, launch: Launch): string {
  const own = Object.entries(input).filter(([k, v]) => !NON_PROGRAM_INPUTS.has(k) && v !== undefined && v !== false);
  const program = own.find(([, v]) => v === launch.program);
  const text = program
    ? (String(program[1])
        .split('\n')
        .map((l) => l.trim())
        .find((l) => l && !l.startsWith('#') && !l.startsWith('//') && !l.startsWith('/*') && !l.startsWith('*')) ?? '')
    : own.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ');
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}

/** A run's output caps: the tool's own, or what the call asked for (checked against the server's maximum). */
function outputLimits(tool: Tool, input: Record<string, unknown>): Tool['def']['limits']['output'] {
  const own = tool.def.limits.output;
  return {
    max_lines: typeof input.max_lines === 'number' ? input.max_lines : own.max_lines,
    max_bytes: typeof input.max_bytes === 'number' ? input.max_bytes : own.max_bytes,
  };
}
