import { KERNEL_CONCEPTS, type Concept } from './concepts-kernel.js';

export type { Concept };

/**
 * Tracing concepts: how people say what they want ("my app is slow writing files", "the box
 * feels sluggish") mapped to the words tracing programs are written in (vfs_write, hist,
 * nsecs, block, bio). A query is expanded with the terms of every concept it triggers, and
 * each example is indexed with the concepts its own text triggers, so the two meet on intent
 * rather than on wording. Triggers are matched on stemmed words (stem() below); a trigger of
 * several words matches those words in sequence.
 */
export const CONCEPTS: readonly Concept[] = [
  {
    name: 'latency',
    triggers: [
      'jitter',
      'spike',
      'spikes',
      'stutter',
      'hiccup',
      'lagging',
      'takes ages',
      'glitch',
      'slow',
      'slowly',
      'slower',
      'slowness',
      'sluggish',
      'lag',
      'laggy',
      'latency',
      'latencies',
      'delay',
      'delayed',
      'stall',
      'stalled',
      'hang',
      'hung',
      'freeze',
      'frozen',
      'long',
      'take long',
      'take forever',
      'takes',
      'duration',
      'responsive',
      'unresponsive',
      'response time',
      'tail',
      'p99',
      'percentile',
      'how long',
      'wait time',
      'time spent',
      'crawl',
      'snappy',
      'speed',
    ],
    terms: ['latency', 'hist', 'histogram', 'nsecs', 'duration', 'time'],
  },
  {
    name: 'disk',
    triggers: [
      'disk',
      'drive',
      'ssd',
      'nvme',
      'hdd',
      'storage',
      'iops',
      'block',
      'bio',
      'sector',
      'io',
      'i/o',
      'device',
      'scsi',
      'sata',
      'raid',
      'queue depth',
      'iowait',
      'spindle',
      'volume',
      'iostat',
      'vda',
      'vdb',
      'sda',
      'sdb',
      'xvda',
      'nvme0n1',
      'mmcblk0',
    ],
    terms: ['block', 'bio', 'rq', 'request', 'disk', 'device', 'io', 'issue', 'complete'],
    probes: [
      'tracepoint:block:block_rq_issue',
      'tracepoint:block:block_rq_complete',
      'tracepoint:block:block_io_start',
      'tracepoint:block:block_bio_queue',
      'tracepoint:block:block_rq_insert',
    ],
    probeWeight: 0.4,
  },
  {
    name: 'files',
    triggers: ['file', 'filesystem', 'fs', 'vfs', 'directory', 'folder', 'path', 'filename', 'log file', 'config file', 'document', 'inode'],
    terms: ['vfs', 'file', 'filename', 'open', 'ext4', 'xfs', 'filesystem'],
  },
  {
    name: 'write',
    triggers: ['write', 'writing', 'wrote', 'written', 'save', 'saving', 'flush', 'persist', 'fsync', 'sync', 'append', 'log'],
    terms: ['write', 'vfs_write', 'fsync', 'written'],
    probes: [
      'tracepoint:syscalls:sys_enter_write',
      'tracepoint:syscalls:sys_exit_write',
      'tracepoint:syscalls:sys_enter_pwrite64',
      'tracepoint:syscalls:sys_enter_writev',
      'kprobe:vfs_write',
    ],
    probeWeight: 0.5,
  },
  {
    name: 'read',
    triggers: ['read', 'reading', 'load', 'loading', 'cache miss', 'page cache'],
    terms: ['read', 'vfs_read'],
    probes: ['tracepoint:syscalls:sys_enter_read', 'tracepoint:syscalls:sys_exit_read', 'tracepoint:syscalls:sys_enter_pread64', 'kprobe:vfs_read'],
    probeWeight: 0.5,
  },
  {
    name: 'open',
    triggers: ['open', 'opening', 'access', 'accessing', 'touch', 'touching', 'use file', 'using file', 'who is using', 'lookup path', 'stat'],
    terms: ['open', 'openat', 'filename', 'path'],
    probes: [
      'tracepoint:syscalls:sys_enter_openat',
      'tracepoint:syscalls:sys_exit_openat',
      'tracepoint:syscalls:sys_enter_open',
      'tracepoint:syscalls:sys_enter_openat2',
    ],
    probeWeight: 0.6,
  },
  {
    name: 'network',
    triggers: [
      'network',
      'net',
      'networking',
      'internet',
      'packet',
      'traffic',
      'bandwidth',
      'socket',
      'port',
      'nic',
      'ethernet',
      'remote',
      'peer',
      'http',
      'ip',
      'ipv4',
      'ipv6',
      'tcp',
      'udp',
    ],
    terms: ['tcp', 'udp', 'sock', 'socket', 'skb', 'net', 'network'],
  },
  {
    name: 'connect',
    triggers: [
      'connect',
      'connection',
      'connecting',
      'refused',
      'reset',
      'handshake',
      'dial',
      'accept',
      'accepted',
      'incoming',
      'outgoing',
      'establish',
      'established',
      'session',
      'listen',
      'listening',
      'syn',
      'backlog',
      'econnrefused',
      'econnreset',
    ],
    terms: ['tcp', 'connect', 'accept', 'state', 'inet_sock_set_state', 'syn', 'connection'],
  },
  {
    name: 'failure',
    triggers: [
      'fail',
      'failing',
      'failed',
      'failure',
      'error',
      'errno',
      'refused',
      'denied',
      'reject',
      'rejected',
      'broken',
      'drop',
      'dropped',
      'cannot',
      "can't",
      'unable',
      'wrong',
      'timeout',
      'timed out',
      'enoent',
      'eacces',
      'eperm',
      'eagain',
      'econnrefused',
      'econnreset',
      'etimedout',
      'ehostunreach',
      'enetunreach',
      'unsuccessful',
    ],
    terms: ['error', 'fail', 'failed', 'errno', 'ret', 'drop'],
  },
  {
    name: 'retransmit',
    triggers: ['retransmit', 'retransmission', 'packet loss', 'loss', 'lossy', 'flaky', 'unreliable', 'resend', 'drop packet'],
    terms: ['retransmit', 'tcp_retransmit_skb', 'drop', 'loss'],
    probes: ['tracepoint:tcp:tcp_retransmit_skb', 'tracepoint:tcp:tcp_retransmit_synack', 'tracepoint:skb:kfree_skb', 'kprobe:tcp_retransmit_skb'],
  },
  {
    name: 'dns',
    triggers: [
      'dns',
      'resolve',
      'resolver',
      'resolving',
      'resolution',
      'hostname',
      'host name',
      'domain',
      'getaddrinfo',
      'gethostbyname',
      'name lookup',
      'nameserver',
      'nslookup',
    ],
    terms: ['dns', 'getaddrinfo', 'gethostbyname', 'resolve', 'lookup', 'hostname'],
    probes: ['uprobe:@libc:getaddrinfo', 'uretprobe:@libc:getaddrinfo', 'uprobe:@libc:gethostbyname', 'uprobe:@libc:gai_strerror'],
  },
  {
    name: 'tls',
    triggers: [
      'tls',
      'ssl',
      'https',
      'openssl',
      'gnutls',
      'encrypt',
      'encrypted',
      'encryption',
      'certificate',
      'decrypt',
      'plaintext',
      'cipher',
      'nss',
      'boringssl',
    ],
    terms: ['ssl', 'tls', 'openssl', 'ssl_write', 'ssl_read', 'uprobe', 'handshake'],
    probes: [
      'uprobe:@libssl:SSL_write',
      'uprobe:@libssl:SSL_read',
      'uretprobe:@libssl:SSL_read',
      'uprobe:@libssl:SSL_do_handshake',
      'uprobe:@libgnutls:gnutls_record_send',
      'uprobe:@libgnutls:gnutls_record_recv',
      'uprobe:@libgnutls:gnutls_handshake',
    ],
  },
  {
    name: 'cpu',
    triggers: [
      'cpu',
      'processor',
      'core',
      'compute',
      'hot',
      'hog',
      'hogging',
      'busy',
      'usage',
      'utilization',
      'spinning',
      'burn',
      'burning',
      'load average',
      'high load',
      'fan',
      'on cpu',
      'oncpu',
      'cycles',
    ],
    terms: ['cpu', 'profile', 'stack', 'sample', 'oncpu'],
  },
  {
    name: 'profile',
    triggers: [
      'profile',
      'profiling',
      'profiler',
      'flame',
      'flamegraph',
      'hotspot',
      'hottest',
      'where time',
      'sample',
      'sampling',
      'stack',
      'stacks',
      'backtrace',
      'call graph',
      'code path',
    ],
    terms: ['profile', 'stack', 'kstack', 'ustack', 'sample', 'hz'],
  },
  {
    name: 'scheduler',
    triggers: [
      'schedule',
      'scheduler',
      'scheduling',
      'sched',
      'run queue',
      'runqueue',
      'runq',
      'context switch',
      'switch',
      'preempt',
      'preempted',
      'preemption',
      'starve',
      'starved',
      'starvation',
      'wakeup',
      'wake',
      'waiting for cpu',
      'steal',
      'migrate',
      'migration',
      'thread',
      'nice',
      'priority',
    ],
    terms: ['sched', 'runqueue', 'sched_switch', 'sched_wakeup', 'runqlat', 'offcpu', 'switch', 'wakeup'],
  },
  {
    name: 'offcpu',
    triggers: ['blocked', 'blocking', 'sleep', 'sleeping', 'off cpu', 'offcpu', 'waiting', 'idle', 'stuck', 'asleep'],
    terms: ['offcpu', 'sched_switch', 'sleep', 'block', 'wakeup'],
  },
  {
    name: 'process',
    triggers: ['process', 'program', 'app', 'application', 'binary', 'command', 'task', 'daemon', 'service', 'job', 'pid', 'comm'],
    terms: ['process', 'comm', 'pid'],
  },
  {
    name: 'exec',
    triggers: [
      'exec',
      'execute',
      'executed',
      'execution',
      'spawn',
      'spawned',
      'spawning',
      'launch',
      'launched',
      'start',
      'started',
      'starting',
      'new process',
      'fork',
      'forked',
      'child',
      'children',
      'short lived',
      'short-lived',
      'cron',
      'script',
      'shell',
      'command line',
      'argv',
      'command & run',
      'commands & run',
    ],
    terms: ['exec', 'execve', 'fork', 'clone', 'sched_process_exec', 'sched_process_fork', 'argv'],
    probes: [
      'tracepoint:sched:sched_process_exec',
      'tracepoint:syscalls:sys_enter_execve',
      'tracepoint:syscalls:sys_enter_execveat',
      'tracepoint:sched:sched_process_fork',
    ],
    probeWeight: 0.5,
  },
  {
    name: 'exit',
    triggers: [
      'restart',
      'restarts',
      'restarting',
      'respawn',
      'crash loop',
      'crashloop',
      'keeps dying',
      'exit',
      'exited',
      'die',
      'died',
      'dying',
      'crash',
      'crashed',
      'crashing',
      'terminate',
      'terminated',
      'quit',
      'lifetime',
      'lifespan',
      'end',
      'ended',
      'zombie',
    ],
    terms: ['exit', 'sched_process_exit', 'signal', 'lifetime'],
  },
  {
    name: 'signal',
    triggers: [
      'signal',
      'kill',
      'killed',
      'killing',
      'sigkill',
      'sigterm',
      'sigsegv',
      'segfault',
      'sighup',
      'sigint',
      'sigpipe',
      'sigchld',
      'sigusr1',
      'sigusr2',
      'sigabrt',
      'sigbus',
      'sigstop',
      'sigcont',
      'broken pipe',
      'epipe',
      'silently',
      'core dump',
      'coredump',
      'who killed',
    ],
    terms: ['signal', 'kill', 'signal_generate', 'signal_deliver', 'sig'],
    probes: [
      'tracepoint:signal:signal_generate',
      'tracepoint:signal:signal_deliver',
      'tracepoint:syscalls:sys_enter_kill',
      'tracepoint:syscalls:sys_enter_tgkill',
      'tracepoint:sched:sched_process_exit',
    ],
  },
  {
    name: 'syscall',
    triggers: ['syscall', 'system call', 'sys call', 'kernel call', 'raw syscall', 'strace', 'errno'],
    terms: ['syscall', 'syscalls', 'raw_syscalls', 'sys_enter', 'sys_exit'],
    probes: ['tracepoint:raw_syscalls:sys_enter', 'tracepoint:raw_syscalls:sys_exit'],
    probeWeight: 0.8,
  },
  {
    name: 'memory',
    triggers: [
      'memory',
      'ram',
      'mem',
      'alloc',
      'allocation',
      'allocate',
      'allocating',
      'malloc',
      'free',
      'leak',
      'leaking',
      'rss',
      'heap',
      'oom',
      'out of memory',
      'swap',
      'swapping',
      'mmap',
      'brk',
      'kmalloc',
      'slab',
      'reclaim',
      'compaction',
      'hugepage',
      'numa',
    ],
    terms: ['memory', 'page', 'fault', 'kmalloc', 'malloc', 'mmap', 'brk', 'oom', 'alloc', 'kmem'],
  },
  {
    name: 'pagefault',
    triggers: ['page fault', 'fault', 'faults', 'page in', 'page out', 'major fault', 'minor fault', 'page in', 'thrash', 'thrashing'],
    terms: ['page_fault', 'fault', 'page', 'exceptions'],
    probes: [
      'tracepoint:exceptions:page_fault_user',
      'tracepoint:exceptions:page_fault_kernel',
      'tracepoint:filemap:mm_filemap_fault',
      'software:page-faults:*',
    ],
  },
  {
    name: 'locks',
    triggers: [
      'lock',
      'locks',
      'locking',
      'mutex',
      'futex',
      'contention',
      'contended',
      'deadlock',
      'spinlock',
      'semaphore',
      'rwlock',
      'pthread',
      'synchronization',
      'lock wait',
      'flock',
      'fcntl',
      'lockf',
      'file lock',
      'advisory lock',
    ],
    terms: ['lock', 'futex', 'mutex', 'contention', 'contend'],
  },
  {
    // A database's symptoms are about durable writes: commits, checkpoints and the WAL wait on fsync.
    name: 'database',
    triggers: [
      'database',
      'db',
      'postgres',
      'postgresql',
      'mysql',
      'mariadb',
      'sqlite',
      'mongodb',
      'commit',
      'commits',
      'transaction',
      'checkpoint',
      'wal',
      'write ahead log',
    ],
    terms: ['fsync', 'fdatasync', 'sync', 'write', 'durability', 'database'],
    probes: [
      'tracepoint:syscalls:sys_enter_fsync',
      'tracepoint:syscalls:sys_exit_fsync',
      'tracepoint:syscalls:sys_enter_fdatasync',
      'tracepoint:ext4:ext4_sync_file_enter',
      'tracepoint:xfs:xfs_file_fsync',
    ],
    probeWeight: 0.7,
  },
  {
    name: 'delete',
    triggers: [
      'delete',
      'deleted',
      'deleting',
      'remove',
      'removed',
      'removing',
      'unlink',
      'rename',
      'renamed',
      'disappear',
      'disappeared',
      'vanish',
      'vanished',
      'erase',
      'wipe',
      'wiped',
      'rm',
      'overwritten',
      'replaced',
      'rotate',
      'rotated',
    ],
    terms: ['unlink', 'unlinkat', 'rename', 'renameat', 'delete'],
  },
  {
    name: 'space',
    triggers: ['disk full', 'filling', 'fill up', 'fills up', 'free space', 'disk space', 'enospc', 'no space', 'growing file', 'log grows', 'quota'],
    terms: ['write', 'bytes', 'written', 'throughput'],
  },
  {
    name: 'kthreads',
    triggers: ['kworker', 'kthread', 'kernel thread', 'kernel threads', 'workqueue', 'ksoftirqd', 'kswapd', 'background kernel'],
    terms: ['workqueue', 'kworker', 'work', 'kernel'],
  },
  {
    name: 'timers',
    triggers: [
      'timer',
      'timers',
      'timeout',
      'nanosleep',
      'alarm',
      'tick',
      'hrtimer',
      'interval',
      'periodic',
      'wakeups',
      'clock',
      'timerfd',
      'jiffies',
      'expire',
      'expiry',
    ],
    terms: ['timer', 'hrtimer', 'nanosleep', 'timer_start', 'expire', 'hrtimer_expire_entry'],
  },
  {
    name: 'security',
    triggers: [
      'security',
      'capability',
      'capabilities',
      'privilege',
      'privileged',
      'setuid',
      'setgid',
      'suid',
      'root',
      'sudo',
      'permission',
      'audit',
      'suspicious',
      'escalation',
      'escalate',
      'attacker',
      'intrusion',
      'malicious',
      'credential',
      'uid',
      'become root',
      'ptrace',
      'module load',
      'insmod',
    ],
    terms: ['capable', 'cap', 'capability', 'setuid', 'security', 'privilege', 'cred', 'uid', 'audit'],
  },
  {
    name: 'containers',
    triggers: [
      'container',
      'containers',
      'docker',
      'kubernetes',
      'k8s',
      'pod',
      'pods',
      'cgroup',
      'cgroups',
      'namespace',
      'namespaces',
      'podman',
      'containerd',
      'lxc',
      'runc',
    ],
    terms: ['cgroup', 'container', 'namespace', 'cgroupid'],
  },
  {
    name: 'userspace',
    triggers: [
      'function',
      'functions',
      'uprobe',
      'uprobes',
      'library',
      'libc',
      'method',
      'symbol',
      'user space',
      'userspace',
      'usdt',
      'probe point',
      'my code',
      'my function',
      'shared library',
      'readline',
      'bash',
      'python',
      'java',
      'node',
      'golang',
      'ruby',
    ],
    terms: ['uprobe', 'uretprobe', 'usdt', 'function', 'ustack', 'libc'],
  },
  ...KERNEL_CONCEPTS,
  {
    name: 'who',
    triggers: [
      'who',
      'which process',
      'what process',
      'which program',
      'culprit',
      'responsible',
      'guilty',
      'offender',
      'by process',
      'per process',
      'noisy neighbor',
      'whom',
    ],
    terms: ['comm', 'pid', 'process', 'who'],
  },
  {
    name: 'count',
    triggers: [
      'how often',
      'how many',
      'count',
      'counting',
      'frequency',
      'rate',
      'most',
      'busiest',
      'top',
      'number of',
      'per second',
      'tally',
      'summary',
      'summarize',
      'statistics',
      'stats',
    ],
    terms: ['count', 'frequency', 'rate', 'top', 'summary'],
  },
  {
    name: 'size',
    triggers: ['size', 'bytes', 'big', 'large', 'huge', 'throughput', 'amount', 'how much', 'mb', 'gb', 'kb', 'payload'],
    terms: ['bytes', 'size', 'hist', 'throughput'],
  },
  {
    name: 'filesystems',
    triggers: ['ext4', 'xfs', 'btrfs', 'journal', 'journaling', 'nfs', 'overlayfs', 'tmpfs', 'mount', 'mounted', 'fsync', 'filesystem'],
    terms: ['ext4', 'xfs', 'filesystem', 'journal', 'mount'],
  },
  {
    name: 'interrupts',
    triggers: ['irq', 'interrupt', 'interrupts', 'softirq', 'hardirq', 'napi', 'ksoftirqd'],
    terms: ['irq', 'softirq', 'hardirq', 'interrupt'],
  },
];

