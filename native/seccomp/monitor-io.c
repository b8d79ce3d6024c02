/*
 * The run monitor's transfers done on the target's behalf (see monitor.c): short and torn transfers, a call
 * done here in full before a kill after it, fsync and friends done here (power cut), and the transfers parked
 * until their fd is ready.
 */
#include "monitor-internal.h"

/* ---- short transfers: done here, with a copy of the target's fd, on the target's behalf ---- */

enum { IO_DIRECT, IO_NOWAIT_SOCKET, IO_NOWAIT_OTHER };

/* Files are read and written in place. A blocking pipe, socket or terminal must not block this thread:
 * the transfer is tried without waiting and parked on poll() until the fd is ready. */
static int io_mode(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0 || S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) return IO_DIRECT;
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0 && (fl & O_NONBLOCK)) return IO_DIRECT; /* the call itself would return EAGAIN */
  return S_ISSOCK(st.st_mode) ? IO_NOWAIT_SOCKET : IO_NOWAIT_OTHER;
}

struct xfer {
  int write, sock, flags;
  int pos, rwf; /* positioned (preadv2 and friends): offset (-1: the file position) and RWF_ flags */
  off_t off;
  size_t n, nriov;
};

/* The transfer h asks for, in full (its remote iovecs in r->riov, their total in *total), or -1 when this call
 * is not done here (see short_plan). */
static int xfer_setup(struct run *r, const struct held *h, struct xfer *x, size_t *total) {
  const uint64_t *a = h->args;
  memset(x, 0, sizeof *x);
  x->off = -1;
  size_t nriov = 1;
  switch (h->sys) {
  case SF_SYS_write: x->write = 1; /* fall through */
  case SF_SYS_read: break;
  case SF_SYS_pwrite64: x->write = 1; /* fall through */
  case SF_SYS_pread64:
    x->pos = 1, x->off = (off_t)a[3];
    if (x->off < 0) return -1;
    break;
  case SF_SYS_sendto: x->write = 1; /* fall through */
  case SF_SYS_recvfrom:
    if (a[4]) return -1;
    x->sock = 1, x->flags = (int)a[3];
    break;
  case SF_SYS_pwritev2:
  case SF_SYS_preadv2: x->rwf = (int)a[5]; /* fall through */
  case SF_SYS_pwritev:
  case SF_SYS_preadv:
    x->pos = 1, x->off = (off_t)a[3]; /* pos_h (a4) is shifted out on 64-bit */
    if (x->off < (h->sys == SF_SYS_preadv2 || h->sys == SF_SYS_pwritev2 ? -1 : 0)) return -1; /* -1: file position */
    /* fall through */
  case SF_SYS_writev:
  case SF_SYS_readv:
    x->write = h->sys == SF_SYS_writev || h->sys == SF_SYS_pwritev || h->sys == SF_SYS_pwritev2;
    nriov = (size_t)a[2];
    if (nriov == 0 || nriov > REMOTE_IOV_MAX) return -1;
    break;
  default: return -1;
  }
  if (sf_sys_shape(h->sys) == SF_SHAPE_VEC || sf_sys_shape(h->sys) == SF_SHAPE_PVEC) {
    if (mon_read_mem(h->tid, a[1], r->riov, nriov * sizeof *r->riov) != (ssize_t)(nriov * sizeof *r->riov)) return -1;
  } else {
    r->riov[0] = (struct iovec){ (void *)(uintptr_t)a[1], (size_t)a[2] };
  }
  *total = 0;
  for (size_t i = 0; i < nriov; i++) *total += r->riov[i].iov_len;
  x->nriov = nriov;
  return 0;
}

/* The transfer a decision asks for, or -1 when this call is not shortened here: recvmsg, sendmsg,
 * sendfile, copy_file_range, splice, recvfrom/sendto with an address, an offset the kernel refuses, or
 * nothing to cut. Such a call proceeds unchanged (sf_decide has counted it as faulted all the same).
 * A torn write keeps d.value bytes (mon_torn_measure); a full transfer (h->full) is not cut. */
static int short_plan(struct run *r, const struct held *h, struct xfer *x) {
  size_t total;
  if (xfer_setup(r, h, x, &total) != 0) return -1;
  size_t nriov = x->nriov;
  size_t limit = h->d.value > 0 ? (size_t)h->d.value : 0;
  if (h->full) limit = total;
  else if (total <= limit && h->d.action != SF_ACT_TORN) return -1;
  if (limit > total) limit = total;
  if (limit > SHORT_MAX_BYTES) limit = SHORT_MAX_BYTES;
  size_t left = limit, i = 0; /* cut the remote iovecs down to limit bytes */
  for (; i < nriov && left; i++) {
    if (r->riov[i].iov_len > left) r->riov[i].iov_len = left;
    left -= r->riov[i].iov_len;
  }
  x->n = limit, x->nriov = i;
  return 0;
}

