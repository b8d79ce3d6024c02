/*
 * Private to the preload engine: what preload.c (init, the wrappers, descriptor facts, network actions) and
 * preload-net.c (the read stalls' table and helper thread) share. Hidden: never exported from the library.
 */
#ifndef SYSFAULT_PRELOAD_INTERNAL_H
#define SYSFAULT_PRELOAD_INTERNAL_H

#include <stdint.h>

#define SF_FD_TABLE 65536

#pragma GCC visibility push(hidden)

/* preload.c */
extern __thread int sf_guard __attribute__((tls_model("initial-exec")));
enum { STALL_NONE = 0, STALL_ON = 1, STALL_PASS = 2 };
extern uint8_t sf_stall_state[SF_FD_TABLE];

/* gate.c: set by sf_count, taken by the next REAL(): that call is made from the gate page (raw) */
extern __thread int sf_gate_next __attribute__((tls_model("initial-exec")));
void sf_gate_setup(void);
int sf_gate_active(void);

/* preload.c: the run's shared region once attached, else NULL */
struct sf_shm *sf_preload_shm(void);
long sf_raw(long nr, ...);

/* preload-net.c */
int sf_stall_begin(int fd, uint64_t until, int end);
int sf_stall_wait(int fd, uint64_t start);

#pragma GCC visibility pop

#endif
