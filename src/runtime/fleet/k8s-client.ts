import { PassThrough, Writable } from 'node:stream';
import type { BatchV1Api, CoreV1Api, KubeConfig, V1Pod } from '@kubernetes/client-node';
import type { ProcessExit, SpawnedProcess, Spawner } from '../spawner.js';
import { K8S_CONTAINER, k8sTraceName, renderK8sTrace } from './k8s.js';

/**
 * A tracer on a Kubernetes node through the official client (@kubernetes/client-node): the
 * ConfigMap and the Job of k8s.ts are created, the Job's pod is awaited, its log is followed as
 * the tracer's stdout, and both objects are deleted once the log has ended. A stop deletes the
 * pod with its grace period, so the kubelet runs the preStop hook, which sends the tracer SIGINT:
 * the maps print into the log still being followed. Every request has a deadline, and every
 * failure becomes a line on stderr and a failed exit, never a rejection.
 *
 * The client (~40 ms of imports) is loaded on first use, never at the server's start-up.
 */

type K8s = typeof import('@kubernetes/client-node');
let lib: Promise<K8s> | undefined;
function k8sLib(): Promise<K8s> {
  lib ??= import('@kubernetes/client-node').catch((e: unknown) => {
    lib = undefined;
    throw new Error(`the Kubernetes client could not be loaded (${(e as Error).message}): reinstall mcptrace's dependencies (npm install)`);
  });
  return lib;
}

export interface K8sTimings {
  /** Each API request (not the log stream): ms. */
  requestMs: number;
  /** How often the pod is looked at while it starts and once its log has ended: ms. */
  pollMs: number;
  /** How long the pod may take to start running (scheduling, image pull): s. */
  startSec: number;
  /** How long a Job without a pod waits before its events are read for a reason: ms. */
  eventsAfterMs: number;
}

export const DEFAULT_K8S_TIMINGS: K8sTimings = { requestMs: 15_000, pollMs: 1000, startSec: 180, eventsAfterMs: 10_000 };

export interface K8sSpawnerOptions {
  namespace: string;
  image: string;
  runId: string;
  node: string;
  deadlineSec: number;
  graceSec: number;
  /** A kubeconfig file; default: the current one (KUBECONFIG, ~/.kube/config, or in-cluster). */
  kubeconfig?: string;
  ttlSec?: number;
  labels?: Record<string, string>;
  timings?: Partial<K8sTimings>;
}

async function loadConfig(k8s: K8s, file?: string): Promise<KubeConfig> {
  const kc = new k8s.KubeConfig();
  try {
    if (file) kc.loadFromFile(file);
    else kc.loadFromDefault();
  } catch (e) {
    throw new Error(
      `the kubeconfig ${file ?? '(KUBECONFIG or ~/.kube/config)'} could not be read: ${(e as Error).message}. Fix it so that kubectl get nodes works with it`,
    );
  }
  if (!kc.getCurrentCluster())
    throw new Error(`the kubeconfig ${file ?? ''} has no current cluster: kubectl config use-context NAME, or pass another kubeconfig`);
  return kc;
}

/** What an API failure says, and what to do about it. */
export function apiFailure(what: string, e: unknown, ctx: { namespace: string; name?: string; runId?: string; server?: string }): string {
  const err = e as { code?: unknown; body?: unknown; message?: string; name?: string; type?: string };
  if (typeof err?.code === 'number') {
    let status: { message?: string; reason?: string } = {};
    try {
      status = (typeof err.body === 'string' ? JSON.parse(err.body) : (err.body ?? {})) as typeof status;
    } catch {
      status = { message: String(err.body).slice(0, 300) };
    }
    const said = `${err.code}${status.reason ? ` ${status.reason}` : ''}${status.message ? `: ${status.message}` : ''}`;
    const ns = ctx.namespace;
    const fix =
      err.code === 401
        ? 'The API server did not accept your credentials: refresh them until kubectl get nodes works with the same kubeconfig'
        : err.code === 403
          ? `Grant your user the mcptrace Role of docs/kubernetes.md in namespace ${ns} (configmaps and jobs: create, delete; pods: get, list, delete; pods/log: get); check with kubectl auth can-i create jobs -n ${ns}`
          : err.code === 404 && /namespaces? "?[^ ]*"? not found/.test(status.message ?? '')
            ? `Create the namespace (kubectl create namespace ${ns}) or pick another (MCPTRACE_K8S_NAMESPACE)`
            : err.code === 409
              ? `A Job or ConfigMap named ${ctx.name} is left from an earlier run with the id ${ctx.runId}: delete it (kubectl delete job,configmap -n ${ns} -l mcptrace.dev/run=${ctx.runId}) or run again`
              : err.code === 422 || err.code === 400
                ? 'The API server refused the manifest mcptrace rendered: please report it, with this message, as an mcptrace bug (or a policy of this cluster that refuses privileged pods)'
                : 'Check the cluster (kubectl get --raw /readyz) and try again';
    return `${what} failed (${said}). ${fix}`;
  }
  const msg = err?.name === 'AbortError' || err?.type === 'aborted' ? 'no answer in time' : (err?.message ?? String(e));
  return `${what} failed: ${msg}. Check that the API server ${ctx.server ?? ''} is reachable with this kubeconfig (kubectl cluster-info)`;
}

