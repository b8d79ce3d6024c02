/*
 * drive: runs one target under the shim and the monitor, without Node. For developing and testing the
 * native engine.
 *   drive [--shim PATH] [--engine seccomp|preload] [--preload LIB] [--no-wait-killable]
 *         [--kill-after MS[:SIG]] [--quiet] --rule SPEC [--rule SPEC...] -- /abs/target [args...]
 * SPEC is ';'-separated key=value: sys=fsync,write (required), one action of errno=EIO|5, delay=MS,
 * short=N, kill=9, refuse=1, blackhole=1, reset=BYTES, close=BYTES; filters path=GLOB, fd=file|socket|pipe, addr=A.B.C.D[:PORT] or :PORT; timing after=N,
 * limit=N, prob=P, jitter=MS; id=NAME.
 * Prints (stderr) "drive: ..." lines: started, each fault, exit, counters, rule stats.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../native/seccomp/monitor.h"

static unsigned char wire[SF_WIRE_HEADER + SF_MAX_RULES * SF_WIRE_RULE];
static unsigned nrules;
static int quiet;

static void put64(unsigned char *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i)); }
static void put32(unsigned char *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i)); }
static void put16(unsigned char *p, uint16_t v) { p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8); }

static void die(const char *fmt, const char *arg) {
  fprintf(stderr, "drive: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n");
  exit(125);
}

static int errno_value(const char *s) {
  static const struct { const char *name; int v; } names[] = {
    { "EIO", EIO }, { "ENOSPC", ENOSPC }, { "EINTR", EINTR }, { "EAGAIN", EAGAIN }, { "ECONNREFUSED", ECONNREFUSED },
    { "ECONNRESET", ECONNRESET }, { "EPIPE", EPIPE }, { "EACCES", EACCES }, { "ENOENT", ENOENT }, { "EDQUOT", EDQUOT },
  };
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (strcmp(s, names[i].name) == 0) return names[i].v;
  return atoi(s);
}

static uint64_t syscall_bits(char *list) {
  uint64_t bits = 0;
  for (char *save, *name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
    int i = 0;
    while (i < SF_SYS_COUNT && strcmp(sf_sys_name(i), name) != 0) i++;
    if (i == SF_SYS_COUNT) die("unknown syscall %s", name);
    bits |= 1ull << i;
  }
  return bits;
}

static void parse_addr(unsigned char *r, const char *s) {
  char host[64] = "";
  const char *colon = strrchr(s, ':');
  size_t hl = colon ? (size_t)(colon - s) : strlen(s);
  if (hl >= sizeof host) die("bad addr %s", s);
  memcpy(host, s, hl);
  put32(r + 44, 1);
  if (colon) put16(r + 50, (uint16_t)atoi(colon + 1));
  if (hl) {
    if (inet_pton(AF_INET, host, r + 52) != 1) die("bad addr %s", s);
    r[48] = 4, r[49] = 32;
  }
}

static void add_rule(char *spec) {
  if (nrules == SF_MAX_RULES) die("too many rules%s", "");
  unsigned char *r = wire + SF_WIRE_HEADER + nrules * SF_WIRE_RULE;
  char id[SF_ID_MAX];
  snprintf(id, sizeof id, "rule-%u", nrules);
  put64(r + 16, SF_UNLIMITED);
  put64(r + 24, SF_PROB_ALWAYS);
  for (char *save, *kv = strtok_r(spec, ";", &save); kv; kv = strtok_r(NULL, ";", &save)) {
    char *v = strchr(kv, '=');
    if (!v) die("bad rule part %s", kv);
    *v++ = 0;
    if (!strcmp(kv, "sys")) put64(r, syscall_bits(v));
    else if (!strcmp(kv, "errno")) put32(r + 36, SF_ACT_ERRNO), put32(r + 40, (uint32_t)errno_value(v));
    else if (!strcmp(kv, "delay")) put32(r + 36, SF_ACT_DELAY), put32(r + 40, (uint32_t)atoi(v));
    else if (!strcmp(kv, "short")) put32(r + 36, SF_ACT_SHORT), put32(r + 40, (uint32_t)atoi(v));
    else if (!strcmp(kv, "kill")) put32(r + 36, SF_ACT_KILL), put32(r + 40, (uint32_t)atoi(v));
    else if (!strcmp(kv, "refuse")) put32(r + 36, SF_ACT_REFUSE);
    else if (!strcmp(kv, "blackhole")) put32(r + 36, SF_ACT_BLACKHOLE);
    else if (!strcmp(kv, "reset")) put32(r + 36, SF_ACT_RESET), put32(r + 40, (uint32_t)atoi(v));
    else if (!strcmp(kv, "close")) put32(r + 36, SF_ACT_CLOSE), put32(r + 40, (uint32_t)atoi(v));
    else if (!strcmp(kv, "after")) put64(r + 8, strtoull(v, NULL, 10));
    else if (!strcmp(kv, "limit")) put64(r + 16, strtoull(v, NULL, 10));
    else if (!strcmp(kv, "prob")) put64(r + 24, (uint64_t)(atof(v) * (double)SF_PROB_ALWAYS));
    else if (!strcmp(kv, "jitter")) put32(r + 388, (uint32_t)atoi(v));
    else if (!strcmp(kv, "fd")) put32(r + 32, !strcmp(v, "file") ? SF_FD_FILE : !strcmp(v, "socket") ? SF_FD_SOCKET : SF_FD_PIPE);
    else if (!strcmp(kv, "addr")) parse_addr(r, v);
    else if (!strcmp(kv, "path")) put16(r + 132, (uint16_t)strlen(v)), memcpy(r + 134, v, strlen(v));
    else if (!strcmp(kv, "id")) snprintf(id, sizeof id, "%s", v);
    else die("unknown rule key %s", kv);
  }
  r[68] = (unsigned char)strlen(id);
  memcpy(r + 69, id, strlen(id));
  nrules++;
}

/* ---- monitor callbacks ---- */

