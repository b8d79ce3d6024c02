/* The shim's process tree: every process whose parent chain reaches the shim (the subreaper of the run). */
#ifndef SYSFAULT_SHIM_TREE_H
#define SYSFAULT_SHIM_TREE_H

#include <stddef.h>

/* Signals every live descendant once (sig 0: none); returns how many there were. list (if not NULL) gets the
 * first few as "comm (pid N)". */
int walk_tree(int sig, char *list, size_t len);

/* Members of the tree that hold an io_uring instance now and were not found before, into list as
 * "comm (pid N), ..."; returns how many. For the preload engine alone (no filter to see io_uring_setup): a
 * look from outside, so a ring set up and closed between two looks goes unseen. */
int tree_io_uring(char *list, size_t len);

#endif
