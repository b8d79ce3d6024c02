/*
 * The run monitor (API and control protocol in monitor.h). One thread per run; a poll() loop over the
 * control socket, the kill eventfd, the seccomp listener, one timerfd for delays and the fds of short
 * transfers waiting for readiness.
 *
 * poll() rather than epoll: the set is tiny and changes with every parked transfer, so it is rebuilt per
 * wait instead of kept in sync with epoll_ctl; both wait equally fast here (measured, with and without
 * SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP).
 *
 * Every notification is answered at once (continue, errno, kill, a short transfer done here) except
 * delays, which are held in a min-heap by deadline and continued when the timerfd fires.
 *
 * Restarts: a signal reaching a task that waits in a notification makes the kernel drop the notification;
 * with SA_RESTART the syscall comes back as a new notification (new id), without it the program sees EINTR
 * and usually retries. With SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (5.19+, the shim's default) only a
 * fatal signal can do that once we have received the notification; without it any signal can, delays
 * included. A thread waits in one syscall at a time, so a new notification from a thread whose call we
 * still hold means the held one is void: the same syscall with the same arguments is that call again and
 * takes over the held state (same deadline, not counted again); another call drops it. A reply that
 * finds the task gone (SEND: ENOENT) leaves a tombstone for the thread; its next notification, if it is
 * the same call, gets the same answer (a delay: the rest of its deadline) without a second count.
 * Limit without WAIT_KILLABLE_RECV: a signal that wakes the task while SEND runs can make the kernel drop
 * a reply SEND reported as delivered (the woken task sees its interruption once it re-takes notify_lock);
 * that call's restart is then counted as a new call.
 */
#include <sys/syscall.h>

#include "monitor-internal.h"
#include "../core/tree.h"

/* ---- the target ---- */

