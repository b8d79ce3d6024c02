/*
 * sysfault-shim: the target's parent. Started by Node with the control socket as fd 3 (protocol in
 * native/seccomp/monitor.h):
 *   sysfault-shim [--seccomp NR,NR,...] [--no-wait-killable] [--preload LIB] [--gate] [--go-agent LIB --shm PATH]
 *                 -- /abs/path/to/target argv0 args...
 * --preload puts LIB first in the target's LD_PRELOAD (only the target's: the shim itself is never preloaded).
 * --gate lets every syscall made from the gate page (native/goagent/agent.h) through the filter; --go-agent
 * loads the Go agent LIB into the target at its exec (native/goagent/load.h), with the run's shared region.
 * --io-uring watch notifies io_uring_setup (the monitor reports it); deny fails it with ENOSYS in the filter.
 * It forks the target, installs the seccomp user-notification filter in the child right before execve
 * (--seccomp), hands the listener to the monitor, reports the pid and the exit status, signals the whole
 * tree on request and kills it when the controller goes away. Plain C, no sysfault core code.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../goagent/agent.h"
#include "../goagent/follow.h"
#include "../goagent/goelf.h"
#include "../goagent/load.h"
#include "shim-tree.h"

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0x40000000
#endif

#define CTL_FD 3
#define MAX_NRS 64
#define EXIT_SETUP 125

/* Facts the child leaves for the shim in a MAP_SHARED page (the child cannot use any syscall a plan
 * can name once its filter is installed, so no pipe write). */
struct facts {
  volatile int listener_fd;
  volatile int fail_errno;   /* setup failure: errno, with fail_stage */
  volatile int exec_errno;   /* execve failed */
  volatile int traced;       /* the Go agent: the child is traced and will stop at its exec */
  volatile int trace_errno;  /* the Go agent: PTRACE_TRACEME failed */
  char fail_stage[64];
};

static struct {
  int nrs[MAX_NRS];
  int nnrs;
  int seccomp;
  int wait_killable;
  char *preload;
  int gate;
  int io_uring; /* 0: nothing, 1: watch (notify io_uring_setup, to report it), 2: deny (ENOSYS), 3: scan (below) */
  char *go_agent, *shm;
  char *path;
  char **argv;
} opt = { .wait_killable = 1 };

static pid_t orig_ppid;
static pid_t target_pid = -1;
static int target_status;
static int target_done;
static struct sf_goagent agent;
static int agent_ready; /* the agent can be loaded: into Go programs the tree executes (exec following) */
static int agent_first; /* and into the target itself, a Go executable: traced from its own exec */

static void die_setup(const char *msg) {
  fprintf(stderr, "sysfault-shim: %s\n", msg);
  exit(EXIT_SETUP);
}

/* Malformed options (sysfault never writes them: someone ran the shim by hand) do not stop the target: it runs
 * as it is, without faults, after one warning line naming the first problem. Only a missing command is fatal. */
static void parse_args(int argc, char **argv) {
  int i = 1;
  const char *bad = NULL;
  char why[160];
  for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
    if (strcmp(argv[i], "--no-wait-killable") == 0) {
      opt.wait_killable = 0;
    } else if (strcmp(argv[i], "--preload") == 0 && i + 1 < argc && strcmp(argv[i + 1], "--") != 0) {
      opt.preload = argv[++i];
    } else if (strcmp(argv[i], "--gate") == 0) {
      opt.gate = 1;
    } else if (strcmp(argv[i], "--io-uring") == 0 && i + 1 < argc &&
               (strcmp(argv[i + 1], "watch") == 0 || strcmp(argv[i + 1], "deny") == 0 || strcmp(argv[i + 1], "scan") == 0)) {
      i++;
      opt.io_uring = strcmp(argv[i], "deny") == 0 ? 2 : strcmp(argv[i], "scan") == 0 ? 3 : 1;
    } else if (strcmp(argv[i], "--go-agent") == 0 && i + 1 < argc && strcmp(argv[i + 1], "--") != 0) {
      opt.go_agent = argv[++i];
    } else if (strcmp(argv[i], "--shm") == 0 && i + 1 < argc && strcmp(argv[i + 1], "--") != 0) {
      opt.shm = argv[++i];
    } else if (strcmp(argv[i], "--seccomp") == 0 && i + 1 < argc && strcmp(argv[i + 1], "--") != 0) {
      char *s = argv[++i], *end;
      opt.seccomp = 1;
      while (*s && !bad) {
        long nr = strtol(s, &end, 10);
        if (end == s || nr < 0 || nr > 1023 || opt.nnrs == MAX_NRS || (*end && *end != ',')) {
          snprintf(why, sizeof why, "bad --seccomp list \"%.60s\"", argv[i]);
          bad = why;
          break;
        }
        opt.nrs[opt.nnrs++] = (int)nr;
        s = *end ? end + 1 : end;
      }
    } else if (!bad) {
      int valued = strcmp(argv[i], "--preload") == 0 || strcmp(argv[i], "--seccomp") == 0 ||
                   strcmp(argv[i], "--go-agent") == 0 || strcmp(argv[i], "--shm") == 0;
      snprintf(why, sizeof why, valued ? "option %s needs a value" : "unknown option \"%.60s\"", argv[i]);
      bad = why;
    }
  }
  if (i + 2 >= argc) die_setup("missing PATH ARGV0 after --");
  opt.path = argv[i + 1];
  opt.argv = &argv[i + 2];
  if (bad) {
    fprintf(stderr, "sysfault-shim: %s; running the target without faults\n", bad);
    opt.seccomp = 0, opt.nnrs = 0, opt.preload = NULL, opt.gate = 0, opt.go_agent = NULL;
  }
}

