/* bench N: N one-byte writes to /dev/null; prints the mean cost per call. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 200000;
  int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; i++)
    if (write(fd, "x", 1) != 1) return 1;
  clock_gettime(CLOCK_MONOTONIC, &b);
  double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
  printf("bench: %ld writes, %.2f us/call\n", n, ns / (double)n / 1000.0);
  return 0;
}
