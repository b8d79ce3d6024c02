/* The run monitor's network actions (see monitor.c). */
#include "monitor-internal.h"

/* ---- network actions (docs/network.md): refuse, blackhole, reset, close, and latency on TCP sockets ----
 * The socket work itself is in native/core/net.c (shared with the preload engine), done here on a copy of the
 * target's socket (pidfd_getfd: the same open file, so the very same socket). What the program then sees is
 * what the kernel says, through its own call or through our answer copied from the kernel's. */

#define STALL_PASS_NS (30ull * 1000000000ull) /* how long a released stall waits for its read */

/* A TCP socket whose reads are stalled (fd >= 0: our copy, SO_RCVLOWAT raised until `until`), or released
 * (fd -1: its next read is the stalled one's and passes; forgotten at `until`). Keyed by the socket inode. */
struct stall {
  dev_t dev;
  ino_t ino;
  int fd, orig_lowat;
  uint64_t until;
  uint32_t end; /* SF_ACT_RESET or SF_ACT_CLOSE: the connection ends with the stall (a silence, then the end) */
};

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
  if (!mon_vec_push(&r->ios, h)) {
    close(fd);
    h->err = fallback;
    mon_answer(r, h);
  }
}

/* Ends a stall now: the reset or close it ends with (after a silence), SO_RCVLOWAT back (which wakes the
 * program's poller if data or the peer's FIN waits), our copy closed. It stays as "released" until its read. */
static void stall_release(struct stall *s) {
  if (s->end) sf_net_end(s->fd, s->end == SF_ACT_RESET); /* after a silence: the reset or close itself */
  sf_net_unstall(s->fd, s->orig_lowat);
  close(s->fd);
  s->fd = -1, s->until = sf_now_ns() + STALL_PASS_NS;
}

static struct stall *stall_of(struct run *r, dev_t dev, ino_t ino) {
  for (size_t i = 0; i < r->nstalls; i++)
    if (r->stalls[i].dev == dev && r->stalls[i].ino == ino) return &r->stalls[i];
  return NULL;
}

/* A read of a socket whose stall is on (s->fd >= 0); `start` is when the call began (0: a restart, which keeps
 * its first deadline). The cases are the preload engine's (sf_stalled_read in native/preload/preload-net.c):
 * - non-blocking, and the socket looks unreadable to poll: EAGAIN at once (the program's poller sleeps until
 *   the stall ends and SO_RCVLOWAT goes back);
 * - non-blocking, and it looks readable all the same (the peer's FIN or an error, which SO_RCVLOWAT cannot
 *   hide, or a full receive buffer): held until the stall ends, then it proceeds, so that the program's
 *   poller does not spin on it and the data and the EOF arrive once, after the delay;
 * - blocking: held until the stall ends, then parked until the socket is readable; or until its SO_RCVTIMEO
 *   from the call's start, then EAGAIN as the kernel answers a timeout. The call is never let run while the
 *   stall lasts: a blocking read started with SO_RCVLOWAT raised would wait for that many bytes. */
static void net_stalled_read(struct run *r, struct held *h, const struct stall *s, uint64_t start) {
  int nonblock = sf_net_nonblocking(s->fd) || msg_dontwait(h);
  if (nonblock && !sf_net_readable(s->fd)) {
    h->err = -EAGAIN;
    mon_answer(r, h);
    return;
  }
  uint64_t tmo = nonblock ? 0 : sf_net_timeout_ns(s->fd, 0);
  h->net_kind = NK_READABLE, h->net_nonblock = nonblock;
  h->net_dev = s->dev, h->net_ino = s->ino;
  if (start) h->io_deadline = tmo ? start + tmo : 0;
  h->deadline = h->io_deadline && h->io_deadline < s->until ? h->io_deadline : s->until;
  if (mon_heap_push(&r->delays, h) != 0) {
    h->err = -EAGAIN;
    mon_answer(r, h);
    return;
  }
  mon_arm_timer(r);
}

/* A read held by net_stalled_read, at the stall's end or its own deadline. */
static void net_stalled_read_due(struct run *r, struct held *h) {
  if (h->io_deadline && sf_now_ns() >= h->io_deadline) { /* its SO_RCVTIMEO came first */
    h->cont = 0, h->val = 0, h->err = -EAGAIN;
    mon_answer(r, h);
    return;
  }
  struct stall *s = stall_of(r, h->net_dev, h->net_ino);
  int fd = -1;
  if (s && s->fd >= 0) {
    if (!h->net_nonblock) fd = fcntl(s->fd, F_DUPFD_CLOEXEC, 0);
    stall_release(s); /* its end is due at this very time: the stall's own timer finds it released */
  }
  if (s) stall_remove(r, s); /* this read is the delayed one: the next is decided as usual */
  if (h->net_nonblock) {
    mon_continue_call(r, h);
    return;
  }
  if (fd < 0) fd = mon_target_fd(r, h->tid, (int)h->args[0]);
  if (fd < 0) {
    mon_continue_call(r, h);
    return;
  }
  net_park(r, h, fd, POLLIN, -EAGAIN); /* until readable (the data or the EOF), or its SO_RCVTIMEO */
}

