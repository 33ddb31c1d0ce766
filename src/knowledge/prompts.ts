/**
 * Prompts for the common investigations. Each walks an assistant through the same loop, with
 * the tools by name: discover_probes → search_examples → validate_program → exec_program →
 * get_result → analyze_output. Argument values are quoted into the text as data for the
 * assistant; the text tells it to pass them to programs as positional parameters, never inline.
 */
export interface PromptArgument {
  name: string;
  description: string;
  required: boolean;
}

export interface WorkflowPrompt {
  name: string;
  title: string;
  description: string;
  arguments: PromptArgument[];
  /** The goal for discover_probes and the query for search_examples. */
  goal: (a: Record<string, string>) => string;
  query: (a: Record<string, string>) => string;
  /** What to look for, specific to the question. */
  run: (a: Record<string, string>) => string;
  analyse: (a: Record<string, string>) => string;
}

const q = (v: string | undefined) => JSON.stringify(v ?? '');

export const PROMPTS: readonly WorkflowPrompt[] = [
  {
    name: 'who_opens_file',
    title: 'Who is opening this file?',
    description: 'Find the processes that open a file (or files under a directory), with how often and whether it worked.',
    arguments: [{ name: 'path', description: 'The file or directory path, e.g. /etc/resolv.conf', required: true }],
    goal: () => 'open a file by name: openat syscall entry and return',
    query: () => 'who opens which file',
    run: (a) =>
      `Trace openat (and open/openat2 where present) entry, keep the filename per tid, and at the return print comm, pid, the return value and the filename whenever it equals ${q(a.path)} (or starts with it, for a directory). Pass the path as a positional parameter ($1, compared with str($1)), not pasted into the program. Run for 10-30 s while the file is being used.`,
    analyse: () =>
      'Group the opens by process: which commands open it, how often, and whether the opens fail (a negative return is -errno: -2 ENOENT, -13 EACCES). A process that opens it in a tight loop, or fails every time, is the finding.',
  },
  {
    name: 'why_disk_slow',
    title: 'Why is the disk slow?',
    description: 'Measure block I/O latency and size per device and per process, and separate a slow device from a heavy workload.',
    arguments: [{ name: 'device', description: 'Optional device name, e.g. sda or nvme0n1', required: false }],
    goal: () => 'disk block I/O latency: request issue and completion',
    query: (a) => `disk I/O latency histogram${a.device ? ` for ${a.device}` : ''}`,
    run: (a) =>
      `Start with a block I/O latency histogram (block_rq_issue → block_rq_complete keyed on dev and sector) for 10-30 s${a.device ? `, filtered to ${q(a.device)} (compare the device number, found in /sys/block/${a.device}/dev)` : ''}. Then, if latency is high, count I/O by process and by size (bytes, rwbs) over the same interval. If a file system is involved, a VFS or ext4/xfs latency example shows whether the time is in the device or above it.`,
    analyse: () =>
      'Read the histogram: a second mode in the milliseconds, or a long tail, points at the device or its queue; many small random I/Os point at the workload. Compare reads (R in rwbs) with writes (W) and syncs (S), and name the processes issuing most of the I/O.',
  },
  {
    name: 'where_cpu_time',
    title: 'Where is CPU time going?',
    description: 'Sample on-CPU stacks to find the hottest code paths, for the whole machine or one process.',
    arguments: [
      { name: 'pid', description: 'Optional process id to focus on', required: false },
      { name: 'comm', description: 'Optional command name to focus on', required: false },
    ],
    goal: () => 'sample CPU stacks with a profile probe',
    query: () => 'profile on-CPU stacks to see where CPU time goes',
    run: (a) =>
      `Sample kernel and user stacks with profile:hz:99 for 10-20 s, counting by stack and comm${a.pid ? `, only for pid ${q(a.pid)} (as a positional parameter)` : ''}${a.comm ? `, only for comm ${q(a.comm)} (compared with str($1))` : ''}. If most samples are idle, the CPU is not the bottleneck: look at off-CPU time (sched_switch) or run-queue latency instead.`,
    analyse: () =>
      'Rank the stacks by count, fold them for a flame graph if the tool offers it, and name the top functions and the processes they belong to. Distinguish kernel time (syscalls, interrupts, page faults) from user time in the application.',
  },
  {
    name: 'function_latency',
    title: 'How long does this function take?',
    description: 'Time a kernel or user-space function from entry to return and show the distribution.',
    arguments: [
      { name: 'function', description: 'The function name, e.g. vfs_read, or a symbol in the binary', required: true },
      { name: 'binary', description: 'For a user-space function: the path of the binary or library', required: false },
    ],
    goal: (a) => (a.binary ? `${a.function} function in ${a.binary}` : `${a.function} kernel function entry and return`),
    query: (a) => `latency of a ${a.binary ? 'user-space' : 'kernel'} function with entry and return probes`,
    run: (a) =>
      a.binary
        ? `Check that uprobe:${a.binary}:${a.function} exists (discover_probes with the binary path, or list_probes "uprobe:${a.binary}:*${a.function}*"), then time uprobe → uretprobe keyed on tid into a histogram of microseconds for 10-30 s.`
        : `Check that the function can be probed here: this kernel may lack kprobes (then kprobe and kretprobe attach nothing), in which case use fentry/fexit if BTF functions are listed, or the nearest tracepoint pair that discover_probes suggests (e.g. a syscall's sys_enter/sys_exit). Time entry → return keyed on tid into a histogram for 10-30 s.`,
    analyse: () =>
      'Report the distribution (median, the tail, any second mode) and the call rate; if the latency is bimodal, split it by a second key (comm, return value, or argument) to find what makes the slow calls slow.',
  },
  {
    name: 'why_connections_fail',
    title: 'Why do connections fail?',
    description: 'Catch failing TCP connections (refused, reset, timed out) with the process and the addresses involved.',
    arguments: [
      { name: 'port', description: 'Optional remote or local port to focus on', required: false },
      { name: 'host', description: 'Optional remote address to focus on', required: false },
    ],
    goal: () => 'tcp connection failures: socket state changes, resets, errors, retransmits',
    query: () => 'failed tcp connections refused reset',
    run: (a) =>
      `Trace inet_sock_set_state for connections that go from SYN_SENT to CLOSE (refused or timed out), inet_sk_error_report for the socket error, and tcp_send_reset/tcp_receive_reset for resets, printing comm, pid, addresses and ports${a.port ? `, only for port ${q(a.port)} (a positional parameter)` : ''}${a.host ? `, only for host ${q(a.host)}` : ''}. Add tcp_retransmit_skb counts if connections hang rather than fail. Run while the failures happen (30-60 s).`,
    analyse: () =>
      'Classify each failure: refused (RST on SYN: nothing listens), timed out (SYN retransmits, then close: filtered or unreachable), reset later (the peer or a middlebox closed it), or drops (kfree_skb reasons). Name the processes and destinations, and say which fix each class calls for.',
  },
];

