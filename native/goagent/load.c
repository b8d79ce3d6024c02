/*
 * The Go agent's loader, in the shim (load.h). At the child's exec stop, with ptrace:
 *   1. find Syscall6 in the image that was executed (/proc/PID/exe, goelf.c) and check its bytes in memory;
 *   2. inject mmap calls (a `syscall` written over the entry point for the time being, single-stepped, with
 *      orig_rax = -1 so that no syscall restart applies): a work area (stacks, descriptor facts), the shared
 *      region, the gate page at SF_GATE_ADDR, and the agent's segments within 2 GB of the stub, from a memfd
 *      holding the relocated image with its configuration (the plan, summarised per syscall);
 *   3. write `jmp rel32` to the agent over the stub's first 5 bytes (/proc/PID/mem), close the two fds in the
 *      child, put the entry point's bytes and the registers back, detach.
 * Anything unexpected before step 3 leaves the program unpatched (the supervisor sees every named call) and
 * says why. Only R_X86_64_RELATIVE relocations are accepted in the agent library.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#include "agent.h"
#include "goelf.h"
#include "load.h"

#define PAGE 4096ull
#define ROUND_UP(x) (((x) + PAGE - 1) & ~(PAGE - 1))
/* The work area: the slots' stacks, the descriptor facts, then the page of counter rows (wiped on fork). */
#define WORK_FDS ((uint64_t)SF_AGENT_SLOTS * SF_AGENT_STACK)
#define WORK_ROWS (WORK_FDS + (uint64_t)SF_AGENT_FDS * sizeof(struct sf_agent_fd))
#define WORK_SIZE (WORK_ROWS + PAGE)
#define NEAR (1ull << 31)
_Static_assert(SF_AGENT_SLOTS * sizeof(uint64_t *) <= PAGE, "one page holds every slot's counter row");

static int fail(char *why, size_t whylen, const char *fmt, const char *detail) {
  snprintf(why, whylen, fmt, detail);
  return -1;
}

int sf_goagent_prepare(struct sf_goagent *a, const char *lib_path, const char *shm_path, char *why, size_t whylen) {
  memset(a, 0, sizeof *a);
  a->shm_fd = -1;
  snprintf(a->shm_path, sizeof a->shm_path, "%s", shm_path);
  int fd = open(lib_path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(Elf64_Ehdr) || st.st_size > (64 << 20)) {
    if (fd >= 0) close(fd);
    return fail(why, whylen, "cannot read the agent library %s", lib_path);
  }
  a->lib_size = (size_t)st.st_size;
  a->lib = malloc(a->lib_size);
  ssize_t got = a->lib ? pread(fd, a->lib, a->lib_size, 0) : -1;
  close(fd);
  if (got != (ssize_t)a->lib_size) return fail(why, whylen, "cannot read the agent library %s", lib_path);

  a->shm_fd = open(shm_path, O_RDWR | O_CLOEXEC);
  if (a->shm_fd < 0 || fstat(a->shm_fd, &st) != 0) return fail(why, whylen, "cannot open the shared region %s", shm_path);
  a->shm_size = (size_t)st.st_size;
  void *map = mmap(NULL, a->shm_size, PROT_READ, MAP_SHARED, a->shm_fd, 0);
  if (map == MAP_FAILED) return fail(why, whylen, "cannot map the shared region %s", shm_path);
  char err[160];
  const struct sf_shm *shm = map;
  int bad = sf_shm_check(shm, a->shm_size, err, sizeof err) != 0 ||
            sf_plan_decode((const char *)shm + shm->plan_offset, shm->plan_size, &a->plan, err, sizeof err) != 0;
  munmap(map, a->shm_size);
  if (bad) return fail(why, whylen, "%s", err);
  return 0;
}

int sf_goagent_child(void) {
  if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0) return errno ? errno : EPERM;
  return 0;
}

/* ---- the agent library ---- */

struct agent_lib {
  const Elf64_Ehdr *eh;
  const Elf64_Phdr *ph;
  uint64_t image_size;
  uint64_t entry_off, conf_off; /* sf_go_entry, sf_agent_conf */
  uint64_t write1_off, read_off; /* sf_go_write1, sf_go_read */
};

