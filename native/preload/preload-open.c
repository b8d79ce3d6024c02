/*
 * The preload engine's open family: open, openat, creat and their 64-bit and _FORTIFY_SOURCE forms, expanded
 * from wrappers.h by hand-written templates (a variadic mode, no fd before the call, the new fd's facts reset
 * after it). The engine's rules: preload-internal.h.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>

#include "preload-internal.h"

/* Counted as openat (what the kernel sees); path filters match the path opened. */

/* The absolute form of path relative to dirfd, without touching the file system beyond one readlink. */
static const char *sf_abs_path(int dirfd, const char *path, char *buf, size_t len) {
  if (!path) return "";
  if (path[0] == '/') return path;
  char base[PATH_MAX];
  if (dirfd == AT_FDCWD) {
    if (syscall(SYS_getcwd, base, sizeof base) < 0) return path;
  } else if (sf_fd_path(0, dirfd, base, sizeof base) != 0) {
    return path;
  }
  if (sf_path_join(base, path, buf, len) != 0) return path; /* longer than any path the kernel takes */
  return buf;
}

static int sf_open_common(int dirfd, const char *path, int *action) {
  int32_t value = 0;
  *action = SF_ACT_NONE;
  if (UNLIKELY(sf_wants(SF_SYS_openat))) {
    struct sf_call c;
    char abs[PATH_MAX];
    int saved = errno;
    sf_call_init(&c, SF_SYS_openat, -1);
    sf_guard = 1;
    const char *full = sf_abs_path(dirfd, path, abs, sizeof abs);
    if (sf_plan.path_used & (1ull << SF_SYS_openat)) c.path_bits = sf_plan_path_bits(&sf_plan, full);
    sf_guard = 0;
    errno = saved;
    sf_count(SF_SYS_openat);
    *action = sf_intercept(&c, full, &value);
  }
  return value;
}

static inline int sf_mode_needed(int flags) { return (flags & O_CREAT) || (flags & __O_TMPFILE) == __O_TMPFILE; }

/* The optional third argument of open/openat: read only when the flags say it is there. */
#define SF_VA_MODE(flags)                 \
  mode_t mode = 0;                        \
  if (sf_mode_needed(flags)) {            \
    va_list ap;                           \
    va_start(ap, flags);                  \
    mode = va_arg(ap, mode_t);            \
    va_end(ap);                           \
  }

#define OPEN_TAIL(call)                   \
  if (sf_action == SF_ACT_ERRNO) {        \
    errno = sf_value;                     \
    return -1;                            \
  }                                       \
  int fd = (call);                        \
  fd_reset(fd);                           \
  return fd;

#define DEF_OPEN(name, sys)                                                                   \
  SF_EXPORT int name(const char *path, int flags, ...) {                                      \
    SF_VA_MODE(flags);                                                                        \
    int sf_action;                                                                            \
    int32_t sf_value = sf_open_common(AT_FDCWD, path, &sf_action);                            \
    OPEN_TAIL(REAL(name, (int)RAW(SYS_openat, AT_FDCWD, path, flags, mode), path, flags, mode)) \
  }
#define DEF_OPEN2(name, sys)                                                                  \
  SF_EXPORT int name(const char *path, int flags) {                                           \
    int sf_action;                                                                            \
    int32_t sf_value = sf_open_common(AT_FDCWD, path, &sf_action);                            \
    OPEN_TAIL(REAL(name, (int)RAW(SYS_openat, AT_FDCWD, path, flags, 0), path, flags))        \
  }
#define DEF_OPENAT(name, sys)                                                                       \
  SF_EXPORT int name(int dirfd, const char *path, int flags, ...) {                                 \
    SF_VA_MODE(flags);                                                                              \
    int sf_action;                                                                                  \
    int32_t sf_value = sf_open_common(dirfd, path, &sf_action);                                     \
    OPEN_TAIL(REAL(name, (int)RAW(SYS_openat, dirfd, path, flags, mode), dirfd, path, flags, mode)) \
  }
#define DEF_OPENAT2(name, sys)                                                                \
  SF_EXPORT int name(int dirfd, const char *path, int flags) {                                \
    int sf_action;                                                                            \
    int32_t sf_value = sf_open_common(dirfd, path, &sf_action);                               \
    OPEN_TAIL(REAL(name, (int)RAW(SYS_openat, dirfd, path, flags, 0), dirfd, path, flags))    \
  }
#define DEF_CREAT(name, sys)                                                                                     \
  SF_EXPORT int name(const char *path, mode_t mode) {                                                            \
    int sf_action;                                                                                               \
    int32_t sf_value = sf_open_common(AT_FDCWD, path, &sf_action);                                               \
    OPEN_TAIL(REAL(name, (int)RAW(SYS_openat, AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode), path, mode)) \
  }

SF_WRAP_OPEN(DEF_OPEN)
SF_WRAP_OPEN2(DEF_OPEN2)
SF_WRAP_OPENAT(DEF_OPENAT)
SF_WRAP_OPENAT2(DEF_OPENAT2)
SF_WRAP_CREAT(DEF_CREAT)
