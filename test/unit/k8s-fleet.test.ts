import type http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { Core } from '../../src/core/core.js';
import type { ExecutionResult } from '../../src/results/execution-view.js';
import type { CallContext, ToolResult } from '../../src/results/tool-result.js';
import { rec, renamed, send, useReplayApi, type ReplayApi, type Reply, type Seen } from '../helpers/k8s-replay.js';
import { expectConforms } from '../helpers/output-schema.js';

/**
 * A call with target k8s, the whole way: Core.callTool → planK8s → the fleet run → each node's
 * run through k8sSpawner and @kubernetes/client-node → a node:http server replaying the API
 * server's recorded answers (test/helpers/k8s-replay.ts). Nothing of mcptrace is mocked. The Job
 * and ConfigMap names hold the fleet run's id, known only once the ConfigMap create arrives, so
 * the replay routes on path patterns and serves the recorded bodies renamed to the run's names.
 */

const CLI: CallContext = { caller: { who: 'cli:test', via: 'cli' } };
const MCP: CallContext = { caller: { who: 'stdio:test', via: 'stdio' } };
const PROGRAM = 'interval:ms:50 { @ticks = count(); }';
const NODES = ['kind-worker', 'kind-worker2'];
// Each node's count differs, so the merged value can only be their sum, not one node's twice.
const TICKS: Record<string, number> = { 'kind-worker': 38, 'kind-worker2': 41 };
const LOG = rec('pod-log-bpftrace-json');

/** One node's Job and ConfigMap, as the replayed cluster knows them. */
interface Trace {
  name: string;
  node: string;
  namespace: string;
  runId: string;
  pod: string;
  logEnded: boolean;
  deleted: boolean;
}

const recordedMessage = (reply: Reply, namespace: string): Reply => {
  const body = reply.body as { message: string };
  // The recorded 403 was for kube-system: its message names the namespace of this request.
  return { ...reply, body: { ...body, message: body.message.replace('"kube-system"', `"${namespace}"`) } };
};

/**
 * The API server of a cluster with the nodes kind-worker and kind-worker2, answering with the
 * recorded bodies for whatever names the run uses. The pod runs at once (or is Pending for the
 * first look, `pendingFirst`); its log is the recorded bpftrace -f json output with this node's
 * count; with `hold` the log stays open after the attach until the pod is deleted, as a running
 * tracer's does, and the maps the preStop's SIGINT prints follow the deletion. `forbid` is a node
 * whose ConfigMap create is refused (403).
 */
class Cluster {
  readonly traces = new Map<string, Trace>();
  /** How many times each Job's pod was listed. */
  private readonly lists = new Map<string, number>();

  constructor(
    private readonly api: ReplayApi,
    private readonly o: { pendingFirst?: boolean; hold?: boolean; forbid?: string } = {},
  ) {
    const ns = '([^/]+)';
    api
      .on('POST', new RegExp(`^/api/v1/namespaces/${ns}/configmaps$`), (seen, res, m) => this.createConfigMap(seen, res, m![1]))
      .on('POST', new RegExp(`^/apis/batch/v1/namespaces/${ns}/jobs$`), (seen, res) =>
        this.answer(res, this.byName((seen.body as { metadata: { name: string } }).metadata.name), 'job-create-201'),
      )
      .on('GET', new RegExp(`^/api/v1/namespaces/${ns}/pods$`), (seen, res) => this.listPods(seen, res))
      .on('GET', new RegExp(`^/api/v1/namespaces/${ns}/pods/([^/]+)/log$`), (_seen, res, m) => this.followLog(res, this.byPod(m![2])))
      .on('DELETE', new RegExp(`^/api/v1/namespaces/${ns}/pods/([^/]+)$`), (_seen, res, m) => {
        const t = this.byPod(m![2]);
        if (t) t.deleted = true;
        this.answer(res, t, 'pod-delete-200');
      })
      .on('DELETE', new RegExp(`^/apis/batch/v1/namespaces/${ns}/jobs/([^/]+)$`), (_seen, res, m) => this.answer(res, this.byName(m![2]), 'job-delete-200'))
      .on('DELETE', new RegExp(`^/api/v1/namespaces/${ns}/configmaps/([^/]+)$`), (_seen, res, m) =>
        this.answer(res, this.byName(m![2]), 'configmap-delete-200'),
      );
  }

