import { featuresOf, OLDEST_SUPPORTED, parseVersion } from '../bpftrace/version.js';
import { EnvironmentError, type Preflight, type RemoteTarget } from '../environment.js';
import type { Spawner } from '../spawner.js';
import type { FleetHost } from './inventory.js';
import { startRemote, type SshOptions } from './ssh.js';

/**
 * What a run on another host needs before it starts: that host's bpftrace version (its output is
 * decoded by that version's rules), its kernel's features, and which bcc providers it has; then a
 * Spawner that runs the tracer there through ssh.ts, stopped the way a local one is.
 */

/**
 * Run on the host as `sh -c PROBE_SCRIPT mcptrace-probe BPFTRACE CANDIDATE...`: the script is a
 * constant, the names arrive as positional parameters (base64 on stdin, like every argv). It
 * prints the candidates that exist (`file`), and the tracing packages' files (`pkg`, from dpkg's
 * lists, one grep for all), so parseProbe decides which are tracing tools as isTracingTool does
 * here. One process per line of output would cost a 20-host fleet seconds of its hosts' CPU.
 */
export const PROBE_SCRIPT = [
  'b=$1; shift',
  'echo "kernel $(uname -r)"',
  'if command -v "$b" >/dev/null 2>&1; then echo "version $("$b" --version 2>&1 | head -n 1)"; else echo "missing $b"; fi',
  '[ -e /sys/bus/event_source/devices/kprobe ] && echo "kprobes"',
  '[ -e /sys/kernel/btf/vmlinux ] && echo "btf"',
  '[ -e /sys/kernel/tracing/available_filter_functions ] && echo "ftrace"',
  'for f; do [ -e "$f" ] && echo "file $f"; done',
  'cat /var/lib/dpkg/info/libbpf-tools.list /var/lib/dpkg/info/bpfcc-tools.list /var/lib/dpkg/info/bpftrace.list 2>/dev/null | sed -n "s|^/usr/s|pkg /usr/s|p"',
  'exit 0',
].join('\n');

/** Where bcc's tools live: a file there is a tracing tool whoever installed it. */
const BCC_TOOLS_DIR = '/usr/share/bcc/tools/';

/** What the host's probe printed, read. */
export function parseProbe(host: string, out: string): RemoteTarget & { missing?: string } {
  const lines = out.split('\n');
  const value = (k: string) =>
    lines
      .find((l) => l.startsWith(`${k} `))
      ?.slice(k.length + 1)
      .trim();
  const has = (k: string) => lines.includes(k);
  const btf = has('btf');
  const files = new Set(lines.filter((l) => l.startsWith('file ')).map((l) => l.slice(5)));
  const packaged = new Set(lines.filter((l) => l.startsWith('pkg ')).map((l) => l.slice(4)));
  return {
    host,
    kernel: value('kernel') ?? 'unknown',
    bpftraceVersion: value('version') ?? '',
    missing: value('missing'),
    kernelFeatures: { kprobes: has('kprobes'), btf, kfunc: btf && has('ftrace') && has('kprobes') },
    files,
    tools: new Set([...files].filter((f) => packaged.has(f) || f.startsWith(BCC_TOOLS_DIR))),
  };
}

/** ssh's own failures (exit 255), in the words a person acts on. */
export function sshFailure(host: FleetHost, stderr: string): { problem: string; fix: string } {
  const line =
    stderr
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('Warning: Permanently added'))
      .pop() ?? 'ssh failed without a message';
  const where = `${host.user ? `${host.user}@` : ''}${host.address}${host.port ? `:${host.port}` : ''}`;
  const fix = /Host key verification failed|REMOTE HOST IDENTIFICATION/.test(stderr)
    ? `check the host's key and add it to your known_hosts (ssh-keyscan -p ${host.port ?? 22} ${host.address}, verified out of band); mcptrace never accepts unknown host keys`
    : /Permission denied/.test(stderr)
      ? `make key authentication work without a prompt (BatchMode): ssh -o BatchMode=yes ${where} true must succeed; set ansible_user and ansible_ssh_private_key_file in the inventory`
      : /Could not resolve|Name or service not known/.test(stderr)
        ? `check the host's name, or set ansible_host to its address in the inventory`
        : `check that the host is up and sshd listens on port ${host.port ?? 22}: ssh -o BatchMode=yes ${where} true`;
  return { problem: `unreachable over SSH (${where}): ${line}`, fix };
}