/* A torn write: how many of the bytes asked it keeps, in d.value (logged so). */
void mon_torn_measure(struct run *r, struct held *h) {
  struct xfer x;
  size_t total = 0;
  if (xfer_setup(r, h, &x, &total) != 0) total = 0;
  size_t keep = sf_torn_keep(total, h->d.value, h->d.value2);
  if (keep > SHORT_MAX_BYTES) keep = SHORT_MAX_BYTES;
  h->d.value = (int32_t)keep, h->d.value2 = 0;
}

static char *iobuf(struct run *r, size_t n) {
  if (n == 0) n = 1;
  if (n > r->iobuf_cap) {
    char *b = realloc(r->iobuf, n);
    if (!b) return NULL;
    r->iobuf = b, r->iobuf_cap = n;
  }
  return r->iobuf;
}

static ssize_t do_io(int fd, const struct xfer *x, char *buf, size_t n, int mode) {
  if (x->sock || mode == IO_NOWAIT_SOCKET) {
    int flags = x->flags | MSG_NOSIGNAL | (mode == IO_NOWAIT_SOCKET ? MSG_DONTWAIT : 0);
    return x->write ? send(fd, buf, n, flags) : recv(fd, buf, n, flags);
  }
  struct iovec iov = { buf, n };
  if (mode == IO_NOWAIT_OTHER) {
    int rwf = x->rwf | RWF_NOWAIT;
    ssize_t rc = x->write ? pwritev2(fd, &iov, 1, x->off, rwf) : preadv2(fd, &iov, 1, x->off, rwf);
    if (rc >= 0 || errno != EOPNOTSUPP) return rc;
    struct pollfd p = { fd, x->write ? POLLOUT : POLLIN, 0 }; /* a terminal, a character device */
    if (poll(&p, 1, 0) != 1) {
      errno = EAGAIN;
      return -1;
    }
  }
  if (x->pos) return x->write ? pwritev2(fd, &iov, 1, x->off, x->rwf) : preadv2(fd, &iov, 1, x->off, x->rwf);
  return x->write ? write(fd, buf, n) : read(fd, buf, n);
}

/* One attempt at h's transfer through fd. 1: answered in h; 0: would block; -1: the task left the call. */
static int short_step(struct run *r, struct held *h, int fd) {
  struct xfer x;
  if (short_plan(r, h, &x) != 0) {
    h->cont = 1;
    return 1;
  }
  char *buf = iobuf(r, x.n);
  if (!buf) {
    h->cont = 1;
    return 1;
  }
  struct iovec local = { buf, x.n };
  ssize_t got = x.write && x.n ? process_vm_readv(h->tid, &local, 1, r->riov, x.nriov, 0) : (ssize_t)x.n;
  if (!mon_id_valid(r, h->id)) return -1;
  if (got < 0) {
    h->err = -EFAULT;
    return 1;
  }
  h->io_events = x.write ? POLLOUT : POLLIN;
  ssize_t done = do_io(fd, &x, buf, (size_t)got, h->io_nowait);
  if (done < 0 && errno == EAGAIN && h->io_nowait != IO_DIRECT) return 0;
  if (done < 0) {
    h->err = -errno;
    if (errno == EPIPE && !(x.sock && (x.flags & MSG_NOSIGNAL))) /* what the kernel does to the writer */
      syscall(SYS_tgkill, mon_tgid_of(r, h->tid), h->tid, SIGPIPE);
    return 1;
  }
  h->val = done;
  if (!x.write && done > 0) { /* the one write into target memory: the bytes its read got */
    local.iov_len = (size_t)done;
    size_t left = (size_t)done, i = 0;
    for (; i < x.nriov && left; i++) {
      if (r->riov[i].iov_len > left) r->riov[i].iov_len = left;
      left -= r->riov[i].iov_len;
    }
    if (process_vm_writev(h->tid, &local, 1, r->riov, i, 0) != done) h->err = -EFAULT;
  }
  return 1;
}

