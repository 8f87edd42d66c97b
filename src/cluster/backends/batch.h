/* The engine shared by the batch-queue backends (SLURM, SGE; docs/design.md
 * §8): jobs queued here up to max-pending, submitted one script each, one
 * status command per poll for all jobs, cancelled by id, and submission
 * failures reported once per attempt so the core backs off. What differs
 * between resource managers is this table: the commands, the parser of the
 * status answer and the job-script writer. The job shape (walltime, cores,
 * memory, log directory, extra/skipped directives, prologue) is the one
 * options struct of slurm.h. */
#ifndef TIDE_CLUSTER_BACKENDS_BATCH_H
#define TIDE_CLUSTER_BACKENDS_BATCH_H

#include "cluster/backend.h"
#include "cluster/backends/slurm.h"
#include "tide/cluster.h"

/* One job of a status answer: its id and state. */
typedef void (*tide__batch_seen_fn)(void *arg, long id, tide_job_state st);

typedef struct tide__batch_rm {
  const char *tag;           /* log tag: "slurm", "sge" */
  const char *label;         /* in log lines: "SLURM job 12" */
  const char *kind;          /* the ops table's kind: "SLURMCluster" */
  const char *const *submit; /* argv: reads the script on stdin, prints the job id first */
  const char *cancel;        /* the cancel command; job ids follow it */
  const char *const *poll;   /* argv of the status command, all jobs at once */
  /* Call seen() for each job the status answer lists (out may be modified). */
  void (*parse_poll)(char *out, tide__batch_seen_fn seen, void *arg);
  /* The job script (malloc'd). */
  char *(*script)(const tide__slurm_opts *o, const tide_job *job);
} tide__batch_rm;

/* Create a backend driving rm; takes ownership of o's contents on success
 * (o is zeroed). rm must outlive the backend (static). */
int tide__batch_backend_create(const tide__batch_rm *rm, tide__slurm_opts *o,
                               const tide_backend_ops **ops, void **self, tide_error *err);

/* A backend from `tide cluster` flags: o (initialised by the caller from
 * the config) takes the flags def lists, then --dry-run prints the first
 * job's script (TIDE__BACKEND_DONE) or the backend is created. o's contents
 * are taken on success and freed on failure. */
int tide__batch_create(const tide__batch_rm *rm, const tide__backend_def *def, tide__slurm_opts *o,
                       const tide__backend_args *a, const tide_backend_ops **ops, void **self,
                       tide_error *err);

#endif
