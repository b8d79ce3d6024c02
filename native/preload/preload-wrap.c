/*
 * The preload engine's wrappers generated from wrappers.h, one template per signature (the hand-written ones
 * are in preload-calls.c and preload-open.c; the engine's rules in preload-internal.h).
 */
#include "preload-internal.h"

/* Each wrapper is split so that the common paths are tail calls with no stack frame: the exported function
 * routes the call (sf_route: a call the plan does not name, or one no rule can fire on for its descriptor,
 * goes straight on to libc after a few loads and bit tests); sf_first_<name> takes a thread's first named call
 * (init, its counter slot); sf_check_<name> looks at a descriptor the first time (or at a call some rule may
 * fire on) and asks whether any rule could fire; sf_fire_<name> decides and applies the action. */

/* sf_raw_<name>, the initial value of real_<name>, makes the raw syscall: what a call before the resolver ran
 * (or for a symbol this libc lacks) does, so that real_<name> is never NULL; sf_gated_<name> makes it from
 * the gate, for the resolver to choose under the net (sf_gate_known: preload-internal.h). `adjust` applies a
 * short transfer or a torn write to the arguments before the real call. */
#define DEF_SPLIT(ret, name, sys, params, args, raw_call, real_call, adjust)        \
  static ret sf_raw_##name params {                                                 \
    enum { sf_gate_known = 0 };                                                     \
    return raw_call;                                                                \
  }                                                                                 \
  static ret sf_gated_##name params {                                               \
    enum { sf_gate_known = 1 };                                                     \
    return raw_call;                                                                \
  }                                                                                 \
  __typeof__(name) *real_##name = sf_raw_##name;                                    \
  static __attribute__((noinline)) ret sf_fire_##name params {                      \
    SF_AFTER_SCOPE();                                                               \
    int32_t sf_value = 0;                                                           \
    int sf_action = sf_decide_fd(SF_SYS_##sys, fd, &sf_value);                      \
    if (sf_action == SF_ACT_ERRNO) {                                                \
      errno = sf_value;                                                             \
      return -1;                                                                    \
    }                                                                               \
    adjust;                                                                         \
    return real_call;                                                               \
  }                                                                                 \
  static __attribute__((noinline)) ret sf_check_##name params {                     \
    if (UNLIKELY(sf_candidates_counted(SF_SYS_##sys, fd))) return sf_fire_##name args; \
    return real_call;                                                               \
  }                                                                                 \
  static __attribute__((noinline)) ret sf_first_##name params {                     \
    if (sf_enter(SF_SYS_##sys)) return sf_check_##name args;                        \
    return real_call;                                                               \
  }                                                                                 \
  SF_EXPORT ret name params {                                                       \
    int route = sf_route(SF_SYS_##sys, fd);                                         \
    if (LIKELY(route == SF_PASS)) return real_call;                                 \
    if (route == SF_FIRST) return sf_first_##name args;                             \
    return sf_check_##name args;                                                    \
  }

#define DEF_RW(name, sys, nr, q)                                                                          \
  DEF_SPLIT(ssize_t, name, sys, (int fd, q void *buf, size_t n), (fd, buf, n), RAW(nr, fd, buf, n),       \
            real_##name(fd, buf, n), SF_SHORTEN(n))
/* The raw fallback of a _chk function must still check the buffer size (libc's version does it itself). */
#define CHK_RAW(n, buflen, raw) ((n) > (buflen) ? (__chk_fail(), 0) : (raw))
#define DEF_RW_CHK(name, sys, nr)                                                                         \
  DEF_SPLIT(ssize_t, name, sys, (int fd, void *buf, size_t n, size_t buflen), (fd, buf, n, buflen),       \
            CHK_RAW(n, buflen, RAW(nr, fd, buf, n)), real_##name(fd, buf, n, buflen), SF_SHORTEN(n))
#define DEF_PRW(name, sys, nr, q)                                                                         \
  DEF_SPLIT(ssize_t, name, sys, (int fd, q void *buf, size_t n, off_t off), (fd, buf, n, off),            \
            RAW(nr, fd, buf, n, off), real_##name(fd, buf, n, off), SF_SHORTEN(n))
#define DEF_PRW_CHK(name, sys, nr)                                                                        \
  DEF_SPLIT(ssize_t, name, sys, (int fd, void *buf, size_t n, off_t off, size_t buflen),                  \
            (fd, buf, n, off, buflen), CHK_RAW(n, buflen, RAW(nr, fd, buf, n, off)),                      \
            real_##name(fd, buf, n, off, buflen), SF_SHORTEN(n))
#define DEF_VEC(name, sys, nr)                                                                            \
  DEF_SPLIT(ssize_t, name, sys, (int fd, const struct iovec *iov, int cnt), (fd, iov, cnt),               \
            RAW(nr, fd, iov, cnt), real_##name(fd, iov, cnt), SF_SHORTEN_IOV())
#define DEF_PVEC(name, sys, nr)                                                                           \
  DEF_SPLIT(ssize_t, name, sys, (int fd, const struct iovec *iov, int cnt, off_t off), (fd, iov, cnt, off), \
            RAW(nr, fd, iov, cnt, off, 0), real_##name(fd, iov, cnt, off), SF_SHORTEN_IOV())
#define DEF_PVEC2(name, sys, nr)                                                                          \
  DEF_SPLIT(ssize_t, name, sys, (int fd, const struct iovec *iov, int cnt, off_t off, int flags),         \
            (fd, iov, cnt, off, flags), RAW(nr, fd, iov, cnt, off, 0, flags),                             \
            real_##name(fd, iov, cnt, off, flags), SF_SHORTEN_IOV())
#define DEF_SOCK(name, sys, nr, q)                                                                        \
  DEF_SPLIT(ssize_t, name, sys, (int fd, q void *buf, size_t n, int flags), (fd, buf, n, flags),          \
            RAW(nr, fd, buf, n, flags, NULL, NULL), real_##name(fd, buf, n, flags), SF_SHORTEN(n))
#define DEF_SYNC(name, sys, nr)                                                                           \
  DEF_SPLIT(int, name, sys, (int fd), (fd), (int)RAW(nr, fd), SF_SYNC_REAL(name, nr, fd), (void)0)

SF_WRAP_RW(DEF_RW)
SF_WRAP_RW_CHK(DEF_RW_CHK)
SF_WRAP_PRW(DEF_PRW)
SF_WRAP_PRW_CHK(DEF_PRW_CHK)
SF_WRAP_VEC(DEF_VEC)
SF_WRAP_PVEC(DEF_PVEC)
SF_WRAP_PVEC2(DEF_PVEC2)
SF_WRAP_SOCK(DEF_SOCK)
SF_WRAP_SYNC(DEF_SYNC)

void sf_wrappers_use_gate(void) {
#define USE_GATE(name, ...) real_##name = sf_gated_##name;
  SF_WRAP_RW(USE_GATE)
  SF_WRAP_RW_CHK(USE_GATE)
  SF_WRAP_PRW(USE_GATE)
  SF_WRAP_PRW_CHK(USE_GATE)
  SF_WRAP_VEC(USE_GATE)
  SF_WRAP_PVEC(USE_GATE)
  SF_WRAP_PVEC2(USE_GATE)
  SF_WRAP_SOCK(USE_GATE)
  SF_WRAP_SYNC(USE_GATE)
#undef USE_GATE
}
