import { PLAN_DEFAULT_BUDGET_TOKENS } from '../config/defaults.js';
import { conceptsIn, GENERIC_WORDS, stem, STOP_WORDS, words } from '../knowledge/concepts.js';
import type { KnowledgeBase, RankedHit } from '../knowledge/library.js';
import { globCovers } from '../knowledge/query.js';
import type { BpftraceFeatures } from '../runtime/bpftrace/version.js';
import { pitfalls } from './pitfalls.js';

/**
 * The templates as a plan reads them: the shape of builtins' TemplatesView, declared here
 * because this layer sits below the builtins that wrap it.
 */
export interface TemplateCatalog {
  list(): {
    name: string;
    title: string;
    purpose: string;
    parameters: { name: string; required: boolean; description?: string }[];
    example?: { input: Record<string, unknown> };
    requires: string[];
  }[];
  render(name: string, params: unknown): { ok: true; value: { probes: string[] } } | { ok: false; message: string };
}

/** What plan_trace needs from the core: narrow, like a builtin's context. */
export interface PlanContext {
  knowledge: KnowledgeBase;
  templates: TemplateCatalog;
  /** The bpftrace in use; undefined when it cannot run here (the plan says so). */
  features?: BpftraceFeatures;
  kernel: { kprobes: boolean; btf: boolean };
}

export interface PlannedTemplate {
  tool: string;
  title: string;
  purpose: string;
  suggested_input: Record<string, unknown>;
  /** Required inputs the goal does not name: the caller must give them (never the start_with). */
  needs_input?: string[];
  probes: string[];
  why: string[];
  /** How well it fits the goal, on the scale examples are scored on (0–1). */
  fit: number;
}

export interface PlannedExample {
  id: string;
  title: string;
  probes: string[];
  runs_here: boolean;
  /** Dropped first when the budget is tight: the resource has it whole. */
  program?: string;
  adapt: string[];
  resource: string;
  /** How well it fits the goal, on the scale templates are scored on (0–1). */
  fit: number;
}

/** The one candidate to try first: the template or example that fits the goal best. */
export interface StartWith {
  kind: 'template' | 'example';
  /** The template's tool, or the example's id. */
  id: string;
  fit: number;
}

export interface PlannedProbe {
  probe: string;
  description: string;
  args: string[];
  pair?: { entry: string; exit: string; use: string };
}

export interface TracePlan {
  goal: string;
  bpftrace_version: string | null;
  kernel: { kprobes: boolean; btf: boolean };
  concepts: string[];
  /** Absent when no template or example fits. */
  start_with?: StartWith;
  templates: PlannedTemplate[];
  examples: PlannedExample[];
  probes: PlannedProbe[];
  pitfalls: string[];
  next_steps: string[];
  budget: { tokens: number; used: number; trimmed: string[] };
}

/** ≈ tokens of a text, as the budget counts them: 4 bytes a token (the usual estimate for English and code). */
export const tokensOf = (text: string): number => Math.ceil(Buffer.byteLength(text) / 4);

/**
 * Everything an assistant needs for a first attempt at a trace, in one answer that fits a token
 * budget: the templates that fit (with inputs read from the goal), the nearest examples and what
 * to change in them, this kernel's probes with their arguments, and the pitfalls of this bpftrace
 * version and kernel. It runs nothing.
 */