int mon_id_valid(struct run *r, uint64_t id) {
  return ioctl(r->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

/* ---- the fault log ---- */

/* A crash of the whole tree: a power cut, or a SIGKILL with scope tree (SF_FLAG_TREE). Besides the stop-then-kill
 * of sf_tree_crash, the shim is asked to SIGKILL what is left: it repeats until none is alive, which catches a
 * process the bounded stop could not hold (one waiting in a seccomp notification keeps running). */
static int crashes_tree(uint32_t action, uint32_t flags, int sig) {
  return action == SF_ACT_POWERCUT || (action == SF_ACT_KILL && sig == SIGKILL && (flags & SF_FLAG_TREE));
}

/* Delivers every complete entry once, in order, whoever wrote it (the preload in the target, or us). */
static void drain_log(struct run *r, int final) {
  struct sf_shm *shm = r->m->shm;
  if (!shm) return;
  uint64_t end = __atomic_load_n(&shm->log_next, __ATOMIC_ACQUIRE);
  if (end > shm->log_capacity) end = shm->log_capacity;
  const struct sf_log_entry *log = sf_shm_log(shm);
  while (r->log_cursor < end) {
    const struct sf_log_entry *e = &log[r->log_cursor];
    if (!__atomic_load_n(&e->ready, __ATOMIC_ACQUIRE)) {
      uint64_t now = sf_now_ns();
      if (!r->log_stuck_since) r->log_stuck_since = now;
      if (!final && now - r->log_stuck_since < LOG_STUCK_NS) return;
      r->log_cursor++, r->log_stuck_since = 0; /* its writer died between reserving and completing it */
      continue;
    }
    struct sf_log_entry copy;
    memcpy(&copy, e, sizeof copy);
    r->log_cursor++, r->log_stuck_since = 0;
    /* a crash of the whole tree under the preload engine: the process killed itself, the rest goes too */
    uint32_t flags = r->m->plan && copy.rule < r->m->plan->nrules ? r->m->plan->rules[copy.rule].flags : 0;
    if (!r->m->seccomp && crashes_tree(copy.action, flags, copy.value)) sf_monitor_request_kill(r->m, SIGKILL);
    if (r->m->cb.on_fault) r->m->cb.on_fault(r->m->cb.ctx, &copy);
  }
}

static void log_fault(struct run *r, const struct held *h, struct call_info *ci) {
  char target[SF_TARGET_MAX];
  mon_fault_target(r, h, ci, target, sizeof target);
  sf_log_fault(r->m->shm, &h->d, h->sys, mon_tgid_of(r, h->tid), h->tid, ci->call.fd, target);
  drain_log(r, 0);
}

/* ---- answering ---- */

static int send_resp(struct run *r, uint64_t id, int cont, int64_t val, int32_t err) {
  memset(r->resp, 0, r->resp_size);
  r->resp->id = id;
  r->resp->flags = cont ? SECCOMP_USER_NOTIF_FLAG_CONTINUE : 0;
  r->resp->val = cont ? 0 : val;
  r->resp->error = cont ? 0 : err;
  while (ioctl(r->listener, SECCOMP_IOCTL_NOTIF_SEND, r->resp) != 0)
    if (errno != EINTR) return -errno;
  return 0;
}

void mon_tomb_add(struct run *r, const struct held *h) {
  ssize_t old = mon_vec_find_tid(&r->tombs, h->tid);
  if (old >= 0) mon_vec_remove_ordered(&r->tombs, (size_t)old);
  if (r->tombs.n == TOMBS_MAX) mon_vec_remove_ordered(&r->tombs, 0);
  r->tombstones++;
  struct held *t = mon_vec_push(&r->tombs, h);
  if (t) t->io_fd = -1;
}

static void post_kill_now(struct run *r, struct held *h) {
  if (h->d.flags & SF_FLAG_TREE) sf_tree_crash(r->m->shm, mon_tgid_of(r, h->tid), mon_tgid_of(r, h->tid));
  kill(mon_tgid_of(r, h->tid), h->post_kill);
  if (h->tree_kill) sf_monitor_request_kill(r->m, SIGKILL);
  h->post_kill = 0;
}

/* Sends h's answer. ENOENT: the task was interrupted meanwhile and will restart the call. */
void mon_answer(struct run *r, struct held *h) {
  if (h->cont && h->sys >= 0 && is_sync(h->sys) && shadowing(r)) mon_own_sync(r, h);
  h->answered = 1;
  int post = h->post_kill;
  /* A call done here: signal before the reply, so that a fatal signal ends the task before it returns. A
   * call that has to be let through (a shape not done here): signal right after (that one races). */
  int before = post && !h->cont;
  if (before) post_kill_now(r, h);
  int rc = send_resp(r, h->id, h->cont, h->val, h->err);
  if (post && !before) post_kill_now(r, h);
  TRACE("answer id=%llx tid=%d sys=%d rc=%d\n", (unsigned long long)h->id, h->tid, h->sys, rc);
  int fatal = post == SIGKILL || h->d.action == SF_ACT_POWERCUT || h->d.action == SF_ACT_TORN ||
              (h->d.action == SF_ACT_KILL && h->d.value == SIGKILL);
  if (rc == -ENOENT && h->sys >= 0 && !fatal) mon_tomb_add(r, h);
}

void mon_continue_call(struct run *r, struct held *h) {
  h->cont = 1;
  mon_answer(r, h);
}

void mon_arm_timer(struct run *r) {
  uint64_t next = r->delays.n ? r->delays.v[0].deadline : 0;
  if (next == r->timer_armed) return;
  struct itimerspec its = { { 0, 0 }, { (time_t)(next / 1000000000ull), (long)(next % 1000000000ull) } };
  timerfd_settime(r->timer_fd, TFD_TIMER_ABSTIME, &its, NULL); /* all zero disarms */
  r->timer_armed = next;
}

void mon_hold_delay(struct run *r, struct held *h) {
  h->cont = !h->err; /* a network delay may end in an error (a read timeout) */
  if (h->deadline <= sf_now_ns() || mon_heap_push(&r->delays, h) != 0) {
    mon_answer(r, h);
    return;
  }
  mon_arm_timer(r);
}
static void on_timer(struct run *r) {
  uint64_t ticks;
  if (read(r->timer_fd, &ticks, sizeof ticks) < 0) { /* EAGAIN: already handled */ }
  r->timer_armed = 0; /* an absolute timer that expired stays disarmed */
  uint64_t now = sf_now_ns();
  while (r->delays.n && r->delays.v[0].deadline <= now) {
    struct held h = r->delays.v[0];
    mon_heap_remove(&r->delays, 0);
    if (h.net_kind) mon_net_timer(r, &h);
    else mon_answer(r, &h);
  }
  mon_arm_timer(r);
}

/* ---- one notification ---- */

/* How many arguments the syscall takes: the registers past them hold leftovers that differ when the
 * program itself retries after EINTR (a kernel restart keeps every register). */
static int nargs(int sys) {
  switch (sys) {
  case SF_SYS_fsync:
  case SF_SYS_fdatasync: return 1;
  case SF_SYS_creat: return 2;
  case SF_SYS_read: case SF_SYS_write: case SF_SYS_readv: case SF_SYS_writev: case SF_SYS_recvmsg:
  case SF_SYS_sendmsg: case SF_SYS_connect: case SF_SYS_open: return 3;
  case SF_SYS_pread64: case SF_SYS_pwrite64: case SF_SYS_sync_file_range: case SF_SYS_openat:
  case SF_SYS_sendfile: return 4;
  case SF_SYS_preadv: case SF_SYS_pwritev: return 5;
  default: return 6;
  }
}

static int same_call(const struct held *a, const struct held *b) {
  return a->nr == b->nr && memcmp(a->args, b->args, (size_t)nargs(a->sys) * sizeof a->args[0]) == 0;
}

static void replay(struct run *r, struct held *t) {
  if (t->net_kind == NK_CONNECT && !t->answered) {
    mon_net_connect(r, t); /* a blocking connect waits again, as the kernel's restart does */
  } else if (t->net_kind == NK_READABLE && !t->answered) {
    mon_net_rewait(r, t); /* a blocking read of a stalled socket waits again, to its first deadline */
  } else if ((t->d.action == SF_ACT_SHORT || t->d.action == SF_ACT_TORN || t->full) && !t->answered) {
    mon_start_short(r, t);
  } else if (t->d.action == SF_ACT_DELAY) {
    mon_hold_delay(r, t); /* the rest of the original deadline */
  } else {
    mon_answer(r, t);
  }
}

/* 1 if h is the restart of a call already decided (and now handled), 0 if it is a new call. */
static int resume_restart(struct run *r, const struct held *h) {
  struct heldvec *lists[2] = { &r->delays, &r->ios };
  for (int k = 0; k < 2; k++) {
    ssize_t i = mon_vec_find_tid(lists[k], h->tid);
    if (i < 0) continue;
    struct held *old = &lists[k]->v[i];
    if (mon_id_valid(r, old->id)) return 0; /* cannot be: the thread is in a new call */
    TRACE("held tid=%d same=%d\n", h->tid, same_call(old, h));
    if (same_call(old, h)) {
      old->id = h->id;
      r->takeovers++;
      return 1;
    }
    if (old->io_fd >= 0) close(old->io_fd);
    if (k == 0) mon_heap_remove(&r->delays, (size_t)i), mon_arm_timer(r);
    else r->ios.v[i] = r->ios.v[--r->ios.n];
    break;
  }
  ssize_t i = mon_vec_find_tid(&r->tombs, h->tid);
  if (i < 0) return 0;
  struct held t = r->tombs.v[i];
  mon_vec_remove_ordered(&r->tombs, (size_t)i);
  TRACE("tomb tid=%d same=%d\n", h->tid, same_call(&t, h));
  if (!same_call(&t, h)) return 0;
  t.id = h->id;
  r->replays++;
  replay(r, &t);
  return 1;
}

static void apply(struct run *r, struct held *h) {
  switch (h->d.action) {
  case SF_ACT_ERRNO:
    if (is_sync(h->sys) && shadowing(r) && (r->m->shadow->flags & SF_SHADOW_DROP_DIRTY)) {
      int fd = mon_target_fd(r, h->tid, (int)h->args[0]); /* fsyncFailureDropsDirty: unsynced data is lost */
      if (fd >= 0) sf_shadow_drop_dirty(r->m->shadow, fd), close(fd);
    }
    h->err = -h->d.value;
    mon_answer(r, h);
    break;
  case SF_ACT_KILL:
  case SF_ACT_POWERCUT: {
    int sig = h->d.action == SF_ACT_POWERCUT ? SIGKILL : h->d.value, tree = crashes_tree(h->d.action, h->d.flags, sig);
    if (h->d.flags & SF_FLAG_AFTER_CALL) {
      mon_after_call(r, h, sig, tree);
      break;
    }
    /* Signal first. SIGKILL: fail the call (the task is dying; a CONTINUE could let the call run before the
     * kill lands). Another signal: the call proceeds (as under the preload engine); one whose default action
     * is fatal ends the task while it waits here, before the call. */
    if (h->d.flags & SF_FLAG_TREE) sf_tree_crash(r->m->shm, mon_tgid_of(r, h->tid), mon_tgid_of(r, h->tid));
    kill(mon_tgid_of(r, h->tid), sig);
    if (tree) sf_monitor_request_kill(r->m, SIGKILL);
    if (sig == SIGKILL) {
      h->err = -EINTR;
      mon_answer(r, h);
    } else {
      mon_continue_call(r, h);
    }
    break;
  }
  case SF_ACT_TORN: /* the first bytes written here, then SIGKILL before the reply */
    h->post_kill = SIGKILL;
    mon_start_short(r, h);
    break;
  case SF_ACT_REFUSE:
  case SF_ACT_BLACKHOLE: mon_net_connect(r, h); break;
  case SF_ACT_RESET:
  case SF_ACT_CLOSE: mon_net_end(r, h); break;
  case SF_ACT_DELAY:
    if (mon_net_delay(r, h)) break;
    h->deadline = sf_now_ns() + (h->d.value > 0 ? (uint64_t)h->d.value : 0) * NS_PER_MS;
    mon_hold_delay(r, h);
    break;
  case SF_ACT_SHORT: mon_start_short(r, h); break;
  default: mon_continue_call(r, h); break;
  }
}

static void on_notification(struct run *r) {
  memset(r->req, 0, r->req_size);
  if (ioctl(r->listener, SECCOMP_IOCTL_NOTIF_RECV, r->req) != 0) return; /* ENOENT: the task left first */
  const struct seccomp_notif *n = r->req;
  struct held h = { .id = n->id, .tid = (int32_t)n->pid, .nr = n->data.nr, .io_fd = -1 };
  memcpy(h.args, n->data.args, sizeof h.args);
  h.sys = n->data.arch == AUDIT_ARCH_X86_64 ? sf_sys_from_nr(n->data.nr) : -1;
  if (n->data.nr == SF_NR_IO_URING_SETUP) mon_say_io_uring(r, h.tid);
  h.d.rule = -1;
  if (h.sys < 0 && n->data.arch == AUDIT_ARCH_X86_64 && mon_is_exec(h.nr) && mon_exec_hold(r, &h)) return;
  if (h.sys < 0 || !r->m->shm || !r->m->plan) {
    mon_continue_call(r, &h);
    return;
  }
  TRACE("notif id=%llx tid=%d nr=%d a0=%llx\n", (unsigned long long)h.id, h.tid, h.nr, (unsigned long long)h.args[0]);
  if (resume_restart(r, &h)) return;
  if (mon_net_stalled(r, &h)) return;
  struct call_info ci;
  int described = mon_describe(r, &h, &ci);
  if (described < 0) return; /* the task left the call: it comes back as a new one, uncounted */
  if (described == MON_OWN_LIBRARY) {
    mon_continue_call(r, &h);
    return;
  }
  if (!sf_decide(r->m->shm, r->m->plan, &ci.call, &h.d)) {
    if (!mon_net_cap(r, &h, &ci)) mon_continue_call(r, &h);
    return;
  }
  if (h.d.action == SF_ACT_TORN) mon_torn_measure(r, &h);
  log_fault(r, &h, &ci);
  apply(r, &h);
}

/* ---- the listener, the control socket, the loop ---- */

static void drop_held(struct run *r) {
  for (size_t i = 0; i < r->ios.n; i++) close(r->ios.v[i].io_fd);
  mon_net_drop(r);
  r->ios.n = r->delays.n = r->tombs.n = 0;
  mon_arm_timer(r);
}

static void close_listener(struct run *r) {
  if (r->listener < 0) return;
  close(r->listener); /* every task that had the filter is gone: every held call is void */
  r->listener = -1;
  drop_held(r);
}

static void take_listener(struct run *r, int fd) {
  if (r->listener >= 0 || r->broken || !r->req) {
    close(fd);
    return;
  }
  r->listener = fd;
#ifndef SF_NO_SYNC_WAKEUP
  /* 6.6+: wake the monitor and the target on the waker's CPU. Older kernels: EINVAL/ENOTTY, ignored. */
  ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
#endif
}

static void report_error(struct run *r, const char *msg, int exec_errno) {
  if (r->m->cb.on_error) r->m->cb.on_error(r->m->cb.ctx, msg, exec_errno);
}

static void on_message(struct run *r, char *buf, ssize_t n, int fd) {
  int v = 0;
  if (n >= 5) memcpy(&v, buf + 1, sizeof v);
  buf[n] = 0;
  switch (buf[0]) {
  case 'P':
    r->target_pid = v;
    if (r->m->cb.on_started) r->m->cb.on_started(r->m->cb.ctx, v);
    break;
  case 'L':
    if (fd >= 0) take_listener(r, fd), fd = -1;
    break;
  case 'F': report_error(r, buf + 1, 0); break;
  case 'E': {
    char msg[160];
    snprintf(msg, sizeof msg, "cannot execute the target: %s", strerror(v));
    report_error(r, msg, v);
    break;
  }
  case 'X':
    r->status = v, r->exited = 1, r->done = 1;
    break;
  case 'g': /* the shim is ready for an exec held here (monitor-exec.c) */
    if (n == 9) {
      uint64_t id;
      memcpy(&id, buf + 1, sizeof id);
      mon_exec_answered(r, id);
    }
    break;
  case 'W':
  case 'A':
    if (r->m->cb.on_notice) r->m->cb.on_notice(r->m->cb.ctx, buf[0], buf + 1);
    break;
  default: break;
  }
  if (fd >= 0) close(fd);
}

static void on_ctl(struct run *r) {
  while (!r->done) {
    char buf[513];
    union {
      struct cmsghdr h;
      char b[CMSG_SPACE(4 * sizeof(int))];
    } u;
    struct iovec iov = { buf, sizeof buf - 1 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof u.b };
    ssize_t n = recvmsg(r->m->ctl_fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    /* The shim exited with a message of ours unread (a kill request that crossed its 'X': a power cut or a
     * tree crash asks for one after killing the tree itself). Linux then flags our socket ECONNRESET
     * (af_unix.c, unix_release_sock), and recvmsg reports that pending error once, before the messages
     * still queued for us: read on, the 'X' is behind it. */
    if (n < 0 && errno == ECONNRESET) continue;
    int fd = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); n >= 0 && c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; i++) {
        int got;
        memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof got);
        if (fd < 0) fd = got;
        else close(got);
      }
    }
    if (n <= 0) { /* the shim is gone without an 'X' */
      if (fd >= 0) close(fd);
      r->done = 1;
      return;
    }
    on_message(r, buf, n, fd);
  }
}

