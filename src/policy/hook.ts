import { errorResult, type ConfirmAnswer, type ConfirmRequest, type ToolResult } from '../results/tool-result.js';
import type { ProbeCache } from '../runtime/probe-cache.js';
import { probeMatcher } from '../runtime/probe-cache.js';
import { tracerArgv } from '../runtime/privileges.js';
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
  /** Asks a person (CallContext.confirm); absent where nobody can be asked. */
  confirm?: (request: ConfirmRequest) => Promise<ConfirmAnswer>;
  /** Told the verdict the run ended with (the audit log records it). */
  verdict?(verdict: string): void;
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
  // The tracer's argv, not sudo's or the privileged helper's: their `--` would hide its options.
  return policy.evaluate({ tool: run.tool.def.name, argv: tracerArgv(run.launch.spec.argv), program, probeCounts, input: run.input });
}

const findingText = (f: Finding, level: string) =>
  `policy rule "${f.rule}" (safety level ${level})${f.line !== null ? ` at line ${f.line}:${f.column}` : ''}: ${f.message} ${f.remedy}`;

/** How a person approves a run where nobody can be asked, at each level. */
function howToApprove(level: string): string {
  const cli = level === 'strict' ? 'run it from a terminal (mcptrace answers y/N there)' : 'run it from a terminal (y/N), or pass --yes in a script';
  return (
    `To approve: ${cli}; or call it from an MCP client that supports elicitation, which shows the question to its user; ` +
    'or have the operator change the rule (a policy file, --policy) or the safety level.'
  );
}

/**
 * What a confirm verdict does to a run: a person is asked, through whatever asked for the run (a
 * terminal prompt, an MCP input request). Yes runs it; no, a dismissal or nobody to ask refuses it
 * with the reason, so a risky trace never starts on an unanswered question.
 */
async function confirmRun(report: SafetyReport, run: PolicyRun): Promise<ToolResult | undefined> {
  const rules = [...new Set(report.findings.filter((f) => f.decision === 'confirm').map((f) => f.rule))];
  const reason = report.findings
    .filter((f) => f.decision === 'confirm')
    .map((f) => `${f.rule}: ${f.message.replace(/[.\s]+$/, '')}`)
    .join('; ');
  const request: ConfirmRequest = { tool: run.tool.def.name, reason, rules, level: report.level, program: run.launch.program, argv: run.launch.spec.argv };
  const answer = run.confirm ? await run.confirm(request) : 'unavailable';
  const why = `policy rule${rules.length === 1 ? '' : 's'} ${rules.map((r) => `"${r}"`).join(', ')} (safety level ${report.level}) ask${rules.length === 1 ? 's' : ''} a person to confirm this run: ${reason}`;
  switch (answer) {
    case 'accept':
      run.warn?.(`policy: a person confirmed this run (${rules.join(', ')}, safety level ${report.level})`);
      run.verdict?.('confirmed');
      return undefined;
    case 'ask':
      run.verdict?.('confirm');
      return { ...errorResult(`waiting for a person: ${why}`, 'policy', { safety: report, confirmation: 'asked' }), confirm: request };
    case 'decline':
    case 'cancel':
      run.verdict?.(answer === 'decline' ? 'declined' : 'cancelled');
      return errorResult(
        `not run: the person ${answer === 'decline' ? 'said no' : 'dismissed the question'}. ${why}. Change the program (see the rule's remedy: ${report.findings.find((f) => f.decision === 'confirm')?.remedy ?? 'none'}) or ask again.`,
        'policy',
        { safety: report, confirmation: answer === 'decline' ? 'declined' : 'cancelled' },
      );
    default:
      run.verdict?.('confirm');
      return errorResult(`not run: ${why}, and nobody could be asked here. ${howToApprove(report.level)}`, 'policy', {
        safety: report,
        confirmation: 'unavailable',
      });
  }
}

/**
 * The policy as Core's pre-run hook: every run of every runnable tool passes here, after
 * rendering, so no input can route around it. A refusal names the rule and how to proceed;
 * warn and confirm findings go into the run's warnings.
 */
export function policyHook(policy: Policy, probes: ProbeCache): (run: PolicyRun) => Promise<ToolResult | undefined> {
  return async (run) => {
    const report = await assessRun(policy, probes, run);
    if (report.verdict === 'refuse') {
      run.verdict?.('refuse');
      return errorResult(refusalText(report), 'policy', { safety: report });
    }
    for (const f of report.findings) if (f.decision !== 'confirm') run.warn?.(findingText(f, report.level));
    if (report.verdict === 'confirm') return confirmRun(report, run);
    run.verdict?.(report.verdict);
    return undefined;
  };
}
