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

/* Every live process of the tree, by a scan of all of /proc: into *out (reused from call to call); how many. */
static size_t tree_scan(struct proc **out) {
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
  size_t live = 0;
  for (size_t i = 0; i < n; i++) in_tree(procs, n, memo, i, self); /* every memo[i] now 1 (in) or 2 (out) */
  for (size_t i = 0; i < n; i++) /* compacted in place: live <= i */
    if (memo[i] == 1 && procs[i].state != 'Z' && procs[i].state != 'X') procs[live++] = procs[i];
  free(memo);
  *out = procs;
  return live;
}

int walk_tree(int sig, char *list, size_t len) {
  struct proc *procs;
  size_t n = tree_scan(&procs);
  int live = 0;
  size_t at = 0;
  if (list && len) list[0] = 0;
  for (size_t i = 0; i < n; i++) {
    if (sig) kill(procs[i].pid, sig);
    if (list && live < 4 && at < len) {
      int w = snprintf(list + at, len - at, "%s%s (pid %d)", live ? ", " : "", procs[i].comm, (int)procs[i].pid);
      at += w > 0 ? (size_t)w : 0;
    }
    live++;
  }
  if (list && live > 4 && at < len) snprintf(list + at, len - at, ", ...");
  return live;
}

/* ---- io_uring, seen from outside: for the preload engine alone, which has no filter ---- */

#define URING_TREE_MAX 4096
#define URING_SAID_MAX 64

/* The tree's members, by the kernel's children lists (/proc/PID/task/TID/children), from the shim down (the shim
 * first); bounded. 0 when the kernel has no such lists (CONFIG_PROC_CHILDREN). */
static size_t tree_pids(pid_t *out, size_t max) {
  size_t n = 0;
  out[n++] = getpid();
  for (size_t at = 0; at < n; at++) {
    int lists = 0;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)out[at]);
    DIR *tasks = opendir(path);
    if (!tasks) continue;
    for (struct dirent *t; (t = readdir(tasks)) && n < max;) {
      if (t->d_name[0] == '.') continue;
      char file[320], buf[4096];
      snprintf(file, sizeof file, "/proc/%d/task/%s/children", (int)out[at], t->d_name);
      int fd = open(file, O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      lists = 1;
      ssize_t got = read(fd, buf, sizeof buf - 1);
      close(fd);
      if (got <= 0) continue;
      buf[got] = 0;
      for (char *p = buf, *end; n < max; p = end) {
        long pid = strtol(p, &end, 10);
        if (end == p) break;
        if (pid > 0) out[n++] = (pid_t)pid;
      }
    }
    closedir(tasks);
    if (at == 0 && !lists) return 0;
  }
  return n;
}

/* Whether pid has a descriptor on an io_uring instance (a link to "anon_inode:[io_uring]"). */
static int holds_io_uring(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
  DIR *fds = opendir(path);
  if (!fds) return 0;
  int found = 0;
  for (struct dirent *e; !found && (e = readdir(fds));) {
    char link[64];
    ssize_t n = readlinkat(dirfd(fds), e->d_name, link, sizeof link - 1);
    if (n <= 0) continue;
    link[n] = 0;
    found = strcmp(link, "anon_inode:[io_uring]") == 0;
  }
  closedir(fds);
  return found;
}

int tree_io_uring(char *list, size_t len) {
  static pid_t said[URING_SAID_MAX];
  static size_t nsaid;
  static pid_t members[URING_TREE_MAX];
  size_t n = tree_pids(members, URING_TREE_MAX), at = 0;
  if (n == 0) { /* no children lists: a scan of all of /proc */
    struct proc *procs;
    size_t live = tree_scan(&procs);
    members[n++] = getpid();
    for (size_t i = 0; i < live && n < URING_TREE_MAX; i++) members[n++] = procs[i].pid;
  }
  int found = 0;
  if (len) list[0] = 0;
  for (size_t i = 1; i < n; i++) { /* members[0] is the shim */
    int known = 0;
    for (size_t k = 0; k < nsaid && !known; k++) known = said[k] == members[i];
    if (known || !holds_io_uring(members[i])) continue;
    if (nsaid < URING_SAID_MAX) said[nsaid++] = members[i];
    struct proc p;
    if (read_stat(members[i], &p) != 0) snprintf(p.comm, sizeof p.comm, "?");
    if (at < len) {
      int w = snprintf(list + at, len - at, "%s%s (pid %d)", found ? ", " : "", p.comm, (int)members[i]);
      at += w > 0 ? (size_t)w : 0;
    }
    found++;
  }
  return found;
}
