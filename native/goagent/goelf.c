/*
 * Where Go's Syscall6 is in an executable: the symbol table names it (internal/runtime/syscall/linux.Syscall6
 * from Go 1.26, runtime/internal/syscall.Syscall6 before); a stripped binary still has the pclntab, whose
 * function table gives each function's name and entry as an offset from the text start in its header (Go's
 * own text start: in a cgo binary C code precedes it). In a PIE that header field is filled by a dynamic
 * relocation, whose addend is then the value. Every field is bounds-checked: the file is not trusted, and
 * the bytes found are checked again in memory before anything is patched.
 */
#include <elf.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "goelf.h"

const uint8_t sf_go_stub_bytes[SF_GO_STUB_LEN] = { 0x49, 0x89, 0xf2, 0x48, 0x89, 0xfa, 0x48, 0x89, 0xce, 0x48,
                                                   0x89, 0xdf, 0x0f, 0x05, 0x48, 0x3d, 0x01, 0xf0, 0xff, 0xff };

const uint8_t sf_go_write1_bytes[SF_GO_RAW_LEN] = { 0x48, 0x8b, 0x7c, 0x24, 0x08, 0x48, 0x8b, 0x74, 0x24, 0x10,
                                                    0x8b, 0x54, 0x24, 0x18, 0xb8, 0x01, 0x00, 0x00, 0x00, 0x0f,
                                                    0x05, 0x89, 0x44, 0x24, 0x20, 0xc3 };
const uint8_t sf_go_read_bytes[SF_GO_RAW_LEN] = { 0x90, 0x8b, 0x7c, 0x24, 0x08, 0x48, 0x8b, 0x74, 0x24, 0x10,
                                                  0x8b, 0x54, 0x24, 0x18, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x0f,
                                                  0x05, 0x89, 0x44, 0x24, 0x20, 0xc3 };

static const char *const syscall6_names[] = { "internal/runtime/syscall/linux.Syscall6",
                                              "runtime/internal/syscall.Syscall6", NULL };
static const char *const write1_names[] = { "runtime.write1.abi0", "runtime.write1", NULL };
static const char *const read_names[] = { "runtime.read.abi0", "runtime.read", NULL };

struct image {
  const uint8_t *p;
  size_t n;
  const Elf64_Ehdr *eh;
  const Elf64_Shdr *sh;
  size_t shnum;
};

static int in_file(const struct image *im, uint64_t off, uint64_t len) { return off <= im->n && len <= im->n - off; }

static const Elf64_Shdr *section(const struct image *im, const char *name) {
  if (!im->sh || im->eh->e_shstrndx >= im->shnum) return NULL;
  const Elf64_Shdr *strs = &im->sh[im->eh->e_shstrndx];
  if (!in_file(im, strs->sh_offset, strs->sh_size)) return NULL;
  for (size_t i = 0; i < im->shnum; i++) {
    uint32_t at = im->sh[i].sh_name;
    if (at >= strs->sh_size) continue;
    const char *s = (const char *)im->p + strs->sh_offset + at;
    if (strnlen(s, strs->sh_size - at) < strs->sh_size - at && strcmp(s, name) == 0) return &im->sh[i];
  }
  return NULL;
}

static int is_named(const char *s, size_t max, const char *const *names) {
  for (size_t i = 0; names[i]; i++) {
    size_t n = strlen(names[i]);
    if (n < max && memcmp(s, names[i], n + 1) == 0) return 1;
  }
  return 0;
}

static uint64_t from_symtab(const struct image *im, const char *const *names) {
  for (size_t i = 0; i < im->shnum; i++) {
    const Elf64_Shdr *s = &im->sh[i];
    if (s->sh_type != SHT_SYMTAB || s->sh_link >= im->shnum || s->sh_entsize != sizeof(Elf64_Sym)) continue;
    const Elf64_Shdr *strs = &im->sh[s->sh_link];
    if (!in_file(im, s->sh_offset, s->sh_size) || !in_file(im, strs->sh_offset, strs->sh_size)) continue;
    const Elf64_Sym *sym = (const Elf64_Sym *)(im->p + s->sh_offset);
    for (size_t k = 0; k < s->sh_size / sizeof *sym; k++) {
      if (ELF64_ST_TYPE(sym[k].st_info) != STT_FUNC || sym[k].st_name >= strs->sh_size) continue;
      const char *name = (const char *)im->p + strs->sh_offset + sym[k].st_name;
      if (is_named(name, strs->sh_size - sym[k].st_name, names)) return sym[k].st_value;
    }
  }
  return 0;
}

