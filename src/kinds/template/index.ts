import { readFileSync } from 'node:fs';
import path from 'node:path';
import { TEMPLATES_DIR } from '../../config/paths.js';
import { findBeside } from '../files.js';
import { RenderError, type RunnableKind } from '../kind.js';
import { bpftraceSpec, NON_PROGRAM_INPUTS, timeoutMs } from '../runnable.js';
import { checkTemplate, TemplateValueError, type CompiledTemplate } from './template-engine.js';

interface Prepared {
  templatePath: string;
  /** The inputs the template sees. */
  declared: string[];
  render: CompiledTemplate;
}

/** A Handlebars template that renders a bpftrace program; values only through typed helpers. */
export const templateKind: RunnableKind<Prepared> = {
  name: 'template',
  runnable: true,
  runSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['template'],
    properties: {
      template: { type: 'string', pattern: '^[A-Za-z0-9_./-]+\\.hbs$', description: 'File in templates/.' },
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
    const checked = checkTemplate(readFileSync(templatePath, 'utf8'), templatePath, declared);
    ctx.report(checked.problems);
    return checked.render ? { templatePath, declared, render: checked.render } : undefined;
  },
  launch(tool, input, pre) {
    let program: string;
    try {
      program = tool.prepared.render(input);
    } catch (e) {
      if (e instanceof TemplateValueError) throw new RenderError(`a value cannot be used in ${tool.def.name}'s program: ${e.message}`);
      throw e;
    }
    // A template ends itself after its duration (interval + exit()).
    const duration = typeof input.duration === 'number' ? input.duration : 0;
    return { program, spec: bpftraceSpec(pre, ['-e', program], { timeoutMs: timeoutMs(tool, input, duration) }, program) };
  },
};
