import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { describe, expect, it } from 'vitest';
import { dnsLabel, k8sTraceName, PRESTOP_SCRIPT, PROGRAM_PATH, renderK8sTrace, type K8sTraceRequest } from '../../src/runtime/fleet/k8s.js';

/**
 * The rendered ConfigMap and Job against the Kubernetes OpenAPI v3 schema (release-1.35, cut down
 * to what a Job and a ConfigMap reach, with unknown fields rejected: test/fixtures/k8s/README.md),
 * and the rules of a trace on a node: the program in a file, never on a command line; SIGINT at
 * the deadline and on a stop; a pod that can see and trace the host.
 */

const FIXTURES = path.resolve(__dirname, '../fixtures/k8s');
const PROGRAM = 'kprobe:do_sys_openat2 { @opens[comm] = count(); } END { printf("bye\\n"); }';

function validatorFor(file: string): ValidateFunction {
  const doc = JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8')) as { root: string; components: object };
  // strict mode stays on: `components` (where OpenAPI keeps the schemas) and the extensions are
  // declared as the annotations they are; the OpenAPI formats (int32, int64, byte, date-time,
  // int-or-string) are not checked.
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, strictRequired: false, validateFormats: false });
  for (const k of [
    'components',
    'x-kubernetes-group-version-kind',
    'x-kubernetes-list-type',
    'x-kubernetes-list-map-keys',
    'x-kubernetes-map-type',
    'x-kubernetes-patch-strategy',
    'x-kubernetes-patch-merge-key',
    'x-kubernetes-unions',
  ])
    ajv.addKeyword(k);
  ajv.addSchema({ $id: 'k8s', components: doc.components }, 'k8s');
  return ajv.compile({ $ref: `k8s#/components/schemas/${doc.root}` });
}

const jobSchema = validatorFor('openapi-batch-v1-job.json');
const configMapSchema = validatorFor('openapi-core-v1-configmap.json');