static const char *action_name(uint32_t a) {
  static const char *n[] = { "none", "errno", "delay", "short", "kill", "refuse", "blackhole", "reset", "close" };
  return a < 9 ? n[a] : "?";
}

static void on_started(void *ctx, int pid) {
  (void)ctx;
  fprintf(stderr, "drive: started pid %d\n", pid);
}
static void on_fault(void *ctx, const struct sf_log_entry *e) {
  (void)ctx;
  if (!quiet)
    fprintf(stderr, "drive: fault seq=%llu rule=%u sys=%s pid=%d tid=%d fd=%d action=%s:%d target=%s\n",
            (unsigned long long)e->seq, e->rule, sf_sys_name(e->sys), e->pid, e->tid, e->fd, action_name(e->action),
            e->value, e->target);
}
static void on_error(void *ctx, const char *msg, int exec_errno) {
  (void)ctx;
  fprintf(stderr, "drive: error (exec_errno %d): %s\n", exec_errno, msg);
}
static int exit_status = -2;
static void on_exit_cb(void *ctx, int status) {
  (void)ctx;
  exit_status = status;
  if (status == -1) fprintf(stderr, "drive: exit unknown (shim vanished)\n");
  else if (WIFSIGNALED(status)) fprintf(stderr, "drive: exit signal %d\n", WTERMSIG(status));
  else fprintf(stderr, "drive: exit code %d\n", WEXITSTATUS(status));
}

static void *monitor_thread(void *m) {
  sf_monitor_run(m);
  return NULL;
}