/* The restart of a read that waited on a stall: it waits again, to the same deadline, while the stall lasts. */
void mon_net_rewait(struct run *r, struct held *h) {
  struct stall *s = stall_of(r, h->net_dev, h->net_ino);
  if (s && s->fd >= 0) {
    net_stalled_read(r, h, s, 0);
    return;
  }
  if (s) stall_remove(r, s);
  mon_continue_call(r, h);
}

/* A read of a stalled socket, before any decision: see net_stalled_read. The first read after the release is
 * the delayed read itself and passes undecided. Counted as calls, never as matches. */
int mon_net_stalled(struct run *r, struct held *h) {
  if (!r->nstalls || !sf_sys_sock_read(h->sys)) return 0;
  struct stat st;
  if (mon_fd_kind(h->tid, (int)h->args[0], &st) != SF_FD_SOCKET) return 0;
  struct stall *s = stall_find(r, st.st_dev, st.st_ino);
  if (!s) return 0;
  count_call(r, h->sys);
  if (s->fd >= 0) {
    net_stalled_read(r, h, s, sf_now_ns());
    return 1;
  }
  stall_remove(r, s);
  mon_continue_call(r, h);
  return 1;
}

/* Starts a stall of the socket fd (our copy; taken) until `until`: poll and epoll see it empty, and the
 * program's reads wait or get EAGAIN (mon_net_stalled), until SO_RCVLOWAT goes back, which wakes the program's poller (an
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
  if (mon_heap_push(&r->delays, &end) != 0) {
    sf_net_unstall(fd, orig), close(fd);
    return NULL;
  }
  mon_arm_timer(r);
  s = &r->stalls[r->nstalls++];
  *s = (struct stall){ .dev = st.st_dev, .ino = st.st_ino, .fd = fd, .orig_lowat = orig, .until = until };
  return s;
}

/* SF_ACT_DELAY on a TCP socket read or write; 0 when it is not one (a plain held delay then).
 * - read: a stall of the socket for the delay (net_stall); the call itself is the first read of the stalled
 *   socket (net_stalled_read): the data comes after the delay, or the read times out at its SO_RCVTIMEO;
 * - blocking write: held at most until the socket's SO_SNDTIMEO, then EAGAIN as the kernel answers a timeout;
 * - non-blocking write: held (the program's deadline lives in its runtime, out of sight; see docs). */
int mon_net_delay(struct run *r, struct held *h) {
  int rd = sf_sys_sock_read(h->sys), wr = sf_sys_sock_write(h->sys);
  if (!rd && !wr) return 0;
  int fd = mon_target_fd(r, h->tid, (int)h->args[0]);
  if (fd < 0) return 0;
  if (!sf_net_tcp_family(fd)) {
    close(fd);
    return 0;
  }
  uint64_t now = sf_now_ns(), delay = (uint64_t)(h->d.value > 0 ? h->d.value : 0) * NS_PER_MS;
  if (rd) {
    struct stall *s = net_stall(r, fd, now + delay);
    if (!s) return 0;
    net_stalled_read(r, h, s, now);
    return 1;
  }
  int nonblock = sf_net_nonblocking(fd) || msg_dontwait(h);
  uint64_t tmo = nonblock ? 0 : sf_net_timeout_ns(fd, 1);
  close(fd);
  h->deadline = now + delay;
  if (tmo && tmo <= delay) h->deadline = now + tmo, h->err = -EAGAIN;
  mon_hold_delay(r, h);
  return 1;
}

void mon_net_timer(struct run *r, struct held *h) {
  if (h->net_kind == NK_READABLE) {
    net_stalled_read_due(r, h);
    return;
  }
  if (h->net_kind != NK_STALL_END) return;
  struct stall *s = stall_of(r, (dev_t)h->args[0], (ino_t)h->args[1]);
  if (s && s->fd >= 0) stall_release(s);
}

/* A copy of the call's socket, or -1 once the call is answered: EBADF as the kernel would, or let through
 * when the copy cannot be had (the task left, or no pidfd_getfd). */
static int socket_copy_or_answer(struct run *r, struct held *h) {
  int fd = mon_target_fd(r, h->tid, (int)h->args[0]);
  if (fd >= 0) return fd;
  if (errno == EBADF) h->err = -EBADF;
  else h->cont = 1;
  mon_answer(r, h);
  return -1;
}

/* refuse / blackhole: the target's own socket connects to a loopback address that refuses (port 0) or drops
 * SYNs (a sink, see net.h), and the program gets the kernel's answer: ECONNREFUSED, or EINPROGRESS then the
 * error in SO_ERROR for a non-blocking socket. A blocking socket's connect waits here, parked on the copy,
 * until the kernel's outcome, or its SO_SNDTIMEO (then EINPROGRESS, as the kernel answers). */