/* ---- control messages ---- */

static void send_msg(char type, const void *body, size_t len) {
  char buf[512];
  if (len > sizeof buf - 1) len = sizeof buf - 1;
  buf[0] = type;
  memcpy(buf + 1, body, len);
  while (send(CTL_FD, buf, len + 1, MSG_NOSIGNAL) < 0 && errno == EINTR) {}
}

static void send_int(char type, int v) { send_msg(type, &v, sizeof v); }

static int send_fd(int fd) {
  char type = 'L';
  struct iovec iov = { &type, 1 };
  union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u;
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  ssize_t n;
  while ((n = sendmsg(CTL_FD, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR) {}
  return n < 0 ? -1 : 0;
}

/* ---- the whole tree (walk_tree: shim-tree.c) ---- */

static void reap(void) {
  int st;
  pid_t p;
  while ((p = waitpid(-1, &st, WNOHANG | __WALL)) > 0) {
    char kind, msg[400];
    if (agent_ready && sf_follow_event(&agent, p, st, &kind, msg, sizeof msg)) {
      if (kind) send_msg(kind, msg, strlen(msg));
      continue;
    }
    if (p == target_pid) {
      target_status = st;
      target_done = 1;
    }
  }
}

/* The tree can fork while it is being signalled: the children of a process killed meanwhile reparent
 * to the shim (subreaper) and show up in the next pass. With SIGKILL, repeat until none is alive. */
static void signal_tree(int sig) {
  if (sig != SIGKILL) {
    walk_tree(sig, NULL, 0);
    return;
  }
  struct timespec pause = { 0, 1000000 };
  for (int pass = 0; pass < 10000 && walk_tree(SIGKILL, NULL, 0) > 0; pass++) {
    reap();
    nanosleep(&pause, NULL);
  }
}

static void kill_all_and_exit(void) {
  signal_tree(SIGKILL);
  while (waitpid(-1, NULL, 0) > 0 || errno == EINTR) {}
  _exit(1);
}

/* ---- the child ---- */

static void child_fail(struct facts *f, const char *stage) {
  f->fail_errno = errno;
  snprintf(f->fail_stage, sizeof f->fail_stage, "%s", stage);
  _exit(EXIT_SETUP);
}

static int install_filter(struct facts *f) {
  struct sock_filter prog[16 + MAX_NRS];
  int n = 0, k = opt.nnrs;
  prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
  prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
  prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
  prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
  prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, __X32_SYSCALL_BIT, 0, 1);
  prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
  if (opt.io_uring == 2 || (opt.io_uring == 1 && opt.seccomp)) { /* io_uring_setup: fail it, or report it */
    prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 425, 0, 1);
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
                                             opt.io_uring == 2 ? SECCOMP_RET_ERRNO | ENOSYS : SECCOMP_RET_USER_NOTIF);
  }
  for (int i = 0; i < k; i++)
    prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)opt.nrs[i], (uint8_t)(k - i), 0);
  prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  /* A named syscall. With the gate, one made from the gate page passes (the fast path decided it already).
   * Only named syscalls look at the instruction pointer: for the others the filter's answer depends on the
   * number alone, so the kernel caches it and never runs the filter for them. */
  if (opt.gate) {
    uint32_t ip = (uint32_t)offsetof(struct seccomp_data, instruction_pointer);
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ip + 4);
    prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)(SF_GATE_ADDR >> 32), 0, 3);
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ip);
    prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (uint32_t)SF_GATE_ADDR + (uint32_t)SF_GATE_SIZE, 1, 0);
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  }
  prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF);
  struct sock_fprog fprog = { .len = (unsigned short)n, .filter = prog };

  if (!opt.seccomp) { /* --io-uring deny alone: a filter with nothing to notify, no listener */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) child_fail(f, "seccomp: prctl(PR_SET_NO_NEW_PRIVS)");
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) != 0) child_fail(f, "seccomp: seccomp(SECCOMP_SET_MODE_FILTER)");
    return -1;
  }

  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) child_fail(f, "seccomp: prctl(PR_SET_NO_NEW_PRIVS)");
  long fd = -1;
  if (opt.wait_killable)
    fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                 SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, &fprog);
  if (fd < 0 && (!opt.wait_killable || errno == EINVAL))
    fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &fprog);
  if (fd < 0) child_fail(f, "seccomp: seccomp(SECCOMP_SET_MODE_FILTER)");
  return (int)fd;
}

