/* Whole-tree crash (tree.h): stop every process of the run, then kill them all. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "sysfault.h"
#include "tree.h"

#define TREE_MAX 4096      /* processes of one run this can follow; a bigger tree is stopped in part */
#define PROC_MAX 32768     /* processes on the machine read per scan */
#define STOP_PASSES 200    /* scans waiting for the tree to show as stopped (about 100 ms) */
#define SHIM_COMM "sysfault-shim"

struct proc_entry {
  pid_t pid, ppid;
  char state;
};

static long raw_read_file(const char *path, char *buf, size_t len) {
  int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return -1;
  long n = syscall(SYS_read, fd, buf, len - 1);
  syscall(SYS_close, fd);
  if (n < 0) return -1;
  buf[n] = 0;
  return n;
}

/* ppid and state from /proc/PID/stat; 0 on success. */
static int proc_stat(pid_t pid, pid_t *ppid, char *state) {
  char path[48], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  if (raw_read_file(path, buf, sizeof buf) <= 0) return -1;
  char *rp = strrchr(buf, ')'); /* comm may hold spaces and parentheses */
  int pp;
  char st;
  if (!rp || sscanf(rp + 1, " %c %d", &st, &pp) != 2) return -1;
  *ppid = pp, *state = st;
  return 0;
}

int sf_proc_comm(pid_t pid, char *buf, size_t len) {
  char path[48];
  snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
  if (raw_read_file(path, buf, len) <= 0) return -1;
  buf[strcspn(buf, "\n")] = 0;
  return 0;
}

static int is_shim(pid_t pid) {
  char comm[32];
  return sf_proc_comm(pid, comm, sizeof comm) == 0 && strcmp(comm, SHIM_COMM) == 0;
}

/* The sysfault-shim member descends from, or 0. */
static pid_t find_shim(pid_t member) {
  pid_t pid = member;
  for (int depth = 0; depth < 256 && pid > 1; depth++) {
    pid_t ppid;
    char state;
    if (proc_stat(pid, &ppid, &state) != 0) return 0;
    if (is_shim(ppid)) return ppid;
    pid = ppid;
  }
  return 0;
}

struct dent64 {
  unsigned long long d_ino;
  long long d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

/* Every process on the machine (pid, ppid, state); how many were read. */
static size_t scan_procs(struct proc_entry *out, size_t max) {
  int dir = (int)syscall(SYS_openat, AT_FDCWD, "/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (dir < 0) return 0;
  size_t n = 0;
  char buf[8192];
  for (;;) {
    long got = syscall(SYS_getdents64, dir, buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    for (long pos = 0; pos < got && n < max;) {
      struct dent64 *d = (struct dent64 *)(buf + pos);
      pos += d->d_reclen;
      char *end;
      long pid = strtol(d->d_name, &end, 10);
      if (*end || pid <= 0) continue;
      if (proc_stat((pid_t)pid, &out[n].ppid, &out[n].state) == 0) out[n].pid = (pid_t)pid, n++;
    }
  }
  syscall(SYS_close, dir);
  return n;
}

/* The descendants of root among procs (by following ppid links; bounded by the number of processes). */
static size_t descendants(const struct proc_entry *procs, size_t n, pid_t root, pid_t *out, size_t max) {
  size_t count = 0;
  for (size_t i = 0; i < n && count < max; i++) {
    pid_t p = procs[i].ppid;
    for (size_t steps = 0; steps < n && p > 1 && p != root; steps++) {
      size_t j = 0;
      while (j < n && procs[j].pid != p) j++;
      p = j < n ? procs[j].ppid : 0;
    }
    if (p == root && procs[i].pid != root) out[count++] = procs[i].pid;
  }
  return count;
}

static char state_of(const struct proc_entry *procs, size_t n, pid_t pid) {
  for (size_t i = 0; i < n; i++)
    if (procs[i].pid == pid) return procs[i].state;
  return 'X';
}

/* 1 when /proc shows the caller's own PID namespace (/proc/self is the caller's pid there). */
static int proc_is_ours(void) {
  char link[32];
  long n = syscall(SYS_readlinkat, AT_FDCWD, "/proc/self", link, sizeof link - 1);
  if (n <= 0) return 0;
  link[n] = 0;
  return strtol(link, NULL, 10) == (long)syscall(SYS_getpid);
}

int sf_tree_crash(struct sf_shm *shm, pid_t member, pid_t spare) {
  int saved = errno;
  pid_t shim = proc_is_ours() ? find_shim(member) : 0;
  if (!shim) {
    if (shm) __atomic_add_fetch(&shm->tree_unreached, 1u, __ATOMIC_RELAXED);
    errno = saved;
    return -1;
  }
  /* Static: this runs on a crash path, once per process, and the preload engine must not allocate. A
   * second crash at the same time in another thread only signals the same processes again. */
  static struct proc_entry procs[PROC_MAX];
  static pid_t tree[TREE_MAX];
  struct timespec pause = { 0, 500000 };
  size_t count = 0;
  /* 1. stop: a process forked meanwhile shows up in the next scan; done when every one shows as stopped
   *    (a task held in a seccomp notification or in uninterruptible sleep may never show it: bounded) */
  for (int pass = 0; pass < STOP_PASSES; pass++) {
    size_t n = scan_procs(procs, PROC_MAX);
    count = descendants(procs, n, shim, tree, TREE_MAX);
    int running = 0;
    for (size_t i = 0; i < count; i++) {
      if (tree[i] == spare) continue;
      char st = state_of(procs, n, tree[i]);
      if (st == 'T' || st == 't' || st == 'Z' || st == 'X') continue;
      syscall(SYS_kill, tree[i], SIGSTOP);
      running++;
    }
    if (!running) break;
    syscall(SYS_nanosleep, &pause, NULL);
  }
  /* 2. kill: all of them at once, stopped as they are (SIGKILL ends a stopped process) */
  int killed = 0;
  for (size_t i = 0; i < count; i++)
    if (tree[i] != spare && syscall(SYS_kill, tree[i], SIGKILL) == 0) killed++;
  errno = saved;
  return killed;
}
