import { lstatSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import PQueue from 'p-queue';
import type { Launch, Tool } from '../kinds/kind.js';
import { RenderError } from '../kinds/kind.js';
import { variantCandidates } from '../kinds/bcc/bcc-spec.js';
import { EnvironmentError, type Preflight } from '../runtime/environment.js';
import type { Execution } from '../runtime/execution.js';
import type { FleetRun } from '../runtime/fleet/fleet-run.js';
import { InventoryError, loadInventory, resolveTargets, TargetError, type FleetHost, type Inventory } from '../runtime/fleet/inventory.js';
import { remotePreflight, sshSpawner } from '../runtime/fleet/remote.js';
import { featuresOf, parseVersion } from '../runtime/bpftrace/version.js';
import { pumpLines, type LaunchSpec } from '../runtime/process-lifecycle.js';
import type { Spawner } from '../runtime/spawner.js';
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
    meta: { tool: string; input: Record<string, unknown>; program?: string; argv: string[]; version?: string; kernel: string; verdict?: string },
  ): void;
  tools(): readonly Tool[];
  inventoryFile?: string;
  env: NodeJS.ProcessEnv;
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
  private candidatePaths?: string[];

  constructor(private readonly deps: FleetDeps) {}

  /** The call's hosts: inventory names and groups; plain addresses only from a person's CLI. */
  async plan(input: Record<string, unknown>, ctx: CallContext): Promise<FleetPlan> {
    if (input.target === 'k8s') return this.planK8s(input, ctx);
    if (input.node_selector !== undefined)
      return { error: errorResult('node_selector chooses Kubernetes nodes: add target: "k8s", or name the hosts instead', 'input') };
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

  /**
   * Kubernetes nodes by name, or by a label selector through the current kubeconfig. Over MCP
   * only when the operator chose the namespace the Jobs go to (MCPTRACE_K8S_NAMESPACE): a
   * privileged pod on every node is theirs to allow.
   */
  private async planK8s(input: Record<string, unknown>, ctx: CallContext): Promise<FleetPlan> {
    const env = this.deps.env;
    if (ctx.caller && ctx.caller.via !== 'cli' && !env.MCPTRACE_K8S_NAMESPACE)
      return {
        error: errorResult(
          'this server does not run traces on Kubernetes: its operator enables it by setting MCPTRACE_K8S_NAMESPACE (the namespace the trace Jobs go to) when starting it',
          'policy',
        ),
      };
    const names = (input.hosts as string[] | undefined) ?? [];
    if (!names.length && typeof input.node_selector !== 'string')
      return { error: errorResult('target k8s needs the nodes: hosts (node names) or node_selector (a label selector such as role=db)', 'input') };
    let nodes = names.flatMap((n) => n.split(',')).filter(Boolean);
    if (typeof input.node_selector === 'string') {
      try {
        const { listNodes } = await import('../runtime/fleet/k8s-client.js');
        const chosen = await listNodes(input.node_selector, { kubeconfig: env.MCPTRACE_KUBECONFIG || undefined });
        nodes = [...new Set([...nodes, ...chosen])];
      } catch (e) {
        return { error: errorResult(`cannot list the cluster's nodes: ${(e as Error).message}`, 'environment') };
      }
      if (!nodes.length)
        return {
          error: errorResult(`no node matches the selector "${input.node_selector}": kubectl get nodes -l '${input.node_selector}' shows the same`, 'input'),
        };
    }
    const bad = nodes.find((n) => !/^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/.test(n));
    if (bad) return { error: errorResult(`"${bad}" is not a node name (letters, digits, ".", "_", "-"): kubectl get nodes lists them`, 'input') };
    return { hosts: nodes.map((n) => ({ name: n, address: n, groups: [], vars: {} })) };
  }

  /** Runs `tool` on every host of the plan; the answer is the fleet run (or the dry run). */
  async run(tool: Tool, input: Record<string, unknown>, hosts: FleetHost[], ctx: CallContext): Promise<{ fleet?: FleetRun; result?: ToolResult }> {
    const { runner } = this.deps;
    const q = new PQueue({ concurrency: runner.options.fleetParallelism });
    const k8s = input.target === 'k8s' ? k8sSettings(this.deps.env) : undefined;
    const probed = await Promise.all(
      hosts.map((h) =>
        q.add(async () =>
          (k8s ? Promise.resolve().then(() => k8sPreflight(h.name, k8s)) : this.preflight(h)).then(
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
    const refusals: ToolResult[] = [];
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
        refusals.push(refused);
        continue;
      }
      ready.push({ h: p.h, pre: p.pre, launch, warnings, verdict });
    }
    // The policy refused the program on every host it reached: that is the call's answer, as for
    // a local run (what to change in the program), not a fleet of failed runs.
    if (!ready.length && refusals.length && refusals.length === probed.filter((p) => p && !('error' in p)).length) return { result: refusals[0] };
    if (input.dry_run) {
      const first = ready[0];
      const hostsView = [
        // The shape of a fleet run's hosts[]: each would start (queued) with this argv, or cannot.
        ...ready.map((r) => ({ host: r.h.name, status: 'queued', bpftrace_version: r.pre.remote?.bpftraceVersion, argv: r.launch.spec.argv })),
        ...failed.map((f) => ({ host: f.h.name, status: 'failed', error: f.error, ...(f.hint ? { hint: f.hint } : {}) })),
      ];
      if (!first) return { result: errorResult(`no host can run ${tool.def.name}: ${failed.map((f) => `${f.h.name}: ${f.error}`).join('; ')}`, 'environment') };
      const dry = dryRunResult(tool, first.launch);
      // On Kubernetes the run is a ConfigMap and a Job per node: what would be created, exactly.
      const manifests = k8s
        ? `\n\nKubernetes objects for ${first.h.name} (namespace ${k8s.namespace}):\n${JSON.stringify(
            (await import('../runtime/fleet/k8s.js')).renderK8sTrace({
              runId: 'dry-run',
              node: first.h.name,
              argv: first.launch.spec.argv,
              env: first.launch.spec.env,
              deadlineSec: deadlineOf(first.launch.spec) || 86_400,
              graceSec: Math.ceil(runner.options.graceMs / 1000),
              namespace: k8s.namespace,
              image: k8s.image,
            }),
            null,
            2,
          )}`
        : '';
      return {
        result: {
          ...dry,
          structured: { ...dry.structured, hosts: hostsView },
          text: `${dry.text}\n\non ${ready.length} host${ready.length === 1 ? '' : 's'}: ${ready.map((r) => r.h.name).join(', ')}${failed.length ? `\nnot on: ${failed.map((f) => `${f.h.name} (${f.error})`).join('; ')}` : ''}${manifests}`,
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
    const control = k8s ? '' : this.sshControlDir();
    for (const r of ready) {
      const spec = fleet.label(r.h.name, this.deps.runSpec(tool, input, r.launch, r.pre, ctx));
      // The host stops the tracer by itself a little after the server would: the server's
      // SIGINT comes first, the host's own deadline only when the connection is gone silent.
      const deadlineSec = deadlineOf(spec);
      const graceSec = Math.ceil(runner.options.graceMs / 1000);
      const spawner = k8s
        ? await k8sRunSpawner({ ...k8s, runId: fleet.exec.id, node: r.h.name, deadlineSec: deadlineSec || 86_400, graceSec })
        : sshSpawner(r.h, { controlDir: control, connectTimeoutSec: runner.options.fleetHostTimeoutSec }, { deadlineSec, graceSec });
      const exec = runner.start({
        tool: tool.def.name,
        limits: tool.def.limits.output,
        // A pod's preStop hook runs once: a second SIGINT would never arrive there.
        spec: k8s ? { ...spec, resendStop: false } : spec,
        variant: r.launch.variant,
        summary: `${r.h.name}: ${r.launch.program?.split('\n').find((l) => l.trim()) ?? tool.def.name}`.slice(0, 120),
        warnings: r.warnings,
        remote: { host: r.h.name, spawner },
      });
      fleet.addRun(r.h.name, exec, { bpftraceVersion: r.pre.remote?.bpftraceVersion, kernel: r.pre.remote?.kernel });
      this.deps.record(exec, {
        tool: tool.def.name,
        input,
        program: r.launch.program,
        argv: spec.argv,
        version: r.pre.features.version,
        kernel: r.pre.remote?.kernel ?? 'unknown',
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

  /** Every path a bcc provider of a loaded tool may be at on a host (the tools are loaded once). */
  private candidates(): string[] {
    if (this.candidatePaths) return this.candidatePaths;
    const out = new Set<string>();
    for (const t of this.deps.tools()) {
      const spec = (t.prepared as { spec?: { variants?: Parameters<typeof variantCandidates>[0][] } } | undefined)?.spec;
      if (t.def.kind !== 'bcc' || !spec?.variants) continue;
      for (const v of spec.variants) for (const c of variantCandidates(v)) out.add(c.path);
    }
    return (this.candidatePaths = [...out]);
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

/**
 * The host stops the tracer by itself a little after the server would: the server's SIGINT
 * comes first, the host's own deadline only when the connection is gone silent. 0: none.
 */
const deadlineOf = (spec: LaunchSpec): number => (Number.isFinite(spec.timeoutMs) ? Math.ceil(spec.timeoutMs / 1000) + 10 : 0);

interface K8sSettings {
  namespace: string;
  image: string;
  /** The image's bpftrace version: its output is decoded by that version's rules. */
  version: string;
  kubeconfig?: string;
}

/** The image bpftrace's own Dockerfiles build (the base of kubectl-trace's), and its version. */
export const K8S_DEFAULT_IMAGE = 'quay.io/iovisor/bpftrace:v0.19.1';

function k8sSettings(env: NodeJS.ProcessEnv): K8sSettings {
  const image = env.MCPTRACE_K8S_IMAGE || K8S_DEFAULT_IMAGE;
  return {
    namespace: env.MCPTRACE_K8S_NAMESPACE || 'default',
    image,
    version: env.MCPTRACE_K8S_BPFTRACE_VERSION || (image === K8S_DEFAULT_IMAGE ? 'v0.19.1' : ''),
    kubeconfig: env.MCPTRACE_KUBECONFIG || undefined,
  };
}

/**
 * A node's Preflight: nothing can be asked of a node before its pod runs, so the image's
 * bpftrace version is the operator's to say (MCPTRACE_K8S_BPFTRACE_VERSION), and the kernel's
 * features are the tracer's to report. bcc tools are not in the image: they run over SSH.
 */
function k8sPreflight(node: string, k: K8sSettings): Preflight {
  const version = parseVersion(k.version);
  if (!version)
    throw new EnvironmentError(
      `the bpftrace version of the image ${k.image} is not known`,
      'set MCPTRACE_K8S_BPFTRACE_VERSION to it (e.g. v0.20.2: docker run --rm IMAGE bpftrace --version), so its output is decoded by the right rules',
    );
  return {
    bpftrace: 'bpftrace',
    privilegePrefix: [],
    features: featuresOf(version),
    remote: {
      host: node,
      kernel: 'unknown (a Kubernetes node)',
      bpftraceVersion: `bpftrace ${version.text}`,
      kernelFeatures: { kprobes: true, kfunc: true, btf: true },
      files: new Set(),
      tools: new Set(),
    },
  };
}

/**
 * The pod's log is one stream (the log endpoint serves stdout and stderr as one): a JSON event
 * line is stdout, anything else (bpftrace's messages, the attach notice) goes to stderr, as it
 * was printed. The client module loads only when a run goes to Kubernetes.
 */
async function k8sRunSpawner(o: K8sSettings & { runId: string; node: string; deadlineSec: number; graceSec: number }): Promise<Spawner> {
  const { k8sSpawner } = await import('../runtime/fleet/k8s-client.js');
  const inner = k8sSpawner({
    namespace: o.namespace,
    image: o.image,
    runId: o.runId,
    node: o.node,
    deadlineSec: o.deadlineSec,
    graceSec: o.graceSec,
    kubeconfig: o.kubeconfig,
  });
  return {
    async spawn(argv, env, opts) {
      const p = await inner.spawn(argv, env, opts);
      return { ...p, ...splitJsonLog(p.stdout, p.stderr) };
    },
  };
}

/** Splits a merged log: JSON event lines to stdout, the rest to stderr with the original stderr. */
export function splitJsonLog(log: NodeJS.ReadableStream, err: NodeJS.ReadableStream): { stdout: PassThrough; stderr: PassThrough } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let open = 2;
  const done = () => {
    if (--open === 0) stderr.end();
  };
  void pumpLines(
    log,
    (l) => (l.startsWith('{') ? stdout : stderr).write(`${l}\n`),
    () => {},
  ).then(() => {
    stdout.end();
    done();
  });
  err.on('data', (d: Buffer) => stderr.write(d));
  err.on('end', done);
  return { stdout, stderr };
}

function split(e: Error): { error: string; hint?: string } {
  if (e instanceof EnvironmentError) return { error: e.problem, hint: e.fix };
  return { error: e.message };
}
