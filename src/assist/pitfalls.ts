import type { BpftraceFeatures } from '../runtime/bpftrace/version.js';

const minor = (v: string) => {
  const m = /(\d+)\.(\d+)/.exec(v);
  return m ? Number(m[1]) * 1000 + Number(m[2]) : 0;
};

/**
 * What trips up a first program on this bpftrace and this kernel, as measured on 0.17, 0.23 and
 * 0.27 (../shared/MACHINE.md): only the pitfalls that apply here, and only those the probes in
 * play can meet.
 */
export function pitfalls(features: BpftraceFeatures | undefined, kernel: { kprobes: boolean; btf: boolean }, probes: readonly string[]): string[] {
  const out: string[] = [];
  const uses = (rx: RegExp) => probes.some((p) => rx.test(p));
  if (!features) out.push('bpftrace does not run here (see bpf_info / mcptrace doctor): a plan can be written, but nothing can be checked or run.');
  if (!kernel.kprobes)
    out.push(
      'This kernel has no kprobes: kprobe/kretprobe (and kfunc/fentry) programs compile but never attach. Use tracepoints (tracepoint:syscalls:*, sched:*, block:*, net:*, sock:*), uprobes or USDT.',
    );
  if (!features) return out;
  const v = minor(features.version);
  if (v < 21) out.push(`bpftrace ${features.version} reads tracepoint fields as args->field (args.field is 0.21 and later).`);
  else if (v >= 24) out.push(`bpftrace ${features.version} accepts args.field (args->field still works).`);
  if (v < 24) out.push(`bpftrace ${features.version} has no for-range loops (for ($i : 0..10)): use while with a small bound, or unroll(N).`);
  if (v >= 25) out.push(`bpftrace ${features.version} ends a program by itself once nothing left can fire (a BEGIN-only program needs no exit()).`);
  if (v < 20) out.push(`bpftrace ${features.version}'s printf prints %% as two characters: pass literal text as a %s argument.`);
  out.push('Compare strings with str(): str(args->filename) == "/etc/passwd" (literals over 64 bytes are refused; comm is at most 15 characters).');
  if (uses(/^(kretprobe|uretprobe):/) || uses(/sys_exit_/))
    out.push('Latency needs the entry and the exit: store nsecs in @start[tid] at entry, read and delete it at exit.');
  if (uses(/^profile:/)) out.push('Sample at profile:hz:99 (not 1000+): enough for a profile, cheap for the machine.');
  if (uses(/^tracepoint:syscalls:sys_enter_\*|^tracepoint:\w+:\*$|^kprobe:\*/))
    out.push(
      'A wildcard over hundreds of probes is slow to attach and detach (~70 ms each): name the probes, or use tracepoint:raw_syscalls:sys_enter with a predicate.',
    );
  out.push(
    `Maps print when the program ends (exit(), a timeout or a stop). mcptrace raises the key limit to 65,536 per map; key on comm or pid, never on nsecs.`,
  );
  return out;
}
