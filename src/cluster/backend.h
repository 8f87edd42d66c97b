/* The registry of cluster backends selectable by name (`tide cluster
 * --backend NAME`), and how a backend receives its own command-line flags.
 *
 * Adding a backend (e.g. slurm):
 *   1. In src/cluster/backends/NAME.c define
 *        const tide__backend_def tide__backend_NAME = {
 *          .name = "NAME", .flags = (const char *const[]){"partition", ..., NULL},
 *          .help = "...", .create = create_fn};
 *   2. Add its declaration below and one line to the table in
 *      src/cluster/backends.c.
 * `tide cluster` accepts --FLAG VALUE (or --FLAG=VALUE) for every FLAG the
 * chosen backend lists and hands them, in order, to create() through
 * tide__backend_args; tide__backend_arg() returns the last value of a flag.
 * create() validates them (TIDE_EUSAGE with a message naming the flag, which
 * the command prints as one `tide: ` line, exit 2) and returns the ops table
 * (see include/tide/cluster.h) and its private state. The ops table must
 * stay valid while the cluster lives (static, or inside self). */
#ifndef TIDE_CLUSTER_BACKEND_H
#define TIDE_CLUSTER_BACKEND_H

#include <stddef.h>

#include "common/config.h"
#include "tide/cluster.h"

typedef struct tide__backend_args {
  const tide__config *cfg;       /* loaded configuration (slurm section...) */
  const tide_cluster_opts *opts; /* name, processes, nthreads, memory_limit,
                                      lifetime: the job shape */
  const char *const *keys;       /* backend flags given, without "--" */
  const char *const *values;     /* parallel to keys */
  size_t n;
  const char *tide_path; /* the tide binary to run workers with */
  double kill_grace;     /* seconds from SIGTERM to SIGKILL */
  char **output;         /* may be NULL: where a create() that returns
                                      TIDE__BACKEND_DONE leaves text (malloc'd)
                                      for the command to print */
} tide__backend_args;

/* create() returns this (> 0) when the backend did all that was asked
 * without building a cluster (slurm --dry-run: the job script is in
 * *a->output); *ops and *self stay NULL and the command exits 0. A library
 * never exits the process itself. */
enum { TIDE__BACKEND_DONE = 1 };

typedef struct tide__backend_def {
  const char *name;         /* "local", "command", "slurm" */
  const char *const *flags; /* NULL-terminated, without "--"; each takes a value. May be NULL */
  const char *help;         /* one line for `tide cluster --help` */
  /* Build the backend. On success *ops and *self are set; self is freed by
   * ops->destroy when the cluster is destroyed. On failure returns < 0 with
   * err and allocates nothing. May return TIDE__BACKEND_DONE (see above). */
  int (*create)(const tide__backend_args *a, const tide_backend_ops **ops, void **self,
                tide_error *err);
  /* Flags that take no value (slurm: "dry-run"), NULL-terminated, without
   * "--"; may be NULL. `tide cluster` hands them to create() like the
   * others, with the value "1". */
  const char *const *switches;
} tide__backend_def;

/* The backend registered under name, or NULL. */
const tide__backend_def *tide__backend_find(const char *name);
/* The i-th registered backend (NULL past the end), for listings. */
const tide__backend_def *tide__backend_at(size_t i);
/* Is flag (without "--") one of def's flags? */
int tide__backend_has_flag(const tide__backend_def *def, const char *flag);
/* The last value given for a backend flag (without "--"), or NULL. */
const char *tide__backend_arg(const tide__backend_args *a, const char *key);

/* The command backend's template expansion (malloc'd result): {name},
 * {job}, {workers}, {scheduler}, {scheduler_file}, {nthreads},
 * {memory_limit}, {processes}, {lifetime}, {job_id}, {preload} (the
 * `--preload PATH` flags of job->preload, or nothing); values that are not
 * plainly safe for the shell are single-quoted; unknown {x} stay as is. */
char *tide__command_expand(const char *tmpl, const tide_job *job, const char *job_id);

/* Built-in backends. */
extern const tide__backend_def tide__backend_local;
extern const tide__backend_def tide__backend_command;
extern const tide__backend_def tide__backend_slurm;
extern const tide__backend_def tide__backend_sge;
extern const tide__backend_def tide__backend_ssh;

#endif
