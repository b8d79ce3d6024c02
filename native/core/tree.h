/*
 * Whole-tree crash: a machine crash stops every process at the same instant. At a crash point with this scope,
 * every process of the run (every descendant of the run's sysfault-shim, the subreaper of the tree) is stopped
 * (SIGSTOP, until each shows as stopped or a bounded wait ran out), then all of them are killed (SIGKILL), so
 * that none of them runs on after the crash point: no later write, no acknowledgement printed after it. Used by
 * the preload engine (inside the crashing process) and the seccomp monitor. Raw syscalls only: the preload
 * engine calls this from inside its wrappers.
 */
#ifndef SYSFAULT_TREE_H
#define SYSFAULT_TREE_H

#include <sys/types.h>

struct sf_shm;

#ifdef __cplusplus
extern "C" {
#endif

/* Stops, then kills, every process of the tree `member` belongs to, except `spare` (the crashing process,
 * which the caller kills itself; 0: none spared). Returns how many processes were killed, or -1 when the tree
 * cannot be found (nothing was signalled; counted in shm->tree_unreached when shm is given): member is not
 * under a sysfault-shim, or /proc is not of the caller's PID namespace (a target that made its own, as
 * `unshare --pid` does: its pids mean other processes in /proc). */
int sf_tree_crash(struct sf_shm *shm, pid_t member, pid_t spare);

/* A process's name (/proc/PID/comm, without its newline) into buf; 0, or -1 when it cannot be read. */
int sf_proc_comm(pid_t pid, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
