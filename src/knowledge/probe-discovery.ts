import type MiniSearch from 'minisearch';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { conceptTokens, normalizeSpec, terms, WeightedQuery } from './query.js';

/** Our descriptions of subsystems and notable probes (knowledge/probes.yaml). */
export interface ProbeNotes {
  subsystems: Record<string, string>;
  probes: Record<string, string>;
  /** What a system call does, by name. */
  syscalls?: Record<string, string>;
  /** User-space libraries and programs whose functions people name ("libc malloc"), by alias. */
  libraries?: Record<string, UserLibrary>;
}

export interface UserLibrary {
  /** Words that name it in a request ("glibc"). */
  names?: string[];
  /** Where distributions install it, most common first; the first that exists is used. */
  paths: string[];
  /** Its functions people trace, with what each does. */
  functions?: Record<string, string>;
}

/** A user-space probe a request may want, offered beside the kernel's (uprobes are never listed whole). */
export interface UserProbeCandidate {
  probe: string;
  description: string;
  /** It was named in the request ("libc fopen"), not only implied by a concept. */
  named: boolean;
}

export interface ProbePair {
  /** The probe that opens the interval and the one that closes it. */
  entry: string;
  exit: string;
  use: string;
}

export interface DiscoveredProbe {
  probe: string;
  type: string;
  subsystem: string;
  description: string;
  /** "type name", as `bpftrace -lv` prints them; empty when unknown. */
  args: string[];
  pair?: ProbePair;
  score: number;
  matched_terms: string[];
}

/**
 * The notes as lookup tables with no prototype: a probe or function named like an Object
 * method ("constructor") must find nothing, not a function.
 */
export function probeNotes(raw: Partial<ProbeNotes>): ProbeNotes {
  const table = (o: Record<string, string> | undefined) => Object.assign(Object.create(null) as Record<string, string>, o ?? {});
  const libraries = Object.assign(Object.create(null) as Record<string, UserLibrary>, raw.libraries ?? {});
  return { subsystems: table(raw.subsystems), probes: table(raw.probes), syscalls: table(raw.syscalls), libraries };
}

const TYPE_ALIASES: Record<string, string> = { kretprobe: 'kprobe', uretprobe: 'uprobe', kretfunc: 'kfunc', fexit: 'fentry' };

/** The subsystem a probe belongs to: a tracepoint's category, or the first word of a function. */
export function subsystemOf(probe: string): string {
  const [type, a = '', b = ''] = probe.split(':');
  if (type === 'tracepoint') return a;
  if (type === 'uprobe' || type === 'usdt') return path.basename(a);
  if (type === 'software' || type === 'hardware') return type;
  const fn = b || a;
  return /^[a-z0-9]+/.exec(fn.replace(/^_+/, ''))?.[0] ?? type;
}

/** A probe described from our notes, or from its name when we have none. */
export function describe(probe: string, notes: ProbeNotes): string {
  if (notes.probes[probe]) return notes.probes[probe];
  const [type, sub, name] = probe.split(':');
  if (type === 'tracepoint' && sub === 'syscalls') {
    const call = name.replace(/^sys_(enter|exit)_/, '');
    const what = notes.syscalls?.[call] ? ` (${notes.syscalls[call]})` : '';
    return name.startsWith('sys_enter_')
      ? `Entry of the ${call}() system call${what}, with its arguments.`
      : `Return of the ${call}() system call${what} (args->ret: the result, or -errno).`;
  }
  if (type === 'tracepoint') return `${(name ?? '').replace(/_/g, ' ')} (a ${sub} tracepoint).`;
  if (type === 'kprobe' || type === 'kfunc' || type === 'fentry') return `Entry of the kernel function ${name ?? sub}.`;
  if (type === 'uprobe') return `Entry of the function ${probe.split(':').slice(2).join(':')} in ${sub}.`;
  if (type === 'usdt') return `USDT probe ${probe.split(':').slice(2).join(':')} built into ${sub}.`;
  return probe;
}

