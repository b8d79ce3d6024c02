/*
 * The LD_PRELOAD engine: wraps libc's I/O entry points (wrappers.h), asks decide() about each call the plan
 * names, and acts (errno, delay, short transfer, kill) before or instead of the real call.
 *
 * Rules of this file:
 * - The per-thread guard is checked before anything else; while it is set (our own code, the resolver)
 *   every wrapper goes straight to the real function.
 * - No malloc and no locks here: initialisation is a once-only state machine that tolerates re-entry, and a
 *   wrapper that runs before it (another library's constructor) or while symbols are unresolved falls back to
 *   the raw syscall.
 * - A call no rule names costs one TLS load, one state load and one bit test before the real call.
 * - Malformed input (missing or corrupt region, bad plan) means "no faults" plus one warning on stderr.
 */
/* Both pread and pread64 are wrapped: each must keep its own symbol, so no 64-bit offset aliasing here. */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <poll.h>

#include "../core/net.h"
#include "../core/sysfault.h"
#include "../core/shadow.h"
#include "wrappers.h"
#include "preload-internal.h"

#define SF_EXPORT __attribute__((visibility("default")))
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

extern void __chk_fail(void) __attribute__((noreturn));
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen);
ssize_t __pread64_chk(int fd, void *buf, size_t n, off64_t off, size_t buflen);
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

/* ---- state ---- */

__thread int sf_guard __attribute__((tls_model("initial-exec")));
/* This thread's counter slot in the shared region: -2 not claimed yet, -1 none left (count atomically). */
static __thread int sf_slot __attribute__((tls_model("initial-exec"))) = -2;

enum { SF_UNINIT = 0, SF_INITIALIZING = 1, SF_ACTIVE = 2, SF_INACTIVE = 3 };
static int sf_state;
static struct sf_shm *sf_shm;
struct sf_shm *sf_preload_shm(void) { return __atomic_load_n(&sf_state, __ATOMIC_ACQUIRE) == SF_ACTIVE ? sf_shm : NULL; }
static struct sf_plan sf_plan;

/* Power cut (issue 5): shadow copies of synced state, from SYSFAULT_SHADOW / SYSFAULT_POWERCUT(_FLAGS). */
static struct sf_shadow sf_shadow_cfg;
static int sf_pc_on;

/* What a fault's wrapper does once the real call has returned (a kill after the call, a torn write's kill):
 * a local of the sf_fire_* function (SF_AFTER_SCOPE), run by its cleanup attribute after the return value is
 * computed. sf_after_slot points at the innermost one while it is in scope. */
struct sf_after {
  int sig; /* 0: nothing to do */
  int log; /* log d first: a power cut after the call is logged only once the call is done */
  int sys, fd;
  struct sf_decision d;
  struct sf_after *prev;
};
static __thread struct sf_after *sf_after_slot __attribute__((tls_model("initial-exec")));

/* What we know of each descriptor, filled lazily from /proc/self/fd on first use by a rule that filters
 * on it, reset whenever the program opens, closes or replaces that descriptor. */
enum { FD_UNKNOWN = 0, FD_KNOWN = 1 };
struct fd_info {
  uint8_t state, kind, peer_state;
  uint64_t path_bits;
  struct sf_addr peer;
};
static struct fd_info sf_fds[SF_FD_TABLE];

/* The plan summarised per syscall at attach time, so that a call no rule can fire on leaves after a few bit
 * tests: which rules name each syscall, which filter on the fd (path or kind), and which accept each kind. */
static uint64_t sf_rules_for[SF_SYS_COUNT];
static uint64_t sf_fd_rules, sf_path_rules;
static uint64_t sf_kind_ok[4]; /* by fd kind; index 0 is "unknown": only rules without a kind filter */

static void sf_summarise(void) {
  for (uint32_t i = 0; i < sf_plan.nrules; i++) {
    const struct sf_rule *r = &sf_plan.rules[i];
    uint64_t bit = 1ull << i;
    for (int sys = 0; sys < SF_SYS_COUNT; sys++)
      if (r->syscalls & (1ull << sys)) sf_rules_for[sys] |= bit;
    if (r->path[0]) sf_path_rules |= bit, sf_fd_rules |= bit;
    if (r->fd_kind != SF_FD_ANY) sf_fd_rules |= bit;
    for (uint32_t kind = 0; kind < 4; kind++)
      if (r->fd_kind == SF_FD_ANY || r->fd_kind == kind) sf_kind_ok[kind] |= bit;
  }
}

/* ---- real symbols: one resolver, one slot per wrapped name ---- */

#define SLOT(name, ...) static __typeof__(name) *real_##name;
SF_WRAP_RW(SLOT) SF_WRAP_RW_CHK(SLOT) SF_WRAP_PRW(SLOT) SF_WRAP_PRW_CHK(SLOT) SF_WRAP_VEC(SLOT)
SF_WRAP_PVEC(SLOT) SF_WRAP_PVEC2(SLOT) SF_WRAP_SOCK(SLOT) SF_WRAP_SOCKTO(SLOT) SF_WRAP_MSG(SLOT)
SF_WRAP_SYNC(SLOT) SF_WRAP_OPEN(SLOT) SF_WRAP_OPEN2(SLOT) SF_WRAP_OPENAT(SLOT) SF_WRAP_OPENAT2(SLOT)
SF_WRAP_CREAT(SLOT) SF_WRAP_FDRESET(SLOT)
static __typeof__(connect) *real_connect;
static __typeof__(sync_file_range) *real_sync_file_range;
static __typeof__(sendfile) *real_sendfile;
static __typeof__(copy_file_range) *real_copy_file_range;
static __typeof__(splice) *real_splice;
#undef SLOT

static void sf_resolve_all(void) {
#define RESOLVE(name, ...) real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name);
  SF_WRAP_RW(RESOLVE) SF_WRAP_RW_CHK(RESOLVE) SF_WRAP_PRW(RESOLVE) SF_WRAP_PRW_CHK(RESOLVE) SF_WRAP_VEC(RESOLVE)
  SF_WRAP_PVEC(RESOLVE) SF_WRAP_PVEC2(RESOLVE) SF_WRAP_SOCK(RESOLVE) SF_WRAP_SOCKTO(RESOLVE) SF_WRAP_MSG(RESOLVE)
  SF_WRAP_SYNC(RESOLVE) SF_WRAP_OPEN(RESOLVE) SF_WRAP_OPEN2(RESOLVE) SF_WRAP_OPENAT(RESOLVE)
  SF_WRAP_OPENAT2(RESOLVE) SF_WRAP_CREAT(RESOLVE) SF_WRAP_FDRESET(RESOLVE)
  RESOLVE(connect) RESOLVE(sync_file_range) RESOLVE(sendfile) RESOLVE(copy_file_range) RESOLVE(splice)
#undef RESOLVE
}

