/* The SLURM backend (SLURMCluster): options, the pure job-script builder
 * and the squeue parser. Job scripts follow dask-jobqueue's shape:
 * #SBATCH directives, a prologue, then P `tide worker` lines and `wait`.
 * The options are the job shape of every batch backend (SGE too, batch.h). */
#ifndef TIDE_CLUSTER_BACKENDS_SLURM_H
#define TIDE_CLUSTER_BACKENDS_SLURM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/config.h"
#include "common/vec.h"
#include "tide/cluster.h"

typedef struct tide__slurm_opts {
  char *partition;       /* NULL/"" = site default; SGE: the queue (-q) */
  char *account;         /* SGE: the project (-P) */
  char *pe;              /* SGE: the parallel environment for the cores (-pe) */
  double walltime;       /* seconds, 0 = none */
  int cores;             /* --cpus-per-task; 0 = processes * nthreads */
  int64_t memory;        /* --mem bytes per job; 0 = processes * memory_limit */
  char *log_directory;   /* absolute; job output files go here */
  int max_pending;       /* jobs submitted and not yet running, at most */
  bool dry_run;          /* print the job script and exit 0 */
  char *tide_bin;        /* the tide executable the workers run */
  char *token_file;      /* exported to the workers when set: the cluster's token (a path) */
  tide__strvec extra;    /* --job-extra-directive, repeatable */
  tide__strvec skip;     /* --job-directives-skip, repeatable */
  tide__strvec prologue; /* --job-script-prologue, repeatable */
} tide__slurm_opts;

/* Defaults from the config's slurm: section (cfg may be NULL). */
void tide__slurm_opts_init(tide__slurm_opts *o, const tide__config *cfg);
void tide__slurm_opts_free(tide__slurm_opts *o);

/* Apply one backend flag ("--partition", with or without the dashes) with
 * its value (NULL for --dry-run). Returns 1 when the flag was consumed, 0
 * when it is not a SLURM flag, < 0 (TIDE_EUSAGE) on a bad value. */
int tide__slurm_opts_set(tide__slurm_opts *o, const char *flag, const char *value, tide_error *err);

/* Whether flag is a SLURM backend flag, and whether it takes a value. */
bool tide__slurm_is_flag(const char *flag, bool *takes_value);

/* Worker lifetime for a walltime (seconds): retire with a margin of
 * max(60 s, 10%) (a quarter for walltimes under 4 minutes) and a stagger so
 * the workers of many jobs do not leave at once. 0 walltime: 0, 0. */
void tide__slurm_lifetime(double walltime, double *lifetime, double *stagger);

/* "D-HH:MM:SS" (or "HH:MM:SS") for seconds, rounded up, into buf. */
void tide__slurm_format_walltime(double seconds, char *buf, size_t len);

/* A directive line "PREFIX text" into f, unless one of o's skip patterns
 * occurs in the text. */
void tide__batch_directive(FILE *f, const tide__slurm_opts *o, const char *prefix, const char *fmt,
                           ...) __attribute__((format(printf, 4, 5)));

/* What follows the directives in every batch job script: a blank line, the
 * prologue, one `tide worker` line per worker of job, and `wait`. */
void tide__batch_write_body(FILE *f, const tide__slurm_opts *o, const tide_job *job);

/* A job script being written into *text (closed with fclose, then the
 * caller owns *text); the interpreter line is already in. */
FILE *tide__batch_script_open(char **text, size_t *len);

/* What a job asks its resource manager for: cores (--cores, or processes x
 * threads), memory in bytes (--memory, or processes x the worker limit; 0:
 * none) and the log directory. */
typedef struct tide__batch_shape {
  int cores;
  int64_t memory;
  const char *logdir; /* borrowed from the options */
} tide__batch_shape;
tide__batch_shape tide__batch_job_shape(const tide__slurm_opts *o, const tide_job *job);

/* The job script for job (malloc'd text). */
char *tide__slurm_job_script(const tide__slurm_opts *o, const tide_job *job);

/* The SLURM state names of squeue (%T) as a job state. */
tide_job_state tide__slurm_state(const char *name);

/* squeue -h -o "%i %T" lines ("ID STATE"): seen(arg, id, state) for each. */
void tide__slurm_parse_squeue(char *out, void (*seen)(void *arg, long id, tide_job_state st),
                              void *arg);

#endif
