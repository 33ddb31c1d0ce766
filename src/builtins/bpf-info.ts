import { bpftraceArgv } from '../runtime/bpftrace/command.js';
import { parseBpftraceInfo } from '../runtime/bpftrace/info.js';
import { environmentChecks, SEVERITY_MARK, severityOf, withSeverity } from '../runtime/environment-checks.js';
import type { Preflight } from '../runtime/environment.js';
import { runToCompletion } from '../runtime/subprocess.js';
import { defineBuiltin } from './builtin.js';

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
    const structured = { bpftrace_version: env.version ?? null, bpftrace_features: env.features ?? null, environment: env.checks.map(withSeverity), ...info };
    const text = [
      ...env.checks.map((c) => `${SEVERITY_MARK[severityOf(c)]} ${c.name}: ${c.detail}${c.fix ? ` (fix: ${c.fix})` : ''}`),
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
