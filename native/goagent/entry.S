/*
 * sf_go_entry: where Go's patched Syscall6 stub jumps (native/goagent/agent.h has the picture); sf_go_write1 and
 * sf_go_read: the runtime's own write and read stubs.
 * At entry, as in Syscall6 (Go's register ABI): AX = number, BX CX DI SI R8 R9 = arguments 1..6, R14 = g, the
 * goroutine's stack in SP. Free: DX R10 R11 R12 R13. Back at the stub's `cmp rax, -4095` with AX = result and
 * DX = argument 3 (what the kernel leaves there); R14, R15, BP and SP as they were; no SSE register touched.
 */
#include "agent.h"

        .intel_syntax noprefix
        .text

        .globl sf_go_entry
        .hidden sf_go_entry
        .type sf_go_entry, @function
sf_go_entry:
        cmp rax, SF_AGENT_NRS
        jae .Lraw
        lea r11, [rip + sf_agent_conf]
        test byte ptr [r11 + SF_CONF_FLAGS + rax], SF_NR_HOOK
        jnz .Lhook
.Lraw:  /* the stub's own instructions; a named syscall made here goes to the supervisor. AX bits 16+: the stub */
        mov r12, rax
        shr r12, 16
        and eax, 0xffff
        lea r13, [rip + sf_agent_conf]
        mov r10, rsi
        mov rdx, rdi
        mov rsi, rcx
        mov rdi, rbx
        syscall
        jmp qword ptr [r13 + SF_CONF_RESUME + r12 * 8]
        .size sf_go_entry, . - sf_go_entry

/* runtime.write1 and runtime.read (ABI0: DI SI DX are the syscall's arguments, AX is set by the patched MOVL):
 * the same hook, their arguments moved to Syscall6's registers and the stub's index in AX bits 16+ */
/* one entry per raw stub: straight to the kernel when the plan does not care, else into the hook */
        .macro RAW_STUB name, nr, index
        .globl \name
        .hidden \name
        .type \name, @function
\name:
        mov eax, \nr
        lea r11, [rip + sf_agent_conf]
        test byte ptr [r11 + SF_CONF_FLAGS + \nr], SF_NR_HOOK
        jnz 1f
        syscall
        jmp qword ptr [rip + sf_agent_conf + SF_CONF_RESUME + \index * 8]
1:      mov eax, \nr | (\index << 16)
        jmp .Lstub_hook
        .size \name, . - \name
        .endm

        RAW_STUB sf_go_write1, 1, SF_STUB_WRITE1
        RAW_STUB sf_go_read, 0, SF_STUB_READ

/* Find this thread's slot: open addressing on a key. From Syscall6 the key is the thread's M (g.m: R14 is g in
 * Go's register ABI, nil only on a thread Go has not set up). The raw stubs run where R14 is not always g
 * (signal handlers, the scheduler), so theirs is the thread's FS base with bit 0 set: both are 8-byte aligned
 * addresses, so the two kinds never collide, and a thread that makes both kinds of call has two slots. */
.Lstub_hook:
        mov rbx, rdi
        mov rcx, rsi
        mov rdi, rdx
        xor esi, esi
        xor r8d, r8d
        xor r9d, r9d
        rdfsbase r12
        or r12, 1
        jmp .Lkeyed

.Lhook: /* r11 = conf */
        test r14, r14
        jz .Lraw
        mov r12, qword ptr [r14 + SF_GO_G_M]
        test r12, r12
        jz .Lraw
.Lkeyed:
        imul r13, r12, 0x2545f491
        shr r13, 7
        and r13, SF_AGENT_MAP - 1
.Lprobe:
        mov rdx, r13
        shl rdx, 4
        cmp qword ptr [r11 + SF_CONF_MAP + rdx], r12
        je .Lfound
        cmp qword ptr [r11 + SF_CONF_MAP + rdx], 0
        je .Lclaim
        inc r13
        and r13, SF_AGENT_MAP - 1
        jmp .Lprobe

