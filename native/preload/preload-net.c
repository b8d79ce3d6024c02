/* The preload engine's network actions (the socket work itself is in native/core/net.c), and its read stalls:
 * the table of stalled sockets and the helper thread that ends the stalls.
 * The helper thread starts on the first stall, with every signal blocked. It holds a duplicate of the socket
 * (a high close-on-exec fd) for the stall's length, so that the program closing its fd, or the number being
 * reused, does not matter. fork: the child has no helper, so it forgets the stalls and closes its copies of the
 * duplicates; the parent's helper ends them (the same sockets). exec: the duplicates close; a stall under way
 * then never ends in the new image (limit, documented). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <stdlib.h>

#include "../core/net.h"
#include "preload-internal.h"

struct sf_stall {
  int fd, dup, orig;
  uint64_t until;
  dev_t dev;
  ino_t ino;
  int end; /* SF_ACT_RESET or SF_ACT_CLOSE: the connection ends with the stall (a silence, then the end) */
};
#define SF_STALLS 128
static struct sf_stall sf_stalls[SF_STALLS];
/* By fd: when its stall ends (valid while sf_stall_state[fd] is STALL_ON), for the reads that wait for it. */
static uint64_t sf_stall_until[SF_FD_TABLE];
static int sf_nstalls;
static pthread_mutex_t sf_stall_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sf_stall_cv;
static int sf_helper; /* 0 not started, 1 running, -1 cannot run */
static int sf_stall_atfork;

/* Under sf_stall_mu. The state goes to "pass" before SO_RCVLOWAT does, so that the read the wake-up brings
 * is let through. */
static void sf_stall_end(struct sf_stall *s) {
  struct stat st;
  if (s->fd >= 0 && s->fd < SF_FD_TABLE && syscall(SYS_fstat, s->fd, &st) == 0 && st.st_dev == s->dev &&
      st.st_ino == s->ino) {
    uint8_t on = STALL_ON;
    __atomic_compare_exchange_n(&sf_stall_state[s->fd], &on, STALL_PASS, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
  }
  if (s->end) sf_net_end(s->dup, s->end == SF_ACT_RESET); /* after a silence: the reset or close itself */
  sf_net_unstall(s->dup, s->orig);
  syscall(SYS_close, s->dup);
}

/* Under sf_stall_mu: ends the stalls due by `now`; the earliest `until` of the others (0: none). */
static uint64_t sf_stall_reap(uint64_t now) {
  uint64_t next = 0;
  for (int i = 0; i < sf_nstalls;) {
    if (sf_stalls[i].until <= now) {
      sf_stall_end(&sf_stalls[i]);
      sf_stalls[i] = sf_stalls[--sf_nstalls];
      continue;
    }
    if (!next || sf_stalls[i].until < next) next = sf_stalls[i].until;
    i++;
  }
  return next;
}

static void *sf_stall_helper(void *arg) {
  (void)arg;
  sf_guard = 1; /* this thread's own calls are not the program's */
  pthread_mutex_lock(&sf_stall_mu);
  for (;;) {
    uint64_t next = sf_stall_reap(sf_now_ns());
    if (!next) {
      pthread_cond_wait(&sf_stall_cv, &sf_stall_mu);
    } else {
      struct timespec ts = { (time_t)(next / 1000000000ull), (long)(next % 1000000000ull) };
      pthread_cond_timedwait(&sf_stall_cv, &sf_stall_mu, &ts);
    }
  }
  return NULL;
}

static void sf_stall_prepare(void) { pthread_mutex_lock(&sf_stall_mu); }
static void sf_stall_parent(void) { pthread_mutex_unlock(&sf_stall_mu); }
static void sf_stall_child(void) {
  for (int i = 0; i < sf_nstalls; i++) {
    syscall(SYS_close, sf_stalls[i].dup);
    if (sf_stalls[i].fd >= 0 && sf_stalls[i].fd < SF_FD_TABLE) sf_stall_state[sf_stalls[i].fd] = STALL_NONE;
  }
  sf_nstalls = 0;
  sf_helper = 0;
  pthread_mutex_unlock(&sf_stall_mu);
}

/* Under sf_stall_mu: the helper runs (started now if need be). */
static int sf_helper_up(void) {
  if (sf_helper) return sf_helper > 0;
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&sf_stall_cv, &ca);
  pthread_condattr_destroy(&ca);
  if (!sf_stall_atfork) sf_stall_atfork = pthread_atfork(sf_stall_prepare, sf_stall_parent, sf_stall_child) == 0;
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  pthread_t t;
  int rc = sf_stall_atfork ? pthread_create(&t, &attr, sf_stall_helper, NULL) : -1;
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  sf_helper = rc == 0 ? 1 : -1;
  return rc == 0;
}

