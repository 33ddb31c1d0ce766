/**
 * Tracing concepts: how people say what they want ("my app is slow writing files", "the box
 * feels sluggish") mapped to the words tracing programs are written in (vfs_write, hist,
 * nsecs, block, bio). A query is expanded with the terms of every concept it triggers, and
 * each example is indexed with the concepts its own text triggers, so the two meet on intent
 * rather than on wording. Triggers are matched on stemmed words (stem() below); a trigger of
 * several words matches those words in sequence.
 */
export interface Concept {
  name: string;
  triggers: string[];
  terms: string[];
}

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
    ],
    terms: ['block', 'bio', 'rq', 'request', 'disk', 'device', 'io', 'issue', 'complete'],
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
  },
  {
    name: 'read',
    triggers: ['read', 'reading', 'load', 'loading', 'cache miss', 'page cache'],
    terms: ['read', 'vfs_read'],
  },
  {
    name: 'open',
    triggers: ['open', 'opening', 'access', 'accessing', 'touch', 'touching', 'use file', 'using file', 'who is using', 'lookup path', 'stat'],
    terms: ['open', 'openat', 'filename', 'path'],
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
    ],
    terms: ['exec', 'execve', 'fork', 'clone', 'sched_process_exec', 'sched_process_fork', 'argv'],
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
    triggers: ['signal', 'kill', 'killed', 'killing', 'sigkill', 'sigterm', 'sigsegv', 'segfault', 'sighup', 'sigint', 'who killed'],
    terms: ['signal', 'kill', 'signal_generate', 'signal_deliver', 'sig'],
  },
  {
    name: 'syscall',
    triggers: ['syscall', 'system call', 'sys call', 'kernel call', 'raw syscall', 'strace', 'errno'],
    terms: ['syscall', 'syscalls', 'raw_syscalls', 'sys_enter', 'sys_exit'],
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

let triggerTable: Map<string, Trigger[]> | undefined;

/** Triggers by their first stem, longest first so "page fault" wins over "page". */
function triggers(): Map<string, Trigger[]> {
  if (triggerTable) return triggerTable;
  triggerTable = new Map();
  for (const concept of CONCEPTS) {
    for (const t of concept.triggers) {
      const stems = words(t)
        .flatMap((w) => w.split('-'))
        .map(stem);
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
  return [...hits.values()];
}

export const conceptByName = (name: string): Concept | undefined => CONCEPTS.find((c) => c.name === name);