static int lib_parse(const struct sf_goagent *a, struct agent_lib *l, char *why, size_t whylen) {
  const unsigned char *p = a->lib;
  size_t n = a->lib_size;
  l->eh = (const Elf64_Ehdr *)p;
  const Elf64_Ehdr *eh = l->eh;
  if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_machine != EM_X86_64 || eh->e_type != ET_DYN ||
      eh->e_phoff > n || eh->e_phnum > (n - eh->e_phoff) / sizeof(Elf64_Phdr) || eh->e_shoff > n ||
      eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shnum > (n - eh->e_shoff) / sizeof(Elf64_Shdr))
    return fail(why, whylen, "%s", "the agent library is not a valid x86-64 shared object");
  l->ph = (const Elf64_Phdr *)(p + eh->e_phoff);
  uint64_t last_hi = 0;
  for (int i = 0; i < eh->e_phnum; i++) {
    const Elf64_Phdr *ph = &l->ph[i];
    if (ph->p_type != PT_LOAD) continue;
    uint64_t lo = ph->p_vaddr & ~(PAGE - 1), hi = ROUND_UP(ph->p_vaddr + ph->p_memsz);
    if (lo < last_hi || ph->p_filesz > ph->p_memsz || ph->p_offset > n || ph->p_filesz > n - ph->p_offset || hi > (16u << 20))
      return fail(why, whylen, "%s", "the agent library's segments are not laid out as expected");
    last_hi = hi;
  }
  l->image_size = last_hi;
  const Elf64_Shdr *sh = (const Elf64_Shdr *)(p + eh->e_shoff);
  l->entry_off = l->conf_off = l->write1_off = l->read_off = 0;
  for (int i = 0; i < eh->e_shnum; i++) {
    if (sh[i].sh_type == SHT_RELA && sh[i].sh_size) {
      /* relocations: only RELATIVE ones, applied in build_image */
      const Elf64_Rela *r = (const Elf64_Rela *)(p + sh[i].sh_offset);
      if (sh[i].sh_offset > n || sh[i].sh_size > n - sh[i].sh_offset) return fail(why, whylen, "%s", "bad relocations");
      for (size_t k = 0; k < sh[i].sh_size / sizeof *r; k++)
        if (ELF64_R_TYPE(r[k].r_info) != R_X86_64_RELATIVE || r[k].r_offset + 8 > l->image_size)
          return fail(why, whylen, "%s", "the agent library has relocations the loader does not do");
    }
    if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum) continue;
    const Elf64_Shdr *strs = &sh[sh[i].sh_link];
    if (sh[i].sh_offset > n || sh[i].sh_size > n - sh[i].sh_offset || strs->sh_offset > n || strs->sh_size > n - strs->sh_offset)
      continue;
    const Elf64_Sym *sym = (const Elf64_Sym *)(p + sh[i].sh_offset);
    for (size_t k = 0; k < sh[i].sh_size / sizeof *sym; k++) {
      if (sym[k].st_name >= strs->sh_size) continue;
      const char *name = (const char *)p + strs->sh_offset + sym[k].st_name;
      if (strcmp(name, "sf_go_entry") == 0) l->entry_off = sym[k].st_value;
      if (strcmp(name, "sf_go_write1") == 0) l->write1_off = sym[k].st_value;
      if (strcmp(name, "sf_go_read") == 0) l->read_off = sym[k].st_value;
      if (strcmp(name, "sf_agent_conf") == 0 && sym[k].st_size == sizeof(struct sf_agent_conf))
        l->conf_off = sym[k].st_value;
    }
  }
  if (!l->entry_off || !l->conf_off || !l->write1_off || !l->read_off || l->conf_off + sizeof(struct sf_agent_conf) > l->image_size)
    return fail(why, whylen, "%s", "the agent library does not match this loader (sf_go_entry, sf_agent_conf)");
  return 0;
}

/* ---- the plan, summarised for the agent (what it decides, what it leaves to the supervisor) ---- */

static int count_arg_ok(int sys) {
  int shape = sf_sys_shape(sys);
  return shape == SF_SHAPE_RW || shape == SF_SHAPE_PRW || shape == SF_SHAPE_SOCKBUF || shape == SF_SHAPE_MOVE;
}

