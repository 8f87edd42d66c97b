/* The SGE backend (dask-jobqueue's SGECluster): the pure job-script writer
 * and the qstat -xml reader. Job scripts have the shape of SLURM's (#$
 * directives, a prologue, P `tide worker` lines, `wait`), and the options
 * are SLURM's job shape (slurm.h) with the queue in `partition`, the
 * project in `account` and the parallel environment in `pe`. */
#ifndef TIDE_CLUSTER_BACKENDS_SGE_H
#define TIDE_CLUSTER_BACKENDS_SGE_H

#include <stddef.h>

#include "cluster/backends/slurm.h"
#include "common/config.h"
#include "tide/cluster.h"

/* Defaults from the config's sge: section (cfg may be NULL). */
void tide__sge_opts_init(tide__slurm_opts *o, const tide__config *cfg);

/* h_rt's "HH:MM:SS" (hours past 24 as they are) for seconds, rounded up. */
void tide__sge_format_walltime(double seconds, char *buf, size_t len);

/* The job script for job (malloc'd text). */
char *tide__sge_job_script(const tide__slurm_opts *o, const tide_job *job);

/* A qstat state code ("qw", "r", "hqw", "Eqw", "dr", "t", "s") as a job
 * state: d(eleting) and E(rror) are GONE, r/t RUNNING unless suspended. */
tide_job_state tide__sge_state(const char *code);

/* qstat -xml: seen(arg, id, state) for each <job_list> (running and
 * pending alike). Only JB_job_number and state are read. */
void tide__sge_parse_qstat(char *xml, void (*seen)(void *arg, long id, tide_job_state st),
                           void *arg);

#endif
