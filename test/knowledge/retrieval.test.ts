// Retrieval beyond shared words: concepts that name a mechanism lift the probes that observe it,
// generic words ("process") count little beside specific ones, user-space functions a request
// names become uprobes, .bt tools keep their uprobes, and plan_trace names the one candidate to
// start with, template or example, on one scale. No kernel needed: probes and examples are given.
import { describe, expect, it } from 'vitest';
import { planTrace, type PlanContext, type TemplateCatalog } from '../../src/assist/plan.js';
import { conceptsIn } from '../../src/knowledge/concepts.js';
import { ExampleIndex } from '../../src/knowledge/example-search.js';
import { probesOf, type Example } from '../../src/knowledge/examples.js';
import type { Discovery, KnowledgeBase, RankedHit } from '../../src/knowledge/library.js';
import { ProbeIndex } from '../../src/knowledge/probe-discovery.js';
import { globCovers, WeightedQuery } from '../../src/knowledge/query.js';

const LISTED = [
  'tracepoint:ipi:ipi_send_cpu',
  'tracepoint:ipi:ipi_send_cpumask',
  'tracepoint:irq_vectors:call_function_entry',
  'tracepoint:power:cpu_frequency',
  'tracepoint:power:pm_qos_add_request',
  'tracepoint:sched:sched_process_fork',
  'tracepoint:sched:sched_process_exec',
  'tracepoint:syscalls:sys_enter_process_madvise',
  'tracepoint:syscalls:sys_enter_ioctl',
  'tracepoint:syscalls:sys_exit_ioctl',
  'tracepoint:syscalls:sys_enter_openat',
  'tracepoint:syscalls:sys_enter_sethostname',
  'tracepoint:task:task_rename',
  'tracepoint:printk:console',
  'tracepoint:writeback:writeback_written',
  'tracepoint:block:block_rq_issue',
];
const NOTES = { subsystems: {}, probes: {} };
const names = (r: { probes: { probe: string }[] }) => r.probes.map((p) => p.probe);

describe('concepts', () => {
  it('match a trigger whose parts are apart ("a & b"), and let a specific concept override a mistaken one', () => {
    const hits = conceptsIn('who changed the hostname of this box?').map((c) => c.concept);
    expect(hits).toContain('uts');
    expect(hits).not.toContain('dns');
    expect(conceptsIn('how long do hostname lookups take').map((c) => c.concept)).toContain('dns');
  });

  it('read a file path as a file being opened', () => {
    expect(conceptsIn('who keeps reading /etc/shadow').map((c) => c.concept)).toContain('open');
    expect(conceptsIn('writes to /var stall').map((c) => c.concept)).not.toContain('open');
  });

  it('never throw on odd input', () => {
    for (const t of ['', '&', ' & & ', '/', '//x//y', '\u0000', 'a'.repeat(10_000)])
      expect(() => new WeightedQuery(t).conceptProbeScore('tracepoint:ipi:x')).not.toThrow();
  });
});

describe('weighted query', () => {
  it('counts a generic word little beside a specific one, and fully when it is alone', () => {
    const q = new WeightedQuery('ioctl per process');
    expect(q.weight.get('ioctl')).toBe(1);
    expect(q.weight.get('process')).toBeLessThan(0.5);
    expect(new WeightedQuery('process').weight.get('process')).toBe(1);
  });

  it('compares probe specs in one spelling: aliases, a library by name, one file under two paths', () => {
    expect(globCovers('tracepoint:ipi:*', 't:ipi:ipi_send_cpu')).toBe(true);
    expect(globCovers('uprobe:@libc:malloc', 'uprobe:/usr/lib/x86_64-linux-gnu/libc.so.6:malloc')).toBe(true);
    expect(globCovers('uretprobe:/bin/bash:readline', 'ur:/usr/bin/bash:readline')).toBe(true);
    expect(globCovers('tracepoint:block:block_rq_issue', 'tracepoint:block:*')).toBe(true);
    expect(globCovers('uprobe:@libc:malloc', 'uprobe:/lib/libssl.so.3:malloc')).toBe(false);
  });
});

