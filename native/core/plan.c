/* Decoding and checking a compiled plan (format: sysfault.h). Every field is range-checked. */
#include <stdio.h>
#include <string.h>

#include "sysfault.h"

static const char sf_plan_magic[8] = {'S', 'F', 'P', 'L', 'A', 'N', 0, 1};

static uint64_t rd64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}
static uint32_t rd32(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t rd16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }

static int fail(char *err, size_t errlen, const char *what, unsigned rule) {
  if (err && errlen) snprintf(err, errlen, "compiled plan: rule %u: %s", rule, what);
  return -1;
}

static int printable(const unsigned char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] < 0x20 || s[i] == 0x7f) return 0;
  return 1;
}

static int decode_rule(const unsigned char *r, unsigned index, struct sf_rule *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  out->syscalls = rd64(r + 0);
  out->after = rd64(r + 8);
  out->limit = rd64(r + 16);
  out->prob_threshold = rd64(r + 24);
  out->fd_kind = rd32(r + 32);
  out->action = rd32(r + 36);
  out->value = (int32_t)rd32(r + 40);
  out->has_addr = rd32(r + 44);
  out->addr.family = r[48];
  out->addr.prefix = r[49];
  out->addr.port = rd16(r + 50);
  memcpy(out->addr.bytes, r + 52, 16);
  unsigned id_len = r[68];
  unsigned path_len = rd16(r + 132);
  out->jitter_ms = rd32(r + 388);
  out->flags = rd32(r + 392);
  out->value2 = (int32_t)rd32(r + 396);

  if (out->syscalls == 0) return fail(err, errlen, "names no syscall", index);
  if (SF_SYS_COUNT < 64 && (out->syscalls >> SF_SYS_COUNT) != 0) return fail(err, errlen, "unknown syscall bit", index);
  if (out->prob_threshold > SF_PROB_ALWAYS) return fail(err, errlen, "probability above 1", index);
  if (out->fd_kind > SF_FD_PIPE) return fail(err, errlen, "unknown fd kind", index);
  switch (out->action) {
    case SF_ACT_ERRNO:
      if (out->value < 1 || out->value > 4095) return fail(err, errlen, "errno out of range", index);
      break;
    case SF_ACT_DELAY:
      if (out->value < 0 || out->value > 600000) return fail(err, errlen, "delay out of range", index);
      if (out->jitter_ms > 600000) return fail(err, errlen, "jitter out of range", index);
      break;
    case SF_ACT_SHORT:
      if (out->value < 1) return fail(err, errlen, "short byte count below 1", index);
      break;
    case SF_ACT_KILL:
      if (out->value < 1 || out->value > 64) return fail(err, errlen, "signal out of range", index);
      break;
    case SF_ACT_TORN: {
      const uint64_t writes = 1ull << SF_SYS_write | 1ull << SF_SYS_pwrite64 | 1ull << SF_SYS_writev |
                              1ull << SF_SYS_pwritev | 1ull << SF_SYS_pwritev2;
      if (out->syscalls & ~writes) return fail(err, errlen, "torn write on a syscall that does not write a file", index);
      if (out->value < 0) return fail(err, errlen, "torn byte count below 0", index);
      if (out->value2 < -1 || out->value2 > 1000000) return fail(err, errlen, "torn fraction out of range", index);
      if (out->value2 != 0 && out->value != 0) return fail(err, errlen, "torn write with both a byte count and a fraction", index);
      break;
    }
    case SF_ACT_POWERCUT:
      if (out->value != 0) return fail(err, errlen, "power cut with a value", index);
      break;
    case SF_ACT_REFUSE:
    case SF_ACT_BLACKHOLE:
      if (out->syscalls & ~(1ull << SF_SYS_connect)) return fail(err, errlen, "refuse or blackhole on a syscall other than connect", index);
      if (out->value != 0) return fail(err, errlen, "refuse or blackhole with a value", index);
      break;
    case SF_ACT_RESET:
    case SF_ACT_CLOSE: {
      const uint64_t sockio = 1ull << SF_SYS_read | 1ull << SF_SYS_write | 1ull << SF_SYS_readv |
                              1ull << SF_SYS_writev | 1ull << SF_SYS_recvfrom | 1ull << SF_SYS_sendto |
                              1ull << SF_SYS_recvmsg | 1ull << SF_SYS_sendmsg;
      if (out->syscalls & ~sockio) return fail(err, errlen, "reset or close on a syscall that does no socket I/O", index);
      if (out->value < 0) return fail(err, errlen, "reset or close byte count below 0", index);
      if (out->value2 < 0 || out->value2 > 600000) return fail(err, errlen, "reset or close silence out of range", index);
      break;
    }
    default:
      return fail(err, errlen, "unknown action", index);
  }
  if (out->action != SF_ACT_DELAY && out->jitter_ms) return fail(err, errlen, "jitter without delay", index);
  if (out->flags & ~(uint32_t)(SF_FLAG_AFTER_CALL | SF_FLAG_TREE)) return fail(err, errlen, "unknown flags", index);
  if ((out->flags & SF_FLAG_TREE) && out->action != SF_ACT_KILL && out->action != SF_ACT_POWERCUT)
    return fail(err, errlen, "tree flag on an action other than kill or powercut", index);
  if ((out->flags & SF_FLAG_AFTER_CALL) && out->action != SF_ACT_KILL && out->action != SF_ACT_POWERCUT)
    return fail(err, errlen, "after-call flag on an action other than kill or powercut", index);
  if (out->value2 != 0 && out->action != SF_ACT_TORN && out->action != SF_ACT_RESET && out->action != SF_ACT_CLOSE) return fail(err, errlen, "second value set for an action that takes none", index);
  if (out->has_addr > 1) return fail(err, errlen, "bad address flag", index);
  if (out->has_addr) {
    unsigned maxp = out->addr.family == 4 ? 32 : out->addr.family == 6 ? 128 : 0;
    if (out->addr.family != 0 && out->addr.family != 4 && out->addr.family != 6)
      return fail(err, errlen, "bad address family", index);
    if (out->addr.prefix > maxp) return fail(err, errlen, "bad address prefix", index);
    if (out->addr.family == 0 && out->addr.port == 0) return fail(err, errlen, "empty address filter", index);
  } else if (out->addr.family || out->addr.prefix || out->addr.port) {
    return fail(err, errlen, "address bytes without address flag", index);
  }
  if (id_len == 0 || id_len >= SF_ID_MAX || !printable(r + 69, id_len)) return fail(err, errlen, "bad id", index);
  memcpy(out->id, r + 69, id_len);
  if (path_len >= SF_PATH_MAX - 1 || !printable(r + 134, path_len)) return fail(err, errlen, "bad path glob", index);
  memcpy(out->path, r + 134, path_len);
  for (unsigned i = 69 + id_len; i < 132; i++)
    if (r[i]) return fail(err, errlen, "garbage after id", index);
  for (unsigned i = 134 + path_len; i < 388; i++)
    if (r[i]) return fail(err, errlen, "garbage after path", index);
  for (unsigned i = 400; i < SF_WIRE_RULE; i++)
    if (r[i]) return fail(err, errlen, "reserved bytes set", index);
  return 0;
}

