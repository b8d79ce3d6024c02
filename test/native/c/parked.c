/* parked: a child blocks in recvfrom (a short rule parks it in the monitor with a copy of the socket) and
 * is SIGKILLed; the parent must then see EOF on the other end: nobody may keep the socket open. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(void) {
  int sv[2];
  char c;
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  pid_t child = fork();
  if (child == 0) {
    close(sv[1]);
    recvfrom(sv[0], &c, 100, 0, NULL, NULL);
    _exit(0);
  }
  close(sv[0]);
  usleep(100000);
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  ssize_t n = read(sv[1], &c, 1);
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("parked: read after the child died returned %zd after %.0f ms\n", n,
         (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6);
  return n == 0 ? 0 : 1;
}