/* The real function if resolved, else the raw syscall (before init, or inside the resolver). A call just
 * counted is made raw from the gate (gate.c), so that the supervisor's filter lets it through. */
#define REAL_FN(name, raw, ...) (LIKELY(real_##name != NULL) ? real_##name(__VA_ARGS__) : (raw))
#define REAL(name, raw, ...) (UNLIKELY(sf_gate_next) ? (sf_gate_next = 0, (raw)) : REAL_FN(name, raw, __VA_ARGS__))
#define RAW(nr, ...) sf_raw(nr, __VA_ARGS__)

/* ---- init: once, tolerating re-entry and concurrent first calls ---- */

static void sf_warn(const char *what) {
  char line[256];
  int n = snprintf(line, sizeof line, "sysfault: preload: %s; running without faults\n", what);
  if (n > 0) syscall(SYS_write, 2, line, (size_t)(n < (int)sizeof line ? n : (int)sizeof line - 1));
}

static int sf_attach(void) {
  const char *path = getenv("SYSFAULT_SHM");
  if (!path || !*path) return 0;
  char err[160];
  int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    snprintf(err, sizeof err, "cannot open the shared region %s: %s", path, strerror(errno));
    sf_warn(err);
    return 0;
  }
  struct stat st;
  void *map = MAP_FAILED;
  if (syscall(SYS_fstat, fd, &st) == 0 && st.st_size >= (off_t)sizeof(struct sf_shm))
    map = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  syscall(SYS_close, fd);
  if (map == MAP_FAILED) {
    sf_warn("cannot map the shared region");
    return 0;
  }
  struct sf_shm *shm = map;
  if (sf_shm_check(shm, (size_t)st.st_size, err, sizeof err) != 0 ||
      sf_plan_decode((char *)shm + shm->plan_offset, shm->plan_size, &sf_plan, err, sizeof err) != 0) {
    sf_warn(err);
    munmap(map, (size_t)st.st_size);
    return 0;
  }
  sf_shm = shm;
  sf_summarise();
  return 1;
}

/* Power cut: the TS side sets these when the run has a powercut option (native/core/shadow.h). */
static void sf_shadow_setup(void) {
  const char *dir = getenv("SYSFAULT_SHADOW"), *glob = getenv("SYSFAULT_POWERCUT");
  const char *flags = getenv("SYSFAULT_POWERCUT_FLAGS");
  if (!dir || !*dir || !glob || !*glob) return;
  if (strlen(dir) >= sizeof sf_shadow_cfg.dir || strlen(glob) >= sizeof sf_shadow_cfg.glob) {
    sf_warn("power cut settings too long");
    return;
  }
  strcpy(sf_shadow_cfg.dir, dir);
  strcpy(sf_shadow_cfg.glob, glob);
  sf_shadow_cfg.flags = flags ? (uint32_t)strtoul(flags, NULL, 10) : 0;
  sf_pc_on = 1;
}

static __attribute__((noinline)) int sf_init_slow(void) {
  int expected = SF_UNINIT;
  if (__atomic_compare_exchange_n(&sf_state, &expected, SF_INITIALIZING, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    sf_guard = 1;
    sf_resolve_all();
    int active = sf_attach();
    if (active) sf_shadow_setup(), sf_gate_setup();
    sf_guard = 0;
    __atomic_store_n(&sf_state, active ? SF_ACTIVE : SF_INACTIVE, __ATOMIC_RELEASE);
    return active;
  }
  /* Another thread is initialising: wait for it so that no call goes uncounted. */
  while ((expected = __atomic_load_n(&sf_state, __ATOMIC_ACQUIRE)) == SF_INITIALIZING) sched_yield();
  return expected == SF_ACTIVE;
}

/* A forked child is a new writer: it must not share its parent's thread slot. (vfork and posix_spawn children
 * borrow the parent thread, which is suspended meanwhile, so they may keep it.) */
static void sf_after_fork_child(void) { sf_slot = -2; }

__attribute__((constructor)) static void sf_constructor(void) {
  pthread_atfork(NULL, NULL, sf_after_fork_child);
  if (__atomic_load_n(&sf_state, __ATOMIC_ACQUIRE) == SF_UNINIT) sf_init_slow();
}

/* Counts one call of a named syscall. The slot has a single writer, so a plain increment is exact. */
static inline void sf_count(int sys) {
  sf_gate_next = 1;
  int slot = sf_slot;
  if (UNLIKELY(slot < 0)) {
    if (slot == -2) sf_slot = slot = sf_shm_claim_slot(sf_shm);
    if (slot < 0) {
      __atomic_fetch_add(&sf_shm->counts[sys].calls, 1, __ATOMIC_RELAXED);
      return;
    }
  }
  uint64_t *c = &sf_shm->slot_calls[slot][sys];
  __atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

/* Is this syscall one the plan names, and are we free to look at it? */
static inline int sf_wants(int sys) {
  if (UNLIKELY(sf_guard)) return 0;
  int s = __atomic_load_n(&sf_state, __ATOMIC_ACQUIRE);
  if (UNLIKELY(s != SF_ACTIVE)) {
    if (s != SF_UNINIT || !sf_init_slow()) return 0;
  }
  return (sf_plan.named >> sys) & 1;
}

/* ---- descriptor facts ---- */

/* Network: a TCP socket's read stall (see "network actions" below and preload-net.c), by fd. */
uint8_t sf_stall_state[SF_FD_TABLE];

static inline void fd_reset(int fd) {
  if (fd >= 0 && fd < SF_FD_TABLE) {
    sf_fds[fd].state = FD_UNKNOWN, sf_fds[fd].peer_state = FD_UNKNOWN;
    if (UNLIKELY(sf_stall_state[fd])) __atomic_store_n(&sf_stall_state[fd], STALL_NONE, __ATOMIC_RELAXED);
  }
}

static int fd_link(int fd, char *buf, size_t len) {
  char proc[48];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(proc, buf, len - 1);
  if (n < 0) return -1;
  buf[n] = 0;
  return 0;
}

static void fd_lookup(int fd, struct fd_info *out) {
  struct stat st;
  char path[PATH_MAX];
  out->kind = SF_FD_UNKNOWN;
  out->path_bits = 0;
  if (syscall(SYS_fstat, fd, &st) == 0)
    out->kind = S_ISSOCK(st.st_mode) ? SF_FD_SOCKET : S_ISFIFO(st.st_mode) ? SF_FD_PIPE : SF_FD_FILE;
  if (out->kind == SF_FD_FILE && fd_link(fd, path, sizeof path) == 0) out->path_bits = sf_plan_path_bits(&sf_plan, path);
  out->state = FD_KNOWN;
}

static void fd_peer(int fd, struct fd_info *info) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  memset(&info->peer, 0, sizeof info->peer);
  if (syscall(SYS_getpeername, fd, &ss, &len) == 0) sf_addr_from_sockaddr((struct sockaddr *)&ss, len, &info->peer);
  info->peer_state = FD_KNOWN;
}

/* Fills the parts of call that some rule for this syscall filters on. */
static int sock_read_sys(int sys) {
  return sys == SF_SYS_read || sys == SF_SYS_readv || sys == SF_SYS_recvfrom || sys == SF_SYS_recvmsg;
}
static int sock_write_sys(int sys) {
  return sys == SF_SYS_write || sys == SF_SYS_writev || sys == SF_SYS_sendto || sys == SF_SYS_sendmsg;
}

static void sf_describe_fd(struct sf_call *call) {
  uint64_t bit = 1ull << call->sys;
  if (!((sf_plan.path_used | sf_plan.kind_used | sf_plan.addr_used | sf_plan.bytes_used) & bit) || call->fd < 0) return;
  struct fd_info local, *info = &local;
  if (call->fd < SF_FD_TABLE) {
    info = &sf_fds[call->fd];
  } else {
    local.state = local.peer_state = FD_UNKNOWN;
  }
  if (info->state != FD_KNOWN) fd_lookup(call->fd, info);
  call->fd_kind = info->kind;
  call->path_bits = info->path_bits;
  if ((sf_plan.addr_used & bit) && info->kind == SF_FD_SOCKET && !call->peer) {
    if (info->peer_state != FD_KNOWN) fd_peer(call->fd, info);
    call->peer = &info->peer;
  }
  if ((sf_plan.bytes_used & bit) && info->kind == SF_FD_SOCKET) /* reset/close after N bytes */
    call->has_bytes = sf_net_bytes(call->fd, sock_write_sys(call->sys), &call->sock_bytes) == 0;
}

/* ---- the decision and its side effects ---- */

static void sf_fault_target(const struct sf_call *call, const char *path, char *buf, size_t len) {
  buf[0] = 0;
  if (path) {
    snprintf(buf, len, "%s", path);
  } else if (call->peer) { /* connect's address, or a socket's peer when a rule filters on it */
    sf_addr_format(call->peer, buf, len);
  } else if (call->fd >= 0 && fd_link(call->fd, buf, len) != 0) {
    buf[0] = 0;
  }
}

static void sf_sleep_ms(int32_t ms) {
  if (ms <= 0) return;
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += ms / 1000;
  until.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR) {
  }
}

