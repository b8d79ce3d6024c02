/*
 * libFuzzer target for the C core's untrusted-input surface: the compiled-plan decoder (sf_plan_decode, which
 * the preload library runs on bytes it finds in a shared region), decide() on whatever it accepts, and the
 * path glob matcher (sf_glob_match), checked against a memoized reference implementation.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I../../native/core \
 *          plan_fuzz.c <every .c file of native/core> -o plan_fuzz
 * (test/plan-fuzz.test.ts builds it and runs it briefly; SYSFAULT_FUZZ_SECONDS=600 for a long run.)
 * The first input byte picks what the rest is:
 *   0: raw bytes given to sf_plan_decode as they are;
 *   1: rules: a valid header is prepended (rule count = whole 512-byte blocks), so mutations reach the rules;
 *   2: a glob: pattern, NUL, text;
 *   3: a shared region as the preload library maps it: sf_shm_check, then the plan inside it decoded.
 * Any accepted plan must satisfy every invariant the engines rely on (abort() otherwise); a rejected one must
 * leave a one-line reason and a zeroed plan.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sysfault.h"

#define CHECK(cond)                                                           \
  do {                                                                        \
    if (!(cond)) {                                                            \
      fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      abort();                                                                \
    }                                                                         \
  } while (0)

static int all_zero(const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i]) return 0;
  return 1;
}

static void check_rule(const struct sf_rule *r) {
  CHECK(r->syscalls != 0);
  CHECK(SF_SYS_COUNT >= 64 || (r->syscalls >> SF_SYS_COUNT) == 0);
  CHECK(r->prob_threshold <= SF_PROB_ALWAYS);
  CHECK(r->fd_kind <= SF_FD_PIPE);
  switch (r->action) {
  case SF_ACT_ERRNO: CHECK(r->value >= 1 && r->value <= 4095); break;
  case SF_ACT_DELAY: CHECK(r->value >= 0 && r->value <= 600000 && r->jitter_ms <= 600000); break;
  case SF_ACT_SHORT: CHECK(r->value >= 1); break;
  case SF_ACT_KILL: CHECK(r->value >= 1 && r->value <= 64); break;
  default: CHECK(r->action > SF_ACT_KILL && r->action < 32); /* network and storage actions: appended */
  }
  if (r->action != SF_ACT_DELAY) CHECK(r->jitter_ms == 0);
  CHECK(r->has_addr <= 1);
  if (r->has_addr) {
    CHECK(r->addr.family == 0 || r->addr.family == 4 || r->addr.family == 6);
    CHECK(r->addr.prefix <= (r->addr.family == 4 ? 32 : r->addr.family == 6 ? 128 : 0));
    CHECK(r->addr.family != 0 || r->addr.port != 0);
  }
  size_t id = strnlen(r->id, SF_ID_MAX), path = strnlen(r->path, SF_PATH_MAX);
  CHECK(id > 0 && id < SF_ID_MAX);
  CHECK(path < SF_PATH_MAX - 1);
  for (size_t i = 0; i < id; i++) CHECK((unsigned char)r->id[i] >= 0x20 && r->id[i] != 0x7f);
  for (size_t i = 0; i < path; i++) CHECK((unsigned char)r->path[i] >= 0x20 && r->path[i] != 0x7f);
}

