/*
 * sysfault C core: the compiled plan, decide(), and the shared-memory counters and fault log.
 * Shared by the preload engine (inside the target), the seccomp supervisor (inside the addon) and the
 * Node binding. Plain C11, no allocation, no locks: every function here is safe on the per-syscall path.
 *
 * Exception policy: none of this code throws or aborts. Malformed input (a plan, a shared-memory
 * header) is reported as an error code plus a message and the caller falls back to "no faults".
 */
#ifndef SYSFAULT_CORE_H
#define SYSFAULT_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "actions.h"
#include "syscalls.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define SF_HIDDEN __attribute__((visibility("hidden")))
#else
#define SF_HIDDEN
#endif

enum sf_sys {
#define SF_X_ENUM(name, nr, shape) SF_SYS_##name,
  SF_SYSCALL_LIST(SF_X_ENUM)
#undef SF_X_ENUM
  SF_SYS_COUNT
};

enum sf_shape {
  SF_SHAPE_RW, SF_SHAPE_PRW, SF_SHAPE_VEC, SF_SHAPE_PVEC, SF_SHAPE_SOCKBUF,
  SF_SHAPE_MSG, SF_SHAPE_CONNECT, SF_SHAPE_FD, SF_SHAPE_OPENAT, SF_SHAPE_OPEN, SF_SHAPE_MOVE, SF_SHAPE_MAP
};

#define SF_MAX_RULES 64
#define SF_ID_MAX 64      /* rule id, including the NUL */
#define SF_PATH_MAX 256   /* path glob, including the NUL */
#define SF_TARGET_MAX 160 /* fault log: the file or address a fault hit */
#define SF_UNLIMITED UINT64_MAX
#define SF_PROB_ALWAYS (1ull << 32)

enum sf_fd_kind { SF_FD_ANY = 0, SF_FD_FILE = 1, SF_FD_SOCKET = 2, SF_FD_PIPE = 3, SF_FD_UNKNOWN = 255 };
enum sf_action {
#define SF_X_ACTION(name, code, text) SF_ACT_##name = code,
  SF_ACTION_LIST(SF_X_ACTION)
#undef SF_X_ACTION
};
/* What a SF_ACT_NOTE log entry notes (its value): a program the preload engine cannot see (native/preload/watch.c). */
enum sf_note { SF_NOTE_DROPPED = 0, SF_NOTE_STATIC = 1, SF_NOTE_GO = 2 };
/* Its name in plans ("errno", "delay", ...), or NULL for a code no action has. */
const char *sf_action_name(uint32_t action);

/* sf_rule.flags: 0..7 storage, 8..15 network. */
enum sf_rule_flag {
  SF_FLAG_AFTER_CALL = 1u << 0, /* the action happens after the call completes */
  SF_FLAG_TREE = 1u << 1,       /* kill or power cut: the whole tree stops at the call, then dies (tree.h) */
};

/* An address filter: family 0 means "any host" (a ":port" filter); port 0 means any port. */
struct sf_addr {
  uint8_t family; /* 0, 4 or 6 */
  uint8_t prefix; /* CIDR prefix length in bits; 32 or 128 for a single host */
  uint16_t port;  /* host order */
  uint8_t bytes[16];
};

struct sf_rule {
  uint64_t syscalls;       /* bit (1 << SF_SYS_x) */
  uint64_t after;          /* let the first `after` matching calls through */
  uint64_t limit;          /* at most `limit` faults; SF_UNLIMITED */
  uint64_t prob_threshold; /* fires when hash32 < threshold; SF_PROB_ALWAYS = always */
  uint32_t fd_kind;        /* enum sf_fd_kind */
  uint32_t action;         /* enum sf_action */
  int32_t value;           /* errno, signal, short byte count or delay ms */
  uint32_t jitter_ms;      /* extra seeded delay in [0, jitter_ms] for SF_ACT_DELAY */
  uint32_t flags;          /* enum sf_rule_flag */
  int32_t value2;          /* a second parameter, by action */
  uint32_t has_addr;
  struct sf_addr addr;
  char id[SF_ID_MAX];
  char path[SF_PATH_MAX]; /* empty: no path filter */
};

struct sf_plan {
  uint64_t seed;
  uint32_t nrules;
  uint64_t named;      /* union of every rule's syscalls, and the counted ones */
  uint64_t counted;    /* syscalls no rule names, counted (never faulted) so a report can say what a program
                          called instead of a syscall a rule names (fdatasync for fsync, ...) */
  uint64_t path_used;  /* syscalls some rule filters by path */
  uint64_t kind_used;  /* syscalls some rule filters by fd kind */
  uint64_t addr_used;  /* syscalls some rule filters by address */
  uint64_t bytes_used; /* syscalls some reset/close rule counts bytes on (its value > 0) */
  struct sf_rule rules[SF_MAX_RULES];
};

