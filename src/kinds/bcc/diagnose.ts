import type { BccSpec } from './bcc-spec.js';

// What libbpf prints when a kprobe cannot be created (0.26: "No such file or directory",
// 0.37: "-ENOENT"), and when the kernel refuses to load a program type it does not support.
const KPROBE_FAILURE = /failed to (?:add legacy kprobe event|create kprobe)|kprobe.*perf event/;
const LOAD_REFUSED = /BPF program load failed|failed to load BPF (?:skeleton|object)|failed to find kernel BTF type ID/;

/** A failed bcc/libbpf tool's stderr as an error that says why, and how to fix it. */
export function diagnoseBccFailure(spec: BccSpec, variant: string, stderr: string[]): { error: string; hint?: string } {
  const text = stderr.join('\n');
  const tail = stderr.slice(-6).join('\n') || `${variant} failed without printing an error`;
  if (KPROBE_FAILURE.test(text)) {
    return {
      error: `${variant} needs kprobes, and this kernel has none (CONFIG_KPROBES is off, or the function is not traceable): ${tail}`,
      hint: `run ${spec.tool} on a kernel with kprobes, or pick a tool that attaches to tracepoints (list_bcc_tools marks which run here)`,
    };
  }
  if (LOAD_REFUSED.test(text)) {
    return {
      error: `the kernel refused ${variant}'s BPF program (a hook or kernel function it uses is missing or not allowed on this kernel): ${tail}`,
      hint: `${spec.tool} cannot run on this kernel; list_bcc_tools marks the tools that run here`,
    };
  }
  return { error: tail };
}
