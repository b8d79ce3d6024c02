/* Layout and checks of the shared region: header + counters, then the compiled plan, then the fault log. */
#include <stdio.h>
#include <string.h>

#include "sysfault.h"

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
