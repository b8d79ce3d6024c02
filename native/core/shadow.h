/*
 * Power cut support (docs/crash-consistency.md): shadow copies of the last synced state of the files a power cut covers, and
 * the restore that applies a power cut. Shared by the preload engine (inside the target), the seccomp monitor
 * and the Node binding (baseline and restore).
 *
 * The model ("what survives a power cut"), per file matching the glob (an absolute-path glob, as a rule's
 * `path`), for regular files only:
 *   - a file's durable contents are its contents at its last successful fsync/fdatasync (either counts),
 *     or at the baseline (the start of the run) if it existed then, else empty;
 *   - a directory's durable entries (the names of matching files and the file each name refers to) are its
 *     entries at its last successful fsync (of an fd opened on the directory), or at the baseline;
 *   - after the power cut, each directory under the root holds exactly its durable entries, each with the
 *     durable contents of the file it referred to: files created (or renamed in) since the directory's
 *     last sync are removed, renamed-away or unlinked ones come back, contents and sizes are the synced ones.
 *   Directories themselves are never created or removed; sync_file_range, sync/syncfs, msync and O_SYNC /
 *   O_DSYNC writes do not count as syncs.
 *
 * Layout of the shadow directory (private, created by the TS side with mkdtemp):
 *   f-<dev>-<ino>-<btime>   a file's durable contents (a plain copy)
 *   d-<dev>-<ino>-<btime>   a directory's durable entries: "<ino>-<btime>/<name>\0" per matching file
 *   t-<pid>-<tid>-<n>       a copy being made (renamed over its final name once the sync succeeded)
 * A file is known by (device, inode, birth time) so that an inode number reused within a run is not mistaken
 * for the file that had it before (birth time is 0 on file systems without one).
 *
 * The functions used on the per-sync path (begin, end, drop_dirty) make raw syscalls only: no allocation,
 * no locks, no libc wrappers the preload engine intercepts.
 */
#ifndef SYSFAULT_SHADOW_H
#define SYSFAULT_SHADOW_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SF_SHADOW_DROP_DIRTY 1u /* after an injected fsync error the file's unsynced data is dropped */
/* File-system model (src/run/fs-models.ts): an fsync of a file also makes its directory's current entries
 * durable, as a journaling file system's commit does (ext4 data=ordered, xfs, btrfs; posix does not). */
#define SF_SHADOW_SYNC_PARENT 2u
#define SF_SHADOW_GLOB_MAX 256
#define SF_SHADOW_DIR_MAX 3072 /* leaves room for a file name after it within PATH_MAX */

struct sf_shadow {
  char dir[SF_SHADOW_DIR_MAX];     /* the shadow directory; empty: power cut off */
  char glob[SF_SHADOW_GLOB_MAX];   /* files covered */
  uint32_t flags;                  /* SF_SHADOW_* */
};

/* One sync being recorded: begin() before the real sync, end() after it with its outcome. */
struct sf_shadow_op {
  int kind; /* 0: nothing to record, 1: a file's contents, 2: a directory's entries */
  char tmp[PATH_MAX];
  char final[PATH_MAX];
  int parent;             /* SF_SHADOW_SYNC_PARENT: the file's directory's entries were copied too */
  char parent_tmp[PATH_MAX];
  char parent_final[PATH_MAX];
};

/* Before fsync/fdatasync of fd (an fd valid in the calling process): copies the state the sync would make
 * durable (a matching file's contents, or a directory's matching entries) aside. Returns op->kind. */
int sf_shadow_begin(const struct sf_shadow *s, int fd, struct sf_shadow_op *op);
/* After the sync: synced != 0 makes the copy the durable state, else it is discarded. */
void sf_shadow_end(const struct sf_shadow *s, struct sf_shadow_op *op, int synced);
/* After a failed (injected) fsync with SF_SHADOW_DROP_DIRTY: a matching file goes back to its durable
 * contents (its unsynced writes are dropped). 1 if it did, 0 if the file is not covered, -1 on error. */
int sf_shadow_drop_dirty(const struct sf_shadow *s, int fd);

/* Node side, before the target starts: records every directory under root and the matching files in them
 * as durable (the baseline). 0, or -1 with a reason in err. */
int sf_shadow_baseline(const struct sf_shadow *s, const char *root, char *err, size_t errlen);
/* Node side, after the target's whole tree is gone: applies the power cut under root. report is called
 * for each path changed (removed = 1: unlinked; 0: contents restored). 0, or -1 with a reason in err. */
typedef void (*sf_shadow_report_fn)(void *ctx, int removed, const char *path);
int sf_shadow_restore(const struct sf_shadow *s, const char *root, sf_shadow_report_fn report, void *ctx, char *err,
                      size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
