import { EXAMPLES_DIR, MACHINE_TOOL_DIRS } from '../config/paths.js';
import type { Preflight } from '../runtime/environment.js';
import type { ProbeCache } from '../runtime/probe-cache.js';
import { availability, KernelProbes, versionKey, type Availability } from './availability.js';
import { ExampleIndex, type SearchHit, type SearchOptions } from './example-search.js';
import { loadLibrary, loadMachineTools, type Example, type ExampleProblem } from './examples.js';

export interface KnowledgeOptions {
  examplesDir?: string;
  machineToolDirs?: readonly string[];
}

export interface RankedHit extends SearchHit {
  availability: Availability;
}

// An example that cannot run here still shows (it teaches), but below those that can.
const MISSING_PROBES_FACTOR = 0.45;
const NOT_COMPILING_FACTOR = 0.6;

/**
 * The examples library and the machine's own bpftrace tools, loaded and indexed on first use
 * (never at start-up), and checked against this kernel's probes and the bpftrace in use.
 */
export class KnowledgeBase {
  private loaded?: Promise<{ index: ExampleIndex; problems: ExampleProblem[] }>;
  private kernel?: Promise<KernelProbes | undefined>;

  constructor(
    private readonly probes: ProbeCache,
    private readonly preflight: () => Promise<Preflight>,
    private readonly opts: KnowledgeOptions = {},
  ) {}

  private load(): Promise<{ index: ExampleIndex; problems: ExampleProblem[] }> {
    this.loaded ??= (async () => {
      const lib = loadLibrary(this.opts.examplesDir ?? process.env.MCPTRACE_EXAMPLES_DIR ?? EXAMPLES_DIR);
      const taken = new Set(lib.examples.map((e) => e.id));
      const machine = loadMachineTools(this.opts.machineToolDirs ?? MACHINE_TOOL_DIRS).filter((e) => !taken.has(e.id));
      for (const p of lib.problems) process.stderr.write(`mcptrace: skipped example ${p.file}: ${p.message}\n`);
      return { index: await ExampleIndex.build([...lib.examples, ...machine]), problems: lib.problems };
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
      const factor = (a.probes_exist === false ? MISSING_PROBES_FACTOR : 1) * (a.compiles_on_version === false ? NOT_COMPILING_FACTOR : 1);
      return { ...h, score: h.score * factor, availability: a };
    });
    ranked.sort((a, b) => b.score - a.score);
    return ranked.slice(0, opts.limit);
  }
}
