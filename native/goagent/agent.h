/*
 * The in-process fast path for Go binaries: what the loader (native/goagent/load.c, in the shim) and the agent
 * (agent.c and entry.S, built freestanding into libsysfault-goagent.so and mapped into the target) share.
 *
 * The loader maps the agent within 2 GB of Go's Syscall6 stub and writes `jmp rel32` to sf_go_entry over the
 * stub's first five bytes (the register moves before SYSCALL). sf_go_entry looks the syscall number up in
 * sf_agent_conf.nr_flags: a call the plan does not care about is made right there, like the stub would
 * (the seccomp filter lets unnamed syscalls through); any other goes to sf_go_hook (agent.c) on a stack of the
 * agent's own, found from the calling thread's M (g.m), and comes back with the result in AX. A named call the
 * agent decides itself is made from the gate page at SF_GATE_ADDR, the one address the filter lets named
 * syscalls through from; a call the agent leaves to the supervisor is made from anywhere else and notified.
 */
#ifndef SYSFAULT_GOAGENT_H
#define SYSFAULT_GOAGENT_H

/* Fixed for the whole run (the filter is installed before the first exec): far from Go's arena hints
 * (k << 40 | 0xc0 << 32), PIE bases (0x55.., 0x56..), the top-down mmap area, and AddressSanitizer's shadow
 * (up to 0x10007fff7fff). Its low 32 bits are 0 (the filter compares the high word, then the low one). */
#ifdef __ASSEMBLER__
#define SF_U64(x) x
#else
#define SF_U64(x) x##ull
#endif
#define SF_GATE_ADDR SF_U64(0x300000000000)
#define SF_GATE_SIZE SF_U64(4096)
#define SF_GATE_JMP_R13 3 /* the gate's `syscall; jmp r13` (SF_GATE_CODE) */

#define SF_AGENT_MAGIC 0x31544e4741465353ull /* "SSFAGNT1" */
#define SF_AGENT_NRS 512     /* syscall numbers the flags table covers */
#define SF_AGENT_MAP 1024    /* M -> slot table entries (a power of two) */
#define SF_AGENT_SLOTS 256   /* threads with a stack of their own; later ones leave every call to the supervisor */
#define SF_AGENT_STACK 65536 /* per slot */
#define SF_AGENT_LEVEL 16384 /* one nesting level of a slot's stack */
#define SF_AGENT_FDS 65536   /* descriptor facts kept for fds below this */
#define SF_GO_G_M 48         /* offsetof(runtime.g, m), the same from Go 1.20 to 1.26 */

/* nr_flags bits */
#define SF_NR_HOOK 1   /* go to sf_go_hook (else: the syscall is made in sf_go_entry) */
#define SF_NR_DECIDE 2 /* a named syscall the agent decides (else: made outside the gate, for the supervisor) */
#define SF_NR_FDBOOK 4 /* opens, closes or replaces descriptors: the agent's descriptor facts follow it */

/* Patched stubs (the index of their resume address): Go's Syscall6, and the runtime's own write and read
 * (runtime.write1, runtime.read: `MOVL $nr, AX; SYSCALL`, the netpoller's wake-ups among others). */
#define SF_STUB_SYSCALL6 0
#define SF_STUB_WRITE1 1
#define SF_STUB_READ 2
#define SF_STUBS 3

/* Offsets used by entry.S (checked against the struct in agent.c). */
#define SF_CONF_NCLAIM 8
#define SF_CONF_FDS 24
#define SF_CONF_ROWS 32
#define SF_CONF_RESUME 40
#define SF_CONF_FLAGS 72
#define SF_CONF_NR_SYS (SF_CONF_FLAGS + SF_AGENT_NRS)
#define SF_CONF_FD_ARG (SF_CONF_NR_SYS + SF_AGENT_NRS)
#define SF_CONF_PASS_SYS (SF_CONF_FD_ARG + 32)
#define SF_CONF_MAP (SF_CONF_PASS_SYS + SF_AGENT_NRS)
#define SF_CONF_SLOTS (SF_CONF_MAP + SF_AGENT_MAP * 16)
#define SF_SLOT_SIZE 32
#define SF_SLOT_ROW 16
#define SF_FD_SIZE 16
#define SF_FD_QUIET 4
#define SF_ROW_NONE 0
#define SF_ROW_SHARED 1

#ifndef __ASSEMBLER__
#include <stdint.h>

#include "../core/sysfault.h"

/* One thread's own stack. top: the next reservation ends here; base: the lowest top allowed. row: this slot's
 * entry in conf.rows (fixed by the loader, so that entry.S reaches the thread's counters in two loads). */
