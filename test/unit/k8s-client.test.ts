import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { renderK8sTrace } from '../../src/runtime/fleet/k8s.js';
import { k8sSpawner, listNodes, type K8sSpawnerOptions } from '../../src/runtime/fleet/k8s-client.js';
import type { ProcessExit, SpawnedProcess } from '../../src/runtime/spawner.js';
import { rec, useReplayApi, type Handler, type ReplayApi, type Reply, type Seen } from '../helpers/k8s-replay.js';

/**
 * The Kubernetes client against the API server's recorded behaviour: a node:http server on
 * 127.0.0.1 replays the responses in test/fixtures/k8s/recorded (status, headers, JSON bodies; the
 * log as a chunked text stream) and records every request the real @kubernetes/client-node makes,
 * reached through a kubeconfig file that points at it (test/helpers/k8s-replay.ts). Nothing of the
 * client is mocked.
 */

const NS = 'mcptrace';
const NAME = 'mcptrace-r1-kind-worker';
const POD = `${NAME}-x7k2p`;
const PROGRAM = 'interval:ms:50 { @ticks = count(); @bycpu[cpu] = count(); }';
const ARGV = ['bpftrace', '-f', 'json', '-e', PROGRAM];
const ENV = { BPFTRACE_PERF_RB_PAGES: '1024', __BPFTRACE_NOTIFY_PROBES_ATTACHED: '1' };

/**
 * The log endpoint: `before` in chunks; then, when `hold` is set, nothing more until the pod is
 * deleted, after which `after` follows (the preStop hook's SIGINT: the maps) unless the delete
 * was immediate (gracePeriodSeconds=0: the container is killed, nothing more is printed).
 */
function logStream(api: ReplayApi, log: Reply, hold: boolean): Handler {
  return (_seen, res) => {
    res.writeHead(log.status, log.headers);
    void (async () => {
      for (const c of log.before!) {
        res.write(c);
        await new Promise((r) => setTimeout(r, 5));
      }
      let graceful = true;
      if (hold) {
        const del = await api.request((s) => s.method === 'DELETE' && s.path.endsWith(`/pods/${POD}`));
        graceful = del.query.gracePeriodSeconds !== '0';
      }
      if (graceful) for (const c of log.after!) res.write(c);
      res.end();
    })();
  };
}

const P = {
  configmaps: `/api/v1/namespaces/${NS}/configmaps`,
  jobs: `/apis/batch/v1/namespaces/${NS}/jobs`,
  pods: `/api/v1/namespaces/${NS}/pods`,
  log: `/api/v1/namespaces/${NS}/pods/${POD}/log`,
  pod: `/api/v1/namespaces/${NS}/pods/${POD}`,
  job: `/apis/batch/v1/namespaces/${NS}/jobs/${NAME}`,
  configmap: `/api/v1/namespaces/${NS}/configmaps/${NAME}`,
};

const replay = useReplayApi('mcptrace-k8s-');
const { api, rejections } = replay;

afterEach(() => expect(rejections).toEqual([]));

/**
 * The answers every run that gets as far as its pod needs: the ConfigMap and the Job created, the
 * pod's states in `pods` (the last one repeated), and the Job and ConfigMap deleted at the end.
 */
function createdRun(pods: Reply[]): ReplayApi {
  return api
    .on('POST', P.configmaps, [rec('configmap-create-201')])
    .on('POST', P.jobs, [rec('job-create-201')])
    .on('GET', P.pods, pods)
    .on('DELETE', P.job, [rec('job-delete-200')])
    .on('DELETE', P.configmap, [rec('configmap-delete-200')]);
}

const opts = (over: Partial<K8sSpawnerOptions> = {}): K8sSpawnerOptions => ({
  namespace: NS,
  image: 'quay.io/iovisor/bpftrace:v0.19.1',
  runId: 'r1',
  node: 'kind-worker',
  deadlineSec: 30,
  graceSec: 10,
  kubeconfig: replay.kubeconfig(),
  timings: { pollMs: 5, requestMs: 3000, startSec: 5 },
  ...over,
});

interface Outcome {
  exit: ProcessExit;
  stdout: string;
  stderr: string;
}

function collect(p: SpawnedProcess): { text: { stdout: string; stderr: string }; done: Promise<Outcome> } {
  const text = { stdout: '', stderr: '' };
  p.stdout.on('data', (d: Buffer) => (text.stdout += d.toString()));
  p.stderr.on('data', (d: Buffer) => (text.stderr += d.toString()));
  const ended = (s: NodeJS.ReadableStream) => new Promise<void>((r) => s.once('end', () => r()));
  // stderr ends once the clean-up is over: its failures are the run's last lines.
  const streams = Promise.all([ended(p.stdout), ended(p.stderr)]);
  const done = (async () => {
    const exit = await p.exit;
    await streams;
    return { exit, ...text };
  })();
  return { text, done };
}

