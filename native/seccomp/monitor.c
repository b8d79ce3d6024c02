/*
 * The run monitor (API and control protocol in monitor.h). One thread per run; a poll() loop over the
 * control socket, the kill eventfd, the seccomp listener, one timerfd for delays and the fds of short
 * transfers waiting for readiness.
 *
 * poll() rather than epoll: the set is tiny and changes with every parked transfer, so it is rebuilt per
 * wait instead of kept in sync with epoll_ctl; both wait equally fast here (measured, with and without
 * SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP).
 *
 * Every notification is answered at once (continue, errno, kill, a short transfer done here) except
 * delays, which are held in a min-heap by deadline and continued when the timerfd fires.
 *
 * Restarts: a signal reaching a task that waits in a notification makes the kernel drop the notification;
 * with SA_RESTART the syscall comes back as a new notification (new id), without it the program sees EINTR
 * and usually retries. With SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (5.19+, the shim's default) only a
 * fatal signal can do that once we have received the notification; without it any signal can, delays
 * included. A thread waits in one syscall at a time, so a new notification from a thread whose call we
 * still hold means the held one is void: the same syscall with the same arguments is that call again and
 * takes over the held state (same deadline, not counted again); another call drops it. A reply that
 * finds the task gone (SEND: ENOENT) leaves a tombstone for the thread; its next notification, if it is
 * the same call, gets the same answer (a delay: the rest of its deadline) without a second count.
 * Limit without WAIT_KILLABLE_RECV: a signal that wakes the task while SEND runs can make the kernel drop
 * a reply SEND reported as delivered (the woken task sees its interruption once it re-takes notify_lock);
 * that call's restart is then counted as a new call.
 */
#include <errno.h>
#include <limits.h>
#include <linux/audit.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/uio.h>

#include "../core/net.h"
#include "compat.h"
#include "monitor.h"

#define TOMBS_MAX 256
#define SHORT_MAX_BYTES (8u << 20) /* a short transfer moves at most this much at once */
#define REMOTE_IOV_MAX 1024        /* IOV_MAX */
#define PRELOAD_TICK_MS 10         /* preload engine: how often the shared fault log is checked */
#define IO_CHECK_MS 100            /* how often parked short transfers are checked for dead tasks */
#define LOG_STUCK_NS 1000000000ull /* an entry its writer never completed (killed mid-write) */
#define NS_PER_MS 1000000ull

#ifdef SF_MONITOR_TRACE
#define TRACE(...) fprintf(stderr, "monitor %.3f: ", (double)(sf_now_ns() % 100000000000ull) / 1e6), fprintf(stderr, __VA_ARGS__)
#else
#define TRACE(...) ((void)0)
#endif

/* One call we answer late, or must recognise when the kernel restarts it. */
struct held {
  uint64_t id;
  int32_t tid, sys;
  int32_t nr;
  uint64_t args[6];
  struct sf_decision d;
  uint64_t deadline; /* delay: continue at this CLOCK_MONOTONIC time */
  int answered;      /* the answer below is known (a short transfer may still be to do) */
  int cont;          /* answer: let the call proceed */
  int64_t val;       /* answer: return value, used when err is 0 */
  int32_t err;       /* answer: -errno */
  int io_fd;         /* short transfer waiting for readiness: our copy of the target's fd */
  int full;          /* a transfer done here in full (a kill after the call), not cut */
  int32_t post_kill; /* signal the target once its call is done here, before the reply (0: none) */
  int tree_kill;     /* and the whole tree (a power cut) */
  int io_nowait;     /* see io_mode() */
  short io_events;
  int net_kind;         /* network actions: enum net_kind (0: none) */
  uint64_t io_deadline; /* a parked call is answered at this time if its fd is not ready by then (0: never) */
  dev_t net_dev;        /* NK_READABLE: the stalled socket (inode) the read waits on */
  ino_t net_ino;
};

/* Network actions (the section "network actions" below). A parked entry of r->ios is a short transfer (0), a
 * blocking connect waiting for its outcome, or a blocking read of a stalled socket waiting for data; an entry
 * of r->delays is a delayed call (0) or the end of a read stall (not a call: tid 0). */
enum net_kind { NK_NONE = 0, NK_CONNECT, NK_READABLE, NK_STALL_END };

/* A TCP socket whose reads are stalled (fd >= 0: our copy, SO_RCVLOWAT raised until `until`), or released
 * (fd -1: its next read is the stalled one's and passes; forgotten at `until`). Keyed by the socket inode. */
struct stall {
  dev_t dev;
  ino_t ino;
  int fd, orig_lowat;
  uint64_t until;
  uint32_t end; /* SF_ACT_RESET or SF_ACT_CLOSE: the connection ends with the stall (a silence, then the end) */
};

/* A connected socket's peer, by socket inode (a TCP socket's peer never changes once connected). */
struct peer_memo {
  dev_t dev;
  ino_t ino;
  struct sf_addr peer;
};
#define PEER_MEMOS 256

/* Path-filter facts of one (thread, fd), valid while the fd refers to the same file (dev, ino): spares
 * the readlink (about 2.5 us: a path-filtered call costs 11.5 us instead of 14). Like the preload engine's open-time cache, a
 * rename after open is not seen. */
struct path_memo {
  pid_t tid;
  int fd;
  dev_t dev;
  ino_t ino;
  uint64_t bits;
  char path[SF_TARGET_MAX]; /* enough for the fault log */
};
#define PATH_MEMOS 256

struct heldvec {
  struct held *v;
  size_t n, cap;
};

struct run {
  struct sf_monitor *m;
  int listener, timer_fd;
  struct seccomp_notif *req;
  struct seccomp_notif_resp *resp;
  size_t req_size, resp_size;
  struct heldvec delays; /* binary min-heap by deadline */
  struct heldvec ios;    /* short transfers waiting for their fd */
  struct heldvec tombs;  /* answers that found the task interrupted, oldest first */
  uint64_t timer_armed;  /* deadline the timerfd is set to, 0 for none */
  uint64_t io_checked;
  int thread_pidfd;      /* PIDFD_THREAD works (6.9) */
  struct { pid_t tid, tgid; } tgids[64];
  struct path_memo paths[PATH_MEMOS];
  struct peer_memo peers[PEER_MEMOS];
  struct stall *stalls;  /* network: stalled or released sockets */
  size_t nstalls, stalls_cap;
  struct iovec riov[REMOTE_IOV_MAX];
  char *iobuf;
  size_t iobuf_cap;
  struct pollfd *pfds; /* pfds_small, or a larger allocation while many transfers are parked */
  size_t pfds_cap;
  struct pollfd pfds_small[16];
  int broken;          /* set up failed: the target is being killed, a listener is refused */
  uint64_t log_cursor, log_stuck_since;
  int exited, status, done;
  unsigned long takeovers, tombstones, replays, parked; /* for tests: the restart paths were taken */
};

struct call_info {
  struct sf_call call;
  struct sf_addr peer;
  char path[PATH_MAX]; /* the path opened, or the fd's link */
};

/* ---- small containers ---- */

static struct held *vec_push(struct heldvec *v, const struct held *h) {
  if (v->n == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 16;
    struct held *nv = realloc(v->v, cap * sizeof *nv);
    if (!nv) return NULL;
    v->v = nv, v->cap = cap;
  }
  v->v[v->n] = *h;
  return &v->v[v->n++];
}

static void vec_remove_ordered(struct heldvec *v, size_t i) {
  memmove(&v->v[i], &v->v[i + 1], (v->n - i - 1) * sizeof *v->v);
  v->n--;
}

static ssize_t vec_find_tid(const struct heldvec *v, int32_t tid) {
  for (size_t i = 0; i < v->n; i++)
    if (v->v[i].tid == tid) return (ssize_t)i;
  return -1;
}

static void heap_swap(struct heldvec *h, size_t a, size_t b) {
  struct held t = h->v[a];
  h->v[a] = h->v[b], h->v[b] = t;
}

static void heap_up(struct heldvec *h, size_t i) {
  for (; i > 0 && h->v[(i - 1) / 2].deadline > h->v[i].deadline; i = (i - 1) / 2) heap_swap(h, i, (i - 1) / 2);
}

static void heap_down(struct heldvec *h, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, min = i;
    if (l < h->n && h->v[l].deadline < h->v[min].deadline) min = l;
    if (r < h->n && h->v[r].deadline < h->v[min].deadline) min = r;
    if (min == i) return;
    heap_swap(h, i, min);
    i = min;
  }
}

