/* Exec following for the Go fast path, the shim's side (follow.c). */
#ifndef SYSFAULT_GOAGENT_FOLLOW_H
#define SYSFAULT_GOAGENT_FOLLOW_H

#include <stddef.h>
#include <sys/types.h>

#include "load.h"

/* Seizes tid (held in execve by the supervisor) to catch its exec. 0 or an errno. */
int sf_follow_begin(pid_t tid);
/* A wait status from waitpid(-1, __WALL): 1 when it was a followed task's stop, handled (resumed, or its exec
 * caught: then *kind is 'A' or 'W' and msg the control message's text), 0 when it is not ours. */
int sf_follow_event(struct sf_goagent *a, pid_t pid, int status, char *kind, char *msg, size_t len);

#endif