// Known intervals first, then the kernel's naming conventions. `closes`: the probe given ends
// the interval, and the partner found starts it.
const PAIRS: { rx: RegExp; partner: string; use: string; closes?: boolean }[] = [
  { rx: /^tracepoint:syscalls:sys_enter_(\w+)$/, partner: 'tracepoint:syscalls:sys_exit_$1', use: 'time each $1() call and see its return value' },
  {
    rx: /^tracepoint:syscalls:sys_exit_(\w+)$/,
    partner: 'tracepoint:syscalls:sys_enter_$1',
    use: 'time each $1() call and see its return value',
    closes: true,
  },
  {
    rx: /^tracepoint:block:block_rq_(insert|issue)$/,
    partner: 'tracepoint:block:block_rq_complete',
    use: 'device I/O latency (key on args->dev and args->sector)',
  },
  {
    rx: /^tracepoint:block:block_rq_complete$/,
    partner: 'tracepoint:block:block_rq_issue',
    use: 'device I/O latency (key on args->dev and args->sector)',
    closes: true,
  },
  {
    rx: /^tracepoint:block:block_bio_queue$/,
    partner: 'tracepoint:block:block_bio_complete',
    use: 'block-layer latency of a bio (key on args->dev and args->sector)',
  },
  { rx: /^tracepoint:block:block_bio_complete$/, partner: 'tracepoint:block:block_bio_queue', use: 'block-layer latency of a bio', closes: true },
  { rx: /^tracepoint:block:block_io_start$/, partner: 'tracepoint:block:block_io_done', use: 'I/O latency as the block layer accounts it' },
  { rx: /^tracepoint:block:block_io_done$/, partner: 'tracepoint:block:block_io_start', use: 'I/O latency as the block layer accounts it', closes: true },
  {
    rx: /^tracepoint:sched:sched_wakeup(_new)?$/,
    partner: 'tracepoint:sched:sched_switch',
    use: 'run-queue latency: from wakeup until the task is switched in (args->next_pid)',
  },
  {
    rx: /^tracepoint:sched:sched_switch$/,
    partner: 'tracepoint:sched:sched_wakeup',
    use: 'run-queue latency: from wakeup until the task is switched in (args->next_pid)',
    closes: true,
  },
  { rx: /^tracepoint:raw_syscalls:sys_enter$/, partner: 'tracepoint:raw_syscalls:sys_exit', use: 'latency of any system call (key on tid)' },
  { rx: /^tracepoint:raw_syscalls:sys_exit$/, partner: 'tracepoint:raw_syscalls:sys_enter', use: 'latency of any system call (key on tid)', closes: true },
  { rx: /^(tracepoint:\w+:\w+)_(?:entry|enter)$/, partner: '$1_exit', use: 'time spent between the two (key on tid)' },
  { rx: /^(tracepoint:\w+:\w+)_exit$/, partner: '$1_entry', use: 'time spent between the two (key on tid)', closes: true },
  { rx: /^(tracepoint:\w+:\w+)_exit$/, partner: '$1_enter', use: 'time spent between the two (key on tid)', closes: true },
  { rx: /^(tracepoint:\w+:\w+)_(?:begin|start)$/, partner: '$1_end', use: 'time spent between the two (key on tid)' },
  { rx: /^(tracepoint:\w+:\w+)_start$/, partner: '$1_done', use: 'time spent between the two' },
  { rx: /^(tracepoint:\w+:\w+)_end$/, partner: '$1_begin', use: 'time spent between the two (key on tid)', closes: true },
  { rx: /^(tracepoint:\w+:\w+)_end$/, partner: '$1_start', use: 'time spent between the two (key on tid)', closes: true },
  { rx: /^(tracepoint:\w+:\w+)_done$/, partner: '$1_start', use: 'time spent between the two', closes: true },
  { rx: /^(?:kprobe|kretprobe):(.+)$/, partner: 'kprobe:$1|kretprobe:$1', use: 'latency of $1 (key on tid) and its return value (retval)' },
  { rx: /^(?:kfunc|kretfunc):(.+)$/, partner: 'kfunc:$1|kretfunc:$1', use: 'latency of $1 (key on tid) and its return value (retval)' },
  { rx: /^(?:fentry|fexit):(.+)$/, partner: 'fentry:$1|fexit:$1', use: 'latency of $1 (key on tid) and its return value (retval)' },
  { rx: /^(?:uprobe|uretprobe):(.+)$/, partner: 'uprobe:$1|uretprobe:$1', use: 'latency of the function (key on tid) and its return value (retval)' },
];

