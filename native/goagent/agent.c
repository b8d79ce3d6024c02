/*
 * The Go agent's C side (agent.h has the picture): decides the named calls of a Go program inside the
 * program, with the same core (decide, counters, fault log) as the other engines.
 *
 * Built freestanding (no libc, no SSE, no stack protector: FS is Go's TLS, X15 must stay zero) and entered
 * only on a stack of its own (entry.S). Per-thread state lives in the thread's slot; the pass-through path
 * takes no locked instruction. What the agent cannot do as the supervisor does (network actions, torn
 * writes, power cuts, opens and connects, a delay or an address filter on a socket) it leaves to the
 * supervisor by making the call outside the gate, before counting it: each call is counted exactly once.
 */
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#include "agent.h"

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

__attribute__((visibility("hidden"))) struct sf_agent_conf sf_agent_conf = { .magic = 0 };

_Static_assert(offsetof(struct sf_agent_conf, resume) == SF_CONF_RESUME, "entry.S offsets");
_Static_assert(offsetof(struct sf_agent_conf, nclaim) == SF_CONF_NCLAIM, "entry.S offsets");
_Static_assert(offsetof(struct sf_agent_conf, nr_flags) == SF_CONF_FLAGS, "entry.S offsets");
_Static_assert(offsetof(struct sf_agent_conf, map) == SF_CONF_MAP, "entry.S offsets");
_Static_assert(offsetof(struct sf_agent_conf, fds) == SF_CONF_FDS, "entry.S offsets");
_Static_assert(offsetof(struct sf_agent_conf, rows) == SF_CONF_ROWS, "entry.S offsets");
_Static_assert(offsetof(struct sf_agent_conf, pass_sys) == SF_CONF_PASS_SYS, "entry.S offsets");
_Static_assert(offsetof(struct sf_agent_slot, row) == SF_SLOT_ROW, "entry.S offsets");
_Static_assert(offsetof(struct sf_agent_conf, nr_sys) == SF_CONF_NR_SYS, "entry.S offsets");
_Static_assert(offsetof(struct sf_agent_conf, fd_arg) == SF_CONF_FD_ARG, "entry.S offsets");
_Static_assert(sizeof(struct sf_agent_fd) == SF_FD_SIZE && offsetof(struct sf_agent_fd, quiet) == SF_FD_QUIET, "entry.S offsets");
_Static_assert(SF_SYS_COUNT <= 32, "a descriptor's quiet bits (one per syscall) fit in 32");
_Static_assert(offsetof(struct sf_agent_conf, slots) == SF_CONF_SLOTS, "entry.S offsets");
_Static_assert(sizeof(struct sf_agent_slot) == SF_SLOT_SIZE, "entry.S offsets");

/* The call as entry.S lays it out on the agent's stack. */
struct go_call {
  long nr;
  long a[6];
  struct sf_agent_slot *slot;
};

long sf_net_syscall6(long nr, long a0, long a1, long a2, long a3, long a4, long a5);
long sf_go_hook(struct go_call *c);

#define CONF (&sf_agent_conf)
#define SYS(nr, a0, a1, a2) sf_net_syscall6(nr, (long)(a0), (long)(a1), (long)(a2), 0, 0, 0)

/* ---- descriptor facts ---- */

enum { FD_UNKNOWN = 0, FD_KNOWN = 1 };

static void fd_reset(long fd) {
  if (fd < 0 || fd >= SF_AGENT_FDS) return;
  __atomic_store_n(&CONF->fds[fd].quiet, 0, __ATOMIC_RELAXED);
  CONF->fds[fd].state = FD_UNKNOWN;
}

static int fd_link(int fd, char *buf, size_t len) {
  char proc[32] = "/proc/self/fd/";
  char digits[12];
  int n = 0, at = 14;
  unsigned v = (unsigned)fd;
  do digits[n++] = (char)('0' + v % 10), v /= 10; while (v);
  while (n) proc[at++] = digits[--n];
  proc[at] = 0;
  long r = SYS(SYS_readlink, proc, buf, len - 1);
  if (r < 0) return -1;
  buf[r] = 0;
  return 0;
}

static int kind_of(const struct stat *st) {
  return S_ISSOCK(st->st_mode) ? SF_FD_SOCKET : S_ISFIFO(st->st_mode) ? SF_FD_PIPE : SF_FD_FILE;
}

static __attribute__((noinline)) void fd_lookup(int fd, struct sf_agent_fd *out) {
  struct stat st;
  char path[4096];
  out->kind = SF_FD_UNKNOWN;
  out->path_bits = 0;
  if (SYS(SYS_fstat, fd, &st, 0) == 0) out->kind = (uint8_t)kind_of(&st);
  if (out->kind == SF_FD_FILE && (CONF->plan.path_used) && fd_link(fd, path, sizeof path) == 0)
    out->path_bits = sf_plan_path_bits(&CONF->plan, path);
  out->state = FD_KNOWN;
}