static int heap_push(struct heldvec *h, const struct held *e) {
  if (!vec_push(h, e)) return -1;
  heap_up(h, h->n - 1);
  return 0;
}

static void heap_remove(struct heldvec *h, size_t i) {
  h->v[i] = h->v[--h->n];
  if (i < h->n) {
    heap_up(h, i);
    heap_down(h, i);
  }
}

/* ---- the target ---- */

static ssize_t read_mem(pid_t tid, uint64_t addr, void *buf, size_t len) {
  struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
  return process_vm_readv(tid, &local, 1, &remote, 1, 0);
}

/* A NUL-terminated string, read a page at a time: a read crossing into an unmapped page fails whole. */
static int read_cstr(pid_t tid, uint64_t addr, char *buf, size_t cap) {
  size_t got = 0;
  while (got < cap - 1) {
    size_t room = 4096 - ((addr + got) & 4095);
    if (room > cap - 1 - got) room = cap - 1 - got;
    ssize_t n = read_mem(tid, addr + got, buf + got, room);
    if (n <= 0) return -1;
    if (memchr(buf + got, 0, (size_t)n)) return 0;
    got += (size_t)n;
  }
  buf[cap - 1] = 0;
  return 0;
}

static int id_valid(struct run *r, uint64_t id) {
  return ioctl(r->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

static int proc_link(pid_t tid, const char *what, char *buf, size_t len) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", (int)tid, what);
  ssize_t n = readlink(path, buf, len - 1);
  if (n < 0) return -1;
  buf[n] = 0;
  return 0;
}

static int fd_link(pid_t tid, int fd, char *buf, size_t len) {
  char what[32];
  snprintf(what, sizeof what, "fd/%d", fd);
  return proc_link(tid, what, buf, len);
}

/* The kind of the file the fd refers to; st is what stat() says about that file. */
static int fd_kind(pid_t tid, int fd, struct stat *st) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)tid, fd);
  if (stat(path, st) != 0) return SF_FD_UNKNOWN;
  return S_ISSOCK(st->st_mode) ? SF_FD_SOCKET : S_ISFIFO(st->st_mode) ? SF_FD_PIPE : SF_FD_FILE;
}

/* The thread group of a thread, cached per tid and revalidated by /proc/<tgid>/task/<tid>. */
static pid_t tgid_of(struct run *r, pid_t tid) {
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

/* A copy of the target thread's fd (pidfd_getfd needs ptrace access: the addon is the target's ancestor). */
static int target_fd(struct run *r, pid_t tid, int fd) {
  int pidfd = -1;
  if (r->thread_pidfd) {
    pidfd = sf_pidfd_open(tid, PIDFD_THREAD);
    if (pidfd < 0 && errno == EINVAL) r->thread_pidfd = 0;
  }
  if (pidfd < 0) pidfd = sf_pidfd_open(tgid_of(r, tid), 0);
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
  case SF_SHAPE_OPEN: return -1;
  case SF_SHAPE_MOVE: return (int)(h->sys == SF_SYS_sendfile ? h->args[0] : h->args[2]);
  default: return (int)h->args[0];
  }
}

/* The absolute form of the path being opened, joined like the preload engine does (no normalisation). */
static int read_open_path(struct run *r, const struct held *h, char *out, size_t len) {
  int at = sf_sys_shape(h->sys) == SF_SHAPE_OPENAT;
  char rel[PATH_MAX], base[PATH_MAX];
  if (read_cstr(h->tid, at ? h->args[1] : h->args[0], rel, sizeof rel) != 0 || !id_valid(r, h->id)) return -1;
  if (rel[0] == '/') {
    snprintf(out, len, "%s", rel);
    return 0;
  }
  int dirfd = at ? (int)h->args[0] : AT_FDCWD;
  if ((dirfd == AT_FDCWD ? proc_link(h->tid, "cwd", base, sizeof base) : fd_link(h->tid, dirfd, base, sizeof base)) != 0) {
    snprintf(out, len, "%s", rel);
    return 0;
  }
  const char *p = rel;
  while (p[0] == '.' && p[1] == '/') p += 2;
  size_t bl = strcmp(base, "/") == 0 ? 0 : strlen(base), pl = strlen(p);
  if (bl + 1 + pl >= len) return -1; /* longer than PATH_MAX: the kernel refuses it too */
  memcpy(out, base, bl);
  out[bl] = '/';
  memcpy(out + bl + 1, p, pl + 1);
  return 0;
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
  int copy = target_fd(r, h->tid, ci->call.fd);
  if (copy < 0) return;
  if (getpeername(copy, (struct sockaddr *)&ss, &len) == 0 &&
      sf_addr_from_sockaddr((struct sockaddr *)&ss, len, &ci->peer) == 0) {
    ci->call.peer = &ci->peer;
    *m = (struct peer_memo){ .dev = st->st_dev, .ino = st->st_ino, .peer = ci->peer };
  }
  close(copy);
}

static int sock_write_sys(int sys) {
  return sys == SF_SYS_write || sys == SF_SYS_writev || sys == SF_SYS_sendto || sys == SF_SYS_sendmsg;
}
static int sock_read_sys(int sys) {
  return sys == SF_SYS_read || sys == SF_SYS_readv || sys == SF_SYS_recvfrom || sys == SF_SYS_recvmsg;
}

/* Reset/close after N bytes: what the socket has moved so far in the call's direction (TCP only). */
static void socket_bytes(struct run *r, const struct held *h, struct call_info *ci) {
  int copy = target_fd(r, h->tid, ci->call.fd);
  if (copy < 0) return;
  if (sf_net_bytes(copy, sock_write_sys(h->sys), &ci->call.sock_bytes) == 0) ci->call.has_bytes = 1;
  close(copy);
}

static int connect_peer(struct run *r, const struct held *h, struct call_info *ci) {
  struct sockaddr_storage ss;
  size_t len = h->args[2] < sizeof ss ? (size_t)h->args[2] : sizeof ss;
  ssize_t n = read_mem(h->tid, h->args[1], &ss, len);
  if (n > 0 && !id_valid(r, h->id)) return -1;
  if (n > 0 && sf_addr_from_sockaddr((struct sockaddr *)&ss, (socklen_t)n, &ci->peer) == 0) ci->call.peer = &ci->peer;
  return 0;
}

static void file_path_bits(struct run *r, const struct held *h, const struct stat *st, struct call_info *ci) {
  struct path_memo *m = &r->paths[((unsigned)h->tid * 31u + (unsigned)ci->call.fd) % PATH_MEMOS];
  if (m->tid == h->tid && m->fd == ci->call.fd && m->dev == st->st_dev && m->ino == st->st_ino) {
    ci->call.path_bits = m->bits;
    memcpy(ci->path, m->path, sizeof m->path);
    return;
  }
  if (fd_link(h->tid, ci->call.fd, ci->path, sizeof ci->path) != 0) return;
  ci->call.path_bits = sf_plan_path_bits(r->m->plan, ci->path);
  *m = (struct path_memo){ .tid = h->tid, .fd = ci->call.fd, .dev = st->st_dev, .ino = st->st_ino, .bits = ci->call.path_bits };
  size_t n = strnlen(ci->path, sizeof m->path - 1);
  memcpy(m->path, ci->path, n);
  m->path[n] = 0;
}

/* Fills what some rule for this syscall filters on. -1 when the task left the call meanwhile. */
static int describe(struct run *r, const struct held *h, struct call_info *ci) {
  const struct sf_plan *p = r->m->plan;
  uint64_t bit = 1ull << h->sys;
  ci->call = (struct sf_call){ .sys = h->sys, .fd = call_fd(h), .fd_kind = SF_FD_UNKNOWN };
  ci->path[0] = 0;
  if (is_open(h->sys)) {
    if (!(p->path_used & bit)) return 0;
    if (read_open_path(r, h, ci->path, sizeof ci->path) != 0) return id_valid(r, h->id) ? 0 : -1;
    ci->call.path_bits = sf_plan_path_bits(p, ci->path);
    return 0;
  }
  if (ci->call.fd < 0 || !((p->path_used | p->kind_used | p->addr_used | p->bytes_used) & bit)) return 0;
  struct stat st;
  ci->call.fd_kind = fd_kind(h->tid, ci->call.fd, &st);
  if (ci->call.fd_kind == SF_FD_FILE && (p->path_used & bit)) file_path_bits(r, h, &st, ci);
  if (p->addr_used & bit) {
    if (h->sys == SF_SYS_connect) return connect_peer(r, h, ci);
    if (ci->call.fd_kind == SF_FD_SOCKET) socket_peer(r, h, &st, ci);
  }
  if ((p->bytes_used & bit) && ci->call.fd_kind == SF_FD_SOCKET) socket_bytes(r, h, ci);
  return 0;
}