/** The probe that closes the interval a probe opens (or opens the one it closes), when it exists here. */
export function pairOf(probe: string, exists: (p: string) => boolean): ProbePair | undefined {
  for (const { rx, partner, use, closes } of PAIRS) {
    const m = rx.exec(probe);
    if (!m) continue;
    const fill = (t: string) => t.replace(/\$1/g, m[1] ?? '');
    if (partner.includes('|')) {
      // A function probe and its return probe: the pair is the same whichever was found.
      const [entry, exit] = partner.split('|').map(fill);
      if (exists(entry) && exists(exit)) return { entry, exit, use: fill(use) };
      continue;
    }
    const other = fill(partner);
    if (other !== probe && exists(other)) return closes ? { entry: other, exit: probe, use: fill(use) } : { entry: probe, exit: other, use: fill(use) };
  }
  return undefined;
}

/** A tracepoint's fields from its format file: what `args->NAME` can read. */
export async function tracepointArgs(tracefs: string, probe: string): Promise<string[]> {
  const [type, sub, name] = probe.split(':');
  if (type !== 'tracepoint' || !sub || !name || /[*?]/.test(probe)) return [];
  let text: string;
  try {
    text = await readFile(path.join(tracefs, 'events', sub, name, 'format'), 'utf8');
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*field:([^;]+);/gm)) {
    const decl = m[1].trim();
    if (/\bcommon_\w+$/.test(decl)) continue;
    // bpftrace reads a __data_loc string with str(args->name); say so in the type.
    out.push(decl.replace(/^__data_loc\s+char\[\]\s+(\w+)$/, 'string $1 (__data_loc char[]; read with str(args->$1))'));
  }
  return out;
}

interface ProbeDoc {
  id: string;
  subsystem: string;
  name: string;
  description: string;
  concepts: string;
}

/** The kernel's probes, searchable by goal (MiniSearch over names and our descriptions). */
export class ProbeIndex {
  private readonly listed: Set<string>;

  private constructor(
    private readonly ms: MiniSearch<ProbeDoc>,
    probes: readonly string[],
    readonly notes: ProbeNotes,
  ) {
    this.listed = new Set(probes);
  }

  static async build(probes: readonly string[], raw: ProbeNotes): Promise<ProbeIndex> {
    const notes = probeNotes(raw);
    const { default: MiniSearchClass } = await import('minisearch');
    const ms = new MiniSearchClass<ProbeDoc>({
      fields: ['subsystem', 'name', 'description', 'concepts'],
      tokenize: (text, field) => (field === 'concepts' ? text.split(' ').filter(Boolean) : terms(text)),
      processTerm: (t) => t,
    });
    // A kernel can list a name twice (a static function in two modules); MiniSearch needs unique ids.
    ms.addAll(
      [...new Set(probes)].map((p) => {
        const subsystem = subsystemOf(p);
        const note = notes.probes[p] ?? (p.startsWith('tracepoint:syscalls:') ? describe(p, notes) : '');
        const name = p.split(':').slice(1).join(' ');
        return {
          id: p,
          subsystem,
          name,
          description: `${note} ${notes.subsystems[subsystem] ?? ''}`,
          concepts: conceptTokens(`${name.replace(/_/g, ' ')} ${note}`),
        };
      }),
    );
    return new ProbeIndex(ms, probes, notes);
  }