static int agent_decides(const struct sf_plan *plan, int sys) {
  if (sys == SF_SYS_connect || sys == SF_SYS_openat || sys == SF_SYS_open || sys == SF_SYS_creat) return 0;
  for (uint32_t i = 0; i < plan->nrules; i++) {
    const struct sf_rule *r = &plan->rules[i];
    if (!(r->syscalls & (1ull << sys))) continue;
    if (r->action != SF_ACT_ERRNO && r->action != SF_ACT_DELAY && r->action != SF_ACT_SHORT && r->action != SF_ACT_KILL)
      return 0;
    if (r->action == SF_ACT_SHORT && !count_arg_ok(sys)) return 0;
    if ((r->flags & SF_FLAG_AFTER_CALL) && r->action != SF_ACT_KILL) return 0;
  }
  return 1;
}

static const int fd_book_nrs[] = { SYS_close, SYS_close_range, SYS_dup, SYS_dup2, SYS_dup3, SYS_fcntl, SYS_socket,
                                   SYS_accept, SYS_accept4, SYS_pipe2, SYS_socketpair, SYS_open, SYS_openat, SYS_creat,
                                   SYS_openat2, SYS_memfd_create, SYS_eventfd2, SYS_epoll_create1, SYS_timerfd_create,
                                   SYS_signalfd4, SYS_inotify_init1, SYS_pidfd_open };

static void fill_conf(struct sf_agent_conf *c, const struct sf_plan *plan) {
  memset(c, 0, sizeof *c);
  c->plan = *plan;
  c->path_by_name = 1;
  for (uint32_t i = 0; i < plan->nrules; i++) {
    const struct sf_rule *r = &plan->rules[i];
    uint64_t bit = 1ull << i;
    for (int sys = 0; sys < SF_SYS_COUNT; sys++)
      if (r->syscalls & (1ull << sys)) c->rules_for[sys] |= bit;
    if (r->path[0]) c->path_rules |= bit, c->fd_rules |= bit;
    if (r->path[0] && !sf_glob_name_part(r->path)) c->path_by_name = 0;
    if (r->fd_kind != SF_FD_ANY) c->fd_rules |= bit;
    if (r->action == SF_ACT_DELAY || r->has_addr) c->socket_net_rules |= bit;
    for (uint32_t kind = 0; kind < 4; kind++)
      if (r->fd_kind == SF_FD_ANY || r->fd_kind == kind) c->kind_ok[kind] |= bit;
  }
  for (int sys = 0; sys < SF_SYS_COUNT; sys++) {
    int shape = sf_sys_shape(sys);
    c->fd_arg[sys] = (int8_t)(shape == SF_SHAPE_OPEN || shape == SF_SHAPE_OPENAT || shape == SF_SHAPE_MAP ? -1
                              : shape == SF_SHAPE_MOVE ? (sys == SF_SYS_sendfile ? 0 : 2) : 0);
  }
  int facts = 0;
  for (int nr = 0; nr < SF_AGENT_NRS; nr++) {
    int sys = sf_sys_from_nr(nr);
    c->nr_sys[nr] = (int8_t)sys;
    if (sys < 0 || !((plan->named >> sys) & 1) || !agent_decides(plan, sys)) continue;
    c->nr_flags[nr] = SF_NR_HOOK | SF_NR_DECIDE;
    if (c->rules_for[sys] & (c->fd_rules | c->socket_net_rules)) facts = 1;
  }
  if (facts)
    for (size_t i = 0; i < sizeof fd_book_nrs / sizeof *fd_book_nrs; i++)
      if (fd_book_nrs[i] < SF_AGENT_NRS) c->nr_flags[fd_book_nrs[i]] |= SF_NR_HOOK | SF_NR_FDBOOK;
  for (int nr = 0; nr < SF_AGENT_NRS; nr++) {
    int sys = c->nr_sys[nr];
    c->pass_sys[nr] = (int8_t)(c->nr_flags[nr] == (SF_NR_HOOK | SF_NR_DECIDE) && sys >= 0 && c->fd_arg[sys] == 0 ? sys : -1);
  }
}

/* ---- the tracee ---- */

#define PATH_MAX_AGENT 256

