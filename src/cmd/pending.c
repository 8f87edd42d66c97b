/* TEMPORARY during bring-up: weak fallbacks so the binary links while the
 * subcommands are written. Removed before release. */
#include "cmd/cmd.h"
#define PENDING(fn) \
  __attribute__((weak)) int fn(int argc, char **argv) { return tide__cmd_fail(2, #fn " is not built yet"); }
PENDING(tide__cmd_scheduler)
PENDING(tide__cmd_worker)
PENDING(tide__cmd_cluster)
PENDING(tide__cmd_run)
PENDING(tide__cmd_get)
PENDING(tide__cmd_unpublish)
PENDING(tide__cmd_datasets)
PENDING(tide__cmd_scale)
PENDING(tide__cmd_adapt)
PENDING(tide__cmd_retire)
PENDING(tide__cmd_status)
PENDING(tide__cmd_logs)
