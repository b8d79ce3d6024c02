/* Shadow copies of the last synced state, and the power cut that restores them (model and layout: shadow.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "shadow.h"
#include "sysfault.h"

#define COPY_BUF 16384
#define DENTS_BUF 8192
#define KEY_MAX 96
#define WALK_DEPTH 64

/* ---- raw syscalls: the preload engine calls this code from inside its wrappers ---- */

static int r_open(int dirfd, const char *path, int flags, int mode) {
  return (int)syscall(SYS_openat, dirfd, path, flags | O_CLOEXEC, mode);
}
static void r_close(int fd) {
  if (fd >= 0) syscall(SYS_close, fd);
}
static ssize_t r_pread(int fd, void *buf, size_t n, off_t off) { return syscall(SYS_pread64, fd, buf, n, off); }
static ssize_t r_pwrite(int fd, const void *buf, size_t n, off_t off) { return syscall(SYS_pwrite64, fd, buf, n, off); }
static int r_ftruncate(int fd, off_t len) { return (int)syscall(SYS_ftruncate, fd, len); }
static int r_rename(const char *from, const char *to) {
  return (int)syscall(SYS_renameat, AT_FDCWD, from, AT_FDCWD, to);
}
static int r_unlink(int dirfd, const char *path) { return (int)syscall(SYS_unlinkat, dirfd, path, 0); }

static int r_statx(int dirfd, const char *path, int flags, struct statx *stx) {
  memset(stx, 0, sizeof *stx);
  return (int)syscall(SYS_statx, dirfd, path, flags, STATX_TYPE | STATX_INO | STATX_BTIME, stx);
}

/* "<major>.<minor>-<ino>-<btime>": a file's identity within a run. */
static void key_of(const struct statx *stx, char *buf, size_t len, int with_dev) {
  unsigned long long bs = 0, bn = 0;
  if (stx->stx_mask & STATX_BTIME) bs = (unsigned long long)stx->stx_btime.tv_sec, bn = stx->stx_btime.tv_nsec;
  if (with_dev)
    snprintf(buf, len, "%x.%x-%llx-%llx.%llx", stx->stx_dev_major, stx->stx_dev_minor, (unsigned long long)stx->stx_ino,
             bs, bn);
  else
    snprintf(buf, len, "%llx-%llx.%llx", (unsigned long long)stx->stx_ino, bs, bn);
}

/* The path of fd in this process (" (deleted)" cut off). */
static int fd_path(int fd, char *buf, size_t len) {
  if (sf_fd_path(0, fd, buf, len) != 0 || !buf[0]) return -1;
  size_t n = strlen(buf);
  static const char deleted[] = " (deleted)";
  size_t dl = sizeof deleted - 1;
  if ((size_t)n > dl && strcmp(buf + n - dl, deleted) == 0) buf[n - dl] = 0;
  return buf[0] == '/' ? 0 : -1;
}

static int reopen(int fd, int flags) {
  char proc[48];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  return r_open(AT_FDCWD, proc, flags, 0);
}

static int join_path(char *out, size_t len, const char *dir, const char *name) {
  int n = snprintf(out, len, "%s/%s", strcmp(dir, "/") == 0 ? "" : dir, name);
  return n > 0 && (size_t)n < len ? 0 : -1;
}

/* Copies all of in (from offset 0) to out (from offset 0) and cuts out to that length. */
static int copy_all(int in, int out) {
  loff_t oi = 0, oo = 0;
  int fallback = 0;
  for (;;) {
    ssize_t n = syscall(SYS_copy_file_range, in, &oi, out, &oo, (size_t)1 << 30, 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      fallback = 1;
      break;
    }
  }
  if (fallback) {
    char buf[COPY_BUF];
    for (;;) {
      ssize_t n = r_pread(in, buf, sizeof buf, oi);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return -1;
      if (n == 0) break;
      for (ssize_t done = 0; done < n;) {
        ssize_t w = r_pwrite(out, buf + done, (size_t)(n - done), oo);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        done += w, oo += w;
      }
      oi += n;
    }
  }
  return r_ftruncate(out, oo);
}

