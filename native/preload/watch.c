/*
 * What the preload engine alone cannot see, said instead of missed: a program it starts that bypasses libc (a
 * static or Go executable) or that it starts without LD_PRELOAD. The exec and posix_spawn wrappers look at
 * the executable and the environment before the real call and leave one note per kind per process in the
 * run's log (SF_ACT_NOTE entries: warnings, not faults). Under `auto` the supervisor's net sees those
 * programs, and nothing is noted. execl, execlp and execle are wrapped too: glibc builds their argv and calls
 * its own internal execve, which no wrapper sees. system and popen need none: their shell is libc-linked and
 * keeps the environment, so its own exec of the command is watched.
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../core/sysfault.h"
#include "preload-internal.h"

#define SF_EXPORT __attribute__((visibility("default")))
extern char **environ;

/* What the executable is: 0 libc-linked (the library will be loaded), 1 static, 2 Go. Reads only the headers:
 * the program interpreter, and the section names (Go's .gopclntab / .go.buildinfo). */
static int blind_kind(const char *path) {
  int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  Elf64_Ehdr eh;
  int kind = 0, interp = 0;
  if (pread(fd, &eh, sizeof eh, 0) == (ssize_t)sizeof eh && memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
      eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_phentsize == sizeof(Elf64_Phdr) && eh.e_phnum < 64) {
    Elf64_Phdr ph[64];
    if (pread(fd, ph, eh.e_phnum * sizeof *ph, (off_t)eh.e_phoff) == (ssize_t)(eh.e_phnum * sizeof *ph))
      for (int i = 0; i < eh.e_phnum; i++) interp |= ph[i].p_type == PT_INTERP;
    Elf64_Shdr sh[128], strs;
    if (eh.e_shentsize == sizeof(Elf64_Shdr) && eh.e_shnum < 128 && eh.e_shstrndx < eh.e_shnum &&
        pread(fd, sh, eh.e_shnum * sizeof *sh, (off_t)eh.e_shoff) == (ssize_t)(eh.e_shnum * sizeof *sh)) {
      strs = sh[eh.e_shstrndx];
      char names[4096];
      ssize_t n = pread(fd, names, strs.sh_size < sizeof names ? strs.sh_size : sizeof names, (off_t)strs.sh_offset);
      for (int i = 0; n > 0 && i < eh.e_shnum; i++) {
        if (sh[i].sh_name >= (size_t)n) continue;
        const char *name = names + sh[i].sh_name;
        if (strnlen(name, (size_t)n - sh[i].sh_name) < (size_t)n - sh[i].sh_name &&
            (strcmp(name, ".gopclntab") == 0 || strcmp(name, ".go.buildinfo") == 0))
          kind = 2;
      }
    }
    if (!kind && !interp) kind = 1;
  }
  close(fd);
  return kind;
}

/* The library's own path, found once at load (dladdr takes a lock: never after a fork). */
static char self_path[4096];
__attribute__((constructor)) static void watch_init(void) {
  Dl_info self;
  if (dladdr((void *)watch_init, &self) && self.dli_fname && strlen(self.dli_fname) < sizeof self_path)
    strcpy(self_path, self.dli_fname);
}

/* Does this environment still load the library? (its path in LD_PRELOAD) */
static int keeps_preload(char *const envp[]) {
  if (!self_path[0]) return 1;
  for (size_t i = 0; envp && envp[i]; i++)
    if (strncmp(envp[i], "LD_PRELOAD=", 11) == 0 && strstr(envp[i] + 11, self_path)) return 1;
  return 0;
}

static int noted[3];

static void note(int kind, const char *path) {
  struct sf_shm *shm = sf_preload_shm();
  if (!shm || sf_gate_mapped || __atomic_exchange_n(&noted[kind], 1, __ATOMIC_RELAXED)) return;
  struct sf_decision d = { .rule = -1, .action = SF_ACT_NOTE, .value = kind };
  sf_log_fault(shm, &d, -1, getpid(), (int)syscall(SYS_gettid), -1, path);
}

