/* What a descriptor refers to, read from /proc, and the absolute form of a relative path: shared by the preload
 * engine (inside its wrappers: raw syscalls only, no libc function it interposes) and the seccomp monitor. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sysfault.h"

int sf_proc_link(int pid, const char *what, char *buf, size_t len) {
  char path[64];
  if (pid > 0)
    snprintf(path, sizeof path, "/proc/%d/%s", pid, what);
  else
    snprintf(path, sizeof path, "/proc/self/%s", what);
  long n = syscall(SYS_readlinkat, AT_FDCWD, path, buf, len - 1);
  if (n < 0) return -1;
  buf[n] = 0;
  return 0;
}

int sf_fd_path(int pid, int fd, char *buf, size_t len) {
  char what[24];
  snprintf(what, sizeof what, "fd/%d", fd);
  return sf_proc_link(pid, what, buf, len);
}

int sf_mapping_target(uint64_t addr, uint64_t len, char *buf, size_t size) {
  return snprintf(buf, size, "mapping %#llx+%llu", (unsigned long long)addr, (unsigned long long)len);
}

int sf_path_join(const char *base, const char *rel, char *out, size_t len) {
  while (rel[0] == '.' && rel[1] == '/') rel += 2;
  size_t dir = strcmp(base, "/") == 0 ? 0 : strlen(base), rest = strlen(rel);
  if (dir + 1 + rest >= len) return -1;
  memmove(out, base, dir);
  out[dir] = '/';
  memcpy(out + dir + 1, rel, rest + 1);
  return 0;
}