/* Regular files only: a pread short of the size asked is the end of the file. */
static ssize_t read_full(int fd, char *buf, size_t n, off_t off) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = r_pread(fd, buf + got, n - got, off + (off_t)got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) break;
    got += (size_t)r;
  }
  return (ssize_t)got;
}

static int same_contents(int a, int b) {
  char x[COPY_BUF / 2], y[COPY_BUF / 2];
  for (off_t off = 0;;) {
    ssize_t n = read_full(a, x, sizeof x, off), m = read_full(b, y, sizeof y, off);
    if (n < 0 || m < 0 || n != m || memcmp(x, y, (size_t)n) != 0) return 0;
    if (n == 0) return 1;
    off += n;
  }
}

static void tmp_name(const struct sf_shadow *s, char *buf, size_t len) {
  static unsigned long counter;
  unsigned long n = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
  snprintf(buf, len, "%s/t-%ld-%ld-%lu", s->dir, (long)syscall(SYS_getpid), (long)syscall(SYS_gettid), n);
}

/* ---- a directory's entries ---- */

struct dent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

/* Writes "<ino>-<btime>/<name>\0" for each regular file in dirfd (whose path is dirpath) matching the glob. */
static int write_entries(const struct sf_shadow *s, int dirfd, const char *dirpath, int out) {
  char dents[DENTS_BUF], rec[KEY_MAX + 256 + 2], path[PATH_MAX];
  off_t at = 0;
  int listfd = r_open(dirfd, ".", O_RDONLY | O_DIRECTORY, 0); /* its own position: dirfd may be the target's */
  if (listfd < 0) return -1;
  for (;;) {
    long n = syscall(SYS_getdents64, listfd, dents, sizeof dents);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      r_close(listfd);
      return -1;
    }
    if (n == 0) break;
    for (long pos = 0; pos < n;) {
      struct dent64 *d = (struct dent64 *)(dents + pos);
      pos += d->d_reclen;
      const char *name = d->d_name;
      if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) continue;
      if (d->d_type != DT_REG && d->d_type != DT_UNKNOWN) continue;
      if (join_path(path, sizeof path, dirpath, name) != 0 || !sf_glob_match(s->glob, path)) continue;
      struct statx stx;
      if (r_statx(dirfd, name, AT_SYMLINK_NOFOLLOW, &stx) != 0 || !S_ISREG(stx.stx_mode)) continue;
      char key[KEY_MAX];
      key_of(&stx, key, sizeof key, 0);
      int len = snprintf(rec, sizeof rec, "%s/%s", key, name);
      if (len <= 0 || (size_t)len >= sizeof rec) continue; /* a name longer than NAME_MAX cannot be */
      if (r_pwrite(out, rec, (size_t)len + 1, at) != len + 1) {
        r_close(listfd);
        return -1;
      }
      at += len + 1;
    }
  }
  r_close(listfd);
  return r_ftruncate(out, at);
}

/* ---- recording a sync ---- */