describe('probe discovery', () => {
  it('lifts the probes of a concept that share no word with the goal', async () => {
    const ix = await ProbeIndex.build(LISTED, NOTES);
    expect(names(ix.search('IPIs per cpu and reason', { limit: 2 }))).toEqual(['tracepoint:ipi:ipi_send_cpu', 'tracepoint:ipi:ipi_send_cpumask']);
    expect(names(ix.search('who asks for low wake-up latency through PM QoS?', { limit: 1 }))).toEqual(['tracepoint:power:pm_qos_add_request']);
    expect(names(ix.search('what is the kernel writing to dmesg', { limit: 1 }))).toEqual(['tracepoint:printk:console']);
  });

  it('does not let "process" pull sched_process_* over the event asked for', async () => {
    const ix = await ProbeIndex.build(LISTED, NOTES);
    expect(names(ix.search('ioctl calls per process', { limit: 2 })).sort()).toEqual([
      'tracepoint:syscalls:sys_enter_ioctl',
      'tracepoint:syscalls:sys_exit_ioctl',
    ]);
    expect(names(ix.search('process name changes', { limit: 1 }))).toEqual(['tracepoint:task:task_rename']);
  });

  it('ranks a user function the goal names first, and one a concept implies among the kernel probes', async () => {
    const ix = await ProbeIndex.build(LISTED, NOTES);
    const user = [
      { probe: 'uprobe:/lib/x86_64-linux-gnu/libc.so.6:fopen', description: 'Entry of fopen()', named: true },
      { probe: 'uprobe:/lib/x86_64-linux-gnu/libc.so.6:getaddrinfo', description: 'Entry of getaddrinfo()', named: false },
    ];
    const r = ix.search('libc fopen by file', { limit: 3 }, user);
    expect(r.probes[0]).toMatchObject({ probe: 'uprobe:/lib/x86_64-linux-gnu/libc.so.6:fopen', type: 'uprobe' });
    expect(r.probes[0].pair).toEqual({
      entry: 'uprobe:/lib/x86_64-linux-gnu/libc.so.6:fopen',
      exit: 'uretprobe:/lib/x86_64-linux-gnu/libc.so.6:fopen',
      use: expect.any(String),
    });
    expect(names(ix.search('slow dns lookups', { limit: 3 }, user))).toContain('uprobe:/lib/x86_64-linux-gnu/libc.so.6:getaddrinfo');
    expect(names(ix.search('slow dns lookups', { limit: 5, types: ['tracepoint'] }, user))).not.toContain('uprobe:/lib/x86_64-linux-gnu/libc.so.6:getaddrinfo');
  });
});

const example = (id: string, title: string, probes: string[], source: Example['source'] = 'library'): Example => ({
  id,
  title,
  description: title,
  category: 'misc',
  tags: [],
  probes,
  requires: [],
  complexity: 'basic',
  output: 'printf',
  program: `${probes.join(',')} { @[comm] = count(); }`,
  compiles: {},
  source,
  file: `${id}.yaml`,
});

describe('examples', () => {
  it('keep the uprobes of a .bt tool, whose probe names a path', () => {
    const bt = 'BEGIN { printf("Tracing...\\n"); }\nuretprobe:/bin/bash:readline\n{\n printf("%s\\n", str(retval));\n}\nkprobe:vfs_read/pid == 1/ { }';
    expect(probesOf(bt)).toEqual(['BEGIN', 'uretprobe:/bin/bash:readline', 'kprobe:vfs_read']);
  });

  it("rank an example built on a concept's probes above one that only shares words", async () => {
    const ix = await ExampleIndex.build([
      example('cpu-usage', 'CPU usage per cpu and process', ['profile:hz:99']),
      example('ipi-reasons', 'Cross-CPU calls by function', ['tracepoint:ipi:ipi_send_cpu']),
    ]);
    expect(ix.search('IPIs per cpu', { limit: 2 })[0].example.id).toBe('ipi-reasons');
  });
});

