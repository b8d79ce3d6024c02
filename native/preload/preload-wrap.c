/*
 * The preload engine's wrappers generated from wrappers.h, one template per signature (the hand-written ones
 * are in preload-calls.c and preload-open.c; the engine's rules in preload-internal.h).
 */
#include "preload-internal.h"

/* Each wrapper is split in three so that the common paths are tail calls with no stack frame: the exported function
 * only asks whether the plan names its syscall (every call no rule names goes straight on to libc);
 * sf_<name> counts the call and asks whether any rule could fire on it (for a never-matching path filter,
 * a few bit tests on the fd's cached facts); sf_fire_<name> decides and applies the action. */

#define DEF_SPLIT(ret, name, sys, params, args, real_call, body)                    \
  static __attribute__((noinline)) ret sf_fire_##name params {                      \
    SF_AFTER_SCOPE();                                                               \
    int32_t sf_value = 0;                                                           \
    int sf_action = sf_decide_fd(SF_SYS_##sys, fd, &sf_value);                      \
    if (sf_action == SF_ACT_ERRNO) {                                                \
      errno = sf_value;                                                             \
      return -1;                                                                    \
    }                                                                               \
    body                                                                            \
  }                                                                                 \
  static __attribute__((noinline)) ret sf_##name params {                           \
    if (UNLIKELY(sf_candidates(SF_SYS_##sys, fd))) return sf_fire_##name args;      \
    return real_call;                                                               \
  }                                                                                 \
  SF_EXPORT ret name params {                                                       \
    if (UNLIKELY(sf_wants(SF_SYS_##sys))) return sf_##name args;                    \
    return real_call;                                                               \
  }

#define DEF_RW(name, sys, nr, q)                                                            \
  DEF_SPLIT(ssize_t, name, sys, (int fd, q void *buf, size_t n), (fd, buf, n),              \
            REAL(name, RAW(nr, fd, buf, n), fd, buf, n),                                    \
            SF_SHORTEN(n); return REAL(name, RAW(nr, fd, buf, n), fd, buf, n);)
/* The raw fallback of a _chk function must still check the buffer size (libc's version does it itself). */
#define CHK_RAW(n, buflen, raw) ((n) > (buflen) ? (__chk_fail(), 0) : (raw))
#define DEF_RW_CHK(name, sys, nr)                                                           \
  DEF_SPLIT(ssize_t, name, sys, (int fd, void *buf, size_t n, size_t buflen), (fd, buf, n, buflen), \
            REAL(name, CHK_RAW(n, buflen, RAW(nr, fd, buf, n)), fd, buf, n, buflen),                            \
            SF_SHORTEN(n);           \
            return REAL(name, CHK_RAW(n, buflen, RAW(nr, fd, buf, n)), fd, buf, n, buflen);)
#define DEF_PRW(name, sys, nr, q)                                                           \
  DEF_SPLIT(ssize_t, name, sys, (int fd, q void *buf, size_t n, off_t off), (fd, buf, n, off), \
            REAL(name, RAW(nr, fd, buf, n, off), fd, buf, n, off),                          \
            SF_SHORTEN(n);                                         \
            return REAL(name, RAW(nr, fd, buf, n, off), fd, buf, n, off);)
#define DEF_PRW_CHK(name, sys, nr)                                                          \
  DEF_SPLIT(ssize_t, name, sys, (int fd, void *buf, size_t n, off_t off, size_t buflen),    \
            (fd, buf, n, off, buflen), REAL(name, CHK_RAW(n, buflen, RAW(nr, fd, buf, n, off)), fd, buf, n, off, buflen), \
            SF_SHORTEN(n);           \
            return REAL(name, CHK_RAW(n, buflen, RAW(nr, fd, buf, n, off)), fd, buf, n, off, buflen);)
#define DEF_VEC(name, sys, nr)                                                              \
  DEF_SPLIT(ssize_t, name, sys, (int fd, const struct iovec *iov, int cnt), (fd, iov, cnt), \
            REAL(name, RAW(nr, fd, iov, cnt), fd, iov, cnt),                                \
            SF_SHORTEN_IOV(); return REAL(name, RAW(nr, fd, iov, cnt), fd, iov, cnt);)
#define DEF_PVEC(name, sys, nr)                                                             \
  DEF_SPLIT(ssize_t, name, sys, (int fd, const struct iovec *iov, int cnt, off_t off), (fd, iov, cnt, off), \
            REAL(name, RAW(nr, fd, iov, cnt, off, 0), fd, iov, cnt, off),                   \
            SF_SHORTEN_IOV();                                      \
            return REAL(name, RAW(nr, fd, iov, cnt, off, 0), fd, iov, cnt, off);)
#define DEF_PVEC2(name, sys, nr)                                                            \
  DEF_SPLIT(ssize_t, name, sys, (int fd, const struct iovec *iov, int cnt, off_t off, int flags), \
            (fd, iov, cnt, off, flags), REAL(name, RAW(nr, fd, iov, cnt, off, 0, flags), fd, iov, cnt, off, flags), \
            SF_SHORTEN_IOV();                                      \
            return REAL(name, RAW(nr, fd, iov, cnt, off, 0, flags), fd, iov, cnt, off, flags);)
#define DEF_SOCK(name, sys, nr, q)                                                          \
  DEF_SPLIT(ssize_t, name, sys, (int fd, q void *buf, size_t n, int flags), (fd, buf, n, flags), \
            REAL(name, RAW(nr, fd, buf, n, flags, NULL, NULL), fd, buf, n, flags),          \
            SF_SHORTEN(n);                                         \
            return REAL(name, RAW(nr, fd, buf, n, flags, NULL, NULL), fd, buf, n, flags);)
#define DEF_SYNC(name, sys, nr)                                                             \
  DEF_SPLIT(int, name, sys, (int fd), (fd), SF_SYNC_REAL(name, nr, fd),                     \
            return SF_SYNC_REAL(name, nr, fd);)

SF_WRAP_RW(DEF_RW)
SF_WRAP_RW_CHK(DEF_RW_CHK)
SF_WRAP_PRW(DEF_PRW)
SF_WRAP_PRW_CHK(DEF_PRW_CHK)
SF_WRAP_VEC(DEF_VEC)
SF_WRAP_PVEC(DEF_PVEC)
SF_WRAP_PVEC2(DEF_PVEC2)
SF_WRAP_SOCK(DEF_SOCK)
SF_WRAP_SYNC(DEF_SYNC)