static void on_wake(struct run *r) {
  uint64_t v;
  if (read(r->m->wake_fd, &v, sizeof v) < 0) return;
  int sig = __atomic_exchange_n(&r->m->pending_kill, 0, __ATOMIC_SEQ_CST);
  if (sig <= 0) return;
  char msg[5] = { 'K' };
  memcpy(msg + 1, &sig, sizeof sig);
  send(r->m->ctl_fd, msg, sizeof msg, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static struct pollfd *poll_set(struct run *r, size_t n) {
  if (n > r->pfds_cap) {
    struct pollfd *p = malloc(n * sizeof *p);
    if (!p) return NULL;
    if (r->pfds != r->pfds_small) free(r->pfds);
    r->pfds = p, r->pfds_cap = n;
  }
  return r->pfds;
}

static void step(struct run *r) {
  enum { CTL, WAKE, LISTENER, TIMER, LOG, FIXED };
  size_t nios = r->ios.n;
  struct pollfd *p = poll_set(r, FIXED + nios);
  if (!p) nios = 0, p = r->pfds; /* FIXED always fits */
  p[CTL] = (struct pollfd){ r->m->ctl_fd, POLLIN, 0 };
  p[WAKE] = (struct pollfd){ r->m->wake_fd, POLLIN, 0 };
  p[LISTENER] = (struct pollfd){ r->listener, POLLIN, 0 };
  p[TIMER] = (struct pollfd){ r->timer_fd, POLLIN, 0 };
  p[LOG] = (struct pollfd){ r->log_efd, POLLIN, 0 };
  for (size_t i = 0; i < nios; i++) p[FIXED + i] = (struct pollfd){ r->ios.v[i].io_fd, r->ios.v[i].io_events, 0 };
  /* Preload: woken by the log's futex thread; still look every tick while an entry is half written, or
   * when that thread could not be started. */
  int timeout = (r->log_thread_on && !r->log_stuck_since) || (r->m->seccomp && !r->log_thread_on) ? -1 : PRELOAD_TICK_MS;
  if (nios && (timeout < 0 || timeout > IO_CHECK_MS)) timeout = IO_CHECK_MS;
  if (nios) timeout = mon_net_io_timeout(r, nios, timeout);
  if (poll(p, FIXED + nios, timeout) < 0 && errno != EINTR) {
    report_error(r, "monitor: poll failed", 0);
    r->done = 1;
    return;
  }
  if (nios) mon_on_io(r, p + FIXED, nios); /* first: the others change r->ios */
  if (p[LISTENER].revents & POLLIN) on_notification(r);
  if (p[LISTENER].revents & (POLLHUP | POLLERR | POLLNVAL)) close_listener(r);
  if (p[TIMER].revents) on_timer(r);
  if (p[LOG].revents) {
    uint64_t v;
    if (read(r->log_efd, &v, sizeof v) < 0) { /* drained below anyway */ }
  }
  if (p[WAKE].revents) on_wake(r);
  if (p[CTL].revents) on_ctl(r);
  drain_log(r, 0);
}

static int run_init(struct run *r, struct sf_monitor *m) {
  struct seccomp_notif_sizes sizes = { 0 };
  r->m = m;
  r->listener = -1;
  r->log_efd = -1;
  r->thread_pidfd = 1;
  struct stat own;
  if (m->own_library && stat(m->own_library, &own) == 0) r->own.dev = own.st_dev, r->own.ino = own.st_ino;
  r->pfds = r->pfds_small, r->pfds_cap = sizeof r->pfds_small / sizeof *r->pfds_small;
  r->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (r->timer_fd < 0) return -1;
  /* The kernel's structs may be larger than the headers' (SECCOMP_GET_NOTIF_SIZES, 5.0). Without them a
   * listener is refused; only the seccomp engine needs one. */
  if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0) return m->seccomp ? -1 : 0;
  r->req_size = sizes.seccomp_notif > sizeof *r->req ? sizes.seccomp_notif : sizeof *r->req;
  r->resp_size = sizes.seccomp_notif_resp > sizeof *r->resp ? sizes.seccomp_notif_resp : sizeof *r->resp;
  r->req = calloc(1, r->req_size);
  r->resp = calloc(1, r->resp_size);
  return r->req && r->resp ? 0 : -1;
}

static void run_free(struct run *r) {
  drop_held(r);
  if (r->listener >= 0) close(r->listener);
  if (r->timer_fd >= 0) close(r->timer_fd);
  free(r->delays.v), free(r->ios.v), free(r->tombs.v), free(r->stalls);
  free(r->req), free(r->resp), free(r->iobuf);
  if (r->pfds != r->pfds_small) free(r->pfds);
  free(r);
}

void sf_monitor_run(struct sf_monitor *m) {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, NULL); /* signals are the main thread's business */
  struct run *r = calloc(1, sizeof *r);
  if (!r) {
    if (m->cb.on_error) m->cb.on_error(m->cb.ctx, "monitor: out of memory", 0);
    if (m->cb.on_exit) m->cb.on_exit(m->cb.ctx, -1);
    return; /* sf_monitor_destroy closes the control socket: the shim kills the tree */
  }
  if (run_init(r, m) != 0) {
    /* Without a working monitor the target must not run: kill it, wait for the shim's report. */
    report_error(r, "monitor: cannot set up (out of memory or file descriptors)", 0);
    r->broken = 1;
    sf_monitor_request_kill(m, SIGKILL);
  }
  /* the preload library, and the Go agent under seccomp, append to the log from inside the target */
  if (m->shm && !r->broken) mon_log_waiter_start(r);
  while (!r->done) step(r);
  mon_log_waiter_stop(r);
  drop_held(r); /* after 'X' every task is gone: no held call can be answered */
  drain_log(r, 1);
  int status = r->exited ? r->status : -1;
#ifdef SF_MONITOR_STATS
  fprintf(stderr, "monitor: restarts taken over %lu, tombstones %lu, replayed %lu, transfers parked %lu\n",
          r->takeovers, r->tombstones, r->replays, r->parked);
#endif
  run_free(r);
  if (m->cb.on_exit) m->cb.on_exit(m->cb.ctx, status);
}

int sf_monitor_init(struct sf_monitor *m, int ctl_fd, struct sf_shm *shm, const struct sf_plan *plan, int seccomp,
                    const struct sf_monitor_callbacks *cb) {
  memset(m, 0, sizeof *m);
  m->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (m->wake_fd < 0) return -errno;
  m->ctl_fd = ctl_fd;
  m->shm = shm;
  m->plan = plan;
  m->seccomp = seccomp;
  if (cb) m->cb = *cb;
  return 0;
}

void sf_monitor_request_kill(struct sf_monitor *m, int sig) {
  int cur = __atomic_load_n(&m->pending_kill, __ATOMIC_SEQ_CST);
  do {
    if (cur == SIGKILL) break; /* never downgrade a pending SIGKILL */
  } while (!__atomic_compare_exchange_n(&m->pending_kill, &cur, sig, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
  uint64_t one = 1;
  if (write(m->wake_fd, &one, sizeof one) < 0) { /* the counter is already non-zero: a wake-up is pending */ }
}

void sf_monitor_destroy(struct sf_monitor *m) {
  if (m->ctl_fd >= 0) close(m->ctl_fd);
  if (m->wake_fd >= 0) close(m->wake_fd);
  m->ctl_fd = m->wake_fd = -1;
}
