/* seccomp-floor: the kernel's own cost of running under a seccomp filter, without sysfault. Installs the same
 * shape of filter as sysfault's seccomp launcher (x86_64 arch check, x32 rejected, a list of syscall numbers,
 * allow the rest) naming only fdatasync (answered with EIO in BPF), then execs the command. A loop's calls go
 * through the kernel's seccomp entry path as they do under a sysfault plan that does not name them.
 * With --named NR, syscall NR is named too, as sysfault's filter names a syscall with the fast path on: the
 * filter runs on each of its calls (a filter that reads more than the number defeats the kernel's cached
 * answer) and compares the instruction pointer with the gate page's range, then lets the call through
 * wherever it comes from: the kernel's floor for a named call that no one is notified of.
 * Usage: seccomp-floor [--named NR] CMD [ARGS...] */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../../native/goagent/agent.h" /* SF_GATE_ADDR, SF_GATE_SIZE: the gate page sysfault's filter checks */

#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0x40000000
#endif


int main(int argc, char **argv)
{
    long named = -1; /* none: the comparison below never matches, as no syscall has this number */
    char *end = NULL;
    if (argc > 2 && strcmp(argv[1], "--named") == 0) {
        named = strtol(argv[2], &end, 10);
        if (*end || end == argv[2]) named = -2;
        argv += 2, argc -= 2;
    }
    if (argc < 2 || named < -1 || named > 1023) {
        fprintf(stderr, "usage: seccomp-floor [--named NR] CMD [ARGS...]\n");
        return 2;
    }
    const unsigned ip = offsetof(struct seccomp_data, instruction_pointer);
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, __X32_SYSCALL_BIT, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_fdatasync, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EIO),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)named, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        /* the named call: sysfault's instruction-pointer check, and through either way */
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ip + 4),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)(SF_GATE_ADDR >> 32), 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ip),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (unsigned)SF_GATE_ADDR + (unsigned)SF_GATE_SIZE, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof filter / sizeof *filter, filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
        perror("seccomp-floor: seccomp");
        return 125;
    }
    execvp(argv[1], argv + 1);
    perror("seccomp-floor: exec");
    return errno == ENOENT ? 127 : 126;
}
