/*
 * decide(): which rule, if any, fires on one intercepted call. Runs inside the target (preload) and in the
 * supervisor (seccomp); no allocation, no locks, only atomics on the shared counters.
 *
 * The algorithm, for call c of syscall s:
 *   counts[s].calls += 1
 *   for each rule i in plan order whose syscalls include s and whose fd kind, path and address filters match c:
 *     k = rules[i].matched++                        (k: this rule's 0-based match index, across the whole tree)
 *     skip if disarmed, rule disabled, or k < after
 *     skip if prob_threshold < 2^32 and (sf_hash(seed, i, k, 0) >> 32) >= prob_threshold
 *     skip if limit reached (fired is raised with compare-and-swap, so at most `limit` fire under any race)
 *     fire: faulted or delayed += 1; a delay is value + sf_hash(seed, i, k, 1) % (jitter + 1) ms
 *   Rules after the one that fired are not evaluated and do not count the call as matched.
 * sf_hash is splitmix64 applied to seed ^ splitmix64((rule + 1) * golden ^ stream << 32) ^ splitmix64(k), so a
 * decision depends only on (seed, rule, match index): same seed, same faults, whichever engine runs.
 */
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "sysfault.h"

#define LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define ADD(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)

static const char *const sys_names[] = {
#define SF_X_NAME(name, nr, shape) #name,
    SF_SYSCALL_LIST(SF_X_NAME)
#undef SF_X_NAME
};
static const int sys_nrs[] = {
#define SF_X_NR(name, nr, shape) nr,
    SF_SYSCALL_LIST(SF_X_NR)
#undef SF_X_NR
};
static const int sys_shapes[] = {
#define SF_X_SHAPE(name, nr, shape) shape,
    SF_SYSCALL_LIST(SF_X_SHAPE)
#undef SF_X_SHAPE
};

const char *sf_sys_name(int sys) { return sys >= 0 && sys < SF_SYS_COUNT ? sys_names[sys] : "?"; }
int sf_sys_nr(int sys) { return sys >= 0 && sys < SF_SYS_COUNT ? sys_nrs[sys] : -1; }
int sf_sys_shape(int sys) { return sys >= 0 && sys < SF_SYS_COUNT ? sys_shapes[sys] : -1; }
int sf_sys_from_nr(long nr) {
  for (int i = 0; i < SF_SYS_COUNT; i++)
    if (sys_nrs[i] == nr) return i;
  return -1;
}

uint64_t sf_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t sf_hash(uint64_t seed, uint32_t rule, uint64_t index, uint32_t stream) {
  uint64_t r = splitmix64(((uint64_t)rule + 1) * 0x9E3779B97F4A7C15ull ^ (uint64_t)stream << 32);
  return splitmix64(seed ^ r ^ splitmix64(index));
}

/* ---- glob: `*` and `?` stay within a path segment, `**` crosses them, `**` followed by `/` may match
 * nothing, `[...]` / `[!...]` classes. A pattern without '/' is matched against the file's basename. */

static int class_match(const char **pp, char c) {
  const char *p = *pp + 1;
  int negate = 0, matched = 0;
  if (*p == '!' || *p == '^') negate = 1, p++;
  int first = 1;
  while (*p && (first || *p != ']')) {
    first = 0;
    char lo = *p, hi = lo;
    if (p[1] == '-' && p[2] && p[2] != ']') hi = p[2], p += 2;
    if (c >= lo && c <= hi) matched = 1;
    p++;
  }
  if (*p != ']') return -1; /* unterminated: treat '[' literally */
  *pp = p + 1;
  return matched != negate;
}

/* Backtracking over stars is exponential without memory ("*a*a*a*a*b" against a long run of "a" took
 * seconds at 5 stars): each star remembers the text range from which it is known to fail. A `*` that fails
 * from text offset lo has tried every start in [lo, hi], hi being the end of that segment; a `**` has tried
 * [lo, end of text]. A later attempt inside that range fails at once, one that reaches it stops there.
 * Offsets are stored plus one (0: nothing known); the memory is off for patterns or texts too long for it. */
struct glob_memo {
  const char *p0, *t0;
  int on;
  uint16_t lo[SF_PATH_MAX], hi[SF_PATH_MAX];
};

static int glob_at(struct glob_memo *g, const char *p, const char *t, int depth);

/* The star at pattern offset `star` (a `*`, or a `**` when cross is set), followed by the pattern p, tried
 * from every start in the text from t on. */
static int star_at(struct glob_memo *g, size_t star, const char *p, const char *t, int cross, int depth) {
  size_t at = (size_t)(t - g->t0) + 1;
  if (g->on && g->lo[star] && at >= g->lo[star] && at <= g->hi[star]) return 0;
  const char *s = t;
  for (;; s++) {
    if (g->on && g->lo[star] && (size_t)(s - g->t0) + 1 == g->lo[star]) {
      s = g->t0 + g->hi[star] - 1;
      break;
    }
    if (glob_at(g, p, s, depth + 1)) return 1;
    if (!*s || (!cross && *s == '/')) break;
  }
  if (g->on) g->lo[star] = (uint16_t)at, g->hi[star] = (uint16_t)(s - g->t0 + 1);
  return 0;
}