/* Starts a stall of fd's reads until `until` (then the connection ends if `end` is SF_ACT_RESET/CLOSE). 0, or
 * -1 when it cannot (the caller holds the call instead). */
static int sf_stall_begin(int fd, uint64_t until, int end) {
  struct stat st;
  if (fd < 0 || fd >= SF_FD_TABLE || syscall(SYS_fstat, fd, &st) != 0) return -1;
  int rc = -1;
  pthread_mutex_lock(&sf_stall_mu);
  if (__atomic_load_n(&sf_stall_state[fd], __ATOMIC_ACQUIRE) == STALL_ON) {
    rc = 0; /* stalled already (another thread's read): this one waits with it */
    for (int i = 0; i < sf_nstalls; i++)
      if (sf_stalls[i].fd == fd && !sf_stalls[i].end) sf_stalls[i].end = end;
  } else if (sf_nstalls < SF_STALLS && sf_helper_up()) {
    int dup = (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 512);
    if (dup < 0) dup = (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 0);
    int orig = 1;
    if (dup >= 0 && sf_net_stall(dup, &orig) == 0) {
      sf_stalls[sf_nstalls++] = (struct sf_stall){ fd, dup, orig, until, st.st_dev, st.st_ino, end };
      __atomic_store_n(&sf_stall_until[fd], until, __ATOMIC_RELAXED);
      __atomic_store_n(&sf_stall_state[fd], STALL_ON, __ATOMIC_RELEASE);
      pthread_cond_signal(&sf_stall_cv);
      rc = 0;
    } else if (dup >= 0) {
      syscall(SYS_close, dup);
    }
  }
  pthread_mutex_unlock(&sf_stall_mu);
  return rc;
}

static void sf_sleep_until(uint64_t ns) {
  struct timespec until = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR) {
  }
}

/* Waits until fd's stall is over (ending it here if it is due and the helper has not yet), or until `deadline`
 * (0: none). 1: over; 0: the deadline came first. */
static int sf_stall_hold(int fd, uint64_t deadline) {
  for (;;) {
    if (__atomic_load_n(&sf_stall_state[fd], __ATOMIC_ACQUIRE) != STALL_ON) return 1;
    uint64_t now = sf_now_ns(), until = __atomic_load_n(&sf_stall_until[fd], __ATOMIC_RELAXED);
    if (deadline && now >= deadline) return 0;
    if (now >= until) {
      pthread_mutex_lock(&sf_stall_mu);
      sf_stall_reap(now);
      pthread_mutex_unlock(&sf_stall_mu);
      continue;
    }
    sf_sleep_until(deadline && deadline < until ? deadline : until);
  }
}

/* A read of a socket whose stall is on. 1: it may read (the stall is over: it is the delayed read, and the
 * stall's "pass" is used up); 0: answer EAGAIN.
 * - Non-blocking, and the socket looks unreadable to poll: EAGAIN at once. The program's poller then sleeps
 *   until the stall ends and SO_RCVLOWAT goes back, which wakes it.
 * - Non-blocking, and the socket looks readable all the same: the peer's FIN or an error, which SO_RCVLOWAT
 *   cannot hide from poll, or a full receive buffer. EAGAIN would have the program's poller spin on it until
 *   the stall ends: the read is held until then instead, so the data and the EOF arrive once, after the delay.
 * - Blocking: held until the stall ends, then until the socket is readable; or until its SO_RCVTIMEO from
 *   `start` (EAGAIN, as the kernel answers a timeout). It never reads while SO_RCVLOWAT is raised: a blocking
 *   read started then would wait for that many bytes. */