/* SF_SHADOW_SYNC_PARENT: the entries of the directory holding path (a file being synced), copied aside. */
static void begin_parent(const struct sf_shadow *s, const char *path, struct sf_shadow_op *op) {
  char dirpath[PATH_MAX], key[KEY_MAX];
  op->parent = 0;
  size_t len = strlen(path);
  while (len > 1 && path[len - 1] != '/') len--;
  if (len >= sizeof dirpath) return;
  memcpy(dirpath, path, len);
  dirpath[len > 1 ? len - 1 : len] = 0; /* "/a/b/f" -> "/a/b"; "/f" -> "/" */
  int dirfd = r_open(AT_FDCWD, dirpath, O_RDONLY | O_DIRECTORY, 0);
  struct statx stx;
  if (dirfd < 0) return;
  if (r_statx(dirfd, "", AT_EMPTY_PATH, &stx) == 0) {
    key_of(&stx, key, sizeof key, 1);
    snprintf(op->parent_final, sizeof op->parent_final, "%s/d-%s", s->dir, key);
    tmp_name(s, op->parent_tmp, sizeof op->parent_tmp);
    int out = r_open(AT_FDCWD, op->parent_tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (out >= 0) {
      op->parent = write_entries(s, dirfd, dirpath, out) == 0;
      r_close(out);
      if (!op->parent) r_unlink(AT_FDCWD, op->parent_tmp);
    }
  }
  r_close(dirfd);
}

int sf_shadow_begin(const struct sf_shadow *s, int fd, struct sf_shadow_op *op) {
  op->kind = 0, op->parent = 0;
  if (!s || !s->dir[0]) return 0;
  int saved = errno;
  char path[PATH_MAX], key[KEY_MAX];
  struct statx stx;
  if (r_statx(fd, "", AT_EMPTY_PATH, &stx) != 0 || fd_path(fd, path, sizeof path) != 0) goto out;
  int dir = S_ISDIR(stx.stx_mode);
  if (!dir && (!S_ISREG(stx.stx_mode) || !sf_glob_match(s->glob, path))) goto out;
  key_of(&stx, key, sizeof key, 1);
  snprintf(op->final, sizeof op->final, "%s/%c-%s", s->dir, dir ? 'd' : 'f', key);
  tmp_name(s, op->tmp, sizeof op->tmp);
  int in = reopen(fd, dir ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (in < 0) goto out;
  int out = r_open(AT_FDCWD, op->tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (out < 0) {
    r_close(in);
    goto out;
  }
  int rc = dir ? write_entries(s, in, path, out) : copy_all(in, out);
  r_close(in);
  r_close(out);
  if (rc != 0) {
    r_unlink(AT_FDCWD, op->tmp);
    goto out;
  }
  op->kind = dir ? 2 : 1;
  if (!dir && (s->flags & SF_SHADOW_SYNC_PARENT)) begin_parent(s, path, op);
out:
  errno = saved;
  return op->kind;
}

void sf_shadow_end(const struct sf_shadow *s, struct sf_shadow_op *op, int synced) {
  (void)s;
  if (!op->kind) return;
  int saved = errno;
  if (!synced || r_rename(op->tmp, op->final) != 0) r_unlink(AT_FDCWD, op->tmp);
  if (op->parent && (!synced || r_rename(op->parent_tmp, op->parent_final) != 0)) r_unlink(AT_FDCWD, op->parent_tmp);
  op->parent = 0;
  op->kind = 0;
  errno = saved;
}

int sf_shadow_drop_dirty(const struct sf_shadow *s, int fd) {
  if (!s || !s->dir[0] || !(s->flags & SF_SHADOW_DROP_DIRTY)) return 0;
  int saved = errno, rc = 0;
  char path[PATH_MAX], key[KEY_MAX], shadow[PATH_MAX];
  struct statx stx;
  if (r_statx(fd, "", AT_EMPTY_PATH, &stx) != 0 || !S_ISREG(stx.stx_mode) || fd_path(fd, path, sizeof path) != 0 ||
      !sf_glob_match(s->glob, path))
    goto out;
  key_of(&stx, key, sizeof key, 1);
  snprintf(shadow, sizeof shadow, "%s/f-%s", s->dir, key);
  int out = reopen(fd, O_WRONLY);
  if (out < 0) {
    rc = -1;
    goto out;
  }
  int in = r_open(AT_FDCWD, shadow, O_RDONLY, 0);
  if (in >= 0)
    rc = copy_all(in, out) == 0 ? 1 : -1;
  else
    rc = r_ftruncate(out, 0) == 0 ? 1 : -1; /* created in this run and never synced: nothing was durable */
  r_close(in);
  r_close(out);
out:
  errno = saved;
  return rc;
}

/* ---- Node side: baseline and restore (plain libc from here on) ---- */

static int set_err(char *err, size_t errlen, const char *what, const char *path) {
  if (err && errlen) snprintf(err, errlen, "power cut: %s %s: %s", what, path, strerror(errno));
  return -1;
}

struct dirlist {
  char **v;
  size_t n, cap;
};

static int dirlist_add(struct dirlist *l, const char *path) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 32;
    char **nv = realloc(l->v, cap * sizeof *nv);
    if (!nv) return -1;
    l->v = nv, l->cap = cap;
  }
  l->v[l->n] = strdup(path);
  if (!l->v[l->n]) return -1;
  l->n++;
  return 0;
}

static void dirlist_free(struct dirlist *l) {
  for (size_t i = 0; i < l->n; i++) free(l->v[i]);
  free(l->v);
}

/* Every directory under root (root included), symbolic links not followed. */
static int collect_dirs(const char *dir, int depth, struct dirlist *out) {
  if (dirlist_add(out, dir) != 0) return -1;
  if (depth >= WALK_DEPTH) return 0;
  DIR *d = opendir(dir);
  if (!d) return 0;
  for (struct dirent *e; (e = readdir(d));) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    char path[PATH_MAX];
    if (join_path(path, sizeof path, dir, e->d_name) != 0) continue;
    int is_dir = e->d_type == DT_DIR;
    if (e->d_type == DT_UNKNOWN) {
      struct stat st;
      is_dir = lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
    }
    if (is_dir && collect_dirs(path, depth + 1, out) != 0) {
      closedir(d);
      return -1;
    }
  }
  closedir(d);
  return 0;
}