/* Section i's relocations with addends (n of them), or NULL when it holds none that can be read. */
static const Elf64_Rela *rela_of(const struct image *im, size_t i, size_t *n) {
  const Elf64_Shdr *s = &im->sh[i];
  if (s->sh_type != SHT_RELA || s->sh_entsize != sizeof(Elf64_Rela) || !in_file(im, s->sh_offset, s->sh_size))
    return NULL;
  *n = s->sh_size / sizeof(Elf64_Rela);
  return (const Elf64_Rela *)(im->p + s->sh_offset);
}

/* A PIE's value at vaddr comes from an R_X86_64_RELATIVE relocation's addend, when there is one. */
static uint64_t relocated_word(const struct image *im, uint64_t vaddr, uint64_t file_value) {
  for (size_t i = 0, n = 0; i < im->shnum; i++) {
    const Elf64_Rela *r = rela_of(im, i, &n);
    for (size_t k = 0; r && k < n; k++)
      if (r[k].r_offset == vaddr && ELF64_R_TYPE(r[k].r_info) == R_X86_64_RELATIVE) return (uint64_t)r[k].r_addend;
  }
  return file_value;
}

static uint64_t rd64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}
static uint32_t rd32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

/* Go's text start from its module data (runtime.firstmoduledata: pcHeader at 0, funcnametab's pointer at 8,
 * text at 176 from Go 1.18 to 1.26), found as the word pointing at the pclntab whose next word points at its
 * function name table. In a PIE both are RELATIVE relocations, the values their addends. 0 when not found. */
#define MODULE_TEXT 176
static uint64_t module_text(const struct image *im, uint64_t pcln, uint64_t names) {
  for (size_t i = 0, n = 0; i < im->shnum; i++) {
    const Elf64_Rela *r = rela_of(im, i, &n);
    for (size_t k = 0; r && k < n; k++) {
      if (ELF64_R_TYPE(r[k].r_info) != R_X86_64_RELATIVE || (uint64_t)r[k].r_addend != pcln) continue;
      if (relocated_word(im, r[k].r_offset + 8, 0) != names) continue;
      return relocated_word(im, r[k].r_offset + MODULE_TEXT, 0);
    }
  }
  const Elf64_Phdr *ph = (const Elf64_Phdr *)(im->p + im->eh->e_phoff);
  for (int i = 0; i < im->eh->e_phnum; i++) {
    if (ph[i].p_type != PT_LOAD || !(ph[i].p_flags & PF_W) || !in_file(im, ph[i].p_offset, ph[i].p_filesz)) continue;
    const uint8_t *d = im->p + ph[i].p_offset;
    for (uint64_t off = (8 - (ph[i].p_vaddr & 7)) & 7; off + MODULE_TEXT + 8 <= ph[i].p_filesz; off += 8)
      if (rd64(d + off) == pcln && rd64(d + off + 8) == names) return rd64(d + off + MODULE_TEXT);
  }
  return 0;
}

static uint64_t from_pclntab(const struct image *im, const char *const *names_wanted) {
  const Elf64_Shdr *s = section(im, ".gopclntab");
  if (!s || !in_file(im, s->sh_offset, s->sh_size) || s->sh_size < 72) return 0;
  const uint8_t *h = im->p + s->sh_offset;
  uint64_t size = s->sh_size;
  uint32_t magic = rd32(h);
  if ((magic != 0xfffffff1 && magic != 0xfffffff0) || h[7] != 8) return 0; /* Go 1.18+, 64-bit */
  uint64_t nfunc = rd64(h + 8), text = relocated_word(im, s->sh_addr + 24, rd64(h + 24));
  uint64_t names = rd64(h + 32), pcln = rd64(h + 64);
  if (names >= size || pcln >= size || nfunc > (size - pcln) / 8) return 0;
  uint64_t module = module_text(im, s->sh_addr, s->sh_addr + names);
  if (module) text = module; /* the header's copy is not filled in every build */
  if (!text) return 0;
  const uint8_t *ftab = h + pcln;
  for (uint64_t i = 0; i < nfunc; i++) {
    uint32_t entry = rd32(ftab + i * 8), funcoff = rd32(ftab + i * 8 + 4);
    if (funcoff > size - pcln - 8) continue;
    int32_t name;
    memcpy(&name, h + pcln + funcoff + 4, 4);
    if (name < 0 || (uint64_t)name >= size - names) continue;
    if (is_named((const char *)h + names + name, size - names - (uint64_t)name, names_wanted)) return text + entry;
  }
  return 0;
}