export async function planTrace(
  goal: string,
  ctx: PlanContext,
  budgetTokens = PLAN_DEFAULT_BUDGET_TOKENS,
  text: (p: TracePlan) => string = JSON.stringify,
): Promise<TracePlan> {
  const [hits, discovery] = await Promise.all([
    ctx.knowledge.search(goal, { limit: 4 }).catch(() => [] as RankedHit[]),
    ctx.knowledge.discover(goal, { limit: 10 }).catch(() => undefined),
  ]);
  const discovered = (discovery?.groups ?? []).flatMap((g) => g.probes).sort((a, b) => b.score - a.score);
  const probes: PlannedProbe[] = discovered.map((p) => ({ probe: p.probe, description: p.description, args: p.args, ...(p.pair ? { pair: p.pair } : {}) }));
  const evidence = fitEvidence(goal, discovered.slice(0, 8));
  const startable = new Set<string>();
  const scored = <T>(x: T, key: string, f: { fit: number; startable: boolean }) => {
    if (f.startable) startable.add(key);
    return { ...x, fit: f.fit };
  };
  const templates = rankTemplates(
    goal,
    ctx,
    probes.slice(0, 8).map((p) => p.probe),
  ).map((t) => scored(t, `template:${t.tool}`, evidence.fit(t.probes, `${t.title} ${t.tool.replace(/_/g, ' ')} ${t.purpose}`, 1)));
  templates.sort((a, b) => b.fit - a.fit);
  const bestHit = hits[0]?.score || 1;
  const examples = hits.map((h) =>
    scored(
      planExample(h, goal, ctx),
      `example:${h.example.id}`,
      evidence.fit(h.example.probes, `${h.example.title} ${h.example.tags.join(' ')} ${h.example.description}`, h.score / bestHit, h.availability.runs_here),
    ),
  );
  examples.sort((a, b) => b.fit - a.fit);
  const start: StartWith | undefined = [
    ...templates.filter((t) => !t.needs_input).map((t) => ({ kind: 'template' as const, id: t.tool, fit: t.fit })),
    ...examples.map((e) => ({ kind: 'example' as const, id: e.id, fit: e.fit })),
  ]
    .filter((c) => startable.has(`${c.kind}:${c.id}`))
    .sort((a, b) => b.fit - a.fit)[0];
  const plan: TracePlan = {
    goal,
    bpftrace_version: ctx.features?.version ?? null,
    kernel: ctx.kernel,
    concepts: discovery?.concepts ?? conceptsIn(goal).map((c) => c.concept),
    ...(start ? { start_with: start } : {}),
    templates,
    examples,
    probes,
    pitfalls: pitfalls(ctx.features, ctx.kernel, [...hits.flatMap((h) => h.example.probes), ...probes.map((p) => p.probe)]),
    next_steps: [
      start
        ? start.kind === 'template'
          ? `Start with the template ${start.id} (call it with its suggested_input); else the next template or example.`
          : `Start with the example ${start.id} (adapt it as listed; its resource has the program); else the next template or example.`
        : 'Start from the first template that fits (call it with suggested_input), or adapt the first example that runs here.',
      'Otherwise write a program on the probes listed, using their args.',
      'Check it with validate_program (it compiles without attaching and names the fix), then run it with exec_program (wait: true, a timeout).',
    ],
    budget: { tokens: budgetTokens, used: 0, trimmed: [] },
  };
  return fit(plan, budgetTokens, text);
}

