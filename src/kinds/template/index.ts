import { readFileSync } from 'node:fs';
import path from 'node:path';
import { TEMPLATES_DIR } from '../../config/paths.js';
import { findBeside } from '../files.js';
import { RenderError, type RunnableKind, type Tool } from '../kind.js';
import { bpftraceSpec, NON_PROGRAM_INPUTS, timeoutMs } from '../runnable.js';
import { probesOf } from './program-probes.js';
import { assertRequirements, assertTracepointsExist, REQUIREMENT_PATTERN } from './requirements.js';
import { cacheText, checkTemplate, partialsFor, TemplateValueError, type CompiledTemplate } from './template-engine.js';

export interface PreparedTemplate {
  templatePath: string;
  /** The inputs the template sees. */
  declared: string[];
  /** What the build-time cache keys this template's check on (the template and its partials). */
  cacheText: string;
  /** What the kernel must offer (kprobes, a tracepoint, …); checked before every run. */
  requires: string[];
  /** What to use when a requirement is missing. */
  instead?: string;
  /** Seconds bpftrace may need to compile before the program starts (name tables are slow). */
  compileGraceSec: number;
  render: CompiledTemplate;
}

// A name table is hundreds of string assignments: measured 2.4 s to compile on bpftrace 0.17 on
// an idle machine and over 10 s on a loaded one, time the run's safety stop must not count.
const NAME_TABLE_GRACE_SEC = 20;
const usesNameTable = (text: string) => /\{\{\s*(syscall|signal|errno)_names\s*\}\}/.test(text);

/** The program a template tool renders for validated input; a bad value is a RenderError. */
export function renderProgram(tool: Tool<PreparedTemplate>, input: Record<string, unknown>): string {
  try {
    return tool.prepared.render(input);
  } catch (e) {
    if (e instanceof TemplateValueError) throw new RenderError(`a value cannot be used in ${tool.def.name}'s program: ${e.message}`);
    throw e;
  }
}

/** A Handlebars template that renders a bpftrace program; values only through typed helpers. */
export const templateKind: RunnableKind<PreparedTemplate> = {
  name: 'template',
  runnable: true,
  runSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['template'],
    properties: {
      template: { type: 'string', pattern: '^[A-Za-z0-9_./-]+\\.hbs$', description: 'File in templates/.' },
      requires: {
        type: 'array',
        uniqueItems: true,
        items: { type: 'string', pattern: REQUIREMENT_PATTERN },
        description: 'What the kernel must offer: kprobes, kfunc, btf, or tracepoint:CATEGORY:EVENT. A run without it is refused with a clear error.',
      },
      instead: { type: 'string', minLength: 1, description: 'What to use when a requirement is missing; shown in that error.' },
    },
  },
  prepare(ctx) {
    const name = String(ctx.def.run.template);
    const templatePath = findBeside(ctx.def.file, 'templates', name, TEMPLATES_DIR);
    if (!templatePath) {
      ctx.problem('/run/template', `template "${name}" not found in ${path.join(path.dirname(ctx.def.file), 'templates')} nor in ${TEMPLATES_DIR}`, 'run');
      return undefined;
    }
    const declared = ctx.inputs.filter((p) => !NON_PROGRAM_INPUTS.has(p));
    const source = readFileSync(templatePath, 'utf8');
    const partials = partialsFor(templatePath);
    const checked = checkTemplate(source, templatePath, declared, partials);
    ctx.report(checked.problems);
    if (!checked.render) return undefined;
    return {
      templatePath,
      declared,
      cacheText: cacheText(source, partials),
      requires: (ctx.def.run.requires as string[] | undefined) ?? [],
      instead: ctx.def.run.instead as string | undefined,
      compileGraceSec: usesNameTable(source) ? NAME_TABLE_GRACE_SEC : 0,
      render: checked.render,
    };
  },
  launch(tool, input, pre) {
    assertRequirements(tool.def.name, tool.prepared.requires, tool.prepared.instead, pre.remote);
    const program = renderProgram(tool, input);
    if (!pre.remote) assertTracepointsExist(tool.def.name, probesOf(program));
    // A template ends itself after its duration (interval + exit()), once compiled.
    const duration = typeof input.duration === 'number' ? input.duration + tool.prepared.compileGraceSec : 0;
    return { program, spec: bpftraceSpec(pre, ['-e', program], { timeoutMs: timeoutMs(tool, input, duration) }, program) };
  },
};
