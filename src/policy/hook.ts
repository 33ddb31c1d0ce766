import { errorResult, type ToolResult } from '../results/tool-result.js';
import type { ProbeCache } from '../runtime/probe-cache.js';
import { probeMatcher } from '../runtime/probe-cache.js';
import type { AnalyzedProgram } from '../validation/validator.js';
import { analyzeProgram } from '../validation/validator.js';
import { refusalText, type Finding, type Policy, type SafetyReport } from './policy.js';

/** What the pre-run hook sees of a run (Core's PreRun, narrowed). */
export interface PolicyRun {
  tool: { def: { name: string } };
  /** The tool's validated input: the rules read its timeout and duration. */
  input?: Readonly<Record<string, unknown>>;
  launch: { spec: { argv: string[] }; program?: string };
  warn?(message: string): void;
}

/**
 * Counts the probes of each wildcard attach point, from the cached probe list only: a run never
 * waits on `bpftrace -l` for a program without a wildcard.
 */
export async function wildcardCounts(program: AnalyzedProgram, probes: ProbeCache): Promise<Map<string, number> | undefined> {
  const wild = program.probes.filter((p) => p.text.includes('*') && !/^(u|ur|uprobe|uretprobe|U|usdt):/.test(p.text));
  if (!wild.length) return undefined;
  const all = await probes.all().catch(() => undefined);
  if (!all) return undefined;
  return new Map(wild.map((p) => [p.text, all.filter(probeMatcher(p.text)).length]));
}

/** The safety report for one run: the same evaluation validate_program shows. */
export async function assessRun(policy: Policy, probes: ProbeCache, run: PolicyRun): Promise<SafetyReport> {
  const program = run.launch.program !== undefined ? analyzeProgram(run.launch.program) : undefined;
  const probeCounts = program ? await wildcardCounts(program, probes) : undefined;
  return policy.evaluate({ tool: run.tool.def.name, argv: run.launch.spec.argv, program, probeCounts, input: run.input });
}

const findingText = (f: Finding, level: string) =>
  `policy rule "${f.rule}" (safety level ${level})${f.line !== null ? ` at line ${f.line}:${f.column}` : ''}: ${f.message} ${f.remedy}`;

/**
 * What a confirm verdict does to a run. No person can be asked yet, so the run goes ahead
 * (undefined) with the confirm note among its warnings. The change that asks (an MCP input
 * request, a CLI y/N prompt) replaces this function alone: a "no" becomes the refusal result.
 */
async function confirmRun(report: SafetyReport, run: PolicyRun): Promise<ToolResult | undefined> {
  run.warn?.(`policy: ${report.confirmation ?? "this needs a person's confirmation"}`);
  return undefined;
}

/**
 * The policy as Core's pre-run hook: every run of every runnable tool passes here, after
 * rendering, so no input can route around it. A refusal names the rule and how to proceed;
 * warn and confirm findings go into the run's warnings.
 */
export function policyHook(policy: Policy, probes: ProbeCache): (run: PolicyRun) => Promise<ToolResult | undefined> {
  return async (run) => {
    const report = await assessRun(policy, probes, run);
    if (report.verdict === 'refuse') return errorResult(refusalText(report), 'policy', { safety: report });
    for (const f of report.findings) run.warn?.(findingText(f, report.level));
    if (report.verdict === 'confirm') return confirmRun(report, run);
    return undefined;
  };
}
