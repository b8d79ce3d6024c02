/* Unit tests of the C core: plan decoding, globs, addresses, decide() determinism, exact counts under 64
 * threads, and the fault log's drop accounting. Built and run by test/core.test.ts; prints "N passed, N failed". */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../native/core/sysfault.h"
#include "../../native/core/tree.h"

static int passed, failed;
#define CHECK(cond)                                                    \
  do {                                                                 \
    if (cond) {                                                        \
      passed++;                                                        \
    } else {                                                           \
      failed++;                                                        \
      fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                  \
  } while (0)

static void wr64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void wr32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* Encodes a one-rule plan the way src/plan.ts does. */
static size_t encode(unsigned char *buf, uint64_t seed, uint64_t syscalls, uint64_t after, uint64_t limit,
                     uint64_t prob, uint32_t action, int32_t value, const char *path) {
  memset(buf, 0, SF_WIRE_HEADER + SF_WIRE_RULE);
  memcpy(buf, "SFPLAN\0\1", 8);
  wr32(buf + 8, 1), wr32(buf + 12, 1), wr64(buf + 16, seed), wr32(buf + 24, SF_WIRE_RULE);
  unsigned char *r = buf + SF_WIRE_HEADER;
  wr64(r, syscalls), wr64(r + 8, after), wr64(r + 16, limit), wr64(r + 24, prob);
  wr32(r + 36, action), wr32(r + 40, (uint32_t)value);
  r[68] = 6, memcpy(r + 69, "rule-0", 6);
  size_t n = path ? strlen(path) : 0;
  r[132] = (unsigned char)n, memcpy(r + 134, path ? path : "", n);
  return SF_WIRE_HEADER + SF_WIRE_RULE;
}

static struct sf_shm *new_shm(const unsigned char *plan, size_t len, uint32_t cap, uint32_t nrules) {
  size_t size = sf_shm_size(len, cap);
  struct sf_shm *shm = calloc(1, size);
  sf_shm_init(shm, size, plan, len, cap, "test", nrules);
  return shm;
}

static void test_decode(void) {
  unsigned char buf[SF_WIRE_HEADER + SF_WIRE_RULE];
  struct sf_plan plan;
  char err[160];
  size_t n = encode(buf, 7, 1ull << SF_SYS_fsync, 1, 2, SF_PROB_ALWAYS, SF_ACT_ERRNO, 5, "**/*.wal");
  CHECK(sf_plan_decode(buf, n, &plan, err, sizeof err) == 0);
  CHECK(plan.nrules == 1 && plan.seed == 7 && plan.rules[0].value == 5);
  CHECK(plan.path_used == (1ull << SF_SYS_fsync));
  CHECK(sf_plan_decode(buf, n - 1, &plan, err, sizeof err) == -1);
  buf[SF_WIRE_HEADER + 500] = 1; /* reserved byte */
  CHECK(sf_plan_decode(buf, n, &plan, err, sizeof err) == -1);
  encode(buf, 7, 1ull << SF_SYS_fsync, 0, SF_UNLIMITED, SF_PROB_ALWAYS + 1, SF_ACT_ERRNO, 5, NULL);
  CHECK(sf_plan_decode(buf, n, &plan, err, sizeof err) == -1);
  encode(buf, 7, 1ull << SF_SYS_fsync, 0, SF_UNLIMITED, SF_PROB_ALWAYS, 9, 5, NULL);
  CHECK(sf_plan_decode(buf, n, &plan, err, sizeof err) == -1 && strstr(err, "unknown action"));
  encode(buf, 7, 0, 0, SF_UNLIMITED, SF_PROB_ALWAYS, SF_ACT_ERRNO, 5, NULL);
  CHECK(sf_plan_decode(buf, n, &plan, err, sizeof err) == -1);
  /* Random garbage never decodes into something out of range. */
  srand(1);
  for (int i = 0; i < 20000; i++) {
    encode(buf, 1, 1, 0, SF_UNLIMITED, SF_PROB_ALWAYS, SF_ACT_ERRNO, 5, NULL);
    buf[rand() % (int)n] = (unsigned char)rand();
    if (sf_plan_decode(buf, n, &plan, err, sizeof err) == 0) {
      const struct sf_rule *r = &plan.rules[0];
      if (r->action < 1 || r->action > 4 || r->prob_threshold > SF_PROB_ALWAYS || !r->syscalls) {
        CHECK(!"garbage accepted");
        break;
      }
    }
  }
}

static void test_glob(void) {
  CHECK(sf_glob_match("**/*.wal", "/var/lib/db/0001.wal"));
  CHECK(sf_glob_match("/var/lib/db/**/*.wal", "/var/lib/db/0001.wal"));
  CHECK(sf_glob_match("/var/lib/db/**/*.wal", "/var/lib/db/a/b/0001.wal"));
  CHECK(!sf_glob_match("/var/lib/db/*.wal", "/var/lib/db/a/0001.wal"));
  CHECK(sf_glob_match("*.bin", "/tmp/x/data.bin"));
  CHECK(sf_glob_match("**/data.bin", "/tmp/x/data.bin"));
  CHECK(!sf_glob_match("**/data.bin", "/tmp/x/data.bin2"));
  CHECK(sf_glob_match("/tmp/data-[0-9].bin", "/tmp/data-7.bin"));
  CHECK(!sf_glob_match("/tmp/data-[!0-9].bin", "/tmp/data-7.bin"));
  CHECK(sf_glob_match("/tmp/?.bin", "/tmp/a.bin"));
  CHECK(!sf_glob_match("/tmp/?.bin", "/tmp/ab.bin"));
  CHECK(!sf_glob_match("/tmp/*", "/tmp/a/b"));
  CHECK(sf_glob_match("/tmp/**", "/tmp/a/b"));
}

static void test_addr(void) {
  struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(6379)};
  inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
  struct sf_addr a, f = {.family = 4, .prefix = 8, .port = 0, .bytes = {127}};
  CHECK(sf_addr_from_sockaddr((struct sockaddr *)&in, sizeof in, &a) == 0 && a.port == 6379);
  CHECK(sf_addr_match(&f, &a));
  f.port = 6380;
  CHECK(!sf_addr_match(&f, &a));
  struct sf_addr port_only = {.family = 0, .port = 6379};
  CHECK(sf_addr_match(&port_only, &a));
  struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons(80)};
  inet_pton(AF_INET6, "::ffff:127.0.0.1", &in6.sin6_addr);
  CHECK(sf_addr_from_sockaddr((struct sockaddr *)&in6, sizeof in6, &a) == 0 && a.family == 4);
  char text[64];
  sf_addr_format(&a, text, sizeof text);
  CHECK(strcmp(text, "127.0.0.1:80") == 0);
}

