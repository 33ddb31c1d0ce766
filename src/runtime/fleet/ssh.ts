import { startChild, type PipedChild, type ProcessExit } from '../spawner.js';
import type { FleetHost } from './inventory.js';

/**
 * Running a tracer on another host with the system's OpenSSH client, with nothing of mcptrace
 * installed there. SSH hands the remote side one command string for its shell, so that string is
 * a constant (REMOTE_SCRIPT below): no value of the call ever becomes shell text. The tracer's
 * argv, its deadline and its grace period travel on stdin, one base64 word per line, and stdin
 * then stays open as the lifeline: closing it is how a run is stopped (the script sends the
 * tracer SIGINT, so its maps print and come back over the same connection), and a connection
 * that drops closes it too, so no remote tracer lingers. A deadline on the remote side stops the
 * tracer even when the connection is cut without the remote sshd noticing.
 */

/** The first line on stdin: the protocol, so a mismatched script fails loudly (exit 90). */
export const REMOTE_MAGIC = 'mcptrace-run 2';

/** Exit codes the script uses for its own failures; anything else is the tracer's. */
export const REMOTE_EXIT = { badRequest: 90, badEncoding: 91, notFound: 127 } as const;

/**
 * POSIX sh, no bashisms (Debian's dash runs it). fd 3 keeps stdin for the lifeline: an
 * asynchronous list in a non-interactive shell gets /dev/null as its stdin otherwise. SIGINT is
 * ignored in asynchronous lists, but bpftrace and the libbpf-tools install their own handler.
 *
 * After the request, each line on stdin asks for one SIGINT (bpftrace 0.17 loses some, and the
 * local lifecycle decides when to send another, as it does for a local tracer). EOF means the
 * server is gone or gave up: SIGKILL at once if a SIGINT was already sent (the grace is over),
 * else SIGINT each second until the tracer is gone, and SIGKILL after the grace. Environment
 * words must be NAME=VALUE with a plain name, or the request is refused.
 */
export const REMOTE_SCRIPT = [
  'exec 3<&0',
  'IFS= read -r m <&3 || exit 90',
  `[ "$m" = "${REMOTE_MAGIC}" ] || exit 90`,
  'IFS= read -r d <&3 && IFS= read -r g <&3 && IFS= read -r n <&3 && IFS= read -r e <&3 || exit 90',
  'case "$d$g$n$e" in *[!0-9]*|"") exit 90;; esac',
  'set --',
  // A word is "=WORD" when it holds only characters no shell or terminal reads specially (a
  // path, an option: read as is, no process), else "bWORD" in base64 (decoded by base64 -d).
  'w() { case "$1" in =*) v=${1#=};; b*) v=$(printf "%s" "${1#b}" | base64 -d && printf .) || exit 91; v=${v%.};; *) exit 90;; esac; }',
  'while [ "$n" -gt 0 ]; do',
  '  IFS= read -r x <&3 || exit 90',
  '  w "$x"',
  '  set -- "$@" "$v"',
  '  n=$((n-1))',
  'done',
  'while [ "$e" -gt 0 ]; do',
  '  IFS= read -r x <&3 || exit 90',
  '  w "$x"',
  '  k=${v%%=*}',
  '  case "$k" in ""|[0-9]*|*[!A-Za-z0-9_]*) exit 90;; esac',
  '  [ "$k" != "$v" ] || exit 90',
  '  export "$v"',
  '  e=$((e-1))',
  'done',
  'command -v "$1" >/dev/null 2>&1 || { echo "mcptrace: $1 is not installed on $(hostname)" >&2; exit 127; }',
  '"$@" </dev/null 3<&- &',
  'p=$!',
  // The deadline watcher stops the tracer its way: SIGINT (the maps print), SIGKILL after the
  // grace. Its sleep is killed with it (the trap), so nothing of ours outlives the run. 0: none.
  't=',
  'if [ "$d" -gt 0 ]; then',
  '  ( trap "kill \\$c 2>/dev/null; exit 0" TERM; sleep "$d" & c=$!; wait $c; kill -INT "$p" 2>/dev/null; sleep "$g" & c=$!; wait $c; kill -KILL "$p" 2>/dev/null ) </dev/null >/dev/null 2>&1 3<&- &',
  '  t=$!',
  'fi',
  // On EOF nobody reads the maps any more: SIGINT each second (bpftrace 0.17 loses some, and a
  // second one only cuts maps nobody will see), SIGKILL after the grace.
  '( s=0; while IFS= read -r c <&3; do kill -INT "$p" 2>/dev/null; s=1; done; if [ "$s" = 0 ]; then i=0; while [ "$i" -lt "$g" ] && kill -INT "$p" 2>/dev/null; do sleep 1; i=$((i+1)); done; fi; kill -KILL "$p" 2>/dev/null ) </dev/null >/dev/null 2>&1 &',
  'l=$!',
  'exec 3<&-',
  'wait "$p"; rc=$?',
  // The lifeline watcher may sit in a read, which a trapped signal need not interrupt: SIGKILL.
  '[ -z "$t" ] || kill "$t" 2>/dev/null',
  'kill -KILL "$l" 2>/dev/null',
  'exit "$rc"',
].join('\n');

