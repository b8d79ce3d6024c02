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
#include "sysfault.h"

#define LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define ADD(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)

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
    /* reset/close after N bytes: the offset it fires at, which a rule with a probability or an `after` places
     * past N (the fault log says where the stream was cut) */
    if ((r->action == SF_ACT_RESET || r->action == SF_ACT_CLOSE) && r->value > 0)
      out->value = call->sock_bytes > INT32_MAX ? INT32_MAX : (int32_t)call->sock_bytes;
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

size_t sf_torn_keep(size_t n, int32_t value, int32_t value2) {
  if (value2 == 0) return value <= 0 ? 0 : (size_t)value < n ? (size_t)value : n;
  /* n x ppm / 10^6 in 64 bits (no 128-bit division: it would pull libgcc_s into every preloaded program) */
  uint64_t ppm = (uint32_t)value2;
  return (size_t)(n / 1000000u * ppm + n % 1000000u * ppm / 1000000u);
}