/* ---- network actions (issue 4); the socket work itself is in native/core/net.c ----
 * refuse / blackhole (connect): the program's socket connects to a loopback address that refuses (port 0) or
 * that drops SYNs (the controller's sink, SYSFAULT_BLACKHOLE), through the real connect: blocking or not, with
 * SO_SNDTIMEO and signals, the program gets exactly the kernel's behaviour.
 * reset / close (I/O): the connection is ended on the fd, then the real call reports it.
 * latency (delay on a TCP socket read or write):
 * - read: a stall. The socket is made to look empty to poll/epoll (SO_RCVLOWAT raised) for the delay; a helper
 *   thread puts SO_RCVLOWAT back when it is over, which wakes the program's poller (an edge-triggered one too)
 *   if data is there. Reads meanwhile: EAGAIN if they do not block; a blocking one waits in poll() until the
 *   socket is readable (the stall over, data there) or its SO_RCVTIMEO from the call's start has passed (then
 *   EAGAIN, as the kernel answers a timeout). The first read after the release is the delayed read itself
 *   and passes undecided. The program's own deadline, if shorter, fires first: nothing holds it.
 * - blocking write: held at most until the socket's SO_SNDTIMEO, then EAGAIN as the kernel answers a timeout.
 * - non-blocking write: held (the program's deadline lives in its runtime, out of sight).
 * The table of stalled sockets and the helper thread that ends the stalls are in preload-net.c. */

static struct sf_net_sinks sf_sinks;

__attribute__((constructor)) static void sf_net_constructor(void) {
  sf_net_sinks_parse(getenv("SYSFAULT_BLACKHOLE"), &sf_sinks);
}

static void sf_sleep_ns(uint64_t ns) {
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += (time_t)(ns / 1000000000ull);
  until.tv_nsec += (long)(ns % 1000000000ull);
  if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR) {
  }
}

/* A read of a stalled socket, before any decision: 0 not stalled; 1 let it through (the stall is over, or
 * the socket broke: its error is the kernel's to report); 2 answer EAGAIN (counted as a call, not a match). */