/* ---- the fault log ---- */

/* Delivers every complete entry once, in order, whoever wrote it (the preload in the target, or us). */
static void drain_log(struct run *r, int final) {
  struct sf_shm *shm = r->m->shm;
  if (!shm) return;
  uint64_t end = __atomic_load_n(&shm->log_next, __ATOMIC_ACQUIRE);
  if (end > shm->log_capacity) end = shm->log_capacity;
  const struct sf_log_entry *log = sf_shm_log(shm);
  while (r->log_cursor < end) {
    const struct sf_log_entry *e = &log[r->log_cursor];
    if (!__atomic_load_n(&e->ready, __ATOMIC_ACQUIRE)) {
      uint64_t now = sf_now_ns();
      if (!r->log_stuck_since) r->log_stuck_since = now;
      if (!final && now - r->log_stuck_since < LOG_STUCK_NS) return;
      r->log_cursor++, r->log_stuck_since = 0; /* its writer died between reserving and completing it */
      continue;
    }
    struct sf_log_entry copy;
    memcpy(&copy, e, sizeof copy);
    r->log_cursor++, r->log_stuck_since = 0;
    /* a power cut under the preload engine: the process killed itself, the rest of its tree goes too */
    if (copy.action == SF_ACT_POWERCUT && !r->m->seccomp) sf_monitor_request_kill(r->m, SIGKILL);
    if (r->m->cb.on_fault) r->m->cb.on_fault(r->m->cb.ctx, &copy);
  }
}

static void fault_target(struct run *r, const struct held *h, struct call_info *ci, char *buf, size_t len) {
  buf[0] = 0;
  if (is_open(h->sys) && !ci->path[0] && read_open_path(r, h, ci->path, sizeof ci->path) != 0) ci->path[0] = 0;
  if (h->sys == SF_SYS_connect && !ci->call.peer) connect_peer(r, h, ci); /* the address, as the preload logs */
  if (ci->path[0])
    snprintf(buf, len, "%s", ci->path);
  else if (ci->call.peer) /* connect's address, or a socket's peer when a rule filters on it */
    sf_addr_format(ci->call.peer, buf, len);
  else if (ci->call.fd >= 0 && fd_link(h->tid, ci->call.fd, buf, len) != 0)
    buf[0] = 0;
}

static void log_fault(struct run *r, const struct held *h, struct call_info *ci) {
  char target[SF_TARGET_MAX];
  fault_target(r, h, ci, target, sizeof target);
  sf_log_fault(r->m->shm, &h->d, h->sys, tgid_of(r, h->tid), h->tid, ci->call.fd, target);
  drain_log(r, 0);
}

/* ---- answering ---- */

static int send_resp(struct run *r, uint64_t id, int cont, int64_t val, int32_t err) {
  memset(r->resp, 0, r->resp_size);
  r->resp->id = id;
  r->resp->flags = cont ? SECCOMP_USER_NOTIF_FLAG_CONTINUE : 0;
  r->resp->val = cont ? 0 : val;
  r->resp->error = cont ? 0 : err;
  while (ioctl(r->listener, SECCOMP_IOCTL_NOTIF_SEND, r->resp) != 0)
    if (errno != EINTR) return -errno;
  return 0;
}

static void tomb_add(struct run *r, const struct held *h) {
  ssize_t old = vec_find_tid(&r->tombs, h->tid);
  if (old >= 0) vec_remove_ordered(&r->tombs, (size_t)old);
  if (r->tombs.n == TOMBS_MAX) vec_remove_ordered(&r->tombs, 0);
  r->tombstones++;
  struct held *t = vec_push(&r->tombs, h);
  if (t) t->io_fd = -1;
}

static int is_sync(int sys) { return sys == SF_SYS_fsync || sys == SF_SYS_fdatasync; }

static int shadowing(const struct run *r) { return r->m->shadow && r->m->shadow->dir[0]; }

/* Does h's fsync, fdatasync or sync_file_range here, on a copy of the target's fd (the same open file), so
 * that its outcome is known: under a power cut the synced state is recorded (before a successful reply), and
 * a kill after the call cannot race it. Leaves the answer in h. */
static void own_sync(struct run *r, struct held *h) {
  int fd = target_fd(r, h->tid, (int)h->args[0]);
  if (fd < 0) {
    if (errno == EBADF)
      h->cont = 0, h->err = -EBADF; /* what the call itself would say */
    else
      h->cont = 1; /* let the call run as it is */
    return;
  }
  struct sf_shadow_op op = { 0 };
  if (shadowing(r) && is_sync(h->sys)) sf_shadow_begin(r->m->shadow, fd, &op);
  int rc;
  if (h->sys == SF_SYS_sync_file_range)
    rc = sync_file_range(fd, (off64_t)h->args[1], (off64_t)h->args[2], (unsigned int)h->args[3]);
  else
    rc = h->sys == SF_SYS_fdatasync ? fdatasync(fd) : fsync(fd);
  int err = errno;
  sf_shadow_end(r->m->shadow, &op, rc == 0);
  close(fd);
  h->cont = 0, h->val = 0, h->err = rc == 0 ? 0 : -err;
}

static void post_kill_now(struct run *r, struct held *h) {
  kill(tgid_of(r, h->tid), h->post_kill);
  if (h->tree_kill) sf_monitor_request_kill(r->m, SIGKILL);
  h->post_kill = 0;
}

/* Sends h's answer. ENOENT: the task was interrupted meanwhile and will restart the call. */
static void answer(struct run *r, struct held *h) {
  if (h->cont && h->sys >= 0 && is_sync(h->sys) && shadowing(r)) own_sync(r, h);
  h->answered = 1;
  int post = h->post_kill;
  /* A call done here: signal before the reply, so that a fatal signal ends the task before it returns. A
   * call that has to be let through (a shape not done here): signal right after (that one races). */
  int before = post && !h->cont;
  if (before) post_kill_now(r, h);
  int rc = send_resp(r, h->id, h->cont, h->val, h->err);
  if (post && !before) post_kill_now(r, h);
  TRACE("answer id=%llx tid=%d sys=%d rc=%d\n", (unsigned long long)h->id, h->tid, h->sys, rc);
  int fatal = post == SIGKILL || h->d.action == SF_ACT_POWERCUT || h->d.action == SF_ACT_TORN ||
              (h->d.action == SF_ACT_KILL && h->d.value == SIGKILL);
  if (rc == -ENOENT && h->sys >= 0 && !fatal) tomb_add(r, h);
}

static void continue_call(struct run *r, struct held *h) {
  h->cont = 1;
  answer(r, h);
}

static void arm_timer(struct run *r) {
  uint64_t next = r->delays.n ? r->delays.v[0].deadline : 0;
  if (next == r->timer_armed) return;
  struct itimerspec its = { { 0, 0 }, { (time_t)(next / 1000000000ull), (long)(next % 1000000000ull) } };
  timerfd_settime(r->timer_fd, TFD_TIMER_ABSTIME, &its, NULL); /* all zero disarms */
  r->timer_armed = next;
}

static void hold_delay(struct run *r, struct held *h) {
  h->cont = !h->err; /* a network delay may end in an error (a read timeout) */
  if (h->deadline <= sf_now_ns() || heap_push(&r->delays, h) != 0) {
    answer(r, h);
    return;
  }
  arm_timer(r);
}

static void net_timer(struct run *r, struct held *h);
static int net_io_ready(struct run *r, struct held *h);
static int net_io_expired(struct run *r, struct held *h);

static void on_timer(struct run *r) {
  uint64_t ticks;
  if (read(r->timer_fd, &ticks, sizeof ticks) < 0) { /* EAGAIN: already handled */ }
  r->timer_armed = 0; /* an absolute timer that expired stays disarmed */
  uint64_t now = sf_now_ns();
  while (r->delays.n && r->delays.v[0].deadline <= now) {
    struct held h = r->delays.v[0];
    heap_remove(&r->delays, 0);
    if (h.net_kind) net_timer(r, &h);
    else answer(r, &h);
  }
  arm_timer(r);
}

/* ---- short transfers: done here, with a copy of the target's fd, on the target's behalf ---- */

enum { IO_DIRECT, IO_NOWAIT_SOCKET, IO_NOWAIT_OTHER };

/* Files are read and written in place. A blocking pipe, socket or terminal must not block this thread:
 * the transfer is tried without waiting and parked on poll() until the fd is ready. */
