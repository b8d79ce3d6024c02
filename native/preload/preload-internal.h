/*
 * Private to the preload engine: what its files share. Hidden: never exported from the library.
 *   preload.c        state, the resolver, init, descriptor facts, the decision and its side effects
 *   preload-wrap.c   the wrappers generated from wrappers.h, one template per signature
 *   preload-calls.c  the hand-written wrappers (sockets, connect, moves, msghdr) and descriptor bookkeeping
 *   preload-open.c   the open family (counted as openat, path filters on the path opened)
 *   preload-net.c    network actions: refuse, blackhole, reset, close, and read stalls with their helper thread
 *
 * Rules of the engine:
 * - The per-thread guard is checked before anything else; while it is set (our own code, the resolver)
 *   every wrapper goes straight to the real function.
 * - No malloc and no locks on the per-call path: initialisation is a once-only state machine that tolerates
 *   re-entry, and a wrapper that runs before it (another library's constructor) or while symbols are
 *   unresolved falls back to the raw syscall.
 * - A call no rule names costs one TLS load, one state load and one bit test before the real call.
 * - Malformed input (missing or corrupt region, bad plan) means "no faults" plus one warning on stderr.
 */
#ifndef SYSFAULT_PRELOAD_INTERNAL_H
#define SYSFAULT_PRELOAD_INTERNAL_H

/* Both pread and pread64 are wrapped: each must keep its own symbol, so no 64-bit offset aliasing here. */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../core/shadow.h"
#include "../core/sysfault.h"
#include "../goagent/agent.h"
#include "wrappers.h"

#define SF_FD_TABLE 65536

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

#pragma GCC visibility push(hidden)

/* ---- state (preload.c) ---- */

/* Per thread, in one TLS block so that the per-call path finds all of it from one address. */
struct sf_thread {
  int guard;     /* set while our own code runs: every wrapper goes straight to the real function */
  int slot;      /* counter slot in the shared region: -2 not claimed yet, -1 none left (count atomically) */
  uint64_t *row; /* slot_calls[slot] once claimed: where the per-call path counts; NULL until then */
};
extern __thread struct sf_thread sf_thread __attribute__((tls_model("initial-exec")));
#define sf_guard (sf_thread.guard)

enum { SF_UNINIT = 0, SF_INITIALIZING = 1, SF_ACTIVE = 2, SF_INACTIVE = 3 };
extern int sf_state;
/* Bit per syscall (enum sf_sys): the plan names it. All set until init has run (so the first call of each
 * thread takes the slow path, which runs init), none when the engine is inactive. */
extern uint32_t sf_named;
extern struct sf_shm *sf_shm;
extern struct sf_plan sf_plan;

/* Power cut: shadow copies of synced state, from SYSFAULT_SHADOW / SYSFAULT_POWERCUT(_FLAGS). */
extern struct sf_shadow sf_shadow_cfg;
extern int sf_pc_on;

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
extern __thread struct sf_after *sf_after_slot __attribute__((tls_model("initial-exec")));

/* What we know of each descriptor, filled lazily from /proc/self/fd on first use by a rule that filters
 * on it, reset whenever the program opens, closes or replaces that descriptor. */
enum { FD_UNKNOWN = 0, FD_KNOWN = 1 };
struct fd_info {
  uint8_t state, kind, peer_state;
  uint64_t path_bits;
  struct sf_addr peer;
};
extern struct fd_info sf_fds[SF_FD_TABLE];

/* The plan summarised per syscall at attach time, so that a call no rule can fire on leaves after a few bit
 * tests: which rules name each syscall, which filter on the fd (path or kind), and which accept each kind. */
extern uint64_t sf_rules_for[SF_SYS_COUNT];
extern uint64_t sf_fd_rules, sf_path_rules;
extern uint64_t sf_kind_ok[4]; /* by fd kind; index 0 is "unknown": only rules without a kind filter */
/* By fd: bit per syscall on which no rule can fire for this descriptor (its kind and path known, no rule of
 * that syscall accepting them). Set with the fd's facts, cleared with them (0: nothing known yet). */
