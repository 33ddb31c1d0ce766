import { createHash } from 'node:crypto';
import type { V1ConfigMap, V1Job } from '@kubernetes/client-node';

/**
 * A tracer on a Kubernetes node, rendered the way kubectl-trace does it: one Job pinned to the
 * node, its pod privileged in the host's PID namespace, the program in a ConfigMap mounted as a
 * file (never on a command line, where `ps` and the pod spec would show it and its quoting would
 * matter). Pure: plain JSON objects in, plain JSON objects out; k8s-client.ts sends them.
 */

export interface K8sTraceRequest {
  /** The run's id; with the node it names the Job and the ConfigMap. */
  runId: string;
  /** The node's name (metadata.name of the Node). */
  node: string;
  /** The tracer's argv as it would run on the node, e.g. [bpftrace, -f, json, -e, PROGRAM, --, ARG]. */
  argv: string[];
  env: Record<string, string>;
  /** Seconds after which `timeout` in the pod sends the tracer SIGINT by itself. */
  deadlineSec: number;
  /** Seconds the tracer has after a SIGINT (the pod's termination grace period). */
  graceSec: number;
  namespace: string;
  /** An image with the tracer, a POSIX sh and GNU coreutils' timeout (docs/kubernetes.md). */
  image: string;
  /** Seconds a finished Job stays before the cluster deletes it (the backstop: the client deletes it itself). */
  ttlSec?: number;
  labels?: Record<string, string>;
}

export interface K8sTrace {
  configMap: V1ConfigMap;
  job: V1Job;
}

export const K8S_CONTAINER = 'tracer';
export const PROGRAM_DIR = '/mcptrace';
export const PROGRAM_KEY = 'program.bt';
export const PROGRAM_PATH = `${PROGRAM_DIR}/${PROGRAM_KEY}`;
export const MANAGED_BY = 'mcptrace';
export const RUN_LABEL = 'mcptrace.dev/run';
export const NODE_LABEL = 'mcptrace.dev/node';
export const DEFAULT_TTL_SEC = 300;

/**
 * The preStop hook, a constant: no value of the run is in it. Deleting the pod runs it before the
 * kubelet signals anything, and it waits until the tracer has printed its maps and exited.
 *
 * Whom to signal: not PID 1. With hostPID the container shares the host's PID namespace, so
 * PID 1 is the node's init (systemd takes SIGINT as Ctrl-Alt-Del: a reboot). The container's
 * own main process is `timeout`, found as the process named `timeout` in this container's mount
 * namespace (the hook runs in it; the host's and other pods' processes are in others), so other
 * tracers on the node are never touched (kubectl-trace's `pgrep --oldest` can pick another pod's).
 * GNU timeout handles SIGINT by sending it on to its command (coreutils timeout.c, cleanup()),
 * and with --foreground only to the command, once: without it, timeout also sends it to its
 * process group, and bpftrace could get two SIGINTs, the second cutting its maps short.
 */
export const PRESTOP_SCRIPT = [
  'for d in /proc/[0-9]*; do',
  '  [ "$d/ns/mnt" -ef /proc/self/ns/mnt ] || continue',
  '  read -r c 2>/dev/null <"$d/comm" || continue',
  '  [ "$c" = timeout ] || continue',
  '  p=${d#/proc/}',
  '  kill -INT "$p" 2>/dev/null',
  '  while kill -0 "$p" 2>/dev/null; do sleep 1; done',
  'done',
].join('\n');

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// Lenient on purpose: a Node's name is a DNS subdomain, but whether one exists is the API
// server's to say (it answers with the reason); this only keeps out what cannot be a name at all.
const NODE_NAME = /^[A-Za-z0-9._-]+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const shortHash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 8);

/**
 * A DNS-1123 label (what Job and ConfigMap names and the job-name label must be): lowercase
 * [a-z0-9-], at most 63 characters. A name that had to change gets a hash of the original, so
 * `Node_A` and `node-a` never share a Job.
 */