void mon_net_connect(struct run *r, struct held *h) {
  int fd = socket_copy_or_answer(r, h);
  if (fd < 0) return;
  int refuse = h->d.action == SF_ACT_REFUSE;
  struct sockaddr_storage dest, to;
  memset(&dest, 0, sizeof dest);
  socklen_t dlen = h->args[2] < sizeof dest ? (socklen_t)h->args[2] : (socklen_t)sizeof dest;
  if (mon_read_mem(h->tid, h->args[1], &dest, dlen) != (ssize_t)dlen) dlen = 0;
  uint16_t p4 = 0, p6 = 0;
  struct sf_net_sinks sinks;
  if (!refuse && sf_net_sinks_get(&sinks) == 0) p4 = sinks.port4, p6 = sinks.port6;
  int family = sf_net_tcp_family(fd);
  socklen_t len = family && (refuse || p4) ? sf_net_loopback(family, (struct sockaddr *)&dest, dlen, p4, p6, &to) : 0;
  if (!len) { /* not a TCP socket: a refusal is only an errno; a blackhole lets the call be */
    close(fd);
    if (refuse) h->err = -ECONNREFUSED;
    else h->cont = 1;
    mon_answer(r, h);
    return;
  }
  int blocking = 0;
  int rc = sf_net_connect_nowait(fd, (struct sockaddr *)&to, len, &blocking);
  if (!blocking || (rc != -EINPROGRESS && rc != -EALREADY)) {
    close(fd);
    h->cont = 0, h->val = 0, h->err = rc;
    mon_answer(r, h);
    return;
  }
  uint64_t t = sf_net_timeout_ns(fd, 1);
  h->net_kind = NK_CONNECT, h->io_deadline = t ? sf_now_ns() + t : 0;
  net_park(r, h, fd, POLLOUT, -EINPROGRESS);
}

/* A parked network call whose fd is ready: 1 (answered in h). */
int mon_net_io_ready(struct run *r, struct held *h) {
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
int mon_net_io_expired(struct run *r, struct held *h) {
  (void)r;
  h->cont = 0, h->val = 0;
  h->err = h->net_kind == NK_CONNECT ? -EINPROGRESS : -EAGAIN;
  return 1;
}

/* reset / close: the connection is ended on a copy of the socket, then the call proceeds and the kernel itself
 * reports it (ECONNRESET or EOF on a read; ECONNRESET or EPIPE, with SIGPIPE as the call asks, on a write). */
void mon_net_end(struct run *r, struct held *h) {
  int fd = socket_copy_or_answer(r, h);
  if (fd < 0) return;
  if (h->d.value2 > 0 && sf_net_tcp_family(fd)) {
    /* after a silence: the socket's reads are stalled for value2 ms, then the connection ends; this call
     * waits like any read of a stalled socket, a write goes through */
    uint64_t now = sf_now_ns();
    struct stall *s = net_stall(r, fd, now + (uint64_t)h->d.value2 * NS_PER_MS);
    if (s) {
      if (!s->end) s->end = h->d.action;
      if (!sf_sys_sock_read(h->sys)) mon_continue_call(r, h);
      else net_stalled_read(r, h, s, now);
      return;
    }
    fd = mon_target_fd(r, h->tid, (int)h->args[0]); /* cannot stall: end it now */
    if (fd < 0) {
      mon_continue_call(r, h);
      return;
    }
  }
  int rc = sf_net_end(fd, h->d.action == SF_ACT_RESET);
  close(fd);
  if ((rc == -EBUSY || rc == -EOPNOTSUPP) && h->d.action == SF_ACT_RESET) h->err = -ECONNRESET; /* no RST */
  else h->cont = 1;
  mon_answer(r, h);
}

/* Reset/close after N bytes: a call that would carry the N-th byte is cut there (a short transfer, not a
 * fault), so that the rule fires on the next call. 1 if the call was taken. */
int mon_net_cap(struct run *r, struct held *h, const struct call_info *ci) {
  if (!ci->call.has_bytes) return 0;
  int64_t cap = sf_byte_cap(r->m->plan, &ci->call);
  if (cap <= 0) return 0;
  h->d.action = SF_ACT_SHORT, h->d.value = cap > INT32_MAX ? INT32_MAX : (int32_t)cap;
  mon_start_short(r, h);
  return 1;
}

/* Earliest deadline of a parked call, as a poll timeout. */
int mon_net_io_timeout(const struct run *r, size_t nios, int timeout) {
  uint64_t now = sf_now_ns();
  for (size_t i = 0; i < nios; i++) {
    uint64_t d = r->ios.v[i].io_deadline;
    if (!d) continue;
    int ms = d <= now ? 0 : (int)((d - now + NS_PER_MS - 1) / NS_PER_MS);
    if (timeout < 0 || ms < timeout) timeout = ms;
  }
  return timeout;
}

void mon_net_drop(struct run *r) {
  for (size_t i = 0; i < r->nstalls; i++)
    if (r->stalls[i].fd >= 0) close(r->stalls[i].fd);
  r->nstalls = 0;
}
