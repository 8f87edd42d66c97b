/* The `tide` command: one function per subcommand (one file each), and the
 * few helpers they share. A subcommand returns the process exit status
 * (docs/design.md §1: 0 ok, 1 work failed, 2 bad usage/input). */
#ifndef TIDE_CMD_CMD_H
#define TIDE_CMD_CMD_H

#include <stdbool.h>
#include <stddef.h>

#include "common/config.h"
#include "tide/error.h"

int tide__cmd_scheduler(int argc, char **argv); /* cmd_scheduler.c */
int tide__cmd_worker(int argc, char **argv);    /* cmd_worker.c */
int tide__cmd_cluster(int argc, char **argv);   /* cmd_cluster.c */
int tide__cmd_run(int argc, char **argv);       /* cmd_run.c */
int tide__cmd_submit(int argc, char **argv);    /* cmd_submit.c */
int tide__cmd_jobs(int argc, char **argv);      /* cmd_jobs.c */
int tide__cmd_cancel(int argc, char **argv);    /* cmd_jobs.c */
int tide__cmd_job(int argc, char **argv);       /* cmd_jobs.c */
int tide__cmd_get(int argc, char **argv);       /* cmd_datasets.c */
int tide__cmd_unpublish(int argc, char **argv); /* cmd_datasets.c */
int tide__cmd_datasets(int argc, char **argv);  /* cmd_datasets.c */
int tide__cmd_scale(int argc, char **argv);     /* cmd_control.c */
int tide__cmd_adapt(int argc, char **argv);     /* cmd_control.c */
int tide__cmd_retire(int argc, char **argv);    /* cmd_control.c */
int tide__cmd_status(int argc, char **argv);    /* cmd_status.c */
int tide__cmd_logs(int argc, char **argv);      /* cmd_status.c */
int tide__cmd_simulate(int argc, char **argv);  /* cmd_simulate.c */

/* Print "tide: MESSAGE" on stderr and return code (the exit status). */
/* cluster_pools.c: the pools of `tide cluster --pool` (docs/adaptive.md
 * "Pools") and their backends, built with base's arguments plus each
 * pool's flags. Returns 0 or an exit status after printing one `tide: `
 * line. Free with tide__cmd_pools_free (which destroys backends not yet
 * handed to a cluster: set n to 0 after handing them over). */
struct tide__backend_args;
struct tide__pool_spec;
struct tide_backend_ops;
typedef struct tide__cmd_pools {
  struct tide__pool_spec *spec;
  const struct tide_backend_ops **ops;
  void **self;
  size_t n;
} tide__cmd_pools;
int tide__cmd_pools_build(const char *const *texts, size_t n, const char *backend,
                          const struct tide__backend_args *base, int max_workers,
                          tide__cmd_pools *out);
void tide__cmd_pools_free(tide__cmd_pools *p);

int tide__cmd_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Exit status for an error code: 2 for usage/graph/config errors, else 1. */
int tide__cmd_status_for(int err);

/* Shared handling of --log-level LEVEL for every command: returns 0 or an
 * exit status after printing. */
int tide__cmd_log_level(const char *role, const char *level);

/* --auth-token-file F and --dashboard-auth (either may be unset) over the
 * config's auth section; checks the token file reads and exports it as
 * TIDE_AUTH__TOKEN_FILE for children and the client library (auth.c).
 * Returns 0 or an exit status after printing. */
int tide__cmd_auth_flags(tide__config *cfg, const char *token_file, bool dashboard_auth);
/* A fresh random token in a new 0600 file (SCHEDULER_FILE.token, else a
 * temporary file), made the config's and the environment's token file;
 * *path is malloc'd for the caller to remove at exit. */
int tide__cmd_auth_generate(tide__config *cfg, const char *scheduler_file, char **path);

/* --tls-ca-file, --tls-cert, --tls-key (each may be NULL: not given) set
 * tls.* over what the file and environment said, then the process takes
 * those credentials (net/tls.h). Returns 0 or an exit status after
 * printing (tls_opts.c). */
int tide__cmd_tls(tide__config *cfg, const char *ca_file, const char *cert, const char *key);

/* Descriptors a scheduler or cluster needs: a base plus some per worker. */
enum { TIDE_NOFILE_BASE = 256, TIDE_NOFILE_PER_WORKER = 4 };

/* Raise the open-file soft limit to the hard limit; log one warning line
 * under role when the result is still below want (nofile.c). */
void tide__cmd_raise_nofile(const char *role, unsigned long want);

#endif
