/* The tables expanded from the one lists: per syscall (names, x86_64 numbers, argument shapes; syscalls.h) and
 * per action (names; actions.h). */
#include <stddef.h>

#include "sysfault.h"

static const char *const sys_names[] = {
#define SF_X_NAME(name, nr, shape) #name,
    SF_SYSCALL_LIST(SF_X_NAME)
#undef SF_X_NAME
};
static const int sys_nrs[] = {
#define SF_X_NR(name, nr, shape) nr,
    SF_SYSCALL_LIST(SF_X_NR)
#undef SF_X_NR
};
static const int sys_shapes[] = {
#define SF_X_SHAPE(name, nr, shape) shape,
    SF_SYSCALL_LIST(SF_X_SHAPE)
#undef SF_X_SHAPE
};

const char *sf_sys_name(int sys) { return sys >= 0 && sys < SF_SYS_COUNT ? sys_names[sys] : "?"; }
int sf_sys_nr(int sys) { return sys >= 0 && sys < SF_SYS_COUNT ? sys_nrs[sys] : -1; }
int sf_sys_shape(int sys) { return sys >= 0 && sys < SF_SYS_COUNT ? sys_shapes[sys] : -1; }
int sf_sys_from_nr(long nr) {
  for (int i = 0; i < SF_SYS_COUNT; i++)
    if (sys_nrs[i] == nr) return i;
  return -1;
}

static const char *const action_names[] = {
#define SF_X_ACTION_NAME(name, code, text) [code] = text,
    SF_ACTION_LIST(SF_X_ACTION_NAME)
#undef SF_X_ACTION_NAME
};

const char *sf_action_name(uint32_t action) {
  return action < sizeof action_names / sizeof *action_names ? action_names[action] : NULL;
}