/**
 * Words that name what any trace is about (a process, a program): they say nothing of which
 * event, so beside a more specific word they count little ("process name changes" is about
 * renames, not sched_process_*).
 */
export const GENERIC_WORDS = new Set(
  'process processes program programs app apps application applications binary binaries task tasks thing things system machine box server service daemon happen happens happening event events'.split(
    ' ',
  ),
);

/** Words with no meaning for search. Concept triggers are matched before these are dropped. */
export const STOP_WORDS = new Set(
  (
    'a an and any are as at be been being but by can could did do does doing done for from get gets got had has have having he her his ' +
    'i if in into is it its just me more my myself of on or our out over own please she should show so some something such than that the ' +
    'their them then there these they this those through to too under up us very was we were what when where which why will with would ' +
    'you your want wants need needs like know tell find see trace tracing watch monitor look figure understand going seems seem feel ' +
    'feels lately today right now also really keep keeps kind sort way'
  ).split(' '),
);

/**
 * A light English stemmer: enough that "writing", "writes" and "write" meet, without a
 * dependency. Probe names (with "_") are left as they are.
 */
// Words whose regular stem would merge two concepts: "blocked" (waiting) is not "block" (a disk).
const IRREGULAR = new Map([
  ['blocked', 'blocked'],
  ['blocking', 'blocked'],
]);