static int sf_stalled_read(int fd, uint64_t start) {
  int nonblock = sf_net_nonblocking(fd);
  if (nonblock && !sf_net_readable(fd)) return 0;
  uint64_t tmo = nonblock ? 0 : sf_net_timeout_ns(fd, 0), deadline = tmo ? start + tmo : 0;
  if (!sf_stall_hold(fd, deadline)) return 0;
  while (!nonblock) {
    int ms = -1;
    if (deadline) {
      uint64_t now = sf_now_ns();
      if (now >= deadline) return 0;
      ms = (int)((deadline - now + 999999ull) / 1000000ull);
    }
    struct pollfd p = { fd, POLLIN, 0 };
    long rc = syscall(SYS_poll, &p, 1, ms);
    if (rc > 0 || (rc < 0 && errno != EINTR)) break;
  }
  uint8_t pass = STALL_PASS;
  __atomic_compare_exchange_n(&sf_stall_state[fd], &pass, STALL_NONE, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
  return 1;
}

/* ---- network actions; the socket work itself is in native/core/net.c ----
 * refuse / blackhole (connect): the program's socket connects to a loopback address that refuses (port 0) or
 * that drops SYNs (the controller's sink, SYSFAULT_BLACKHOLE), through the real connect: blocking or not, with
 * SO_SNDTIMEO and signals, the program gets exactly the kernel's behaviour.
 * reset / close (I/O): the connection is ended on the fd, then the real call reports it.
 * latency (delay on a TCP socket read or write):
 * - read: a stall. The socket is made to look empty to poll/epoll (SO_RCVLOWAT raised) for the delay; a helper
 *   thread puts SO_RCVLOWAT back when it is over, which wakes the program's poller (an edge-triggered one too)
 *   if data is there. Reads meanwhile: see sf_stalled_read (EAGAIN, or held until the stall ends; never the
 *   data or the EOF before it). The first read after the release is the delayed read itself and passes
 *   undecided. The program's own deadline, if shorter, fires first: nothing holds it.
 * - blocking write: held at most until the socket's SO_SNDTIMEO, then EAGAIN as the kernel answers a timeout.
 * - non-blocking write: held (the program's deadline lives in its runtime, out of sight).
 * The table of stalled sockets and the helper thread that ends the stalls are above. */

static struct sf_net_sinks sf_sinks;

__attribute__((constructor)) static void sf_net_constructor(void) {
  sf_net_sinks_parse(getenv("SYSFAULT_BLACKHOLE"), &sf_sinks);
}

static void sf_sleep_ns(uint64_t ns) { sf_sleep_until(sf_now_ns() + ns); }

int sf_net_stalled(const struct sf_call *call) {
  if (call->fd < 0 || call->fd >= SF_FD_TABLE || !sf_sys_sock_read(call->sys)) return 0;
  uint8_t st = __atomic_load_n(&sf_stall_state[call->fd], __ATOMIC_ACQUIRE);
  if (st == STALL_NONE) return 0;
  if (st == STALL_ON) return sf_stalled_read(call->fd, sf_now_ns()) ? 1 : 2;
  __atomic_compare_exchange_n(&sf_stall_state[call->fd], &st, STALL_NONE, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
  return 1;
}

int sf_net_delay(const struct sf_call *call, int32_t ms, int32_t *value) {
  int rd = sf_sys_sock_read(call->sys), wr = sf_sys_sock_write(call->sys);
  uint64_t delay = (uint64_t)(ms > 0 ? ms : 0) * 1000000ull;
  if ((!rd && !wr) || call->fd < 0 || (call->fd_kind != SF_FD_UNKNOWN && call->fd_kind != SF_FD_SOCKET) ||
      !sf_net_tcp_family(call->fd)) {
    sf_sleep_ns(delay);
    return SF_ACT_NONE;
  }
  int nonblock = sf_net_nonblocking(call->fd);
  uint64_t now = sf_now_ns();
  if (rd && sf_stall_begin(call->fd, now + delay, 0) == 0) {
    if (!sf_stalled_read(call->fd, now)) {
      *value = EAGAIN;
      return SF_ACT_ERRNO;
    }
    return SF_ACT_NONE;
  }
  uint64_t tmo = nonblock ? 0 : sf_net_timeout_ns(call->fd, wr);
  if (tmo && tmo <= delay) {
    sf_sleep_ns(tmo);
    *value = EAGAIN;
    return SF_ACT_ERRNO;
  }
  sf_sleep_ns(delay); /* a write, or a read that could not be stalled */
  return SF_ACT_NONE;
}

int sf_net_end_call(const struct sf_call *call, int action, int32_t silence_ms, int32_t *value) {
  if (call->fd < 0) return SF_ACT_NONE;
  if (silence_ms > 0 && sf_net_tcp_family(call->fd)) {
    /* after a silence: the socket's reads are stalled for that long, then the connection ends; this call
     * waits like any read of a stalled socket, a write goes through */
    uint64_t now = sf_now_ns();
    if (sf_stall_begin(call->fd, now + (uint64_t)silence_ms * 1000000ull, action) == 0) {
      if (!sf_sys_sock_read(call->sys)) return SF_ACT_NONE;
      if (!sf_stalled_read(call->fd, now)) {
        *value = EAGAIN;
        return SF_ACT_ERRNO;
      }
      return SF_ACT_NONE;
    }
  }
  int rc = sf_net_end(call->fd, action == SF_ACT_RESET);
  if ((rc == -EBUSY || rc == -EOPNOTSUPP) && action == SF_ACT_RESET) { /* no RST could be sent */
    *value = ECONNRESET;
    return SF_ACT_ERRNO;
  }
  return SF_ACT_NONE;
}

socklen_t sf_net_redirect(int fd, const struct sockaddr *addr, socklen_t len, int action, struct sockaddr_storage *to) {
  int family = sf_net_tcp_family(fd);
  if (!family) return 0;
  if (action == SF_ACT_REFUSE) return sf_net_loopback(family, addr, len, 0, 0, to);
  if (!sf_sinks.port4) return 0;
  return sf_net_loopback(family, addr, len, sf_sinks.port4, sf_sinks.port6, to);
}
