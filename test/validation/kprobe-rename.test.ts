import { expect, it } from 'vitest';
import { analyzeProgram, ProgramValidator } from '../../src/validation/validator.js';
import type { ProbeCache } from '../../src/runtime/probe-cache.js';
import { BPFTRACE_PATH, describeKernel } from '../helpers/kernel.js';
import { fakePreflight } from '../helpers/preflight.js';

// The kprobe listing of a stock kernel where a function was renamed with a __ prefix (as
// blk_account_io_start was). This machine has no kprobes, so the kernel's side is recorded here;
// the stock-kernel lane checks the same diagnosis against a real kernel's listing.
const LISTING = ['kprobe:__blk_account_io_start', 'kprobe:blk_account_io_merge_bio', 'kprobe:vfs_read', 'kprobe:vfs_write', 'tracepoint:block:block_rq_issue'];

function validatorWithKprobes(listing: string[]): ProgramValidator {
  const cache = {
    all: async () => listing,
    search: async () => [],
    detail: async () => undefined,
  } as unknown as ProbeCache;
  const v = new ProgramValidator(async () => ({ ...(await fakePreflight()), bpftrace: BPFTRACE_PATH }), cache);
  (v.sources as { kernel: { kprobes: boolean } }).kernel.kprobes = true;
  return v;
}

describeKernel('a kprobe on a function the kernel does not have (bpftrace compiles it)', () => {
  it('is an unknown_probe error at its line, naming the renamed function', async () => {
    const r = await validatorWithKprobes(LISTING).check('BEGIN { }\nkprobe:blk_account_io_start { @ = count(); }');
    expect(r.valid).toBe(false);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ category: 'unknown_probe', line: 2, column: 1 });
    expect(r.errors[0].message).toContain('this kernel has no function blk_account_io_start');
    expect(r.errors[0].suggestion).toContain('"kprobe:__blk_account_io_start"');
  });

  it('leaves a function the kernel has, and a listing without kprobes, alone', async () => {
    const present = await validatorWithKprobes(LISTING).check('kretprobe:vfs_read { @ = count(); }');
    expect({ valid: present.valid, errors: present.errors }).toEqual({ valid: true, errors: [] });
    const blind = await validatorWithKprobes(['tracepoint:block:block_rq_issue']).check('kprobe:blk_account_io_start { @ = count(); }');
    expect(blind.errors).toEqual([]);
  });

  it('a failed attach (0.17-0.24 compile such a kprobe) is diagnosed the same way, not as a kernel without kprobes', async () => {
    const program = 'kretprobe:blk_account_io_start { @ = count(); }';
    const d = await validatorWithKprobes(LISTING).diagnose(
      analyzeProgram(program),
      "ERROR: Error attaching probe: 'kretprobe:blk_account_io_start'\n",
      'stdin',
    );
    expect(d.errors).toHaveLength(1);
    expect(d.errors[0].category).toBe('unknown_probe');
    expect(d.errors[0].suggestion).toContain('"kprobe:__blk_account_io_start"');
    expect(d.errors[0].suggestion).not.toContain('no kprobes');
  });
});