  private byName(name: string): Trace | undefined {
    return this.traces.get(name);
  }

  private byPod(pod: string): Trace | undefined {
    return [...this.traces.values()].find((t) => t.pod === pod);
  }

  /** The recorded answer for this trace's names; a name the cluster does not have is a 404. */
  private answer(res: http.ServerResponse, t: Trace | undefined, file: string): void {
    if (!t) return notFound(res);
    send(res, renamed(rec(file), t));
  }

  private createConfigMap(seen: Seen, res: http.ServerResponse, namespace: string): void {
    const cm = seen.body as { metadata: { name: string; labels: Record<string, string> }; data: Record<string, string> };
    const node = cm.metadata.labels['mcptrace.dev/node'];
    if (node === this.o.forbid) return send(res, recordedMessage(rec('configmap-create-403'), namespace));
    const t: Trace = {
      name: cm.metadata.name,
      node,
      namespace,
      runId: cm.metadata.labels['mcptrace.dev/run'],
      pod: `${cm.metadata.name}-x7k2p`,
      logEnded: false,
      deleted: false,
    };
    this.traces.set(t.name, t);
    const reply = renamed(rec('configmap-create-201'), t);
    // The API server stores the data it was sent (the recording's is another program's).
    send(res, { ...reply, body: { ...(reply.body as object), data: cm.data } });
  }

  private listPods(seen: Seen, res: http.ServerResponse): void {
    const t = this.byName(seen.query.labelSelector?.replace(/^job-name=/, '') ?? '');
    if (!t) return send(res, rec('pods-empty'));
    const n = (this.lists.get(t.name) ?? 0) + 1;
    this.lists.set(t.name, n);
    // The container has exited once its log has ended: after a deletion the preStop's SIGINT
    // ended it; otherwise it ended by itself (the recorded pod: exit 0, Completed).
    const file = t.logEnded
      ? t.deleted
        ? 'pods-terminated-after-delete'
        : 'pods-succeeded'
      : this.o.pendingFirst && n === 1
        ? 'pods-pending'
        : 'pods-running';
    send(res, renamed(rec(file), t));
  }

  private followLog(res: http.ServerResponse, t: Trace | undefined): void {
    if (!t) return notFound(res);
    res.writeHead(LOG.status, LOG.headers);
    // The program has only @ticks: the recording's @bycpu (another program's map) is left out,
    // and the count is this node's.
    const after = LOG.after!.filter((c) => !c.includes('@bycpu')).map((c) => c.replace('"@ticks": 38', `"@ticks": ${TICKS[t.node]}`));
    void (async () => {
      for (const c of LOG.before!) {
        res.write(c);
        await new Promise((r) => setTimeout(r, 5));
      }
      if (this.o.hold) await this.api.request((s) => s.method === 'DELETE' && s.path.endsWith(`/pods/${t.pod}`));
      for (const c of after) res.write(c);
      t.logEnded = true;
      res.end();
    })();
  }
}

function notFound(res: http.ServerResponse): void {
  res.writeHead(404, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'not found', reason: 'NotFound', code: 404 }));
}

const replay = useReplayApi('mcptrace-k8s-fleet-');
const { api, rejections } = replay;
let core: Core | undefined;
afterEach(async () => {
  await core?.shutdown();
  core = undefined;
  expect(rejections).toEqual([]);
});