.Lclaim: /* once per thread: take the entry (another thread may race for it), then a slot. The map is kept at
         * most half full, so that every probe ends at its key or at an empty entry: a program that goes through
         * more threads than that (threads that exit locked, cgo callbacks from C threads) has its later ones
         * handled by the supervisor, instead of probing forever. */
        cmp dword ptr [r11 + SF_CONF_NCLAIM], SF_AGENT_MAP / 2
        jae .Lraw
        mov r10, rax
        xor eax, eax
        lock cmpxchg qword ptr [r11 + SF_CONF_MAP + rdx], r12
        mov rax, r10
        jne .Lprobe
        mov r10d, 1
        lock xadd dword ptr [r11 + SF_CONF_NCLAIM], r10d
        cmp r10d, SF_AGENT_SLOTS
        jae .Lraw /* no slot left: this thread's calls all go to the supervisor (its entry's slot stays 0) */
        imul r10, r10, SF_SLOT_SIZE
        lea r10, [r11 + SF_CONF_SLOTS + r10]
        mov qword ptr [r11 + SF_CONF_MAP + rdx + 8], r10

.Lfound:
        mov r13, qword ptr [r11 + SF_CONF_MAP + rdx + 8]
        test r13, r13
        jz .Lraw
        /* The pass-through: a call the agent decides, on a descriptor (in BX) no rule can fire on for this
         * syscall (its quiet bit, set by agent.c), on a thread with a counter row. Counted and made from the
         * gate right here, on the goroutine's stack, which it does not touch: the gate's `syscall; jmp r13`
         * comes back without a return address. Anything else goes on to the C side. */
        movzx r10d, ax
        movsx r10d, byte ptr [r11 + SF_CONF_PASS_SYS + r10]
        test r10d, r10d
        js .Lstack
        cmp rbx, SF_AGENT_FDS
        jae .Lstack
        mov rdx, rbx
        shl rdx, 4
        add rdx, qword ptr [r11 + SF_CONF_FDS]
        mov edx, dword ptr [rdx + SF_FD_QUIET]
        bt edx, r10d
        jnc .Lstack
        mov rdx, qword ptr [r13 + SF_SLOT_ROW]
        mov rdx, qword ptr [rdx]
        cmp rdx, SF_ROW_SHARED
        jbe .Lstack /* no row yet (agent.c claims one), or none left */
        add qword ptr [rdx + r10 * 8], 1 /* only this thread writes its counters */
        mov r12, rax
        shr r12, 16
        and eax, 0xffff
        mov r10, rsi
        mov rdx, rdi
        mov rsi, rcx
        mov rdi, rbx
        lea r13, [rip + 4f]
        mov rcx, SF_GATE_ADDR + SF_GATE_JMP_R13
        jmp rcx
4:      lea r11, [rip + sf_agent_conf]
        jmp qword ptr [r11 + SF_CONF_RESUME + r12 * 8]
.Lstack:
        /* reserve one level of the slot's stack, switch to it, release only after switching back */
        mov rdx, qword ptr [r13]
        sub rdx, SF_AGENT_LEVEL
        cmp rdx, qword ptr [r13 + 8]
        jb .Lraw
        mov qword ptr [r13], rdx
        mov r12, rsp
        lea rsp, [rdx + SF_AGENT_LEVEL]
        push r12                /* 72: the caller's SP */
        push r13                /* 64: the slot */
        push r9                 /* 56: a6 */
        push r8                 /* 48: a5 */
        push rsi                /* 40: a4 */
        push rdi                /* 32: a3 */
        push rcx                /* 24: a2 */
        push rbx                /* 16: a1 */
        mov rdx, rax
        shr rdx, 16
        and eax, 0xffff
        push rax                /*  8: nr */
        push qword ptr [r11 + SF_CONF_RESUME + rdx * 8] /* 0: where to go on (keeps SP 16-byte aligned) */
        lea rdi, [rsp + 8]
        call sf_go_hook
        mov r12, qword ptr [rsp]
        mov rdx, qword ptr [rsp + 32]
        mov r13, qword ptr [rsp + 64]
        mov rsp, qword ptr [rsp + 72]
        add qword ptr [r13], SF_AGENT_LEVEL
        jmp r12

/* long sf_net_syscall6(long nr, long a0, ..., long a5): a syscall made outside the gate (the supervisor's) */
        .globl sf_net_syscall6
        .hidden sf_net_syscall6
        .type sf_net_syscall6, @function
sf_net_syscall6:
        mov rax, rdi
        mov rdi, rsi
        mov rsi, rdx
        mov rdx, rcx
        mov r10, r8
        mov r8, r9
        mov r9, qword ptr [rsp + 8]
        syscall
        ret
        .size sf_net_syscall6, . - sf_net_syscall6

/* long syscall(long nr, ...): for the C core (futex wake, clock_gettime); never a named syscall */
        .globl syscall
        .hidden syscall
        .type syscall, @function
syscall:
        jmp sf_net_syscall6
        .size syscall, . - syscall

        .section .note.GNU-stack, "", @progbits