static int io_mode(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0 || S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) return IO_DIRECT;
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0 && (fl & O_NONBLOCK)) return IO_DIRECT; /* the call itself would return EAGAIN */
  return S_ISSOCK(st.st_mode) ? IO_NOWAIT_SOCKET : IO_NOWAIT_OTHER;
}

struct xfer {
  int write, sock, flags;
  int pos, rwf; /* positioned (preadv2 and friends): offset (-1: the file position) and RWF_ flags */
  off_t off;
  size_t n, nriov;
};

/* The transfer h asks for, in full (its remote iovecs in r->riov, their total in *total), or -1 when this call
 * is not done here (see short_plan). */
static int xfer_setup(struct run *r, const struct held *h, struct xfer *x, size_t *total) {
  const uint64_t *a = h->args;
  memset(x, 0, sizeof *x);
  x->off = -1;
  size_t nriov = 1;
  switch (h->sys) {
  case SF_SYS_write: x->write = 1; /* fall through */
  case SF_SYS_read: break;
  case SF_SYS_pwrite64: x->write = 1; /* fall through */
  case SF_SYS_pread64:
    x->pos = 1, x->off = (off_t)a[3];
    if (x->off < 0) return -1;
    break;
  case SF_SYS_sendto: x->write = 1; /* fall through */
  case SF_SYS_recvfrom:
    if (a[4]) return -1;
    x->sock = 1, x->flags = (int)a[3];
    break;
  case SF_SYS_pwritev2:
  case SF_SYS_preadv2: x->rwf = (int)a[5]; /* fall through */
  case SF_SYS_pwritev:
  case SF_SYS_preadv:
    x->pos = 1, x->off = (off_t)a[3]; /* pos_h (a4) is shifted out on 64-bit */
    if (x->off < (h->sys == SF_SYS_preadv2 || h->sys == SF_SYS_pwritev2 ? -1 : 0)) return -1; /* -1: file position */
    /* fall through */
  case SF_SYS_writev:
  case SF_SYS_readv:
    x->write = h->sys == SF_SYS_writev || h->sys == SF_SYS_pwritev || h->sys == SF_SYS_pwritev2;
    nriov = (size_t)a[2];
    if (nriov == 0 || nriov > REMOTE_IOV_MAX) return -1;
    break;
  default: return -1;
  }
  if (sf_sys_shape(h->sys) == SF_SHAPE_VEC || sf_sys_shape(h->sys) == SF_SHAPE_PVEC) {
    if (read_mem(h->tid, a[1], r->riov, nriov * sizeof *r->riov) != (ssize_t)(nriov * sizeof *r->riov)) return -1;
  } else {
    r->riov[0] = (struct iovec){ (void *)(uintptr_t)a[1], (size_t)a[2] };
  }
  *total = 0;
  for (size_t i = 0; i < nriov; i++) *total += r->riov[i].iov_len;
  x->nriov = nriov;
  return 0;
}

/* The transfer a decision asks for, or -1 when this call is not shortened here: recvmsg, sendmsg,
 * sendfile, copy_file_range, splice, recvfrom/sendto with an address, an offset the kernel refuses, or
 * nothing to cut. Such a call proceeds unchanged (sf_decide has counted it as faulted all the same).
 * A torn write keeps d.value bytes (torn_measure); a full transfer (h->full) is not cut. */
static int short_plan(struct run *r, const struct held *h, struct xfer *x) {
  size_t total;
  if (xfer_setup(r, h, x, &total) != 0) return -1;
  size_t nriov = x->nriov;
  size_t limit = h->d.value > 0 ? (size_t)h->d.value : 0;
  if (h->full) limit = total;
  else if (total <= limit && h->d.action != SF_ACT_TORN) return -1;
  if (limit > total) limit = total;
  if (limit > SHORT_MAX_BYTES) limit = SHORT_MAX_BYTES;
  size_t left = limit, i = 0; /* cut the remote iovecs down to limit bytes */
  for (; i < nriov && left; i++) {
    if (r->riov[i].iov_len > left) r->riov[i].iov_len = left;
    left -= r->riov[i].iov_len;
  }
  x->n = limit, x->nriov = i;
  return 0;
}

/* A torn write: how many of the bytes asked it keeps, in d.value (logged so). */
static void torn_measure(struct run *r, struct held *h) {
  struct xfer x;
  size_t total = 0, keep;
  if (xfer_setup(r, h, &x, &total) != 0) total = 0;
  if (h->d.value2 == 0)
    keep = (size_t)(h->d.value > 0 ? h->d.value : 0) < total ? (size_t)h->d.value : total;
  else
    keep = (size_t)((unsigned __int128)total * (uint32_t)h->d.value2 / 1000000u);
  if (keep > SHORT_MAX_BYTES) keep = SHORT_MAX_BYTES;
  h->d.value = (int32_t)keep, h->d.value2 = 0;
}

static char *iobuf(struct run *r, size_t n) {
  if (n == 0) n = 1;
  if (n > r->iobuf_cap) {
    char *b = realloc(r->iobuf, n);
    if (!b) return NULL;
    r->iobuf = b, r->iobuf_cap = n;
  }
  return r->iobuf;
}

static ssize_t do_io(int fd, const struct xfer *x, char *buf, size_t n, int mode) {
  if (x->sock || mode == IO_NOWAIT_SOCKET) {
    int flags = x->flags | MSG_NOSIGNAL | (mode == IO_NOWAIT_SOCKET ? MSG_DONTWAIT : 0);
    return x->write ? send(fd, buf, n, flags) : recv(fd, buf, n, flags);
  }
  struct iovec iov = { buf, n };
  if (mode == IO_NOWAIT_OTHER) {
    int rwf = x->rwf | RWF_NOWAIT;
    ssize_t rc = x->write ? pwritev2(fd, &iov, 1, x->off, rwf) : preadv2(fd, &iov, 1, x->off, rwf);
    if (rc >= 0 || errno != EOPNOTSUPP) return rc;
    struct pollfd p = { fd, x->write ? POLLOUT : POLLIN, 0 }; /* a terminal, a character device */
    if (poll(&p, 1, 0) != 1) {
      errno = EAGAIN;
      return -1;
    }
  }
  if (x->pos) return x->write ? pwritev2(fd, &iov, 1, x->off, x->rwf) : preadv2(fd, &iov, 1, x->off, x->rwf);
  return x->write ? write(fd, buf, n) : read(fd, buf, n);
}

/* One attempt at h's transfer through fd. 1: answered in h; 0: would block; -1: the task left the call. */
static int short_step(struct run *r, struct held *h, int fd) {
  struct xfer x;
  if (short_plan(r, h, &x) != 0) {
    h->cont = 1;
    return 1;
  }
  char *buf = iobuf(r, x.n);
  if (!buf) {
    h->cont = 1;
    return 1;
  }
  struct iovec local = { buf, x.n };
  ssize_t got = x.write && x.n ? process_vm_readv(h->tid, &local, 1, r->riov, x.nriov, 0) : (ssize_t)x.n;
  if (!id_valid(r, h->id)) return -1;
  if (got < 0) {
    h->err = -EFAULT;
    return 1;
  }
  h->io_events = x.write ? POLLOUT : POLLIN;
  ssize_t done = do_io(fd, &x, buf, (size_t)got, h->io_nowait);
  if (done < 0 && errno == EAGAIN && h->io_nowait != IO_DIRECT) return 0;
  if (done < 0) {
    h->err = -errno;
    if (errno == EPIPE && !(x.sock && (x.flags & MSG_NOSIGNAL))) /* what the kernel does to the writer */
      syscall(SYS_tgkill, tgid_of(r, h->tid), h->tid, SIGPIPE);
    return 1;
  }
  h->val = done;
  if (!x.write && done > 0) { /* the one write into target memory: the bytes its read got */
    local.iov_len = (size_t)done;
    size_t left = (size_t)done, i = 0;
    for (; i < x.nriov && left; i++) {
      if (r->riov[i].iov_len > left) r->riov[i].iov_len = left;
      left -= r->riov[i].iov_len;
    }
    if (process_vm_writev(h->tid, &local, 1, r->riov, i, 0) != done) h->err = -EFAULT;
  }
  return 1;
}

/* Runs one step and files h by its outcome; takes ownership of fd. */
static void short_settle(struct run *r, struct held *h, int fd, int rc) {
  if (rc == 0) {
    h->io_fd = fd;
    r->parked++;
    if (vec_push(&r->ios, h)) return;
    h->io_fd = -1, h->cont = 1, rc = 1; /* out of memory: let the call run as it is */
  }
  close(fd);
  if (rc < 0) {
    h->answered = 0; /* interrupted before the transfer: its restart does it */
    tomb_add(r, h);
  } else {
    answer(r, h);
  }
}