/** Cuts the plan down to the budget, least useful parts first, and says what was cut. */
function fit(plan: TracePlan, budget: number, text: (p: TracePlan) => string): TracePlan {
  // What the model reads is the text or the JSON, whichever is larger.
  const size = () => Math.max(tokensOf(JSON.stringify(plan)), tokensOf(text(plan)));
  const steps: [string, () => boolean][] = [
    ['probe descriptions', () => cutEach(plan.probes.slice(5), (p) => (p.description ? ((p.description = ''), true) : false))],
    ['example programs', () => cutEach(plan.examples.slice(1), (e) => (e.program ? (delete e.program, true) : false))],
    ['probes', () => cutList(plan.probes, 8)],
    ['examples', () => cutList(plan.examples, 3)],
    ['templates', () => cutList(plan.templates, 2)],
    [
      'probe arguments',
      () =>
        cutEach(plan.probes, (p) =>
          p.args.length > 12 ? ((p.args = [...p.args.slice(0, 12), `… ${p.args.length - 12} more (list_probes shows all)`]), true) : false,
        ),
    ],
    ['probes', () => cutList(plan.probes, 5)],
    ['example programs', () => cutEach(plan.examples, (e) => (e.program ? (delete e.program, true) : false))],
    ['examples', () => cutList(plan.examples, 2)],
    ['probes', () => cutList(plan.probes, 3)],
    ['pitfalls', () => cutList(plan.pitfalls, 4)],
    ['templates', () => cutList(plan.templates, 1)],
    ['examples', () => cutList(plan.examples, 1)],
    [
      'probe arguments',
      () => cutEach(plan.probes, (p) => (p.args.length > 7 ? ((p.args = [...p.args.slice(0, 6), `… ${p.args.length - 6} more`]), true) : false)),
    ],
    ['probe descriptions', () => cutEach(plan.probes, (p) => (p.description ? ((p.description = ''), true) : false))],
    ['template reasons', () => cutEach(plan.templates, (t) => (t.why.length ? ((t.why = []), true) : false))],
    ['example changes', () => cutEach(plan.examples, (e) => (e.adapt.length > 1 ? (e.adapt.splice(1), true) : false))],
    ['probes', () => cutList(plan.probes, 2)],
    ['pitfalls', () => cutList(plan.pitfalls, 2)],
    ['next steps', () => (plan.next_steps.length > 1 ? (plan.next_steps.splice(0, plan.next_steps.length - 1), true) : false)],
    ['concepts', () => cutList(plan.concepts, 0)],
    ['examples', () => cutList(plan.examples, 0)],
    ['templates', () => cutList(plan.templates, 0)],
    ['probes', () => cutList(plan.probes, 1)],
    ['pitfalls', () => cutList(plan.pitfalls, 1)],
    ['probe arguments', () => cutEach(plan.probes, (p) => (p.args.length > 3 ? ((p.args = [...p.args.slice(0, 3), '…']), true) : false))],
  ];
  for (const [what, cut] of steps) {
    if (size() <= budget) break;
    if (cut() && !plan.budget.trimmed.includes(what)) plan.budget.trimmed.push(what);
  }
  plan.budget.used = size();
  return plan;
}

const cutList = <T>(list: T[], keep: number): boolean => (list.length > keep ? (list.splice(keep), true) : false);
const cutEach = <T>(list: T[], f: (x: T) => boolean): boolean => list.map(f).some(Boolean);

const stems = (text: string) =>
  new Set(
    words(text)
      .filter((w) => !STOP_WORDS.has(w))
      .map(stem),
  );

/**
 * Templates ranked by what they share with the goal: the goal's concepts (how people describe a
 * problem) and its words, against each template's title, purpose and parameters. A template
 * that needs what this kernel lacks (kprobes) is left out: it would be refused.
 */
