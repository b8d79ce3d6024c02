/*
 * The run monitor's access to the target (see monitor.c): its memory (process_vm_readv), its descriptors
 * (pidfd_getfd, /proc/<tid>/fd), its threads' process, and what one notified call is, described for sf_decide()
 * and for the fault log.
 */
#include "../core/tree.h"
#include "monitor-internal.h"

/* ---- the target ---- */

ssize_t mon_read_mem(pid_t tid, uint64_t addr, void *buf, size_t len) {
  struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
  return process_vm_readv(tid, &local, 1, &remote, 1, 0);
}

/* A NUL-terminated string, read a page at a time: a read crossing into an unmapped page fails whole. */
static int read_cstr(pid_t tid, uint64_t addr, char *buf, size_t cap) {
  size_t got = 0;
  while (got < cap - 1) {
    size_t room = 4096 - ((addr + got) & 4095);
    if (room > cap - 1 - got) room = cap - 1 - got;
    ssize_t n = mon_read_mem(tid, addr + got, buf + got, room);
    if (n <= 0) return -1;
    if (memchr(buf + got, 0, (size_t)n)) return 0;
    got += (size_t)n;
  }
  buf[cap - 1] = 0;
  return 0;
}

/* The kind of the file the fd refers to; st is what stat() says about that file. */
int mon_fd_kind(pid_t tid, int fd, struct stat *st) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)tid, fd);
  if (stat(path, st) != 0) return SF_FD_UNKNOWN;
  return S_ISSOCK(st->st_mode) ? SF_FD_SOCKET : S_ISFIFO(st->st_mode) ? SF_FD_PIPE : SF_FD_FILE;
}

/* The thread group of a thread, cached per tid and revalidated by /proc/<tgid>/task/<tid>. */
pid_t mon_tgid_of(struct run *r, pid_t tid) {
  char path[64], buf[1024];
  typeof(r->tgids[0]) *slot = &r->tgids[(unsigned)tid % 64];
  if (slot->tid == tid) {
    snprintf(path, sizeof path, "/proc/%d/task/%d", (int)slot->tgid, (int)tid);
    if (access(path, F_OK) == 0) return slot->tgid;
  }
  snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return tid;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return tid;
  buf[n] = 0;
  char *line = strstr(buf, "\nTgid:");
  if (!line) return tid;
  slot->tid = tid;
  slot->tgid = (pid_t)atoi(line + 6);
  return slot->tgid;
}

/* A process set up io_uring: its I/O bypasses syscalls, nothing of it can be seen or faulted. Said once per
 * process (the first 16), by name, as the shim's scan says it under the preload engine alone. */
void mon_say_io_uring(struct run *r, pid_t tid) {
  pid_t pid = mon_tgid_of(r, tid);
  for (int i = 0; i < r->nuring_said; i++)
    if (r->uring_said[i] == pid) return;
  if (r->nuring_said < (int)(sizeof r->uring_said / sizeof *r->uring_said)) r->uring_said[r->nuring_said++] = pid;
  if (!r->m->cb.on_notice) return;
  char comm[32], line[400];
  if (sf_proc_comm(pid, comm, sizeof comm) != 0 || !comm[0]) snprintf(comm, sizeof comm, "?");
  snprintf(line, sizeof line, "io-uring\t%s (pid %d) set up io_uring: its I/O is invisible to syscall interception "
           "(--io-uring deny makes io_uring_setup fail with ENOSYS)", comm, (int)pid);
  r->m->cb.on_notice(r->m->cb.ctx, 'W', line);
}

/* A copy of the target thread's fd (pidfd_getfd needs ptrace access: the addon is the target's ancestor). */
int mon_target_fd(struct run *r, pid_t tid, int fd) {
  int pidfd = -1;
  if (r->thread_pidfd) {
    pidfd = sf_pidfd_open(tid, PIDFD_THREAD);
    if (pidfd < 0 && errno == EINVAL) r->thread_pidfd = 0;
  }
  if (pidfd < 0) pidfd = sf_pidfd_open(mon_tgid_of(r, tid), 0);
  if (pidfd < 0) return -1;
  int copy = sf_pidfd_getfd(pidfd, fd);
  int err = errno;
  close(pidfd);
  errno = err;
  return copy;
}

/* ---- describing a call for sf_decide ---- */

static int is_open(int sys) {
  int shape = sf_sys_shape(sys);
  return shape == SF_SHAPE_OPENAT || shape == SF_SHAPE_OPEN;
}

static int call_fd(const struct held *h) {
  switch (sf_sys_shape(h->sys)) {
  case SF_SHAPE_OPENAT:
  case SF_SHAPE_OPEN:
  case SF_SHAPE_MAP: return -1;
  case SF_SHAPE_MOVE: return (int)(h->sys == SF_SYS_sendfile ? h->args[0] : h->args[2]);
  default: return (int)h->args[0];
  }
}

/* The absolute form of the path being opened, joined like the preload engine does (no normalisation). */
static int read_open_path(struct run *r, const struct held *h, char *out, size_t len) {
  int at = sf_sys_shape(h->sys) == SF_SHAPE_OPENAT;
  char rel[PATH_MAX], base[PATH_MAX];
  if (read_cstr(h->tid, at ? h->args[1] : h->args[0], rel, sizeof rel) != 0 || !mon_id_valid(r, h->id)) return -1;
  if (rel[0] == '/') {
    snprintf(out, len, "%s", rel);
    return 0;
  }
  int dirfd = at ? (int)h->args[0] : AT_FDCWD;
  if ((dirfd == AT_FDCWD ? sf_proc_link(h->tid, "cwd", base, sizeof base) : sf_fd_path(h->tid, dirfd, base, sizeof base)) != 0) {
    snprintf(out, len, "%s", rel);
    return 0;
  }
  return sf_path_join(base, rel, out, len); /* -1: longer than PATH_MAX, the kernel refuses it too */
}

