import type { Launch, Tool } from '../kinds/kind.js';
import type { ToolResult } from '../results/tool-result.js';

/** What a dry run answers: the exact command and program that would run, and nothing ran. */
export type DryRunResult = {
  dry_run: true;
  tool: string;
  argv: string[];
  env: Record<string, string>;
  program: string | null;
  variant?: string;
  timeout_ms: number;
  duration_ms: number | null;
};

/** Quotes an argv element for display only: nothing is ever run through a shell. */
const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

export function dryRunResult(tool: Tool, launch: Launch): ToolResult<DryRunResult> {
  const { spec } = launch;
  const structured: DryRunResult = {
    dry_run: true,
    tool: tool.def.name,
    argv: spec.argv,
    env: spec.env,
    program: launch.program ?? null,
    ...(launch.variant ? { variant: launch.variant } : {}),
    timeout_ms: spec.timeoutMs,
    duration_ms: spec.durationMs ?? null,
  };
  const envText = Object.entries(spec.env).map(([k, v]) => `${k}=${quote(v)}`);
  const text = [
    `dry run of ${tool.def.name}: nothing was started. It would run:`,
    `  ${[...envText, ...spec.argv.map(quote)].join(' ')}`,
    ...(launch.program !== undefined ? ['', 'program:', launch.program] : []),
    '',
    `argv (JSON): ${JSON.stringify(spec.argv)}`,
  ].join('\n');
  return { structured, text };
}