/* Runs decide() over every syscall a few times on a fresh region, and checks the counters add up. */
static void exercise(const struct sf_plan *plan, const void *wire, size_t len) {
  enum { LOG = 4, ROUNDS = 3 };
  size_t size = sf_shm_size(len, LOG);
  struct sf_shm *shm = aligned_alloc(64, (size + 63) & ~(size_t)63);
  CHECK(shm != NULL);
  memset(shm, 0, size);
  sf_shm_init(shm, size, wire, len, LOG, "fuzz", plan->nrules);
  char err[160];
  CHECK(sf_shm_check(shm, size, err, sizeof err) == 0);
  struct sf_addr peer = { .family = 4, .prefix = 32, .port = 6379, .bytes = { 127, 0, 0, 1 } };
  static const char *const paths[] = { "/var/lib/db/0001.wal", "/tmp/x/data.bin", "/", "" };
  uint64_t fired = 0, faulted = 0, delayed = 0;
  for (int round = 0; round < ROUNDS; round++) {
    for (int sys = 0; sys < SF_SYS_COUNT; sys++) {
      struct sf_call call = { .sys = sys, .fd = 3, .fd_kind = (sys + round) % 4,
                              .path_bits = sf_plan_path_bits(plan, paths[(sys + round) % 4]),
                              .peer = (sys + round) % 2 ? &peer : NULL };
      struct sf_decision d;
      int hit = sf_decide(shm, plan, &call, &d);
      if (!hit) {
        CHECK(d.rule == -1 && d.action == SF_ACT_NONE);
        continue;
      }
      CHECK(d.rule >= 0 && (uint32_t)d.rule < plan->nrules);
      const struct sf_rule *r = &plan->rules[d.rule];
      CHECK(r->syscalls & (1ull << sys));
      CHECK(d.action == r->action);
      if (d.action == SF_ACT_DELAY) {
        CHECK(d.value >= r->value && (uint64_t)d.value <= (uint64_t)r->value + r->jitter_ms);
        delayed++;
      } else {
        CHECK(d.value == r->value);
        faulted++;
      }
      fired++;
      sf_log_fault(shm, &d, sys, 1, 1, 3, paths[sys % 4]);
    }
  }
  uint64_t calls = 0, f = 0, dl = 0, rf = 0;
  for (int sys = 0; sys < SF_SYS_COUNT; sys++) {
    calls += shm->counts[sys].calls, f += shm->counts[sys].faulted, dl += shm->counts[sys].delayed;
  }
  for (uint32_t i = 0; i < plan->nrules; i++) {
    rf += shm->rules[i].fired;
    CHECK(plan->rules[i].limit == SF_UNLIMITED || shm->rules[i].fired <= plan->rules[i].limit);
  }
  CHECK(calls == (uint64_t)ROUNDS * SF_SYS_COUNT);
  CHECK(f == faulted && dl == delayed && rf == fired);
  CHECK(shm->log_next == fired);
  CHECK(shm->log_dropped == (fired > LOG ? fired - LOG : 0));
  free(shm);
}

static void fuzz_plan(const uint8_t *data, size_t size) {
  static struct sf_plan plan;
  char err[160];
  memset(err, 0x55, sizeof err);
  if (sf_plan_decode(data, size, &plan, err, sizeof err) != 0) {
    CHECK(memchr(err, 0, sizeof err) != NULL);
    CHECK(strncmp(err, "compiled plan: ", 15) == 0);
    CHECK(strchr(err, '\n') == NULL);
    CHECK(all_zero(&plan, sizeof plan));
    return;
  }
  CHECK(plan.nrules <= SF_MAX_RULES);
  CHECK(size == SF_WIRE_HEADER + (size_t)plan.nrules * SF_WIRE_RULE);
  uint64_t named = 0, path_used = 0, kind_used = 0, addr_used = 0;
  for (uint32_t i = 0; i < plan.nrules; i++) {
    const struct sf_rule *r = &plan.rules[i];
    check_rule(r);
    named |= r->syscalls;
    if (r->path[0]) path_used |= r->syscalls;
    if (r->fd_kind != SF_FD_ANY) kind_used |= r->syscalls;
    if (r->has_addr) addr_used |= r->syscalls;
  }
  /* named: the rules' syscalls and the header's counted ones (alternatives counted, never decided) */
  CHECK((plan.counted & named) == 0 && plan.named == (named | plan.counted));
  CHECK(plan.path_used == path_used && plan.kind_used == kind_used && plan.addr_used == addr_used);
  for (uint32_t i = plan.nrules; i < SF_MAX_RULES; i++) CHECK(all_zero(&plan.rules[i], sizeof plan.rules[i]));
  exercise(&plan, data, size);
}

/* ---- glob: the matcher against a plain memoized reading of the same rules ---- */

#define REF_P 96
#define REF_T 160
static const char *ref_p, *ref_t;
static signed char ref_memo[REF_P + 1][REF_T + 1][2];

static int ref_class(const char *p, char c, const char **end) {
  p++;
  int negate = 0, matched = 0, first = 1;
  if (*p == '!' || *p == '^') negate = 1, p++;
  while (*p && (first || *p != ']')) {
    first = 0;
    char lo = *p, hi = lo;
    if (p[1] == '-' && p[2] && p[2] != ']') hi = p[2], p += 2;
    if (c >= lo && c <= hi) matched = 1;
    p++;
  }
  if (*p != ']') return -1;
  *end = p + 1;
  return matched != negate;
}