int sf_plan_decode(const void *buf, size_t len, struct sf_plan *out, char *err, size_t errlen) {
  const unsigned char *p = buf;
  memset(out, 0, sizeof *out);
  if (!buf || len < SF_WIRE_HEADER || memcmp(p, sf_plan_magic, 8) != 0) {
    if (err && errlen) snprintf(err, errlen, "compiled plan: bad header");
    return -1;
  }
  uint32_t version = rd32(p + 8), nrules = rd32(p + 12), rule_size = rd32(p + 24), counted = rd32(p + 28);
  if (version != 1 || rule_size != SF_WIRE_RULE) {
    if (err && errlen) snprintf(err, errlen, "compiled plan: unsupported version %u", version);
    return -1;
  }
  if (SF_SYS_COUNT < 32 && (counted >> SF_SYS_COUNT) != 0) {
    if (err && errlen) snprintf(err, errlen, "compiled plan: counted syscalls 0x%x out of range", counted);
    return -1;
  }
  if (nrules > SF_MAX_RULES || len != SF_WIRE_HEADER + (size_t)nrules * SF_WIRE_RULE) {
    if (err && errlen) snprintf(err, errlen, "compiled plan: %u rules do not fit %zu bytes", nrules, len);
    return -1;
  }
  out->seed = rd64(p + 16);
  for (uint32_t i = 0; i < nrules; i++) {
    struct sf_rule *r = &out->rules[i];
    if (decode_rule(p + SF_WIRE_HEADER + (size_t)i * SF_WIRE_RULE, i, r, err, errlen) != 0) {
      memset(out, 0, sizeof *out);
      return -1;
    }
    out->named |= r->syscalls;
    if (r->path[0]) out->path_used |= r->syscalls;
    if (r->fd_kind != SF_FD_ANY) out->kind_used |= r->syscalls;
    if (r->has_addr) out->addr_used |= r->syscalls;
    if ((r->action == SF_ACT_RESET || r->action == SF_ACT_CLOSE) && r->value > 0) out->bytes_used |= r->syscalls;
  }
  out->counted = counted & ~out->named;
  out->named |= counted;
  out->nrules = nrules;
  return 0;
}
