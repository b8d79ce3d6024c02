/* call-loop: N one-byte write()s to /dev/null through glibc, inside measured_loop(), for the instruction-count
 * benchmark (bench/instructions.js): callgrind counts what one call costs in user space, bare or under the
 * preload engine. With --time it prints the loop's CPU time per call (ns; the thread's CPU clock, so that time
 * spent descheduled by other work on the machine does not count), for the time ratio.
 * Usage: call-loop N [--time] */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* noinline and named: callgrind's --toggle-collect counts this function and what it calls, nothing else */
__attribute__((noinline)) void measured_loop(int fd, long n) {
  char c = 'x';
  for (long i = 0; i < n; i++)
    if (write(fd, &c, 1) != 1) {
      perror("write");
      exit(1);
    }
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: call-loop N [--time]\n");
    return 2;
  }
  long n = atol(argv[1]);
  int timed = argc > 2 && strcmp(argv[2], "--time") == 0;
  int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    perror("/dev/null");
    return 1;
  }
  measured_loop(fd, 1000); /* warm: first-call work (symbol binding, the engine's fd facts) out of the way */
  struct timespec a, b;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
  measured_loop(fd, n);
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
  if (timed) printf("%.3f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (double)n);
  return 0;
}
