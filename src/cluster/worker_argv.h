/* The one `tide worker ...` command line every backend starts a worker
 * with (docs/design.md §8), and its rendering for a shell. Pure: no I/O. */
#ifndef TIDE_CLUSTER_WORKER_ARGV_H
#define TIDE_CLUSTER_WORKER_ARGV_H

#include "common/vec.h"
#include "tide/cluster.h"

/* Groups of the worker's flags that carry the job's settings; the command
 * backend's placeholders ({preload}, {allow_exec}, {pool}, {tls}) are each
 * one group. */
typedef enum tide__worker_flags {
  TIDE__WORKER_PRELOAD = 1 << 0,    /* --preload PATH for each plugin */
  TIDE__WORKER_ALLOW_EXEC = 1 << 1, /* --allow-exec */
  TIDE__WORKER_POOL = 1 << 2,       /* --pool P and --resources R */
  TIDE__WORKER_TLS = 1 << 3,        /* --tls-ca-file, --tls-cert, --tls-key */
  TIDE__WORKER_ALL_FLAGS = (1 << 4) - 1,
} tide__worker_flags;

/* What the backend adds to the job's shape. */
typedef struct tide__worker_opts {
  const char *exe;      /* the tide binary, argv[0] */
  double stagger;       /* --lifetime-stagger when the job has a lifetime; 0 = none */
  double death_timeout; /* --death-timeout (seconds); 0 = none */
} tide__worker_opts;

/* Append the flags of `which` groups for job to argv (malloc'd strings). */
void tide__worker_flags_append(tide__strvec *argv, const tide_job *job, unsigned which);

/* Append the whole command line of worker i of job to argv: EXE worker
 * SCHEDULER --name W --nthreads N [--memory-limit B] [--lifetime L
 * [--lifetime-stagger S]] [every flag group] [--death-timeout D] --job J.
 * Worker i's name is job->workers[i], or the job's name without one. No
 * NULL terminator: push one for execv. */
void tide__worker_argv(tide__strvec *argv, const tide_job *job, int i, const tide__worker_opts *o);

/* s single-quoted for a POSIX shell (malloc'd). */
char *tide__shell_quote(const char *s);

/* Append argv to b as one shell command line, words separated by spaces:
 * the words tide itself writes (the subcommand, option names, numbers and
 * durations) stay bare, every other word is single-quoted. */
void tide__shell_join(tide__text *b, const tide__strvec *argv);

#endif
