/*
 * The few libc functions the C core needs, for the Go agent (built without libc: agent.h). Plain loops:
 * they run on short strings and small structs, outside the pass-through path.
 */
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/syscall.h>

#define HIDDEN __attribute__((visibility("hidden")))

long sf_net_syscall6(long nr, long a0, long a1, long a2, long a3, long a4, long a5);

HIDDEN void *memset(void *d, int c, size_t n) {
  unsigned char *p = d;
  while (n--) *p++ = (unsigned char)c;
  return d;
}
HIDDEN void *memcpy(void *d, const void *s, size_t n) {
  unsigned char *p = d;
  const unsigned char *q = s;
  while (n--) *p++ = *q++;
  return d;
}
HIDDEN void *memmove(void *d, const void *s, size_t n) {
  unsigned char *p = d;
  const unsigned char *q = s;
  if (p < q) while (n--) *p++ = *q++;
  else while (n--) p[n] = q[n];
  return d;
}
HIDDEN int memcmp(const void *a, const void *b, size_t n) {
  const unsigned char *p = a, *q = b;
  for (; n; n--, p++, q++)
    if (*p != *q) return *p - *q;
  return 0;
}
HIDDEN size_t strlen(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}
HIDDEN char *strchr(const char *s, int c) {
  for (;; s++) {
    if (*s == (char)c) return (char *)s;
    if (!*s) return NULL;
  }
}
HIDDEN char *strrchr(const char *s, int c) {
  const char *last = NULL;
  for (;; s++) {
    if (*s == (char)c) last = s;
    if (!*s) return (char *)last;
  }
}
HIDDEN int clock_gettime(clockid_t clock, struct timespec *ts) {
  return (int)sf_net_syscall6(SYS_clock_gettime, clock, (long)ts, 0, 0, 0, 0);
}