/** The prompt's text: the loop of tools, filled in for this question. */
export function promptText(p: WorkflowPrompt, a: Record<string, string>): string {
  const given = p.arguments.filter((x) => a[x.name]).map((x) => `${x.name} = ${q(a[x.name])}`);
  return [
    `${p.title}${given.length ? ` (${given.join(', ')})` : ''}`,
    '',
    'Investigate this on the live system with the mcptrace tools, step by step:',
    `1. Discover: call discover_probes with goal ${q(p.goal(a))} to see which probes exist on this kernel, their arguments, and which pairs measure an interval.`,
    `2. Search: call search_examples with query ${q(p.query(a))}. Prefer a result marked as running here (runs_here); read a whole example from its mcptrace://examples/{id} resource.`,
    `3. Adapt and validate: adapt the example to the question, keep values out of the program text (positional parameters: $1, str($1)), and check it with validate_program before running it.`,
    `4. Run: ${p.run(a)} Use exec_program with a timeout; for a long run, poll it with get_result (offset, wait), and read the whole output from the resource link it returns when output was cut.`,
    `5. Analyse: pass the run to analyze_output, then answer. ${p.analyse(a)}`,
    '',
    'If a probe is missing here, say so and use the alternative discover_probes suggests, and see the troubleshooting guide (mcptrace://docs/troubleshooting) for errors.',
  ].join('\n');
}