static void start_short(struct run *r, struct held *h) {
  int fd = target_fd(r, h->tid, (int)h->args[0]);
  if (fd < 0) {
    if (errno == EBADF) h->err = -EBADF; /* what the call itself would say */
    else h->cont = 1;
    answer(r, h);
    return;
  }
  h->io_nowait = io_mode(fd);
  if (h->io_nowait == IO_NOWAIT_SOCKET) { /* a blocking socket: parked no longer than its own timeout */
    uint64_t t = sf_net_timeout_ns(fd, sock_write_sys(h->sys));
    if (t) h->io_deadline = sf_now_ns() + t;
  }
  short_settle(r, h, fd, short_step(r, h, fd));
}

/* Parked transfers whose fd became ready (revents parallel to r->ios as polled), and every IO_CHECK_MS
 * the ones whose task is gone (they would hold a copy of its socket open). */
static void on_io(struct run *r, const struct pollfd *pfds, size_t n) {
  uint64_t now = sf_now_ns();
  int check = now - r->io_checked >= IO_CHECK_MS * NS_PER_MS;
  if (check) r->io_checked = now;
  for (size_t i = n; i-- > 0;) { /* backwards: removal moves the last entry, already seen, into i */
    struct held h = r->ios.v[i];
    int rc;
    if (pfds[i].revents) rc = h.net_kind ? net_io_ready(r, &h) : short_step(r, &h, h.io_fd);
    else if (h.io_deadline && now >= h.io_deadline) rc = net_io_expired(r, &h);
    else if (check && !id_valid(r, h.id)) rc = -1;
    else continue;
    if (rc == 0) continue;
    r->ios.v[i] = r->ios.v[--r->ios.n];
    short_settle(r, &h, h.io_fd, rc);
  }
}

/* ---- network actions (issue 4): refuse, blackhole, reset, close, and latency on TCP sockets ----
 * The socket work itself is in native/core/net.c (shared with the preload engine), done here on a copy of the
 * target's socket (pidfd_getfd: the same open file, so the very same socket). What the program then sees is
 * what the kernel says, through its own call or through our answer copied from the kernel's. */

#define STALL_PASS_NS (30ull * 1000000000ull) /* how long a released stall waits for its read */

static void count_call(struct run *r, int sys) { __atomic_fetch_add(&r->m->shm->counts[sys].calls, 1, __ATOMIC_RELAXED); }

static int msg_dontwait(const struct held *h) {
  if (h->sys == SF_SYS_recvfrom || h->sys == SF_SYS_sendto) return (h->args[3] & MSG_DONTWAIT) != 0;
  if (h->sys == SF_SYS_recvmsg || h->sys == SF_SYS_sendmsg) return (h->args[2] & MSG_DONTWAIT) != 0;
  return 0;
}

static struct stall *stall_find(struct run *r, dev_t dev, ino_t ino) {
  uint64_t now = sf_now_ns();
  for (size_t i = 0; i < r->nstalls;) {
    struct stall *s = &r->stalls[i];
    if (s->fd < 0 && now >= s->until) { /* a release nobody read */
      r->stalls[i] = r->stalls[--r->nstalls];
      continue;
    }
    if (s->dev == dev && s->ino == ino) return s;
    i++;
  }
  return NULL;
}

static void stall_remove(struct run *r, struct stall *s) {
  if (s->fd >= 0) sf_net_unstall(s->fd, s->orig_lowat), close(s->fd);
  *s = r->stalls[--r->nstalls];
}

/* Parks a network call on a copy of its fd until it is ready or its deadline passes; if it cannot be
 * parked, answers at once with `fallback` (what the kernel would have said without waiting). */
static void net_park(struct run *r, struct held *h, int fd, short events, int32_t fallback) {
  h->io_fd = fd, h->io_events = events;
  r->parked++;
  if (!vec_push(&r->ios, h)) {
    close(fd);
    h->err = fallback;
    answer(r, h);
  }
}

/* A blocking read of a stalled socket: parked until the socket is readable, which it is not before the stall
 * ends (SO_RCVLOWAT), or until its SO_RCVTIMEO from the call's start, then EAGAIN as the kernel answers a
 * timeout. The call is never let run while the stall lasts: a blocking read started with SO_RCVLOWAT raised
 * would wait for that many bytes. */
static void net_wait_readable(struct run *r, struct held *h, const struct stall *s, uint64_t start) {
  int fd = fcntl(s->fd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) {
    h->err = -EAGAIN;
    answer(r, h);
    return;
  }
  uint64_t tmo = sf_net_timeout_ns(fd, 0);
  h->net_kind = NK_READABLE;
  if (start) h->io_deadline = tmo ? start + tmo : 0; /* start 0: a restart keeps its first deadline */
  h->net_dev = s->dev, h->net_ino = s->ino;
  net_park(r, h, fd, POLLIN, -EAGAIN);
}

/* The restart of a read that waited on a stall: it waits again until the same deadline (or reads, the stall
 * being over). */
static void net_rewait(struct run *r, struct held *h) {
  for (size_t i = 0; i < r->nstalls; i++) {
    struct stall *s = &r->stalls[i];
    if (s->dev != h->net_dev || s->ino != h->net_ino || s->fd < 0) continue;
    net_wait_readable(r, h, s, 0);
    return;
  }
  continue_call(r, h);
}

/* A read of a stalled socket, before any decision: while the stall lasts, EAGAIN if it does not block, else
 * wait (net_wait_readable); unless the socket broke meanwhile (its error or hang-up is the kernel's to report).
 * The first read after the release is the delayed read itself and passes undecided. Counted as calls, never as
 * matches. */
static int net_stalled(struct run *r, struct held *h) {
  if (!r->nstalls || !sock_read_sys(h->sys)) return 0;
  struct stat st;
  if (fd_kind(h->tid, (int)h->args[0], &st) != SF_FD_SOCKET) return 0;
  struct stall *s = stall_find(r, st.st_dev, st.st_ino);
  if (!s) return 0;
  count_call(r, h->sys);
  if (s->fd >= 0 && !sf_net_broken(s->fd)) {
    if (sf_net_nonblocking(s->fd) || msg_dontwait(h)) {
      h->err = -EAGAIN;
      answer(r, h);
    } else {
      net_wait_readable(r, h, s, sf_now_ns());
    }
    return 1;
  }
  if (s->fd < 0) stall_remove(r, s);
  continue_call(r, h);
  return 1;
}

/* Starts a stall of the socket fd (our copy; taken) until `until`: poll and epoll see it empty, and so do the
 * program's reads (net_stalled), until SO_RCVLOWAT goes back, which wakes the program's poller (an
 * edge-triggered one too) if data is there. NULL when it cannot be done. */
static struct stall *net_stall(struct run *r, int fd, uint64_t until) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    close(fd);
    return NULL;
  }
  struct stall *s = stall_find(r, st.st_dev, st.st_ino);
  if (s && s->fd >= 0) { /* stalled already (another thread's read): this one waits with it */
    close(fd);
    return s;
  }
  if (s) stall_remove(r, s);
  if (r->nstalls == r->stalls_cap) {
    size_t cap = r->stalls_cap ? r->stalls_cap * 2 : 16;
    struct stall *v = realloc(r->stalls, cap * sizeof *v);
    if (v) r->stalls = v, r->stalls_cap = cap;
  }
  int orig = 1;
  struct held end = { .tid = 0, .sys = -1, .io_fd = -1, .net_kind = NK_STALL_END, .deadline = until };
  end.args[0] = (uint64_t)st.st_dev, end.args[1] = (uint64_t)st.st_ino;
  if (r->nstalls == r->stalls_cap || sf_net_stall(fd, &orig) != 0) {
    close(fd);
    return NULL;
  }
  if (heap_push(&r->delays, &end) != 0) {
    sf_net_unstall(fd, orig), close(fd);
    return NULL;
  }
  arm_timer(r);
  s = &r->stalls[r->nstalls++];
  *s = (struct stall){ .dev = st.st_dev, .ino = st.st_ino, .fd = fd, .orig_lowat = orig, .until = until };
  return s;
}

/* SF_ACT_DELAY on a TCP socket read or write; 0 when it is not one (a plain held delay then).
 * - read: a stall of the socket for the delay (net_stall); the call itself gets EAGAIN if it does not block,
 *   else waits (net_wait_readable): the data comes after the delay, or the read times out at its SO_RCVTIMEO;
 * - blocking write: held at most until the socket's SO_SNDTIMEO, then EAGAIN as the kernel answers a timeout;
 * - non-blocking write: held (the program's deadline lives in its runtime, out of sight; see docs). */