const rendered = renderK8sTrace({ ...opts(), argv: ARGV, env: ENV });
const log = rec('pod-log-bpftrace-json');
const short = (s: Seen) => `${s.method} ${s.path}`;
const waitFor = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('a run on a node, against the recorded API server', () => {
  it('creates the ConfigMap then the Job, follows the log to its end in order, exits 0, then deletes both', async () => {
    createdRun([rec('pods-pending'), rec('pods-running'), rec('pods-succeeded')]).on('GET', P.log, logStream(api, log, false));
    const child = await k8sSpawner(opts()).spawn(ARGV, ENV);
    expect(child.pid).toBeUndefined();
    const { exit, stdout, stderr } = await collect(child).done;

    expect(exit).toEqual({ exitCode: 0, signal: null });
    expect(stdout).toBe([...log.before!, ...log.after!].join(''));
    expect(stderr).toBe('');
    expect(api.seen.map(short)).toEqual([
      `POST ${P.configmaps}`,
      `POST ${P.jobs}`,
      `GET ${P.pods}`,
      `GET ${P.pods}`,
      `GET ${P.log}`,
      `GET ${P.pods}`,
      `DELETE ${P.job}`,
      `DELETE ${P.configmap}`,
    ]);
    const [cm, job, list, , logReq, , delJob, delCm] = api.seen;
    // The objects sent are exactly the rendered ones: the client dropped no field on the way.
    expect(cm.body).toEqual(rendered.configMap);
    expect(job.body).toEqual(rendered.job);
    expect(cm.query).toMatchObject({ fieldManager: 'mcptrace', fieldValidation: 'Strict' });
    expect(list.query).toMatchObject({ labelSelector: `job-name=${NAME}` });
    expect(logReq.query).toMatchObject({ follow: 'true', container: 'tracer' });
    expect(delJob.query).toMatchObject({ propagationPolicy: 'Background' });
    expect(delCm.query.propagationPolicy).toBeUndefined();
    // The kubeconfig's credentials are what the client sent.
    expect(new Set(api.seen.map((s) => s.auth))).toEqual(new Set(['Bearer replay-token']));
  });

  it("kill('SIGINT') deletes the pod with its grace period; the maps printed by the preStop's SIGINT still arrive", async () => {
    createdRun([rec('pods-pending'), rec('pods-running'), rec('pods-terminated-after-delete')])
      .on('GET', P.log, logStream(api, log, true))
      .on('DELETE', P.pod, [rec('pod-delete-200')]);
    const child = await k8sSpawner(opts()).spawn(ARGV, ENV);
    const { text, done } = collect(child);
    await waitFor(() => text.stdout === log.before!.join(''));
    child.kill('SIGINT');
    // A second SIGINT (the lifecycle asks again while it sees no sign): one deletion, one preStop.
    child.kill('SIGINT');
    const { exit, stdout } = await done;

    expect(exit).toEqual({ exitCode: 0, signal: null });
    expect(stdout).toBe([...log.before!, ...log.after!].join(''));
    const deletes = api.seen.filter((s) => s.method === 'DELETE');
    expect(deletes.map((s) => s.path)).toEqual([P.pod, P.job, P.configmap]);
    expect(deletes[0].query).toMatchObject({ gracePeriodSeconds: '10' });
  });

  it("kill('SIGKILL') deletes the pod with gracePeriodSeconds 0: no maps, no exit status, still cleaned up", async () => {
    createdRun([rec('pods-pending'), rec('pods-running'), rec('pods-empty')])
      .on('GET', P.log, logStream(api, log, true))
      .on('DELETE', P.pod, [rec('pod-delete-200')]);
    const child = await k8sSpawner(opts()).spawn(ARGV, ENV);
    const { text, done } = collect(child);
    await waitFor(() => text.stdout === log.before!.join(''));
    child.kill('SIGKILL');
    const { exit, stdout } = await done;

    expect(exit).toEqual({ exitCode: null, signal: null });
    expect(stdout).toBe(log.before!.join(''));
    const deletes = api.seen.filter((s) => s.method === 'DELETE');
    expect(deletes.map((s) => s.path)).toEqual([P.pod, P.job, P.configmap]);
    expect(deletes[0].query).toMatchObject({ gracePeriodSeconds: '0' });
  });

  it("kill('SIGINT') before the pod runs deletes the pod, and nothing is followed", async () => {
    createdRun([rec('pods-pending')]).on('DELETE', P.pod, [rec('pod-delete-200')]);
    const child = await k8sSpawner(opts()).spawn(ARGV, ENV);
    const { done } = collect(child);
    await api.request((s) => s.method === 'GET' && s.path === P.pods);
    await waitFor(() => api.seen.filter((s) => s.path === P.pods).length >= 2);
    child.kill('SIGINT');
    const { exit } = await done;
    expect(exit).toEqual({ exitCode: null, signal: null });
    expect(api.seen.some((s) => s.path === P.log)).toBe(false);
    expect(api.seen.filter((s) => s.method === 'DELETE').map((s) => s.path)).toEqual([P.pod, P.job, P.configmap]);
  });
});

