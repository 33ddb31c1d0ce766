import type { TemplateInfo, TemplatesView } from '../../builtins/templates-view.js';
import type { JsonSchema } from '../../manifest/types.js';
import { RenderError, type Tool } from '../kind.js';
import { NON_PROGRAM_INPUTS } from '../runnable.js';
import { renderProgram, templateKind, type PreparedTemplate } from './index.js';
import { probesOf } from './program-probes.js';
import { unmetRequirement } from './requirements.js';

const isTemplate = (t: Tool): t is Tool<PreparedTemplate> => t.kind === (templateKind as unknown);

const typeOf = (s: JsonSchema): string => {
  if (Array.isArray(s.enum)) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  return String(s.type ?? 'any');
};

function info(t: Tool<PreparedTemplate>): TemplateInfo {
  const props = (t.def.input.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((t.def.input.required as string[] | undefined) ?? []);
  const example = t.def.examples?.[0];
  return {
    name: t.def.name,
    title: t.def.title,
    // The first sentence: a full stop and a capital ("e.g. tcp_*" does not end one).
    purpose: t.def.description
      .replace(/\s+/g, ' ')
      .trim()
      .split(/(?<=\.)\s+(?=[A-Z])/)[0],
    parameters: Object.entries(props)
      .filter(([n]) => !NON_PROGRAM_INPUTS.has(n))
      .map(([n, s]) => ({ name: n, type: typeOf(s), required: required.has(n), ...(s.description ? { description: String(s.description) } : {}) })),
    ...(example ? { example: { description: example.description, input: example.input } } : {}),
    requires: t.prepared.requires,
  };
}

/** The template tools among `tools()`, listed and rendered without running anything. */
export function templateCatalog(tools: () => Tool[], byName: (name: string) => Tool | undefined): TemplatesView {
  return {
    list: () => tools().filter(isTemplate).map(info),
    render(name, params) {
      const tool = byName(name);
      if (!tool || !isTemplate(tool)) {
        const names = tools()
          .filter(isTemplate)
          .map((t) => t.def.name);
        return { ok: false, kind: 'not_found', message: `no template tool named "${name}"; templates: ${names.join(', ')} (list_templates describes them)` };
      }
      const checked = tool.validateInput(params ?? {});
      if (!checked.ok) return { ok: false, kind: 'input', message: checked.message };
      let program: string;
      try {
        program = renderProgram(tool, checked.value);
      } catch (e) {
        if (e instanceof RenderError) return { ok: false, kind: 'input', message: e.message };
        throw e;
      }
      const unavailable = unmetRequirement(tool.prepared.requires);
      return {
        ok: true,
        value: {
          tool: name,
          template: String(tool.def.run.template),
          program,
          probes: probesOf(program),
          requires: tool.prepared.requires,
          ...(unavailable ? { unavailable: `${unavailable}${tool.prepared.instead ? `. ${tool.prepared.instead}` : ''}` } : {}),
        },
      };
    },
  };
}