export interface ProbeOptions extends SshOptions {
  /** Candidate paths of bcc providers to look for on the host. */
  candidates: readonly string[];
  /** Seconds the whole probe may take, connection included. */
  timeoutSec: number;
}

/**
 * The Preflight of a run on `host`: one ssh round trip (which also opens the master connection
 * the run then reuses). Throws EnvironmentError with the host's reason and the fix.
 */
export async function remotePreflight(host: FleetHost, o: ProbeOptions): Promise<Preflight> {
  const bpftrace = String(host.vars.mcptrace_bpftrace ?? 'bpftrace');
  const run = startRemote(host, { argv: ['sh', '-c', PROBE_SCRIPT, 'mcptrace-probe', bpftrace, ...o.candidates], deadlineSec: o.timeoutSec, graceSec: 1 }, o);
  let out = '';
  let err = '';
  run.child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  run.child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const timer = setTimeout(() => run.child.kill('SIGKILL'), (o.timeoutSec + 2) * 1000);
  const { exitCode: code, signal, spawnError } = await run.exit;
  clearTimeout(timer);
  if (spawnError) throw new EnvironmentError(`cannot start ssh: ${spawnError.message}`, 'install the OpenSSH client: apt-get install -y openssh-client');
  if (code === 255 || signal) {
    const f = signal
      ? { problem: `${host.name} did not answer within ${o.timeoutSec} s`, fix: 'check the host and the network, or raise ConnectTimeout' }
      : sshFailure(host, err);
    throw new EnvironmentError(f.problem, f.fix);
  }
  if (code !== 0)
    throw new EnvironmentError(
      `probing ${host.name} failed (exit ${code}): ${err.trim().split('\n').pop() ?? ''}`,
      'run: ssh HOST sh -c true, and check that the host has a POSIX sh, base64 and uname',
    );
  const target = parseProbe(host.name, out);
  if (target.missing !== undefined)
    throw new EnvironmentError(
      `bpftrace is not installed on ${host.name} (${target.missing} is not in its PATH)`,
      `install it there (apt-get install -y bpftrace), or set the host variable mcptrace_bpftrace to its path in the inventory`,
    );
  const version = parseVersion(target.bpftraceVersion);
  if (!version)
    throw new EnvironmentError(
      `${bpftrace} on ${host.name} does not answer like bpftrace: "${target.bpftraceVersion}"`,
      'set the host variable mcptrace_bpftrace to the path of bpftrace there',
    );
  const { missing: _, ...remote } = target;
  return {
    bpftrace,
    // Ansible's become: the remote user's passwordless sudo (never a password).
    privilegePrefix: isTrue(host.vars.ansible_become) ? ['sudo', '-n', '--'] : [],
    features: featuresOf(version ?? OLDEST_SUPPORTED),
    remote,
  };
}

const isTrue = (v: unknown) => v === true || (typeof v === 'string' && /^(true|yes|1)$/i.test(v));

/**
 * A Spawner that runs the tracer on `host`. The lifecycle's SIGINT becomes one line on stdin (the
 * host sends its tracer SIGINT, and the lifecycle may ask again, as bpftrace 0.17 needs); its
 * SIGKILL kills ssh, so the host sees EOF and kills the tracer at once.
 */
export function sshSpawner(host: FleetHost, o: SshOptions, timing: { deadlineSec: number; graceSec: number }): Spawner {
  return {
    async spawn(argv, env) {
      const run = startRemote(host, { argv, env, ...timing }, o);
      return {
        pid: run.child.pid,
        stdout: run.child.stdout,
        stderr: run.child.stderr,
        kill: (s) => (s === 'SIGINT' ? run.interrupt() : void run.child.kill(s)),
        exit: run.exit,
      };
    },
  };
}