static int set_preload(const char *lib) {
  const char *old = getenv("LD_PRELOAD");
  if (!old || !*old) return setenv("LD_PRELOAD", lib, 1);
  size_t n = strlen(lib) + strlen(old) + 2;
  char *value = malloc(n);
  if (!value) return -1;
  snprintf(value, n, "%s:%s", lib, old);
  return setenv("LD_PRELOAD", value, 1);
}

/* From here on only syscalls no plan can name (syscalls.h): prctl, seccomp, getppid, kill, getpid,
 * close, execve, exit_group. */
static void run_child(struct facts *f, const sigset_t *orig_mask, pid_t shim) {
  close(CTL_FD);
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != shim) _exit(EXIT_SETUP);
  sigprocmask(SIG_SETMASK, orig_mask, NULL);
  if (opt.preload && set_preload(opt.preload) != 0) child_fail(f, "setting LD_PRELOAD");
  if (agent_first) {
    int err = sf_goagent_child();
    f->trace_errno = err;
    f->traced = err == 0;
  }
  if (!opt.seccomp && opt.io_uring == 2) install_filter(f);
  if (opt.seccomp) {
    int fd = install_filter(f);
    f->listener_fd = fd;
    kill(getpid(), SIGSTOP); /* the shim takes the listener with pidfd_getfd, then SIGCONTs us */
    close(fd);
  }
  extern char **environ;
  execve(opt.path, opt.argv, environ);
  f->exec_errno = errno;
  _exit(errno == ENOENT ? 127 : 126);
}

/* ---- the shim ---- */

static int fail_setup(pid_t pid, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "seccomp: %s: %s", what, strerror(err));
  send_msg('F', msg, strlen(msg));
  kill(pid, SIGKILL);
  return -1;
}

/* Waits for the child's self-stop, moves its listener to the monitor, lets it go on to execve. */
static int hand_over_listener(pid_t pid, struct facts *f) {
  int st;
  while (waitpid(pid, &st, WUNTRACED) < 0)
    if (errno != EINTR) return -1;
  if (!WIFSTOPPED(st)) { /* setup failed in the child (the facts page says why), or it was killed */
    target_status = st;
    target_done = 1;
    return 0;
  }
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) return fail_setup(pid, "pidfd_open", errno);
  int fd = (int)syscall(SYS_pidfd_getfd, pidfd, f->listener_fd, 0); /* CLOEXEC by definition */
  int err = errno;
  close(pidfd);
  if (fd < 0) return fail_setup(pid, "pidfd_getfd", err);
  int sent = send_fd(fd);
  err = errno;
  if (sent < 0) {
    close(fd);
    return fail_setup(pid, "handing the listener over", err);
  }
  /* Our copy stays open until we exit: if the controller dies, its copy closes with it, and a listener with
   * no copy left would fail every notified call of the target with ENOSYS until we have killed the tree.
   * With ours open those calls just wait, unanswered, for the SIGKILL. Never inherited: the target was
   * forked before, and we exec nothing. */
  (void)fd;
  if (f->traced)
    ptrace(PTRACE_CONT, pid, NULL, NULL); /* the SIGSTOP was a ptrace stop: resume, dropping it */
  else
    kill(pid, SIGCONT);
  return 0;
}

/* The target has exited but its tree has not (a background job, a daemon): the run waits for it, and says so
 * now rather than look hung. */