export function stem(word: string): string {
  let w = word.toLowerCase();
  const irregular = IRREGULAR.get(w);
  if (irregular) return irregular;
  if (w.includes('_') || w.length <= 3) return w;
  if (w.endsWith('ies') && w.length > 4) return `${w.slice(0, -3)}y`;
  if (w.endsWith('sses')) return w.slice(0, -2);
  if (w.endsWith('ing') && w.length > 5) {
    w = w.slice(0, -3);
    if (/([^aeiouls])\1$/.test(w)) w = w.slice(0, -1);
    else if (/[^aeiou][aeiou][^aeiouwxy]$/.test(w) && w.length <= 4) w += 'e';
    return w.replace(/e$/, '');
  }
  if (w.endsWith('ed') && w.length > 4) {
    w = w.slice(0, -2);
    if (/([^aeiouls])\1$/.test(w)) w = w.slice(0, -1);
    return w.replace(/e$/, '');
  }
  if (w.endsWith('es') && /(ss|x|ch|sh)es$/.test(w)) return w.slice(0, -2);
  if (w.endsWith('s') && !w.endsWith('ss') && !w.endsWith('us') && !w.endsWith('is')) w = w.slice(0, -1);
  return w.replace(/e$/, '');
}

/** Words of a text, lower case, split where search should split them. */
export function words(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^a-z0-9_/'+-]+/)
    .map((w) => w.replace(/^['/+-]+|['/+-]+$/g, ''))
    .filter(Boolean);
}