static int dir_key(int dirfd, char *key, size_t len) {
  struct statx stx;
  if (r_statx(dirfd, "", AT_EMPTY_PATH, &stx) != 0) return -1;
  key_of(&stx, key, len, 1);
  return 0;
}

/* Baseline of one directory: its entries, and a copy of each matching file not copied yet. */
static int baseline_dir(const struct sf_shadow *s, const char *dirpath, char *err, size_t errlen) {
  int dirfd = open(dirpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) return 0; /* gone meanwhile */
  char key[KEY_MAX], final[PATH_MAX], tmp[PATH_MAX];
  if (dir_key(dirfd, key, sizeof key) != 0) {
    close(dirfd);
    return set_err(err, errlen, "cannot stat", dirpath);
  }
  snprintf(final, sizeof final, "%s/d-%s", s->dir, key);
  tmp_name(s, tmp, sizeof tmp);
  int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out < 0) {
    close(dirfd);
    return set_err(err, errlen, "cannot write", tmp);
  }
  int rc = write_entries(s, dirfd, dirpath, out);
  close(out);
  if (rc != 0 || rename(tmp, final) != 0) {
    unlink(tmp);
    close(dirfd);
    return set_err(err, errlen, "cannot record", dirpath);
  }
  DIR *d = fdopendir(dup(dirfd));
  for (struct dirent *e; d && (e = readdir(d));) {
    char path[PATH_MAX];
    if (join_path(path, sizeof path, dirpath, e->d_name) != 0 || !sf_glob_match(s->glob, path)) continue;
    int in = openat(dirfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0) continue;
    struct statx stx;
    if (r_statx(in, "", AT_EMPTY_PATH, &stx) == 0 && S_ISREG(stx.stx_mode)) {
      char fkey[KEY_MAX], shadow[PATH_MAX];
      key_of(&stx, fkey, sizeof fkey, 1);
      snprintf(shadow, sizeof shadow, "%s/f-%s", s->dir, fkey);
      int o = open(shadow, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (o >= 0) {
        rc = copy_all(in, o);
        close(o);
        if (rc != 0) {
          close(in);
          closedir(d);
          close(dirfd);
          return set_err(err, errlen, "cannot copy", path);
        }
      }
    }
    close(in);
  }
  if (d) closedir(d);
  close(dirfd);
  return 0;
}

int sf_shadow_baseline(const struct sf_shadow *s, const char *root, char *err, size_t errlen) {
  struct dirlist dirs = { 0 };
  if (collect_dirs(root, 0, &dirs) != 0) {
    dirlist_free(&dirs);
    return set_err(err, errlen, "cannot walk", root);
  }
  int rc = 0;
  for (size_t i = 0; i < dirs.n && rc == 0; i++) rc = baseline_dir(s, dirs.v[i], err, errlen);
  dirlist_free(&dirs);
  return rc;
}

/* The durable entries of a directory: a buffer of "<key>/<name>\0" records (NULL, 0 when none). */
static char *read_record(const char *path, size_t *len) {
  *len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  struct stat st;
  char *buf = NULL;
  if (fstat(fd, &st) == 0 && st.st_size > 0 && (buf = malloc((size_t)st.st_size + 1)) != NULL) {
    size_t got = 0;
    while (got < (size_t)st.st_size) {
      ssize_t n = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
      if (n <= 0) break;
      got += (size_t)n;
    }
    buf[got] = 0;
    *len = got;
  }
  close(fd);
  return buf;
}

