// The README's kernel matrix: which features were verified on which kernel, from the records
// scripts/stock-kernel/run.mjs keeps in docs/stock-kernels.json.

/** Rows of the matrix; `host` is what this machine's own kernel (no kprobes) shows in npm test. */
export const FEATURES = [
  { id: 'templates', title: 'kprobe templates (trace_kernel_calls, trace_kernel_function_latency, …)', host: 'refused with a clear error (no kprobes)' },
  {
    id: 'bcc',
    title: 'kprobe bcc tools (vfsstat, tcpconnect, capable, …)',
    host: 'refused with a clear error (no kprobes)',
    refusal: /^bcc \S+ refused/,
    fallback: /^bcc \S+ fell back/,
  },
  { id: 'examples', title: 'kprobe examples of the library', host: 'compiled only (no kprobes)' },
  { id: 'machine', title: "bpftrace's own kprobe .bt tools", host: 'compiled only (no kprobes)', refusal: /\.bt failed/ },
  { id: 'discovery', title: 'list_probes, discover_probes, search_examples, validate_program with kprobes', host: 'tracepoints, uprobes, USDT (npm test)' },
  { id: 'renames', title: 'diagnosis of renamed kernel functions', host: 'recorded listing (npm test)' },
  { id: 'integration', title: 'MCP integration suite (test/integration)', host: 'npm test' },
];

/** Which row a test belongs to, by its file and name. */
export function featureOf(file, name) {
  if (file.startsWith('test/integration/')) return 'integration';
  if (/renamed/.test(name)) return 'renames';
  if (file.endsWith('kprobe-discovery.test.ts')) return 'discovery';
  if (/\btemplate\b/.test(name)) return 'templates';
  if (/\bbcc\b/.test(name)) return 'bcc';
  if (/library example|kprobe examples/.test(name)) return 'examples';
  if (/machine tool|\.bt tools/.test(name)) return 'machine';
  return 'other';
}

const KERNELS = [
  { id: 'debian-6.1', title: 'Debian 12 (6.1)' },
  { id: 'debian-6.12', title: 'Debian 13 (6.12)' },
];

/** The matrix as Markdown: one column for this machine, one per stock kernel with a record. */
export function renderMatrix(runs) {
  const cols = KERNELS.map((k) => ({ ...k, runs: Object.values(runs).filter((r) => r.kernel === k.id) }));
  const head = ['Feature', 'This machine (6.18, no kprobes)', ...cols.map((c) => c.title)];
  const cell = (c, f) => {
    const parts = c.runs
      .filter((r) => r.results?.features?.[f.id])
      .map((r) => {
        const s = r.results.features[f.id];
        // Third-party tools this kernel refused pass their test (the failure is diagnosed) but
        // did not run: the matrix says so.
        const refused = (r.notes ?? []).filter((n) => f.refusal?.test(n)).length;
        // A tool whose first provider this kernel refused ran with the next one, in the same call.
        const fellBack = (r.notes ?? []).filter((n) => f.fallback?.test(n)).length;
        const ran = `${refused ? `, ${refused} refused by this kernel` : ''}${fellBack ? `, ${fellBack} ran by the next provider after a refusal` : ''}`;
        const failed = s.failed?.length ? `; failed: ${s.failed.map((t) => t.replace(/ (runs|attaches|lists|offers|marks|passes)\b.*$/, '')).join(', ')}` : '';
        return `${s.passed === s.total ? '✓' : '✗'} ${s.passed}/${s.total}${ran}${failed} (bpftrace ${r.bpftrace.replace(/^bpftrace v?/, '') || r.bpftrace_lane}, ${r.date})`;
      });
    return parts.length ? parts.join('<br>') : 'not run';
  };
  const rows = FEATURES.map((f) => [f.title, f.host, ...cols.map((c) => cell(c, f))]);
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return `${[line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n')}\n`;
}
