/** One template tool as list_templates shows it. */
export interface TemplateInfo {
  name: string;
  title: string;
  /** The first sentence of the description. */
  purpose: string;
  parameters: { name: string; type: string; required: boolean; description?: string }[];
  example?: { description: string; input: Record<string, unknown> };
  /** What the kernel must offer, when the template needs more than tracepoints. */
  requires: string[];
}

/** A template rendered without running it. */
export interface RenderedTemplate {
  tool: string;
  template: string;
  program: string;
  probes: string[];
  requires: string[];
  /** Why it would not run on this machine, when a requirement is missing. */
  unavailable?: string;
}

/** The template tools a builtin may list and render; the core lends it. */
export interface TemplatesView {
  list(): TemplateInfo[];
  /** Validates params against the tool's input schema, then renders. */
  render(name: string, params: unknown): { ok: true; value: RenderedTemplate } | { ok: false; message: string; kind: 'not_found' | 'input' };
}