int main(int argc, char **argv) {
  const char *shim = NULL, *preload = NULL;
  int seccomp = 1, wait_killable = 1, kill_after = 0, kill_sig = SIGKILL, i = 1;
  for (; i < argc && strcmp(argv[i], "--"); i++) {
    if (!strcmp(argv[i], "--rule") && i + 1 < argc) add_rule(argv[++i]);
    else if (!strcmp(argv[i], "--shim") && i + 1 < argc) shim = argv[++i];
    else if (!strcmp(argv[i], "--preload") && i + 1 < argc) preload = argv[++i];
    else if (!strcmp(argv[i], "--engine") && i + 1 < argc) seccomp = strcmp(argv[++i], "preload") != 0;
    else if (!strcmp(argv[i], "--no-wait-killable")) wait_killable = 0;
    else if (!strcmp(argv[i], "--quiet")) quiet = 1;
    else if (!strcmp(argv[i], "--kill-after") && i + 1 < argc) {
      char *colon;
      kill_after = (int)strtol(argv[++i], &colon, 10);
      if (*colon == ':') kill_sig = atoi(colon + 1);
    } else die("unknown option %s", argv[i]);
  }
  if (i + 1 >= argc) die("usage: drive [options] --rule SPEC -- /abs/target [args]%s", "");
  signal(SIGPIPE, SIG_IGN);

  memcpy(wire, "SFPLAN\0\1", 8);
  put32(wire + 8, 1), put32(wire + 12, nrules), put64(wire + 16, 42), put32(wire + 24, SF_WIRE_RULE);
  size_t wire_len = SF_WIRE_HEADER + nrules * SF_WIRE_RULE;
  static struct sf_plan plan;
  char err[160];
  if (sf_plan_decode(wire, wire_len, &plan, err, sizeof err) != 0) die("%s", err);

  size_t size = sf_shm_size(wire_len, 4096);
  int memfd = memfd_create("sysfault-drive", MFD_CLOEXEC);
  if (memfd < 0 || ftruncate(memfd, (off_t)size) != 0) die("memfd: %s", strerror(errno));
  struct sf_shm *shm = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
  if (shm == MAP_FAILED) die("mmap: %s", strerror(errno));
  sf_shm_init(shm, size, wire, wire_len, 4096, "drive", plan.nrules);

  char shim_default[4096];
  if (!shim) {
    ssize_t n = readlink("/proc/self/exe", shim_default, sizeof shim_default - 32);
    if (n < 0) die("readlink: %s", strerror(errno));
    shim_default[n] = 0;
    strcpy(strrchr(shim_default, '/') + 1, "sysfault-shim");
    shim = shim_default;
  }

  /* shim argv: [shim, --seccomp NRS, --no-wait-killable, --, path, argv0, args...] */
  char nrs[512] = "";
  const char **sargv = calloc((size_t)argc + 8, sizeof *sargv);
  int k = 0;
  sargv[k++] = shim;
  if (seccomp) {
    for (int s = 0; s < SF_SYS_COUNT; s++)
      if (plan.named & (1ull << s))
        snprintf(nrs + strlen(nrs), sizeof nrs - strlen(nrs), "%s%d", nrs[0] ? "," : "", sf_sys_nr(s));
    sargv[k++] = "--seccomp";
    sargv[k++] = nrs;
    if (!wait_killable) sargv[k++] = "--no-wait-killable";
  }
  if (!seccomp && preload) {
    sargv[k++] = "--preload"; /* the shim puts it in the target's LD_PRELOAD, never in its own */
    sargv[k++] = preload;
  }
  sargv[k++] = "--";
  sargv[k++] = argv[i + 1];
  sargv[k++] = argv[i + 1];
  for (int j = i + 2; j < argc; j++) sargv[k++] = argv[j];

  if (!seccomp) {
    char env[96];
    snprintf(env, sizeof env, "/proc/%d/fd/%d", (int)getpid(), memfd);
    int keep = fcntl(memfd, F_GETFD);
    fcntl(memfd, F_SETFD, keep & ~FD_CLOEXEC); /* the target opens it by /proc path */
    setenv("SYSFAULT_SHM", env, 1);
  }

  int pair[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) die("socketpair: %s", strerror(errno));
  pid_t pid = fork();
  if (pid == 0) {
    if (dup2(pair[1], 3) < 0) _exit(125);
    execv(shim, (char **)sargv);
    _exit(125);
  }
  close(pair[1]);
  free(sargv);

  struct sf_monitor m;
  struct sf_monitor_callbacks cb = { NULL, on_started, on_fault, on_error, on_exit_cb, NULL };
  if (sf_monitor_init(&m, pair[0], shm, &plan, seccomp, &cb) != 0) die("monitor init%s", "");
  pthread_t t;
  uint64_t t0 = sf_now_ns();
  pthread_create(&t, NULL, monitor_thread, &m);
  if (kill_after > 0) {
    struct timespec ts = { kill_after / 1000, (long)(kill_after % 1000) * 1000000L };
    nanosleep(&ts, NULL);
    if (exit_status == -2) {
      fprintf(stderr, "drive: requesting signal %d\n", kill_sig);
      sf_monitor_request_kill(&m, kill_sig);
    }
  }
  pthread_join(t, NULL);
  sf_monitor_destroy(&m);
  waitpid(pid, NULL, 0);
  fprintf(stderr, "drive: duration %.1f ms\n", (double)(sf_now_ns() - t0) / 1e6);

  for (int s = 0; s < SF_SYS_COUNT; s++)
    if (plan.named & (1ull << s))
      fprintf(stderr, "drive: count %s calls=%llu faulted=%llu delayed=%llu\n", sf_sys_name(s),
              (unsigned long long)sf_shm_calls(shm, s), (unsigned long long)shm->counts[s].faulted,
              (unsigned long long)shm->counts[s].delayed);
  for (unsigned r = 0; r < plan.nrules; r++)
    fprintf(stderr, "drive: rule %s matched=%llu fired=%llu\n", plan.rules[r].id,
            (unsigned long long)shm->rules[r].matched, (unsigned long long)shm->rules[r].fired);
  fprintf(stderr, "drive: log entries=%llu dropped=%llu\n", (unsigned long long)shm->log_next,
          (unsigned long long)shm->log_dropped);
  /* everything the run opened must be closed again: list what is left besides stdio and the region */
  DIR *d = opendir("/proc/self/fd");
  for (struct dirent *e; d && (e = readdir(d));) {
    int fd = atoi(e->d_name);
    char link[256] = "";
    if (e->d_name[0] == '.' || fd <= 2 || fd == memfd || fd == dirfd(d)) continue;
    char p[64];
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(p, link, sizeof link - 1);
    link[n > 0 ? n : 0] = 0;
    fprintf(stderr, "drive: fd left open: %d -> %s\n", fd, link);
  }
  if (d) closedir(d);
  if (exit_status < 0) return 125;
  return WIFSIGNALED(exit_status) ? 128 + WTERMSIG(exit_status) : WEXITSTATUS(exit_status);
}
