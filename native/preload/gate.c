/*
 * The net's gate for the preload engine (the page is described in native/goagent/agent.h). Under `auto` the
 * seccomp filter sends every named syscall to the supervisor except those made from the gate page, so the
 * wrappers make the calls they have counted from there (each call counted once), while the calls they never
 * see (glibc's own __write in stdio, a child that dropped LD_PRELOAD, a static child) reach the supervisor.
 * SYSFAULT_GATE=1 in the environment turns it on.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../goagent/agent.h"
#include "preload-internal.h"

int sf_gate_mapped;

int sf_gate_setup(void) {
  const char *on = getenv("SYSFAULT_GATE");
  if (!on || strcmp(on, "1") != 0) return 0;
  static const unsigned char code[] = SF_GATE_CODE;
  void *page = (void *)(uintptr_t)SF_GATE_ADDR;
  void *got = mmap(page, SF_GATE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (got == page) {
    memcpy(page, code, sizeof code);
    if (mprotect(page, SF_GATE_SIZE, PROT_READ | PROT_EXEC) != 0) return -1;
  } else if (got != MAP_FAILED || errno != EEXIST || memcmp(page, code, sizeof code) != 0) {
    if (got != MAP_FAILED) munmap(got, SF_GATE_SIZE);
    return -1;
  }
  sf_gate_mapped = 1;
  return 1;
}


__attribute__((cold, noinline)) long sf_raw_error(long r) {
  errno = (int)-r;
  return -1;
}