static int net_delay(struct run *r, struct held *h) {
  int rd = sock_read_sys(h->sys), wr = sock_write_sys(h->sys);
  if (!rd && !wr) return 0;
  int fd = target_fd(r, h->tid, (int)h->args[0]);
  if (fd < 0) return 0;
  if (!sf_net_tcp_family(fd)) {
    close(fd);
    return 0;
  }
  uint64_t now = sf_now_ns(), delay = (uint64_t)(h->d.value > 0 ? h->d.value : 0) * NS_PER_MS;
  int nonblock = sf_net_nonblocking(fd) || msg_dontwait(h);
  if (rd) {
    struct stall *s = net_stall(r, fd, now + delay);
    if (!s) return 0;
    if (nonblock) {
      h->err = -EAGAIN;
      answer(r, h);
    } else {
      net_wait_readable(r, h, s, now);
    }
    return 1;
  }
  uint64_t tmo = nonblock ? 0 : sf_net_timeout_ns(fd, 1);
  close(fd);
  h->deadline = now + delay;
  if (tmo && tmo <= delay) h->deadline = now + tmo, h->err = -EAGAIN;
  hold_delay(r, h);
  return 1;
}

static void net_timer(struct run *r, struct held *h) {
  if (h->net_kind != NK_STALL_END) return;
  for (size_t i = 0; i < r->nstalls; i++) {
    struct stall *s = &r->stalls[i];
    if ((uint64_t)s->dev != h->args[0] || (uint64_t)s->ino != h->args[1] || s->fd < 0) continue;
    if (s->end) sf_net_end(s->fd, s->end == SF_ACT_RESET); /* after a silence: the reset or close itself */
    sf_net_unstall(s->fd, s->orig_lowat); /* wakes the program's poller if data waits */
    close(s->fd);
    s->fd = -1, s->until = sf_now_ns() + STALL_PASS_NS;
    return;
  }
}

/* A copy of the call's socket, or -1 once the call is answered: EBADF as the kernel would, or let through
 * when the copy cannot be had (the task left, or no pidfd_getfd). */
static int socket_copy_or_answer(struct run *r, struct held *h) {
  int fd = target_fd(r, h->tid, (int)h->args[0]);
  if (fd >= 0) return fd;
  if (errno == EBADF) h->err = -EBADF;
  else h->cont = 1;
  answer(r, h);
  return -1;
}

/* refuse / blackhole: the target's own socket connects to a loopback address that refuses (port 0) or drops
 * SYNs (a sink, see net.h), and the program gets the kernel's answer: ECONNREFUSED, or EINPROGRESS then the
 * error in SO_ERROR for a non-blocking socket. A blocking socket's connect waits here, parked on the copy,
 * until the kernel's outcome, or its SO_SNDTIMEO (then EINPROGRESS, as the kernel answers). */
static void net_connect(struct run *r, struct held *h) {
  int fd = socket_copy_or_answer(r, h);
  if (fd < 0) return;
  int refuse = h->d.action == SF_ACT_REFUSE;
  struct sockaddr_storage dest, to;
  memset(&dest, 0, sizeof dest);
  socklen_t dlen = h->args[2] < sizeof dest ? (socklen_t)h->args[2] : (socklen_t)sizeof dest;
  if (read_mem(h->tid, h->args[1], &dest, dlen) != (ssize_t)dlen) dlen = 0;
  uint16_t p4 = 0, p6 = 0;
  struct sf_net_sinks sinks;
  if (!refuse && sf_net_sinks_get(&sinks) == 0) p4 = sinks.port4, p6 = sinks.port6;
  int family = sf_net_tcp_family(fd);
  socklen_t len = family && (refuse || p4) ? sf_net_loopback(family, (struct sockaddr *)&dest, dlen, p4, p6, &to) : 0;
  if (!len) { /* not a TCP socket: a refusal is only an errno; a blackhole lets the call be */
    close(fd);
    if (refuse) h->err = -ECONNREFUSED;
    else h->cont = 1;
    answer(r, h);
    return;
  }
  int blocking = 0;
  int rc = sf_net_connect_nowait(fd, (struct sockaddr *)&to, len, &blocking);
  if (!blocking || (rc != -EINPROGRESS && rc != -EALREADY)) {
    close(fd);
    h->cont = 0, h->val = 0, h->err = rc;
    answer(r, h);
    return;
  }
  uint64_t t = sf_net_timeout_ns(fd, 1);
  h->net_kind = NK_CONNECT, h->io_deadline = t ? sf_now_ns() + t : 0;
  net_park(r, h, fd, POLLOUT, -EINPROGRESS);
}

/* A parked network call whose fd is ready: 1 (answered in h). */
static int net_io_ready(struct run *r, struct held *h) {
  if (h->net_kind == NK_CONNECT) {
    h->cont = 0, h->val = 0, h->err = sf_net_connect_result(h->io_fd);
    return 1;
  }
  /* NK_READABLE: the stall is over (or the socket broke): this read is the delayed one, it reads what is there */
  for (size_t i = 0; i < r->nstalls; i++)
    if (r->stalls[i].dev == h->net_dev && r->stalls[i].ino == h->net_ino && r->stalls[i].fd < 0) {
      stall_remove(r, &r->stalls[i]);
      break;
    }
  h->cont = 1;
  return 1;
}

/* A parked call at its socket's timeout: what the kernel answers a timed-out blocking call. */
static int net_io_expired(struct run *r, struct held *h) {
  (void)r;
  h->cont = 0, h->val = 0;
  h->err = h->net_kind == NK_CONNECT ? -EINPROGRESS : -EAGAIN;
  return 1;
}

/* reset / close: the connection is ended on a copy of the socket, then the call proceeds and the kernel itself
 * reports it (ECONNRESET or EOF on a read; ECONNRESET or EPIPE, with SIGPIPE as the call asks, on a write). */
static void net_end(struct run *r, struct held *h) {
  int fd = socket_copy_or_answer(r, h);
  if (fd < 0) return;
  if (h->d.value2 > 0 && sf_net_tcp_family(fd)) {
    /* after a silence: the socket's reads are stalled for value2 ms, then the connection ends; this call
     * waits like any read of a stalled socket, a write goes through */
    uint64_t now = sf_now_ns();
    struct stall *s = net_stall(r, fd, now + (uint64_t)h->d.value2 * NS_PER_MS);
    if (s) {
      if (!s->end) s->end = h->d.action;
      if (!sock_read_sys(h->sys)) continue_call(r, h);
      else if (sf_net_nonblocking(s->fd) || msg_dontwait(h)) h->err = -EAGAIN, answer(r, h);
      else net_wait_readable(r, h, s, now);
      return;
    }
    fd = target_fd(r, h->tid, (int)h->args[0]); /* cannot stall: end it now */
    if (fd < 0) {
      continue_call(r, h);
      return;
    }
  }
  int rc = sf_net_end(fd, h->d.action == SF_ACT_RESET);
  close(fd);
  if ((rc == -EBUSY || rc == -EOPNOTSUPP) && h->d.action == SF_ACT_RESET) h->err = -ECONNRESET; /* no RST */
  else h->cont = 1;
  answer(r, h);
}

/* Reset/close after N bytes: a call that would carry the N-th byte is cut there (a short transfer, not a
 * fault), so that the rule fires on the next call. 1 if the call was taken. */
static int net_cap(struct run *r, struct held *h, const struct call_info *ci) {
  if (!ci->call.has_bytes) return 0;
  int64_t cap = sf_byte_cap(r->m->plan, &ci->call);
  if (cap <= 0) return 0;
  h->d.action = SF_ACT_SHORT, h->d.value = cap > INT32_MAX ? INT32_MAX : (int32_t)cap;
  start_short(r, h);
  return 1;
}

/* Earliest deadline of a parked call, as a poll timeout. */
static int net_io_timeout(const struct run *r, size_t nios, int timeout) {
  uint64_t now = sf_now_ns();
  for (size_t i = 0; i < nios; i++) {
    uint64_t d = r->ios.v[i].io_deadline;
    if (!d) continue;
    int ms = d <= now ? 0 : (int)((d - now + NS_PER_MS - 1) / NS_PER_MS);
    if (timeout < 0 || ms < timeout) timeout = ms;
  }
  return timeout;
}

