import type { RunnableKind } from './kind.js';
import { RenderError } from './kind.js';
import { bpftraceSpec, timeoutMs } from './runnable.js';

interface Run {
  program?: string;
  program_input?: string;
  positional?: string[];
}

/** A bpftrace program: fixed in the manifest, or taken from an input; values only as $1, $2… */
export const bpftraceKind: RunnableKind<Run> = {
  name: 'bpftrace',
  runnable: true,
  runSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      program: { type: 'string', minLength: 1, description: 'A fixed bpftrace program.' },
      program_input: { type: 'string', description: 'Name of the input property that holds the program.' },
      positional: {
        type: 'array',
        items: { type: 'string' },
        description: 'Input properties passed as bpftrace positional parameters $1, $2, … (never pasted into the program).',
      },
    },
    oneOf: [{ required: ['program'] }, { required: ['program_input'] }],
  },
  prepare(ctx) {
    const run = ctx.def.run as Run;
    const need = (pointer: string, prop: string) => {
      if (!ctx.inputs.includes(prop)) ctx.problem(pointer, `"${prop}" is not a property of input; declared: ${ctx.inputs.join(', ')}`, 'run');
    };
    if (run.program_input) need('/run/program_input', run.program_input);
    (run.positional ?? []).forEach((p, i) => need(`/run/positional/${i}`, p));
    return run;
  },
  launch(tool, input, pre) {
    const run = tool.prepared;
    const program = run.program ?? String(input[run.program_input!] ?? '');
    if (!program.trim()) throw new RenderError(`"${run.program_input}" is empty; pass a bpftrace program`);
    const positional = (run.positional ?? []).map((p) => String(input[p] ?? ''));
    return { program, spec: bpftraceSpec(pre, ['-e', program, ...positional], { timeoutMs: timeoutMs(tool, input) }, program) };
  },
};
