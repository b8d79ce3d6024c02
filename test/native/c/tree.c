/* tree: a process tree for the kill tests: two children, a grandchild, and a daemon (double fork +
 * setsid) that reparents to the nearest subreaper. Prints the pids, then everyone sleeps. With "exit",
 * the main process exits at once and leaves the others running. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void forever(void) { for (;;) pause(); }

int main(int argc, char **argv) {
  int leave = argc > 1 && strcmp(argv[1], "exit") == 0;
  for (int i = 0; i < 2; i++) {
    pid_t c = fork();
    if (c == 0) {
      if (i == 1 && fork() == 0) forever(); /* grandchild */
      forever();
    }
  }
  pid_t d = fork();
  if (d == 0) {
    setsid();
    if (fork() == 0) forever(); /* the daemon */
    _exit(0);
  }
  printf("tree: main %d\n", (int)getpid());
  fflush(stdout);
  if (leave) return 0;
  forever();
}