function rankTemplates(goal: string, ctx: PlanContext, discovered: readonly string[]): Omit<PlannedTemplate, 'fit'>[] {
  const goalConcepts = new Set(conceptsIn(goal).map((c) => c.concept));
  const goalStems = stems(goal);
  const scored = ctx.templates.list().flatMap((t) => {
    if (t.requires.includes('kprobes') && !ctx.kernel.kprobes) return [];
    // What the template is about; the filters most templates share (pid, comm, cgroup…) say nothing.
    const about = `${t.title} ${t.name.replace(/_/g, ' ')} ${t.purpose}`;
    const specific = t.parameters
      .filter((p) => !COMMON_FILTERS.has(p.name))
      .map((p) => p.name.replace(/_/g, ' '))
      .join(' ');
    const shared = conceptsIn(about)
      .map((c) => c.concept)
      .filter((c) => goalConcepts.has(c));
    const titleHits = [...stems(`${t.title} ${t.name.replace(/_/g, ' ')}`)].filter((w) => goalStems.has(w));
    const otherHits = [...stems(`${t.purpose} ${specific}`)].filter((w) => goalStems.has(w) && !titleHits.includes(w));
    const score = shared.length * 2 + titleHits.length * 2 + otherHits.length;
    if (score < 3) return [];
    // The example's values only where the template needs one (its filters would narrow the
    // trace to the example's case: /etc/ for trace_opens), then what the goal itself names.
    const needed = new Set([...t.parameters.filter((p) => p.required).map((p) => p.name), 'duration', 'threshold_ms']);
    const fromExample = Object.fromEntries(Object.entries(t.example?.input ?? {}).filter(([k]) => needed.has(k)));
    const input = {
      ...fromExample,
      ...suggestInput(
        goal,
        t.parameters.map((p) => p.name),
      ),
    };
    const rendered = ctx.templates.render(t.name, input);
    const probes = rendered.ok ? rendered.value.probes : [];
    // The template traces the event the goal is about (the probes discovery ranks first for it),
    // or its title says what the goal says: else shared words are a coincidence ("cgroup" is a
    // filter of trace_opens, not what it traces).
    const onTarget = probes.some((p) => discovered.some((d) => probeMatches(p, d)));
    if (!onTarget && !titleHits.length) return [];
    const why = [
      ...(onTarget ? ['traces a probe this goal is about'] : []),
      ...shared.map((c) => `concept: ${c}`),
      ...[...titleHits, ...otherHits].map((w) => `word: ${w}`),
    ];
    // A required value the goal does not name (the function of trace_user_calls): the caller must
    // give it, so the plan says which, and never starts with this template.
    const missing = t.parameters.filter((p) => p.required && !(p.name in input)).map((p) => p.name);
    return [{ t, score: score + (onTarget ? 3 : 0), why, input, probes, missing }];
  });
  scored.sort((a, b) => b.score - a.score);
  return scored.slice(0, 3).map(({ t, why, input, probes, missing }) => ({
    tool: t.name,
    title: t.title,
    purpose: t.purpose,
    suggested_input: input,
    ...(missing.length ? { needs_input: missing } : {}),
    probes,
    why,
  }));
}

/**
 * One scale for templates and examples, so the first candidate is the best whichever kind it is:
 * how high the probes discovery ranks for the goal sit among the candidate's probes (what it
 * traces), how much of what the goal says its text says, and, for an example, its search score
 * against the best example's. An example that does not run here as it is counts less.
 */
function fitEvidence(goal: string, discovered: readonly { probe: string; score: number }[]) {
  const goalStems = [...stems(goal)].filter((w) => !GENERIC_STEMS.has(w));
  const top = discovered[0]?.score || 1;
  return {
    fit(candidateProbes: readonly string[], text: string, searchScore: number, runsHere = true): { fit: number; startable: boolean } {
      let probeFit = 0;
      discovered.forEach((d, i) => {
        if (candidateProbes.some((p) => globCovers(p, d.probe) || globCovers(d.probe, p))) {
          probeFit = Math.max(probeFit, (d.score / top) * (1 - 0.1 * i));
        }
      });
      const own = stems(text);
      const textFit = goalStems.length ? goalStems.filter((w) => own.has(w)).length / goalStems.length : 0;
      const raw = 0.5 * probeFit + 0.3 * textFit + 0.2 * Math.min(1, Math.max(0, searchScore));
      // Worth starting with only when it traces one of the first probes found for the goal:
      // sharing words alone ("file") is how a wrong example gets run.
      const fit = Math.round(raw * (runsHere ? 1 : 0.7) * 1000) / 1000;
      return { fit, startable: probeFit >= START_PROBE_FIT && fit >= START_FIT };
    },
  };
}

const START_PROBE_FIT = 0.4;
const START_FIT = 0.4;

let genericStemSet: Set<string> | undefined;
const GENERIC_STEMS = {
  has: (w: string) => (genericStemSet ??= new Set([...GENERIC_WORDS].map(stem))).has(w),
};

