import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { EXAMPLES_CACHE, EXAMPLES_DIR, KNOWLEDGE_DIR, MACHINE_TOOL_DIRS } from '../config/paths.js';
import { yamlLib } from '../manifest/lazy-libs.js';
import { TRACEFS } from '../runtime/environment.js';
import type { Preflight } from '../runtime/environment.js';
import type { ProbeCache } from '../runtime/probe-cache.js';
import { availability, KernelProbes, versionKey, type Availability } from './availability.js';
import { ExampleIndex, type SearchHit, type SearchOptions } from './example-search.js';
import { loadLibrary, loadMachineTools, type Example, type ExampleProblem, type LibraryCache } from './examples.js';
import { describe, pairOf, ProbeIndex, probeNotes, subsystemOf, tracepointArgs, type DiscoveredProbe, type ProbeNotes } from './probe-discovery.js';

function readCache(): LibraryCache | undefined {
  try {
    return JSON.parse(readFileSync(EXAMPLES_CACHE, 'utf8')) as LibraryCache;
  } catch {
    return undefined; // not built yet: parse the YAML
  }
}

export interface KnowledgeOptions {
  examplesDir?: string;
  machineToolDirs?: readonly string[];
}

export interface ProbeGroup {
  subsystem: string;
  description: string | null;
  probes: DiscoveredProbe[];
}

export interface Discovery {
  goal: string;
  concepts: string[];
  groups: ProbeGroup[];
  count: number;
}

export interface RankedHit extends SearchHit {
  availability: Availability;
}

// An example that cannot run here still shows (it teaches), but below those that can.
const MISSING_PROBES_FACTOR = 0.45;
const NOT_COMPILING_FACTOR = 0.6;
// The library's examples were checked on every supported version; a machine's .bt tools were not
// (some fail to compile on some kernels), so among equals the library's come first.
const MACHINE_TOOL_FACTOR = 0.75;

/**
 * The examples library and the machine's own bpftrace tools, loaded and indexed on first use
 * (never at start-up), and checked against this kernel's probes and the bpftrace in use.
 */
export class KnowledgeBase {
  private loaded?: Promise<{ index: ExampleIndex; problems: ExampleProblem[] }>;
  private kernel?: Promise<KernelProbes | undefined>;
  private probeIndex?: Promise<ProbeIndex>;
  private probeNotes?: ProbeNotes;

  constructor(
    private readonly probes: ProbeCache,
    private readonly preflight: () => Promise<Preflight>,
    private readonly opts: KnowledgeOptions = {},
  ) {}

  private load(): Promise<{ index: ExampleIndex; problems: ExampleProblem[] }> {
    this.loaded ??= (async () => {
      const dir = this.opts.examplesDir ?? process.env.MCPTRACE_EXAMPLES_DIR ?? EXAMPLES_DIR;
      const cache = dir === EXAMPLES_DIR ? readCache() : undefined;
      const lib = loadLibrary(dir, cache);
      const taken = new Set(lib.examples.map((e) => e.id));
      const machine = loadMachineTools(this.opts.machineToolDirs ?? MACHINE_TOOL_DIRS).filter((e) => !taken.has(e.id));
      for (const p of lib.problems) process.stderr.write(`mcptrace: skipped example ${p.file}: ${p.message}\n`);
      const ids = lib.examples.map((e) => e.id);
      const prebuilt =
        lib.fromCache && cache?.index && cache.ids?.length === ids.length && cache.ids.every((id, i) => id === ids[i])
          ? { json: cache.index, count: ids.length }
          : undefined;
      return { index: await ExampleIndex.build([...lib.examples, ...machine], prebuilt), problems: lib.problems };
    })();
    return this.loaded;
  }

  async index(): Promise<ExampleIndex> {
    return (await this.load()).index;
  }

  async examples(): Promise<readonly Example[]> {
    return (await this.load()).index.examples;
  }

  async get(id: string): Promise<Example | undefined> {
    return (await this.load()).index.get(id);
  }

  /** The kernel's probes; undefined when bpftrace cannot list them (then nothing is marked missing). */
  private kernelProbes(): Promise<KernelProbes | undefined> {
    this.kernel ??= this.probes.all().then(
      (list) => new KernelProbes(list),
      () => {
        this.kernel = undefined;
        return undefined;
      },
    );
    return this.kernel;
  }

  private async version(): Promise<string | null> {
    try {
      return versionKey((await this.preflight()).features.version);
    } catch {
      return null;
    }
  }

