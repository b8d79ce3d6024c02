/* Path globs: a rule's `path` filter (syntax in docs; the same matcher serves both engines). */
#include <string.h>

#include "sysfault.h"

/* `*` and `?` stay within a path segment, `**` crosses them, `**` followed by `/` may match
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

const char *sf_glob_name_part(const char *pattern) {
  if (!strchr(pattern, '/')) return pattern;
  if (pattern[0] != '*' || pattern[1] != '*' || pattern[2] != '/') return NULL;
  const char *rest = pattern + 3;
  for (const char *p = rest; *p; p++)
    if (*p == '/' || *p == '\\' || (p[0] == '*' && p[1] == '*')) return NULL;
  return rest;
}

int sf_glob_match(const char *pattern, const char *text) {
  const char *name = sf_glob_name_part(pattern);
  if (name) {
    const char *slash = strrchr(text, '/');
    if (slash) text = slash + 1;
    pattern = name;
  }
  struct glob_memo g;
  size_t plen = strlen(pattern);
  g.p0 = pattern, g.t0 = text;
  g.on = plen < SF_PATH_MAX && strlen(text) < UINT16_MAX - 1;
  if (g.on) memset(g.lo, 0, plen * sizeof *g.lo); /* stars sit at pattern offsets below plen; hi is read only where lo is set */
  return glob_at(&g, pattern, text, 0);
}

uint64_t sf_plan_path_bits(const struct sf_plan *plan, const char *path) {
  uint64_t bits = 0;
  for (uint32_t i = 0; i < plan->nrules; i++)
    if (plan->rules[i].path[0] && sf_glob_match(plan->rules[i].path, path)) bits |= 1ull << i;
  return bits;
}
