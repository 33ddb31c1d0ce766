/*
 * tpgen: fires the syscalls:sys_enter_getppid tracepoint COUNT times at RATE per second
 * (0 = as fast as possible), then exits. The process name "tpgen" lets a bpftrace
 * predicate select exactly these events. Pacing is done in 1 ms slices against
 * CLOCK_MONOTONIC, so the rate holds on average without a sleep per event.
 *
 * usage: tpgen COUNT RATE [START_DELAY_MS]
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: tpgen COUNT RATE [START_DELAY_MS]\n");
    return 2;
  }
  long count = atol(argv[1]);
  double rate = atof(argv[2]);
  if (argc > 3) usleep(atol(argv[3]) * 1000);
  double start = now_s();
  for (long i = 0; i < count; i++) {
    syscall(SYS_getppid);
    if (rate > 0 && (i % 64) == 63) {
      /* Ahead of schedule: wait until the time event i is due. */
      double due = start + (double)(i + 1) / rate;
      double t;
      while ((t = now_s()) < due) {
        if (due - t > 0.0005) usleep(200);
      }
    }
  }
  double elapsed = now_s() - start;
  printf("{\"count\": %ld, \"seconds\": %.6f, \"rate\": %.1f}\n", count, elapsed, count / elapsed);
  return 0;
}