/* A descriptor just opened by name, when every path glob looks only at a file's name: its facts from that
 * name, if it is the one /proc/self/fd would show. So the name must not be a symlink (the descriptor would be
 * its target's), and must still be the file opened (a rename since could have put another there). One lstat
 * and one fstat, instead of an fstat and a readlink of /proc/self/fd/N at its first call (twice the time).
 * Otherwise the facts stay unknown, for fd_lookup. */
static void fd_named(long fd, long dirfd, const char *path) {
  if (fd < 0 || fd >= SF_AGENT_FDS || !path) return;
  const char *name = path;
  for (const char *p = path; *p; p++)
    if (*p == '/') name = p + 1;
  if (!name[0] || (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2])))) return; /* "", ".", ".." */
  struct stat named, opened;
  if (sf_net_syscall6(SYS_newfstatat, dirfd, (long)path, (long)&named, AT_SYMLINK_NOFOLLOW, 0, 0) != 0 ||
      S_ISLNK(named.st_mode) || SYS(SYS_fstat, fd, &opened, 0) != 0 || opened.st_dev != named.st_dev ||
      opened.st_ino != named.st_ino)
    return;
  struct sf_agent_fd *info = &CONF->fds[fd];
  info->kind = (uint8_t)kind_of(&opened);
  info->path_bits = info->kind == SF_FD_FILE ? sf_plan_path_bits(&CONF->plan, name) : 0;
  info->state = FD_KNOWN;
}

/* Follows the calls that open, close or replace descriptors (their result r). */
static void fd_book(const struct go_call *c, long r) {
  if (r < 0) return;
  switch (c->nr) {
  case SYS_close: fd_reset(c->a[0]); break;
  case SYS_close_range:
    for (unsigned long fd = (unsigned long)c->a[0]; fd <= (unsigned long)c->a[1] && fd < SF_AGENT_FDS; fd++)
      fd_reset((long)fd);
    break;
  case SYS_pipe2:
  case SYS_socketpair: {
    const int *fds = (const int *)(c->nr == SYS_pipe2 ? c->a[0] : c->a[3]);
    fd_reset(fds[0]), fd_reset(fds[1]);
    break;
  }
  case SYS_fcntl:
    if (c->a[1] == F_DUPFD || c->a[1] == F_DUPFD_CLOEXEC) fd_reset(r);
    break;
  case SYS_openat:
  case SYS_open:
  case SYS_creat:
    fd_reset(r);
    /* not for directories or O_PATH descriptors (os.ReadDir, os.Root's walks): programs seldom read or write
     * them, and fd_lookup still finds their facts at a first call */
    if (CONF->plan.path_used && CONF->path_by_name &&
        !((c->nr == SYS_openat ? c->a[2] : c->nr == SYS_open ? c->a[1] : 0) & (O_DIRECTORY | O_PATH)))
      c->nr == SYS_openat ? fd_named(r, c->a[0], (const char *)c->a[1]) : fd_named(r, AT_FDCWD, (const char *)c->a[0]);
    break;
  default: fd_reset(r); break; /* dup2, dup3, socket, accept4, openat2, eventfd2, ...: the new fd */
  }
}

/* ---- the fault itself ---- */

/* Where a short transfer's byte count is (only the shapes the loader lets the agent shorten). */
static int count_arg(int sys) {
  switch (sf_sys_shape(sys)) {
  case SF_SHAPE_RW:
  case SF_SHAPE_PRW:
  case SF_SHAPE_SOCKBUF: return 2;
  case SF_SHAPE_MOVE: return sys == SF_SYS_sendfile ? 3 : 4;
  default: return -1;
  }
}

static void log_fault(const struct sf_decision *d, int sys, int fd) {
  char target[SF_TARGET_MAX];
  target[0] = 0;
  if (fd >= 0 && fd_link(fd, target, sizeof target) != 0) target[0] = 0;
  sf_log_fault(CONF->shm, d, sys, (int)SYS(SYS_getpid, 0, 0, 0), (int)SYS(SYS_gettid, 0, 0, 0), fd, target);
}

static void sleep_ms(int32_t ms) {
  if (ms <= 0) return;
  struct timespec until;
  SYS(SYS_clock_gettime, CLOCK_MONOTONIC, &until, 0);
  until.tv_sec += ms / 1000;
  until.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
  /* Go's signals (preemption, profiling) interrupt the sleep: sleep on to the same deadline */
  while (sf_net_syscall6(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, (long)&until, 0, 0, 0) == -4) {
  }
}