/*
 * Wire format of a compiled plan (written by src/plan.ts, read by sf_plan_decode; little-endian,
 * every field at a fixed offset, no pointers):
 *   header, 32 bytes: magic "SFPLAN\0\1" | u32 version=1 | u32 rule_count | u64 seed | u32 rule_size=512
 *     | u32 counted (bit per syscall, as a rule's mask: count these calls too; 0 in plans from before it)
 *   rule_count rules of 512 bytes each:
 *     0 u64 syscalls  8 u64 after  16 u64 limit  24 u64 prob_threshold  32 u32 fd_kind  36 u32 action
 *     40 i32 value  44 u32 has_addr  48 u8 family  49 u8 prefix  50 u16 port  52 u8[16] addr
 *     68 u8 id_len  69 char[63] id  132 u16 path_len  134 char[254] path  388 u32 jitter_ms
 *     392 u32 flags  396 i32 value2
 *     400..511 zero (reserved; a decoder rejects non-zero bytes it does not know)
 */
#define SF_WIRE_HEADER 32
#define SF_WIRE_RULE 512

/* Returns 0, or -1 with a one-line reason in err. Never trusts buf: every field is range-checked. */
int sf_plan_decode(const void *buf, size_t len, struct sf_plan *out, char *err, size_t errlen);

/* ---- shared memory: counters, rule state, fault log ---- */

struct sf_counter {
  uint64_t calls, faulted, delayed;
  uint64_t pad[5]; /* one cache line per syscall */
};

struct sf_rule_stats {
  uint64_t matched, fired;
  uint32_t enabled;
  uint32_t pad0;
  uint64_t pad[5];
};

struct sf_log_entry {
  uint64_t seq;
  uint64_t t_ns; /* since sf_shm.start_ns, CLOCK_MONOTONIC */
  int32_t pid, tid, fd;
  uint16_t rule, sys;
  uint32_t action; /* enum sf_action */
  int32_t value;
  uint32_t ready;  /* written last (release): the entry is complete */
  char target[SF_TARGET_MAX];
};

#define SF_SHM_MAGIC "SFSHM\0\0\1"
/* Per-thread call counters: a thread of the preload engine claims one slot and counts its calls there
 * with plain (single-writer) increments, which keeps a pass-through call free of locked instructions.
 * Threads beyond the slots, and the seccomp supervisor, count in counts[].calls atomically. */
#define SF_CALL_SLOTS 256
#define SF_RUN_ID_MAX 40

struct sf_shm {
  char magic[8];
  uint32_t version;
  uint32_t total_size;
  uint64_t start_ns;
  uint32_t armed;        /* 0: every fault off (disarm); counting goes on */
  uint32_t log_capacity;
  uint32_t plan_offset, plan_size;
  uint32_t log_offset;
  uint32_t log_wake;     /* futex word bumped when an entry is appended */
  uint64_t log_next;     /* next sequence number (may exceed capacity) */
  uint64_t log_dropped;  /* entries lost to a full log */
  char run_id[SF_RUN_ID_MAX];
  uint32_t log_waiters;  /* non-zero: a monitor sleeps on log_wake, so an append must FUTEX_WAKE it */
  /* Whole-tree crashes (tree.h) that could not find the run's tree: only the crashing process died. The run's
   * result warns about them (warnings, code tree-crash-unreached). */
  uint32_t tree_unreached;
  uint64_t pad[1];
  struct sf_counter counts[SF_SYS_COUNT];
  struct sf_rule_stats rules[SF_MAX_RULES];
  uint32_t slots_claimed; /* may exceed SF_CALL_SLOTS: those threads use counts[].calls */
  uint32_t pad1[15];
  uint64_t slot_calls[SF_CALL_SLOTS][SF_SYS_COUNT];
};

/* Bytes needed for a region holding a plan of plan_size bytes and log_capacity entries. */
size_t sf_shm_size(size_t plan_size, uint32_t log_capacity);
/* Lays out a zeroed region of sf_shm_size(...) bytes. */
void sf_shm_init(struct sf_shm *shm, size_t total, const void *plan, size_t plan_size, uint32_t log_capacity,
                 const char *run_id, uint32_t nrules);
/* Checks a region received from elsewhere (size, magic, offsets). 0 or -1 with a reason. */
int sf_shm_check(const struct sf_shm *shm, size_t mapped, char *err, size_t errlen);
struct sf_log_entry *sf_shm_log(struct sf_shm *shm);
/* Calls of one syscall, whole tree: the atomic counter plus every thread slot. */
uint64_t sf_shm_calls(const struct sf_shm *shm, int sys);
/* A free slot index for the calling thread, or -1 when all are taken. */
int sf_shm_claim_slot(struct sf_shm *shm);

/* ---- one intercepted call ---- */