static int sf_net_stalled(const struct sf_call *call) {
  if (call->fd < 0 || call->fd >= SF_FD_TABLE || !sock_read_sys(call->sys)) return 0;
  uint8_t st = __atomic_load_n(&sf_stall_state[call->fd], __ATOMIC_ACQUIRE);
  if (st == STALL_NONE) return 0;
  if (st == STALL_ON) {
    if (sf_net_broken(call->fd)) return 1;
    if (sf_net_nonblocking(call->fd)) return 2;
    return sf_stall_wait(call->fd, sf_now_ns()) ? 1 : 2;
  }
  __atomic_compare_exchange_n(&sf_stall_state[call->fd], &st, STALL_NONE, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
  return 1;
}

/* SF_ACT_DELAY: the action left for the wrapper (NONE, or ERRNO with EAGAIN in *value). */
static int sf_net_delay(const struct sf_call *call, int32_t ms, int32_t *value) {
  int rd = sock_read_sys(call->sys), wr = sock_write_sys(call->sys);
  uint64_t delay = (uint64_t)(ms > 0 ? ms : 0) * 1000000ull;
  if ((!rd && !wr) || call->fd < 0 || (call->fd_kind != SF_FD_UNKNOWN && call->fd_kind != SF_FD_SOCKET) ||
      !sf_net_tcp_family(call->fd)) {
    sf_sleep_ms(ms);
    return SF_ACT_NONE;
  }
  int nonblock = sf_net_nonblocking(call->fd);
  uint64_t now = sf_now_ns();
  if (rd && sf_stall_begin(call->fd, now + delay, 0) == 0) {
    if (nonblock || !sf_stall_wait(call->fd, now)) {
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

/* reset / close: the action left for the wrapper (NONE: the real call reports it; ERRNO ECONNRESET when the
 * socket is not TCP, or a thread waits in the kernel on it: no RST could be sent). */
static int sf_net_end_call(const struct sf_call *call, int action, int32_t silence_ms, int32_t *value) {
  if (call->fd < 0) return SF_ACT_NONE;
  if (silence_ms > 0 && sf_net_tcp_family(call->fd)) {
    /* after a silence: the socket's reads are stalled for that long, then the connection ends; this call
     * waits like any read of a stalled socket, a write goes through */
    uint64_t now = sf_now_ns();
    if (sf_stall_begin(call->fd, now + (uint64_t)silence_ms * 1000000ull, action) == 0) {
      if (!sock_read_sys(call->sys)) return SF_ACT_NONE;
      if (sf_net_nonblocking(call->fd) || !sf_stall_wait(call->fd, now)) {
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

/* refuse / blackhole: where connect(fd, addr) goes instead; 0 when nowhere (not a TCP socket, no sink). */
static socklen_t sf_net_redirect(int fd, const struct sockaddr *addr, socklen_t len, int action,
                                 struct sockaddr_storage *to) {
  int family = sf_net_tcp_family(fd);
  if (!family) return 0;
  if (action == SF_ACT_REFUSE) return sf_net_loopback(family, addr, len, 0, 0, to);
  if (!sf_sinks.port4) return 0;
  return sf_net_loopback(family, addr, len, sf_sinks.port4, sf_sinks.port6, to);
}

/* Decides on one call. Returns the action to apply in the wrapper (errno and short) or SF_ACT_NONE after
 * having applied a delay or a kill that the process survived. */
static int sf_intercept(struct sf_call *call, const char *path, int32_t *value) {
  int saved = errno;
  sf_guard = 1;
  int action = SF_ACT_NONE;
  int stalled = sf_net_stalled(call);
  if (stalled) {
    if (stalled == 2) action = SF_ACT_ERRNO, *value = EAGAIN;
    sf_guard = 0;
    errno = saved;
    return action;
  }
  sf_describe_fd(call);
  struct sf_decision d;
  if (sf_decide_counted(sf_shm, &sf_plan, call, &d)) {
    struct sf_after *after = sf_after_slot;
    int after_call = after && ((d.flags & SF_FLAG_AFTER_CALL) || d.action == SF_ACT_TORN);
    if (after_call) after->sys = call->sys, after->fd = call->fd, after->d = d;
    /* a torn write is logged with the bytes it keeps (sf_torn), a power cut after the call once it is done */
    if (!(after_call && (d.action == SF_ACT_TORN || d.action == SF_ACT_POWERCUT))) {
      char target[SF_TARGET_MAX];
      sf_fault_target(call, path, target, sizeof target);
      sf_log_fault(sf_shm, &d, call->sys, getpid(), (int)syscall(SYS_gettid), call->fd, target);
    } else if (d.action == SF_ACT_POWERCUT) {
      after->log = 1;
    }
    *value = d.value;
    action = (int)d.action;
    if (action == SF_ACT_DELAY) {
      action = sf_net_delay(call, d.value, value);
    } else if (action == SF_ACT_RESET || action == SF_ACT_CLOSE) {
      action = sf_net_end_call(call, action, d.value2, value);
    } else if (action == SF_ACT_KILL || action == SF_ACT_POWERCUT) {
      int sig = action == SF_ACT_POWERCUT ? SIGKILL : d.value;
      if (after_call)
        after->sig = sig; /* sf_after_run signals once the real call has returned */
      else
        kill(getpid(), sig); /* a fatal signal ends the process here, before the call; a handled one runs its
                                handler, then the call proceeds (as under the seccomp engine) */
      action = SF_ACT_NONE;
    } else if (action == SF_ACT_TORN) {
      if (after_call) {
        after->sig = SIGKILL; /* the wrapper keeps the first bytes (sf_torn), sf_after_run kills */
      } else {
        kill(getpid(), SIGKILL); /* not a write wrapper: cannot happen with a valid plan */
        action = SF_ACT_NONE;
      }
    } else if (action == SF_ACT_ERRNO && sf_pc_on && (call->sys == SF_SYS_fsync || call->sys == SF_SYS_fdatasync)) {
      sf_shadow_drop_dirty(&sf_shadow_cfg, call->fd); /* fsyncFailureDropsDirty: its unsynced data is lost */
    }
  } else if (call->has_bytes) {
    /* reset/close after N bytes: a call that would carry the N-th byte is cut there (not a fault) */
    int64_t cap = sf_byte_cap(&sf_plan, call);
    if (cap > 0) action = SF_ACT_SHORT, *value = cap > INT32_MAX ? INT32_MAX : (int32_t)cap;
  }
  sf_guard = 0;
  errno = saved;
  return action;
}

static inline void sf_call_init(struct sf_call *c, int sys, int fd) {
  c->sys = sys, c->fd = fd, c->fd_kind = SF_FD_UNKNOWN, c->path_bits = 0, c->peer = NULL;
  c->has_bytes = 0, c->sock_bytes = 0;
}

static __attribute__((noinline)) void fd_lookup_quietly(int fd, struct fd_info *info) {
  int saved = errno;
  sf_guard = 1;
  fd_lookup(fd, info);
  sf_guard = 0;
  errno = saved;
}

/* Counts a call on fd and returns the rules that could still fire on it: usually none, after a few bit tests. */
static inline uint64_t sf_candidates(int sys, int fd) {
  sf_count(sys);
  uint64_t candidates = sf_rules_for[sys];
  if ((candidates & sf_fd_rules) && fd >= 0 && fd < SF_FD_TABLE) {
    struct fd_info *info = &sf_fds[fd];
    if (UNLIKELY(info->state != FD_KNOWN)) fd_lookup_quietly(fd, info);
    candidates &= (~sf_path_rules | info->path_bits) & sf_kind_ok[info->kind < 4 ? info->kind : 0];
  }
  return candidates;
}

static int sf_decide_fd(int sys, int fd, int32_t *value) {
  struct sf_call call;
  sf_call_init(&call, sys, fd);
  return sf_intercept(&call, NULL, value);
}

static inline int sf_check_fd(int sys, int fd, int32_t *value) {
  return sf_candidates(sys, fd) ? sf_decide_fd(sys, fd, value) : SF_ACT_NONE;
}

/* ---- after the call: kills, torn writes; power cut syncs ---- */

static void sf_after_run(struct sf_after *a) {
  sf_after_slot = a->prev;
  if (LIKELY(!a->sig)) return;
  int saved = errno;
  sf_guard = 1;
  if (a->log) {
    char target[SF_TARGET_MAX];
    struct sf_call c;
    sf_call_init(&c, a->sys, a->fd);
    sf_fault_target(&c, NULL, target, sizeof target);
    sf_log_fault(sf_shm, &a->d, a->sys, getpid(), (int)syscall(SYS_gettid), a->fd, target);
  }
  kill(getpid(), a->sig);
  sf_guard = 0;
  errno = saved;
}

/* Opens the scope of a fault's wrapper: what must happen once its real call has returned. */
#define SF_AFTER_SCOPE()                                                  \
  struct sf_after sf_after __attribute__((cleanup(sf_after_run)));        \
  sf_after.sig = 0, sf_after.log = 0, sf_after.prev = sf_after_slot;      \
  sf_after_slot = &sf_after

/* A torn write of n bytes: how many it keeps (logged so); sf_after_run kills after the write. */
static size_t sf_torn(size_t n) {
  struct sf_after *a = sf_after_slot;
  if (!a) return n;
  size_t keep;
  if (a->d.value2 == 0)
    keep = a->d.value > 0 && (size_t)a->d.value < n ? (size_t)a->d.value : (a->d.value > 0 ? n : 0);
  else
    keep = (size_t)((unsigned __int128)n * (uint32_t)a->d.value2 / 1000000u);
  if (keep > 0x7fffffff) keep = 0x7fffffff;
  int saved = errno;
  sf_guard = 1;
  a->d.value = (int32_t)keep;
  char target[SF_TARGET_MAX];
  struct sf_call c;
  sf_call_init(&c, a->sys, a->fd);
  sf_fault_target(&c, NULL, target, sizeof target);
  sf_log_fault(sf_shm, &a->d, a->sys, getpid(), (int)syscall(SYS_gettid), a->fd, target);
  sf_guard = 0;
  errno = saved;
  return keep;
}

static size_t sf_iov_total(const struct iovec *iov, int cnt) {
  size_t n = 0;
  for (int i = 0; i < cnt; i++) n += iov[i].iov_len;
  return n;
}

/* fsync/fdatasync under a power cut: the state the sync makes durable is copied aside before the real call
 * and kept if it succeeds (native/core/shadow.h). */
static __attribute__((noinline)) int sf_shadow_sync(int fd, int (*real)(int), long nr) {
  struct sf_shadow_op op;
  int saved = errno;
  sf_guard = 1;
  sf_shadow_begin(&sf_shadow_cfg, fd, &op);
  sf_guard = 0;
  errno = saved;
  int rc = real ? real(fd) : (int)syscall(nr, fd);
  int err = errno;
  sf_guard = 1;
  sf_shadow_end(&sf_shadow_cfg, &op, rc == 0);
  sf_guard = 0;
  errno = err;
  return rc;
}
#define SF_SYNC_REAL(name, nr, fd) \
  (UNLIKELY(sf_pc_on) && !sf_guard ? sf_shadow_sync(fd, real_##name, nr) : REAL(name, RAW(nr, fd), fd))

/* A copy of iov holding at most `max` bytes in total: a real partial transfer for vectored I/O. */
#define SF_SHORT_IOV 64
static int sf_short_iov(const struct iovec *iov, int cnt, size_t max, struct iovec *out) {
  int n = 0;
  for (int i = 0; i < cnt && n < SF_SHORT_IOV && max > 0; i++) {
    out[n] = iov[i];
    if (out[n].iov_len > max) out[n].iov_len = max;
    max -= out[n].iov_len;
    n++;
  }
  return n;
}

/* Common head of the other counted wrappers: `sf_action` is SF_ACT_NONE, ERRNO or SHORT afterwards. */
#define SF_DECIDE(sys, fd)                                    \
  int32_t sf_value = 0;                                       \
  int sf_action = SF_ACT_NONE;                                \
  if (UNLIKELY(sf_wants(SF_SYS_##sys)))                       \
    sf_action = sf_check_fd(SF_SYS_##sys, fd, &sf_value);     \
  if (UNLIKELY(sf_action == SF_ACT_ERRNO)) {                  \
    errno = sf_value;                                         \
    return -1;                                                \
  }

#define SF_SHORTEN(n)                                                      \
  if (UNLIKELY(sf_action == SF_ACT_TORN)) (n) = sf_torn(n);                 \
  else if (UNLIKELY(sf_action == SF_ACT_SHORT) && (size_t)sf_value < (n)) (n) = (size_t)sf_value

#define SF_SHORTEN_IOV()                                                       \
  struct iovec sf_iov[SF_SHORT_IOV];                                           \
  if (UNLIKELY(sf_action == SF_ACT_TORN))                                      \
    sf_value = (int32_t)sf_torn(sf_iov_total(iov, cnt)), sf_action = SF_ACT_SHORT; \
  if (UNLIKELY(sf_action == SF_ACT_SHORT) && cnt > 0)                          \
    cnt = sf_short_iov(iov, cnt, (size_t)sf_value, sf_iov), iov = sf_iov

/* ---- wrappers, one template per signature ----
 * Each is split in three so that the common paths are tail calls with no stack frame: the exported function
 * only asks whether the plan names its syscall (every call no rule names goes straight on to libc);
 * sf_<name> counts the call and asks whether any rule could fire on it (for a never-matching path filter,
 * a few bit tests on the fd's cached facts); sf_fire_<name> decides and applies the action. */

#define DEF_SPLIT(ret, name, sys, params, args, real_call, body)                    \
  static __attribute__((noinline)) ret sf_fire_##name params {                      \
    SF_AFTER_SCOPE();                                                               \
    int32_t sf_value = 0;                                                           \
    int sf_action = sf_decide_fd(SF_SYS_##sys, fd, &sf_value);                      \
    if (sf_action == SF_ACT_ERRNO) {                                                \
      errno = sf_value;                                                             \
      return -1;                                                                    \
    }                                                                               \
    body                                                                            \
  }                                                                                 \
  static __attribute__((noinline)) ret sf_##name params {                           \
    if (UNLIKELY(sf_candidates(SF_SYS_##sys, fd))) return sf_fire_##name args;      \
    return real_call;                                                               \
  }                                                                                 \
  SF_EXPORT ret name params {                                                       \
    if (UNLIKELY(sf_wants(SF_SYS_##sys))) return sf_##name args;                    \
    return real_call;                                                               \
  }

#define DEF_RW(name, sys, nr, q)                                                            \
  DEF_SPLIT(ssize_t, name, sys, (int fd, q void *buf, size_t n), (fd, buf, n),              \
            REAL(name, RAW(nr, fd, buf, n), fd, buf, n),                                    \
            SF_SHORTEN(n); return REAL(name, RAW(nr, fd, buf, n), fd, buf, n);)
/* The raw fallback of a _chk function must still check the buffer size (libc's version does it itself). */
#define CHK_RAW(n, buflen, raw) ((n) > (buflen) ? (__chk_fail(), 0) : (raw))
#define DEF_RW_CHK(name, sys, nr)                                                           \
  DEF_SPLIT(ssize_t, name, sys, (int fd, void *buf, size_t n, size_t buflen), (fd, buf, n, buflen), \
            REAL(name, CHK_RAW(n, buflen, RAW(nr, fd, buf, n)), fd, buf, n, buflen),                            \
            SF_SHORTEN(n);           \
            return REAL(name, CHK_RAW(n, buflen, RAW(nr, fd, buf, n)), fd, buf, n, buflen);)
#define DEF_PRW(name, sys, nr, q)                                                           \
  DEF_SPLIT(ssize_t, name, sys, (int fd, q void *buf, size_t n, off_t off), (fd, buf, n, off), \
            REAL(name, RAW(nr, fd, buf, n, off), fd, buf, n, off),                          \
            SF_SHORTEN(n);                                         \
            return REAL(name, RAW(nr, fd, buf, n, off), fd, buf, n, off);)
#define DEF_PRW_CHK(name, sys, nr)                                                          \
  DEF_SPLIT(ssize_t, name, sys, (int fd, void *buf, size_t n, off_t off, size_t buflen),    \
            (fd, buf, n, off, buflen), REAL(name, CHK_RAW(n, buflen, RAW(nr, fd, buf, n, off)), fd, buf, n, off, buflen), \
            SF_SHORTEN(n);           \
            return REAL(name, CHK_RAW(n, buflen, RAW(nr, fd, buf, n, off)), fd, buf, n, off, buflen);)
#define DEF_VEC(name, sys, nr)                                                              \
  DEF_SPLIT(ssize_t, name, sys, (int fd, const struct iovec *iov, int cnt), (fd, iov, cnt), \
            REAL(name, RAW(nr, fd, iov, cnt), fd, iov, cnt),                                \
            SF_SHORTEN_IOV(); return REAL(name, RAW(nr, fd, iov, cnt), fd, iov, cnt);)
#define DEF_PVEC(name, sys, nr)                                                             \
  DEF_SPLIT(ssize_t, name, sys, (int fd, const struct iovec *iov, int cnt, off_t off), (fd, iov, cnt, off), \
            REAL(name, RAW(nr, fd, iov, cnt, off, 0), fd, iov, cnt, off),                   \
            SF_SHORTEN_IOV();                                      \
            return REAL(name, RAW(nr, fd, iov, cnt, off, 0), fd, iov, cnt, off);)
#define DEF_PVEC2(name, sys, nr)                                                            \
  DEF_SPLIT(ssize_t, name, sys, (int fd, const struct iovec *iov, int cnt, off_t off, int flags), \
            (fd, iov, cnt, off, flags), REAL(name, RAW(nr, fd, iov, cnt, off, 0, flags), fd, iov, cnt, off, flags), \
            SF_SHORTEN_IOV();                                      \
            return REAL(name, RAW(nr, fd, iov, cnt, off, 0, flags), fd, iov, cnt, off, flags);)
#define DEF_SOCK(name, sys, nr, q)                                                          \
  DEF_SPLIT(ssize_t, name, sys, (int fd, q void *buf, size_t n, int flags), (fd, buf, n, flags), \
            REAL(name, RAW(nr, fd, buf, n, flags, NULL, NULL), fd, buf, n, flags),          \
            SF_SHORTEN(n);                                         \
            return REAL(name, RAW(nr, fd, buf, n, flags, NULL, NULL), fd, buf, n, flags);)
#define DEF_SYNC(name, sys, nr)                                                             \
  DEF_SPLIT(int, name, sys, (int fd), (fd), SF_SYNC_REAL(name, nr, fd),                     \
            return SF_SYNC_REAL(name, nr, fd);)

SF_WRAP_RW(DEF_RW)
SF_WRAP_RW_CHK(DEF_RW_CHK)
SF_WRAP_PRW(DEF_PRW)
SF_WRAP_PRW_CHK(DEF_PRW_CHK)
SF_WRAP_VEC(DEF_VEC)
SF_WRAP_PVEC(DEF_PVEC)
SF_WRAP_PVEC2(DEF_PVEC2)
SF_WRAP_SOCK(DEF_SOCK)
SF_WRAP_SYNC(DEF_SYNC)

SF_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *addr, socklen_t *alen) {
  SF_DECIDE(recvfrom, fd)
  SF_SHORTEN(n);
  return REAL(recvfrom, RAW(SYS_recvfrom, fd, buf, n, flags, addr, alen), fd, buf, n, flags, addr, alen);
}

SF_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags) {
  if (n > buflen) __chk_fail();
  SF_DECIDE(recvfrom, fd)
  SF_SHORTEN(n);
  return REAL(recv, RAW(SYS_recvfrom, fd, buf, n, flags, NULL, NULL), fd, buf, n, flags);
}

SF_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *addr,
                                 socklen_t *alen) {
  if (n > buflen) __chk_fail();
  SF_DECIDE(recvfrom, fd)
  SF_SHORTEN(n);
  return REAL(recvfrom, RAW(SYS_recvfrom, fd, buf, n, flags, addr, alen), fd, buf, n, flags, addr, alen);
}

SF_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr, socklen_t alen) {
  SF_DECIDE(sendto, fd)
  SF_SHORTEN(n);
  return REAL(sendto, RAW(SYS_sendto, fd, buf, n, flags, addr, alen), fd, buf, n, flags, addr, alen);
}

static ssize_t sf_msg_call(int send, int fd, struct msghdr *msg, int flags, int action, int32_t value) {
  struct msghdr copy;
  struct iovec iov[SF_SHORT_IOV];
  if (action == SF_ACT_SHORT && msg && msg->msg_iovlen > 0) {
    copy = *msg;
    copy.msg_iovlen = (size_t)sf_short_iov(msg->msg_iov, (int)msg->msg_iovlen, (size_t)value, iov);
    copy.msg_iov = iov;
    ssize_t r = send ? REAL(sendmsg, RAW(SYS_sendmsg, fd, &copy, flags), fd, &copy, flags)
                     : REAL(recvmsg, RAW(SYS_recvmsg, fd, &copy, flags), fd, &copy, flags);
    if (!send) msg->msg_flags = copy.msg_flags, msg->msg_controllen = copy.msg_controllen,
               msg->msg_namelen = copy.msg_namelen;
    return r;
  }
  return send ? REAL(sendmsg, RAW(SYS_sendmsg, fd, msg, flags), fd, msg, flags)
              : REAL(recvmsg, RAW(SYS_recvmsg, fd, msg, flags), fd, msg, flags);
}

SF_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags) {
  SF_DECIDE(recvmsg, fd)
  return sf_msg_call(0, fd, msg, flags, sf_action, sf_value);
}

SF_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) {
  SF_DECIDE(sendmsg, fd)
  return sf_msg_call(1, fd, (struct msghdr *)msg, flags, sf_action, sf_value);
}

SF_EXPORT int sync_file_range(int fd, off64_t off, off64_t n, unsigned int flags) {
  SF_DECIDE(sync_file_range, fd)
  return REAL(sync_file_range, (int)RAW(SYS_sync_file_range, fd, off, n, flags), fd, off, n, flags);
}

SF_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len) {
  fd_reset(fd);
  int32_t sf_value = 0;
  int sf_action = SF_ACT_NONE;
  if (UNLIKELY(sf_wants(SF_SYS_connect))) {
    struct sf_call c;
    struct sf_addr peer;
    sf_call_init(&c, SF_SYS_connect, fd);
    if (sf_addr_from_sockaddr(addr, len, &peer) == 0) c.peer = &peer;
    sf_count(SF_SYS_connect);
    sf_action = sf_intercept(&c, NULL, &sf_value);
  }
  if (UNLIKELY(sf_action == SF_ACT_ERRNO)) {
    errno = sf_value;
    return -1;
  }
  if (UNLIKELY(sf_action == SF_ACT_REFUSE || sf_action == SF_ACT_BLACKHOLE)) {
    struct sockaddr_storage to;
    socklen_t tolen = sf_net_redirect(fd, addr, len, sf_action, &to);
    if (tolen) return REAL(connect, (int)RAW(SYS_connect, fd, &to, tolen), fd, (struct sockaddr *)&to, tolen);
    if (sf_action == SF_ACT_REFUSE) { /* not a TCP socket: the errno alone */
      errno = ECONNREFUSED;
      return -1;
    }
  }
  return REAL(connect, (int)RAW(SYS_connect, fd, addr, len), fd, addr, len);
}

SF_EXPORT ssize_t sendfile(int out, int in, off_t *off, size_t n) {
  SF_DECIDE(sendfile, out)
  SF_SHORTEN(n);
  return REAL(sendfile, RAW(SYS_sendfile, out, in, off, n), out, in, off, n);
}
SF_EXPORT ssize_t sendfile64(int out, int in, off64_t *off, size_t n) { return sendfile(out, in, off, n); }

SF_EXPORT ssize_t copy_file_range(int in, off64_t *in_off, int out, off64_t *out_off, size_t n, unsigned int flags) {
  SF_DECIDE(copy_file_range, out)
  SF_SHORTEN(n);
  return REAL(copy_file_range, RAW(SYS_copy_file_range, in, in_off, out, out_off, n, flags), in, in_off, out, out_off,
              n, flags);
}

SF_EXPORT ssize_t splice(int in, off64_t *in_off, int out, off64_t *out_off, size_t n, unsigned int flags) {
  SF_DECIDE(splice, out)
  SF_SHORTEN(n);
  return REAL(splice, RAW(SYS_splice, in, in_off, out, out_off, n, flags), in, in_off, out, out_off, n, flags);
}

/* ---- the open family: counted as openat (what the kernel sees), path filters on the path opened ---- */

/* The absolute form of path relative to dirfd, without touching the file system beyond one readlink. */
static const char *sf_abs_path(int dirfd, const char *path, char *buf, size_t len) {
  if (!path) return "";
  if (path[0] == '/') return path;
  char base[PATH_MAX];
  if (dirfd == AT_FDCWD) {
    if (syscall(SYS_getcwd, base, sizeof base) < 0) return path;
  } else if (fd_link(dirfd, base, sizeof base) != 0) {
    return path;
  }
  while (path[0] == '.' && path[1] == '/') path += 2;
  size_t dir = strcmp(base, "/") == 0 ? 0 : strlen(base), rest = strlen(path);
  if (dir + 1 + rest >= len) return path; /* longer than any path the kernel takes */
  memcpy(buf, base, dir);
  buf[dir] = '/';
  memcpy(buf + dir + 1, path, rest + 1);
  return buf;
}

static int sf_open_common(int dirfd, const char *path, int *action) {
  int32_t value = 0;
  *action = SF_ACT_NONE;
  if (UNLIKELY(sf_wants(SF_SYS_openat))) {
    struct sf_call c;
    char abs[PATH_MAX];
    int saved = errno;
    sf_call_init(&c, SF_SYS_openat, -1);
    sf_guard = 1;
    const char *full = sf_abs_path(dirfd, path, abs, sizeof abs);
    if (sf_plan.path_used & (1ull << SF_SYS_openat)) c.path_bits = sf_plan_path_bits(&sf_plan, full);
    sf_guard = 0;
    errno = saved;
    sf_count(SF_SYS_openat);
    *action = sf_intercept(&c, full, &value);
  }
  return value;
}

static inline int sf_mode_needed(int flags) { return (flags & O_CREAT) || (flags & __O_TMPFILE) == __O_TMPFILE; }

/* The optional third argument of open/openat: read only when the flags say it is there. */
#define SF_VA_MODE(flags)                 \
  mode_t mode = 0;                        \
  if (sf_mode_needed(flags)) {            \
    va_list ap;                           \
    va_start(ap, flags);                  \
    mode = va_arg(ap, mode_t);            \
    va_end(ap);                           \
  }

#define OPEN_TAIL(call)                   \
  if (sf_action == SF_ACT_ERRNO) {        \
    errno = sf_value;                     \
    return -1;                            \
  }                                       \
  int fd = (call);                        \
  fd_reset(fd);                           \
  return fd;

#define DEF_OPEN(name, sys)                                                                   \
  SF_EXPORT int name(const char *path, int flags, ...) {                                      \
    SF_VA_MODE(flags);                                                                        \
    int sf_action;                                                                            \
    int32_t sf_value = sf_open_common(AT_FDCWD, path, &sf_action);                            \
    OPEN_TAIL(REAL(name, (int)RAW(SYS_openat, AT_FDCWD, path, flags, mode), path, flags, mode)) \
  }
#define DEF_OPEN2(name, sys)                                                                  \
  SF_EXPORT int name(const char *path, int flags) {                                           \
    int sf_action;                                                                            \
    int32_t sf_value = sf_open_common(AT_FDCWD, path, &sf_action);                            \
    OPEN_TAIL(REAL(name, (int)RAW(SYS_openat, AT_FDCWD, path, flags, 0), path, flags))        \
  }
#define DEF_OPENAT(name, sys)                                                                       \
  SF_EXPORT int name(int dirfd, const char *path, int flags, ...) {                                 \
    SF_VA_MODE(flags);                                                                              \
    int sf_action;                                                                                  \
    int32_t sf_value = sf_open_common(dirfd, path, &sf_action);                                     \
    OPEN_TAIL(REAL(name, (int)RAW(SYS_openat, dirfd, path, flags, mode), dirfd, path, flags, mode)) \
  }
#define DEF_OPENAT2(name, sys)                                                                \
  SF_EXPORT int name(int dirfd, const char *path, int flags) {                                \
    int sf_action;                                                                            \
    int32_t sf_value = sf_open_common(dirfd, path, &sf_action);                               \
    OPEN_TAIL(REAL(name, (int)RAW(SYS_openat, dirfd, path, flags, 0), dirfd, path, flags))    \
  }
#define DEF_CREAT(name, sys)                                                                                     \
  SF_EXPORT int name(const char *path, mode_t mode) {                                                            \
    int sf_action;                                                                                               \
    int32_t sf_value = sf_open_common(AT_FDCWD, path, &sf_action);                                               \
    OPEN_TAIL(REAL(name, (int)RAW(SYS_openat, AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode), path, mode)) \
  }

SF_WRAP_OPEN(DEF_OPEN)
SF_WRAP_OPEN2(DEF_OPEN2)
SF_WRAP_OPENAT(DEF_OPENAT)
SF_WRAP_OPENAT2(DEF_OPENAT2)
SF_WRAP_CREAT(DEF_CREAT)

/* ---- descriptor bookkeeping only (SF_WRAP_FDRESET) ----
 * These reach libc through REAL() too; the stdio ones have no raw fallback, so they make sure the symbols
 * are resolved first (they may run before our constructor, from another library's). */

static inline void sf_resolved(void) {
  if (UNLIKELY(__atomic_load_n(&sf_state, __ATOMIC_ACQUIRE) == SF_UNINIT) && !sf_guard) sf_init_slow();
}

SF_EXPORT int close(int fd) {
  fd_reset(fd);
  return REAL(close, (int)RAW(SYS_close, fd), fd);
}
SF_EXPORT int socket(int domain, int type, int protocol) {
  int fd = REAL(socket, (int)RAW(SYS_socket, domain, type, protocol), domain, type, protocol);
  fd_reset(fd);
  return fd;
}
SF_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len) {
  int r = REAL(accept, (int)RAW(SYS_accept, fd, addr, len), fd, addr, len);
  fd_reset(r);
  return r;
}
SF_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
  int r = REAL(accept4, (int)RAW(SYS_accept4, fd, addr, len, flags), fd, addr, len, flags);
  fd_reset(r);
  return r;
}
SF_EXPORT int pipe(int fds[2]) {
  int r = REAL(pipe, (int)RAW(SYS_pipe2, fds, 0), fds);
  if (r == 0) fd_reset(fds[0]), fd_reset(fds[1]);
  return r;
}
SF_EXPORT int pipe2(int fds[2], int flags) {
  int r = REAL(pipe2, (int)RAW(SYS_pipe2, fds, flags), fds, flags);
  if (r == 0) fd_reset(fds[0]), fd_reset(fds[1]);
  return r;
}
SF_EXPORT int socketpair(int domain, int type, int protocol, int fds[2]) {
  int r = REAL(socketpair, (int)RAW(SYS_socketpair, domain, type, protocol, fds), domain, type, protocol, fds);
  if (r == 0) fd_reset(fds[0]), fd_reset(fds[1]);
  return r;
}
SF_EXPORT int dup2(int oldfd, int newfd) {
  int r = REAL(dup2, (int)RAW(SYS_dup2, oldfd, newfd), oldfd, newfd);
  fd_reset(r);
  return r;
}
SF_EXPORT int dup3(int oldfd, int newfd, int flags) {
  int r = REAL(dup3, (int)RAW(SYS_dup3, oldfd, newfd, flags), oldfd, newfd, flags);
  fd_reset(r);
  return r;
}
SF_EXPORT int close_range(unsigned int first, unsigned int last, int flags) {
  int r = REAL(close_range, (int)RAW(SYS_close_range, first, last, flags), first, last, flags);
  if (r == 0 && !(flags & CLOSE_RANGE_CLOEXEC))
    for (unsigned int fd = first; fd <= last && fd < SF_FD_TABLE; fd++) fd_reset((int)fd);
  return r;
}
SF_EXPORT FILE *fopen(const char *path, const char *mode) {
  sf_resolved();
  FILE *f = REAL_FN(fopen, (errno = ENOSYS, NULL), path, mode);
  if (f) fd_reset(fileno(f));
  return f;
}
SF_EXPORT FILE *fopen64(const char *path, const char *mode) {
  sf_resolved();
  FILE *f = REAL_FN(fopen64, (errno = ENOSYS, NULL), path, mode);
  if (f) fd_reset(fileno(f));
  return f;
}
SF_EXPORT int fclose(FILE *f) {
  sf_resolved();
  if (f) fd_reset(fileno(f));
  return REAL_FN(fclose, (errno = ENOSYS, EOF), f);
}
