import type { Execution, FleetHostState } from '../execution.js';
import type { Histogram, OutputDecoder, OutputEvent, TypedMap } from '../output-decoder.js';
import type { LaunchSpec } from '../process-lifecycle.js';
import { renderMap } from '../bpftrace/map-render.js';
import { aggregatesOf, mergeHistograms, mergeMaps, type Aggregate } from './merge.js';

/**
 * One run on many hosts. Each host's run is an ordinary Execution (its own id, output, maps,
 * status, history), and the fleet run is one more, whose output is every host's line labelled
 * `[host] `, in the order they arrived, and whose maps and histograms are the hosts' merged
 * (merge.ts). Each host's decoder is wrapped so the fleet sees the same events its host does, as
 * they are decoded; the fleet ends when its last host does. A host that fails or cannot be reached
 * is one failed member with its reason: the others' results are never touched by it.
 */
export class FleetRun {
  private readonly hosts: FleetHostState[] = [];
  private readonly members = new Map<string, Execution>();
  private readonly hostMaps = new Map<string, Map<string, TypedMap>>();
  private readonly hostHists = new Map<string, Map<string, Histogram>>();
  private readonly attached = new Set<string>();
  private readonly aggregates: Map<string, Aggregate>;
  private readonly guessed = new Set<string>();
  private probes = 0;
  private sealed = false;

  constructor(
    readonly exec: Execution,
    program: string | undefined,
  ) {
    this.aggregates = aggregatesOf(program);
  }

  /** Host names in the order they were given. */
  get hostNames(): string[] {
    return this.hosts.map((h) => h.host);
  }

  member(host: string): Execution | undefined {
    return this.members.get(host);
  }

  /** Every member that has a run. */
  get runs(): Execution[] {
    return [...this.members.values()];
  }

  /** A host whose run never started: unreachable, refused by the policy, no bpftrace there. */
  addFailure(host: string, error: string, hint?: string, execution?: Execution): void {
    this.hosts.push({ host, status: 'failed', error, hint, execution_id: execution?.id });
    this.exec.apply({ kind: 'stderr', text: `[${host}] ${error}` });
    this.publish();
  }

  /** A host's run, started; its spec's decoder must be wrapped by `label` first. */
  addRun(host: string, run: Execution, info: { bpftraceVersion?: string; kernel?: string }): void {
    this.members.set(host, run);
    this.hosts.push({ host, execution_id: run.id, status: run.status, bpftrace_version: info.bpftraceVersion, kernel: info.kernel });
    run.on('change', () => this.update(host, run));
    run.once('end', () => {
      this.update(host, run);
      this.attached.add(host);
      this.maybeAttached();
      this.maybeEnd();
    });
    this.publish();
  }

  /** No more hosts will be added: the fleet may end once every run has. */
  seal(): void {
    this.sealed = true;
    this.maybeAttached();
    this.maybeEnd();
  }

  /** The spec with its decoder (and any fallback's) copying each event, labelled, to the fleet. */
  label(host: string, spec: LaunchSpec): LaunchSpec {
    const decoder = async () => this.tee(host, await spec.decoder());
    const fallback = spec.fallback;
    return {
      ...spec,
      decoder,
      fallback: fallback ? async (e, x) => await fallback(e, x).then((next) => (next ? this.label(host, next) : undefined)) : undefined,
    };
  }

  private tee(host: string, inner: OutputDecoder): OutputDecoder {
    const pass = (events: OutputEvent[]) => {
      for (const ev of events) this.copy(host, ev);
      return events;
    };
    return {
      stdout: (l) => pass(inner.stdout(l)),
      stderr: (l) => pass(inner.stderr(l)),
      end: () => pass(inner.end()),
    };
  }

