/*
 * Loading the Go agent into a target (native/goagent/agent.h has the picture). Used by the shim:
 *   sf_goagent_prepare   before fork: reads the agent library and the run's plan
 *   sf_goagent_child     in the child before execve: PTRACE_TRACEME
 *   sf_goagent_attach    at a traced process's exec stop: maps the agent, patches Syscall6, detaches
 */
#ifndef SYSFAULT_GOAGENT_LOAD_H
#define SYSFAULT_GOAGENT_LOAD_H

#include <stddef.h>
#include <sys/types.h>

#include "../core/sysfault.h"

struct sf_goagent {
  int shm_fd;      /* the run's shared region */
  char shm_path[256]; /* its path, for the target to open */
  size_t shm_size;
  unsigned char *lib; /* the agent library's bytes */
  size_t lib_size;
  struct sf_plan plan;
};

/* 0, or -1 with a reason. */
int sf_goagent_prepare(struct sf_goagent *a, const char *lib_path, const char *shm_path, char *why, size_t whylen);
/* In the forked child: 0 (traced), or an errno. */
int sf_goagent_child(void);
/* A traced process stopped after execve. Patches it (0) or leaves it untouched: -1 and a reason, or 1 when
 * what it now runs is not a Go executable at all (nothing to say); either way it is detached. */
int sf_goagent_attach(struct sf_goagent *a, pid_t pid, char *why, size_t whylen);
/* Resumes the traced child (stopped or not) until its exec stop, then sf_goagent_attach: 0 patched, -1 not (msg
 * says why), 1 the child ended first (*status). */
int sf_goagent_after_exec(struct sf_goagent *a, pid_t pid, int *status, char *msg, size_t len);

#endif
