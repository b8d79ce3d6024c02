/*
 * Exec following for the Go fast path, the supervisor's side (the shim's is native/goagent/follow.c). The filter
 * notifies execve and execveat when the run has the Go agent; an exec of a Go executable is held here while the
 * shim seizes the task ('G' tid id, answered 'g' id), then let go on: the shim catches the exec stop and loads
 * the agent. Any other exec goes on at once. Not a counted call.
 */
#include <fcntl.h>
#include <unistd.h>

#include "../goagent/goelf.h"
#include "monitor-internal.h"

#define NR_EXECVE 59
#define NR_EXECVEAT 322

int mon_is_exec(int nr) { return nr == NR_EXECVE || nr == NR_EXECVEAT; }

static int read_path(pid_t tid, uint64_t addr, char *buf, size_t cap) {
  size_t got = 0;
  while (got < cap - 1) {
    size_t want = cap - 1 - got < 256 ? cap - 1 - got : 256;
    ssize_t n = mon_read_mem(tid, addr + got, buf + got, want);
    if (n <= 0) return -1;
    for (ssize_t i = 0; i < n; i++)
      if (buf[got + (size_t)i] == 0) return 0;
    got += (size_t)n;
  }
  return -1;
}

/* Is what the task executes a Go binary? (the file as the task sees it: its cwd, its dirfd) */
static int execs_go(const struct held *h) {
  int at = h->nr == NR_EXECVEAT;
  char path[PATH_MAX], full[PATH_MAX + 64];
  if (read_path(h->tid, h->args[at ? 1 : 0], path, sizeof path) != 0) return 0;
  int dirfd = at ? (int)h->args[0] : AT_FDCWD;
  if (path[0] == '/')
    snprintf(full, sizeof full, "%s", path);
  else if (dirfd == AT_FDCWD)
    snprintf(full, sizeof full, "/proc/%d/cwd/%s", (int)h->tid, path);
  else
    snprintf(full, sizeof full, "/proc/%d/fd/%d/%s", (int)h->tid, dirfd, path);
  int fd = open(full, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  struct sf_go_elf go;
  char why[200];
  sf_go_elf_find(fd, &go, why, sizeof why);
  close(fd);
  return go.is_go;
}

int mon_exec_hold(struct run *r, struct held *h) {
  if (h->tid == r->target_pid && !r->target_exec_seen) { /* the target's own exec: the shim waits for it */
    r->target_exec_seen = 1;
    return 0;
  }
  if (r->nexecs == EXEC_HELD_MAX || !execs_go(h)) return 0;
  char msg[13] = { 'G' };
  memcpy(msg + 1, &h->tid, 4);
  memcpy(msg + 5, &h->id, 8);
  if (send(r->m->ctl_fd, msg, sizeof msg, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)sizeof msg) return 0;
  r->execs[r->nexecs++] = *h;
  return 1;
}

void mon_exec_answered(struct run *r, uint64_t id) {
  for (int i = 0; i < r->nexecs; i++) {
    if (r->execs[i].id != id) continue;
    struct held h = r->execs[i];
    r->execs[i] = r->execs[--r->nexecs];
    mon_continue_call(r, &h);
    return;
  }
}
