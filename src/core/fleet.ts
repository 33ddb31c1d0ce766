import { lstatSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import PQueue from 'p-queue';
import type { Launch, Tool } from '../kinds/kind.js';
import { RenderError } from '../kinds/kind.js';
import { variantCandidates } from '../kinds/bcc/bcc-spec.js';
import { EnvironmentError, type Preflight } from '../runtime/environment.js';
import type { Execution } from '../runtime/execution.js';
import type { FleetRun } from '../runtime/fleet/fleet-run.js';
import { InventoryError, loadInventory, resolveTargets, TargetError, type FleetHost, type Inventory } from '../runtime/fleet/inventory.js';
import { remotePreflight, sshSpawner } from '../runtime/fleet/remote.js';
import type { LaunchSpec } from '../runtime/process-lifecycle.js';
import type { Runner } from '../runtime/runner.js';
import { errorResult, type CallContext, type ToolResult } from '../results/tool-result.js';
import type { PreRunHook } from './pre-run.js';
import { didYouMean } from '../util/did-you-mean.js';
import { dryRunResult } from './dry-run.js';

/**
 * A call with `hosts`: the same tool, run on each host over SSH (runtime/fleet), as one fleet run.
 * Each host is probed first (its bpftrace version decides how its output is decoded, its kernel
 * what the kinds check), its launch is rendered for it and judged by every pre-run hook (the
 * policy) as a local one is, then all start together. A host that cannot be reached, lacks
 * bpftrace or is refused is one failed member with its reason; the others run.
 */

export interface FleetDeps {
  runner: Runner;
  hooks: readonly PreRunHook[];
  runSpec(tool: Tool, input: Record<string, unknown>, launch: Launch, pre: Preflight, ctx: CallContext): LaunchSpec;
  /** Starts recording a run in the history, when there is one. */
  record(
    exec: Execution,
    meta: { tool: string; input: Record<string, unknown>; program?: string; argv: string[]; version?: string; kernel: string; host: string; verdict?: string },
  ): void;
  tools(): readonly Tool[];
  inventoryFile?: string;
}

/** What a fleet call needs to know before anything runs, or the error that ends it. */
export type FleetPlan = { hosts: FleetHost[] } | { error: ToolResult };

/**
 * How long a host's successful probe is reused. A probe is one SSH session per host (measured:
 * 2 s for 20 hosts sharing this machine's 2 cores), and what it finds (the bpftrace version, the
 * kernel) changes with a package upgrade or a reboot, which a failed run then reports; a probe
 * that failed is never reused.
 */
const PROBE_TTL_MS = 300_000;

export class FleetLauncher {
  private readonly probes = new Map<string, { at: number; pre: Promise<Preflight> }>();
  private controlDir?: string;

  constructor(private readonly deps: FleetDeps) {}

  /** The call's hosts: inventory names and groups; plain addresses only from a person's CLI. */
  plan(input: Record<string, unknown>, ctx: CallContext): FleetPlan {
    const targets = input.hosts as string[];
    let inv: Inventory | undefined;
    const file = this.deps.inventoryFile;
    try {
      if (file) inv = loadInventory(file);
    } catch (e) {
      if (e instanceof InventoryError) return { error: errorResult(e.message, 'input') };
      return { error: errorResult(`cannot read the inventory ${file}: ${(e as Error).message}; fix --inventory or MCPTRACE_INVENTORY`, 'environment') };
    }
    let hosts: FleetHost[];
    try {
      hosts = resolveTargets(inv, targets);
    } catch (e) {
      if (e instanceof TargetError) return { error: errorResult(e.message, 'input') };
      throw e;
    }
    // An assistant reaches only the hosts its operator listed; a person at the CLI, any host ssh can.
    if (ctx.caller && ctx.caller.via !== 'cli') {
      const outside = hosts.filter((h) => !inv?.hosts.has(h.name)).map((h) => h.name);
      const near = inv ? didYouMean(outside[0] ?? '', [...inv.groups.keys(), ...inv.hosts.keys()]) : [];
      if (outside.length)
        return {
          error: errorResult(
            inv
              ? `${outside.join(', ')} ${outside.length > 1 ? 'are' : 'is'} not in the inventory ${inv.file}: over MCP a run can go only to the hosts the server's operator listed. ${near.length ? `The closest: ${near.join(', ')}. ` : ''}Name hosts or groups of it (groups: ${[...inv.groups.keys()].join(', ')}), or ask the operator to add the host.`
              : `this server has no inventory, so over MCP it runs on no other host. The operator starts it with --inventory FILE (or MCPTRACE_INVENTORY), an Ansible inventory of the hosts it may trace.`,
            'policy',
          ),
        };
    }
    return { hosts };
  }

  /** Runs `tool` on every host of the plan; the answer is the fleet run (or the dry run). */
  async run(tool: Tool, input: Record<string, unknown>, hosts: FleetHost[], ctx: CallContext): Promise<{ fleet?: FleetRun; result?: ToolResult }> {
    const { runner } = this.deps;
    const q = new PQueue({ concurrency: runner.options.fleetParallelism });
    const probed = await Promise.all(
      hosts.map((h) =>
        q.add(async () =>
          this.preflight(h).then(
            (pre) => ({ h, pre }),
            (e: unknown) => ({ h, error: e as Error }),
          ),
        ),
      ),
    );
    // The policy judges each host's launch; a person is asked once for the whole fleet.
    let asked: ReturnType<NonNullable<CallContext['confirm']>> | undefined;
    const confirm: CallContext['confirm'] = ctx.confirm ? (q2) => (asked ??= ctx.confirm!(q2)) : undefined;
    const ready: { h: FleetHost; pre: Preflight; launch: Launch; warnings: string[]; verdict?: string }[] = [];
    const failed: { h: FleetHost; error: string; hint?: string }[] = [];
    for (const p of probed) {
      if (!p) continue;
      if ('error' in p) {
        failed.push({ h: p.h, ...split(p.error) });
        continue;
      }
      let launch: Launch;
      try {
        launch = tool.kind.runnable ? tool.kind.launch(tool, input, p.pre) : (undefined as never);
      } catch (e) {
        if (e instanceof RenderError || e instanceof EnvironmentError) {
          failed.push({ h: p.h, ...split(e) });
          continue;
        }
        throw e;
      }
      const warnings: string[] = [];
      let verdict: string | undefined;
      let refused: ToolResult | undefined;
      for (const hook of this.deps.hooks) {
        refused = await hook({ tool, input, launch, warn: (m) => warnings.push(m), confirm, verdict: (v) => (verdict = v) });
        if (refused) break;
      }
      // A question for the caller (MCP's confirm) is the answer to the whole call: nothing starts.
      if (refused?.confirm) return { result: refused };
      if (refused) {
        failed.push({ h: p.h, error: refused.text });
        continue;
      }
      ready.push({ h: p.h, pre: p.pre, launch, warnings, verdict });
    }
    if (input.dry_run) {
      const first = ready[0];
      const hostsView = [
        // The shape of a fleet run's hosts[]: each would start (queued) with this argv, or cannot.
        ...ready.map((r) => ({ host: r.h.name, status: 'queued', bpftrace_version: r.pre.remote?.bpftraceVersion, argv: r.launch.spec.argv })),
        ...failed.map((f) => ({ host: f.h.name, status: 'failed', error: f.error, ...(f.hint ? { hint: f.hint } : {}) })),
      ];
      if (!first) return { result: errorResult(`no host can run ${tool.def.name}: ${failed.map((f) => `${f.h.name}: ${f.error}`).join('; ')}`, 'environment') };
      const dry = dryRunResult(tool, first.launch);
      return {
        result: {
          ...dry,
          structured: { ...dry.structured, hosts: hostsView },
          text: `${dry.text}\n\non ${ready.length} host${ready.length === 1 ? '' : 's'}: ${ready.map((r) => r.h.name).join(', ')}${failed.length ? `\nnot on: ${failed.map((f) => `${f.h.name} (${f.error})`).join('; ')}` : ''}`,
        },
      };
    }
    const program = ready[0]?.launch.program;
    const fleet = runner.startFleet(
      tool.def.name,
      tool.def.limits.output,
      `${hosts.length} hosts: ${program?.split('\n').find((l) => l.trim() && !l.trim().startsWith('#')) ?? tool.def.name}`.slice(0, 120),
      program,
      hosts.map((h) => h.name),
    );
    if (ctx.tap) fleet.exec.streamTo(ctx.tap);
    for (const f of failed) fleet.addFailure(f.h.name, f.error, f.hint);
    const control = this.sshControlDir();
    for (const r of ready) {
      const spec = fleet.label(r.h.name, this.deps.runSpec(tool, input, r.launch, r.pre, ctx));
      // The host stops the tracer by itself a little after the server would: the server's
      // SIGINT comes first, the host's own deadline only when the connection is gone silent.
      const deadlineSec = Number.isFinite(spec.timeoutMs) ? Math.ceil(spec.timeoutMs / 1000) + 10 : 0;
      const graceSec = Math.ceil(runner.options.graceMs / 1000);
      const exec = runner.start({
        tool: tool.def.name,
        limits: tool.def.limits.output,
        spec,
        variant: r.launch.variant,
        summary: `${r.h.name}: ${r.launch.program?.split('\n').find((l) => l.trim()) ?? tool.def.name}`.slice(0, 120),
        warnings: r.warnings,
        remote: {
          host: r.h.name,
          spawner: sshSpawner(r.h, { controlDir: control, connectTimeoutSec: runner.options.fleetHostTimeoutSec }, { deadlineSec, graceSec }),
        },
      });
      fleet.addRun(r.h.name, exec, { bpftraceVersion: r.pre.remote?.bpftraceVersion, kernel: r.pre.remote?.kernel });
      this.deps.record(exec, {
        tool: tool.def.name,
        input,
        program: r.launch.program,
        argv: spec.argv,
        version: r.pre.features.version,
        kernel: r.pre.remote?.kernel ?? 'unknown',
        host: r.h.name,
        verdict: r.verdict ?? (r.warnings.length ? 'warn' : 'allow'),
      });
    }
    fleet.seal();
    return { fleet };
  }

  /** A host's probe, reused for a while when it passed (a failure is asked again next time). */
  private preflight(h: FleetHost): Promise<Preflight> {
    const key = JSON.stringify([h.name, h.address, h.port, h.user, h.identityFile, h.sshArgs, h.vars.mcptrace_bpftrace, h.vars.ansible_become]);
    const now = Date.now();
    const cached = this.probes.get(key);
    if (cached && now - cached.at < PROBE_TTL_MS) return cached.pre;
    const timeoutSec = this.deps.runner.options.fleetHostTimeoutSec;
    const pre = remotePreflight(h, { controlDir: this.sshControlDir(), connectTimeoutSec: timeoutSec, timeoutSec, candidates: this.candidates() });
    this.probes.set(key, { at: now, pre });
    pre.catch(() => this.probes.delete(key));
    return pre;
  }

  /** Every path a bcc provider of a loaded tool may be at on a host. */
  private candidates(): string[] {
    const out = new Set<string>();
    for (const t of this.deps.tools()) {
      const spec = (t.prepared as { spec?: { variants?: Parameters<typeof variantCandidates>[0][] } } | undefined)?.spec;
      if (t.def.kind !== 'bcc' || !spec?.variants) continue;
      for (const v of spec.variants) for (const c of variantCandidates(v)) out.add(c.path);
    }
    return [...out];
  }

  /**
   * The ControlMaster sockets: a directory of this user's, mode 0700, that is not a link (a
   * socket there lets anyone who can reach it use the connection).
   */
  private sshControlDir(): string {
    if (this.controlDir) return this.controlDir;
    const dir = path.join(process.env.XDG_RUNTIME_DIR || tmpdir(), `mcptrace-ssh-${process.getuid?.() ?? 'user'}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    if (!st.isDirectory() || st.uid !== process.getuid?.() || (st.mode & 0o077) !== 0)
      throw new EnvironmentError(
        `${dir} is not a private directory of this user (the SSH connection sockets live there)`,
        `remove it, or make it yours with mode 0700`,
      );
    return (this.controlDir = dir);
  }
}

function split(e: Error): { error: string; hint?: string } {
  if (e instanceof EnvironmentError) return { error: e.message.slice(0, e.message.length - e.fix.length - 2), hint: e.fix };
  return { error: e.message };
}