export interface RemoteRequest {
  argv: readonly string[];
  /** Environment for the tracer (NAME=VALUE), set by the script, never written as shell text. */
  env?: Readonly<Record<string, string>>;
  /** Seconds after which the remote side stops the tracer by itself; 0: never (a terminal run). */
  deadlineSec: number;
  /** Seconds between that SIGINT (or the lifeline's) and SIGKILL. */
  graceSec: number;
}

/**
 * Words sent as they are: paths, options, numbers, NAME=VALUE. Decoding each word costs the host
 * two processes, which for a probe's hundreds of candidate paths on 20 hosts was seconds of CPU
 * (measured: 8.6 s for a cold 20-host probe on this machine's 2 cores, against 2 s with none).
 */
const PLAIN_WORD = /^[A-Za-z0-9_./:=@%+,-]*$/;

/** What the run writes on the ssh process's stdin before it holds it open as the lifeline. */
export function encodeRequest(r: RemoteRequest): string {
  const word = (a: string) => (PLAIN_WORD.test(a) ? `=${a}` : `b${Buffer.from(a, 'utf8').toString('base64')}`);
  const words = r.argv.map(word);
  const env = Object.entries(r.env ?? {}).map(([k, v]) => word(`${k}=${v}`));
  const secs = (x: number) => String(Number.isFinite(x) ? Math.max(0, Math.ceil(x)) : 0);
  return [REMOTE_MAGIC, secs(r.deadlineSec), secs(r.graceSec), String(words.length), String(env.length), ...words, ...env, ''].join('\n');
}

export interface SshOptions {
  /** Directory for ControlMaster sockets (the user's, mode 0700). */
  controlDir: string;
  connectTimeoutSec?: number;
  /** The ssh binary; tests may point it elsewhere. */
  ssh?: string;
}

/**
 * The local argv: BatchMode (never a password prompt), the user's own known_hosts and keys, one
 * master connection per host reused by every run (ControlMaster), keep-alives so a dead peer is
 * noticed in 15 s. `--` ends ssh's options: the address can never be read as one.
 */
export function sshArgv(host: FleetHost, o: SshOptions): string[] {
  return [
    o.ssh ?? 'ssh',
    '-T',
    '-o',
    'BatchMode=yes',
    '-o',
    'ControlMaster=auto',
    '-o',
    `ControlPath=${o.controlDir}/%C`,
    '-o',
    'ControlPersist=60',
    '-o',
    `ConnectTimeout=${o.connectTimeoutSec ?? 10}`,
    '-o',
    'ServerAliveInterval=5',
    '-o',
    'ServerAliveCountMax=3',
    ...(host.port ? ['-p', String(host.port)] : []),
    ...(host.user ? ['-l', host.user] : []),
    ...(host.identityFile ? ['-i', host.identityFile, '-o', 'IdentitiesOnly=yes'] : []),
    ...(host.sshArgs ?? []),
    '--',
    host.address,
    `sh -c '${REMOTE_SCRIPT}'`,
  ];
}

export interface RemoteRun {
  child: PipedChild;
  /** Asks the host for one SIGINT to the tracer (its maps come back over the connection). */
  interrupt(): void;
  /** Closes the lifeline: the host stops the tracer by itself (SIGINT, then SIGKILL after the grace). */
  stop(): void;
  /** The ssh exit (255: ssh itself failed; 90/91: the request; else the tracer's); never rejects. */
  exit: Promise<ProcessExit>;
}

/**
 * Starts `req.argv` on `host`: the request goes on stdin, which then stays open as the lifeline.
 * ssh runs under the parent-death signal as a local tracer does (startChild), so the host sees
 * the connection close when the server dies, however it dies, and stops its tracer.
 */
export function startRemote(host: FleetHost, req: RemoteRequest, o: SshOptions): RemoteRun {
  const { child, exit } = startChild(sshArgv(host, o), { stdin: 'pipe' });
  const stdin = child.stdin!;
  stdin.write(encodeRequest(req));
  return {
    child,
    interrupt: () => void (stdin.writable && stdin.write('i\n')),
    stop: () => stdin.end(),
    exit,
  };
}