static int glob_at(struct glob_memo *g, const char *p, const char *t, int depth) {
  if (depth > 64) return 0;
  while (*p) {
    if (p[0] == '*' && p[1] == '*') {
      size_t star = (size_t)(p - g->p0);
      p += 2;
      if (*p == '/' && glob_at(g, p + 1, t, depth + 1)) return 1; /* zero directories */
      return star_at(g, star, p, t, 1, depth);
    }
    if (*p == '*') return star_at(g, (size_t)(p - g->p0), p + 1, t, 0, depth);
    if (!*t) return 0;
    if (*p == '?') {
      if (*t == '/') return 0;
      p++, t++;
      continue;
    }
    if (*p == '[') {
      const char *q = p;
      int m = class_match(&q, *t);
      if (m >= 0) {
        if (!m || *t == '/') return 0;
        p = q, t++;
        continue;
      }
    }
    if (*p == '\\' && p[1]) p++;
    if (*p != *t) return 0;
    p++, t++;
  }
  return *t == 0;
}

int sf_glob_match(const char *pattern, const char *text) {
  if (!strchr(pattern, '/')) {
    const char *slash = strrchr(text, '/');
    if (slash) text = slash + 1;
  }
  struct glob_memo g;
  g.p0 = pattern, g.t0 = text;
  g.on = strlen(pattern) < SF_PATH_MAX && strlen(text) < UINT16_MAX - 1;
  if (g.on) memset(g.lo, 0, sizeof g.lo);
  return glob_at(&g, pattern, text, 0);
}

uint64_t sf_plan_path_bits(const struct sf_plan *plan, const char *path) {
  uint64_t bits = 0;
  for (uint32_t i = 0; i < plan->nrules; i++)
    if (plan->rules[i].path[0] && sf_glob_match(plan->rules[i].path, path)) bits |= 1ull << i;
  return bits;
}

/* ---- addresses ---- */

int sf_addr_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct sf_addr *out) {
  memset(out, 0, sizeof *out);
  if (!sa || len < (socklen_t)sizeof(sa_family_t)) return -1;
  if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    out->family = 4, out->prefix = 32, out->port = ntohs(in->sin_port);
    memcpy(out->bytes, &in->sin_addr, 4);
    return 0;
  }
  if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    out->port = ntohs(in6->sin6_port);
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      out->family = 4, out->prefix = 32;
      memcpy(out->bytes, in6->sin6_addr.s6_addr + 12, 4);
    } else {
      out->family = 6, out->prefix = 128;
      memcpy(out->bytes, &in6->sin6_addr, 16);
    }
    return 0;
  }
  return -1;
}

int sf_addr_match(const struct sf_addr *f, const struct sf_addr *a) {
  if (!a || a->family == 0) return 0;
  if (f->port && f->port != a->port) return 0;
  if (f->family == 0) return 1;
  if (f->family != a->family) return 0;
  unsigned bits = f->prefix, full = bits / 8, rest = bits % 8;
  if (memcmp(f->bytes, a->bytes, full) != 0) return 0;
  if (rest) {
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    if ((f->bytes[full] & mask) != (a->bytes[full] & mask)) return 0;
  }
  return 1;
}

void sf_addr_format(const struct sf_addr *a, char *buf, size_t len) {
  char host[INET6_ADDRSTRLEN] = "";
  if (a->family == 4) inet_ntop(AF_INET, a->bytes, host, sizeof host);
  if (a->family == 6) inet_ntop(AF_INET6, a->bytes, host, sizeof host);
  if (a->family == 6)
    snprintf(buf, len, "[%s]:%u", host, a->port);
  else
    snprintf(buf, len, "%s:%u", host, a->port);
}

/* ---- the decision ---- */

static int rule_filters_match(const struct sf_plan *plan, uint32_t i, const struct sf_call *c) {
  const struct sf_rule *r = &plan->rules[i];
  if (!(r->syscalls & (1ull << c->sys))) return 0;
  if (r->fd_kind != SF_FD_ANY && r->fd_kind != (uint32_t)c->fd_kind) return 0;
  if (r->path[0] && !(c->path_bits & (1ull << i))) return 0;
  if (r->has_addr && !sf_addr_match(&r->addr, c->peer)) return 0;
  /* reset/close after N bytes: only once the socket has moved N bytes in the call's direction */
  if ((r->action == SF_ACT_RESET || r->action == SF_ACT_CLOSE) && r->value > 0 &&
      (!c->has_bytes || c->sock_bytes < (uint64_t)r->value))
    return 0;
  return 1;
}

