/* Finding Go's Syscall6 in an executable (symbol table, or the pclntab when stripped). Used by the shim. */
#ifndef SYSFAULT_GOELF_H
#define SYSFAULT_GOELF_H

#include <stddef.h>
#include <stdint.h>

/* The 20 bytes Syscall6 starts with in Go 1.20 to 1.26: mov r10,rsi; mov rdx,rdi; mov rsi,rcx; mov rdi,rbx;
 * syscall; cmp rax,-4095. The patch replaces the first 5; the agent resumes at SF_GO_STUB_RESUME. */
#define SF_GO_STUB_LEN 20
#define SF_GO_STUB_RESUME 14
extern const uint8_t sf_go_stub_bytes[SF_GO_STUB_LEN];
/* runtime.write1 and runtime.read (ABI0): loads of DI SI DX, MOVL $nr, AX; SYSCALL; MOVL AX, ret; RET.
 * sf_go_read_bytes starts with a placeholder byte (its first load is one byte shorter), so that in both the
 * MOVL $nr, AX is at SF_GO_RAW_PATCH and the code after SYSCALL at SF_GO_RAW_RESUME (from the value found). */
#define SF_GO_RAW_LEN 26
#define SF_GO_RAW_PATCH 14
#define SF_GO_RAW_RESUME 21
extern const uint8_t sf_go_write1_bytes[SF_GO_RAW_LEN], sf_go_read_bytes[SF_GO_RAW_LEN];

struct sf_go_elf {
  uint64_t stub;     /* Syscall6's link-time address */
  uint64_t write1, read; /* the runtime's write and read, 0 when not found as expected (read: one byte before) */
  uint64_t entry;    /* e_entry */
  int pie;           /* ET_DYN: add the load bias */
  const char *found; /* "symbol table" or "pclntab" */
  int is_go;         /* a Go executable (a .gopclntab or .go.buildinfo section), whether or not Syscall6 is usable */
};

/* 0, or -1 with a reason (not a Go x86-64 executable, no Syscall6, ...). Reads the file behind fd. */
int sf_go_elf_find(int fd, struct sf_go_elf *out, char *why, size_t whylen);

#endif