describe('failures are a failed exit with the reason and the fix, never a rejection', () => {
  it('403 Forbidden on the ConfigMap: the Status message and the RBAC fix, nothing else requested', async () => {
    api.on('POST', '/api/v1/namespaces/kube-system/configmaps', [rec('configmap-create-403')]);
    const child = await k8sSpawner(opts({ namespace: 'kube-system' })).spawn(ARGV, ENV);
    const { exit, stdout, stderr } = await collect(child).done;

    expect(exit.exitCode).toBeNull();
    const msg = exit.spawnError!.message;
    expect(msg).toContain('403 Forbidden: configmaps is forbidden: User "system:serviceaccount:tools:mcptrace" cannot create resource "configmaps"');
    expect(msg).toContain('kubectl auth can-i create jobs -n kube-system');
    expect(msg).toContain('docs/kubernetes.md');
    expect(stderr).toBe(`mcptrace: ${msg}\n`);
    expect(stdout).toBe('');
    expect(api.seen.map(short)).toEqual(['POST /api/v1/namespaces/kube-system/configmaps']);
  });

  it('403 on the Job after the ConfigMap was made: the ConfigMap is deleted again, the Job is not touched', async () => {
    api
      .on('POST', P.configmaps, [rec('configmap-create-201')])
      .on('POST', P.jobs, [rec('job-create-403')])
      .on('DELETE', P.configmap, [rec('configmap-delete-200')]);
    const { exit } = await collect(await k8sSpawner(opts()).spawn(ARGV, ENV)).done;
    expect(exit.spawnError!.message).toMatch(/creating the Job mcptrace-r1-kind-worker in namespace mcptrace failed \(403 Forbidden: jobs\.batch is forbidden/);
    expect(api.seen.map(short)).toEqual([`POST ${P.configmaps}`, `POST ${P.jobs}`, `DELETE ${P.configmap}`]);
  });

  it('409 AlreadyExists: says how to remove the leftover, and deletes nothing it did not create', async () => {
    api.on('POST', P.configmaps, [rec('configmap-create-409')]);
    const { exit, stderr } = await collect(await k8sSpawner(opts()).spawn(ARGV, ENV)).done;
    expect(exit.spawnError!.message).toContain(`409 AlreadyExists: configmaps "${NAME}" already exists`);
    expect(exit.spawnError!.message).toContain('kubectl delete job,configmap -n mcptrace -l mcptrace.dev/run=r1');
    expect(stderr).toContain('mcptrace: creating the ConfigMap');
    expect(api.seen.filter((s) => s.method === 'DELETE')).toEqual([]);
  });

  it('an unschedulable pod (PodScheduled False, Unschedulable) is reported with the scheduler message, then cleaned up', async () => {
    createdRun([rec('pods-unschedulable')]);
    const { exit, stderr } = await collect(await k8sSpawner(opts()).spawn(ARGV, ENV)).done;
    expect(exit.exitCode).toBeNull();
    expect(stderr).toMatch(
      /^mcptrace: pod mcptrace-r1-kind-worker-x7k2p on node kind-worker: Unschedulable: 0\/2 nodes are available: .*kubectl describe node kind-worker/,
    );
    expect(exit.spawnError!.message).toContain('Unschedulable');
    expect(api.seen.filter((s) => s.method === 'DELETE').map((s) => s.path)).toEqual([P.job, P.configmap]);
  });

  it('ErrImagePull is shown as it happens; ImagePullBackOff ends the run with the image fix', async () => {
    createdRun([rec('pods-pending'), rec('pods-errimagepull'), rec('pods-imagepullbackoff')]);
    const { exit, stderr } = await collect(await k8sSpawner(opts()).spawn(ARGV, ENV)).done;
    const lines = stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^mcptrace: pod mcptrace-r1-kind-worker-x7k2p on node kind-worker: ErrImagePull: rpc error: code = NotFound/);
    expect(lines[1]).toMatch(/^mcptrace: pod mcptrace-r1-kind-worker-x7k2p on node kind-worker: ImagePullBackOff: Back-off pulling image/);
    expect(exit.spawnError!.message).toMatch(/Check that the image exists and the node can pull it .*\(MCPTRACE_K8S_IMAGE\)/);
  });

  it('a pod that never appears fails after the start timeout, with what to check', async () => {
    createdRun([rec('pods-empty')]);
    const { exit } = await collect(await k8sSpawner(opts({ timings: { pollMs: 20, requestMs: 3000, startSec: 0.2 } })).spawn(ARGV, ENV)).done;
    expect(exit.spawnError!.message).toMatch(/Job mcptrace-r1-kind-worker has no pod after 0.2 s: check that node kind-worker exists and is Ready/);
  });

  it('an API server that does not answer: every request is bounded, and the run fails saying so', async () => {
    api.on('POST', P.configmaps, () => {});
    const t0 = Date.now();
    const { exit } = await collect(await k8sSpawner(opts({ timings: { requestMs: 300 } })).spawn(ARGV, ENV)).done;
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(exit.spawnError!.message).toMatch(
      /creating the ConfigMap .* failed: no answer in time. Check that the API server http:\/\/127\.0\.0\.1:\d+ is reachable/,
    );
    // Unanswered, the create may have happened all the same: the clean-up tries (a 404 is quiet).
    expect(api.seen.map(short)).toEqual([`POST ${P.configmaps}`, `DELETE ${P.configmap}`]);
  });

  it('an API server that is not there: a failed exit, not a rejection', async () => {
    const dead = path.join(replay.dir(), 'dead-kubeconfig');
    writeFileSync(dead, readFileSync(replay.kubeconfig(), 'utf8').replace(`127.0.0.1:${api.port}`, '127.0.0.1:9'));
    const { exit } = await collect(await k8sSpawner(opts({ kubeconfig: dead })).spawn(ARGV, ENV)).done;
    expect(exit.spawnError!.message).toMatch(/creating the ConfigMap .* failed.*reachable/);
  });

  it('bad input is refused before any request, with its fix', async () => {
    const { exit, stderr } = await collect(await k8sSpawner(opts()).spawn(ARGV, { 'BAD-NAME': '1' })).done;
    expect(exit.spawnError!.message).toMatch(/"BAD-NAME" is invalid: use letters, digits and '_'/);
    expect(stderr).toContain('"BAD-NAME" is invalid');
    expect(api.seen).toEqual([]);
  });
});

