// npm run eval:views: the views against the kinds of output people trace, each a real run on
// this machine shown the way an MCP Apps host shows it (scripts/ui-host.mjs). A case passes
// when the view reaches its end state with the drawings its output calls for and no script
// error. A third of the cases (split: heldout) were kept out of development; `-- --split
// heldout` runs only them. Needs root, bpftrace and Debian's chromium.
import { spawn } from 'node:child_process';
import { startAppsHost } from './ui-host.mjs';

const only = process.argv.includes('--split') ? process.argv[process.argv.indexOf('--split') + 1] : undefined;
const read = 'tracepoint:syscalls:sys_exit_read';

/**
 * Each case: the tool and its arguments; `live` the selectors the live view must show once the
 * run has ended (and `text`, words it must show); `charts` those the charts view must show for analyze_output (absent: not
 * opened); `flame` a compare_runs of two such runs must draw frames.
 */
const CASES = [
  { id: 'count-by-comm', split: 'dev', args: { program: `${read} { @[comm] = count(); }` }, live: ['figure.topkeys'], charts: ['figure.topkeys'] },
  {
    id: 'log2-hist',
    split: 'dev',
    args: { program: `${read} { @bytes = hist(args->ret); }` },
    live: ['[data-percentile="p50"]'],
    charts: ['[data-percentile="p99"]'],
  },
  {
    id: 'keyed-hist',
    split: 'heldout',
    args: { program: `${read} { @[comm] = hist(args->ret); }` },
    live: ['figure.chart'],
    charts: ['[data-percentile="p90"]'],
  },
  {
    id: 'lhist',
    split: 'dev',
    args: { program: `${read} /args->ret >= 0/ { @sizes = lhist(args->ret, 0, 4096, 256); }` },
    live: ['figure.chart'],
    charts: ['[data-percentile="p50"]'],
  },
  {
    id: 'sum-by-comm',
    split: 'heldout',
    args: { program: `${read} /args->ret > 0/ { @bytes[comm] = sum(args->ret); }` },
    live: ['figure.topkeys'],
    charts: ['figure.topkeys'],
  },
  { id: 'stats', split: 'dev', args: { program: `${read} { @s = stats(args->ret); }` }, live: ['table.scalars'], charts: ['table.scalars'] },
  {
    id: 'kstack-profile',
    split: 'heldout',
    busy: true,
    args: { program: 'profile:hz:499 /pid > 0/ { @[kstack] = count(); }' },
    live: ['.frame'],
    charts: ['.frame'],
    flame: true,
  },
  { id: 'printf-stream', split: 'dev', args: { program: 'interval:ms:100 { printf("tick %d\\n", @n); @n++; }' }, live: ['#output:not(:empty)'] },
  {
    id: 'interval-series',
    split: 'dev',
    args: { program: `${read} { @reads = count(); } interval:ms:200 { print(@reads); clear(@reads); }` },
    live: ['#output:not(:empty)'],
    charts: ['figure.series'],
  },
  {
    id: 'max-min',
    split: 'heldout',
    args: { program: `${read} { @most[comm] = max(args->ret); @least[comm] = min(args->ret); }` },
    live: ['figure.topkeys'],
    text: ['@most', '@least'],
  },
  { id: 'tuple-keys', split: 'dev', args: { program: `${read} { @[pid, comm] = count(); }` }, live: ['#maps :is(figure, table)'] },
  {
    id: 'scalar-and-avg',
    split: 'heldout',
    args: { program: `${read} { @n = count(); @mean = avg(args->ret); @last = args->ret; }` },
    live: ['table.scalars'],
    text: ['@mean', '@last', '@n'],
  },
  { id: 'ustack-profile', split: 'dev', busy: true, args: { program: 'profile:hz:199 /pid > 0/ { @[ustack, comm] = count(); }' }, live: ['.frame'] },
  { id: 'compile-error', split: 'heldout', args: { program: 'tracepoint:syscalls:sys_exit_read { @x = count() }}' }, error: true },
  { id: 'bcc-execsnoop', split: 'dev', tool: 'execsnoop', args: { duration: 2 }, busy: true, live: ['#output:not(:empty)'] },
  { id: 'template-syscall-latency', split: 'heldout', tool: 'trace_syscall_latency', args: { duration: 2 }, live: ['#output:not(:empty)'] },
  { id: 'dry-run', split: 'dev', args: { program: 'BEGIN { exit(); }', dry_run: true }, dryRun: true },
  {
    id: 'lost-hist-with-zero',
    split: 'heldout',
    args: { program: `${read} /args->ret == 0/ { @zero = hist(args->ret); }` },
    live: ['figure.chart'],
    charts: ['[data-percentile]'],
  },
];

