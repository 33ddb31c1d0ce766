import { classifyStderr } from './notices.js';

/** Turns bpftrace's error output into a message with a fix an assistant can act on. */
export function diagnoseFailure(stderrLines: string[], env: { kprobes: boolean; kfunc: boolean }): { error: string; hint?: string } {
  const significant = stderrLines.filter((l) => classifyStderr(l) !== 'notice' && !/^__BPFTRACE_NOTIFY/.test(l));
  const errors = significant.filter((l) => classifyStderr(l) === 'error');
  const error = (errors.length ? significantWithContext(significant) : significant.slice(-10)).join('\n') || 'bpftrace failed without printing an error';
  // Quoted up to 0.20 ("Error attaching probe: 'kprobe:x'"), bare since 0.21; newer versions
  // fail earlier, finding no function to match ("No matches for kprobe x").
  const attach = /(?:Error attaching probe: '?|No matches for )(k(?:ret)?probe|kfunc|kretfunc|fentry|fexit)\b/.exec(error);
  if (attach && (attach[1].startsWith('kf') || attach[1].startsWith('f') ? !env.kfunc : !env.kprobes)) {
    return {
      error,
      hint: `This kernel has no ${attach[1].startsWith('k') && attach[1].includes('probe') ? 'kprobes (CONFIG_KPROBES is off)' : 'kfunc/fentry support (no BTF trampolines)'}, so ${attach[1]} probes compile but cannot attach. Use a tracepoint instead (list them with list_probes, filter "tracepoint:syscalls:*"), or uprobes/USDT for user space.`,
    };
  }
  // "syntax error, unexpected" up to 0.23, "syntax: expected" since.
  if (/syntax error|ERROR: syntax|ERROR: Unknown (identifier|function)|undefined/.test(error)) {
    return { error, hint: 'Fix the program at the line:column shown; validate probe names with list_probes.' };
  }
  if (/No probes? to attach|matched no probes|Invalid probe|unknown probe/i.test(error)) {
    return { error, hint: 'The probe does not exist on this kernel: search for the right name with list_probes.' };
  }
  if (/Operation not permitted|Permission denied/.test(error)) {
    return { error, hint: 'bpftrace needs root or CAP_BPF+CAP_PERFMON: run mcptrace as root, or allow passwordless sudo for bpftrace (see mcptrace doctor).' };
  }
  return { error };
}

// An error line such as "stdin:1:23-24: ERROR: ..." is followed by the source line and a
// marker; keep those with it so the location is visible.
function significantWithContext(lines: string[]): string[] {
  const out: string[] = [];
  lines.forEach((l, i) => {
    if (classifyStderr(l) === 'error') {
      out.push(l);
      if (/^\S+:\d+:\d+(-\d+)?: ERROR/.test(l)) out.push(...lines.slice(i + 1, i + 3).filter((x) => classifyStderr(x) === 'info'));
    }
  });
  return out;
}