/* The file bytes at a link-time address (inside a PT_LOAD), or NULL. */
static const uint8_t *at_vaddr(const struct image *im, uint64_t vaddr, size_t len) {
  const Elf64_Phdr *ph = (const Elf64_Phdr *)(im->p + im->eh->e_phoff);
  for (int i = 0; i < im->eh->e_phnum; i++) {
    if (ph[i].p_type != PT_LOAD || vaddr < ph[i].p_vaddr || vaddr - ph[i].p_vaddr + len > ph[i].p_filesz) continue;
    uint64_t off = ph[i].p_offset + (vaddr - ph[i].p_vaddr);
    return in_file(im, off, len) ? im->p + off : NULL;
  }
  return NULL;
}

int sf_go_elf_find(int fd, struct sf_go_elf *out, char *why, size_t whylen) {
  struct stat st;
  const char *err = NULL;
  memset(out, 0, sizeof *out);
  if (fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
    snprintf(why, whylen, "cannot read the executable");
    return -1;
  }
  void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (map == MAP_FAILED) {
    snprintf(why, whylen, "cannot map the executable");
    return -1;
  }
  struct image im = { .p = map, .n = (size_t)st.st_size, .eh = map };
  const Elf64_Ehdr *eh = im.eh;
  if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
      eh->e_machine != EM_X86_64 || (eh->e_type != ET_EXEC && eh->e_type != ET_DYN) ||
      eh->e_phentsize != sizeof(Elf64_Phdr) || !in_file(&im, eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr))) {
    err = "not an x86-64 ELF executable";
  } else {
    if (eh->e_shentsize == sizeof(Elf64_Shdr) && in_file(&im, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr)))
      im.sh = (const Elf64_Shdr *)(im.p + eh->e_shoff), im.shnum = eh->e_shnum;
    out->pie = eh->e_type == ET_DYN;
    out->is_go = section(&im, ".gopclntab") != NULL || section(&im, ".go.buildinfo") != NULL;
    out->entry = eh->e_entry;
    if ((out->stub = from_symtab(&im, syscall6_names)))
      out->found = "symbol table";
    else if ((out->stub = from_pclntab(&im, syscall6_names)))
      out->found = "pclntab";
    else
      err = im.sh ? "Go's Syscall6 not found (neither in the symbol table nor in the pclntab)"
                  : "no section headers (cannot find Go's Syscall6)";
    const uint8_t *bytes = err ? NULL : at_vaddr(&im, out->stub, SF_GO_STUB_LEN);
    if (!err && (!bytes || memcmp(bytes, sf_go_stub_bytes, SF_GO_STUB_LEN) != 0))
      err = "Go's Syscall6 does not start with the instructions the agent replaces (unknown Go version?)";
    /* the runtime's own write and read: patched too when they are exactly as expected, else left alone */
    const char *const *raw_names[2] = { write1_names, read_names };
    const uint8_t *raw_bytes[2] = { sf_go_write1_bytes, sf_go_read_bytes };
    uint64_t *raw_out[2] = { &out->write1, &out->read };
    for (int k = 0; k < 2 && !err; k++) {
      uint64_t at = from_symtab(&im, raw_names[k]);
      if (!at) at = from_pclntab(&im, raw_names[k]);
      /* runtime.read's first instruction is one byte shorter: compare from where they agree */
      int skip = k == 1 ? 1 : 0;
      const uint8_t *b = at ? at_vaddr(&im, at, SF_GO_RAW_LEN - (size_t)skip) : NULL;
      if (b && memcmp(b, raw_bytes[k] + skip, SF_GO_RAW_LEN - (size_t)skip) == 0) *raw_out[k] = at - (uint64_t)skip;
    }
  }
  munmap(map, (size_t)st.st_size);
  if (err) snprintf(why, whylen, "%s", err);
  return err ? -1 : 0;
}
