import { kernelFeatures } from '../../src/runtime/environment.js';

/**
 * The stock-kernel tests run inside the qemu guest that `npm run test:stock-kernel` boots, where
 * a stock distribution kernel has kprobes. Anywhere else they fail loudly rather than skip: a
 * kprobe test that skipped would read as verified.
 */
export const STOCK_KERNEL = process.env.MCPTRACE_STOCK_KERNEL ?? '';
if (!STOCK_KERNEL) throw new Error('test/stock-kernel runs inside the stock-kernel guest: use npm run test:stock-kernel');
if (!kernelFeatures().kprobes) {
  throw new Error(`MCPTRACE_STOCK_KERNEL=${STOCK_KERNEL}, but this kernel has no kprobes (no kprobe_events in tracefs)`);
}
