/*
 * The preload engine's hand-written wrappers: signatures no template of preload-wrap.c covers (recvfrom and
 * sendto with an address, the msghdr calls, connect, sync_file_range, the moves between descriptors), and the
 * wrappers that only keep the descriptor facts true (SF_WRAP_FDRESET). The engine's rules: preload-internal.h.
 */
#include <fcntl.h>
#include <linux/close_range.h>

#include "preload-internal.h"

SF_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *addr, socklen_t *alen) {
  SF_DECIDE(recvfrom, fd)
  SF_SHORTEN(n);
  return REAL(recvfrom, RAW(SYS_recvfrom, fd, buf, n, flags, addr, alen), fd, buf, n, flags, addr, alen);
}

SF_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags) {
  if (n > buflen) __chk_fail();
  SF_DECIDE(recvfrom, fd)
  SF_SHORTEN(n);
  return REAL(recv, RAW(SYS_recvfrom, fd, buf, n, flags, NULL, NULL), fd, buf, n, flags);
}

SF_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *addr,
                                 socklen_t *alen) {
  if (n > buflen) __chk_fail();
  SF_DECIDE(recvfrom, fd)
  SF_SHORTEN(n);
  return REAL(recvfrom, RAW(SYS_recvfrom, fd, buf, n, flags, addr, alen), fd, buf, n, flags, addr, alen);
}

SF_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr, socklen_t alen) {
  SF_DECIDE(sendto, fd)
  SF_SHORTEN(n);
  return REAL(sendto, RAW(SYS_sendto, fd, buf, n, flags, addr, alen), fd, buf, n, flags, addr, alen);
}

static ssize_t sf_msg_call(int send, int fd, struct msghdr *msg, int flags, int action, int32_t value) {
  struct msghdr copy;
  struct iovec iov[SF_SHORT_IOV];
  if (action == SF_ACT_SHORT && msg && msg->msg_iovlen > 0) {
    copy = *msg;
    copy.msg_iovlen = (size_t)sf_short_iov(msg->msg_iov, (int)msg->msg_iovlen, (size_t)value, iov);
    copy.msg_iov = iov;
    ssize_t r = send ? REAL(sendmsg, RAW(SYS_sendmsg, fd, &copy, flags), fd, &copy, flags)
                     : REAL(recvmsg, RAW(SYS_recvmsg, fd, &copy, flags), fd, &copy, flags);
    if (!send) msg->msg_flags = copy.msg_flags, msg->msg_controllen = copy.msg_controllen,
               msg->msg_namelen = copy.msg_namelen;
    return r;
  }
  return send ? REAL(sendmsg, RAW(SYS_sendmsg, fd, msg, flags), fd, msg, flags)
              : REAL(recvmsg, RAW(SYS_recvmsg, fd, msg, flags), fd, msg, flags);
}

SF_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags) {
  SF_DECIDE(recvmsg, fd)
  return sf_msg_call(0, fd, msg, flags, sf_action, sf_value);
}

SF_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) {
  SF_DECIDE(sendmsg, fd)
  return sf_msg_call(1, fd, (struct msghdr *)msg, flags, sf_action, sf_value);
}

SF_EXPORT int sync_file_range(int fd, off64_t off, off64_t n, unsigned int flags) {
  SF_DECIDE(sync_file_range, fd)
  return REAL(sync_file_range, (int)RAW(SYS_sync_file_range, fd, off, n, flags), fd, off, n, flags);
}

/* msync has no descriptor: rules on it filter by neither path nor fd (the plan refuses them); a fault's target
 * is the range it was asked to write back, as the supervisor logs it */
SF_EXPORT int msync(void *addr, size_t len, int flags) {
  int32_t sf_value = 0;
  int sf_action = SF_ACT_NONE;
  if (UNLIKELY(sf_wants(SF_SYS_msync))) {
    struct sf_call c;
    char range[64];
    sf_call_init(&c, SF_SYS_msync, -1);
    sf_mapping_target((uint64_t)(uintptr_t)addr, len, range, sizeof range);
    sf_count(SF_SYS_msync);
    sf_action = sf_intercept(&c, range, &sf_value);
  }
  if (UNLIKELY(sf_action == SF_ACT_ERRNO)) {
    errno = sf_value;
    return -1;
  }
  return REAL(msync, (int)RAW(SYS_msync, addr, len, flags), addr, len, flags);
}

SF_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len) {
  fd_reset(fd);
  int32_t sf_value = 0;
  int sf_action = SF_ACT_NONE;
  if (UNLIKELY(sf_wants(SF_SYS_connect))) {
    struct sf_call c;
    struct sf_addr peer;
    sf_call_init(&c, SF_SYS_connect, fd);
    if (sf_addr_from_sockaddr(addr, len, &peer) == 0) c.peer = &peer;
    sf_count(SF_SYS_connect);
    sf_action = sf_intercept(&c, NULL, &sf_value);
  }
  if (UNLIKELY(sf_action == SF_ACT_ERRNO)) {
    errno = sf_value;
    return -1;
  }
  if (UNLIKELY(sf_action == SF_ACT_REFUSE || sf_action == SF_ACT_BLACKHOLE)) {
    struct sockaddr_storage to;
    socklen_t tolen = sf_net_redirect(fd, addr, len, sf_action, &to);
    if (tolen) return REAL(connect, (int)RAW(SYS_connect, fd, &to, tolen), fd, (struct sockaddr *)&to, tolen);
    if (sf_action == SF_ACT_REFUSE) { /* not a TCP socket: the errno alone */
      errno = ECONNREFUSED;
      return -1;
    }
  }
  return REAL(connect, (int)RAW(SYS_connect, fd, addr, len), fd, addr, len);
}

