/* restart N PERIOD_US HANDLER_US [eintr]: N fsyncs on a temp file while another thread signals the
 * fsyncing thread every PERIOD_US; the handler sleeps HANDLER_US. With SA_RESTART (default) the kernel
 * restarts an interrupted call; with "eintr" the call fails with EINTR and is retried here. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile int done;
static pid_t main_tid;
static long period_us, handler_us;
static volatile long signals;

static void on_usr1(int sig) {
  (void)sig;
  signals++;
  if (handler_us) {
    struct timespec ts = { handler_us / 1000000, (handler_us % 1000000) * 1000 };
    nanosleep(&ts, NULL);
  }
}

static void *storm(void *arg) {
  (void)arg;
  struct timespec ts = { 0, period_us * 1000 };
  while (!done) {
    syscall(SYS_tgkill, getpid(), main_tid, SIGUSR1);
    nanosleep(&ts, NULL);
  }
  return NULL;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 20;
  period_us = argc > 2 ? atol(argv[2]) : 1000;
  handler_us = argc > 3 ? atol(argv[3]) : 0;
  int eintr = argc > 4 && strcmp(argv[4], "eintr") == 0;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sa.sa_flags = eintr ? 0 : SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
  char path[] = "/tmp/sysfault-restart-XXXXXX";
  int fd = mkstemp(path);
  unlink(path);
  main_tid = (pid_t)syscall(SYS_gettid);
  pthread_t t;
  pthread_create(&t, NULL, storm, NULL);
  long eintrs = 0;
  for (int i = 0; i < n; i++) {
    if (write(fd, "x", 1) != 1) return 1;
    while (fsync(fd) != 0) {
      if (errno != EINTR) { perror("fsync"); return 1; }
      eintrs++;
    }
  }
  done = 1;
  pthread_join(t, NULL);
  printf("restart: %d fsyncs, %ld signals, %ld EINTR retries\n", n, signals, eintrs);
  return 0;
}