/* The executable execvp would run (PATH search), into buf; the name itself when it has a '/' or is not found. */
static const char *search(const char *file, char *buf, size_t len) {
  if (!file || strchr(file, '/')) return file;
  const char *path = getenv("PATH");
  for (const char *p = path ? path : "/bin:/usr/bin"; *p;) {
    const char *end = strchr(p, ':');
    size_t dir = end ? (size_t)(end - p) : strlen(p);
    if (dir + 1 + strlen(file) < len) {
      memcpy(buf, p, dir);
      buf[dir] = '/';
      strcpy(buf + dir + 1, file);
      if (access(buf, X_OK) == 0) return buf;
    }
    p += dir + (end ? 1 : 0);
  }
  return file;
}

static void look(const char *path, char *const envp[]) {
  if (!sf_preload_shm() || sf_gate_mapped || !path) return;
  int saved = errno;
  int kind = blind_kind(path);
  if (kind) note(kind, path); /* SF_NOTE_STATIC, SF_NOTE_GO */
  else if (!keeps_preload(envp)) note(0, path); /* SF_NOTE_DROPPED */
  errno = saved;
}

#define REAL_OF(name) static __typeof__(name) *real; if (!real) real = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

SF_EXPORT int execve(const char *path, char *const argv[], char *const envp[]) {
  REAL_OF(execve);
  look(path, envp);
  return real ? real(path, argv, envp) : (int)syscall(SYS_execve, path, argv, envp);
}
SF_EXPORT int execv(const char *path, char *const argv[]) { return execve(path, argv, environ); }
SF_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[]) {
  REAL_OF(execvpe);
  char buf[4096];
  look(search(file, buf, sizeof buf), envp);
  if (!real) return errno = ENOSYS, -1;
  return real(file, argv, envp);
}
SF_EXPORT int execvp(const char *file, char *const argv[]) { return execvpe(file, argv, environ); }
SF_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                          const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
  REAL_OF(posix_spawn);
  look(path, envp);
  return real ? real(pid, path, fa, attr, argv, envp) : ENOSYS;
}
SF_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                           const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
  REAL_OF(posix_spawnp);
  char buf[4096];
  look(search(file, buf, sizeof buf), envp);
  return real ? real(pid, file, fa, attr, argv, envp) : ENOSYS;
}

/* The execl family: the list (up to the NULL, and for execle the environment after it) as an argv. */
static size_t list_length(const char *arg, va_list ap) {
  va_list more;
  va_copy(more, ap);
  size_t n = 0;
  for (const char *a = arg; a; a = va_arg(more, const char *)) n++;
  va_end(more);
  return n;
}

#define ARGV_OF_LIST(argv, arg, ap)                                   \
  size_t argc_ = list_length(arg, ap);                                \
  const char *argv[argc_ + 1];                                        \
  argv[0] = arg;                                                      \
  for (size_t i_ = 1; i_ < argc_; i_++) argv[i_] = va_arg(ap, const char *); \
  argv[argc_] = NULL

SF_EXPORT int execl(const char *path, const char *arg, ...) {
  va_list ap;
  va_start(ap, arg);
  ARGV_OF_LIST(argv, arg, ap);
  va_end(ap);
  return execve(path, (char *const *)argv, environ);
}
SF_EXPORT int execlp(const char *file, const char *arg, ...) {
  va_list ap;
  va_start(ap, arg);
  ARGV_OF_LIST(argv, arg, ap);
  va_end(ap);
  return execvpe(file, (char *const *)argv, environ);
}
SF_EXPORT int execle(const char *path, const char *arg, ...) {
  va_list ap;
  va_start(ap, arg);
  ARGV_OF_LIST(argv, arg, ap);
  if (argc_ > 0) (void)va_arg(ap, const char *); /* the NULL that ends the list; the environment follows */
  char *const *envp = va_arg(ap, char *const *);
  va_end(ap);
  return execve(path, (char *const *)argv, envp);
}
