import { bpftraceArgv } from '../runtime/bpftrace/command.js';
import { parseBpftraceInfo } from '../runtime/bpftrace/info.js';
import { environmentChecks, SEVERITY_MARK, severityOf, withSeverity } from '../runtime/environment-checks.js';
import type { Preflight } from '../runtime/environment.js';
import { runToCompletion } from '../runtime/subprocess.js';
import { defineBuiltin, type ToolSummary } from './builtin.js';

/** Which bcc tools can run here, and why the others cannot. */
function bccAvailability(tools: ToolSummary[]): { available: string[]; unavailable: { name: string; reason: string }[] } {
  const bcc = tools.filter((t) => t.kind === 'bcc');
  const failed = (t: ToolSummary) => t.checks.find((c) => !c.ok);
  return {
    available: bcc.filter((t) => !failed(t)).map((t) => t.name),
    unavailable: bcc.filter(failed).map((t) => ({ name: t.name, reason: failed(t)!.detail })),
  };
}

// `bpftrace --info` does not change while the process lives; one answer serves every call.
let infoCache: Promise<Record<string, unknown>> | undefined;

function bpftraceInfo(preflight: () => Promise<Preflight>): Promise<Record<string, unknown>> {
  infoCache ??= (async () => {
    const argv = bpftraceArgv(await preflight(), ['--info']);
    const r = await runToCompletion(argv[0], argv.slice(1), { all: true });
    return parseBpftraceInfo(String(r.all ?? ''));
  })().catch((e) => {
    infoCache = undefined;
    return { error: (e as Error).message };
  });
  return infoCache;
}

export default defineBuiltin<Record<string, never>>({
  handler: 'bpf_info',
  async run(_input, ctx) {
    const env = await environmentChecks();
    const bpftraceOk = env.checks.find((c) => c.name === 'bpftrace')?.ok;
    const info = bpftraceOk ? await bpftraceInfo(ctx.preflight) : {};
    const bcc = bccAvailability(ctx.tools());
    const structured = {
      bpftrace_version: env.version ?? null,
      bpftrace_features: env.features ?? null,
      environment: env.checks.map(withSeverity),
      bcc_tools: bcc,
      ...info,
    };
    const text = [
      ...env.checks.map((c) => `${SEVERITY_MARK[severityOf(c)]} ${c.name}: ${c.detail}${c.fix ? ` (fix: ${c.fix})` : ''}`),
      `bcc tools that can run here (${bcc.available.length}): ${bcc.available.join(', ') || 'none'}`,
      ...(bcc.unavailable.length
        ? [`bcc tools that cannot (${bcc.unavailable.length}): ${bcc.unavailable.map((u) => u.name).join(', ')}; list_bcc_tools says why`]
        : []),
      '',
      ...Object.entries(info).flatMap(([section, kv]) =>
        typeof kv === 'object' && kv
          ? [`${section}:`, ...Object.entries(kv as Record<string, string>).map(([k, v]) => `  ${k}: ${v}`)]
          : [`${section}: ${String(kv)}`],
      ),
    ].join('\n');
    return { structured, text };
  },
});