  private copy(host: string, ev: OutputEvent): void {
    const tag = `[${host}] `;
    const f = this.exec;
    switch (ev.kind) {
      case 'text':
        f.apply({ kind: 'text', text: tag + ev.text });
        return;
      case 'map': {
        f.pushForeignMap(
          { ...ev.map, name: `${ev.map.name} [${host}]` },
          ev.lines.map((l) => tag + l),
        );
        let byHost = this.hostMaps.get(ev.map.name);
        if (!byHost) this.hostMaps.set(ev.map.name, (byHost = new Map()));
        byHost.set(host, ev.map);
        const agg = this.aggregates.get(ev.map.name) ?? 'unknown';
        if (agg === 'unknown' && byHost.size > 1 && !this.guessed.has(ev.map.name)) {
          this.guessed.add(ev.map.name);
          f.warn(
            `${ev.map.name} is filled by a plain assignment, not count()/sum()/max()/min()/avg()/stats()/hist(): its merged value adds the hosts' numbers up. Read each host's own value with get_result's host.`,
          );
        }
        f.putMap(mergeMaps([...byHost.values()], agg));
        return;
      }
      case 'lost':
        f.apply(ev);
        return;
      case 'attached':
        this.attached.add(host);
        if (ev.probes !== undefined) this.probes += ev.probes;
        this.maybeAttached();
        return;
      case 'stderr':
        f.pushStderr(ev.text, tag);
        return;
      case 'warning':
        f.warn(`${host}: ${ev.text}`);
        return;
      case 'columns':
        f.apply({ kind: 'columns', columns: [{ name: 'HOST', type: 'string' }, ...ev.columns], text: tag + ev.text });
        return;
      case 'row':
        f.apply({ kind: 'row', row: { HOST: host, ...ev.row }, text: tag + ev.text });
        return;
      case 'histogram': {
        for (const l of ev.lines) f.apply({ kind: 'text', text: tag + l });
        let byHost = this.hostHists.get(ev.histogram.name);
        if (!byHost) this.hostHists.set(ev.histogram.name, (byHost = new Map()));
        byHost.set(host, ev.histogram);
        f.putHistogram(mergeHistograms([...byHost.values()]));
        return;
      }
    }
  }

  private update(host: string, run: Execution): void {
    const h = this.hosts.find((x) => x.host === host);
    if (!h) return;
    const before = `${h.status}|${h.error}`;
    h.status = run.status;
    h.error = run.error;
    h.hint = run.hint;
    if (`${h.status}|${h.error}` !== before) this.publish();
  }

  private publish(): void {
    this.exec.setFleet(this.hosts.map((h) => ({ ...h })));
  }

  /**
   * The merged value of each map that more than one host printed, at the end of the output as
   * bpftrace prints a map, each line labelled [merged]: what a reader of the lines, a person at a
   * terminal or an assistant paging them, sees of the fleet as a whole.
   */
  private printMerged(): void {
    for (const [name, byHost] of this.hostMaps) {
      if (byHost.size < 2) continue;
      const merged = this.exec.maps.get(name);
      if (!merged || merged.type === 'tseries') continue;
      this.exec.pushForeignMap(
        merged,
        renderMap(merged).map((l) => `[merged] ${l}`),
      );
    }
  }

  private maybeAttached(): void {
    if (!this.sealed || this.exec.attachedAt !== undefined || !this.members.size) return;
    if ([...this.members.keys()].every((h) => this.attached.has(h))) this.exec.apply({ kind: 'attached', probes: this.probes });
  }

  private maybeEnd(): void {
    if (!this.sealed || this.exec.finished) return;
    if (this.runs.some((r) => !r.finished)) return;
    const failed = this.hosts.filter((h) => h.status === 'failed');
    const ran = this.hosts.filter((h) => h.status !== 'failed');
    const why = failed.map((h) => `${h.host}: ${h.error ?? 'failed'}`).join('; ');
    if (!ran.length) {
      this.exec.finish('failed', `every host failed (${failed.length}): ${why}`, failed[0]?.hint);
      return;
    }
    this.printMerged();
    if (failed.length) this.exec.warn(`${failed.length} of ${this.hosts.length} hosts failed, the others' results are complete: ${why}`);
    // The hosts that ran share the call's deadline and stop; the fleet ends as the first of them.
    const status = ran[0].status;
    this.exec.finish(status === 'queued' || status === 'running' || status === 'interrupted' ? 'stopped' : status);
  }
}