/* The peer of a connected or accepted socket (getpeername on a copy), remembered by socket inode. */
static void socket_peer(struct run *r, const struct held *h, const struct stat *st, struct call_info *ci) {
  struct peer_memo *m = &r->peers[(unsigned)st->st_ino % PEER_MEMOS];
  if (m->ino == st->st_ino && m->dev == st->st_dev) {
    ci->peer = m->peer;
    ci->call.peer = &ci->peer;
    return;
  }
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  int copy = mon_target_fd(r, h->tid, ci->call.fd);
  if (copy < 0) return;
  if (getpeername(copy, (struct sockaddr *)&ss, &len) == 0 &&
      sf_addr_from_sockaddr((struct sockaddr *)&ss, len, &ci->peer) == 0) {
    ci->call.peer = &ci->peer;
    *m = (struct peer_memo){ .dev = st->st_dev, .ino = st->st_ino, .peer = ci->peer };
  }
  close(copy);
}
/* Reset/close after N bytes: what the socket has moved so far in the call's direction (TCP only). */
static void socket_bytes(struct run *r, const struct held *h, struct call_info *ci) {
  int copy = mon_target_fd(r, h->tid, ci->call.fd);
  if (copy < 0) return;
  if (sf_net_bytes(copy, sf_sys_sock_write(h->sys), &ci->call.sock_bytes) == 0) ci->call.has_bytes = 1;
  close(copy);
}

static int connect_peer(struct run *r, const struct held *h, struct call_info *ci) {
  struct sockaddr_storage ss;
  size_t len = h->args[2] < sizeof ss ? (size_t)h->args[2] : sizeof ss;
  ssize_t n = mon_read_mem(h->tid, h->args[1], &ss, len);
  if (n > 0 && !mon_id_valid(r, h->id)) return -1;
  if (n > 0 && sf_addr_from_sockaddr((struct sockaddr *)&ss, (socklen_t)n, &ci->peer) == 0) ci->call.peer = &ci->peer;
  return 0;
}

/* The file's path as the kernel names it now (readlink of /proc/<tid>/fd/<fd>), every time: the supervisor does
 * not see the closes and opens that would tell it a descriptor number now stands for another open of the same
 * file (written as wal.tmp, renamed to wal.log, opened again as fd 3: a rule on wal.log must see it). */
static void file_path_bits(struct run *r, const struct held *h, struct call_info *ci) {
  if (sf_fd_path(h->tid, ci->call.fd, ci->path, sizeof ci->path) != 0) return;
  ci->call.path_bits = sf_plan_path_bits(r->m->plan, ci->path);
}

/* Fills what some rule for this syscall filters on (the contract: monitor-internal.h). Under the net, every
 * open's path and every descriptor's file are looked at (the calls that reach the supervisor there are the
 * few libc makes on its own and the dynamic loader's), to leave the loader's work on the preload library. */
int mon_describe(struct run *r, const struct held *h, struct call_info *ci) {
  const struct sf_plan *p = r->m->plan;
  uint64_t bit = 1ull << h->sys;
  int own = r->own.ino != 0;
  ci->call = (struct sf_call){ .sys = h->sys, .fd = call_fd(h), .fd_kind = SF_FD_UNKNOWN };
  ci->path[0] = 0;
  if (is_open(h->sys)) {
    if (!own && !(p->path_used & bit)) return 0;
    if (read_open_path(r, h, ci->path, sizeof ci->path) != 0) return mon_id_valid(r, h->id) ? 0 : -1;
    if (own && strcmp(ci->path, r->m->own_library) == 0) return MON_OWN_LIBRARY;
    ci->call.path_bits = sf_plan_path_bits(p, ci->path);
    return 0;
  }
  if (ci->call.fd < 0 || !(own || ((p->path_used | p->kind_used | p->addr_used | p->bytes_used) & bit))) return 0;
  struct stat st;
  ci->call.fd_kind = mon_fd_kind(h->tid, ci->call.fd, &st);
  if (own && ci->call.fd_kind == SF_FD_FILE && st.st_ino == r->own.ino && st.st_dev == r->own.dev) return MON_OWN_LIBRARY;
  if (ci->call.fd_kind == SF_FD_FILE && (p->path_used & bit)) file_path_bits(r, h, ci);
  if (p->addr_used & bit) {
    if (h->sys == SF_SYS_connect) return connect_peer(r, h, ci);
    if (ci->call.fd_kind == SF_FD_SOCKET) socket_peer(r, h, &st, ci);
  }
  if ((p->bytes_used & bit) && ci->call.fd_kind == SF_FD_SOCKET) socket_bytes(r, h, ci);
  return 0;
}

void mon_fault_target(struct run *r, const struct held *h, struct call_info *ci, char *buf, size_t len) {
  buf[0] = 0;
  if (is_open(h->sys) && !ci->path[0] && read_open_path(r, h, ci->path, sizeof ci->path) != 0) ci->path[0] = 0;
  if (h->sys == SF_SYS_connect && !ci->call.peer) connect_peer(r, h, ci); /* the address, as the preload logs */
  if (sf_sys_shape(h->sys) == SF_SHAPE_MAP) /* msync: the range, as the preload library logs it */
    sf_mapping_target(h->args[0], h->args[1], buf, len);
  else if (ci->path[0])
    snprintf(buf, len, "%s", ci->path);
  else if (ci->call.peer) /* connect's address, or a socket's peer when a rule filters on it */
    sf_addr_format(ci->call.peer, buf, len);
  else if (ci->call.fd >= 0 && sf_fd_path(h->tid, ci->call.fd, buf, len) != 0)
    buf[0] = 0;
}