static const char *record_name(const char *rec) {
  const char *slash = strchr(rec, '/');
  return slash ? slash + 1 : NULL;
}

static int durable_has(const char *buf, size_t len, const char *name) {
  for (size_t at = 0; at < len; at += strlen(buf + at) + 1) {
    const char *n = record_name(buf + at);
    if (n && strcmp(n, name) == 0) return 1;
  }
  return 0;
}

static int restore_dir(const struct sf_shadow *s, const char *dirpath, sf_shadow_report_fn report, void *ctx,
                       char *err, size_t errlen) {
  int dirfd = open(dirpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) return 0;
  char key[KEY_MAX], rec[PATH_MAX], path[PATH_MAX];
  if (dir_key(dirfd, key, sizeof key) != 0) {
    close(dirfd);
    return set_err(err, errlen, "cannot stat", dirpath);
  }
  snprintf(rec, sizeof rec, "%s/d-%s", s->dir, key);
  size_t len;
  char *durable = read_record(rec, &len);
  struct statx dst;
  if (r_statx(dirfd, "", AT_EMPTY_PATH, &dst) != 0) len = 0;

  /* 1. matching files the directory does not durably hold go */
  DIR *d = fdopendir(dup(dirfd));
  for (struct dirent *e; d && (e = readdir(d));) {
    if (join_path(path, sizeof path, dirpath, e->d_name) != 0 || !sf_glob_match(s->glob, path)) continue;
    struct statx stx;
    if (r_statx(dirfd, e->d_name, AT_SYMLINK_NOFOLLOW, &stx) != 0 || !S_ISREG(stx.stx_mode)) continue;
    if (durable_has(durable, len, e->d_name)) continue;
    if (unlinkat(dirfd, e->d_name, 0) == 0 && report) report(ctx, 1, path);
  }
  if (d) closedir(d);

  /* 2. each durable entry gets the durable contents of the file it named */
  int rc = 0;
  for (size_t at = 0; at < len && rc == 0; at += strlen(durable + at) + 1) {
    const char *entry = durable + at, *name = record_name(entry);
    if (!name || !*name || strchr(name, '/')) continue;
    char fkey[KEY_MAX], shadow[PATH_MAX];
    size_t klen = (size_t)(name - 1 - entry);
    if (klen >= sizeof fkey) continue;
    memcpy(fkey, entry, klen);
    fkey[klen] = 0;
    snprintf(shadow, sizeof shadow, "%s/f-%x.%x-%s", s->dir, dst.stx_dev_major, dst.stx_dev_minor, fkey);
    if (join_path(path, sizeof path, dirpath, name) != 0) continue;
    int in = open(shadow, O_RDONLY | O_CLOEXEC); /* absent: never synced, nothing durable (empty) */
    int cur = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct statx cst;
    int exists = cur >= 0 && r_statx(cur, "", AT_EMPTY_PATH, &cst) == 0;
    if (exists && !S_ISREG(cst.stx_mode)) {
      close(cur);
      if (in >= 0) close(in);
      continue; /* something else holds the name now: leave it */
    }
    int same = exists && (in >= 0 ? same_contents(in, cur) : cst.stx_size == 0);
    if (cur >= 0) close(cur);
    if (!same) {
      int out = openat(dirfd, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (out < 0 || (in >= 0 ? copy_all(in, out) : ftruncate(out, 0)) != 0) rc = set_err(err, errlen, "cannot restore", path);
      if (out >= 0) close(out);
      if (rc == 0 && report) report(ctx, 0, path);
    }
    if (in >= 0) close(in);
  }
  free(durable);
  close(dirfd);
  return rc;
}

int sf_shadow_restore(const struct sf_shadow *s, const char *root, sf_shadow_report_fn report, void *ctx, char *err,
                      size_t errlen) {
  struct dirlist dirs = { 0 };
  if (collect_dirs(root, 0, &dirs) != 0) {
    dirlist_free(&dirs);
    return set_err(err, errlen, "cannot walk", root);
  }
  int rc = 0;
  for (size_t i = 0; i < dirs.n && rc == 0; i++) rc = restore_dir(s, dirs.v[i], report, ctx, err, errlen);
  dirlist_free(&dirs);
  return rc;
}
