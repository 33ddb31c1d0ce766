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
import { GENERIC_WORDS, STOP_WORDS } from './concepts.js';
import {
  describe,
  pairOf,
  ProbeIndex,
  probeNotes,
  subsystemOf,
  tracepointArgs,
  type DiscoveredProbe,
  type ProbeNotes,
  type UserProbeCandidate,
} from './probe-discovery.js';
import { WeightedQuery } from './query.js';

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
  private libraryPaths?: Map<string, string>;
  private readonly exported = new Map<string, Promise<Set<string>>>();

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
    const found = index.search(goal, opts, await this.userCandidates(goal).catch(() => []));
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

  /** Each library of the notes at the first of its paths that exists here. */
  private libraries(): Map<string, string> {
    if (this.libraryPaths) return this.libraryPaths;
    this.libraryPaths = new Map();
    for (const [alias, lib] of Object.entries(this.notes().libraries ?? {})) {
      const found = (Array.isArray(lib?.paths) ? lib.paths : []).find((p) => {
        try {
          return typeof p === 'string' && statSync(p).isFile();
        } catch {
          return false;
        }
      });
      if (found) this.libraryPaths.set(alias, found);
    }
    return this.libraryPaths;
  }

  /** The functions a library exports, listed once (a quarter of a second for libc). */
  private functionsOf(file: string): Promise<Set<string>> {
    let p = this.exported.get(file);
    if (!p) {
      p = this.probes
        .search(`uprobe:${file}:*`)
        .then((list) => new Set(list.map((l) => l.slice(`uprobe:${file}:`.length).replace(/@.*$/, ''))))
        .catch(() => new Set<string>());
      this.exported.set(file, p);
    }
    return p;
  }

  /**
   * The uprobes a goal asks for without naming a binary's path: a function of a known library
   * that it names ("malloc", "libc fopen", "SSL_write"), any exported function of a library it
   * names ("glibc strlen"), and the functions its concepts point at (DNS → getaddrinfo).
   */
  private async userCandidates(goal: string): Promise<UserProbeCandidate[]> {
    const libs = this.notes().libraries ?? {};
    const paths = this.libraries();
    if (!paths.size) return [];
    const typed = goal.split(/[^A-Za-z0-9_]+/).filter((w) => w.length >= 3 && !STOP_WORDS.has(w.toLowerCase()) && !GENERIC_WORDS.has(w.toLowerCase()));
    const lower = new Set(typed.map((w) => w.toLowerCase()));
    const out = new Map<string, UserProbeCandidate>();
    const add = (type: string, alias: string, fn: string, named: boolean) => {
      const file = paths.get(alias);
      if (!file) return;
      const probe = `${type}:${file}:${fn}`;
      if (out.has(probe)) return;
      const what = libs[alias]?.functions?.[fn];
      const lib = path.basename(file);
      out.set(probe, {
        probe,
        named,
        description:
          type === 'usdt'
            ? `USDT probe ${fn} built into ${lib}${what ? ` (${what})` : ''}.`
            : type === 'uretprobe'
              ? `Return of ${fn}() in ${lib}${what ? ` (${what})` : ''}: retval is its result.`
              : `Entry of ${fn}() in ${lib}${what ? ` (${what})` : ''}, with its arguments as arg0, arg1….`,
      });
    };
    for (const [alias, lib] of Object.entries(libs)) {
      if (!paths.has(alias)) continue;
      for (const fn of Object.keys(lib?.functions ?? {})) {
        if (lower.has(fn.toLowerCase()) || lower.has(`${fn.toLowerCase()}s`)) {
          add('uprobe', alias, fn, true);
          add('uretprobe', alias, fn, true);
        }
      }
      const named = [alias, ...(lib?.names ?? [])].some((n) => lower.has(n.toLowerCase()));
      if (named) {
        const exported = await this.functionsOf(paths.get(alias)!);
        const names = [alias, ...(lib?.names ?? [])].map((n) => n.toLowerCase());
        for (const w of typed) if (!names.includes(w.toLowerCase()) && exported.has(w)) add('uprobe', alias, w, true);
      }
    }
    for (const c of new WeightedQuery(goal).conceptProbes) {
      const m = /^(uprobe|uretprobe|usdt):@([\w.+-]+):([\w.:]+)$/.exec(c.pattern);
      if (m) add(m[1], m[2], m[3], false);
    }
    return [...out.values()];
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