const isNotFound = (e: unknown) => (e as { code?: unknown })?.code === 404;

/** The API clients of one kubeconfig, each call bounded by a deadline it really aborts. */
class Api {
  readonly core: CoreV1Api;
  readonly batch: BatchV1Api;
  constructor(
    readonly k8s: K8s,
    readonly kc: KubeConfig,
    private readonly requestMs: number,
  ) {
    this.core = kc.makeApiClient(k8s.CoreV1Api);
    this.batch = kc.makeApiClient(k8s.BatchV1Api);
  }

  get server(): string {
    return this.kc.getCurrentCluster()?.server ?? '';
  }

  /** Runs one request with an AbortSignal set by a middleware; a timer settles it even if the signal were ignored. */
  async call<T>(
    fn: (options: { middleware: import('@kubernetes/client-node').ObservableMiddleware[]; middlewareMergeStrategy: 'append' }) => Promise<T>,
  ): Promise<T> {
    const ac = new AbortController();
    const { Observable } = this.k8s;
    const signal = {
      pre: (ctx: import('@kubernetes/client-node').RequestContext) => {
        ctx.setSignal(ac.signal);
        return new Observable(Promise.resolve(ctx));
      },
      post: (ctx: import('@kubernetes/client-node').ResponseContext) => new Observable(Promise.resolve(ctx)),
    };
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        ac.abort();
        reject(Object.assign(new Error(`no answer in ${this.requestMs / 1000} s`), { name: 'AbortError' }));
      }, this.requestMs);
    });
    try {
      return await Promise.race([fn({ middleware: [signal], middlewareMergeStrategy: 'append' }), late]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Names of the nodes, all or those matching a label selector such as `role=db`. Throws an Error with the fix. */
export async function listNodes(selector?: string, opts: { kubeconfig?: string; requestMs?: number } = {}): Promise<string[]> {
  const k8s = await k8sLib();
  const api = new Api(k8s, await loadConfig(k8s, opts.kubeconfig), opts.requestMs ?? DEFAULT_K8S_TIMINGS.requestMs);
  try {
    const list = await api.call((o) => api.core.listNode(selector ? { labelSelector: selector } : {}, o));
    return list.items.map((n) => n.metadata?.name ?? '').filter(Boolean);
  } catch (e) {
    const failure = apiFailure(`listing the nodes${selector ? ` with ${selector}` : ''}`, e, { namespace: '', server: api.server });
    throw new Error(
      (e as { code?: unknown }).code === 403 ? `${failure.split('. ')[0]}. Grant your user list on nodes (the ClusterRole in docs/kubernetes.md)` : failure,
    );
  }
}

/** Waiting reasons after which a container never starts by itself. */
const HOPELESS = new Set([
  'ImagePullBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
  'CrashLoopBackOff',
]);

type PodState =
  | { kind: 'pending'; note?: string }
  | { kind: 'running' }
  | { kind: 'ended'; exitCode: number | null; reason?: string; message?: string }
  | { kind: 'failed'; why: string };

/** Where the pod is, from its phase, conditions and container status. */
export function podState(pod: V1Pod): PodState {
  const st = pod.status ?? {};
  const c = st.containerStatuses?.find((s) => s.name === K8S_CONTAINER);
  const t = c?.state?.terminated;
  if (t) return { kind: 'ended', exitCode: t.exitCode ?? null, reason: t.reason, message: t.message };
  if (st.phase === 'Failed' || st.phase === 'Succeeded')
    return { kind: 'failed', why: `${st.reason ?? st.phase}: ${st.message ?? 'the pod ended before its container ran'}` };
  if (c?.state?.running || st.phase === 'Running') return { kind: 'running' };
  const scheduled = st.conditions?.find((x) => x.type === 'PodScheduled');
  if (scheduled?.status === 'False')
    return { kind: 'failed', why: `${scheduled.reason ?? 'Unschedulable'}: ${scheduled.message ?? 'the pod cannot be placed'}` };
  const w = c?.state?.waiting;
  if (w?.reason && HOPELESS.has(w.reason)) return { kind: 'failed', why: `${w.reason}: ${w.message ?? ''}`.trim() };
  return { kind: 'pending', note: w?.reason && w.reason !== 'ContainerCreating' ? `${w.reason}: ${w.message ?? ''}`.trim() : undefined };
}

/** A reason as a sentence: one full stop at its end, whatever the API server's text ended with. */
const sentence = (why: string) => `${why.trim().replace(/[.\s]+$/, '')}.`;

/** The fix that goes with a reason the pod gave. */
function podFix(why: string, o: K8sSpawnerOptions): string {
  if (/Image|ErrImage/.test(why))
    return `Check that the image exists and the node can pull it (registry access, imagePullSecrets), or use another (MCPTRACE_K8S_IMAGE); now: ${o.image}`;
  if (/Unschedulable|NodeAffinity|node\(s\)/.test(why))
    return `Check the node (kubectl describe node ${o.node}): it must exist, be Ready and have room for one more pod`;
  if (/CreateContainer|RunContainer|StartError|executable file not found/.test(why))
    return `The image must have /bin/sh, GNU timeout and the tracer (docs/kubernetes.md); now: ${o.image}`;
  return `See kubectl describe pod -n ${o.namespace} -l job-name=${k8sTraceName(o.runId, o.node)}`;
}

/** One run: the objects, the pod, the log, the exit, the clean-up. */
class K8sRun {
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  private readonly t: K8sTimings;
  private readonly name: string;
  private api?: Api;
  private pod?: string;
  private stop?: 'SIGINT' | 'SIGKILL';
  private killSent = false;
  private created = { configMap: false, job: false };
  private wake?: () => void;

  constructor(private readonly o: K8sSpawnerOptions) {
    this.t = { ...DEFAULT_K8S_TIMINGS, ...o.timings };
    this.name = k8sTraceName(o.runId, o.node);
  }

  private say(line: string): void {
    if (this.stderr.writable) this.stderr.write(`mcptrace: ${line}\n`);
  }

  private failure(why: string): ProcessExit {
    this.say(why);
    return { exitCode: null, signal: null, spawnError: { message: why } };
  }

  private ctx() {
    return { namespace: this.o.namespace, name: this.name, runId: this.o.runId, server: this.api?.server };
  }

  /** A pause that a stop cuts short. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  kill(signal: NodeJS.Signals): void {
    if (signal === 'SIGKILL') {
      if (this.killSent) return;
      this.killSent = true;
      this.stop = 'SIGKILL';
    } else {
      // One SIGINT is all a pod can be given: the preStop hook runs once per deletion. It sends
      // the tracer SIGINT and waits; a tracer that lost it is ended by the grace period (SIGTERM,
      // then SIGKILL from the kubelet) or by a SIGKILL from here.
      if (this.stop) return;
      this.stop = 'SIGINT';
    }
    this.wake?.();
    if (this.pod) void this.deletePod(this.pod, signal === 'SIGKILL' ? 0 : Math.ceil(this.o.graceSec));
  }

  private async deletePod(pod: string, gracePeriodSeconds: number): Promise<void> {
    const api = this.api;
    if (!api) return;
    try {
      await api.call((o) => api.core.deleteNamespacedPod({ name: pod, namespace: this.o.namespace, gracePeriodSeconds }, o));
    } catch (e) {
      if (!isNotFound(e))
        this.say(apiFailure(`stopping pod ${pod} on node ${this.o.node} (deleting it with a grace period of ${gracePeriodSeconds} s)`, e, this.ctx()));
    }
  }

  async run(argv: string[], env: Record<string, string>): Promise<ProcessExit> {
    let rendered;
    try {
      rendered = renderK8sTrace({ ...this.o, argv, env });
    } catch (e) {
      return this.failure((e as Error).message);
    }
    try {
      const k8s = await k8sLib();
      this.api = new Api(k8s, await loadConfig(k8s, this.o.kubeconfig), this.t.requestMs);
    } catch (e) {
      return this.failure((e as Error).message);
    }
    const api = this.api;
    const create = { fieldManager: 'mcptrace', fieldValidation: 'Strict' };
    try {
      await api.call((o) => api.core.createNamespacedConfigMap({ namespace: this.o.namespace, body: rendered.configMap, ...create }, o));
      this.created.configMap = true;
      await api.call((o) => api.batch.createNamespacedJob({ namespace: this.o.namespace, body: rendered.job, ...create }, o));
      this.created.job = true;
    } catch (e) {
      const kind = this.created.configMap ? 'Job' : 'ConfigMap';
      // Without an answer the object may exist all the same: the clean-up tries (a 404 is quiet).
      // An answer (403, 409, …) means it was not created, and a 409's object is not this run's.
      if (typeof (e as { code?: unknown })?.code !== 'number') this.created[kind === 'Job' ? 'job' : 'configMap'] = true;
      return this.failure(apiFailure(`creating the ${kind} ${this.name} in namespace ${this.o.namespace}`, e, this.ctx()));
    }
    const started = await this.awaitPod();
    if (started !== 'started') return started;
    // Running, or already ended (a short program): following an ended container's log gives it whole.
    await this.followLog(k8sLogTarget(api, this.o.namespace, this.pod!));
    this.stdout.end();
    return this.exitStatus();
  }

  /** Polls the Job's pod until it runs or has ended; anything else is the run's failed exit. */
  private async awaitPod(): Promise<'started' | ProcessExit> {
    const api = this.api!;
    const start = Date.now();
    let lastNote: string | undefined;
    let eventsAt = start + this.t.eventsAfterMs;
    for (;;) {
      if (this.stop) return { exitCode: null, signal: null };
      let pods: V1Pod[];
      try {
        pods = (await api.call((o) => api.core.listNamespacedPod({ namespace: this.o.namespace, labelSelector: `job-name=${this.name}` }, o))).items;
      } catch (e) {
        return this.failure(apiFailure(`looking for the pod of Job ${this.name}`, e, this.ctx()));
      }
      const pod = pods[0];
      if (pod?.metadata?.name) {
        this.pod = pod.metadata.name;
        // A stop asked for before the pod had a name is sent now.
        if (this.stop) {
          await this.deletePod(this.pod, this.stop === 'SIGKILL' ? 0 : Math.ceil(this.o.graceSec));
          return { exitCode: null, signal: null };
        }
        const s = podState(pod);
        const where = `pod ${this.pod} on node ${this.o.node}`;
        if (s.kind === 'running' || s.kind === 'ended') return 'started';
        if (s.kind === 'failed') return this.failure(`${where}: ${sentence(s.why)} ${podFix(s.why, this.o)}`);
        if (s.note && s.note !== lastNote) this.say(`${where}: ${(lastNote = s.note)}`);
      } else if (Date.now() >= eventsAt) {
        // No pod yet: the Job controller may be refused one (a PodSecurity policy, a quota); it
        // says so only in the Job's events, and retries for ever.
        eventsAt = Date.now() + this.t.eventsAfterMs;
        const refused = await this.jobRefusal();
        if (refused)
          return this.failure(
            `Job ${this.name} cannot create its pod: ${refused}. Allow privileged pods in namespace ${this.o.namespace} (pod-security.kubernetes.io/enforce=privileged) or use another namespace`,
          );
      }
      if (Date.now() - start > this.t.startSec * 1000)
        return this.failure(
          `${this.pod ? `pod ${this.pod} on node ${this.o.node} did not start` : `Job ${this.name} has no pod`} after ${this.t.startSec} s${lastNote ? ` (${lastNote})` : ''}: check that node ${this.o.node} exists and is Ready (kubectl get node ${this.o.node}) and kubectl describe job -n ${this.o.namespace} ${this.name}`,
        );
      await this.sleep(this.t.pollMs);
    }
  }

  /** The last FailedCreate warning of the Job, if its events can be read. */
  private async jobRefusal(): Promise<string | undefined> {
    const api = this.api!;
    try {
      const events = await api.call((o) =>
        api.core.listNamespacedEvent({ namespace: this.o.namespace, fieldSelector: `involvedObject.kind=Job,involvedObject.name=${this.name}` }, o),
      );
      return events.items.filter((e) => e.type === 'Warning' && e.reason === 'FailedCreate').pop()?.message;
    } catch {
      // Events are a courtesy: without the right to list them, the start timeout still reports.
      return undefined;
    }
  }

  /** Copies the container's log to stdout until it ends, within the run's time on the node. */
  private async followLog(target: LogTarget): Promise<void> {
    let gaveUp = false;
    let finish!: () => void;
    const ended = new Promise<void>((resolve) => (finish = resolve));
    const sink = new Writable({
      // Nothing is written once the run has given up on the log (stdout may have ended then).
      write: (chunk: Buffer, _enc, cb) =>
        gaveUp || this.stdout.writableEnded ? cb() : this.stdout.write(chunk) ? cb() : this.stdout.once('drain', () => cb()),
      final: (cb) => {
        finish();
        cb();
      },
    });
    // The response body is piped in by the client, which listens for none of its errors: a
    // broken connection would otherwise be an uncaught exception.
    sink.on('pipe', (src: NodeJS.ReadableStream) =>
      src.on('error', (e: Error) => {
        if (e.name !== 'AbortError') this.say(`the log of pod ${this.pod} broke off: ${e.message}`);
        finish();
      }),
    );
    const bound = (this.o.deadlineSec + 2 * this.o.graceSec + 30) * 1000;
    let controller: AbortController | undefined;
    const timer = setTimeout(() => {
      this.say(`the log of pod ${this.pod} was still open ${bound / 1000} s after the tracer started, past its deadline and grace period: it was closed`);
      controller?.abort();
      finish();
    }, bound);
    let opening: NodeJS.Timeout | undefined;
    try {
      // The client's log request takes no signal until it has answered: bounded from here.
      controller = await Promise.race([
        // A log that answers after this run gave up on it is closed at once.
        target.open(sink).then((c) => {
          if (gaveUp) c.abort();
          return c;
        }),
        new Promise<never>(
          (_, reject) => (opening = setTimeout(() => reject(Object.assign(new Error('no answer in time'), { name: 'AbortError' })), this.t.requestMs)),
        ),
      ]);
      clearTimeout(opening);
      await ended;
    } catch (e) {
      this.say(apiFailure(`reading the log of pod ${this.pod}`, e, this.ctx()));
    } finally {
      gaveUp = true;
      clearTimeout(opening);
      clearTimeout(timer);
    }
  }

  /** The container's exit, read once the log has ended (the kubelet records it just after). */
  private async exitStatus(): Promise<ProcessExit> {
    const api = this.api!;
    const until = Date.now() + (Math.ceil(this.o.graceSec) + 10) * 1000;
    for (;;) {
      try {
        const pods = (await api.call((o) => api.core.listNamespacedPod({ namespace: this.o.namespace, labelSelector: `job-name=${this.name}` }, o))).items;
        const pod = pods.find((p) => p.metadata?.name === this.pod);
        if (!pod) {
          // A stopped pod is deleted once its container has exited, and may be gone already.
          if (!this.stop) this.say(`pod ${this.pod} was gone before its exit status could be read`);
          return { exitCode: null, signal: null };
        }
        const s = podState(pod);
        if (s.kind === 'ended') return this.ended(s);
        if (s.kind === 'failed') return this.failure(`pod ${this.pod} on node ${this.o.node}: ${s.why}`);
      } catch (e) {
        this.say(apiFailure(`reading the exit status of pod ${this.pod}`, e, this.ctx()));
        return { exitCode: null, signal: null };
      }
      if (Date.now() > until) {
        this.say(`the log of pod ${this.pod} ended, but its container had not ended ${Math.ceil(this.o.graceSec) + 10} s later: it is stopped now`);
        void this.deletePod(this.pod!, 0);
        return { exitCode: null, signal: null };
      }
      await this.sleep(this.t.pollMs);
    }
  }

  private ended(s: { exitCode: number | null; reason?: string; message?: string }): ProcessExit {
    const where = `pod ${this.pod} on node ${this.o.node}`;
    // timeout's own exit statuses (coreutils: 124 timed out, 125 its failure, 126/127 the command).
    if (s.exitCode === 124) this.say(`the tracer reached its deadline of ${this.o.deadlineSec} s on the node: timeout stopped it with SIGINT (exit 124)`);
    if (s.exitCode === 127 || s.exitCode === 126 || s.reason === 'StartError' || s.reason === 'ContainerCannotRun') {
      const why = `${s.reason ?? 'exit'} ${s.exitCode}${s.message ? `: ${s.message.trim()}` : ''}`;
      return this.failure(`${where}: the tracer could not be started in image ${this.o.image} (${why}). ${podFix('CreateContainer', this.o)}`);
    }
    if (s.reason === 'OOMKilled') this.say(`${where}: the container ran out of memory (OOMKilled)`);
    return { exitCode: s.exitCode, signal: null };
  }

  /** Deletes what this run created; a failure is reported, never thrown. */
  async cleanup(): Promise<void> {
    const api = this.api;
    if (!api) return;
    const ns = this.o.namespace;
    const del = async (kind: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (e) {
        if (!isNotFound(e))
          this.say(
            `${apiFailure(`deleting ${kind} ${this.name} in namespace ${ns}`, e, this.ctx())} It is left behind: kubectl delete ${kind.toLowerCase()} -n ${ns} ${this.name}` +
              (kind === 'Job' ? ` (the cluster deletes it ${this.o.ttlSec ?? 300} s after it finished)` : ''),
          );
      }
    };
    if (this.created.job)
      await del('Job', () => api.call((o) => api.batch.deleteNamespacedJob({ name: this.name, namespace: ns, propagationPolicy: 'Background' }, o)));
    if (this.created.configMap) await del('ConfigMap', () => api.call((o) => api.core.deleteNamespacedConfigMap({ name: this.name, namespace: ns }, o)));
  }
}

interface LogTarget {
  /** Starts following the log into `sink`; resolves once the response has begun, with its abort. */
  open(sink: Writable): Promise<AbortController>;
}

function k8sLogTarget(api: Api, namespace: string, pod: string): LogTarget {
  return { open: (sink) => new api.k8s.Log(api.kc).log(namespace, pod, K8S_CONTAINER, sink, { follow: true }) };
}

/**
 * A Spawner for one node of a Kubernetes cluster (see the file comment). `pid` is undefined: the
 * process is on another machine. The lifeline does not apply: if mcptrace dies, the tracer still
 * ends at its deadline (timeout in the pod, then the Job's activeDeadlineSeconds), and the Job is
 * deleted ttlSecondsAfterFinished later.
 */
export function k8sSpawner(opts: K8sSpawnerOptions): Spawner {
  return {
    async spawn(argv, env): Promise<SpawnedProcess> {
      const run = new K8sRun(opts);
      const exit = run.run(argv, env).catch((e: unknown): ProcessExit => {
        // A bug here must still end the run, with its reason.
        const message = `the Kubernetes run failed unexpectedly: ${(e as Error)?.stack ?? String(e)}`;
        run.stderr.write(`mcptrace: ${message}\n`);
        return { exitCode: null, signal: null, spawnError: { message } };
      });
      // The lifecycle reads stderr to its end after the exit: the clean-up's failures still reach it.
      void exit
        .then(() => {
          run.stdout.end();
          return run.cleanup();
        })
        .catch(() => {})
        .finally(() => run.stderr.end());
      return {
        pid: undefined,
        stdout: run.stdout,
        stderr: run.stderr,
        kill: (s) => run.kill(s),
        exit,
      };
    },
  };
}
