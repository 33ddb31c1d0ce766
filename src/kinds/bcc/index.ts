import path from 'node:path';
import { BCC_DIR } from '../../config/paths.js';
import { kernelFeatures, privilegedArgv } from '../../runtime/environment.js';
import { RenderError, type RunnableKind } from '../kind.js';
import { bpftraceSpec, NON_PROGRAM_INPUTS, timeoutMs } from '../runnable.js';
import { findBeside } from '../files.js';
import { BccUnavailableError, loadBccSpec, resolveBccCommand, variantPackage, type BccSpec } from './bcc-spec.js';
import { diagnoseBccFailure } from './diagnose.js';
import { BccTextDecoder } from './parsers/decoder.js';

interface Prepared {
  spec: BccSpec;
  specPath: string;
  durationInput?: string;
}

/** A bcc/libbpf tool (or bpftrace's port of it), chosen from the installed providers. */
export const bccKind: RunnableKind<Prepared> = {
  name: 'bcc',
  runnable: true,
  runSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['tool'],
    properties: {
      tool: { type: 'string', pattern: '^[a-z0-9_-]+$', description: 'Spec in bcc/TOOL.yaml.' },
      duration_input: { type: 'string', description: 'Input property whose seconds end the run normally (status completed).' },
    },
  },
  prepare(ctx) {
    const run = ctx.def.run as { tool: string; duration_input?: string };
    if (run.duration_input && !ctx.inputs.includes(run.duration_input)) {
      ctx.problem('/run/duration_input', `"${run.duration_input}" is not a property of input; declared: ${ctx.inputs.join(', ')}`, 'run');
    }
    const specPath = findBeside(ctx.def.file, 'bcc', `${run.tool}.yaml`, BCC_DIR);
    if (!specPath) {
      ctx.problem('/run/tool', `bcc spec "${run.tool}.yaml" not found in ${path.join(path.dirname(ctx.def.file), 'bcc')} nor in ${BCC_DIR}`, 'run');
      return undefined;
    }
    const loaded = loadBccSpec(specPath);
    ctx.report(loaded.problems);
    for (const [vi, v] of (loaded.spec?.variants ?? []).entries()) {
      for (const a of v.args ?? []) {
        if (!ctx.inputs.includes(a.input)) {
          ctx.report([
            { file: specPath, line: 1, col: 1, message: `variants[${vi}] maps input "${a.input}", which ${ctx.def.name} does not declare`, kind: 'bcc' },
          ]);
        }
      }
    }
    return loaded.spec ? { spec: loaded.spec, specPath, durationInput: run.duration_input } : undefined;
  },
  check(tool) {
    const { spec } = tool.prepared;
    const name = `bcc:${spec.tool}`;
    try {
      const r = resolveBccCommand(spec, {}, new Set());
      const needs = missingKernelFeatures(spec);
      if (needs.length) {
        return [{ name, ok: false, detail: `${r.argv.join(' ')} is installed, but it needs ${needs.join(', ')}, which this kernel lacks`, fix: kprobesFix }];
      }
      return [{ name, ok: true, detail: `${r.argv.join(' ')}${r.viaBpftrace ? ' (bpftrace script)' : ''}` }];
    } catch (e) {
      return [{ name, ok: false, detail: (e as Error).message, fix: `apt-get install -y ${[...new Set(spec.variants.map(variantPackage))].join(' or ')}` }];
    }
  },
  summary(tool) {
    return tool.prepared.spec.purpose;
  },
  launch(tool, input, pre) {
    const { spec, durationInput } = tool.prepared;
    const duration = durationInput ? (input[durationInput] as number | undefined) : undefined;
    const ignore = new Set([...NON_PROGRAM_INPUTS, ...(durationInput ? [durationInput] : [])]);
    let resolved;
    try {
      resolved = resolveBccCommand(spec, input, ignore, { duration });
    } catch (e) {
      if (e instanceof BccUnavailableError) throw new RenderError(e.message);
      throw e;
    }
    // A tool that ends itself after the duration needs no SIGINT for it; the safety timeout
    // still covers it.
    const timing = {
      timeoutMs: timeoutMs(tool, input, duration),
      durationMs: duration !== undefined && !resolved.endsItself ? duration * 1000 : undefined,
    };
    if (resolved.viaBpftrace) {
      return { variant: resolved.variant, spec: bpftraceSpec(pre, resolved.argv, timing) };
    }
    // libbpf-tools fully buffer stdout into a pipe until they exit (measured): stdbuf -oL makes
    // glibc flush each line, so rows arrive live and a SIGKILL loses at most a partial line.
    const argv = privilegedArgv(pre, [...(resolved.lineBuffered ? ['stdbuf', '-oL'] : []), ...resolved.argv]);
    return {
      variant: resolved.variant,
      spec: {
        argv,
        env: {},
        decoder: () => new BccTextDecoder(spec.tool, spec.output ?? {}),
        holdStopUntilAttached: false,
        diagnose: (stderr) => diagnoseBccFailure(spec, resolved.variant, stderr),
        ...timing,
      },
    };
  },
};

const kprobesFix =
  'run it on a kernel with CONFIG_KPROBES=y (most distribution kernels), or use a tool that attaches to tracepoints instead (list_bcc_tools shows which run here)';

function missingKernelFeatures(spec: BccSpec): string[] {
  const k = kernelFeatures();
  return (spec.needs ?? []).filter((n) => n === 'kprobes' && !k.kprobes).map(() => 'kprobes');
}
