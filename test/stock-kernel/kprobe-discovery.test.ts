import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { Core } from '../../src/core/core.js';
import { TRACEFS } from '../../src/runtime/environment.js';
import { STOCK_KERNEL } from './guard.js';

// Discovery, validation and diagnosis where kprobes exist: the listing has tens of thousands of
// kernel functions, examples that need kprobes become runnable, and a function the kernel
// renamed is diagnosed with the name it has now.

const core = new Core({ env: { HOME: '/nonexistent' } });
afterAll(() => core.shutdown());

/** Kernel functions this kernel can probe (what bpftrace lists as kprobe:NAME). */
const functions = new Set(
  readFileSync(`${TRACEFS}/available_filter_functions`, 'utf8')
    .split('\n')
    .map((l) => l.split(/\s/)[0])
    .filter(Boolean),
);

/**
 * A rename as kernels make them: `__NAME` exists and NAME does not (blk_account_io_start became
 * __blk_account_io_start). Taken from this kernel's own list, so the test holds on any kernel.
 */
function renamedFunction(): { old: string; now: string } {
  const all = [...functions];
  const candidates = all.filter((f) => f.startsWith('__') && /^[a-z][a-z0-9]+_[a-z0-9_]{6,}$/.test(f.slice(2)) && !functions.has(f.slice(2)));
  // Unambiguous: no other function contains the old name, so the rename is the only answer.
  for (const f of candidates.slice(0, 200)) if (!all.some((g) => g !== f && g.includes(f.slice(2)))) return { old: f.slice(2), now: f };
  throw new Error('no __NAME function without NAME on this kernel');
}

describe(`discovery and diagnosis with kprobes on ${STOCK_KERNEL}`, () => {
  it('list_probes lists kernel functions as kprobes, paged, with MCPtrace fields', async () => {
    const r = await core.callTool('list_probes', { filter: 'kprobe:vfs_read*' });
    const s = r.structured as { probes: string[]; count: number; total: number };
    expect(s.probes).toContain('kprobe:vfs_read');
    expect(s.count).toBe(s.probes.length);
    const all = await core.callTool('list_probes', { filter: 'kprobe:*', limit: 10 });
    const a = all.structured as { probes: string[]; total: number; has_more: boolean };
    expect(a.total).toBeGreaterThan(10_000);
    expect({ returned: a.probes.length, has_more: a.has_more }).toEqual({ returned: 10, has_more: true });
  });

  it('discover_probes offers kprobes for a kernel function goal', async () => {
    const r = await core.callTool('discover_probes', { goal: 'latency of vfs_read in the kernel', probe_types: ['kprobe'] });
    const groups = (r.structured as { groups: { probes: { probe: string; type: string }[] }[] }).groups;
    const probes = groups.flatMap((g) => g.probes);
    expect(probes.length, r.text).toBeGreaterThan(0);
    expect(probes.every((p) => p.type === 'kprobe')).toBe(true);
    expect(probes.map((p) => p.probe)).toContain('kprobe:vfs_read');
  });

  it('search_examples marks a kprobe example runnable here', async () => {
    const r = await core.callTool('search_examples', { query: 'vfs read write latency kprobes', limit: 10 });
    const hit = (r.structured as { results: { id: string; probes_exist: boolean | null; missing_probes: string[] }[] }).results.find(
      (h) => h.id === 'vfs-io-latency-kprobes',
    );
    expect(hit, r.text).toBeDefined();
    expect({ exist: hit!.probes_exist, missing: hit!.missing_probes }).toEqual({ exist: true, missing: [] });
  });

  it('validate_program passes a kprobe program with no environment warning', async () => {
    const r = await core.callTool('validate_program', { program: 'kprobe:vfs_read { @[comm] = count(); } kretprobe:vfs_read { @r = count(); }' });
    const s = r.structured as { valid: boolean; warnings: { category: string }[]; probes: { pattern: string; count: number }[] };
    expect(s.valid, r.text).toBe(true);
    expect(s.warnings.filter((w) => w.category === 'environment')).toEqual([]);
    expect(s.probes.map((p) => p.count)).toEqual([1, 1]);
  });

  it('a renamed kernel function: validate_program names the new name', async () => {
    const { old, now } = renamedFunction();
    const r = await core.callTool('validate_program', { program: `kprobe:${old} { @ = count(); }` });
    const s = r.structured as { valid: boolean; errors: { category: string; line: number; suggestion: string }[] };
    expect(s.valid).toBe(false);
    expect(s.errors[0]).toMatchObject({ category: 'unknown_probe', line: 1 });
    expect(s.errors[0].suggestion).toContain(`kprobe:${now}`);
  });

  it('a renamed kernel function: exec_program fails, never reports success, and says what to use', async () => {
    const { old, now } = renamedFunction();
    const r = await core.callTool('exec_program', { program: `kprobe:${old} { @ = count(); }`, timeout: 60, wait: true });
    const s = r.structured as { status: string; error_message: string | null; hint?: string };
    expect(s.status, r.text).toBe('failed');
    expect(s.error_message).toBeTruthy();
    expect(r.text).toContain(now);
  });
});
