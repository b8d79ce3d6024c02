/*
 * The run monitor's part for the preload engine: under it the target appends fault entries to the shared log
 * itself, and the monitor must notice them without polling. This thread sleeps on the log's futex word (which
 * every append bumps, waking it when log_waiters is set; sf_log_fault, native/core/shm.c) and turns each
 * wake-up into a readable eventfd for the monitor's loop, which drains the log.
 */
#include <linux/futex.h>
#include <sys/syscall.h>

#include "monitor-internal.h"

static void *log_waiter_main(void *arg) {
  struct run *r = arg;
  uint32_t *word = &r->m->shm->log_wake;
  uint32_t seen = __atomic_load_n(word, __ATOMIC_ACQUIRE);
  uint64_t one = 1;
  /* Entries appended before `seen` was read (the target may fault before this thread runs) wake nobody:
   * have the loop drain once now. */
  if (write(r->log_efd, &one, sizeof one) < 0) { /* already readable */ }
  while (!__atomic_load_n(&r->log_stop, __ATOMIC_ACQUIRE)) {
    struct timespec limit = { 1, 0 }; /* belt and braces: a missed wake-up costs at most a second */
    syscall(SYS_futex, word, FUTEX_WAIT, seen, &limit, NULL, 0);
    uint32_t now = __atomic_load_n(word, __ATOMIC_ACQUIRE);
    if (now == seen) continue;
    seen = now;
    if (write(r->log_efd, &one, sizeof one) < 0) { /* already readable */ }
  }
  return NULL;
}

void mon_log_waiter_start(struct run *r) {
  r->log_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (r->log_efd < 0) return;
  __atomic_store_n(&r->m->shm->log_waiters, 1u, __ATOMIC_RELEASE);
  if (pthread_create(&r->log_thread, NULL, log_waiter_main, r) == 0) {
    r->log_thread_on = 1;
    return;
  }
  __atomic_store_n(&r->m->shm->log_waiters, 0u, __ATOMIC_RELEASE);
  close(r->log_efd);
  r->log_efd = -1;
}

void mon_log_waiter_stop(struct run *r) {
  if (r->log_thread_on) {
    __atomic_store_n(&r->log_stop, 1, __ATOMIC_RELEASE);
    __atomic_fetch_add(&r->m->shm->log_wake, 1, __ATOMIC_RELEASE); /* so that a wait about to start returns */
    syscall(SYS_futex, &r->m->shm->log_wake, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
    pthread_join(r->log_thread, NULL);
    r->log_thread_on = 0;
    __atomic_store_n(&r->m->shm->log_waiters, 0u, __ATOMIC_RELEASE);
  }
  if (r->log_efd >= 0) close(r->log_efd), r->log_efd = -1;
}