extern uint32_t sf_quiet[SF_FD_TABLE];

/* Network: a TCP socket's read stall (preload-net.c), by fd. */
enum { STALL_NONE = 0, STALL_ON = 1, STALL_PASS = 2 };
extern uint8_t sf_stall_state[SF_FD_TABLE];

/* ---- real symbols: one slot per wrapped name, filled by the resolver (preload.c) ---- */

#define SF_REAL_SLOT(name, ...) extern __typeof__(name) *real_##name;
SF_WRAP_ALL(SF_REAL_SLOT)
#undef SF_REAL_SLOT

/* The real function if resolved, else the raw syscall (before init, inside the resolver, or under the net:
 * then the resolver leaves these slots NULL, points the generated wrappers' at their gate fallbacks, and RAW
 * makes the call from the gate page). */
#define REAL(name, raw, ...) (LIKELY(real_##name != NULL) ? real_##name(__VA_ARGS__) : (raw))
#define RAW(nr, ...) SF_CAT(SF_RAW_, SF_NARGS(__VA_ARGS__))(nr, __VA_ARGS__, 0, 0, 0, 0, 0)
#define SF_NARGS(...) SF_NARGS_(__VA_ARGS__, 6, 5, 4, 3, 2, 1, 0)
#define SF_NARGS_(a, b, c, d, e, f, n, ...) n
#define SF_CAT(a, b) SF_CAT_(a, b)
#define SF_CAT_(a, b) a##b
#define SF_RAW_3ARGS(nr, a0, a1, a2, ...) sf_raw3(sf_gate_known, nr, (long)(a0), (long)(a1), (long)(a2))
#define SF_RAW_6ARGS(nr, a0, a1, a2, a3, a4, a5, ...) \
  sf_raw6(sf_gate_known, nr, (long)(a0), (long)(a1), (long)(a2), (long)(a3), (long)(a4), (long)(a5))
#define SF_RAW_1 SF_RAW_3ARGS
#define SF_RAW_2 SF_RAW_3ARGS
#define SF_RAW_3 SF_RAW_3ARGS
#define SF_RAW_4 SF_RAW_6ARGS
#define SF_RAW_5 SF_RAW_6ARGS
#define SF_RAW_6 SF_RAW_6ARGS

/* ---- gate.c: the supervisor's net lets the calls made from the gate page through ---- */

/* Maps the gate when SYSFAULT_GATE=1 (at init, before the resolver): 1 mapped, 0 not asked for, -1 asked for
 * but the page could not be had. */
int sf_gate_setup(void);
/* 1 once the gate is mapped (set at init, before any wrapper makes a call from it) */
extern int sf_gate_mapped;
/* syscall(2), made from the gate page when there is one. Six longs, not variadic (a variadic call spills every
 * argument register to a save area and reads them back), into the kernel's registers (sf_gate_syscall6).
 * Whether there is a gate is asked at run time (sf_gate_known < 0), unless the code around says it knows: a
 * generated wrapper's two raw fallbacks (preload-wrap.c) declare a local sf_gate_known of 0 (before init:
 * syscall(2)) or 1 (under the net, chosen by the resolver), which leaves the test out of the net's path. */
enum { sf_gate_known = -1 };
/* errno = -r, and -1 (gate.c): out of line, so that the common path keeps nothing across a call */
long sf_raw_error(long r);
static inline long sf_raw_result(long r) { return UNLIKELY((unsigned long)r > -4096ul) ? sf_raw_error(r) : r; }
static inline int sf_gate_use(int known) { return known < 0 ? LIKELY(sf_gate_mapped) : known; }
static inline long sf_raw3(int known, long nr, long a0, long a1, long a2) {
  if (!sf_gate_use(known)) return syscall(nr, a0, a1, a2);
  return sf_raw_result(sf_gate_syscall3(nr, a0, a1, a2));
}
static inline long sf_raw6(int known, long nr, long a0, long a1, long a2, long a3, long a4, long a5) {
  if (!sf_gate_use(known)) return syscall(nr, a0, a1, a2, a3, a4, a5);
  return sf_raw_result(sf_gate_syscall6(nr, a0, a1, a2, a3, a4, a5));
}