// plan_trace with a knowledge base and templates given: what it ranks, not what the kernel has.
function context(hits: RankedHit[], probes: { probe: string; score: number }[], templates: { name: string; title: string; probes: string[] }[]): PlanContext {
  const discovery: Discovery = {
    goal: '',
    concepts: [],
    count: probes.length,
    groups: [
      {
        subsystem: 'x',
        description: null,
        probes: probes.map((p) => ({ ...p, type: 'tracepoint', subsystem: 'x', description: '', args: [], matched_terms: [] })),
      },
    ],
  };
  const knowledge = { search: async () => hits, discover: async () => discovery } as unknown as KnowledgeBase;
  const catalog: TemplateCatalog = {
    list: () => templates.map((t) => ({ name: t.name, title: t.title, purpose: t.title, parameters: [], requires: [] })),
    render: (name) => ({ ok: true, value: { probes: templates.find((t) => t.name === name)?.probes ?? [] } }),
  };
  return { knowledge, templates: catalog, kernel: { kprobes: false, btf: true } };
}
const hit = (e: Example, score: number): RankedHit => ({
  example: e,
  score,
  matched_terms: [],
  concepts: [],
  availability: {
    runs_here: true,
    probes_exist: true,
    missing_probes: [],
    compiles_on_version: null,
    bpftrace_version: null,
  } as unknown as RankedHit['availability'],
});

describe('plan_trace: where to start', () => {
  it('starts with the example that traces what the goal is about over a template that only shares words', async () => {
    const deletes = example('file-deletes', 'File deletes and renames', ['tracepoint:syscalls:sys_enter_unlinkat']);
    const ctx = context(
      [hit(deletes, 10)],
      [
        { probe: 'tracepoint:syscalls:sys_enter_unlinkat', score: 10 },
        { probe: 'tracepoint:sched:sched_process_exit', score: 3 },
      ],
      [{ name: 'trace_process_lifecycle', title: 'Who deletes files: process lifecycle', probes: ['tracepoint:sched:sched_process_exit'] }],
    );
    const plan = await planTrace('who deletes files', ctx);
    expect(plan.start_with).toMatchObject({ kind: 'example', id: 'file-deletes' });
    expect(plan.examples[0].fit).toBeGreaterThan(plan.templates[0]?.fit ?? 0);
    expect(plan.next_steps[0]).toContain('file-deletes');
  });

  it('starts with a template when it fits best, and with nothing when nothing traces the probes found', async () => {
    const ctx = context(
      [hit(example('cpu-usage', 'CPU usage per cpu', ['profile:hz:99']), 5)],
      [{ probe: 'tracepoint:block:block_rq_issue', score: 8 }],
      [{ name: 'trace_block_io_latency', title: 'Block I/O latency', probes: ['tracepoint:block:block_rq_issue', 'tracepoint:block:block_rq_complete'] }],
    );
    expect((await planTrace('block io latency', ctx)).start_with).toMatchObject({ kind: 'template', id: 'trace_block_io_latency' });
    const none = context([hit(example('cpu-usage', 'CPU usage per cpu', ['profile:hz:99']), 5)], [{ probe: 'tracepoint:ipi:ipi_send_cpu', score: 8 }], []);
    expect((await planTrace('IPIs per cpu', none)).start_with).toBeUndefined();
  });

  it('stays within its budget with start_with, and copes with no knowledge at all', async () => {
    const many = Array.from({ length: 4 }, (_, i) => hit(example(`ex-${i}`, `Example ${i} block io`, ['tracepoint:block:block_rq_issue']), 10 - i));
    const ctx = context(many, [{ probe: 'tracepoint:block:block_rq_issue', score: 8 }], []);
    for (const budget of [2000, 600]) {
      const plan = await planTrace('block io', ctx, budget);
      expect(plan.budget.used).toBeLessThanOrEqual(budget);
      expect(JSON.stringify(plan).length / 4).toBeLessThanOrEqual(budget + 1);
    }
    const broken = {
      knowledge: { search: () => Promise.reject(new Error('x')), discover: () => Promise.reject(new Error('x')) } as unknown as KnowledgeBase,
      templates: { list: () => [], render: () => ({ ok: false as const, message: '' }) },
      kernel: { kprobes: false, btf: false },
    };
    await expect(planTrace('anything', broken)).resolves.toMatchObject({ templates: [], examples: [] });
  });
});
