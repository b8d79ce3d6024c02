/* fsyncs N [SLEEP_US]: N write+fsync pairs on a temp file, SLEEP_US apart; prints each fsync failure. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 5, pause_us = argc > 2 ? atoi(argv[2]) : 0, failed = 0;
  char path[] = "/tmp/sysfault-fsyncs-XXXXXX";
  int fd = mkstemp(path);
  unlink(path);
  for (int i = 0; i < n; i++) {
    if (write(fd, "abc", 3) != 3) return 2;
    if (fsync(fd) != 0) failed++, perror("fsync");
    if (pause_us) usleep((useconds_t)pause_us);
  }
  printf("fsyncs: %d of %d failed\n", failed, n);
  return 0;
}