/* preload-wrap.c: points the generated wrappers' slots at their gate fallbacks (the resolver, under the net) */
void sf_wrappers_use_gate(void);

/* preload.c: the run's shared region once attached, else NULL (watch.c) */
struct sf_shm *sf_preload_shm(void);

/* ---- preload.c ---- */

int sf_init_slow(void);
/* The first named call of a thread (or one before init, or without a counter slot): runs init if need be and
 * counts the call. 0 when the call is not ours to look at (guarded, inactive, not named). */
int sf_enter(int sys);
void sf_count_slow(int sys);
/* Decides on one call. Returns the action to apply in the wrapper (errno and short) or SF_ACT_NONE after
 * having applied a delay or a kill that the process survived. */
int sf_intercept(struct sf_call *call, const char *path, int32_t *value);
int sf_decide_fd(int sys, int fd, int32_t *value);
void fd_lookup_quietly(int fd, struct fd_info *info);
void sf_after_run(struct sf_after *a);
/* A torn write of n bytes: how many it keeps (logged so); sf_after_run kills after the write. */
size_t sf_torn(size_t n);
size_t sf_iov_total(const struct iovec *iov, int cnt);
/* fsync/fdatasync under a power cut: the state the sync makes durable is copied aside before the real call
 * and kept if it succeeds (native/core/shadow.h). */
int sf_shadow_sync(int fd, int (*real)(int), long nr);
/* A copy of iov holding at most `max` bytes in total: a real partial transfer for vectored I/O. */
#define SF_SHORT_IOV 64
int sf_short_iov(const struct iovec *iov, int cnt, size_t max, struct iovec *out);

/* ---- preload-net.c ---- */

/* A read of a stalled socket, before any decision: 0 not stalled; 1 let it through (the stall is over, or
 * the socket broke: its error is the kernel's to report); 2 answer EAGAIN (counted as a call, not a match). */
int sf_net_stalled(const struct sf_call *call);
/* SF_ACT_DELAY: the action left for the wrapper (NONE, or ERRNO with EAGAIN in *value). */
int sf_net_delay(const struct sf_call *call, int32_t ms, int32_t *value);
/* reset / close: the action left for the wrapper (NONE: the real call reports it; ERRNO ECONNRESET when the
 * socket is not TCP, or a thread waits in the kernel on it: no RST could be sent). */
int sf_net_end_call(const struct sf_call *call, int action, int32_t silence_ms, int32_t *value);
/* refuse / blackhole: where connect(fd, addr) goes instead; 0 when nowhere (not a TCP socket, no sink). */
socklen_t sf_net_redirect(int fd, const struct sockaddr *addr, socklen_t len, int action, struct sockaddr_storage *to);

#pragma GCC visibility pop

/* ---- the per-call path, inlined into every wrapper ---- */

