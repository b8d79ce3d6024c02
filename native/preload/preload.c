/*
 * The LD_PRELOAD engine: wraps libc's I/O entry points (wrappers.h), asks decide() about each call the plan
 * names, and acts (errno, delay, short transfer, kill) before or instead of the real call. This file: the
 * engine's state, resolving the real symbols, init, what a descriptor is, the decision and its side effects.
 * The engine's files and its rules: preload-internal.h.
 */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "../core/net.h"
#include "../core/tree.h"
#include "preload-internal.h"

/* ---- state (what each is: preload-internal.h) ---- */

__thread struct sf_thread sf_thread __attribute__((tls_model("initial-exec"))) = { .guard = 0, .slot = -2, .row = NULL };
int sf_state;
uint32_t sf_named = ~0u;
struct sf_shm *sf_shm;
struct sf_shm *sf_preload_shm(void) { return __atomic_load_n(&sf_state, __ATOMIC_ACQUIRE) == SF_ACTIVE ? sf_shm : NULL; }
struct sf_plan sf_plan;
struct sf_shadow sf_shadow_cfg;
int sf_pc_on;
__thread struct sf_after *sf_after_slot __attribute__((tls_model("initial-exec")));
struct fd_info sf_fds[SF_FD_TABLE];
uint64_t sf_rules_for[SF_SYS_COUNT];
uint64_t sf_fd_rules, sf_path_rules;
uint64_t sf_kind_ok[4];
uint32_t sf_quiet[SF_FD_TABLE];
uint8_t sf_stall_state[SF_FD_TABLE];

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

/* The generated wrappers' slots start at their raw fallbacks (preload-wrap.c); these start NULL (REAL()). */
#define SLOT(name, ...) __typeof__(name) *real_##name;
SF_WRAP_OTHERS(SLOT)
#undef SLOT

/* A symbol this libc lacks keeps its slot's first value. Under the net (a gate) only stdio is resolved: every
 * other wrapper makes its syscall raw from the gate, which the supervisor's filter lets through (the call was
 * counted here), while libc's own calls still reach the supervisor. */
static void sf_resolve_all(void) {
#define RESOLVE(name, ...)                                                \
  {                                                                       \
    __typeof__(name) *found = (__typeof__(name) *)dlsym(RTLD_NEXT, #name); \
    if (found) real_##name = found;                                       \
  }
  if (sf_gate_mapped) {
    RESOLVE(fopen) RESOLVE(fopen64) RESOLVE(fclose)
    sf_wrappers_use_gate();
    return;
  }
  SF_WRAP_ALL(RESOLVE)
#undef RESOLVE
}

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
  /* from the gate when there is one: under the net this open is sysfault's own, not the program's to count */
  int fd = (int)RAW(SYS_openat, AT_FDCWD, path, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    snprintf(err, sizeof err, "cannot open the shared region %s: %s", path, strerror(errno));
    sf_warn(err);
    return 0;
  }
  struct stat st;
  void *map = MAP_FAILED;
  if (syscall(SYS_fstat, fd, &st) == 0 && st.st_size >= (off_t)sizeof(struct sf_shm))
    map = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  RAW(SYS_close, fd);
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

__attribute__((noinline)) int sf_init_slow(void) {
  int expected = SF_UNINIT;
  if (__atomic_compare_exchange_n(&sf_state, &expected, SF_INITIALIZING, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    sf_guard = 1;
    /* Under the net without a gate, every call this library counted would also reach the supervisor and be
     * counted twice: the library stays out of the way instead, and the supervisor, which sees them all, counts
     * and faults every call of this process (exact, only slower). */
    int gate = sf_gate_setup();
    sf_resolve_all();
    int active = gate >= 0 && sf_attach();
    if (active) sf_shadow_setup();
    sf_guard = 0;
    __atomic_store_n(&sf_named, active ? (uint32_t)sf_plan.named : 0u, __ATOMIC_RELEASE);
    __atomic_store_n(&sf_state, active ? SF_ACTIVE : SF_INACTIVE, __ATOMIC_RELEASE);
    return active;
  }
  /* Another thread is initialising: wait for it so that no call goes uncounted. */
  while ((expected = __atomic_load_n(&sf_state, __ATOMIC_ACQUIRE)) == SF_INITIALIZING) sched_yield();
  return expected == SF_ACTIVE;
}

/* A forked child is a new writer: it must not share its parent's thread slot. (vfork and posix_spawn children
 * borrow the parent thread, which is suspended meanwhile, so they may keep it.) */
static void sf_after_fork_child(void) { sf_thread.slot = -2, sf_thread.row = NULL; }

__attribute__((constructor)) static void sf_constructor(void) {
  pthread_atfork(NULL, NULL, sf_after_fork_child);
  if (__atomic_load_n(&sf_state, __ATOMIC_ACQUIRE) == SF_UNINIT) sf_init_slow();
}

int sf_enter(int sys) {
  if (sf_guard) return 0;
  int s = __atomic_load_n(&sf_state, __ATOMIC_ACQUIRE);
  if (s != SF_ACTIVE && (s != SF_UNINIT || !sf_init_slow())) return 0;
  if (!((sf_plan.named >> sys) & 1)) return 0;
  sf_count(sys);
  return 1;
}

void sf_count_slow(int sys) {
  if (sf_thread.slot == -2) {
    sf_thread.slot = sf_shm_claim_slot(sf_shm);
    if (sf_thread.slot >= 0) sf_thread.row = sf_shm->slot_calls[sf_thread.slot];
  }
  if (sf_thread.row)
    sf_count_in(sf_thread.row, sys);
  else
    __atomic_fetch_add(&sf_shm->counts[sys].calls, 1, __ATOMIC_RELAXED);
}

/* ---- descriptor facts ---- */

/* The syscalls on which no rule can fire for a descriptor of this kind and these path bits. */
static uint32_t fd_quiet_bits(uint8_t kind, uint64_t path_bits) {
  uint32_t quiet = 0;
  uint64_t accept = (~sf_path_rules | path_bits) & sf_kind_ok[kind < 4 ? kind : 0];
  for (int sys = 0; sys < SF_SYS_COUNT; sys++)
    if (!(sf_rules_for[sys] & accept)) quiet |= 1u << sys;
  return quiet;
}

static void fd_lookup(int fd, struct fd_info *out) {
  struct stat st;
  char path[PATH_MAX];
  out->kind = SF_FD_UNKNOWN;
  out->path_bits = 0;
  if (syscall(SYS_fstat, fd, &st) == 0)
    out->kind = S_ISSOCK(st.st_mode) ? SF_FD_SOCKET : S_ISFIFO(st.st_mode) ? SF_FD_PIPE : SF_FD_FILE;
  if (out->kind == SF_FD_FILE && sf_fd_path(0, fd, path, sizeof path) == 0) out->path_bits = sf_plan_path_bits(&sf_plan, path);
  out->state = FD_KNOWN;
  if (fd >= 0 && fd < SF_FD_TABLE && out == &sf_fds[fd]) sf_quiet[fd] = fd_quiet_bits(out->kind, out->path_bits);
}

static void fd_peer(int fd, struct fd_info *info) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  memset(&info->peer, 0, sizeof info->peer);
  if (syscall(SYS_getpeername, fd, &ss, &len) == 0) sf_addr_from_sockaddr((struct sockaddr *)&ss, len, &info->peer);
  info->peer_state = FD_KNOWN;
}

/* Fills the parts of call that some rule for this syscall filters on. */
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
    call->has_bytes = sf_net_bytes(call->fd, sf_sys_sock_write(call->sys), &call->sock_bytes) == 0;
}

