/*
 * Exec following, the shim's side: a process of the tree that executes a Go binary gets the fast path too.
 * The supervisor holds that execve (native/seccomp/monitor-exec.c) and asks the shim ('G' tid id); the shim
 * seizes the task with PTRACE_O_TRACEEXEC and answers ('g' id); the supervisor lets the execve go on; at the
 * exec stop the shim loads the agent (load.c) and detaches. Any other stop of a followed task is resumed as
 * it was (its signal delivered).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include "follow.h"
#include "goelf.h"

#define FOLLOWED_MAX 64
static pid_t followed[FOLLOWED_MAX];

static int slot_of(pid_t pid) {
  for (int i = 0; i < FOLLOWED_MAX; i++)
    if (followed[i] == pid) return i;
  return -1;
}

int sf_follow_begin(pid_t tid) {
  int free_slot = slot_of(0);
  if (slot_of(tid) >= 0) return 0; /* a restarted execve: already seized */
  if (free_slot < 0) return EAGAIN;
  if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)(long)PTRACE_O_TRACEEXEC) != 0) return errno;
  followed[free_slot] = tid;
  return 0;
}

int sf_follow_event(struct sf_goagent *a, pid_t pid, int status, char *kind, char *msg, size_t len) {
  *kind = 0;
  if (WIFEXITED(status) || WIFSIGNALED(status)) {
    int i = slot_of(pid);
    if (i >= 0) followed[i] = 0;
    return 0; /* its parent (maybe the shim) reaps it too */
  }
  if (!WIFSTOPPED(status)) return 0;
  if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXEC << 8))) {
    unsigned long former = (unsigned long)pid;
    ptrace(PTRACE_GETEVENTMSG, pid, NULL, &former);
    int i = slot_of((pid_t)former);
    if (i < 0) i = slot_of(pid);
    if (i >= 0) followed[i] = 0;
    char why[300];
    /* the exec stop is inside execve: its return would overwrite what is injected; go on to its syscall-exit
     * stop first (signals meanwhile are delivered) */
    int rc = -1, st = 0;
    snprintf(why, sizeof why, "lost the process after its exec");
    while (ptrace(PTRACE_SYSCALL, pid, NULL, (void *)(long)(WIFSTOPPED(st) && WSTOPSIG(st) != SIGTRAP ? WSTOPSIG(st) : 0)) == 0 &&
           waitpid(pid, &st, __WALL) == pid && WIFSTOPPED(st)) {
      if (WSTOPSIG(st) == SIGTRAP) {
        /* 1: not a Go image (an exec of a Go file failed after the supervisor held it, say not executable,
         * and the task went on to exec something else, as execvp does along PATH): not ours to follow */
        rc = sf_goagent_attach(a, pid, why, sizeof why);
        if (rc == 1) return 1;
        break;
      }
    }
    *kind = rc == 0 ? 'A' : 'W';
    if (rc == 0)
      snprintf(msg, len, "pid %d (exec followed): %s", (int)pid, why);
    else
      snprintf(msg, len, "fast-path-unavailable\tpid %d: the Go fast path is off for this process, the supervisor "
               "handles its calls: %s", (int)pid, why);
    return 1;
  }
  if (slot_of(pid) < 0) return 0;
  int sig = WSTOPSIG(status);
  if (status >> 16 == PTRACE_EVENT_STOP) sig = 0; /* a group stop: resume it (job control is not ours) */
  ptrace(PTRACE_CONT, pid, NULL, (void *)(long)sig);
  return 1;
}