/* Counts one call in the thread's row. The slot has a single writer, so a plain increment is exact. */
static inline void sf_count_in(uint64_t *row, int sys) {
  __atomic_store_n(&row[sys], __atomic_load_n(&row[sys], __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

/* Counts one call of a named syscall. */
static inline void sf_count(int sys) {
  uint64_t *row = sf_thread.row;
  if (UNLIKELY(!row))
    sf_count_slow(sys);
  else
    sf_count_in(row, sys);
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

static inline void fd_reset(int fd) {
  if (fd >= 0 && fd < SF_FD_TABLE) {
    sf_quiet[fd] = 0;
    sf_fds[fd].state = FD_UNKNOWN, sf_fds[fd].peer_state = FD_UNKNOWN;
    if (UNLIKELY(sf_stall_state[fd])) __atomic_store_n(&sf_stall_state[fd], STALL_NONE, __ATOMIC_RELAXED);
  }
}

static inline void sf_call_init(struct sf_call *c, int sys, int fd) {
  c->sys = sys, c->fd = fd, c->fd_kind = SF_FD_UNKNOWN, c->path_bits = 0, c->peer = NULL;
  c->has_bytes = 0, c->sock_bytes = 0;
}

/* The rules that could still fire on a call of sys on fd: usually none, after a few bit tests (the first call
 * on a descriptor looks it up, when a rule of sys filters on descriptors). */
static inline uint64_t sf_candidates_counted(int sys, int fd) {
  uint64_t candidates = sf_rules_for[sys];
  if (!candidates) {
    /* A syscall only counted (the alternative of one a rule names): no rule fires on it whatever the fd, so
     * the fd's quiet bit lets its next calls pass in sf_route. Atomic: an fd_reset racing with this leaves
     * the bit alone, never stale bits of the fd's previous file. */
    uint32_t bit = 1u << sys;
    if ((unsigned)fd < SF_FD_TABLE && !(__atomic_load_n(&sf_quiet[fd], __ATOMIC_RELAXED) & bit))
      __atomic_fetch_or(&sf_quiet[fd], bit, __ATOMIC_RELAXED);
    return 0;
  }
  if ((candidates & sf_fd_rules) && fd >= 0 && fd < SF_FD_TABLE) {
    struct fd_info *info = &sf_fds[fd];
    if (UNLIKELY(info->state != FD_KNOWN)) fd_lookup_quietly(fd, info);
    candidates &= (~sf_path_rules | info->path_bits) & sf_kind_ok[info->kind < 4 ? info->kind : 0];
  }
  return candidates;
}

/* Counts a call on fd and returns the rules that could still fire on it. */
static inline uint64_t sf_candidates(int sys, int fd) {
  sf_count(sys);
  return sf_candidates_counted(sys, fd);
}

static inline int sf_check_fd(int sys, int fd, int32_t *value) {
  return sf_candidates(sys, fd) ? sf_decide_fd(sys, fd, value) : SF_ACT_NONE;
}

/* The per-call path of a generated wrapper (preload-wrap.c), inlined into the exported function so that a call
 * no rule can fire on is counted and handed to libc by a frameless tail call: SF_PASS (go on to libc; counted
 * if named), SF_FIRST (not counted yet: sf_enter), SF_CHECK (counted; the fd's facts are to be looked up, or a
 * rule may fire). The guard is read first: while it is set nothing else is touched. */
enum { SF_PASS, SF_FIRST, SF_CHECK };
static inline __attribute__((always_inline)) int sf_route(int sys, int fd) {
  if (UNLIKELY(sf_thread.guard) || !(__atomic_load_n(&sf_named, __ATOMIC_ACQUIRE) & (1u << sys))) return SF_PASS;
  uint64_t *row = sf_thread.row;
  if (UNLIKELY(!row)) return SF_FIRST;
  sf_count_in(row, sys);
  if (LIKELY((unsigned)fd < SF_FD_TABLE) && (sf_quiet[fd] & (1u << sys))) return SF_PASS;
  return SF_CHECK;
}

/* ---- the parts of a wrapper's body ---- */

/* Opens the scope of a fault's wrapper: what must happen once its real call has returned. */
#define SF_AFTER_SCOPE()                                                  \
  struct sf_after sf_after __attribute__((cleanup(sf_after_run)));        \
  sf_after.sig = 0, sf_after.log = 0, sf_after.prev = sf_after_slot;      \
  sf_after_slot = &sf_after

/* fsync and fdatasync's real call (a generated wrapper: real_<name> is never NULL), through the power cut's
 * shadow copy when one is on. */
#define SF_SYNC_REAL(name, nr, fd) \
  (UNLIKELY(sf_pc_on) && !sf_guard ? sf_shadow_sync(fd, real_##name, nr) : real_##name(fd))

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

#endif
