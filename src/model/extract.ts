/**
 * The bpftrace program in a model's answer: the first fenced block (```bpftrace, ```bt, ``` or
 * any language tag), else the whole answer when it looks like a program (a probe and a brace).
 * Models wrap programs in prose and fences however they were told; this takes what they meant.
 */
export function extractProgram(answer: string): string | undefined {
  const fences = [...answer.matchAll(/```[ \t]*([\w+-]*)[^\n]*\n([\s\S]*?)```/g)];
  const preferred = fences.find((m) => /^(bpftrace|bt)$/i.test(m[1])) ?? fences.find((m) => looksLikeProgram(m[2]));
  const body = preferred?.[2] ?? (looksLikeProgram(answer) ? answer : undefined);
  const program = body?.trim();
  return program ? program : undefined;
}

/** A probe at the start of a line followed by a block: what every bpftrace program has. */
const PROBE_START =
  /^\s*(#!.*\n)?\s*(BEGIN|END|begin|end|(k|u)(ret)?probe|tracepoint|t|usdt|U|profile|interval|software|hardware|kfunc|kretfunc|fentry|fexit|rawtracepoint|watchpoint|iter|self)\b[^{]*\{/m;

export const looksLikeProgram = (text: string): boolean => PROBE_START.test(text) && text.includes('}');
