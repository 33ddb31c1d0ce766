import type { OutputDecoder, OutputEvent, TypedMap } from '../output-decoder.js';
import { formatValue, renderMap } from './map-render.js';
import type { BpftraceFeatures } from './version.js';

const ATTACH_MARKER = '__BPFTRACE_NOTIFY_PROBES_ATTACHED';

/**
 * bpftrace `-f json` decoding: typed events become the text lines bpftrace itself would have
 * printed, plus typed maps. Stateful because printf output need not end in a newline: a
 * partial line is held until the rest arrives or the stream ends.
 */
export class BpftraceJsonDecoder implements OutputDecoder {
  private partial = '';

  constructor(readonly features?: BpftraceFeatures) {}

  stdout(raw: string): OutputEvent[] {
    if (raw.length === 0) return [];
    if (raw.startsWith(ATTACH_MARKER)) return [{ kind: 'attached' }];
    if (raw[0] !== '{') return this.text(raw + '\n');
    let msg: { type?: string; data?: unknown };
    try {
      msg = JSON.parse(raw);
    } catch {
      return this.text(raw + '\n');
    }
    switch (msg.type) {
      case 'printf':
      case 'time':
      case 'join':
      case 'cat':
      case 'syscall':
        return this.text(typeof msg.data === 'string' ? msg.data : JSON.stringify(msg.data));
      case 'value':
        return this.text(`${formatValue(msg.data)}\n`);
      case 'attached_probes':
        return [{ kind: 'attached', probes: Number((msg.data as { probes?: number })?.probes ?? 0) }];
      case 'lost_events':
        return [{ kind: 'lost', events: Number((msg.data as { events?: number })?.events ?? 0) }];
      case 'map':
      case 'hist':
      case 'stats': {
        const out: OutputEvent[] = this.end();
        for (const [name, value] of Object.entries((msg.data ?? {}) as Record<string, unknown>)) {
          const map: TypedMap = { type: msg.type, name, value };
          out.push({ kind: 'map', map, lines: renderMap(map) });
        }
        return out;
      }
      default:
        return this.text(raw + '\n');
    }
  }

  stderr(line: string): OutputEvent[] {
    if (line.startsWith(ATTACH_MARKER)) return [{ kind: 'attached' }];
    const lost = /^Lost (\d+) events/.exec(line);
    return lost
      ? [
          { kind: 'lost', events: Number(lost[1]) },
          { kind: 'stderr', text: line },
        ]
      : [{ kind: 'stderr', text: line }];
  }

  /** Emits a held partial line. */
  end(): OutputEvent[] {
    if (!this.partial) return [];
    const text = this.partial;
    this.partial = '';
    return [{ kind: 'text', text }];
  }

  private text(chunk: string): OutputEvent[] {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    return parts.map((text) => ({ kind: 'text', text }));
  }
}
