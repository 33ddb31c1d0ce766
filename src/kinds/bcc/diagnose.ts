import type { Diagnosis } from '../../runtime/process-lifecycle.js';
import type { BccSpec } from './bcc-spec.js';

// What libbpf prints when a kprobe cannot be created (0.26: "No such file or directory",
// 0.37: "-ENOENT"), and when the kernel refuses to load a program type it does not support.
const KPROBE_FAILURE = /failed to (?:add legacy kprobe event|create kprobe)|kprobe.*perf event/;
// Measured: 6.1 has no BTF type for the fentry target of 0.26's biosnoop ("failed to find kernel
// BTF type ID of 'blk_account_io_start'"); a kernel without kfunc refuses fentry programs with
// "BPF program load failed: Operation not permitted" even for root; the verifier's refusal is
// "BPF program load failed: Permission denied" followed by its log.
const LOAD_REFUSED = /BPF program load failed|failed to load BPF (?:skeleton|object)|failed to find kernel BTF type ID/;
// Any other attach the kernel refuses (a tracepoint or function gone): libbpf's auto-attach, or
// the tool's own message after it.
const ATTACH_REFUSED = /failed to (?:auto-)?attach|failed to attach BPF programs?/;
// bcc's Python tools: the kernel lacks the function, refuses the program, or has no headers for
// bcc to compile against (this machine: no /lib/modules/…/build and no kheaders).
const BCC_PYTHON_REFUSED = /Failed to (?:attach|load) BPF program|cannot attach kprobe|Unable to find kernel headers/;

/**
 * A failed bcc/libbpf tool's stderr as an error that says why, and how to fix it. `refused`
 * when the kernel refused its program as it loaded or attached (see runtime/fallback.ts): what
 * libbpf and bcc print only then. A usage error ("invalid option", "Invalid PID") never matches.
 */
export function diagnoseBccFailure(spec: BccSpec, variant: string, stderr: string[], next?: string): Diagnosis {
  const text = stderr.join('\n');
  const tail = stderr.slice(-6).join('\n') || `${variant} failed without printing an error`;
  const instead = next ? `; ${next}` : '';
  if (KPROBE_FAILURE.test(text)) {
    return {
      error: `${variant} needs kprobes, and this kernel has none (CONFIG_KPROBES is off, or the function is not traceable): ${tail}`,
      hint: `run ${spec.tool} on a kernel with kprobes, or pick a tool that attaches to tracepoints (list_bcc_tools marks which run here)${instead}`,
      refused: true,
    };
  }
  if (LOAD_REFUSED.test(text) || ATTACH_REFUSED.test(text)) {
    return {
      error: `the kernel refused ${variant}'s BPF program (a hook or kernel function it uses is missing or not allowed on this kernel): ${tail}`,
      hint: `${spec.tool} cannot run on this kernel; list_bcc_tools marks the tools that run here${instead}`,
      refused: true,
    };
  }
  if (BCC_PYTHON_REFUSED.test(text)) {
    return {
      error: `${variant} cannot run on this kernel: ${tail}`,
      hint: /kernel headers/.test(text)
        ? `bcc's Python tools compile against the kernel's headers: apt-get install -y linux-headers-$(uname -r), or install libbpf-tools${instead}`
        : `${spec.tool} cannot run on this kernel; list_bcc_tools marks the tools that run here${instead}`,
      refused: true,
    };
  }
  return { error: tail };
}