/* Runs one step and files h by its outcome; takes ownership of fd. */
static void short_settle(struct run *r, struct held *h, int fd, int rc) {
  if (rc == 0) {
    h->io_fd = fd;
    r->parked++;
    if (mon_vec_push(&r->ios, h)) return;
    h->io_fd = -1, h->cont = 1, rc = 1; /* out of memory: let the call run as it is */
  }
  close(fd);
  if (rc < 0) {
    h->answered = 0; /* interrupted before the transfer: its restart does it */
    mon_tomb_add(r, h);
  } else {
    mon_answer(r, h);
  }
}

void mon_start_short(struct run *r, struct held *h) {
  int fd = mon_target_fd(r, h->tid, (int)h->args[0]);
  if (fd < 0) {
    if (errno == EBADF) h->err = -EBADF; /* what the call itself would say */
    else h->cont = 1;
    mon_answer(r, h);
    return;
  }
  h->io_nowait = io_mode(fd);
  if (h->io_nowait == IO_NOWAIT_SOCKET) { /* a blocking socket: parked no longer than its own timeout */
    uint64_t t = sf_net_timeout_ns(fd, sf_sys_sock_write(h->sys));
    if (t) h->io_deadline = sf_now_ns() + t;
  }
  short_settle(r, h, fd, short_step(r, h, fd));
}

/* Parked transfers whose fd became ready (revents parallel to r->ios as polled), and every IO_CHECK_MS
 * the ones whose task is gone (they would hold a copy of its socket open). */
void mon_on_io(struct run *r, const struct pollfd *pfds, size_t n) {
  uint64_t now = sf_now_ns();
  int check = now - r->io_checked >= IO_CHECK_MS * NS_PER_MS;
  if (check) r->io_checked = now;
  for (size_t i = n; i-- > 0;) { /* backwards: removal moves the last entry, already seen, into i */
    struct held h = r->ios.v[i];
    int rc;
    if (pfds[i].revents) rc = h.net_kind ? mon_net_io_ready(r, &h) : short_step(r, &h, h.io_fd);
    else if (h.io_deadline && now >= h.io_deadline) rc = mon_net_io_expired(r, &h);
    else if (check && !mon_id_valid(r, h.id)) rc = -1;
    else continue;
    if (rc == 0) continue;
    r->ios.v[i] = r->ios.v[--r->ios.n];
    short_settle(r, &h, h.io_fd, rc);
  }
}

/* Does h's fsync, fdatasync or sync_file_range here, on a copy of the target's fd (the same open file), so
 * that its outcome is known: under a power cut the synced state is recorded (before a successful reply), and
 * a kill after the call cannot race it. Leaves the answer in h. */
void mon_own_sync(struct run *r, struct held *h) {
  int fd = mon_target_fd(r, h->tid, (int)h->args[0]);
  if (fd < 0) {
    if (errno == EBADF)
      h->cont = 0, h->err = -EBADF; /* what the call itself would say */
    else
      h->cont = 1; /* let the call run as it is */
    return;
  }
  struct sf_shadow_op op = { 0 };
  if (shadowing(r) && is_sync(h->sys)) sf_shadow_begin(r->m->shadow, fd, &op);
  int rc;
  if (h->sys == SF_SYS_sync_file_range)
    rc = sync_file_range(fd, (off64_t)h->args[1], (off64_t)h->args[2], (unsigned int)h->args[3]);
  else
    rc = h->sys == SF_SYS_fdatasync ? fdatasync(fd) : fsync(fd);
  int err = errno;
  sf_shadow_end(r->m->shadow, &op, rc == 0);
  close(fd);
  h->cont = 0, h->val = 0, h->err = rc == 0 ? 0 : -err;
}

/* The file I/O a transfer done here can carry out (short_plan). */
static int transfer_done_here(int sys) {
  switch (sys) {
  case SF_SYS_read: case SF_SYS_write: case SF_SYS_pread64: case SF_SYS_pwrite64: case SF_SYS_readv:
  case SF_SYS_writev: case SF_SYS_preadv: case SF_SYS_pwritev: case SF_SYS_preadv2: case SF_SYS_pwritev2:
  case SF_SYS_recvfrom: case SF_SYS_sendto: return 1;
  default: return 0;
  }
}

/* A kill after the call: the call is done here in full, then the signal, then the reply. */
void mon_after_call(struct run *r, struct held *h, int sig, int tree) {
  h->post_kill = sig, h->tree_kill = tree;
  if (is_sync(h->sys) || h->sys == SF_SYS_sync_file_range) {
    mon_own_sync(r, h);
    mon_answer(r, h);
  } else if (transfer_done_here(h->sys)) {
    h->full = 1;
    mon_start_short(r, h);
  } else {
    mon_continue_call(r, h); /* not done here: let it run, then signal (mon_answer) */
  }
}
