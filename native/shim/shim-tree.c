/* The shim's process tree (shim-tree.h), read from /proc. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim-tree.h"

struct proc { pid_t pid, ppid; char state; char comm[16]; };

static int read_stat(pid_t pid, struct proc *p) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  char *rp = strrchr(buf, ')'); /* comm may hold spaces and parentheses */
  char *lp = strchr(buf, '(');
  int ppid;
  char state;
  if (!rp || !lp || lp > rp || sscanf(rp + 1, " %c %d", &state, &ppid) != 2) return -1;
  size_t clen = (size_t)(rp - lp - 1) < sizeof p->comm - 1 ? (size_t)(rp - lp - 1) : sizeof p->comm - 1;
  memcpy(p->comm, lp + 1, clen);
  p->comm[clen] = 0;
  p->pid = pid;
  p->ppid = ppid;
  p->state = state;
  return 0;
}

static int by_pid(const void *a, const void *b) {
  return ((const struct proc *)a)->pid - ((const struct proc *)b)->pid;
}

/* 1 if procs[i] descends from the shim. memo: 0 unknown, 1 in, 2 out. The /proc snapshot is not atomic
 * (pids are reused), so the walk is bounded by n steps. */
static int in_tree(struct proc *procs, size_t n, unsigned char *memo, size_t i, pid_t self) {
  size_t chain[64], depth = 0;
  int verdict = 2;
  for (size_t steps = 0; steps < n; steps++) {
    if (memo[i]) { verdict = memo[i]; break; }
    if (depth < 64) chain[depth++] = i;
    if (procs[i].ppid == self) { verdict = 1; break; }
    struct proc key = { .pid = procs[i].ppid };
    struct proc *parent = bsearch(&key, procs, n, sizeof key, by_pid);
    if (!parent) break;
    i = (size_t)(parent - procs);
  }
  while (depth) memo[chain[--depth]] = (unsigned char)verdict;
  return verdict == 1;
}

int walk_tree(int sig, char *list, size_t len) {
  static struct proc *procs;
  static size_t cap;
  size_t n = 0;
  DIR *d = opendir("/proc");
  if (!d) return 0;
  for (struct dirent *e; (e = readdir(d));) {
    char *end;
    long pid = strtol(e->d_name, &end, 10);
    if (*end || pid <= 0) continue;
    if (n == cap) {
      size_t ncap = cap ? cap * 2 : 1024;
      struct proc *np = realloc(procs, ncap * sizeof *np);
      if (!np) break;
      procs = np;
      cap = ncap;
    }
    if (read_stat((pid_t)pid, &procs[n]) == 0) n++;
  }
  closedir(d);
  qsort(procs, n, sizeof *procs, by_pid);
  unsigned char *memo = calloc(n ? n : 1, 1);
  if (!memo) return 0;
  pid_t self = getpid();
  int live = 0;
  size_t at = 0;
  if (list && len) list[0] = 0;
  for (size_t i = 0; i < n; i++) {
    if (!in_tree(procs, n, memo, i, self) || procs[i].state == 'Z' || procs[i].state == 'X') continue;
    if (sig) kill(procs[i].pid, sig);
    if (list && live < 4 && at < len) {
      int w = snprintf(list + at, len - at, "%s%s (pid %d)", live ? ", " : "", procs[i].comm, (int)procs[i].pid);
      at += w > 0 ? (size_t)w : 0;
    }
    live++;
  }
  if (list && live > 4 && at < len) snprintf(list + at, len - at, ", ...");
  free(memo);
  return live;
}
