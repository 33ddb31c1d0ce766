import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { KernelProbes, availability, versionKey } from '../../src/knowledge/availability.js';
import { conceptsIn, stem } from '../../src/knowledge/concepts.js';
import { ExampleIndex } from '../../src/knowledge/example-search.js';
import { headerDescription, libraryFiles, loadLibrary, probesOf } from '../../src/knowledge/examples.js';

const LIB = path.resolve(__dirname, '../fixtures/examples-lib');

describe('concepts', () => {
  it('stems the forms of a word to one term', () => {
    expect(new Set(['write', 'writes', 'writing'].map(stem)).size).toBe(1);
    expect(new Set(['file', 'files'].map(stem)).size).toBe(1);
    expect(stem('vfs_write')).toBe('vfs_write');
    expect(stem('constructor')).toBe('constructor');
    expect(stem('blocked')).not.toBe(stem('block'));
  });

  it('finds the intent of a symptom, with the words that triggered it', () => {
    const hits = conceptsIn('My app is slow writing files');
    expect(hits.map((h) => h.concept)).toEqual(expect.arrayContaining(['latency', 'write', 'files']));
    expect(hits.find((h) => h.concept === 'latency')?.via).toBe('slow');
  });

  it('matches a trigger of several words as a sequence only', () => {
    expect(conceptsIn('a major page fault storm').map((h) => h.concept)).toContain('pagefault');
    expect(conceptsIn('the page is blank').map((h) => h.concept)).not.toContain('pagefault');
  });
});

describe('examples library', () => {
  it('loads valid examples and reports bad files without failing', () => {
    const { examples, problems } = loadLibrary(LIB);
    expect(examples.map((e) => e.id)).toContain('vfs-write-latency');
    expect(problems.map((p) => `${path.basename(p.file)}: ${p.message}`).sort()).toEqual([
      'bad-id.yaml: id "Not_Kebab" is not kebab-case',
      expect.stringMatching(/^dup\.yaml: id "exec-trace" is also used by .*processes\/exec-trace\.yaml$/),
    ]);
  });

  it('uses the build cache only for files whose content it hashed', () => {
    const files = libraryFiles(LIB);
    const fresh = loadLibrary(LIB);
    const cached = loadLibrary(LIB, { files });
    expect(cached.examples).toEqual(fresh.examples);
    const stale = { files: { ...files, 'files/opens-by-file.yaml': { sha1: 'old', value: { id: 'stale' } } } };
    expect(loadLibrary(LIB, stale).examples.map((e) => e.id)).toContain('opens-by-file');
    expect(loadLibrary(LIB, stale).fromCache).toBe(false);
  });

  it('reads the probes of a program, not what its blocks or predicates contain', () => {
    const prog =
      '// kprobe:in_comment\nBEGIN { printf("t:x:y\\n"); }\nkprobe:vfs_read,\nkretprobe:vfs_read /pid == 1/ { @[probe] = count(); }\ntracepoint:block:*\n{ }\n';
    expect(probesOf(prog)).toEqual(['BEGIN', 'kprobe:vfs_read', 'kretprobe:vfs_read', 'tracepoint:block:*']);
  });

  it('takes a .bt tool description from its header comment', () => {
    const prog = '/*\n * biolat.bt\tBlock I/O latency as a histogram.\n *\t\tFor Linux, uses bpftrace, eBPF.\n *\n * Copyright 2018 X\n */\nBEGIN {}';
    expect(headerDescription(prog, 'biolat')).toEqual({ summary: 'Block I/O latency as a histogram.', detail: '' });
  });
});

describe('search', () => {
  const index = () => ExampleIndex.build(loadLibrary(LIB).examples);

  it('finds file write latency for a symptom that names none of its words', async () => {
    const hits = (await index()).search('my app is slow writing files', { limit: 3 });
    expect(hits[0].example.id).toBe('vfs-write-latency');
    expect(hits[0].matched_terms).toEqual(expect.arrayContaining(['slow', 'writing', 'files']));
    expect(hits[0].concepts.join(' ')).toMatch(/latency \(from "slow"\)/);
  });

  it('ranks by intent across wordings', async () => {
    const ix = await index();
    const top = (q: string) => ix.search(q, { limit: 1 })[0]?.example.id;
    expect(top('why is the disk slow?')).toBe('block-io-latency');
    expect(top('storage latency')).toBe('block-io-latency');
    expect(top('which process keeps opening /etc/hosts')).toBe('opens-by-file');
    expect(top('where is cpu time going')).toBe('profile-kernel-stacks');
    expect(top('connection refused')).toBe('tcp-connect-failures');
    expect(top('short-lived processes spawned by cron')).toBe('exec-trace');
  });

  it('filters by tags and category, and finds nothing for noise', async () => {
    const ix = await index();
    expect(ix.search('latency', { limit: 10, tags: ['block'] }).map((h) => h.example.id)).toEqual(['block-io-latency']);
    expect(ix.search('latency', { limit: 10, tags: ['no-such-tag'] })).toEqual([]);
    expect(ix.search('the of and', { limit: 5 })).toEqual([]);
  });
});

describe('availability', () => {
  const kernel = new KernelProbes(
    ['tracepoint:block:block_rq_issue', 'tracepoint:block:block_rq_complete', 'tracepoint:syscalls:sys_enter_openat'],
    (p) => p === '/bin/sh',
  );
  const ex = loadLibrary(LIB).examples;
  const byId = (id: string) => ex.find((e) => e.id === id)!;

  it('marks kprobe examples missing on a kernel without kprobes', () => {
    const a = availability(byId('vfs-write-latency'), kernel, '0.17');
    expect(a).toMatchObject({ probes_exist: false, runs_here: false, compiles_on_version: true });
    expect(a.missing_probes).toEqual(['kprobe:vfs_write', 'kretprobe:vfs_write', 'requires kprobes']);
  });

  it('checks globs, uprobe binaries and the version', () => {
    expect(kernel.exists('tracepoint:block:*')).toBe(true);
    expect(kernel.exists('t:sched:*')).toBe(false);
    expect(kernel.exists('uprobe:/bin/sh:main')).toBe(true);
    expect(kernel.exists('uprobe:/no/such:main')).toBe(false);
    expect(kernel.exists('profile:hz:99')).toBe(true);
    expect(versionKey('v0.23.2')).toBe('0.23');
    const a = availability({ ...byId('block-io-latency'), compiles: { '0.17': false } }, kernel, '0.17');
    expect(a).toMatchObject({ probes_exist: true, compiles_on_version: false, runs_here: false });
    expect(availability(byId('block-io-latency'), undefined, null)).toMatchObject({ probes_exist: null, compiles_on_version: null, runs_here: true });
  });
});
