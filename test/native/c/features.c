#include <stdio.h>
#include "../../../native/seccomp/monitor.h"
int main(void) {
  struct sf_kernel_features f;
  sf_kernel_features(&f);
  printf("kernel %s user_notif=%d continue=%d wait_killable=%d sync_wakeup=%d pidfd_getfd=%d\n", f.kernel,
         f.user_notif, f.notif_continue, f.wait_killable, f.sync_wakeup, f.pidfd_getfd);
  return 0;
}
