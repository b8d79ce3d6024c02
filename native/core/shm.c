/* The shared region: its layout and checks (header + counters, then the compiled plan, then the fault log),
 * the clock its times are kept in, and appending to the fault log. */
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "sysfault.h"

#define LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define ADD(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#define ALIGN64(x) (((x) + 63u) & ~(size_t)63u)

size_t sf_shm_size(size_t plan_size, uint32_t log_capacity) {
  return ALIGN64(sizeof(struct sf_shm)) + ALIGN64(plan_size) + (size_t)log_capacity * sizeof(struct sf_log_entry);
}

void sf_shm_init(struct sf_shm *shm, size_t total, const void *plan, size_t plan_size, uint32_t log_capacity,
                 const char *run_id, uint32_t nrules) {
  memset(shm, 0, sizeof *shm);
  memcpy(shm->magic, SF_SHM_MAGIC, 8);
  shm->version = 1;
  shm->total_size = (uint32_t)total;
  shm->start_ns = sf_now_ns();
  shm->armed = 1;
  shm->log_capacity = log_capacity;
  shm->plan_offset = (uint32_t)ALIGN64(sizeof(struct sf_shm));
  shm->plan_size = (uint32_t)plan_size;
  shm->log_offset = (uint32_t)(ALIGN64(sizeof(struct sf_shm)) + ALIGN64(plan_size));
  memcpy((char *)shm + shm->plan_offset, plan, plan_size);
  snprintf(shm->run_id, sizeof shm->run_id, "%s", run_id ? run_id : "");
  for (uint32_t i = 0; i < nrules && i < SF_MAX_RULES; i++) shm->rules[i].enabled = 1;
}

int sf_shm_check(const struct sf_shm *shm, size_t mapped, char *err, size_t errlen) {
  const char *why = NULL;
  if (mapped < sizeof *shm || memcmp(shm->magic, SF_SHM_MAGIC, 8) != 0 || shm->version != 1)
    why = "not a sysfault region";
  else if (shm->total_size != mapped)
    why = "size mismatch";
  else if (shm->plan_offset < sizeof *shm || shm->plan_offset > mapped || shm->plan_size > mapped - shm->plan_offset)
    why = "plan out of bounds";
  else if (shm->log_offset < shm->plan_offset + shm->plan_size || shm->log_offset > mapped ||
           (mapped - shm->log_offset) / sizeof(struct sf_log_entry) < shm->log_capacity)
    why = "log out of bounds";
  if (why && err && errlen) snprintf(err, errlen, "shared region: %s", why);
  return why ? -1 : 0;
}

struct sf_log_entry *sf_shm_log(struct sf_shm *shm) {
  return (struct sf_log_entry *)((char *)shm + shm->log_offset);
}

uint64_t sf_shm_calls(const struct sf_shm *shm, int sys) {
  uint64_t n = __atomic_load_n(&shm->counts[sys].calls, __ATOMIC_RELAXED);
  uint32_t used = __atomic_load_n(&shm->slots_claimed, __ATOMIC_RELAXED);
  if (used > SF_CALL_SLOTS) used = SF_CALL_SLOTS;
  for (uint32_t i = 0; i < used; i++) n += __atomic_load_n(&shm->slot_calls[i][sys], __ATOMIC_RELAXED);
  return n;
}

int sf_shm_claim_slot(struct sf_shm *shm) {
  uint32_t slot = __atomic_fetch_add(&shm->slots_claimed, 1, __ATOMIC_RELAXED);
  return slot < SF_CALL_SLOTS ? (int)slot : -1;
}

uint64_t sf_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
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
