import { loadTools, type LoadOptions, type LoadResult } from '../manifest/loader.js';
import type { LoadedTool } from '../manifest/types.js';
import { EnvironmentError, preflight, type Preflight } from '../runtime/environment.js';
import { RenderError } from '../runtime/launch-spec.js';
import { ProbeCache } from '../runtime/probe-cache.js';
import { QueueFullError, Runner, type RunnerOptions } from '../runtime/runner.js';
import { BUILTIN_HANDLERS, viewResult } from './builtins.js';
import { waitForExecution } from './execution-view.js';
import { errorResult, type CallContext, type ToolResult } from './tool-result.js';

export interface CoreOptions extends LoadOptions {
  runner?: Partial<RunnerOptions>;
}

/**
 * The one core behind both faces: MCP and the CLI call `callTool` with raw arguments and get the
 * same ToolResult back.
 */
export class Core {
  readonly loaded: LoadResult;
  readonly runner: Runner;
  readonly probes: ProbeCache;
  private readonly byName = new Map<string, LoadedTool>();

  constructor(opts: CoreOptions = {}) {
    this.loaded = loadTools({ ...opts, knownHandlers: new Set(Object.keys(BUILTIN_HANDLERS)) });
    for (const t of this.loaded.tools) this.byName.set(t.manifest.name, t);
    this.runner = new Runner(opts.runner ?? {}, () => this.preflight());
    this.probes = new ProbeCache(() => this.preflight());
  }

  get tools(): LoadedTool[] {
    return this.loaded.tools;
  }

  tool(name: string): LoadedTool | undefined {
    return this.byName.get(name);
  }

  private lastPreflight?: { at: number; result: Promise<Preflight> };

  /**
   * The environment check before each run. A passing check is reused for 2 s: it reads the
   * mount table and scans PATH (~0.4 ms), which a burst of runs need not repeat. A failing
   * check is never reused, so a fix (mounting tracefs, installing bpftrace) takes effect at once.
   */
  preflight(): Promise<Preflight> {
    const now = Date.now();
    if (this.lastPreflight && now - this.lastPreflight.at < 2000) return this.lastPreflight.result;
    const result = preflight({ autoMountTracefs: this.runner.options.autoMountTracefs });
    this.lastPreflight = { at: now, result };
    result.catch(() => (this.lastPreflight = undefined));
    return result;
  }

  async callTool(name: string, args: unknown, ctx: CallContext = {}): Promise<ToolResult> {
    const tool = this.byName.get(name);
    if (!tool) return errorResult(`unknown tool "${name}"; available tools: ${[...this.byName.keys()].join(', ')}`, 'not_found');
    let checked: ReturnType<typeof tool.prepared.validateInput>;
    try {
      checked = tool.prepared.validateInput(args ?? {});
    } catch (e) {
      // Input schemas compile on first use; a strict-mode error in a user manifest lands here.
      return errorResult(`${name} has an invalid input schema (${(e as Error).message}); fix ${tool.manifest.file} (check it with: mcptrace tools validate ${tool.manifest.file})`, 'input');
    }
    if (!checked.ok) return errorResult(checked.message, 'input');
    const input = checked.value;
    try {
      if (tool.manifest.run.kind === 'builtin') return await BUILTIN_HANDLERS[tool.manifest.run.handler](this, input, ctx);
      const exec = await this.runner.start(tool, input);
      if (input.wait || ctx.signal?.aborted) {
        await waitForExecution(exec, ctx, { onAbort: () => this.runner.stop(exec, 'cancel') });
      }
      return viewResult(exec, { offset: 0, limit: Number(input.limit ?? 1000), includeMaps: Boolean(input.include_maps) });
    } catch (e) {
      if (e instanceof EnvironmentError) return errorResult(e.message, 'environment');
      if (e instanceof RenderError || e instanceof QueueFullError) return errorResult(e.message, 'input');
      return { ...errorResult(`internal error in ${name}: ${(e as Error).message}. This is a bug in mcptrace; please report it (run with --debug for the stack).`, 'failed'), debug: (e as Error).stack };
    }
  }

  async shutdown(): Promise<void> {
    await this.runner.shutdown();
  }
}
