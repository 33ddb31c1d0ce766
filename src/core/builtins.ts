import { environmentChecks, parseBpftraceInfo } from '../runtime/bpf-info.js';
import type { Execution } from '../runtime/execution.js';
import { EnvironmentError } from '../runtime/environment.js';
import { runToCompletion } from '../runtime/subprocess.js';
import type { Core } from './core.js';
import { executionView, renderExecutionText, waitForExecution } from './execution-view.js';
import { errorResult, type CallContext, type ToolResult } from './tool-result.js';

export type BuiltinHandler = (core: Core, input: Record<string, any>, ctx: CallContext) => Promise<ToolResult>;

function findExecution(core: Core, id: string): Execution | ToolResult {
  const e = core.runner.get(id);
  if (e) return e;
  const known = core.runner.list().slice(-5).map((x) => x.id);
  if (!known.length) {
    return errorResult(
      `no execution "${id}": this mcptrace process has started none. Executions live in the process that started them (an MCP server session); in a terminal, a trace runs in the foreground of its own command.`,
      'not_found',
    );
  }
  return errorResult(
    `no execution "${id}": it never existed or was forgotten (the last ${core.runner.options.maxRetained} finished runs are kept, up to ${Math.round(core.runner.options.maxRetainedBytes / 2 ** 20)} MiB of output in all). ` +
      `Recent ids: ${known.join(', ')}. Call list_executions to see them all.`,
    'not_found',
  );
}

export function viewResult(e: Execution, page: { offset?: number; limit?: number; includeMaps?: boolean }): ToolResult {
  const v = executionView(e, page);
  return {
    structured: v,
    text: renderExecutionText(v),
    isError: e.status === 'failed',
    errorKind: e.status === 'failed' ? 'failed' : e.status === 'timed_out' ? 'timeout' : undefined,
  };
}

const getResult: BuiltinHandler = async (core, input, ctx) => {
  const e = findExecution(core, input.execution_id);
  if (!('id' in e)) return e;
  if (input.wait && !e.finished) {
    await waitForExecution(e, ctx, { maxMs: input.wait * 1000, untilLines: Math.max(input.offset, 0) });
  }
  return viewResult(e, { offset: input.offset, limit: input.limit, includeMaps: input.include_maps });
};

const stopExecution: BuiltinHandler = async (core, input, ctx) => {
  const e = findExecution(core, input.execution_id);
  if (!('id' in e)) return e;
  if (!e.finished) {
    core.runner.stop(e, 'stop');
    // Wait for bpftrace to print its maps, so the caller gets them in this answer.
    if (input.wait) await waitForExecution(e, ctx, { maxMs: input.wait * 1000 });
  }
  const r = viewResult(e, { offset: 0, limit: input.limit, includeMaps: input.include_maps });
  return { ...r, isError: false };
};

const listExecutions: BuiltinHandler = async (core, input) => {
  const rows = core.runner
    .list()
    .filter((e) => !input.status || e.status === input.status)
    .map((e) => ({
      execution_id: e.id,
      tool: e.tool,
      status: e.status,
      phase: e.phase,
      duration_ms: e.durationMs() ?? null,
      lines_total: e.lines.length,
      started_at: e.startedAt ? new Date(e.startedAt).toISOString() : null,
      command: e.commandLine.length > 200 ? `${e.commandLine.slice(0, 200)}…` : e.commandLine,
    }));
  const text = rows.length
    ? rows.map((r) => `${r.execution_id}  ${r.status.padEnd(9)}  ${r.tool.padEnd(16)}  ${String(r.lines_total).padStart(6)} lines  ${r.duration_ms ?? '-'} ms`).join('\n')
    : 'no executions yet; start one with exec_program';
  return { structured: { executions: rows, count: rows.length }, text };
};

const listProbes: BuiltinHandler = async (core, input) => {
  let probes: string[];
  try {
    probes = await core.probes.search(input.filter);
  } catch (e) {
    return errorResult((e as Error).message, e instanceof EnvironmentError ? 'environment' : 'failed');
  }
  const page = probes.slice(input.offset, input.offset + input.limit);
  const structured: Record<string, unknown> = {
    filter: input.filter ?? null,
    probes: page,
    total: probes.length,
    offset: input.offset,
    has_more: input.offset + page.length < probes.length,
  };
  let text = page.join('\n') || `no probes match "${input.filter}"; try a wider pattern such as "tracepoint:syscalls:*open*" or "*sched*"`;
  // One exact probe: its arguments are what a program author needs next.
  if (probes.length === 1 && input.filter && !input.filter.includes('*')) {
    const detail = await core.probes.detail(probes[0]);
    if (detail) {
      structured.detail = detail;
      text = [detail.probe, ...detail.args.map((a) => `    ${a}`)].join('\n');
    }
  }
  if (structured.has_more) text += `\n-- ${page.length} of ${probes.length} probes; call again with offset ${input.offset + page.length} for more`;
  return { structured, text };
};

let infoCache: Promise<Record<string, unknown>> | undefined;

const bpfInfo: BuiltinHandler = async (core) => {
  const env = await environmentChecks();
  let info: Record<string, unknown> = {};
  const bpftraceOk = env.checks.find((c) => c.name === 'bpftrace')?.ok;
  if (bpftraceOk) {
    infoCache ??= (async () => {
      const pre = await core.preflight();
      const argv = [...pre.privilegePrefix, pre.bpftrace, '--info'];
      const r = await runToCompletion(argv[0], argv.slice(1), { all: true });
      return parseBpftraceInfo(String(r.all ?? ''));
    })().catch((e) => {
      infoCache = undefined;
      return { error: (e as Error).message };
    });
    info = await infoCache;
  }
  const structured = { bpftrace_version: env.version ?? null, environment: env.checks, ...info };
  const text = [
    ...env.checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}${c.fix ? ` (fix: ${c.fix})` : ''}`),
    '',
    ...Object.entries(info).flatMap(([section, kv]) =>
      typeof kv === 'object' && kv ? [`${section}:`, ...Object.entries(kv as Record<string, string>).map(([k, v]) => `  ${k}: ${v}`)] : [`${section}: ${String(kv)}`],
    ),
  ].join('\n');
  return { structured, text };
};

export const BUILTIN_HANDLERS: Record<string, BuiltinHandler> = {
  get_result: getResult,
  stop_execution: stopExecution,
  list_executions: listExecutions,
  list_probes: listProbes,
  bpf_info: bpfInfo,
};
