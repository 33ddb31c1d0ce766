import type { ProbeSpec } from './probes.js';

export type EventRateClass = 'once' | 'low' | 'medium' | 'high';

// Probes that fire thousands of times a second on a busy machine (scheduler, interrupts,
// memory, every syscall, packets, block I/O), measured as the usual floods.
const HIGH = [
  /^tracepoint:sched:sched_(switch|wakeup|wakeup_new|waking|stat_\w+|migrate_task)$/,
  /^tracepoint:(irq|irq_vectors|timer|kmem|page_alloc|pagemap|net|napi|skb|block|workqueue|rcu|lock):/,
  /^tracepoint:raw_syscalls:/,
  /^tracepoint:syscalls:sys_(enter|exit)_(read|write|readv|writev|pread64|pwrite64|futex|poll|ppoll|epoll_wait|epoll_pwait|select|pselect6|recvfrom|sendto|recvmsg|sendmsg|ioctl|clock_gettime|nanosleep|clock_nanosleep|mmap|munmap|getpid|gettid|sched_yield)$/,
  /^uprobe:.*:(malloc|free|calloc|realloc|memcpy|memset|strlen|pthread_mutex_\w+)$/,
  /^software:(cpu-clock|task-clock|page-faults|minor-faults|context-switches|cs|faults)(:|$)/,
];

/** How often one attach point fires (a wildcard: the busiest of the probes it matched). */
export function rateOf(p: Pick<ProbeSpec, 'text' | 'type'>, matched: readonly string[]): EventRateClass {
  const full = p.text.replace(/^t:/, 'tracepoint:').replace(/^u:/, 'uprobe:').replace(/^s:/, 'software:');
  if (/^(BEGIN|END|begin|end|self)$/.test(p.type)) return 'once';
  if (p.type === 'interval' || p.type === 'profile') {
    const m = /:(hz|s|ms|us|ns)?:?(\d+)$/.exec(full) ?? /:(\d+)$/.exec(full);
    const unit = m && m.length === 3 ? (m[1] ?? 'hz') : 'hz';
    const n = Number(m?.[m.length - 1] ?? 1);
    const perSec = unit === 'hz' ? n : unit === 's' ? 1 / n : unit === 'ms' ? 1000 / n : unit === 'us' ? 1e6 / n : 1e9 / n;
    const perCpu = p.type === 'profile' ? perSec * 2 : perSec;
    return perCpu >= 1000 ? 'high' : perCpu >= 50 ? 'medium' : 'low';
  }
  if (HIGH.some((rx) => rx.test(full)) || matched.some((m) => HIGH.some((rx) => rx.test(m)))) return 'high';
  if (matched.length > 50) return 'high';
  // A wildcard whose matches are not known (the pre-run hook does not list probes): assume busy.
  if (!matched.length && full.includes('*')) return 'high';
  return 'medium';
}

const ORDER: EventRateClass[] = ['once', 'low', 'medium', 'high'];
export const maxRate = (rates: EventRateClass[]): EventRateClass => rates.reduce((a, b) => (ORDER.indexOf(b) > ORDER.indexOf(a) ? b : a), 'once');