/* ---- the decision and its side effects ---- */

static void sf_fault_target(const struct sf_call *call, const char *path, char *buf, size_t len) {
  buf[0] = 0;
  if (path) {
    snprintf(buf, len, "%s", path);
  } else if (call->peer) { /* connect's address, or a socket's peer when a rule filters on it */
    sf_addr_format(call->peer, buf, len);
  } else if (call->fd >= 0 && sf_fd_path(0, call->fd, buf, len) != 0) {
    buf[0] = 0;
  }
}

int sf_intercept(struct sf_call *call, const char *path, int32_t *value) {
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
      if (after_call) {
        after->sig = sig; /* sf_after_run signals once the real call has returned */
      } else {
        if (d.flags & SF_FLAG_TREE) sf_tree_crash(sf_shm, getpid(), getpid()); /* the rest of the tree stops, then dies */
        kill(getpid(), sig); /* a fatal signal ends the process here, before the call; a handled one runs its
                                handler, then the call proceeds (as under the seccomp engine) */
      }
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

__attribute__((noinline)) void fd_lookup_quietly(int fd, struct fd_info *info) {
  int saved = errno;
  sf_guard = 1;
  fd_lookup(fd, info);
  sf_guard = 0;
  errno = saved;
}

int sf_decide_fd(int sys, int fd, int32_t *value) {
  struct sf_call call;
  sf_call_init(&call, sys, fd);
  return sf_intercept(&call, NULL, value);
}

/* ---- after the call: kills, torn writes; power cut syncs ---- */

void sf_after_run(struct sf_after *a) {
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
  if (a->d.flags & SF_FLAG_TREE) sf_tree_crash(sf_shm, getpid(), getpid());
  kill(getpid(), a->sig);
  sf_guard = 0;
  errno = saved;
}

size_t sf_torn(size_t n) {
  struct sf_after *a = sf_after_slot;
  if (!a) return n;
  size_t keep = sf_torn_keep(n, a->d.value, a->d.value2);
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

size_t sf_iov_total(const struct iovec *iov, int cnt) {
  size_t n = 0;
  for (int i = 0; i < cnt; i++) n += iov[i].iov_len;
  return n;
}

__attribute__((noinline)) int sf_shadow_sync(int fd, int (*real)(int), long nr) {
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

int sf_short_iov(const struct iovec *iov, int cnt, size_t max, struct iovec *out) {
  int n = 0;
  for (int i = 0; i < cnt && n < SF_SHORT_IOV && max > 0; i++) {
    out[n] = iov[i];
    if (out[n].iov_len > max) out[n].iov_len = max;
    max -= out[n].iov_len;
    n++;
  }
  return n;
}
