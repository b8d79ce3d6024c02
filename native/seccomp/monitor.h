/*
 * The run monitor: one native thread per run, in the addon. It owns the controller's end of the control
 * socket to the shim (native/shim), and under the seccomp engine the user-notification listener the shim
 * hands over. It answers every notification (errno, kill and continue at once; delays from timers keyed by
 * notification id; short transfers done for the target), counts through the very same sf_decide() as the
 * preload engine, and reports the target's start and exit. Node is never on the per-call path.
 *
 * Control protocol (SOCK_SEQPACKET, one message per datagram, first byte is the type):
 *   shim -> monitor  'P' i32 pid            the target was forked (its pid)
 *                    'L' + SCM_RIGHTS fd    the target's seccomp listener (seccomp engine only)
 *                    'F' text               the shim could not set the target up (exit 125); then 'X'
 *                    'E' i32 errno          execve failed (ENOENT: 127, else 126); then 'X'
 *                    'X' i32 wait status    the target exited and its whole process tree is gone
 *                    'W' text               a warning, "code<TAB>message" (what the engines could not do)
 *                    'A' text               a process runs on the fast path (the Go agent is loaded)
 *   monitor -> shim  'K' i32 signal         send signal to the target's whole process tree
 *   The monitor closing its end makes the shim SIGKILL the whole tree (the controller died).
 */
#ifndef SYSFAULT_MONITOR_H
#define SYSFAULT_MONITOR_H

#include <stdint.h>

#include "../core/sysfault.h"
#include "../core/shadow.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SF_NR_IO_URING_SETUP 425 /* x86-64: notified only to be reported (the shim's --io-uring watch) */

struct sf_monitor_callbacks {
  void *ctx;
  void (*on_started)(void *ctx, int pid);
  /* A new fault log entry (from this thread for seccomp, noticed in the shared log for preload). */
  void (*on_fault)(void *ctx, const struct sf_log_entry *entry);
  /* The shim's 'F' or 'E' message, or a monitor failure; exec_errno is 0 unless execve failed. */
  void (*on_error)(void *ctx, const char *message, int exec_errno);
  /* Once, last: the target's wait status, or -1 if the shim vanished without one. */
  void (*on_exit)(void *ctx, int wait_status);
  /* The shim's 'W' (a warning: "code\tmessage") or 'A' (a process on the fast path: text). */
  void (*on_notice)(void *ctx, char kind, const char *text);
};

struct sf_monitor {
  int ctl_fd;                 /* controller end of the control socketpair (CLOEXEC) */
  int wake_fd;                /* eventfd: sf_monitor_request_kill / stop write here */
  struct sf_shm *shm;
  const struct sf_plan *plan;
  int seccomp;                /* expect a listener */
  volatile int pending_kill;  /* signal to forward, 0 for none */
  struct sf_monitor_callbacks cb;
  /* Power cut (docs/crash-consistency.md): when set (dir non-empty), fsync/fdatasync are done here on a copy of the target's
   * fd and the synced state is recorded in the shadow directory. Set after sf_monitor_init, before run. */
  const struct sf_shadow *shadow;
  /* The preload library the dynamic loader maps into the tree's libc programs (under the net), or NULL. The
   * loader's opens and reads of it are sysfault's own doing: neither counted nor faulted (a broad rule that
   * failed them would keep the library out, silently). Set after sf_monitor_init, before run. */
  const char *own_library;
};

/* Sets up m (eventfd). 0 or -errno. */
int sf_monitor_init(struct sf_monitor *m, int ctl_fd, struct sf_shm *shm, const struct sf_plan *plan,
                    int seccomp, const struct sf_monitor_callbacks *cb);
/* Runs until the target's exit has been reported (or the shim vanished). Call on a dedicated thread. */
void sf_monitor_run(struct sf_monitor *m);
/* Thread-safe: asks the shim to signal the whole tree. */
void sf_monitor_request_kill(struct sf_monitor *m, int sig);
/* After sf_monitor_run returned. Closes ctl_fd and wake_fd. */
void sf_monitor_destroy(struct sf_monitor *m);

/* What this kernel offers, detected at run time (for `sysfault doctor` and engine errors). */
struct sf_kernel_features {
  int user_notif;        /* SECCOMP_FILTER_FLAG_NEW_LISTENER */
  int notif_continue;    /* SECCOMP_USER_NOTIF_FLAG_CONTINUE (5.5) */
  int wait_killable;     /* SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (5.19) */
  int sync_wakeup;       /* SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (6.6) */
  int pidfd_getfd;       /* pidfd_getfd(2) (5.6) */
  char kernel[64];
};
void sf_kernel_features(struct sf_kernel_features *out);

#ifdef __cplusplus
}
#endif
#endif