SF_EXPORT ssize_t sendfile(int out, int in, off_t *off, size_t n) {
  SF_DECIDE(sendfile, out)
  SF_SHORTEN(n);
  return REAL(sendfile, RAW(SYS_sendfile, out, in, off, n), out, in, off, n);
}
SF_EXPORT ssize_t sendfile64(int out, int in, off64_t *off, size_t n) { return sendfile(out, in, off, n); }

SF_EXPORT ssize_t copy_file_range(int in, off64_t *in_off, int out, off64_t *out_off, size_t n, unsigned int flags) {
  SF_DECIDE(copy_file_range, out)
  SF_SHORTEN(n);
  return REAL(copy_file_range, RAW(SYS_copy_file_range, in, in_off, out, out_off, n, flags), in, in_off, out, out_off,
              n, flags);
}

SF_EXPORT ssize_t splice(int in, off64_t *in_off, int out, off64_t *out_off, size_t n, unsigned int flags) {
  SF_DECIDE(splice, out)
  SF_SHORTEN(n);
  return REAL(splice, RAW(SYS_splice, in, in_off, out, out_off, n, flags), in, in_off, out, out_off, n, flags);
}

/* ---- descriptor bookkeeping only (SF_WRAP_FDRESET) ----
 * These reach libc through REAL() too; the stdio ones have no raw fallback, so they make sure the symbols
 * are resolved first (they may run before our constructor, from another library's). */

static inline void sf_resolved(void) {
  if (UNLIKELY(__atomic_load_n(&sf_state, __ATOMIC_ACQUIRE) == SF_UNINIT) && !sf_guard) sf_init_slow();
}

SF_EXPORT int close(int fd) {
  fd_reset(fd);
  return REAL(close, (int)RAW(SYS_close, fd), fd);
}
SF_EXPORT int socket(int domain, int type, int protocol) {
  int fd = REAL(socket, (int)RAW(SYS_socket, domain, type, protocol), domain, type, protocol);
  fd_reset(fd);
  return fd;
}
SF_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len) {
  int r = REAL(accept, (int)RAW(SYS_accept, fd, addr, len), fd, addr, len);
  fd_reset(r);
  return r;
}
SF_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
  int r = REAL(accept4, (int)RAW(SYS_accept4, fd, addr, len, flags), fd, addr, len, flags);
  fd_reset(r);
  return r;
}
SF_EXPORT int pipe(int fds[2]) {
  int r = REAL(pipe, (int)RAW(SYS_pipe2, fds, 0), fds);
  if (r == 0) fd_reset(fds[0]), fd_reset(fds[1]);
  return r;
}
SF_EXPORT int pipe2(int fds[2], int flags) {
  int r = REAL(pipe2, (int)RAW(SYS_pipe2, fds, flags), fds, flags);
  if (r == 0) fd_reset(fds[0]), fd_reset(fds[1]);
  return r;
}
SF_EXPORT int socketpair(int domain, int type, int protocol, int fds[2]) {
  int r = REAL(socketpair, (int)RAW(SYS_socketpair, domain, type, protocol, fds), domain, type, protocol, fds);
  if (r == 0) fd_reset(fds[0]), fd_reset(fds[1]);
  return r;
}
SF_EXPORT int dup2(int oldfd, int newfd) {
  int r = REAL(dup2, (int)RAW(SYS_dup2, oldfd, newfd), oldfd, newfd);
  fd_reset(r);
  return r;
}
SF_EXPORT int dup3(int oldfd, int newfd, int flags) {
  int r = REAL(dup3, (int)RAW(SYS_dup3, oldfd, newfd, flags), oldfd, newfd, flags);
  fd_reset(r);
  return r;
}
SF_EXPORT int close_range(unsigned int first, unsigned int last, int flags) {
  int r = REAL(close_range, (int)RAW(SYS_close_range, first, last, flags), first, last, flags);
  if (r == 0 && !(flags & CLOSE_RANGE_CLOEXEC))
    for (unsigned int fd = first; fd <= last && fd < SF_FD_TABLE; fd++) fd_reset((int)fd);
  return r;
}
SF_EXPORT FILE *fopen(const char *path, const char *mode) {
  sf_resolved();
  FILE *f = REAL(fopen, (errno = ENOSYS, NULL), path, mode);
  if (f) fd_reset(fileno(f));
  return f;
}
SF_EXPORT FILE *fopen64(const char *path, const char *mode) {
  sf_resolved();
  FILE *f = REAL(fopen64, (errno = ENOSYS, NULL), path, mode);
  if (f) fd_reset(fileno(f));
  return f;
}
SF_EXPORT int fclose(FILE *f) {
  sf_resolved();
  if (f) fd_reset(fileno(f));
  return REAL(fclose, (errno = ENOSYS, EOF), f);
}