static int fired_pattern(uint64_t seed, uint64_t prob, char *out, int n) {
  unsigned char buf[SF_WIRE_HEADER + SF_WIRE_RULE];
  struct sf_plan plan;
  char err[160];
  size_t len = encode(buf, seed, 1ull << SF_SYS_write, 2, SF_UNLIMITED, prob, SF_ACT_ERRNO, 5, NULL);
  sf_plan_decode(buf, len, &plan, err, sizeof err);
  struct sf_shm *shm = new_shm(buf, len, 16, 1);
  struct sf_call call = {.sys = SF_SYS_write, .fd = 3, .fd_kind = SF_FD_UNKNOWN};
  struct sf_decision d;
  int count = 0;
  for (int i = 0; i < n; i++) {
    out[i] = sf_decide(shm, &plan, &call, &d) ? 'F' : '.';
    count += out[i] == 'F';
  }
  out[n] = 0;
  CHECK(sf_shm_calls(shm, SF_SYS_write) == (uint64_t)n);
  CHECK(shm->counts[SF_SYS_write].faulted == (uint64_t)count);
  free(shm);
  return count;
}

static void test_determinism(void) {
  char a[201], b[201], c[201];
  fired_pattern(42, SF_PROB_ALWAYS / 2, a, 200);
  fired_pattern(42, SF_PROB_ALWAYS / 2, b, 200);
  fired_pattern(43, SF_PROB_ALWAYS / 2, c, 200);
  CHECK(strcmp(a, b) == 0);
  CHECK(strcmp(a, c) != 0);
  CHECK(a[0] == '.' && a[1] == '.'); /* after: 2 */
  int n = fired_pattern(42, SF_PROB_ALWAYS / 2, a, 200);
  CHECK(n > 70 && n < 130);
}