  async availabilityOf(e: Example): Promise<Availability> {
    const [kernel, version] = await Promise.all([this.kernelProbes(), this.version()]);
    return availability(e, kernel, version);
  }

  /** Ranked by relevance, then lowered when the example cannot run here. */
  async search(query: string, opts: SearchOptions): Promise<RankedHit[]> {
    const [index, kernel, version] = await Promise.all([this.index(), this.kernelProbes(), this.version()]);
    // Rank a wider pool than asked, so an example that runs here can rise into the page.
    const pool = index.search(query, { ...opts, limit: Math.max(opts.limit * 3, 20) });
    const ranked = pool.map((h) => {
      const a = availability(h.example, kernel, version);
      const factor =
        (a.probes_exist === false ? MISSING_PROBES_FACTOR : 1) *
        (a.compiles_on_version === false ? NOT_COMPILING_FACTOR : 1) *
        (h.example.source === 'machine' ? MACHINE_TOOL_FACTOR : 1);
      return { ...h, score: h.score * factor, availability: a };
    });
    ranked.sort((a, b) => b.score - a.score);
    return ranked.slice(0, opts.limit);
  }

  notes(): ProbeNotes {
    this.probeNotes ??= probeNotes(yamlLib().parse(readFileSync(path.join(KNOWLEDGE_DIR, 'probes.yaml'), 'utf8')) as ProbeNotes);
    return this.probeNotes;
  }

  private probesIndex(): Promise<ProbeIndex> {
    this.probeIndex ??= (async () => ProbeIndex.build(await this.probes.all(), this.notes()))();
    this.probeIndex.catch(() => (this.probeIndex = undefined));
    return this.probeIndex;
  }

  /**
   * Probes for a goal, grouped by subsystem, with their arguments and the probe that pairs with
   * each. A path to a binary in the goal also lists its uprobes and USDT probes.
   */
  async discover(goal: string, opts: { limit: number; types?: string[] }): Promise<Discovery> {
    const index = await this.probesIndex();
    const found = index.search(goal, opts);
    const binaries = goal.split(/\s+/).filter((w) => w.startsWith('/') && existsSync(w) && statSync(w).isFile());
    const wantsUser = !opts.types?.length || opts.types.some((t) => /^(uprobe|uretprobe|usdt)$/.test(t));
    if (binaries.length && wantsUser) found.probes.unshift(...(await this.userProbes(binaries, goal, opts)));
    const probes = found.probes.slice(0, opts.limit);
    await Promise.all(
      probes.map(async (p) => {
        p.args = await tracepointArgs(TRACEFS, p.probe);
      }),
    );
    const groups = new Map<string, ProbeGroup>();
    for (const p of probes) {
      const g = groups.get(p.subsystem) ?? { subsystem: p.subsystem, description: this.notes().subsystems[p.subsystem] ?? null, probes: [] };
      g.probes.push(p);
      groups.set(p.subsystem, g);
    }
    return { goal, concepts: found.concepts, groups: [...groups.values()], count: probes.length };
  }

  /** A binary's uprobes and USDT probes whose names share a word of the goal. */
  private async userProbes(binaries: string[], goal: string, opts: { limit: number; types?: string[] }): Promise<DiscoveredProbe[]> {
    const words = goal
      .toLowerCase()
      .split(/[^a-z0-9_]+/)
      .filter((w) => w.length >= 3 && !binaries.some((b) => b.toLowerCase().includes(w)));
    const types = opts.types?.length ? opts.types.filter((t) => t === 'usdt' || t === 'uprobe' || t === 'uretprobe') : ['uprobe', 'usdt'];
    const out: DiscoveredProbe[] = [];
    for (const bin of binaries) {
      for (const type of new Set(types.map((t) => (t === 'uretprobe' ? 'uprobe' : t)))) {
        const listed = await this.probes.search(`${type}:${bin}:*`).catch(() => [] as string[]);
        const exists = (p: string) => listed.includes(p.replace(/^uretprobe:/, 'uprobe:'));
        for (const probe of listed) {
          const fn = probe.split(':').slice(2).join(':').toLowerCase();
          const hit = words.filter((w) => fn.includes(w));
          if (words.length && !hit.length) continue;
          const pair = pairOf(probe, exists);
          out.push({
            probe,
            type,
            subsystem: subsystemOf(probe),
            description: describe(probe, this.notes()),
            args: [],
            ...(pair ? { pair } : {}),
            score: hit.length,
            matched_terms: hit,
          });
        }
      }
    }
    return out.sort((a, b) => b.score - a.score).slice(0, opts.limit);
  }
}