export function dnsLabel(raw: string, max = 63): string {
  const clean = raw
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-+|-+$/g, '');
  if (clean === raw && clean.length <= max && DNS_LABEL.test(clean)) return clean;
  const suffix = shortHash(raw);
  const head = clean.slice(0, max - suffix.length - 1).replace(/-+$/, '');
  return head ? `${head}-${suffix}` : `x-${suffix}`;
}

/** A label value (≤ 63, alphanumeric at both ends): the value itself when it is one. */
export function labelValue(raw: string): string {
  if (raw.length <= 63 && LABEL_VALUE.test(raw)) return raw;
  const clean = raw.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  const suffix = shortHash(raw);
  const head = clean.slice(0, 63 - suffix.length - 1).replace(/[^A-Za-z0-9]+$/, '');
  return head ? `${head}-${suffix}` : suffix;
}

/** The one name of a run's Job and ConfigMap on a node. */
export function k8sTraceName(runId: string, node: string): string {
  return dnsLabel(`mcptrace-${runId}-${node}`);
}

/** Every problem with the request, each with its fix (Error message, one per line). */
export function k8sRequestProblems(req: K8sTraceRequest): string[] {
  const p: string[] = [];
  if (!req.runId) p.push('runId is empty: give every run an id (it names the Job and labels it mcptrace.dev/run)');
  if (!req.node || req.node.length > 253 || !NODE_NAME.test(req.node))
    p.push(`node ${JSON.stringify(req.node)} is not a Kubernetes node name (at most 253 letters, digits, '-' and '.'): use a name from kubectl get nodes`);
  if (!DNS_LABEL.test(req.namespace) || req.namespace.length > 63)
    p.push(
      `namespace ${JSON.stringify(req.namespace)} is not a valid namespace name (lowercase letters, digits and '-', at most 63): see kubectl get namespaces`,
    );
  if (!req.image.trim())
    p.push('image is empty: name an image that has bpftrace, sh and GNU timeout, e.g. quay.io/iovisor/bpftrace:v0.19.1 (MCPTRACE_K8S_IMAGE)');
  if (!(Number.isFinite(req.deadlineSec) && req.deadlineSec > 0))
    p.push(`deadlineSec must be a number of seconds above 0 (got ${req.deadlineSec}): it is how long the tracer may run on the node, e.g. the run's timeout`);
  if (!(Number.isFinite(req.graceSec) && req.graceSec >= 0))
    p.push(`graceSec must be a number of seconds, 0 or more (got ${req.graceSec}): it is how long the tracer has to print its maps after SIGINT`);
  if (req.ttlSec !== undefined && !(Number.isFinite(req.ttlSec) && req.ttlSec >= 0))
    p.push(`ttlSec must be a number of seconds, 0 or more (got ${req.ttlSec}), or left out for ${DEFAULT_TTL_SEC}`);
  if (req.argv.length === 0) p.push('argv is empty: give the tracer command, e.g. [bpftrace, -e, PROGRAM]');
  for (const name of Object.keys(req.env))
    if (!ENV_NAME.test(name)) p.push(`environment variable name ${JSON.stringify(name)} is invalid: use letters, digits and '_', not starting with a digit`);
  for (const [k, v] of Object.entries(req.labels ?? {}))
    if (!LABEL_VALUE.test(v) || v.length > 63)
      p.push(`label ${k}=${JSON.stringify(v)}: a label value is at most 63 letters, digits, '-', '_' or '.', alphanumeric at both ends`);
  const end = req.argv.indexOf('--');
  const options = end < 0 ? req.argv : req.argv.slice(0, end);
  const e = options.filter((a) => a === '-e').length;
  if (e > 1) p.push('argv has more than one -e: bpftrace runs one program');
  if (e === 1 && options.indexOf('-e') === options.length - 1) p.push('argv ends with -e and no program after it');
  return p;
}

/**
 * The program moves from `-e PROGRAM` into the ConfigMap, and its file takes the place of the
 * two words: bpftrace reads `bpftrace [options] FILE [--] [args]`, and its getopt still reads
 * options that follow the file, so the positional parameters keep their order after it.
 */