#define THREADS 64
#define PER_THREAD 20000
struct hammer {
  struct sf_shm *shm;
  struct sf_plan *plan;
};
static void *hammer_run(void *arg) {
  struct hammer *h = arg;
  struct sf_call call = {.sys = SF_SYS_write, .fd = 1, .fd_kind = SF_FD_UNKNOWN};
  struct sf_decision d;
  for (int i = 0; i < PER_THREAD; i++)
    if (sf_decide(h->shm, h->plan, &call, &d)) sf_log_fault(h->shm, &d, call.sys, 1, 1, 1, "x");
  return NULL;
}

static void test_threads(void) {
  unsigned char buf[SF_WIRE_HEADER + SF_WIRE_RULE];
  struct sf_plan plan;
  char err[160];
  size_t len = encode(buf, 1, 1ull << SF_SYS_write, 100, 5000, SF_PROB_ALWAYS / 4, SF_ACT_ERRNO, 5, NULL);
  CHECK(sf_plan_decode(buf, len, &plan, err, sizeof err) == 0);
  struct sf_shm *shm = new_shm(buf, len, 1000, 1);
  struct hammer h = {shm, &plan};
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, hammer_run, &h);
  for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
  CHECK(sf_shm_calls(shm, SF_SYS_write) == (uint64_t)THREADS * PER_THREAD);
  CHECK(shm->rules[0].matched == (uint64_t)THREADS * PER_THREAD);
  CHECK(shm->rules[0].fired == 5000);
  CHECK(shm->counts[SF_SYS_write].faulted == 5000);
  CHECK(shm->log_next == 5000 && shm->log_dropped == 4000);
  int ready = 1;
  for (uint32_t i = 0; i < shm->log_capacity; i++) ready &= sf_shm_log(shm)[i].ready == 1;
  CHECK(ready);
  char why[160];
  CHECK(sf_shm_check(shm, sf_shm_size(len, 1000), why, sizeof why) == 0);
  CHECK(sf_shm_check(shm, sf_shm_size(len, 1000) - 1, why, sizeof why) == -1);
  free(shm);
}

/* reset after N bytes: it fires only once N bytes have passed, and says the offset it fired at (past N when
 * the rule's draws let earlier calls by). */
static void test_reset_offset(void) {
  unsigned char buf[SF_WIRE_HEADER + SF_WIRE_RULE];
  struct sf_plan plan;
  char err[160];
  size_t len = encode(buf, 1, 1ull << SF_SYS_read, 0, SF_UNLIMITED, SF_PROB_ALWAYS, SF_ACT_RESET, 10, NULL);
  CHECK(sf_plan_decode(buf, len, &plan, err, sizeof err) == 0);
  struct sf_shm *shm = new_shm(buf, len, 16, 1);
  struct sf_call call = {.sys = SF_SYS_read, .fd = 3, .fd_kind = SF_FD_SOCKET, .has_bytes = 1, .sock_bytes = 9};
  struct sf_decision d;
  CHECK(sf_decide(shm, &plan, &call, &d) == 0);
  call.sock_bytes = 10;
  CHECK(sf_decide(shm, &plan, &call, &d) == 1 && d.action == SF_ACT_RESET && d.value == 10);
  call.sock_bytes = 4242;
  CHECK(sf_decide(shm, &plan, &call, &d) == 1 && d.value == 4242);
  free(shm);
}

/* A whole-tree crash from a process no sysfault-shim runs (this test): nothing is signalled, -1, and the miss
 * is counted in the region (the run's result turns it into a warning). */
static void test_tree_unreached(void) {
  unsigned char plan[SF_WIRE_HEADER + SF_WIRE_RULE];
  size_t len = encode(plan, 1, 1, 0, SF_UNLIMITED, SF_PROB_ALWAYS, SF_ACT_KILL, 9, NULL);
  struct sf_shm *shm = new_shm(plan, len, 16, 1);
  CHECK(sf_tree_crash(shm, getpid(), getpid()) == -1);
  CHECK(sf_tree_crash(shm, getpid(), 0) == -1);
  CHECK(shm->tree_unreached == 2);
  CHECK(sf_tree_crash(NULL, getpid(), getpid()) == -1);
  free(shm);
}

int main(void) {
  test_decode();
  test_glob();
  test_addr();
  test_determinism();
  test_threads();
  test_tree_unreached();
  test_reset_offset();
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
