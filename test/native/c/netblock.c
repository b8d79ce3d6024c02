/* netblock PORT [SNDTIMEO_MS]: one blocking connect to 127.0.0.1:PORT (with SO_SNDTIMEO when given), then
 * "connect rc=<rc> errno=<name> ms=<elapsed>". For the seccomp engine's parked blocking connects. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (argc > 2) {
    int ms = atoi(argv[2]);
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])) };
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int rc = connect(s, (struct sockaddr *)&a, sizeof a), e = rc ? errno : 0;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
  printf("connect rc=%d errno=%s ms=%ld\n", rc, e == ECONNREFUSED ? "ECONNREFUSED" : e == EINPROGRESS ? "EINPROGRESS" : e ? strerror(e) : "0", ms);
  return 0;
}