export function programFromArgv(argv: readonly string[]): { argv: string[]; program?: string } {
  const end = argv.indexOf('--');
  const i = argv.indexOf('-e');
  if (i < 0 || (end >= 0 && i > end)) return { argv: [...argv] };
  return { argv: [...argv.slice(0, i), PROGRAM_PATH, ...argv.slice(i + 2)], program: argv[i + 1] };
}

/** The ConfigMap and the Job of one run on one node. Throws an Error listing every problem with its fix. */
export function renderK8sTrace(req: K8sTraceRequest): K8sTrace {
  const problems = k8sRequestProblems(req);
  if (problems.length) throw new Error(`cannot run on Kubernetes node ${JSON.stringify(req.node)}:\n${problems.map((x) => `- ${x}`).join('\n')}`);
  const name = k8sTraceName(req.runId, req.node);
  // The API's durations are whole seconds; a fraction rounds up, never to less time.
  const deadline = Math.ceil(req.deadlineSec);
  const grace = Math.ceil(req.graceSec);
  const labels: Record<string, string> = {
    ...req.labels,
    'app.kubernetes.io/managed-by': MANAGED_BY,
    [RUN_LABEL]: labelValue(req.runId),
    [NODE_LABEL]: labelValue(req.node),
  };
  const { argv, program } = programFromArgv(req.argv);
  const configMap: V1ConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: req.namespace, labels },
    data: program === undefined ? {} : { [PROGRAM_KEY]: program },
  };
  const hostPath = (volume: string, path: string) => ({ name: volume, hostPath: { path } });
  const job: V1Job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: req.namespace, labels },
    spec: {
      // One try: a tracer that failed fails the same way again, and a retry would trace twice.
      backoffLimit: 0,
      // Counted from the Job's start, image pull included: the run's deadline plus the time its
      // maps need. The Job controller then deletes the pod gracefully (the preStop still runs).
      activeDeadlineSeconds: deadline + grace,
      ttlSecondsAfterFinished: Math.ceil(req.ttlSec ?? DEFAULT_TTL_SEC),
      template: {
        metadata: { labels },
        spec: {
          // Bound to the node without the scheduler, as a node's own tracer must be.
          nodeName: req.node,
          // Tolerate every taint, as kubectl-trace does: a control-plane or a draining node is
          // still a node someone may need to trace (nodeName skips NoSchedule, not NoExecute).
          tolerations: [{ operator: 'Exists' }],
          // The host's processes: pid filters, uprobes on /proc/PID/exe, ustack symbols.
          hostPID: true,
          restartPolicy: 'Never',
          terminationGracePeriodSeconds: grace,
          // The tracer never talks to the API server; no token, no service variables in its env.
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          containers: [
            {
              name: K8S_CONTAINER,
              image: req.image,
              // timeout stops the tracer by itself at the deadline, with SIGINT so its maps print;
              // --foreground: the SIGINT goes to the tracer alone, once (see PRESTOP_SCRIPT).
              command: ['timeout', '--signal', 'INT', '--foreground', String(deadline), ...argv],
              env: Object.entries(req.env).map(([k, v]) => ({ name: k, value: v })),
              securityContext: { privileged: true },
              lifecycle: { preStop: { exec: { command: ['/bin/sh', '-c', PRESTOP_SCRIPT] } } },
              volumeMounts: [
                { name: 'program', mountPath: PROGRAM_DIR, readOnly: true },
                // Writable: kprobe_events and uprobe_events live in tracefs under /sys/kernel, and
                // the runtimes bind hostPath volumes recursively, so debugfs and tracefs come along.
                { name: 'sys', mountPath: '/sys' },
                // Kernel headers, for bpftrace on a kernel without BTF.
                { name: 'modules', mountPath: '/lib/modules', readOnly: true },
                { name: 'usr-src', mountPath: '/usr/src', readOnly: true },
              ],
            },
          ],
          volumes: [
            { name: 'program', configMap: { name, defaultMode: 0o444 } },
            hostPath('sys', '/sys'),
            hostPath('modules', '/lib/modules'),
            hostPath('usr-src', '/usr/src'),
          ],
        },
      },
    },
  };
  return { configMap, job };
}