static void net_drop(struct run *r) {
  for (size_t i = 0; i < r->nstalls; i++)
    if (r->stalls[i].fd >= 0) close(r->stalls[i].fd);
  r->nstalls = 0;
}

/* ---- one notification ---- */

/* How many arguments the syscall takes: the registers past them hold leftovers that differ when the
 * program itself retries after EINTR (a kernel restart keeps every register). */
static int nargs(int sys) {
  switch (sys) {
  case SF_SYS_fsync:
  case SF_SYS_fdatasync: return 1;
  case SF_SYS_creat: return 2;
  case SF_SYS_read: case SF_SYS_write: case SF_SYS_readv: case SF_SYS_writev: case SF_SYS_recvmsg:
  case SF_SYS_sendmsg: case SF_SYS_connect: case SF_SYS_open: return 3;
  case SF_SYS_pread64: case SF_SYS_pwrite64: case SF_SYS_sync_file_range: case SF_SYS_openat:
  case SF_SYS_sendfile: return 4;
  case SF_SYS_preadv: case SF_SYS_pwritev: return 5;
  default: return 6;
  }
}

static int same_call(const struct held *a, const struct held *b) {
  return a->nr == b->nr && memcmp(a->args, b->args, (size_t)nargs(a->sys) * sizeof a->args[0]) == 0;
}

static void replay(struct run *r, struct held *t) {
  if (t->net_kind == NK_CONNECT && !t->answered) {
    net_connect(r, t); /* a blocking connect waits again, as the kernel's restart does */
  } else if (t->net_kind == NK_READABLE && !t->answered) {
    net_rewait(r, t); /* a blocking read of a stalled socket waits again, to its first deadline */
  } else if ((t->d.action == SF_ACT_SHORT || t->d.action == SF_ACT_TORN || t->full) && !t->answered) {
    start_short(r, t);
  } else if (t->d.action == SF_ACT_DELAY) {
    hold_delay(r, t); /* the rest of the original deadline */
  } else {
    answer(r, t);
  }
}

/* 1 if h is the restart of a call already decided (and now handled), 0 if it is a new call. */
static int resume_restart(struct run *r, const struct held *h) {
  struct heldvec *lists[2] = { &r->delays, &r->ios };
  for (int k = 0; k < 2; k++) {
    ssize_t i = vec_find_tid(lists[k], h->tid);
    if (i < 0) continue;
    struct held *old = &lists[k]->v[i];
    if (id_valid(r, old->id)) return 0; /* cannot be: the thread is in a new call */
    TRACE("held tid=%d same=%d\n", h->tid, same_call(old, h));
    if (same_call(old, h)) {
      old->id = h->id;
      r->takeovers++;
      return 1;
    }
    if (old->io_fd >= 0) close(old->io_fd);
    if (k == 0) heap_remove(&r->delays, (size_t)i), arm_timer(r);
    else r->ios.v[i] = r->ios.v[--r->ios.n];
    break;
  }
  ssize_t i = vec_find_tid(&r->tombs, h->tid);
  if (i < 0) return 0;
  struct held t = r->tombs.v[i];
  vec_remove_ordered(&r->tombs, (size_t)i);
  TRACE("tomb tid=%d same=%d\n", h->tid, same_call(&t, h));
  if (!same_call(&t, h)) return 0;
  t.id = h->id;
  r->replays++;
  replay(r, &t);
  return 1;
}

/* The file I/O a transfer done here can carry out (short_plan). */
static int transfer_done_here(int sys) {
  switch (sys) {
  case SF_SYS_read: case SF_SYS_write: case SF_SYS_pread64: case SF_SYS_pwrite64: case SF_SYS_readv:
  case SF_SYS_writev: case SF_SYS_preadv: case SF_SYS_pwritev: case SF_SYS_preadv2: case SF_SYS_pwritev2:
  case SF_SYS_recvfrom: case SF_SYS_sendto: return 1;
  default: return 0;
  }
}

/* A kill after the call: the call is done here in full, then the signal, then the reply. */
static void after_call(struct run *r, struct held *h, int sig, int tree) {
  h->post_kill = sig, h->tree_kill = tree;
  if (is_sync(h->sys) || h->sys == SF_SYS_sync_file_range) {
    own_sync(r, h);
    answer(r, h);
  } else if (transfer_done_here(h->sys)) {
    h->full = 1;
    start_short(r, h);
  } else {
    continue_call(r, h); /* not done here: let it run, then signal (answer) */
  }
}

static void apply(struct run *r, struct held *h) {
  switch (h->d.action) {
  case SF_ACT_ERRNO:
    if (is_sync(h->sys) && shadowing(r) && (r->m->shadow->flags & SF_SHADOW_DROP_DIRTY)) {
      int fd = target_fd(r, h->tid, (int)h->args[0]); /* fsyncFailureDropsDirty: unsynced data is lost */
      if (fd >= 0) sf_shadow_drop_dirty(r->m->shadow, fd), close(fd);
    }
    h->err = -h->d.value;
    answer(r, h);
    break;
  case SF_ACT_KILL:
  case SF_ACT_POWERCUT: {
    int sig = h->d.action == SF_ACT_POWERCUT ? SIGKILL : h->d.value, tree = h->d.action == SF_ACT_POWERCUT;
    if (h->d.flags & SF_FLAG_AFTER_CALL) {
      after_call(r, h, sig, tree);
      break;
    }
    /* Signal first. SIGKILL: fail the call (the task is dying; a CONTINUE could let the call run before the
     * kill lands). Another signal: the call proceeds (as under the preload engine); one whose default action
     * is fatal ends the task while it waits here, before the call. */
    kill(tgid_of(r, h->tid), sig);
    if (tree) sf_monitor_request_kill(r->m, SIGKILL);
    if (sig == SIGKILL) {
      h->err = -EINTR;
      answer(r, h);
    } else {
      continue_call(r, h);
    }
    break;
  }
  case SF_ACT_TORN: /* the first bytes written here, then SIGKILL before the reply */
    h->post_kill = SIGKILL;
    start_short(r, h);
    break;
  case SF_ACT_REFUSE:
  case SF_ACT_BLACKHOLE: net_connect(r, h); break;
  case SF_ACT_RESET:
  case SF_ACT_CLOSE: net_end(r, h); break;
  case SF_ACT_DELAY:
    if (net_delay(r, h)) break;
    h->deadline = sf_now_ns() + (h->d.value > 0 ? (uint64_t)h->d.value : 0) * NS_PER_MS;
    hold_delay(r, h);
    break;
  case SF_ACT_SHORT: start_short(r, h); break;
  default: continue_call(r, h); break;
  }
}

static void on_notification(struct run *r) {
  memset(r->req, 0, r->req_size);
  if (ioctl(r->listener, SECCOMP_IOCTL_NOTIF_RECV, r->req) != 0) return; /* ENOENT: the task left first */
  const struct seccomp_notif *n = r->req;
  struct held h = { .id = n->id, .tid = (int32_t)n->pid, .nr = n->data.nr, .io_fd = -1 };
  memcpy(h.args, n->data.args, sizeof h.args);
  h.sys = n->data.arch == AUDIT_ARCH_X86_64 ? sf_sys_from_nr(n->data.nr) : -1;
  h.d.rule = -1;
  if (h.sys < 0 || !r->m->shm || !r->m->plan) {
    continue_call(r, &h);
    return;
  }
  TRACE("notif id=%llx tid=%d nr=%d a0=%llx\n", (unsigned long long)h.id, h.tid, h.nr, (unsigned long long)h.args[0]);
  if (resume_restart(r, &h)) return;
  if (net_stalled(r, &h)) return;
  struct call_info ci;
  if (describe(r, &h, &ci) != 0) return; /* the task left the call: it comes back as a new one, uncounted */
  if (!sf_decide(r->m->shm, r->m->plan, &ci.call, &h.d)) {
    if (!net_cap(r, &h, &ci)) continue_call(r, &h);
    return;
  }
  if (h.d.action == SF_ACT_TORN) torn_measure(r, &h);
  log_fault(r, &h, &ci);
  apply(r, &h);
}

/* ---- the listener, the control socket, the loop ---- */

static void drop_held(struct run *r) {
  for (size_t i = 0; i < r->ios.n; i++) close(r->ios.v[i].io_fd);
  net_drop(r);
  r->ios.n = r->delays.n = r->tombs.n = 0;
  arm_timer(r);
}

static void close_listener(struct run *r) {
  if (r->listener < 0) return;
  close(r->listener); /* every task that had the filter is gone: every held call is void */
  r->listener = -1;
  drop_held(r);
}

