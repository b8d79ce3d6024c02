/*
 * What the running kernel offers the seccomp engine, probed for real. The filter probes run in a forked
 * child (a seccomp filter cannot be removed, and NO_NEW_PRIVS is for life), which reports through a pipe
 * and exits; the caller is left as it was.
 */
#include <errno.h>
#include <linux/filter.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "compat.h"
#include "monitor.h"

struct probe {
  int user_notif, notif_continue, wait_killable, sync_wakeup;
};

static long install_allow_all(unsigned long flags) {
  struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  struct sock_fprog prog = { .len = 1, .filter = &allow };
  return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

/* In the child: raw syscalls only, then _exit. */
static void probe_child(int out) {
  struct probe p = { 0 };
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0) {
    /* One listener per filter chain (EBUSY after that): try the newest flag set first. */
    long fd = install_allow_all(SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
    p.wait_killable = fd >= 0;
    if (fd < 0) fd = install_allow_all(SECCOMP_FILTER_FLAG_NEW_LISTENER);
    p.user_notif = fd >= 0;
    if (fd >= 0) {
      p.sync_wakeup = ioctl((int)fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) == 0;
      /* The flag is checked before the id: a kernel with CONTINUE says "no such notification". */
      struct seccomp_notif_resp resp = { .id = ~0ull, .flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE };
      p.notif_continue = ioctl((int)fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) != 0 && errno == ENOENT;
    }
  }
  if (write(out, &p, sizeof p) != (ssize_t)sizeof p) _exit(1);
  _exit(0);
}

static int probe_filters(struct probe *p) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) probe_child(pipefd[1]);
  close(pipefd[1]);
  ssize_t n = -1;
  if (pid > 0) {
    while ((n = read(pipefd[0], p, sizeof *p)) < 0 && errno == EINTR) {}
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
  }
  close(pipefd[0]);
  return n == (ssize_t)sizeof *p ? 0 : -1;
}

static int probe_pidfd_getfd(void) {
  int pidfd = sf_pidfd_open(getpid(), 0);
  if (pidfd < 0) return 0;
  int copy = sf_pidfd_getfd(pidfd, pidfd);
  if (copy >= 0) close(copy);
  close(pidfd);
  return copy >= 0;
}

void sf_kernel_features(struct sf_kernel_features *out) {
  struct probe p = { 0 };
  struct utsname u;
  memset(out, 0, sizeof *out);
  if (probe_filters(&p) != 0) memset(&p, 0, sizeof p);
  out->user_notif = p.user_notif;
  out->notif_continue = p.notif_continue;
  out->wait_killable = p.wait_killable;
  out->sync_wakeup = p.sync_wakeup;
  out->pidfd_getfd = probe_pidfd_getfd();
  if (uname(&u) == 0) {
    size_t n = strnlen(u.release, sizeof out->kernel - 1);
    memcpy(out->kernel, u.release, n);
    out->kernel[n] = 0;
  }
}