  /** Whether a probe is listed here (a return probe exists when its entry probe does). */
  exists = (p: string): boolean => {
    if (this.listed.has(p)) return true;
    const [type, ...rest] = p.split(':');
    const entry = TYPE_ALIASES[type];
    return entry !== undefined && this.listed.has([entry, ...rest].join(':'));
  };

  /**
   * The probes for a goal: what shares its words (MiniSearch), lifted by the concepts it triggers
   * (their probes come first even when they share no word with the goal), with the user-space
   * probes the caller found for it.
   */
  search(goal: string, opts: { limit: number; types?: string[] }, user: readonly UserProbeCandidate[] = []): { probes: DiscoveredProbe[]; concepts: string[] } {
    const q = new WeightedQuery(goal);
    if (q.empty) return { probes: [], concepts: [] };
    const types = opts.types?.length ? new Set(opts.types.map((t) => TYPE_ALIASES[t] ?? t)) : undefined;
    const typeOk = (id: string) => !types || types.has(TYPE_ALIASES[id.split(':')[0]] ?? id.split(':')[0]);
    const { query, options } = q.miniSearch();
    const results = this.ms.search(query, {
      ...options,
      boost: { name: 2, subsystem: 1.5, description: 1, concepts: 0.5 },
      // The probes we describe are the ones programs are built on; prefer them among equals.
      boostDocument: (id) => (this.notes.probes[id as string] ? 1.5 : 1),
      filter: types ? (r) => typeOk(String(r.id)) : undefined,
    });
    const top = results[0]?.score ?? 1;
    const scored = new Map<string, { score: number; terms: string[] }>();
    for (const r of results) scored.set(String(r.id), { score: r.score, terms: q.explain(r.queryTerms).matched_terms });
    if (q.conceptProbes.length) {
      // Only the types the concepts name are worth a pass over the whole listing.
      const wanted = new Set(q.conceptProbes.map((c) => normalizeSpec(c.pattern).split(':')[0]));
      for (const p of this.listed) {
        if (!wanted.has(p.slice(0, p.indexOf(':'))) || !typeOk(p)) continue;
        const c = q.conceptProbeScore(p);
        if (!c) continue;
        const s = scored.get(p);
        scored.set(p, { score: (s?.score ?? 0) + top * CONCEPT_LIFT * c, terms: s?.terms ?? [] });
      }
    }
    for (const u of user) {
      if (!typeOk(u.probe)) continue;
      // A function the request names is what it asks for; one a concept implies ranks as its kernel probes do.
      const c = u.named ? NAMED_FUNCTION : q.conceptProbeScore(u.probe);
      scored.set(u.probe, { score: top * CONCEPT_LIFT * c + (u.named ? top : 0), terms: [] });
    }
    const userNotes = new Map(user.map((u) => [u.probe, u.description]));
    const ranked = [...scored.entries()].sort((a, b) => b[1].score - a[1].score).slice(0, opts.limit);
    const probes = ranked.map(([probe, { score, terms: matched }]) => {
      const pair = userNotes.has(probe) ? userPair(probe) : pairOf(probe, this.exists);
      return {
        probe,
        type: probe.split(':')[0],
        subsystem: subsystemOf(probe),
        description: userNotes.get(probe) ?? describe(probe, this.notes),
        args: [],
        ...(pair ? { pair } : {}),
        score: Math.round(score * 1000) / 1000,
        matched_terms: matched,
      };
    });
    return { probes, concepts: q.concepts.map((h) => `${h.concept} (from "${h.via}")`) };
  }
}

// A concept's probe lands about where a probe sharing the goal's words does, so the two mix:
// one that has both comes first.
const CONCEPT_LIFT = 1;
const NAMED_FUNCTION = 1.2;

/** A user function's entry and return: its latency and its return value. */
function userPair(probe: string): ProbePair | undefined {
  const m = /^(?:uprobe|uretprobe):(.+)$/.exec(probe);
  return m ? { entry: `uprobe:${m[1]}`, exit: `uretprobe:${m[1]}`, use: 'latency of the function (key on tid) and its return value (retval)' } : undefined;
}