static void take_listener(struct run *r, int fd) {
  if (r->listener >= 0 || r->broken || !r->req) {
    close(fd);
    return;
  }
  r->listener = fd;
#ifndef SF_NO_SYNC_WAKEUP
  /* 6.6+: wake the monitor and the target on the waker's CPU. Older kernels: EINVAL/ENOTTY, ignored. */
  ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
#endif
}

static void report_error(struct run *r, const char *msg, int exec_errno) {
  if (r->m->cb.on_error) r->m->cb.on_error(r->m->cb.ctx, msg, exec_errno);
}

static void on_message(struct run *r, char *buf, ssize_t n, int fd) {
  int v = 0;
  if (n >= 5) memcpy(&v, buf + 1, sizeof v);
  buf[n] = 0;
  switch (buf[0]) {
  case 'P':
    if (r->m->cb.on_started) r->m->cb.on_started(r->m->cb.ctx, v);
    break;
  case 'L':
    if (fd >= 0) take_listener(r, fd), fd = -1;
    break;
  case 'F': report_error(r, buf + 1, 0); break;
  case 'E': {
    char msg[160];
    snprintf(msg, sizeof msg, "cannot execute the target: %s", strerror(v));
    report_error(r, msg, v);
    break;
  }
  case 'X':
    r->status = v, r->exited = 1, r->done = 1;
    break;
  default: break;
  }
  if (fd >= 0) close(fd);
}

static void on_ctl(struct run *r) {
  while (!r->done) {
    char buf[513];
    union {
      struct cmsghdr h;
      char b[CMSG_SPACE(4 * sizeof(int))];
    } u;
    struct iovec iov = { buf, sizeof buf - 1 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof u.b };
    ssize_t n = recvmsg(r->m->ctl_fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    int fd = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); n >= 0 && c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; i++) {
        int got;
        memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof got);
        if (fd < 0) fd = got;
        else close(got);
      }
    }
    if (n <= 0) { /* the shim is gone without an 'X' */
      if (fd >= 0) close(fd);
      r->done = 1;
      return;
    }
    on_message(r, buf, n, fd);
  }
}

static void on_wake(struct run *r) {
  uint64_t v;
  if (read(r->m->wake_fd, &v, sizeof v) < 0) return;
  int sig = __atomic_exchange_n(&r->m->pending_kill, 0, __ATOMIC_SEQ_CST);
  if (sig <= 0) return;
  char msg[5] = { 'K' };
  memcpy(msg + 1, &sig, sizeof sig);
  send(r->m->ctl_fd, msg, sizeof msg, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static struct pollfd *poll_set(struct run *r, size_t n) {
  if (n > r->pfds_cap) {
    struct pollfd *p = malloc(n * sizeof *p);
    if (!p) return NULL;
    if (r->pfds != r->pfds_small) free(r->pfds);
    r->pfds = p, r->pfds_cap = n;
  }
  return r->pfds;
}

static void step(struct run *r) {
  enum { CTL, WAKE, LISTENER, TIMER, FIXED };
  size_t nios = r->ios.n;
  struct pollfd *p = poll_set(r, FIXED + nios);
  if (!p) nios = 0, p = r->pfds; /* FIXED always fits */
  p[CTL] = (struct pollfd){ r->m->ctl_fd, POLLIN, 0 };
  p[WAKE] = (struct pollfd){ r->m->wake_fd, POLLIN, 0 };
  p[LISTENER] = (struct pollfd){ r->listener, POLLIN, 0 };
  p[TIMER] = (struct pollfd){ r->timer_fd, POLLIN, 0 };
  for (size_t i = 0; i < nios; i++) p[FIXED + i] = (struct pollfd){ r->ios.v[i].io_fd, r->ios.v[i].io_events, 0 };
  int timeout = r->m->seccomp ? -1 : PRELOAD_TICK_MS;
  if (nios && (timeout < 0 || timeout > IO_CHECK_MS)) timeout = IO_CHECK_MS;
  if (nios) timeout = net_io_timeout(r, nios, timeout);
  if (poll(p, FIXED + nios, timeout) < 0 && errno != EINTR) {
    report_error(r, "monitor: poll failed", 0);
    r->done = 1;
    return;
  }
  if (nios) on_io(r, p + FIXED, nios); /* first: the others change r->ios */
  if (p[LISTENER].revents & POLLIN) on_notification(r);
  if (p[LISTENER].revents & (POLLHUP | POLLERR | POLLNVAL)) close_listener(r);
  if (p[TIMER].revents) on_timer(r);
  if (p[WAKE].revents) on_wake(r);
  if (p[CTL].revents) on_ctl(r);
  drain_log(r, 0);
}

static int run_init(struct run *r, struct sf_monitor *m) {
  struct seccomp_notif_sizes sizes = { 0 };
  r->m = m;
  r->listener = -1;
  r->thread_pidfd = 1;
  r->pfds = r->pfds_small, r->pfds_cap = sizeof r->pfds_small / sizeof *r->pfds_small;
  r->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (r->timer_fd < 0) return -1;
  /* The kernel's structs may be larger than the headers' (SECCOMP_GET_NOTIF_SIZES, 5.0). Without them a
   * listener is refused; only the seccomp engine needs one. */
  if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0) return m->seccomp ? -1 : 0;
  r->req_size = sizes.seccomp_notif > sizeof *r->req ? sizes.seccomp_notif : sizeof *r->req;
  r->resp_size = sizes.seccomp_notif_resp > sizeof *r->resp ? sizes.seccomp_notif_resp : sizeof *r->resp;
  r->req = calloc(1, r->req_size);
  r->resp = calloc(1, r->resp_size);
  return r->req && r->resp ? 0 : -1;
}

static void run_free(struct run *r) {
  drop_held(r);
  if (r->listener >= 0) close(r->listener);
  if (r->timer_fd >= 0) close(r->timer_fd);
  free(r->delays.v), free(r->ios.v), free(r->tombs.v), free(r->stalls);
  free(r->req), free(r->resp), free(r->iobuf);
  if (r->pfds != r->pfds_small) free(r->pfds);
  free(r);
}

void sf_monitor_run(struct sf_monitor *m) {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, NULL); /* signals are the main thread's business */
  struct run *r = calloc(1, sizeof *r);
  if (!r) {
    if (m->cb.on_error) m->cb.on_error(m->cb.ctx, "monitor: out of memory", 0);
    if (m->cb.on_exit) m->cb.on_exit(m->cb.ctx, -1);
    return; /* sf_monitor_destroy closes the control socket: the shim kills the tree */
  }
  if (run_init(r, m) != 0) {
    /* Without a working monitor the target must not run: kill it, wait for the shim's report. */
    report_error(r, "monitor: cannot set up (out of memory or file descriptors)", 0);
    r->broken = 1;
    sf_monitor_request_kill(m, SIGKILL);
  }
  while (!r->done) step(r);
  drop_held(r); /* after 'X' every task is gone: no held call can be answered */
  drain_log(r, 1);
  int status = r->exited ? r->status : -1;
#ifdef SF_MONITOR_STATS
  fprintf(stderr, "monitor: restarts taken over %lu, tombstones %lu, replayed %lu, transfers parked %lu\n",
          r->takeovers, r->tombstones, r->replays, r->parked);
#endif
  run_free(r);
  if (m->cb.on_exit) m->cb.on_exit(m->cb.ctx, status);
}

int sf_monitor_init(struct sf_monitor *m, int ctl_fd, struct sf_shm *shm, const struct sf_plan *plan, int seccomp,
                    const struct sf_monitor_callbacks *cb) {
  memset(m, 0, sizeof *m);
  m->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (m->wake_fd < 0) return -errno;
  m->ctl_fd = ctl_fd;
  m->shm = shm;
  m->plan = plan;
  m->seccomp = seccomp;
  if (cb) m->cb = *cb;
  return 0;
}

void sf_monitor_request_kill(struct sf_monitor *m, int sig) {
  int cur = __atomic_load_n(&m->pending_kill, __ATOMIC_SEQ_CST);
  do {
    if (cur == SIGKILL) break; /* never downgrade a pending SIGKILL */
  } while (!__atomic_compare_exchange_n(&m->pending_kill, &cur, sig, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
  uint64_t one = 1;
  if (write(m->wake_fd, &one, sizeof one) < 0) { /* the counter is already non-zero: a wake-up is pending */ }
}

void sf_monitor_destroy(struct sf_monitor *m) {
  if (m->ctl_fd >= 0) close(m->ctl_fd);
  if (m->wake_fd >= 0) close(m->wake_fd);
  m->ctl_fd = m->wake_fd = -1;
}
