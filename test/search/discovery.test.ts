import path from 'node:path';
import { describe as group, expect, it } from 'vitest';
import { Core } from '../../src/core/core.js';
import { type KnowledgeBase } from '../../src/knowledge/library.js';
import { describe as describeProbe, pairOf, ProbeIndex, subsystemOf, tracepointArgs } from '../../src/knowledge/probe-discovery.js';
import { describeKernel } from '../helpers/kernel.js';

const LISTED = new Set([
  'tracepoint:syscalls:sys_enter_openat',
  'tracepoint:syscalls:sys_exit_openat',
  'tracepoint:block:block_rq_issue',
  'tracepoint:block:block_rq_complete',
  'tracepoint:irq:softirq_entry',
  'tracepoint:irq:softirq_exit',
  'tracepoint:sched:sched_switch',
  'tracepoint:sched:sched_wakeup',
  'kprobe:vfs_read',
]);
const exists = (p: string) => LISTED.has(p) || (p.startsWith('kretprobe:') && LISTED.has(p.replace('kretprobe:', 'kprobe:')));
const NOTES = { subsystems: { block: 'Block device requests (disk I/O).' }, probes: { 'tracepoint:block:block_rq_issue': 'A request goes to the device.' } };

group('probe pairs and descriptions', () => {
  it('pairs an interval from either end, and only with probes that exist', () => {
    expect(pairOf('tracepoint:syscalls:sys_enter_openat', exists)).toMatchObject({
      entry: 'tracepoint:syscalls:sys_enter_openat',
      exit: 'tracepoint:syscalls:sys_exit_openat',
    });
    expect(pairOf('tracepoint:syscalls:sys_exit_openat', exists)).toMatchObject({
      entry: 'tracepoint:syscalls:sys_enter_openat',
      exit: 'tracepoint:syscalls:sys_exit_openat',
    });
    expect(pairOf('tracepoint:block:block_rq_complete', exists)).toMatchObject({ entry: 'tracepoint:block:block_rq_issue' });
    expect(pairOf('tracepoint:irq:softirq_exit', exists)).toMatchObject({ entry: 'tracepoint:irq:softirq_entry' });
    expect(pairOf('tracepoint:sched:sched_wakeup', exists)?.use).toMatch(/run-queue latency/);
    expect(pairOf('kprobe:vfs_read', exists)).toMatchObject({ entry: 'kprobe:vfs_read', exit: 'kretprobe:vfs_read' });
    expect(pairOf('tracepoint:syscalls:sys_enter_close', exists)).toBeUndefined();
  });

  it('describes from our notes, then from the name', () => {
    expect(describeProbe('tracepoint:block:block_rq_issue', NOTES)).toBe('A request goes to the device.');
    expect(describeProbe('tracepoint:syscalls:sys_exit_openat', NOTES)).toMatch(/^Return of the openat\(\) system call/);
    expect(describeProbe('tracepoint:block:block_plug', NOTES)).toBe('block plug (a block tracepoint).');
    expect(describeProbe('tracepoint:syscalls:sys_enter_unlinkat', { ...NOTES, syscalls: { unlinkat: 'delete a file' } })).toBe(
      'Entry of the unlinkat() system call (delete a file), with its arguments.',
    );
    expect(subsystemOf('tracepoint:sched:sched_switch')).toBe('sched');
    expect(subsystemOf('uprobe:/bin/bash:readline')).toBe('bash');
  });

  it('copes with a kernel that lists a name twice, and with names like Object methods', async () => {
    const ix = await ProbeIndex.build(['kprobe:constructor', 'kprobe:constructor', 'kprobe:tostring_helper', ...LISTED], NOTES);
    const r = ix.search('constructor toString', { limit: 5 });
    expect(r.probes.map((p) => p.probe).sort()).toEqual(['kprobe:constructor', 'kprobe:tostring_helper']);
    expect(r.probes.find((p) => p.probe === 'kprobe:constructor')).toMatchObject({
      subsystem: 'constructor',
      description: 'Entry of the kernel function constructor.',
    });
  });

  it('ranks the probes of the goal, filtered by type', async () => {
    const ix = await ProbeIndex.build([...LISTED], NOTES);
    const r = ix.search('slow disk', { limit: 3 });
    expect(r.probes[0].probe).toBe('tracepoint:block:block_rq_issue');
    expect(r.concepts.join(' ')).toMatch(/disk.*latency|latency.*disk/);
    expect(ix.search('vfs read', { limit: 5, types: ['kretprobe'] }).probes.map((p) => p.probe)).toEqual(['kprobe:vfs_read']);
  });
});

describeKernel('discover_probes on this kernel', () => {
  it('reads tracepoint fields from tracefs', async () => {
    const args = await tracepointArgs('/sys/kernel/tracing', 'tracepoint:block:block_rq_issue');
    expect(args).toEqual(expect.arrayContaining(['dev_t dev', 'sector_t sector']));
    expect(args.join(' ')).not.toMatch(/common_/);
  });

  it('finds the block tracepoints for "why is the disk slow", with arguments and the issue/complete pair', async () => {
    const core = new Core({ knowledge: { examplesDir: path.resolve(__dirname, '../fixtures/examples-lib') } });
    const kb: KnowledgeBase = core.knowledge;
    const d = await kb.discover('why is the disk slow', { limit: 10 });
    const block = d.groups.find((g) => g.subsystem === 'block');
    expect(block?.description).toMatch(/disk/i);
    const issue = block?.probes.find((p) => p.probe === 'tracepoint:block:block_rq_issue');
    expect(issue?.args).toContain('sector_t sector');
    expect(issue?.pair?.exit).toBe('tracepoint:block:block_rq_complete');
    const r = await core.callTool('discover_probes', { goal: 'who sends signals', limit: 5 });
    expect(r.text).toMatch(/tracepoint:signal:signal_generate/);
  });

  it('lists the uprobes of a binary named in the goal', async () => {
    const core = new Core();
    const d = await core.knowledge.discover('readline in /bin/bash', { limit: 5, types: ['uprobe'] });
    expect(d.groups.flatMap((g) => g.probes.map((p) => p.probe))).toContain('uprobe:/bin/bash:readline');
  });
});
