/*
 * Private to the run monitor, shared by its files:
 *   monitor.c          the loop, the control socket, notifications, answering, restarts, apply, the fault log
 *   monitor-target.c   the target's memory and descriptors; describing a call for sf_decide
 *   monitor-preload.c  the preload engine's log waiter (wakes the loop when the target logs a fault)
 *   monitor-io.c   short transfers done here, own syncs and kills after the call, parked I/O
 *   monitor-net.c  network actions (refuse, blackhole, reset, close, latency on TCP sockets)
 * The helpers they share are hidden (never exported from the addon) and prefixed mon_.
 */
#ifndef SYSFAULT_MONITOR_INTERNAL_H
#define SYSFAULT_MONITOR_INTERNAL_H

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
#define EXEC_HELD_MAX 16

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
  int io_nowait;     /* see io_mode() (monitor-io.c) */
  short io_events;
  int net_kind;         /* network actions: enum net_kind (0: none) */
  uint64_t io_deadline; /* a parked call is answered at this time if its fd is not ready by then (0: never) */
  int net_nonblock;     /* NK_READABLE: the read does not block (it proceeds at the stall's end) */
  dev_t net_dev;        /* NK_READABLE: the stalled socket (inode) the read waits on */
  ino_t net_ino;
};

/* Network actions (monitor-net.c). A parked entry of r->ios is a short transfer (0), a
 * blocking connect waiting for its outcome, or a blocking read of a stalled socket waiting for data; an entry
 * of r->delays is a delayed call (0) or the end of a read stall (not a call: tid 0). */
enum net_kind { NK_NONE = 0, NK_CONNECT, NK_READABLE, NK_STALL_END };

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

struct heldvec {
  struct held *v;
  size_t n, cap;
};

struct run {
  struct sf_monitor *m;
  pid_t uring_said[16]; /* processes whose io_uring_setup was said (mon_say_io_uring) */
  int nuring_said;
  struct held execs[EXEC_HELD_MAX]; /* execs of Go binaries waiting for the shim (monitor-exec.c) */
  int nexecs;
  pid_t target_pid;     /* the shim's child: its own exec is the shim's to catch (it is traced from the start) */
  int target_exec_seen;
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
  int log_efd;              /* preload engine: readable when the target appended to the fault log */
  struct { dev_t dev; ino_t ino; } own; /* m->own_library's file (ino 0: none) */
  pthread_t log_thread;     /* ... made so by this thread, asleep on the log's futex word */
  int log_thread_on, log_stop;
  int exited, status, done;
  unsigned long takeovers, tombstones, replays, parked; /* for tests: the restart paths were taken */
};

struct call_info {
  struct sf_call call;
  struct sf_addr peer;
  char path[PATH_MAX]; /* the path opened, or the fd's link */
};

static inline int is_sync(int sys) { return sys == SF_SYS_fsync || sys == SF_SYS_fdatasync; }

static inline int shadowing(const struct run *r) { return r->m->shadow && r->m->shadow->dir[0]; }

#pragma GCC visibility push(hidden)

/* monitor-held.c */
struct held *mon_vec_push(struct heldvec *v, const struct held *h);
void mon_vec_remove_ordered(struct heldvec *v, size_t i);
ssize_t mon_vec_find_tid(const struct heldvec *v, int32_t tid);
int mon_heap_push(struct heldvec *h, const struct held *e);
void mon_heap_remove(struct heldvec *h, size_t i);

/* monitor.c */
int mon_id_valid(struct run *r, uint64_t id);
void mon_tomb_add(struct run *r, const struct held *h);
void mon_answer(struct run *r, struct held *h);
void mon_continue_call(struct run *r, struct held *h);
void mon_arm_timer(struct run *r);
void mon_hold_delay(struct run *r, struct held *h);

/* monitor-target.c */
ssize_t mon_read_mem(pid_t tid, uint64_t addr, void *buf, size_t len);
int mon_fd_kind(pid_t tid, int fd, struct stat *st);
pid_t mon_tgid_of(struct run *r, pid_t tid);
void mon_say_io_uring(struct run *r, pid_t tid);
int mon_target_fd(struct run *r, pid_t tid, int fd);
/* Fills what some rule for this syscall filters on. 0; -1 when the task left the call meanwhile;
 * MON_OWN_LIBRARY when the call opens or works on sysfault's own preload library (sf_monitor.own_library). */
#define MON_OWN_LIBRARY 1
int mon_describe(struct run *r, const struct held *h, struct call_info *ci);
/* What a fault hit, for the log: the path opened or the fd's, connect's address or the socket's peer. */
void mon_fault_target(struct run *r, const struct held *h, struct call_info *ci, char *buf, size_t len);

/* monitor-preload.c */
void mon_log_waiter_start(struct run *r);
void mon_log_waiter_stop(struct run *r);

/* monitor-io.c */
void mon_torn_measure(struct run *r, struct held *h);
void mon_start_short(struct run *r, struct held *h);
void mon_on_io(struct run *r, const struct pollfd *pfds, size_t n);
void mon_own_sync(struct run *r, struct held *h);
void mon_after_call(struct run *r, struct held *h, int sig, int tree);

/* monitor-exec.c */
int mon_is_exec(int nr);
int mon_exec_hold(struct run *r, struct held *h);
void mon_exec_answered(struct run *r, uint64_t id);

/* monitor-net.c */
void mon_net_rewait(struct run *r, struct held *h);
int mon_net_stalled(struct run *r, struct held *h);
int mon_net_delay(struct run *r, struct held *h);
void mon_net_timer(struct run *r, struct held *h);
void mon_net_connect(struct run *r, struct held *h);
int mon_net_io_ready(struct run *r, struct held *h);
int mon_net_io_expired(struct run *r, struct held *h);
void mon_net_end(struct run *r, struct held *h);
int mon_net_cap(struct run *r, struct held *h, const struct call_info *ci);
int mon_net_io_timeout(const struct run *r, size_t nios, int timeout);
void mon_net_drop(struct run *r);

#pragma GCC visibility pop

#endif