struct tracee {
  pid_t pid;
  int mem;
  int memfd, shm_fd; /* in the target */
  struct user_regs_struct saved;
  uint64_t at; /* where the injected `syscall` is */
  uint8_t code[2];
  int code_written;
};

static int mem_rw(struct tracee *t, uint64_t addr, void *buf, size_t len, int write) {
  ssize_t n = write ? pwrite(t->mem, buf, len, (off_t)addr) : pread(t->mem, buf, len, (off_t)addr);
  return n == (ssize_t)len ? 0 : -1;
}

static long inject(struct tracee *t, long nr, long a0, long a1, long a2, long a3, long a4, long a5) {
  struct user_regs_struct r = t->saved;
  r.rax = (unsigned long long)nr;
  r.orig_rax = (unsigned long long)-1;
  r.rdi = (unsigned long long)a0, r.rsi = (unsigned long long)a1, r.rdx = (unsigned long long)a2;
  r.r10 = (unsigned long long)a3, r.r8 = (unsigned long long)a4, r.r9 = (unsigned long long)a5;
  r.rip = t->at;
  if (ptrace(PTRACE_SETREGS, t->pid, NULL, &r) != 0) return -ESRCH;
  if (ptrace(PTRACE_SINGLESTEP, t->pid, NULL, NULL) != 0) return -ESRCH;
  int st;
  while (waitpid(t->pid, &st, __WALL) < 0)
    if (errno != EINTR) return -ESRCH;
  if (!WIFSTOPPED(st) || WSTOPSIG(st) != SIGTRAP) return -ESRCH;
  if (ptrace(PTRACE_GETREGS, t->pid, NULL, &r) != 0) return -ESRCH;
  return (long)r.rax;
}

static long inject_mmap(struct tracee *t, uint64_t addr, uint64_t len, int prot, int flags, int fd, uint64_t off) {
  return inject(t, SYS_mmap, (long)addr, (long)len, prot, flags, fd, (long)off);
}

static int aux_value(pid_t pid, uint64_t type, uint64_t *value) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/auxv", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  uint64_t aux[2 * 64];
  ssize_t n = read(fd, aux, sizeof aux);
  close(fd);
  for (ssize_t i = 0; i + 1 < n / 8; i += 2)
    if (aux[i] == type) return *value = aux[i + 1], 0;
  return -1;
}

/* A free range of `size` bytes within 2 GB of `near`: just below the lowest mapping around it (a heap grows
 * above an executable), else above the highest, from /proc/PID/maps; the kernel has the last word
 * (MAP_FIXED_NOREPLACE). Returns 0 when none. */
static uint64_t near_range(pid_t pid, uint64_t near, uint64_t size) {
  char path[64], line[512];
  snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
  FILE *f = fopen(path, "re");
  if (!f) return 0;
  uint64_t lo = UINT64_MAX, hi = 0;
  uint64_t starts[512], ends[512];
  int n = 0;
  while (fgets(line, sizeof line, f) && n < 512) {
    unsigned long long s, e;
    if (sscanf(line, "%llx-%llx", &s, &e) != 2) continue;
    starts[n] = s, ends[n] = e, n++;
  }
  fclose(f);
  /* the mappings within reach of the stub (the executable's, usually) */
  for (int i = 0; i < n; i++) {
    if (ends[i] + NEAR < near || starts[i] > near + NEAR) continue;
    if (starts[i] < lo) lo = starts[i];
    if (ends[i] > hi) hi = ends[i];
  }
  uint64_t below = lo > size + 0x10000 ? ((lo - size) & ~0xffffull) - 0x10000 : 0;
  uint64_t above = (hi + (64ull << 20) + 0xffff) & ~0xffffull; /* leave room for a brk heap */
  for (int k = 0; k < 2; k++) {
    uint64_t c = k == 0 ? below : above;
    if (!c || c < 0x10000 || c + size > near + NEAR - PAGE || near > c + NEAR - PAGE) continue;
    int clash = 0;
    for (int i = 0; i < n; i++)
      if (c < ends[i] && starts[i] < c + size) clash = 1;
    if (!clash) return c;
  }
  return 0;
}