/** A Core as the CLI or the server makes it, its Kubernetes settings from its environment. */
function makeCore(env: Record<string, string> = {}): Core {
  // graceMs 5000: a stop deletes each pod with a 5 s grace period.
  core = new Core({ env: { HOME: '/nonexistent', MCPTRACE_KUBECONFIG: replay.kubeconfig(), ...env }, runner: { graceMs: 5000 } });
  return core;
}

const view = (r: ToolResult) => r.structured as ExecutionResult;
const short = (s: Seen) => `${s.method} ${s.path}`;
/** The requests about one node's objects: by a path segment (its name, its pod's), the pod list's selector, the created object's name. */
const about = (name: string) => (s: Seen) =>
  s.path.split('/').some((seg) => seg === name || seg === `${name}-x7k2p`) ||
  s.query.labelSelector === `job-name=${name}` ||
  (s.body as { metadata?: { name?: string } })?.metadata?.name === name;
const waitFor = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
};

const execArgs = { program: PROGRAM, target: 'k8s', hosts: NODES, wait: true, include_maps: true, timeout: 30 };

describe('exec_program with target k8s, through Core.callTool, against the replayed API server', () => {
  it('runs a ConfigMap and a Job per node, labels every line by node, sums the maps, and cleans up', async () => {
    new Cluster(api, { pendingFirst: true });
    const c = makeCore();
    const r = await c.callTool('exec_program', execArgs, CLI);
    expectConforms(c, 'exec_program', r);
    const v = view(r);

    expect(v.execution_id).toMatch(/^fleet-/);
    // The recorded pod ends by itself with exit 0 (reason Completed) well before the 30 s
    // deadline: a normal end, as a local bpftrace that exits 0 unasked is.
    expect(v.status, JSON.stringify(v, null, 1)).toBe('completed');
    expect(v.hosts?.map((h) => [h.host, h.status, h.bpftrace_version])).toEqual([
      ['kind-worker', 'completed', 'bpftrace v0.19.1'],
      ['kind-worker2', 'completed', 'bpftrace v0.19.1'],
    ]);
    expect(v.output.length).toBeGreaterThan(0);
    for (const l of v.output) expect(l).toMatch(/^\[(kind-worker|kind-worker2|merged)\] /);
    // The log's JSON lines are decoded as events (the attach), its other lines as messages: the
    // attach notice among them is bpftrace's signal to mcptrace, never shown.
    expect(v.output).toContain('[kind-worker] Attaching 1 probe...');
    expect(v.output).toContain('[kind-worker2] Attaching 1 probe...');
    expect(v.attached_probes).toBe(2);
    expect(JSON.stringify(v)).not.toContain('__BPFTRACE_NOTIFY_PROBES_ATTACHED');
    expect(v.output).toContain('[kind-worker] @ticks: 38');
    expect(v.output).toContain('[kind-worker2] @ticks: 41');
    expect(v.output).toContain('[merged] @ticks: 79');

    // The merged map is the sum of each node's own run's value, read back from those runs.
    const own: number[] = [];
    for (const h of v.hosts!) {
      const m = view(await c.callTool('get_result', { execution_id: h.execution_id, include_maps: true }, CLI));
      own.push(m.maps?.['@ticks'].value as number);
    }
    expect(own).toEqual([38, 41]);
    expect(v.maps?.['@ticks'].value).toBe(own[0] + own[1]);

    for (const node of NODES) {
      const name = `mcptrace-${v.execution_id}-${node}`;
      const pod = `${name}-x7k2p`;
      const mine = api.seen.filter(about(name));
      const cms = '/api/v1/namespaces/default/configmaps';
      const jobs = '/apis/batch/v1/namespaces/default/jobs';
      const pods = '/api/v1/namespaces/default/pods';
      // From the CLI the namespace is "default". The pod is looked at: Pending, then Running;
      // its log is followed; once it ended its exit status is read; then both objects go.
      expect(mine.map(short)).toEqual([
        `POST ${cms}`,
        `POST ${jobs}`,
        `GET ${pods}`,
        `GET ${pods}`,
        `GET ${pods}/${pod}/log`,
        `GET ${pods}`,
        `DELETE ${jobs}/${name}`,
        `DELETE ${cms}/${name}`,
      ]);
      const [cm, job, list, , log] = mine;
      expect(cm.query).toMatchObject({ fieldValidation: 'Strict' });
      expect(job.query).toMatchObject({ fieldValidation: 'Strict' });
      expect(list.query).toEqual({ labelSelector: `job-name=${name}` });
      expect(log.query).toMatchObject({ follow: 'true' });
      expect((cm.body as { data: Record<string, string> }).data['program.bt']).toBe(PROGRAM);
      const spec = (job.body as { spec: { template: { spec: { nodeName: string; containers: { command: string[] }[] } } } }).spec.template.spec;
      expect(spec.nodeName).toBe(node);
      expect(spec.containers[0].command.slice(0, 4)).toEqual(['timeout', '--signal', 'INT', '--foreground']);
    }
  });

  it('stop_execution deletes each pod with the runner grace in seconds; the maps printed after the stop arrive; the run is stopped', async () => {
    new Cluster(api, { hold: true });
    const c = makeCore();
    const started = view(await c.callTool('exec_program', { ...execArgs, wait: false }, CLI));
    expect(started.execution_id).toMatch(/^fleet-/);
    const fleet = c.runner.get(started.execution_id)!;
    // Stopped once the tracers attached on both nodes (the SIGINT would be held until then).
    await waitFor(() => fleet.attachedAt !== undefined);
    expect(fleet.finished).toBe(false);
    expect(fleet.lines.some((l) => l.includes('@ticks'))).toBe(false);

    const r = await c.callTool('stop_execution', { execution_id: started.execution_id, wait: 10 }, CLI);
    const v = view(r);
    expect(v.status, JSON.stringify(v, null, 1)).toBe('stopped');
    expect(v.hosts?.map((h) => [h.host, h.status])).toEqual([
      ['kind-worker', 'stopped'],
      ['kind-worker2', 'stopped'],
    ]);
    // The log held the maps back until the pod was deleted: they can only be the stop's.
    expect(v.output).toContain('[kind-worker] @ticks: 38');
    expect(v.output).toContain('[kind-worker2] @ticks: 41');
    expect(v.maps?.['@ticks'].value).toBe(79);
    const podDeletes = api.seen.filter((s) => s.method === 'DELETE' && /\/pods\//.test(s.path));
    expect(podDeletes.map((s) => s.path).sort()).toEqual(NODES.map((n) => `/api/v1/namespaces/default/pods/mcptrace-${v.execution_id}-${n}-x7k2p`));
    // runner.graceMs 5000: the pod's grace period is 5 s, the time bpftrace has for its maps.
    for (const d of podDeletes) expect(d.query.gracePeriodSeconds).toBe('5');
    // Each node's pod goes first (its preStop prints the maps), then its Job and ConfigMap.
    for (const n of NODES) {
      const name = `mcptrace-${v.execution_id}-${n}`;
      expect(api.seen.filter((s) => s.method === 'DELETE' && about(name)(s)).map((s) => s.path.split('/').slice(-2).join('/'))).toEqual([
        `pods/${name}-x7k2p`,
        `jobs/${name}`,
        `configmaps/${name}`,
      ]);
    }
  });

  it('node_selector role=db runs on exactly the nodes the API server lists for it', async () => {
    new Cluster(api);
    api.on('GET', '/api/v1/nodes', [rec('nodes-role-db')]);
    const { hosts: _named, ...bySelector } = execArgs;
    const v = view(await makeCore().callTool('exec_program', { ...bySelector, node_selector: 'role=db' }, CLI));

    expect(api.seen.filter((s) => s.path === '/api/v1/nodes').map((s) => s.query.labelSelector)).toEqual(['role=db']);
    expect(v.status, JSON.stringify(v, null, 1)).toBe('completed');
    expect(v.hosts?.map((h) => h.host)).toEqual(['kind-worker', 'kind-worker2']);
    const created = api.seen.filter((s) => s.method === 'POST' && s.path.endsWith('/configmaps'));
    expect(created.map((s) => (s.body as { metadata: { labels: Record<string, string> } }).metadata.labels['mcptrace.dev/node']).sort()).toEqual([
      'kind-worker',
      'kind-worker2',
    ]);
  });

  it('over MCP: refused unless MCPTRACE_K8S_NAMESPACE is set, and then the Jobs go to that namespace', async () => {
    new Cluster(api);
    const refused = await makeCore().callTool('exec_program', execArgs, MCP);
    expect(refused.isError).toBe(true);
    expect(refused.errorKind).toBe('policy');
    expect(refused.text).toContain('MCPTRACE_K8S_NAMESPACE');
    expect(api.seen).toEqual([]);
    await core!.shutdown();

    const v = view(await makeCore({ MCPTRACE_K8S_NAMESPACE: 'tracing' }).callTool('exec_program', execArgs, MCP));
    expect(v.status, JSON.stringify(v, null, 1)).toBe('completed');
    const jobs = api.seen.filter((s) => s.method === 'POST' && s.path.includes('/jobs'));
    expect(jobs.map((s) => s.path)).toEqual(['/apis/batch/v1/namespaces/tracing/jobs', '/apis/batch/v1/namespaces/tracing/jobs']);
    // Every request of the run stays in that namespace.
    expect(api.seen.every((s) => s.path.startsWith('/api/v1/namespaces/tracing/') || s.path.startsWith('/apis/batch/v1/namespaces/tracing/'))).toBe(true);
  });

  it("a 403 on one node's ConfigMap fails that node with the API's message and the fix; the other node's result is complete", async () => {
    new Cluster(api, { forbid: 'kind-worker2' });
    const v = view(await makeCore().callTool('exec_program', execArgs, CLI));

    const [ok, bad] = v.hosts!;
    expect(bad).toMatchObject({ host: 'kind-worker2', status: 'failed' });
    expect(bad.error).toContain(
      '403 Forbidden: configmaps is forbidden: User "system:serviceaccount:tools:mcptrace" cannot create resource "configmaps" in API group "" in the namespace "default"',
    );
    expect(bad.error).toContain('Grant your user the mcptrace Role of docs/kubernetes.md in namespace default');
    expect(bad.error).toContain('kubectl auth can-i create jobs -n default');
    expect(ok).toMatchObject({ host: 'kind-worker', status: 'completed', bpftrace_version: 'bpftrace v0.19.1' });
    // The fleet run is the nodes that ran: kind-worker's map whole, nothing merged in from the failed one.
    expect(v.status).toBe('completed');
    expect(v.output).toContain('[kind-worker] @ticks: 38');
    expect(v.maps?.['@ticks'].value).toBe(38);
    expect(v.warnings.join('\n')).toMatch(/1 of 2 hosts failed.*kind-worker2: .*403 Forbidden/);
    // Refused, kind-worker2 has nothing to clean up: one request, the refused create.
    expect(api.seen.filter((s) => JSON.stringify(s).includes('kind-worker2')).map(short)).toEqual(['POST /api/v1/namespaces/default/configmaps']);
  });

  it('dry_run renders the Job and reaches no API server', async () => {
    new Cluster(api);
    const r = await makeCore().callTool('exec_program', { ...execArgs, dry_run: true }, CLI);
    expect(r.isError).toBeFalsy();
    expect(r.text).toContain('"kind": "Job"');
    expect(r.text).toContain('"kind": "ConfigMap"');
    expect(r.text).toContain('on 2 hosts: kind-worker, kind-worker2');
    // Anything the dry run started would have asked by now.
    await new Promise((res) => setTimeout(res, 100));
    expect(api.seen).toEqual([]);
  });
});