/* Does pattern[pi..] match text[ti..]? rest: 1 when pi is just after a "**" (the loop over starts). */
static int ref(size_t pi, size_t ti) {
  signed char *m = &ref_memo[pi][ti][0];
  if (*m) return *m > 0;
  const char *p = ref_p + pi, *t = ref_t + ti;
  int r;
  if (!*p) {
    r = !*t;
  } else if (p[0] == '*' && p[1] == '*') {
    r = 0;
    if (p[2] == '/' && ref(pi + 3, ti)) r = 1;
    for (size_t s = ti; !r; s++) {
      if (ref(pi + 2, s)) r = 1;
      if (!ref_t[s]) break;
    }
  } else if (*p == '*') {
    r = 0;
    for (size_t s = ti; !r; s++) {
      if (ref(pi + 1, s)) r = 1;
      if (!ref_t[s] || ref_t[s] == '/') break;
    }
  } else if (!*t) {
    r = 0;
  } else if (*p == '?') {
    r = *t != '/' && ref(pi + 1, ti + 1);
  } else {
    const char *end;
    int c = *p == '[' ? ref_class(p, *t, &end) : -1;
    if (c >= 0) {
      r = c && *t != '/' && ref((size_t)(end - ref_p), ti + 1);
    } else {
      size_t skip = *p == '\\' && p[1] ? 1 : 0;
      r = p[skip] == *t && ref(pi + skip + 1, ti + 1);
    }
  }
  *m = r ? 1 : -1;
  return r;
}

static void fuzz_glob(const uint8_t *data, size_t size) {
  char pattern[SF_PATH_MAX], text[4096];
  const uint8_t *nul = memchr(data, 0, size);
  size_t whole = nul ? (size_t)(nul - data) : size;
  size_t pl = whole < sizeof pattern ? whole : sizeof pattern - 1;
  memcpy(pattern, data, pl);
  pattern[pl] = 0;
  size_t tl = nul ? size - whole - 1 : 0;
  if (tl >= sizeof text) tl = sizeof text - 1;
  if (nul) memcpy(text, nul + 1, tl);
  text[tl] = 0;
  tl = strlen(text);

  int got = sf_glob_match(pattern, text);
  CHECK(got == 0 || got == 1);

  size_t stars = 0;
  for (const char *c = pattern; *c; c++) stars += *c == '*';
  const char *subject = text;
  if (!strchr(pattern, '/') && strrchr(text, '/')) subject = strrchr(text, '/') + 1;
  if (pl <= REF_P && strlen(subject) <= REF_T && stars <= 60) {
    ref_p = pattern, ref_t = subject;
    memset(ref_memo, 0, sizeof ref_memo);
    int want = ref(0, 0);
    if (got != want) {
      fprintf(stderr, "glob mismatch: pattern \"%s\" text \"%s\": got %d, reference %d\n", pattern, text, got, want);
      abort();
    }
  }
  /* A pattern is matched by itself when it has no special characters. */
  if (!strpbrk(pattern, "*?[\\") && strchr(pattern, '/')) CHECK(sf_glob_match(pattern, pattern));
}

/* What sf_attach does with a region it mapped: check the header, then decode the plan it points at. */
static void fuzz_region(const uint8_t *data, size_t size) {
  size_t cap = (size + 63) & ~(size_t)63;
  if (cap == 0) cap = 64;
  struct sf_shm *shm = aligned_alloc(64, cap);
  CHECK(shm != NULL);
  memcpy(shm, data, size);
  char err[160];
  if (sf_shm_check(shm, size, err, sizeof err) != 0) {
    CHECK(strncmp(err, "shared region: ", 15) == 0);
    free(shm);
    return;
  }
  CHECK(size >= sizeof *shm && shm->total_size == size);
  CHECK(shm->plan_offset >= sizeof *shm && (size_t)shm->plan_offset + shm->plan_size <= size);
  CHECK(shm->log_offset >= (size_t)shm->plan_offset + shm->plan_size && shm->log_offset <= size);
  CHECK((size - shm->log_offset) / sizeof(struct sf_log_entry) >= shm->log_capacity);
  static struct sf_plan plan;
  if (sf_plan_decode((const char *)shm + shm->plan_offset, shm->plan_size, &plan, err, sizeof err) == 0)
    CHECK(plan.nrules <= SF_MAX_RULES);
  free(shm);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  uint8_t mode = data[0] % 4;
  data++, size--;
  if (mode == 0) {
    fuzz_plan(data, size);
  } else if (mode == 1) {
    size_t nrules = size / SF_WIRE_RULE;
    if (nrules > SF_MAX_RULES + 1) nrules = SF_MAX_RULES + 1;
    size_t len = SF_WIRE_HEADER + nrules * SF_WIRE_RULE;
    uint8_t *buf = malloc(len);
    CHECK(buf != NULL);
    static const uint8_t header[SF_WIRE_HEADER] = { 'S', 'F', 'P', 'L', 'A', 'N', 0, 1, 1, 0, 0, 0, 0, 0, 0, 0,
                                                    42, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0 };
    memcpy(buf, header, sizeof header);
    buf[12] = (uint8_t)nrules;
    memcpy(buf + SF_WIRE_HEADER, data, nrules * SF_WIRE_RULE);
    fuzz_plan(buf, len);
    free(buf);
  } else if (mode == 2) {
    fuzz_glob(data, size);
  } else {
    fuzz_region(data, size);
  }
  return 0;
}