describe('listNodes', () => {
  it('lists the nodes matching a label selector', async () => {
    api.on('GET', '/api/v1/nodes', [rec('nodes-role-db')]);
    expect(await listNodes('role=db', { kubeconfig: replay.kubeconfig() })).toEqual(['kind-worker', 'kind-worker2']);
    expect(api.seen.map((s) => [s.path, s.query.labelSelector])).toEqual([['/api/v1/nodes', 'role=db']]);
  });

  it('turns a 403 into an Error that says what to grant', async () => {
    api.on('GET', '/api/v1/nodes', [
      {
        ...rec('configmap-create-403'),
        body: {
          ...(rec('configmap-create-403').body as object),
          message: 'nodes is forbidden: User "u" cannot list resource "nodes" in API group "" at the cluster scope',
        },
      },
    ]);
    await expect(listNodes(undefined, { kubeconfig: replay.kubeconfig() })).rejects.toThrow(/nodes is forbidden.*Grant your user list on nodes/);
  });
});

describe('the client is loaded on first use', () => {
  it('k8s.ts and k8s-client.ts import @kubernetes/client-node only as types (the value comes from import())', () => {
    for (const f of ['k8s.ts', 'k8s-client.ts']) {
      const src = readFileSync(path.resolve(__dirname, '../../src/runtime/fleet', f), 'utf8');
      const imports = src.match(/^import .*'@kubernetes\/client-node';$/gm) ?? [];
      for (const line of imports) expect(line).toMatch(/^import type /);
    }
    expect(readFileSync(path.resolve(__dirname, '../../src/runtime/fleet/k8s-client.ts'), 'utf8')).toContain("import('@kubernetes/client-node')");
  });
});