/** A template's probe (maybe a glob) against a listed probe. */
function probeMatches(pattern: string, probe: string): boolean {
  if (!pattern.includes('*')) return pattern === probe;
  return new RegExp(
    `^${pattern
      .split('*')
      .map((x) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  ).test(probe);
}

/** Filters nearly every template takes: they match any goal that names a process. */
const COMMON_FILTERS = new Set(['pid', 'comm', 'uid', 'cgroup', 'duration', 'timeout', 'wait', 'include_maps', 'by_process']);

/** Inputs a goal names in passing: a pid, a process name, a path, a port, a duration. */
export function suggestInput(goal: string, params: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const has = (p: string) => params.includes(p);
  const pid = /\bpid\s*[:=]?\s*(\d{1,7})\b/i.exec(goal);
  if (pid && has('pid')) out.pid = Number(pid[1]);
  // Only a name the goal marks as one: "named nginx", "called make", or in quotes.
  const comm = /\b(?:named|called|comm)\s+["'`]?([A-Za-z0-9_.-]{1,15})["'`]?/i.exec(goal) ?? /["'`]([A-Za-z0-9_.-]{1,15})["'`]/.exec(goal);
  if (comm && has('comm') && !STOP_WORDS.has(comm[1].toLowerCase())) out.comm = comm[1];
  const file = /(?:^|\s)(\/[^\s"'`]{0,59})/.exec(goal);
  if (file && has('path_prefix')) out.path_prefix = file[1];
  const port = /\bport\s+(\d{1,5})\b/i.exec(goal);
  if (port && has('port') && Number(port[1]) <= 65535) out.port = Number(port[1]);
  const dur = /\b(?:for|during|over)\s+(\d{1,4})\s*(s|sec|secs|seconds?|m|min|mins|minutes?)\b/i.exec(goal);
  if (dur && has('duration')) out.duration = Number(dur[1]) * (/^m/i.test(dur[2]) ? 60 : 1);
  return out;
}

/** An example with what to change for this goal, this kernel and this bpftrace. */
function planExample(h: RankedHit, goal: string, ctx: PlanContext): Omit<PlannedExample, 'fit'> {
  const e = h.example;
  const adapt: string[] = [];
  if (!h.availability.runs_here) {
    if (h.availability.missing_probes.length) adapt.push(`replace ${h.availability.missing_probes.join(', ')}: not on this kernel (see the probes listed)`);
    if (h.availability.compiles_on_version === false) adapt.push(`it does not compile with bpftrace ${h.availability.bpftrace_version}: see pitfalls`);
  }
  const input = suggestInput(goal, ['pid', 'comm', 'path_prefix', 'port']);
  if (input.pid !== undefined) adapt.push(`add the predicate /pid == ${String(input.pid)}/ to each probe`);
  if (input.comm !== undefined) adapt.push(`add the predicate /comm == "${String(input.comm)}"/ to each probe`);
  if (input.path_prefix !== undefined) adapt.push(`filter on the path "${String(input.path_prefix)}" (strncmp with str() of the filename argument)`);
  if (input.port !== undefined) adapt.push(`filter on port ${String(input.port)}`);
  if (!/\bexit\s*\(/.test(e.program) && !/\binterval:/.test(e.program))
    adapt.push('it runs until stopped: give exec_program a timeout; the maps print at the stop');
  if (ctx.features && /args\./.test(e.program) && /^v?0\.(1\d|20)\./.test(ctx.features.version))
    adapt.push(`write args->field: bpftrace ${ctx.features.version} does not know args.field`);
  if (!adapt.length) adapt.push('runs as it is');
  return {
    id: e.id,
    title: e.title,
    probes: e.probes,
    runs_here: h.availability.runs_here,
    program: e.program,
    adapt,
    resource: `mcptrace://examples/${e.id}`,
  };
}