static inline void count(struct sf_agent_slot *slot, int sys) {
  uint64_t *row = *slot->row;
  struct sf_shm *shm = CONF->shm;
  if (UNLIKELY((uintptr_t)row <= SF_ROW_SHARED)) {
    if ((uintptr_t)row == SF_ROW_NONE) {
      int s = sf_shm_claim_slot(shm);
      row = s < 0 ? (uint64_t *)SF_ROW_SHARED : shm->slot_calls[s];
      *slot->row = row;
    }
    if ((uintptr_t)row == SF_ROW_SHARED) {
      __atomic_fetch_add(&shm->counts[sys].calls, 1, __ATOMIC_RELAXED);
      return;
    }
  }
  uint64_t *n = &row[sys];
  __atomic_store_n(n, __atomic_load_n(n, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

#define REAL(c) sf_gate_syscall6((c)->nr, (c)->a[0], (c)->a[1], (c)->a[2], (c)->a[3], (c)->a[4], (c)->a[5])
#define NET(c) sf_net_syscall6((c)->nr, (c)->a[0], (c)->a[1], (c)->a[2], (c)->a[3], (c)->a[4], (c)->a[5])

/* A call some rule may fire on: decide it and apply the action. Out of line, so that the pass-through above
 * keeps a small frame. */
static __attribute__((noinline)) long decide_fire(struct go_call *c, int sys, int fd, int kind, uint64_t path_bits) {
  /* field by field: an aggregate initializer is a `rep stos` here (no SSE), slow to start on every call */
  struct sf_call call;
  call.sys = sys, call.fd = fd, call.fd_kind = kind, call.path_bits = path_bits, call.peer = NULL;
  call.has_bytes = 0, call.sock_bytes = 0;
  struct sf_decision d;
  if (!sf_decide_counted(CONF->shm, &CONF->plan, &call, &d)) return REAL(c);
  int after = d.action == SF_ACT_KILL && (d.flags & SF_FLAG_AFTER_CALL);
  if (!after) log_fault(&d, sys, call.fd);
  switch (d.action) {
  case SF_ACT_ERRNO: return -(long)d.value;
  case SF_ACT_DELAY: sleep_ms(d.value); return REAL(c);
  case SF_ACT_SHORT: {
    int at = count_arg(sys);
    if (at >= 0 && d.value >= 0 && (unsigned long)c->a[at] > (unsigned long)d.value) c->a[at] = d.value;
    return REAL(c);
  }
  case SF_ACT_KILL: {
    long pid = SYS(SYS_getpid, 0, 0, 0);
    if (after) {
      long r = REAL(c);
      log_fault(&d, sys, call.fd);
      SYS(SYS_kill, pid, d.value, 0);
      return r;
    }
    /* a fatal signal ends the process here, before the call; a handled one runs, then the call proceeds */
    SYS(SYS_kill, pid, d.value, 0);
    if (d.value == SIGKILL) return -4; /* EINTR, as the supervisor answers: the process is dying */
    return REAL(c);
  }
  default: return REAL(c); /* never: the loader leaves every other action to the supervisor */
  }
}

/* A named call the agent decides: the pass-through (no rule can fire) is the hot path, kept small. */
static inline long decide_call(struct go_call *c, int sys) {
  int at = CONF->fd_arg[sys];
  int fd = at < 0 ? -1 : (int)c->a[at], kind = SF_FD_UNKNOWN;
  uint64_t path_bits = 0;
  uint64_t candidates = CONF->rules_for[sys];
  if ((candidates & CONF->fd_rules) || (candidates & CONF->socket_net_rules)) {
    struct sf_agent_fd local, *info = &local;
    if (fd >= 0 && fd < SF_AGENT_FDS) info = &CONF->fds[fd];
    else local.state = FD_UNKNOWN;
    if (UNLIKELY(info->state != FD_KNOWN)) fd_lookup(fd, info);
    /* a delay or an address filter on a socket: the supervisor's (stalls, peers), before it is counted */
    if (info->kind == SF_FD_SOCKET && (candidates & CONF->socket_net_rules)) return NET(c);
    kind = info->kind;
    path_bits = info->path_bits;
    candidates &= (~CONF->path_rules | info->path_bits) & CONF->kind_ok[info->kind < 4 ? info->kind : 0];
  }
  count(c->slot, sys);
  if (LIKELY(!candidates)) {
    /* no rule can fire on this descriptor for this syscall: entry.S passes its next calls through itself */
    uint32_t bit = 1u << sys;
    if (fd >= 0 && fd < SF_AGENT_FDS && !(__atomic_load_n(&CONF->fds[fd].quiet, __ATOMIC_RELAXED) & bit))
      __atomic_fetch_or(&CONF->fds[fd].quiet, bit, __ATOMIC_RELAXED);
    return REAL(c);
  }
  return decide_fire(c, sys, fd, kind, path_bits);
}

/* A call that opens, closes or replaces descriptors (their facts follow it), or one left to the supervisor. */
static __attribute__((noinline)) long hook_other(struct go_call *c, uint8_t flags, int sys) {
  long r = (flags & SF_NR_DECIDE) && sys >= 0 ? decide_call(c, sys) : NET(c);
  if (flags & SF_NR_FDBOOK) fd_book(c, r);
  return r;
}

long sf_go_hook(struct go_call *c) {
  uint8_t flags = CONF->nr_flags[c->nr];
  int sys = CONF->nr_sys[c->nr];
  if (LIKELY(flags == (SF_NR_HOOK | SF_NR_DECIDE) && sys >= 0)) return decide_call(c, sys);
  return hook_other(c, flags, sys);
}