int64_t sf_byte_cap(const struct sf_plan *plan, const struct sf_call *c) {
  int64_t cap = -1;
  if (!c->has_bytes || c->sys < 0 || c->sys >= SF_SYS_COUNT || !((plan->bytes_used >> c->sys) & 1)) return -1;
  for (uint32_t i = 0; i < plan->nrules; i++) {
    const struct sf_rule *r = &plan->rules[i];
    if ((r->action != SF_ACT_RESET && r->action != SF_ACT_CLOSE) || r->value <= 0) continue;
    if (c->sock_bytes >= (uint64_t)r->value) continue;
    if (!(r->syscalls & (1ull << c->sys))) continue;
    if (r->fd_kind != SF_FD_ANY && r->fd_kind != (uint32_t)c->fd_kind) continue;
    if (r->path[0] && !(c->path_bits & (1ull << i))) continue;
    if (r->has_addr && !sf_addr_match(&r->addr, c->peer)) continue;
    int64_t left = (int64_t)((uint64_t)r->value - c->sock_bytes);
    if (cap < 0 || left < cap) cap = left;
  }
  return cap;
}

static int take_fire(struct sf_rule_stats *st, uint64_t limit) {
  if (limit == SF_UNLIMITED) {
    ADD(&st->fired, 1);
    return 1;
  }
  uint64_t fired = LOAD(&st->fired);
  while (fired < limit)
    if (__atomic_compare_exchange_n(&st->fired, &fired, fired + 1, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) return 1;
  return 0;
}

int sf_decide(struct sf_shm *shm, const struct sf_plan *plan, const struct sf_call *call, struct sf_decision *out) {
  if (call->sys >= 0 && call->sys < SF_SYS_COUNT) ADD(&shm->counts[call->sys].calls, 1);
  return sf_decide_counted(shm, plan, call, out);
}

int sf_decide_counted(struct sf_shm *shm, const struct sf_plan *plan, const struct sf_call *call,
                      struct sf_decision *out) {
  out->rule = -1, out->action = SF_ACT_NONE, out->value = 0, out->value2 = 0, out->flags = 0;
  if (call->sys < 0 || call->sys >= SF_SYS_COUNT) return 0;
  for (uint32_t i = 0; i < plan->nrules; i++) {
    if (!rule_filters_match(plan, i, call)) continue;
    const struct sf_rule *r = &plan->rules[i];
    struct sf_rule_stats *st = &shm->rules[i];
    uint64_t k = ADD(&st->matched, 1);
    if (!LOAD(&shm->armed) || !LOAD(&st->enabled) || k < r->after) continue;
    if (r->prob_threshold < SF_PROB_ALWAYS && (sf_hash(plan->seed, i, k, 0) >> 32) >= r->prob_threshold) continue;
    if (!take_fire(st, r->limit)) continue;
    out->rule = (int)i, out->action = r->action, out->value = r->value;
    out->value2 = r->value2, out->flags = r->flags;
    if (r->action == SF_ACT_TORN && r->value2 < 0) /* a seeded fraction: 0..1000000 ppm, stream 2 */
      out->value2 = (int32_t)(sf_hash(plan->seed, i, k, 2) % 1000001ull);
    if (r->action == SF_ACT_DELAY) {
      if (r->jitter_ms) out->value += (int32_t)(sf_hash(plan->seed, i, k, 1) % ((uint64_t)r->jitter_ms + 1));
      ADD(&shm->counts[call->sys].delayed, 1);
    } else {
      ADD(&shm->counts[call->sys].faulted, 1);
    }
    return 1;
  }
  return 0;
}

/* ---- fault log: the first log_capacity entries are kept, later ones are counted in log_dropped ---- */

void sf_log_fault(struct sf_shm *shm, const struct sf_decision *d, int sys, int pid, int tid, int fd,
                  const char *target) {
  uint64_t seq = ADD(&shm->log_next, 1);
  if (seq >= shm->log_capacity) {
    ADD(&shm->log_dropped, 1);
    return;
  }
  struct sf_log_entry *e = &sf_shm_log(shm)[seq];
  e->seq = seq;
  e->t_ns = sf_now_ns() - shm->start_ns;
  e->pid = pid, e->tid = tid, e->fd = fd;
  e->rule = (uint16_t)d->rule, e->sys = (uint16_t)sys;
  e->action = d->action, e->value = d->value;
  size_t n = 0;
  if (target)
    for (; target[n] && n < SF_TARGET_MAX - 1; n++) e->target[n] = target[n];
  e->target[n] = 0;
  __atomic_store_n(&e->ready, 1, __ATOMIC_RELEASE);
  ADD(&shm->log_wake, 1);
  /* A shared (not private) futex: the waiter is the monitor thread of the controller, another process. */
  if (LOAD(&shm->log_waiters)) syscall(SYS_futex, &shm->log_wake, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}
