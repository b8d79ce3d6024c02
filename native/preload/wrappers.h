/*
 * Every libc symbol the preload engine wraps, one line each, grouped by signature. preload-wrap.c expands each
 * group with the template for its signature (preload-open.c the open family's); the rest are hand-written
 * (preload-calls.c). The second column is the syscall the kernel sees for that function on x86_64 glibc
 * (open() is openat, recv() is recvfrom, send() is sendto), so a plan means the same under both engines. The
 * third is the raw syscall used before the real symbol is resolved.
 */

/* ssize_t f(int fd, [const] void *buf, size_t n); the last column is the buffer's qualifier */
#define SF_WRAP_RW(X)                \
  X(read, read, SYS_read, )          \
  X(write, write, SYS_write, const)

/* ssize_t f(int fd, void *buf, size_t n, size_t buflen): _FORTIFY_SOURCE variants */
#define SF_WRAP_RW_CHK(X) X(__read_chk, read, SYS_read)

/* ssize_t f(int fd, [const] void *buf, size_t n, off_t off) */
#define SF_WRAP_PRW(X)                     \
  X(pread, pread64, SYS_pread64, )         \
  X(pread64, pread64, SYS_pread64, )       \
  X(pwrite, pwrite64, SYS_pwrite64, const) \
  X(pwrite64, pwrite64, SYS_pwrite64, const)

/* ssize_t f(int fd, void *buf, size_t n, off_t off, size_t buflen) */
#define SF_WRAP_PRW_CHK(X)                 \
  X(__pread_chk, pread64, SYS_pread64)     \
  X(__pread64_chk, pread64, SYS_pread64)

/* ssize_t f(int fd, const struct iovec *iov, int cnt) */
#define SF_WRAP_VEC(X)               \
  X(readv, readv, SYS_readv)         \
  X(writev, writev, SYS_writev)

/* ssize_t f(int fd, const struct iovec *iov, int cnt, off_t off) */
#define SF_WRAP_PVEC(X)                    \
  X(preadv, preadv, SYS_preadv)            \
  X(preadv64, preadv, SYS_preadv)          \
  X(pwritev, pwritev, SYS_pwritev)         \
  X(pwritev64, pwritev, SYS_pwritev)

/* ssize_t f(int fd, const struct iovec *iov, int cnt, off_t off, int flags) */
#define SF_WRAP_PVEC2(X)                   \
  X(preadv2, preadv2, SYS_preadv2)         \
  X(preadv64v2, preadv2, SYS_preadv2)      \
  X(pwritev2, pwritev2, SYS_pwritev2)      \
  X(pwritev64v2, pwritev2, SYS_pwritev2)

/* ssize_t f(int fd, [const] void *buf, size_t n, int flags) */
#define SF_WRAP_SOCK(X)                 \
  X(recv, recvfrom, SYS_recvfrom, )     \
  X(send, sendto, SYS_sendto, const)

/* ssize_t f(int fd, void *buf, size_t n, int flags, struct sockaddr *a, socklen_t(*) l) */
#define SF_WRAP_SOCKTO(X)                  \
  X(recvfrom, recvfrom, SYS_recvfrom)      \
  X(sendto, sendto, SYS_sendto)

/* ssize_t f(int fd, struct msghdr *msg, int flags) */
#define SF_WRAP_MSG(X)                     \
  X(recvmsg, recvmsg, SYS_recvmsg)         \
  X(sendmsg, sendmsg, SYS_sendmsg)

/* int f(int fd) */
#define SF_WRAP_SYNC(X)                    \
  X(fsync, fsync, SYS_fsync)               \
  X(fdatasync, fdatasync, SYS_fdatasync)

/* int f(const char *path, int flags, ...) and the 2-argument _FORTIFY_SOURCE forms */
#define SF_WRAP_OPEN(X)  X(open, openat) X(open64, openat)
#define SF_WRAP_OPEN2(X) X(__open_2, openat) X(__open64_2, openat)
#define SF_WRAP_OPENAT(X)  X(openat, openat) X(openat64, openat)
#define SF_WRAP_OPENAT2(X) X(__openat_2, openat) X(__openat64_2, openat)
#define SF_WRAP_CREAT(X) X(creat, openat) X(creat64, openat)

/* Functions wrapped only to keep the fd cache true: they create, replace or close descriptors. */
#define SF_WRAP_FDRESET(X) X(close) X(socket) X(accept) X(accept4) X(pipe) X(pipe2) X(socketpair) X(dup2) \
  X(dup3) X(close_range) X(fopen) X(fopen64) X(fclose)

/* Wrapped one by one (preload-calls.c): signatures no other wrapper shares. */
#define SF_WRAP_SINGLE(X) X(connect) X(sync_file_range) X(sendfile) X(copy_file_range) X(splice) X(msync)

/* The groups preload-wrap.c generates with the split per-call path, and the rest. */
#define SF_WRAP_GENERATED(X)                                                                                  \
  SF_WRAP_RW(X) SF_WRAP_RW_CHK(X) SF_WRAP_PRW(X) SF_WRAP_PRW_CHK(X) SF_WRAP_VEC(X) SF_WRAP_PVEC(X)             \
  SF_WRAP_PVEC2(X) SF_WRAP_SOCK(X) SF_WRAP_SYNC(X)
#define SF_WRAP_OTHERS(X)                                                                                     \
  SF_WRAP_SOCKTO(X) SF_WRAP_MSG(X) SF_WRAP_OPEN(X) SF_WRAP_OPEN2(X) SF_WRAP_OPENAT(X) SF_WRAP_OPENAT2(X)       \
  SF_WRAP_CREAT(X) SF_WRAP_FDRESET(X) SF_WRAP_SINGLE(X)
/* Every wrapped name: one real_<name> slot each, filled by the resolver. */
#define SF_WRAP_ALL(X) SF_WRAP_GENERATED(X) SF_WRAP_OTHERS(X)
