import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { configDefaults, defineConfig } from 'vitest/config';

// Every CLI process and server a test starts records its runs in a history of this test run
// alone, never in the user's ~/.local/state/mcptrace (tests of the history pass their own).
process.env.MCPTRACE_STATE_DIR ??= mkdtempSync(path.join(tmpdir(), 'mcptrace-test-state-'));

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // test/stock-kernel runs inside the qemu guest of npm run test:stock-kernel, where a stock
    // kernel has kprobes; elsewhere its guard fails it loudly, so npm test leaves it out.
    exclude: [...configDefaults.exclude, ...(process.env.MCPTRACE_STOCK_KERNEL ? [] : ['test/stock-kernel/**'])],
    // Kernel tests share one machine's tracing state; running files one at a time keeps
    // process-count assertions (no bpftrace left behind) meaningful.
    fileParallelism: false,
    // oclif prints help with console.log; runCommand must see it, not vitest.
    disableConsoleIntercept: true,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
