import { defineBuiltin, type ToolSummary } from './builtin.js';

interface BccToolRow {
  name: string;
  purpose: string;
  available: boolean;
  /** The provider that would run (argv), or why none can. */
  detail: string;
  fix?: string;
}

function row(t: ToolSummary): BccToolRow {
  const failed = t.checks.find((c) => !c.ok);
  const first = failed ?? t.checks[0];
  return { name: t.name, purpose: t.purpose, available: !failed, detail: first?.detail ?? '', ...(failed?.fix ? { fix: failed.fix } : {}) };
}

/**
 * The short list of the bcc tools: a name and one line each, so an assistant can find the one
 * it needs without every bcc tool's schema in its context (progressive disclosure).
 */
export default defineBuiltin<{ available_only: boolean }>({
  handler: 'list_bcc_tools',
  async run(input, ctx) {
    const all = ctx
      .tools()
      .filter((t) => t.kind === 'bcc')
      .map(row);
    const tools = input.available_only ? all.filter((t) => t.available) : all;
    const ready = all.filter((t) => t.available).length;
    const w = Math.max(0, ...tools.map((t) => t.name.length));
    const text = [
      `${ready} of ${all.length} bcc tools can run here.`,
      ...tools.map((t) => `${t.available ? 'ok ' : '-- '} ${t.name.padEnd(w)}  ${t.purpose}${t.available ? '' : ` (cannot run: ${t.detail})`}`),
      '',
      'Each is an MCP tool of the same name when the server runs with the bcc toolset (mcptrace serve --toolsets core,bcc, or MCPTRACE_TOOLSETS), and always a CLI command (mcptrace opensnoop --help).',
    ].join('\n');
    return { structured: { available: ready, total: all.length, tools }, text };
  },
});