struct sf_call {
  int sys;            /* enum sf_sys */
  int fd;             /* -1 when the call has none (open) */
  int fd_kind;        /* enum sf_fd_kind, SF_FD_UNKNOWN when not looked up */
  uint64_t path_bits; /* bit i: rule i's path glob matches the file (only rules with a path) */
  const struct sf_addr *peer; /* connect's address or the socket's peer; NULL when unknown */
  /* Bytes the socket has moved in the call's direction before it (read by the program, or written by it),
   * valid when has_bytes: only looked up for syscalls in plan->bytes_used (reset/close after N bytes). */
  uint32_t has_bytes;
  uint64_t sock_bytes;
};

struct sf_decision {
  int rule;        /* index of the rule that fired, -1 for none */
  uint32_t action; /* enum sf_action */
  int32_t value;   /* errno, signal, byte count, or the delay in ms (jitter applied) */
  int32_t value2;  /* the rule's value2 (a torn write's fraction in ppm, the seeded one drawn) */
  uint32_t flags;  /* the rule's flags (SF_FLAG_AFTER_CALL, ...) */
};

/* Counts the call, walks the rules in order and returns the first that fires (its decision in out).
 * Pure in (seed, rule, match index) apart from `limit`, which caps fired across the whole tree. */
int sf_decide(struct sf_shm *shm, const struct sf_plan *plan, const struct sf_call *call, struct sf_decision *out);
/* The same for a call the caller has already counted (in its thread slot). */
int sf_decide_counted(struct sf_shm *shm, const struct sf_plan *plan, const struct sf_call *call,
                      struct sf_decision *out);
/* How many of n bytes a torn write keeps: the rule's byte count (value2 == 0), else value2 ppm of n, rounded
 * down. */
size_t sf_torn_keep(size_t n, int32_t value, int32_t value2);

/* Reset/close after N bytes: the most bytes this call may move so that such a rule (its other filters
 * matching) fires on the very call after its N-th byte; -1 when no such rule limits the call. */
int64_t sf_byte_cap(const struct sf_plan *plan, const struct sf_call *call);

/* Does rule i's path glob match this path? bits for every path rule naming one of `syscalls`. */
uint64_t sf_plan_path_bits(const struct sf_plan *plan, const char *path);
int sf_glob_match(const char *pattern, const char *text);
/* The part of a glob that looks only at a file's name, matched against the path's last component, or NULL:
 * the whole glob when it has no '/'; REST of `**` `/REST` when REST has no '/', no `**` and no escape (it cannot
 * match a '/', so it can only match after the last one). */
const char *sf_glob_name_part(const char *pattern);
int sf_addr_match(const struct sf_addr *filter, const struct sf_addr *addr);
/* A sockaddr (AF_INET, AF_INET6, v4-mapped v6 folded to v4) as an sf_addr; 0 on success. */
int sf_addr_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct sf_addr *out);
void sf_addr_format(const struct sf_addr *a, char *buf, size_t len);

/* Appends to the fault log (or counts it dropped). target may be NULL. */
void sf_log_fault(struct sf_shm *shm, const struct sf_decision *d, int sys, int pid, int tid, int fd,
                  const char *target);

/* The seeded hash behind probability and jitter: splitmix64 over (seed, rule, match index, stream). */
uint64_t sf_hash(uint64_t seed, uint32_t rule, uint64_t index, uint32_t stream);

const char *sf_sys_name(int sys);
int sf_sys_nr(int sys);
int sf_sys_shape(int sys);
int sf_sys_from_nr(long nr);
/* The syscalls that read from (or write to) a socket's stream: the ones network actions act on. */
static inline int sf_sys_sock_read(int sys) {
  return sys == SF_SYS_read || sys == SF_SYS_readv || sys == SF_SYS_recvfrom || sys == SF_SYS_recvmsg;
}
static inline int sf_sys_sock_write(int sys) {
  return sys == SF_SYS_write || sys == SF_SYS_writev || sys == SF_SYS_sendto || sys == SF_SYS_sendmsg;
}

/* CLOCK_MONOTONIC in ns: the clock of the shared region's times (start_ns, the fault log's t_ns). */
uint64_t sf_now_ns(void);

/* ---- what a descriptor refers to (paths.c; raw syscalls only, safe inside the preload wrappers) ---- */

/* The target of /proc/<pid>/fd/<fd> (pid 0: this process) in buf, NUL-terminated. 0, or -1. */
/* The target logged for a call on a mapping rather than a descriptor (msync): "mapping 0x...+len". */
int sf_mapping_target(uint64_t addr, uint64_t len, char *buf, size_t size);
int sf_fd_path(int pid, int fd, char *buf, size_t len);
/* The same for another link of /proc/<pid>/ ("cwd", "fd/3"). */
int sf_proc_link(int pid, const char *what, char *buf, size_t len);
/* base + "/" + rel (leading "./" dropped, no other normalisation: what both engines match path rules against).
 * 0, or -1 when it does not fit in len. */
int sf_path_join(const char *base, const char *rel, char *out, size_t len);

#ifdef __cplusplus
}
#endif
#endif