struct sf_agent_slot {
  uint64_t top, base;
  uint64_t **row;
  uint64_t pad;
};

/* What we know of one descriptor (as the preload engine keeps it). */
struct sf_agent_fd {
  uint8_t state, kind;
  uint8_t pad[2];
  uint32_t quiet; /* bit per enum sf_sys: no rule can fire on this descriptor (entry.S passes it through) */
  uint64_t path_bits;
};

struct sf_agent_conf {
  uint64_t magic;
  uint32_t nclaim;  /* slots handed out (may exceed SF_AGENT_SLOTS) */
  uint32_t pad;
  struct sf_shm *shm;
  struct sf_agent_fd *fds; /* SF_AGENT_FDS entries */
  /* By slot: the thread's row of counters in the shared region (SF_ROW_NONE: not claimed yet; SF_ROW_SHARED:
   * none was left, its calls are counted with a locked add). A page of its own marked MADV_WIPEONFORK: the
   * child of a fork without CLONE_VM (a copy of the forking thread) finds 0 there and claims a row of its own
   * instead of racing its parent for the same one. */
  uint64_t **rows;
  uint64_t resume[4]; /* by SF_STUB_*: where each patched stub goes on after its SYSCALL (0: not patched) */
  uint8_t nr_flags[SF_AGENT_NRS];
  int8_t nr_sys[SF_AGENT_NRS]; /* syscall number -> enum sf_sys, -1 */
  int8_t fd_arg[32];           /* by enum sf_sys: which argument is the call's descriptor, -1 none (opens) */
  /* syscall number -> enum sf_sys when entry.S may pass it through itself (decided by the agent, nothing to
   * book, the descriptor in the first argument), else -1 */
  int8_t pass_sys[SF_AGENT_NRS];
  struct { uint64_t key, slot; } map[SF_AGENT_MAP];
  struct sf_agent_slot slots[SF_AGENT_SLOTS];
  /* The plan summarised per syscall (as the preload engine does it). */
  uint64_t rules_for[SF_SYS_COUNT];
  uint64_t fd_rules, path_rules;
  uint32_t path_by_name; /* every path glob looks only at a file's name (sf_glob_name_part) */
  uint64_t kind_ok[4];
  uint64_t socket_net_rules; /* rules that, on a socket, need the supervisor (delays, address filters) */
  struct sf_plan plan;
};

/* The gate page: `syscall; ret`, entered by sf_gate_syscall6 with the kernel's registers set; at SF_GATE_JMP_R13,
 * `syscall; jmp r13`, for entry.S's pass-through (no stack: it runs on the goroutine's). Placed at SF_GATE_ADDR
 * by the loader (Go) or by the preload library. */
#define SF_GATE_CODE { 0x0f, 0x05, /* syscall */ 0xc3, /* ret */ 0x0f, 0x05, /* syscall */ 0x41, 0xff, 0xe5 /* jmp r13 */ }

/* Syscalls made from the gate page: the arguments go straight into the kernel's registers and one call
 * reaches the page (a C function there would first shuffle seven arguments, one of them through the stack).
 * The call goes through memory (RIP-relative), which needs no register, and steps over the red zone first: the
 * compiler may keep data below %rsp, which the return address would overwrite. The 3-argument form leaves
 * r10, r8 and r9 as they are: the kernel reads only the arguments a syscall has. Return what the kernel
 * returns (-errno on failure). */
#define SF_GATE_CALL "lea -128(%%rsp), %%rsp\n\tcall *%[gate]\n\tlea 128(%%rsp), %%rsp"
static inline long sf_gate_syscall3(long nr, long a0, long a1, long a2) {
  static const unsigned long long gate = SF_GATE_ADDR;
  long r;
  __asm__ volatile(SF_GATE_CALL
                   : "=a"(r)
                   : "0"(nr), "D"(a0), "S"(a1), "d"(a2), [gate] "m"(gate)
                   : "rcx", "r11", "memory", "cc");
  return r;
}
static inline long sf_gate_syscall6(long nr, long a0, long a1, long a2, long a3, long a4, long a5) {
  static const unsigned long long gate = SF_GATE_ADDR;
  register long r10 __asm__("r10") = a3;
  register long r8 __asm__("r8") = a4;
  register long r9 __asm__("r9") = a5;
  long r;
  __asm__ volatile(SF_GATE_CALL
                   : "=a"(r)
                   : "0"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9), [gate] "m"(gate)
                   : "rcx", "r11", "memory", "cc");
  return r;
}
#endif
#endif
