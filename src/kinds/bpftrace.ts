import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { commandProblem, resolveCommand } from '../runtime/processes.js';
import type { RunnableKind } from './kind.js';
import { RenderError } from './kind.js';
import { bpftraceSpec, timeoutMs } from './runnable.js';

interface Run {
  program?: string;
  program_input?: string;
  positional?: string[];
  positional_input?: string;
  pid_input?: string;
  command_input?: string;
  unsafe_input?: string;
}

const INPUT_REFS = ['program_input', 'positional_input', 'pid_input', 'command_input', 'unsafe_input'] as const;

/**
 * A bpftrace program: fixed in the manifest, or taken from an input; values only as $1, $2…
 * bpftrace's own options come from named inputs: -p (pid_input), -c (command_input).
 */
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
      positional_input: { type: 'string', description: 'An array input whose items follow as further positional parameters.' },
      pid_input: { type: 'string', description: "An integer input passed as bpftrace's -p PID." },
      command_input: { type: 'string', description: "An array input (argv) passed as bpftrace's -c; its output is kept apart from the trace." },
      unsafe_input: { type: 'string', description: "A boolean input that adds bpftrace's --unsafe (the safety policy decides whether it may run)." },
    },
    oneOf: [{ required: ['program'] }, { required: ['program_input'] }],
  },
  prepare(ctx) {
    const run = ctx.def.run as Run;
    const need = (pointer: string, prop: string) => {
      if (!ctx.inputs.includes(prop)) ctx.problem(pointer, `"${prop}" is not a property of input; declared: ${ctx.inputs.join(', ')}`, 'run');
    };
    for (const key of INPUT_REFS) if (run[key]) need(`/run/${key}`, run[key]);
    (run.positional ?? []).forEach((p, i) => need(`/run/positional/${i}`, p));
    return run;
  },
  launch(tool, input, pre) {
    const run = tool.prepared;
    const program = run.program ?? String(input[run.program_input!] ?? '');
    if (!program.trim()) throw new RenderError(`"${run.program_input}" is empty; pass a bpftrace program`);
    const options: string[] = [];
    const pid = run.pid_input ? input[run.pid_input] : undefined;
    if (typeof pid === 'number') options.push('-p', String(pid));
    // Whether --unsafe may run is the safety policy's to say (a pre-run hook sees it in argv).
    if (run.unsafe_input && input[run.unsafe_input] === true) options.push('--unsafe');
    const command = run.command_input ? (input[run.command_input] as string[] | undefined) : undefined;
    let traceFifo: string | undefined;
    if (command) {
      const problem = commandProblem(command);
      if (problem) throw new RenderError(`${run.command_input}: ${problem}`);
      const exe = resolveCommand(command[0]);
      if ('error' in exe) throw new RenderError(`${run.command_input}: ${exe.error}`);
      // The command writes to bpftrace's stdout, so the trace goes through a pipe of its own.
      traceFifo = path.join(os.tmpdir(), `mcptrace-${randomBytes(6).toString('hex')}`, 'trace');
      options.push('-c', [exe.path, ...command.slice(1)].join(' '), '-o', traceFifo);
    }
    const positional = [
      ...(run.positional ?? []).map((p) => String(input[p] ?? '')),
      ...(((run.positional_input ? input[run.positional_input] : undefined) as string[] | undefined) ?? []),
    ];
    // `--` ends bpftrace's options: a parameter such as "-c" or "--unsafe" stays a parameter.
    const args = [...options, '-e', program, ...(positional.length ? ['--', ...positional] : [])];
    const spec = bpftraceSpec(pre, args, { timeoutMs: timeoutMs(tool, input) }, program);
    const stdoutTrailer = pre.features.exitBlankLines === 'raw' ? 2 : 0;
    return { program, spec: { ...spec, ...(traceFifo ? { traceFifo, stdoutTrailer } : {}) } };
  },
};