interface Trigger {
  stems: string[];
  concept: Concept;
}

const triggerStems = (t: string): string[] =>
  words(t)
    .flatMap((w) => w.split('-'))
    .map(stem);

let cooccurring: { all: string[]; concept: Concept }[] | undefined;

/** The "a & b" triggers: each part's stems, all to be found somewhere in the text. */
function cooccurrenceTriggers(): { all: string[]; concept: Concept }[] {
  cooccurring ??= CONCEPTS.flatMap((concept) =>
    concept.triggers.filter((t) => t.includes('&')).map((t) => ({ all: t.split('&').flatMap((part) => triggerStems(part)), concept })),
  );
  return cooccurring;
}

let triggerTable: Map<string, Trigger[]> | undefined;

/** Triggers by their first stem, longest first so "page fault" wins over "page". */
function triggers(): Map<string, Trigger[]> {
  if (triggerTable) return triggerTable;
  triggerTable = new Map();
  for (const concept of CONCEPTS) {
    for (const t of concept.triggers) {
      if (t.includes('&')) continue;
      const stems = triggerStems(t);
      const list = triggerTable.get(stems[0]) ?? [];
      list.push({ stems, concept });
      triggerTable.set(stems[0], list);
    }
  }
  for (const list of triggerTable.values()) list.sort((a, b) => b.stems.length - a.stems.length);
  return triggerTable;
}

