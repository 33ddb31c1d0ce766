import type { ColumnType, OutputDecoder, OutputEvent } from '../../../runtime/output-decoder.js';
import { HistogramParser } from './histogram.js';
import { TableParser } from './table.js';

export interface BccOutputSpec {
  columns?: Record<string, ColumnType | 'skip'>;
  histograms?: boolean;
}

/**
 * The decoder of a bcc/libbpf tool's text output: histograms become buckets, a header and the
 * lines under it become typed rows, and every line is kept as text too. stderr is diagnostics.
 */
export class BccTextDecoder implements OutputDecoder {
  private readonly table?: TableParser;
  private readonly hists?: HistogramParser;

  constructor(tool: string, spec: BccOutputSpec) {
    if (spec.columns) this.table = new TableParser(spec.columns);
    if (spec.histograms) this.hists = new HistogramParser(tool);
  }

  stdout(line: string): OutputEvent[] {
    const events: OutputEvent[] = [];
    if (this.hists) {
      const r = this.hists.line(line);
      if (r.done) events.push({ kind: 'histogram', ...r.done });
      if (r.consumed) return events;
    }
    const columns = this.table?.readHeader(line);
    if (columns) events.push({ kind: 'columns', columns, text: line });
    else {
      const row = this.table?.row(line);
      events.push(row ? { kind: 'row', row, text: line } : { kind: 'text', text: line });
    }
    return events;
  }

  stderr(line: string): OutputEvent[] {
    return [{ kind: 'stderr', text: line }];
  }

  end(): OutputEvent[] {
    const done = this.hists?.end();
    return done ? [{ kind: 'histogram', ...done }] : [];
  }
}