function errorsOf(v: ValidateFunction, obj: unknown): string {
  return v(obj) ? '' : (v.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`).join('\n');
}

const base: K8sTraceRequest = {
  runId: 'r1',
  node: 'kind-worker',
  argv: ['bpftrace', '-f', 'json', '-e', PROGRAM, '--', '42', '-c'],
  env: { BPFTRACE_PERF_RB_PAGES: '1024', __BPFTRACE_NOTIFY_PROBES_ATTACHED: '1' },
  deadlineSec: 30,
  graceSec: 10,
  namespace: 'mcptrace',
  image: 'quay.io/iovisor/bpftrace:v0.19.1',
};

const render = (over: Partial<K8sTraceRequest> = {}) => renderK8sTrace({ ...base, ...over });
const podOf = (over: Partial<K8sTraceRequest> = {}) => render(over).job.spec!.template.spec!;
const containerOf = (over: Partial<K8sTraceRequest> = {}) => podOf(over).containers[0];

describe('renderK8sTrace against the Kubernetes OpenAPI schema', () => {
  it('renders a Job and a ConfigMap the schema accepts', () => {
    const { job, configMap } = render();
    expect(errorsOf(jobSchema, job)).toBe('');
    expect(errorsOf(configMapSchema, configMap)).toBe('');
    expect(job).toMatchObject({ apiVersion: 'batch/v1', kind: 'Job' });
    expect(configMap).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap' });
  });

  it('accepts every variant: no program (a bcc tool), a ttl, extra labels, a weird node', () => {
    for (const over of [
      { argv: ['/usr/sbin/biolatency-bpfcc', '5', '1'] },
      { ttlSec: 0, labels: { team: 'perf' } },
      { node: 'Node_A.example.com' },
      { node: `n${'x'.repeat(99)}` },
      { env: {} },
    ]) {
      const { job, configMap } = render(over);
      expect(errorsOf(jobSchema, job), JSON.stringify(over)).toBe('');
      expect(errorsOf(configMapSchema, configMap), JSON.stringify(over)).toBe('');
    }
  });

  it('can fail: a misspelt field, a wrong type and a missing required field are each rejected', () => {
    const misspelt = structuredClone(render().job) as any;
    misspelt.spec.template.spec.containers[0].securityContex = misspelt.spec.template.spec.containers[0].securityContext;
    delete misspelt.spec.template.spec.containers[0].securityContext;
    expect(errorsOf(jobSchema, misspelt)).toMatch(/must NOT have additional properties.*securityContex"/);

    const wrongType = structuredClone(render().job) as any;
    wrongType.spec.activeDeadlineSeconds = '40';
    expect(errorsOf(jobSchema, wrongType)).toMatch(/activeDeadlineSeconds must be integer/);

    const noName = structuredClone(render().job) as any;
    delete noName.spec.template.spec.containers[0].name;
    expect(errorsOf(jobSchema, noName)).toMatch(/must have required property 'name'/);

    const badMap = structuredClone(render().configMap) as any;
    badMap.data['program.bt'] = 42;
    expect(errorsOf(configMapSchema, badMap)).toMatch(/data\/program.bt must be string/);
  });
});

describe('the program travels in the ConfigMap, never on a command line', () => {
  it('moves -e PROGRAM into program.bt and puts its path where -e was, before -- and the parameters', () => {
    const { job, configMap } = render();
    expect(configMap.data).toEqual({ 'program.bt': PROGRAM });
    const c = containerOf();
    expect(c.command).toEqual(['timeout', '--signal', 'INT', '--foreground', '30', 'bpftrace', '-f', 'json', PROGRAM_PATH, '--', '42', '-c']);
    expect(c.args).toBeUndefined();
    // Nowhere in the Job: not in a command, an argument, an env value or the preStop hook.
    expect(JSON.stringify(job)).not.toContain('do_sys_openat2');
    const mount = c.volumeMounts!.find((m) => PROGRAM_PATH.startsWith(`${m.mountPath}/`))!;
    expect(mount.readOnly).toBe(true);
    const volume = job.spec!.template.spec!.volumes!.find((v) => v.name === mount.name)!;
    expect(volume.configMap?.name).toBe(configMap.metadata!.name);
  });

  it('leaves a "-e" after -- alone: it is a positional parameter there', () => {
    const { configMap } = render({ argv: ['bpftrace', '/opt/x.bt', '--', '-e', 'y'] });
    expect(configMap.data).toEqual({});
    expect(containerOf({ argv: ['bpftrace', '/opt/x.bt', '--', '-e', 'y'] }).command!.slice(5)).toEqual(['bpftrace', '/opt/x.bt', '--', '-e', 'y']);
  });

  it('passes env as the container env list, values untouched', () => {
    expect(containerOf().env).toEqual([
      { name: 'BPFTRACE_PERF_RB_PAGES', value: '1024' },
      { name: '__BPFTRACE_NOTIFY_PROBES_ATTACHED', value: '1' },
    ]);
  });
});

describe('the pod stops the tracer with SIGINT and sees the host', () => {
  it('runs the tracer under timeout --signal INT with the deadline, as an argv (no shell)', () => {
    const c = containerOf();
    expect(c.command!.slice(0, 3)).toEqual(['timeout', '--signal', 'INT']);
    expect(c.command![4]).toBe('30');
    // No shell anywhere in it (the '-c' among the words is the run's own positional parameter).
    expect(c.command!.filter((a) => /(^|\/)(ba|da)?sh$/.test(a))).toEqual([]);
  });

  it('has a preStop hook: a constant script that SIGINTs the container timeout, never PID 1, and waits', () => {
    const pre = containerOf().lifecycle!.preStop!.exec!.command!;
    expect(pre).toEqual(['/bin/sh', '-c', PRESTOP_SCRIPT]);
    expect(PRESTOP_SCRIPT).toContain('kill -INT "$p"');
    expect(PRESTOP_SCRIPT).toContain('while kill -0 "$p"');
    expect(PRESTOP_SCRIPT).not.toMatch(/kill -\w+ 1\b/);
    // The same for every request: no value of a run is ever in the script.
    const other = containerOf({ runId: 'zz', node: 'n2', argv: ['bpftrace', '-e', 'BEGIN { exit(); }'], env: { A: '$(reboot)' } });
    expect(other.lifecycle!.preStop!.exec!.command).toEqual(pre);
  });

  it('gives the tracer its deadline plus the grace period, and the pod the grace period', () => {
    const { job } = render({ deadlineSec: 30, graceSec: 10 });
    expect(job.spec!.activeDeadlineSeconds).toBe(40);
    expect(job.spec!.backoffLimit).toBe(0);
    expect(job.spec!.template.spec!.terminationGracePeriodSeconds).toBe(10);
    expect(render({ deadlineSec: 2.2, graceSec: 0.5 }).job.spec!.activeDeadlineSeconds).toBe(4);
  });

  it('keeps a finished Job 300 s by default, or ttlSec', () => {
    expect(render().job.spec!.ttlSecondsAfterFinished).toBe(300);
    expect(render({ ttlSec: 60 }).job.spec!.ttlSecondsAfterFinished).toBe(60);
  });

  it('pins the pod to the node, in the host PID namespace, privileged, never restarted', () => {
    const pod = podOf();
    expect(pod.nodeName).toBe('kind-worker');
    expect(pod.hostPID).toBe(true);
    expect(pod.restartPolicy).toBe('Never');
    expect(pod.containers[0].securityContext!.privileged).toBe(true);
    const mounts = Object.fromEntries(pod.containers[0].volumeMounts!.map((m) => [m.mountPath, m]));
    const hostPaths = Object.fromEntries(pod.volumes!.filter((v) => v.hostPath).map((v) => [v.name, v.hostPath!.path]));
    expect(hostPaths[mounts['/sys'].name]).toBe('/sys');
    expect(hostPaths[mounts['/lib/modules'].name]).toBe('/lib/modules');
    expect(mounts['/lib/modules'].readOnly).toBe(true);
    expect(hostPaths[mounts['/usr/src'].name]).toBe('/usr/src');
    expect(mounts['/usr/src'].readOnly).toBe(true);
  });
});

describe('names and labels', () => {
  const label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

  it('names the Job and the ConfigMap alike, mcptrace-RUN-NODE, and labels both', () => {
    const { job, configMap } = render();
    expect(job.metadata!.name).toBe('mcptrace-r1-kind-worker');
    expect(configMap.metadata!.name).toBe(job.metadata!.name);
    for (const meta of [job.metadata!, configMap.metadata!, job.spec!.template.metadata!])
      expect(meta.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'mcptrace', 'mcptrace.dev/run': 'r1', 'mcptrace.dev/node': 'kind-worker' });
    expect(job.metadata!.namespace).toBe('mcptrace');
    expect(configMap.metadata!.namespace).toBe('mcptrace');
  });

  it('makes a valid DNS label of a weird node name, distinct from its look-alikes', () => {
    const a = k8sTraceName('r1', 'Node_A.example.com');
    expect(a).toMatch(label);
    expect(a.startsWith('mcptrace-r1-node-a-example-com-')).toBe(true);
    expect(k8sTraceName('r1', 'node-a-example-com')).not.toBe(a);
    expect(render({ node: 'Node_A.example.com' }).job.metadata!.labels!['mcptrace.dev/node']).toBe('Node_A.example.com');
  });

  it('cuts a long name to 63 with a hash, and two long names that share a prefix stay apart', () => {
    const n1 = `node-${'a'.repeat(95)}`;
    const n2 = `node-${'a'.repeat(94)}b`;
    const [x, y] = [k8sTraceName('r1', n1), k8sTraceName('r1', n2)];
    for (const n of [x, y]) {
      expect(n.length).toBeLessThanOrEqual(63);
      expect(n).toMatch(label);
    }
    expect(x).not.toBe(y);
    const nodeLabel = render({ node: n1 }).job.metadata!.labels!['mcptrace.dev/node'];
    expect(nodeLabel.length).toBeLessThanOrEqual(63);
    expect(errorsOf(jobSchema, render({ node: n1 }).job)).toBe('');
  });

  it('leaves a name that is already a label as it is', () => {
    expect(dnsLabel('mcptrace-abc-node1')).toBe('mcptrace-abc-node1');
    expect(dnsLabel('---')).toMatch(label);
  });
});

describe('bad input is refused with what is wrong and how to fix it', () => {
  const refused = (over: Partial<K8sTraceRequest>) => {
    try {
      render(over);
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error(`not refused: ${JSON.stringify(over)}`);
  };

  it('refuses a bad node name, naming kubectl get nodes', () => {
    for (const node of ['', 'a b', 'x/y', 'n'.repeat(254)]) expect(refused({ node })).toMatch(/is not a Kubernetes node name.*kubectl get nodes/);
  });

  it('refuses a bad env name, saying which characters are allowed', () => {
    expect(refused({ env: { 'BAD-NAME': '1' } })).toMatch(/"BAD-NAME" is invalid: use letters, digits and '_', not starting with a digit/);
    expect(refused({ env: { '1X': '1' } })).toMatch(/"1X" is invalid/);
  });

  it('refuses a deadline of 0 or less, saying what it is for', () => {
    for (const deadlineSec of [0, -5, Number.NaN])
      expect(refused({ deadlineSec })).toMatch(/deadlineSec must be a number of seconds above 0 .*how long the tracer may run/);
  });

  it('lists every problem at once, and a bad namespace, image, -e', () => {
    const m = refused({ node: 'a b', env: { 'x-y': '1' }, deadlineSec: 0, namespace: 'Bad_NS', image: ' ', argv: ['bpftrace', '-e'] });
    for (const part of ['node name', '"x-y" is invalid', 'deadlineSec', 'namespace "Bad_NS"', 'image is empty', 'ends with -e']) expect(m).toContain(part);
    expect(refused({ argv: ['bpftrace', '-e', 'a', '-e', 'b'] })).toMatch(/more than one -e/);
  });
});