export interface ConceptHit {
  concept: string;
  /** The words of the text that triggered it. */
  via: string;
}

/** The concepts a text triggers, each once, with the words that triggered it. */
export function conceptsIn(text: string): ConceptHit[] {
  const typed = words(text).flatMap((w) => (w.includes('_') ? [w] : w.split('-')));
  const stems = typed.map(stem);
  const hits = new Map<string, ConceptHit>();
  const table = triggers();
  for (let i = 0; i < stems.length; i++) {
    for (const t of table.get(stems[i]) ?? []) {
      if (t.stems.every((s, k) => stems[i + k] === s) && !hits.has(t.concept.name)) {
        hits.set(t.concept.name, { concept: t.concept.name, via: typed.slice(i, i + t.stems.length).join(' ') });
      }
    }
  }
  // A file named by its path ("who reads /etc/passwd") is a file being opened, whatever the verb.
  const file = /(?:^|\s)(\/[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)+)/.exec(text);
  if (file && !hits.has('open')) hits.set('open', { concept: 'open', via: file[1] });
  const present = new Set(stems);
  for (const t of cooccurrenceTriggers()) {
    if (!hits.has(t.concept.name) && t.all.every((s) => present.has(s))) {
      hits.set(t.concept.name, { concept: t.concept.name, via: t.all.map((s) => typed[stems.indexOf(s)]).join(' … ') });
    }
  }
  for (const h of [...hits.values()]) for (const o of conceptByName(h.concept)?.overrides ?? []) hits.delete(o);
  return [...hits.values()];
}

export const conceptByName = (name: string): Concept | undefined => CONCEPTS.find((c) => c.name === name);