static int build_image(const struct sf_goagent *a, const struct agent_lib *l, uint64_t base,
                       const struct sf_agent_conf *conf, unsigned char *img, int memfd) {
  memset(img, 0, l->image_size + PAGE);
  for (int i = 0; i < l->eh->e_phnum; i++) {
    const Elf64_Phdr *ph = &l->ph[i];
    if (ph->p_type == PT_LOAD) memcpy(img + ph->p_vaddr, a->lib + ph->p_offset, ph->p_filesz);
  }
  const Elf64_Shdr *sh = (const Elf64_Shdr *)(a->lib + l->eh->e_shoff);
  for (int i = 0; i < l->eh->e_shnum; i++) {
    if (sh[i].sh_type != SHT_RELA) continue;
    const Elf64_Rela *r = (const Elf64_Rela *)(a->lib + sh[i].sh_offset);
    for (size_t k = 0; k < sh[i].sh_size / sizeof *r; k++) {
      uint64_t v = base + (uint64_t)r[k].r_addend;
      memcpy(img + r[k].r_offset, &v, 8);
    }
  }
  memcpy(img + l->conf_off, conf, sizeof *conf);
  static const uint8_t gate[] = SF_GATE_CODE;
  memcpy(img + l->image_size, gate, sizeof gate);
  return pwrite(memfd, img, l->image_size + PAGE, 0) == (ssize_t)(l->image_size + PAGE) ? 0 : -1;
}

static int prot_of(uint32_t flags) {
  return (flags & PF_R ? PROT_READ : 0) | (flags & PF_W ? PROT_WRITE : 0) | (flags & PF_X ? PROT_EXEC : 0);
}

#define BAD(msg) do { err = (msg); goto out; } while (0)

