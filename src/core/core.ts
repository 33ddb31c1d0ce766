import { PREFLIGHT_TTL_MS, pageSize, type RunnerSettings } from '../config/defaults.js';
import type { BuiltinContext } from '../builtins/builtin.js';
import { RenderError, type Launch, type Tool } from '../kinds/kind.js';
import { loadBpftraceDecoder } from '../kinds/runnable.js';
import { loadExeca } from '../runtime/subprocess.js';
import type { EnvironmentCheck } from '../runtime/environment-checks.js';
import { EnvironmentError, preflight, type Preflight } from '../runtime/environment.js';
import type { ExecutionStore } from '../runtime/execution-store.js';
import { ProbeCache } from '../runtime/probe-cache.js';
import { KnowledgeBase, type KnowledgeOptions } from '../knowledge/library.js';
import { QueueFullError, Runner } from '../runtime/runner.js';
import type { Spawner } from '../runtime/spawner.js';
import { executionResult, waitForExecution } from '../results/execution-view.js';
import { errorResult, type CallContext, type ToolResult } from '../results/tool-result.js';
import { dryRunResult } from './dry-run.js';
import { loadTools, type LoadOptions, type LoadResult } from './tool-loader.js';

export interface CoreOptions extends LoadOptions {
  runner?: Partial<RunnerSettings>;
  /** The process seam; tests replay recorded tracers through a fake. */
  spawner?: Spawner;
  store?: ExecutionStore;
  /** The environment check; tests of the run path without a kernel supply their own. */
  preflight?: () => Promise<Preflight>;
  /** Where the examples library and the machine's .bt tools are read from. */
  knowledge?: KnowledgeOptions;
}

/** Everything a pre-run hook sees: the tool, its validated input, and what would run. */
export interface PreRun {
  tool: Tool;
  input: Record<string, unknown>;
  launch: Launch;
}

/**
 * Called before every run of every runnable tool, after rendering and before anything starts
 * (and before a dry run answers). A hook that returns a result refuses the run with it. This is
 * the one place a policy plugs in, so no tool can go around it.
 */
export type PreRunHook = (run: PreRun) => ToolResult | undefined | Promise<ToolResult | undefined>;

/**
 * The one core behind both faces: MCP and the CLI call `callTool` with raw arguments and get the
 * same ToolResult back.
 */
export class Core {
  readonly loaded: LoadResult;
  readonly runner: Runner;
  readonly probes: ProbeCache;
  readonly knowledge: KnowledgeBase;
  private readonly byName = new Map<string, Tool>();
  private readonly hooks: PreRunHook[] = [];
  private readonly checkEnvironment: () => Promise<Preflight>;
  private lastPreflight?: { at: number; result: Promise<Preflight> };

  constructor(opts: CoreOptions = {}) {
    this.loaded = loadTools(opts);
    for (const t of this.loaded.tools) this.byName.set(t.def.name, t);
    this.runner = new Runner(opts.runner ?? {}, { spawner: opts.spawner, store: opts.store });
    this.checkEnvironment = opts.preflight ?? (() => preflight({ autoMountTracefs: this.runner.options.autoMountTracefs }));
    this.probes = new ProbeCache(() => this.preflight());
    this.knowledge = new KnowledgeBase(this.probes, () => this.preflight(), opts.knowledge);
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
    return { runs: this.runner, probes: this.probes, preflight: () => this.preflight(), knowledge: this.knowledge };
  }

  async callTool(name: string, args: unknown, ctx: CallContext = {}): Promise<ToolResult> {
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
      return await this.run(tool, input, ctx);
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

  private async run(tool: Tool, input: Record<string, unknown>, ctx: CallContext): Promise<ToolResult> {
    if (!tool.kind.runnable) throw new Error(`${tool.def.name} is not runnable`);
    const pre = await this.preflight();
    const launch = tool.kind.launch(tool, input, pre);
    for (const hook of this.hooks) {
      const refused = await hook({ tool, input, launch });
      if (refused) return refused;
    }
    if (input.dry_run) return dryRunResult(tool, launch);
    const exec = this.runner.start({ tool: tool.def.name, limits: tool.def.limits.output, spec: launch.spec, variant: launch.variant });
    if (input.wait || ctx.signal?.aborted) {
      await waitForExecution(exec, ctx, { onAbort: () => this.runner.stop(exec, 'cancel') });
    }
    return executionResult(exec, { offset: 0, limit: Number(input.limit ?? pageSize()), includeMaps: Boolean(input.include_maps) });
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
  }
}
