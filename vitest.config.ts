import { configDefaults, defineConfig } from 'vitest/config';

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
