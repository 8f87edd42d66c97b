/* The open-file limit of long-running commands: a scheduler holds a socket
 * per worker and client, a local cluster pipes per worker process too, so
 * the usual soft limit of 1024 runs out at about a thousand workers. */
#include <sys/resource.h>

#include "cmd/cmd.h"
#include "common/log.h"

void tide__cmd_raise_nofile(const char *role, unsigned long want)
{
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return;
  if (rl.rlim_cur != rl.rlim_max) {
    struct rlimit up = {rl.rlim_max, rl.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &up) == 0)
      rl = up;
  }
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want)
    tide__warn(role,
               "open-file limit is %llu (hard limit %llu), below the %lu that %lu workers may "
               "need; raise it (ulimit -n) for large clusters",
               (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max, want,
               (want - TIDE_NOFILE_BASE) / TIDE_NOFILE_PER_WORKER);
}
