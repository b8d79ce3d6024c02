/*
 * The monitor's held calls (monitor-internal.h): a growable vector (short transfers, tombstones) and a binary
 * min-heap by deadline on the same vector (delays).
 */
#include "monitor-internal.h"

struct held *mon_vec_push(struct heldvec *v, const struct held *h) {
  if (v->n == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 16;
    struct held *nv = realloc(v->v, cap * sizeof *nv);
    if (!nv) return NULL;
    v->v = nv, v->cap = cap;
  }
  v->v[v->n] = *h;
  return &v->v[v->n++];
}

void mon_vec_remove_ordered(struct heldvec *v, size_t i) {
  memmove(&v->v[i], &v->v[i + 1], (v->n - i - 1) * sizeof *v->v);
  v->n--;
}

ssize_t mon_vec_find_tid(const struct heldvec *v, int32_t tid) {
  for (size_t i = 0; i < v->n; i++)
    if (v->v[i].tid == tid) return (ssize_t)i;
  return -1;
}

static void heap_swap(struct heldvec *h, size_t a, size_t b) {
  struct held t = h->v[a];
  h->v[a] = h->v[b], h->v[b] = t;
}

static void heap_up(struct heldvec *h, size_t i) {
  for (; i > 0 && h->v[(i - 1) / 2].deadline > h->v[i].deadline; i = (i - 1) / 2) heap_swap(h, i, (i - 1) / 2);
}

static void heap_down(struct heldvec *h, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, min = i;
    if (l < h->n && h->v[l].deadline < h->v[min].deadline) min = l;
    if (r < h->n && h->v[r].deadline < h->v[min].deadline) min = r;
    if (min == i) return;
    heap_swap(h, i, min);
    i = min;
  }
}

int mon_heap_push(struct heldvec *h, const struct held *e) {
  if (!mon_vec_push(h, e)) return -1;
  heap_up(h, h->n - 1);
  return 0;
}

void mon_heap_remove(struct heldvec *h, size_t i) {
  h->v[i] = h->v[--h->n];
  if (i < h->n) {
    heap_up(h, i);
    heap_down(h, i);
  }
}