const host = await startAppsHost({ serveArgs: ['--toolsets', 'all'] });
const results = [];
const burn = () => spawn('dd', ['if=/dev/urandom', 'of=/dev/null', 'bs=64k', 'count=100000']);

async function check(view, input, result, selectors, errors, texts = []) {
  const { page, frame, errors: pageErrors } = await host.open(view, input, result);
  try {
    for (const sel of selectors) await frame.waitForSelector(sel, { timeout: 30_000, state: 'attached' });
    const shown = (await frame.textContent('main')) ?? '';
    for (const t of texts) if (!shown.includes(t)) errors.push(`${view}: does not show ${t}`);
    const failure = (await frame.$eval('#error', (e) => (e.hidden ? '' : e.textContent)).catch(() => '')) || '';
    if (failure) errors.push(`${view}: shows an error: ${failure.slice(0, 200)}`);
  } catch (e) {
    errors.push(`${view}: ${e.message.split('\n')[0]}`);
  } finally {
    errors.push(...pageErrors.map((m) => `${view}: script error: ${m}`));
    await page.close();
  }
}

for (const c of CASES.filter((x) => !only || x.split === only)) {
  const errors = [];
  const workload = c.busy ? burn() : undefined;
  try {
    const args = { timeout: 2, ...(c.tool ? {} : { wait: true }), ...c.args };
    if (c.tool) delete args.timeout;
    let r = await host.call(c.tool ?? 'exec_program', c.tool ? { ...args, wait: true } : args);
    const id = r.structuredContent?.execution_id;
    if (c.dryRun) {
      const { page, frame, errors: pe } = await host.open('live-run', args, r);
      const text = await frame.textContent('#output');
      if (!/bpftrace/.test(text ?? '')) errors.push(`dry run: the view does not show the command (${(text ?? '').slice(0, 80)})`);
      errors.push(...pe);
      await page.close();
    } else if (c.error) {
      const { page, frame, errors: pe } = await host.open('live-run', args, r);
      await frame
        .waitForFunction(() => !document.getElementById('error').hidden || /error|failed/.test(document.getElementById('status').textContent), undefined, {
          timeout: 20_000,
        })
        .catch(() => errors.push('compile error: the view shows no error'));
      errors.push(...pe);
      await page.close();
    } else {
      if (!id) throw new Error(`no run: ${JSON.stringify(r.content?.[0]?.text ?? r).slice(0, 300)}`);
      await check('live-run', args, r, [...(c.live ?? []), '#status:is(.status-completed, .status-timed_out, .status-stopped)'], errors, c.text);
      if (c.charts) {
        r = await host.call('analyze_output', { execution_id: id, png: false });
        await check('charts', { execution_id: id }, r, c.charts, errors);
      }
      if (c.flame) {
        const again = await host.call('exec_program', args);
        const compared = await host.call('compare_runs', { a: id, b: again.structuredContent.execution_id, png: false });
        await check('flamegraph', {}, compared, ['.frame'], errors);
      }
    }
  } catch (e) {
    errors.push(e.message);
  } finally {
    workload?.kill();
  }
  results.push({ id: c.id, split: c.split, ok: errors.length === 0, errors });
  process.stderr.write(`${errors.length ? '✗' : '✓'} ${c.split.padEnd(7)} ${c.id}${errors.length ? `\n    ${errors.join('\n    ')}` : ''}\n`);
}
await host.close();

for (const split of ['heldout', 'dev']) {
  const set = results.filter((r) => r.split === split);
  if (set.length) process.stderr.write(`${split}: ${set.filter((r) => r.ok).length}/${set.length} cases pass\n`);
}
process.exit(results.every((r) => r.ok) ? 0 : 1);
