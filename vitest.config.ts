import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Kernel tests share one machine's tracing state; running files one at a time keeps
    // process-count assertions (no bpftrace left behind) meaningful.
    fileParallelism: false,
    // oclif prints help with console.log; runCommand must see it, not vitest.
    disableConsoleIntercept: true,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