static void say_tree_remains(void) {
  char list[200], line[400];
  int live = walk_tree(0, list, sizeof list);
  if (live <= 0) return;
  snprintf(line, sizeof line, "tree-remains\tthe target exited, but %d process%s of its tree still run%s (%s): the run "
           "waits for %s (--timeout, or a signal to sysfault, ends the whole tree)", live, live == 1 ? "" : "es",
           live == 1 ? "s" : "", list, live == 1 ? "it" : "them");
  send_msg('W', line, strlen(line));
}

/* --io-uring scan (the preload engine alone: no filter sees io_uring_setup): every URING_SCAN_MS, the tree's
 * processes that hold an io_uring instance are said, once each. */
enum { URING_SCAN_MS = 200 };
static void say_io_uring(void) {
  char list[300], line[800];
  if (tree_io_uring(list, sizeof list) <= 0) return;
  snprintf(line, sizeof line, "io-uring\t%s set up io_uring: its I/O is invisible to syscall interception. The preload "
           "engine alone has no filter and sees a ring only by looking every %d ms (one set up and closed in between "
           "goes unseen); --engine auto or seccomp reports every io_uring_setup, --io-uring deny makes it fail "
           "with ENOSYS", list, URING_SCAN_MS);
  send_msg('W', line, strlen(line));
}

/* Scans when one is due; the milliseconds until the next. */
static int io_uring_scan(void) {
  static struct timespec last;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  long since = (now.tv_sec - last.tv_sec) * 1000 + (now.tv_nsec - last.tv_nsec) / 1000000;
  if (since >= URING_SCAN_MS) say_io_uring(), last = now, since = 0;
  return (int)(URING_SCAN_MS - since);
}

/* The Go agent: load it at the child's exec stop (or say why not). 'A' fast path on, 'W' a warning. */
static void load_agent(pid_t pid, struct facts *f) {
  char msg[300], line[400];
  if (!f->traced) {
    snprintf(line, sizeof line, "fast-path-unavailable\tthe Go fast path is off, the supervisor handles every call: "
             "ptrace is not permitted here (%s)", strerror(f->trace_errno));
    send_msg('W', line, strlen(line));
    return;
  }
  int st = 0, rc = sf_goagent_after_exec(&agent, pid, &st, msg, sizeof msg);
  if (rc == 1) {
    target_status = st, target_done = 1;
  } else if (rc == 0) {
    snprintf(line, sizeof line, "pid %d: %s", (int)pid, msg);
    send_msg('A', line, strlen(line));
  } else {
    snprintf(line, sizeof line, "fast-path-unavailable\tthe Go fast path is off, the supervisor handles every call: %s", msg);
    send_msg('W', line, strlen(line));
  }
}

/* The target ended: report why, after its whole tree is gone. */
static void report_exit(struct facts *f) {
  int status = target_status;
  if (f->fail_stage[0]) {
    char msg[256];
    snprintf(msg, sizeof msg, "%s: %s", f->fail_stage, strerror(f->fail_errno));
    send_msg('F', msg, strlen(msg));
    status = EXIT_SETUP << 8;
  } else if (f->exec_errno) {
    send_int('E', f->exec_errno);
    status = (f->exec_errno == ENOENT ? 127 : 126) << 8;
  }
  send_int('X', status);
}

static void on_signal(int sfd) {
  struct signalfd_siginfo si;
  while (read(sfd, &si, sizeof si) == sizeof si) {
    switch (si.ssi_signo) {
    case SIGCHLD: reap(); break;
    case SIGTERM: signal_tree(SIGTERM); break;
    case SIGHUP: /* our death signal, or a terminal hangup the target gets by itself */
      if (getppid() != orig_ppid) kill_all_and_exit();
      break;
    default: break; /* SIGINT, SIGQUIT: the terminal sends them to the target's process group too */
    }
  }
}

static void on_control(void) {
  char buf[64];
  ssize_t n = recv(CTL_FD, buf, sizeof buf, MSG_DONTWAIT);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) kill_all_and_exit(); /* controller gone */
  int sig;
  if (n == 13 && buf[0] == 'G') { /* an execve of a Go binary, held by the supervisor: catch its exec */
    int tid;
    memcpy(&tid, buf + 1, sizeof tid);
    if (agent_ready) sf_follow_begin(tid);
    buf[4] = 'g'; /* 'g' + the notification id (bytes 5..12), the answer the supervisor waits for */
    send(CTL_FD, buf + 4, 9, MSG_NOSIGNAL);
    return;
  }
  if (n == 1 + (ssize_t)sizeof sig && buf[0] == 'K') {
    memcpy(&sig, buf + 1, sizeof sig);
    if (sig > 0 && sig < _NSIG) signal_tree(sig);
  }
}