int sf_goagent_attach(struct sf_goagent *a, pid_t pid, char *why, size_t whylen) {
  struct tracee t = { .pid = pid, .mem = -1, .memfd = -1, .shm_fd = -1 };
  const char *err = NULL;
  char detail[200] = "";
  struct agent_lib lib = { 0 };
  struct sf_go_elf go = { 0 };
  unsigned char *img = NULL;
  struct sf_agent_conf *conf = NULL;
  int memfd = -1;
  uint64_t stub = 0;
  int patched = 0;

  if (ptrace(PTRACE_GETREGS, pid, NULL, &t.saved) != 0) BAD("cannot read the registers");
  t.at = t.saved.rip;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
  int exe = open(path, O_RDONLY | O_CLOEXEC);
  if (exe < 0) BAD("cannot open the executable");
  int found = sf_go_elf_find(exe, &go, detail, sizeof detail);
  close(exe);
  if (found != 0) BAD(detail);
  snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
  if ((t.mem = open(path, O_RDWR | O_CLOEXEC)) < 0) BAD("cannot open /proc/PID/mem");
  /* a `syscall` to inject with, at the entry point (put back before detaching): first, so that the two
   * descriptors can be closed in the target whatever happens next */
  static const uint8_t syscall_insn[2] = { 0x0f, 0x05 };
  if (mem_rw(&t, t.at, t.code, 2, 0) != 0 || mem_rw(&t, t.at, (void *)syscall_insn, 2, 1) != 0) {
    snprintf(detail, sizeof detail, "cannot write the target's memory at %#llx (%s)", (unsigned long long)t.at, strerror(errno));
    BAD(detail);
  }
  t.code_written = 1;
  uint64_t bias = 0, entry;
  if (go.pie) {
    if (aux_value(pid, AT_ENTRY, &entry) != 0) BAD("cannot read the auxiliary vector");
    bias = entry - go.entry;
  }
  stub = go.stub + bias;
  uint8_t bytes[SF_GO_STUB_LEN];
  if (mem_rw(&t, stub, bytes, sizeof bytes, 0) != 0 || memcmp(bytes, sf_go_stub_bytes, sizeof bytes) != 0)
    BAD("Go's Syscall6 in memory is not what the file says (refusing to patch)");
  if (lib_parse(a, &lib, detail, sizeof detail) != 0) BAD(detail);

  uint64_t base = near_range(pid, stub, lib.image_size);
  if (!base) BAD("no free address range within 2 GB of Go's Syscall6");
  long work = inject_mmap(&t, 0, WORK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (work < 0 && work > -4096) BAD("cannot map the agent's work area in the target");
  if (inject(&t, SYS_madvise, work + (long)WORK_ROWS, PAGE, MADV_WIPEONFORK, 0, 0, 0) != 0)
    BAD("cannot mark the agent's counter page MADV_WIPEONFORK (Linux 4.14 or later)");
  /* the target opens the image (a memfd of ours, one per process: a private mapping of a file shares its
   * clean pages with every other mapping of it) and the shared region by their /proc paths, written into
   * its work area first; both closed in the target before it runs */
  memfd = (int)syscall(SYS_memfd_create, "sysfault-goagent", MFD_CLOEXEC);
  if (memfd < 0) BAD("memfd_create failed");
  char paths[2][PATH_MAX_AGENT];
  snprintf(paths[0], sizeof paths[0], "/proc/%d/fd/%d", (int)getpid(), memfd);
  snprintf(paths[1], sizeof paths[1], "%s", a->shm_path);
  if (mem_rw(&t, (uint64_t)work, paths, sizeof paths, 1) != 0) BAD("cannot write the target's memory");
  t.memfd = (int)inject(&t, SYS_openat, AT_FDCWD, work, O_RDONLY | O_CLOEXEC, 0, 0, 0);
  t.shm_fd = (int)inject(&t, SYS_openat, AT_FDCWD, work + PATH_MAX_AGENT, O_RDWR | O_CLOEXEC, 0, 0, 0);
  if (t.memfd < 0 || t.shm_fd < 0) BAD("the target cannot open the agent's image or the shared region");
  long shm = inject_mmap(&t, 0, a->shm_size, PROT_READ | PROT_WRITE, MAP_SHARED, t.shm_fd, 0);
  long reserve = inject_mmap(&t, base, lib.image_size, PROT_NONE,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_NORESERVE, -1, 0);
  if (shm < 0 && shm > -4096) BAD("cannot map the shared region in the target");
  if ((uint64_t)reserve != base) BAD("cannot reserve the agent's range near Go's Syscall6");

  conf = calloc(1, sizeof *conf);
  img = malloc(lib.image_size + PAGE);
  if (!conf || !img) BAD("out of memory");
  fill_conf(conf, &a->plan);
  conf->magic = SF_AGENT_MAGIC;
  conf->resume[SF_STUB_SYSCALL6] = stub + SF_GO_STUB_RESUME;
  /* rdfsbase (FSGSBASE, HWCAP2 bit 1) knows a thread in any context: then the runtime's raw stubs can be
   * patched too (there R14 is not always g, so entry.S keys their threads by FS base) */
  uint64_t hwcap2 = 0;
  int fsgsbase = aux_value(pid, 26 /* AT_HWCAP2 */, &hwcap2) == 0 && (hwcap2 & 2);
  uint64_t raw_at[2] = { 0, 0 };
  const uint8_t *raw_bytes[2] = { sf_go_write1_bytes, sf_go_read_bytes };
  for (int k = 0; k < 2 && fsgsbase; k++) {
    uint64_t at = (k == 0 ? go.write1 : go.read);
    uint8_t code[SF_GO_RAW_LEN];
    if (!at || mem_rw(&t, at + bias + (uint64_t)k, code + k, SF_GO_RAW_LEN - (size_t)k, 0) != 0 ||
        memcmp(code + k, raw_bytes[k] + k, SF_GO_RAW_LEN - (size_t)k) != 0)
      continue;
    raw_at[k] = at + bias + SF_GO_RAW_PATCH;
    conf->resume[k == 0 ? SF_STUB_WRITE1 : SF_STUB_READ] = at + bias + SF_GO_RAW_RESUME;
  }
  conf->shm = (struct sf_shm *)shm;
  conf->fds = (struct sf_agent_fd *)(work + (long)WORK_FDS);
  conf->rows = (uint64_t **)(work + (long)WORK_ROWS);
  for (int i = 0; i < SF_AGENT_SLOTS; i++) {
    conf->slots[i].base = (uint64_t)work + (uint64_t)i * SF_AGENT_STACK;
    conf->slots[i].top = conf->slots[i].base + SF_AGENT_STACK;
    conf->slots[i].row = conf->rows + i;
  }
  if (ftruncate(memfd, (off_t)(lib.image_size + PAGE)) != 0 || build_image(a, &lib, base, conf, img, memfd) != 0)
    BAD("cannot write the agent's image");
  long gate = inject_mmap(&t, SF_GATE_ADDR, PAGE, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED_NOREPLACE, t.memfd,
                          lib.image_size);
  if ((uint64_t)gate != SF_GATE_ADDR) BAD("cannot map the gate page (its address is taken)");
  for (int i = 0; i < lib.eh->e_phnum; i++) {
    const Elf64_Phdr *ph = &lib.ph[i];
    if (ph->p_type != PT_LOAD) continue;
    uint64_t lo = ph->p_vaddr & ~(PAGE - 1), hi = ROUND_UP(ph->p_vaddr + ph->p_memsz);
    long at = inject_mmap(&t, base + lo, hi - lo, prot_of(ph->p_flags), MAP_PRIVATE | MAP_FIXED, t.memfd, lo);
    if ((uint64_t)at != base + lo) BAD("cannot map the agent's segments");
  }

  /* the patches: jmp rel32 to the agent over Syscall6's first five bytes, and over the raw stubs'
   * MOVL $nr, AX (5 bytes) + SYSCALL (2, made NOPs: never reached) */
  uint64_t sites[3] = { stub, raw_at[0], raw_at[1] };
  uint64_t targets[3] = { base + lib.entry_off, base + lib.write1_off, base + lib.read_off };
  for (int k = 0; k < 3; k++) {
    if (!sites[k]) continue;
    int64_t rel = (int64_t)targets[k] - (int64_t)(sites[k] + 5);
    if (rel != (int32_t)rel) BAD("the agent is not within 2 GB of Go's stubs");
    uint8_t jmp[7] = { 0xe9, 0, 0, 0, 0, 0x90, 0x90 };
    int32_t rel32 = (int32_t)rel;
    memcpy(jmp + 1, &rel32, 4);
    if (mem_rw(&t, sites[k], jmp, k == 0 ? 5 : 7, 1) != 0) BAD("cannot patch Go's stubs");
    patched++;
  }

out:
  if (t.code_written) {
    if (t.memfd >= 0) inject(&t, SYS_close, t.memfd, 0, 0, 0, 0, 0);
    if (t.shm_fd >= 0) inject(&t, SYS_close, t.shm_fd, 0, 0, 0, 0, 0);
    if (mem_rw(&t, t.at, t.code, 2, 1) != 0) { /* it would run our `syscall`: it must not run at all */
      kill(pid, SIGKILL);
      err = "cannot restore the entry point after injecting (target killed)";
    }
  }
  if (memfd >= 0) close(memfd);
  ptrace(PTRACE_SETREGS, pid, NULL, &t.saved);
  ptrace(PTRACE_DETACH, pid, NULL, NULL);
  if (t.mem >= 0) close(t.mem);
  free(img);
  free(conf);
  if (err) {
    snprintf(why, whylen, "%s", err);
    return go.is_go ? -1 : 1;
  }
  snprintf(why, whylen, "Syscall6 patched at %#llx (found in the %s)%s", (unsigned long long)stub, go.found,
           patched == 3 ? ", and the runtime's write and read" : "");
  return 0;
}

int sf_goagent_after_exec(struct sf_goagent *a, pid_t pid, int *status, char *msg, size_t len) {
  for (;;) {
    int st;
    if (waitpid(pid, &st, __WALL) < 0) {
      if (errno == EINTR) continue;
      snprintf(msg, len, "lost the target before its exec (%s)", strerror(errno));
      return -1;
    }
    if (WIFEXITED(st) || WIFSIGNALED(st)) { /* execve failed, or it was killed first */
      *status = st;
      return 1;
    }
    if (!WIFSTOPPED(st)) continue;
    if (WSTOPSIG(st) == SIGTRAP) return sf_goagent_attach(a, pid, msg, len) == 0 ? 0 : -1; /* not Go: said too */
    ptrace(PTRACE_CONT, pid, NULL, (void *)(long)WSTOPSIG(st)); /* a signal before the exec: deliver it */
  }
}
