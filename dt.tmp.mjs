import { performance } from 'node:perf_hooks';
import { BpftraceJsonDecoder } from './dist/runtime/bpftrace-output.js';
import { Execution } from './dist/runtime/execution.js';
const lines = Array.from({ length: 200000 }, (_, i) => `{"type": "printf", "data": "${1000000000 + i}\\n"}`);
for (let r = 0; r < 3; r++) {
  const d = new BpftraceJsonDecoder(); const e = new Execution('x', 't', {}, { max_lines: 100000, max_bytes: 16e6 }, '');
  const t = performance.now();
  for (const l of lines) for (const x of d.decode(l)) if (x.kind === 'text') e.pushLine(x.text);
  console.log('decode+push', ((performance.now() - t) / lines.length * 1e3).toFixed(2), 'us/line');
}