int main(int argc, char **argv) {
  struct stat st;
  int type = 0;
  socklen_t tlen = sizeof type;
  if (fstat(CTL_FD, &st) != 0 || !S_ISSOCK(st.st_mode) ||
      getsockopt(CTL_FD, SOL_SOCKET, SO_TYPE, &type, &tlen) != 0 || type != SOCK_SEQPACKET)
    die_setup("fd 3 is not the control socket (this program is started by sysfault)");
  fcntl(CTL_FD, F_SETFD, FD_CLOEXEC);
  parse_args(argc, argv);

  sigset_t mask, orig_mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGHUP);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGQUIT);
  sigprocmask(SIG_BLOCK, &mask, &orig_mask);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) die_setup("signalfd failed");

  orig_ppid = getppid();
  prctl(PR_SET_PDEATHSIG, SIGHUP);
  struct pollfd hup = { CTL_FD, 0, 0 };
  if (getppid() != orig_ppid || (poll(&hup, 1, 0) == 1 && (hup.revents & POLLHUP)))
    _exit(1); /* the controller died before we got here */
  prctl(PR_SET_CHILD_SUBREAPER, 1);

  struct facts *f = mmap(NULL, sizeof *f, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (f == MAP_FAILED) die_setup("mmap failed");
  f->listener_fd = -1;

  if (opt.go_agent && opt.seccomp && opt.gate) {
    char why[200], line[300];
    if (!opt.shm || sf_goagent_prepare(&agent, opt.go_agent, opt.shm, why, sizeof why) != 0) {
      snprintf(line, sizeof line, "fast-path-unavailable\tthe Go fast path is off, the supervisor handles every call: %s",
               opt.shm ? why : "no shared region given");
      send_msg('W', line, strlen(line));
    } else {
      agent_ready = 1;
      int fd = open(opt.path, O_RDONLY | O_CLOEXEC);
      struct sf_go_elf go;
      agent_first = fd >= 0 && (sf_go_elf_find(fd, &go, why, sizeof why), go.is_go);
      if (fd >= 0) close(fd);
    }
  }

  pid_t shim = getpid();
  target_pid = fork();
  if (target_pid < 0) {
    char msg[128];
    snprintf(msg, sizeof msg, "fork: %s", strerror(errno));
    send_msg('F', msg, strlen(msg));
    send_int('X', EXIT_SETUP << 8);
    return 0;
  }
  if (target_pid == 0) {
    close(sfd);
    run_child(f, &orig_mask, shim);
  }
  send_int('P', target_pid);
  if (opt.seccomp && hand_over_listener(target_pid, f) < 0) {
    /* the shim's own hand-over failed and said so ('F'); the child was SIGKILLed before execve */
    while (waitpid(-1, NULL, 0) > 0 || errno == EINTR) {}
    send_int('X', EXIT_SETUP << 8);
    return 0;
  }
  if (agent_first && !target_done) load_agent(target_pid, f);

  struct pollfd pfd[2] = { { sfd, POLLIN, 0 }, { CTL_FD, POLLIN, 0 } };
  /* a tree still there TREE_GRACE_MS after the target exited is said to remain (not one about to end) */
  enum { TREE_GRACE_MS = 250 };
  int remains_said = 0;
  struct timespec done_at = { 0, 0 };
  for (;;) {
    reap();
    int timeout = -1;
    if (opt.io_uring == 3) timeout = io_uring_scan();
    if (target_done) {
      errno = 0;
      if (waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD) break; /* the whole tree is gone */
      if (!remains_said) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (!done_at.tv_sec && !done_at.tv_nsec) done_at = now;
        long waited = (now.tv_sec - done_at.tv_sec) * 1000 + (now.tv_nsec - done_at.tv_nsec) / 1000000;
        if (waited >= TREE_GRACE_MS) remains_said = 1, say_tree_remains();
        else if (timeout < 0 || TREE_GRACE_MS - waited < timeout) timeout = (int)(TREE_GRACE_MS - waited);
      }
    }
    if (poll(pfd, 2, timeout) < 0 && errno != EINTR) kill_all_and_exit();
    if (pfd[1].revents) on_control();
    if (pfd[0].revents) on_signal(sfd);
  }
  report_exit(f);
  return 0;
}
