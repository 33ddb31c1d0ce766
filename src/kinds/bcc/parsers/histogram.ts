import type { Histogram } from '../../../runtime/output-decoder.js';

// libbpf-tools' print_log2_hist, and bcc's: `     usecs    : count    distribution`, then
// `  8 -> 15   : 44   |*****   |` per bucket.
const HEAD = /^\s*(\S+)\s*:\s*count\s+distribution\s*$/;
const BUCKET = /^\s*(\d+)\s*->\s*(\d+)\s*:\s*(\d+)\s*\|[^|]*\|\s*$/;
// What names a histogram when a tool prints several: `disk = vda`, `Process Name = dd`, `pid = 42, comm = x`.
const LABEL = /^\s*\S[^:|]*\s=\s.*$/;

/**
 * Reads log2 histograms out of a stream of lines. A histogram is complete at the first line
 * that is not one of its buckets (or at the end of the stream), so its lines are held until then.
 */
export class HistogramParser {
  private label?: string;
  private current?: { histogram: Histogram; lines: string[] };

  constructor(private readonly defaultName: string) {}

  /**
   * Feeds one line. Returns `consumed` when the line belongs to a histogram being read, and any
   * histogram the line completed.
   */
  line(line: string): { consumed: boolean; done?: { histogram: Histogram; lines: string[] } } {
    const cur = this.current;
    if (cur) {
      const b = BUCKET.exec(line);
      if (b) {
        cur.histogram.buckets.push({ low: Number(b[1]), high: Number(b[2]), count: Number(b[3]) });
        cur.lines.push(line);
        return { consumed: true };
      }
      this.current = undefined;
      return { ...this.line(line), done: cur };
    }
    const h = HEAD.exec(line);
    if (h) {
      this.current = { histogram: { name: this.label ?? this.defaultName, unit: h[1], buckets: [] }, lines: [line] };
      this.label = undefined;
      return { consumed: true };
    }
    if (LABEL.test(line)) this.label = line.trim();
    return { consumed: false };
  }

  /** At the end of the stream: the histogram still being read. */
  end(): { histogram: Histogram; lines: string[] } | undefined {
    const cur = this.current;
    this.current = undefined;
    return cur;
  }
}
