/* The SGE backend (SGECluster): qsub -terse to submit (script on stdin),
 * qdel to stop, one `qstat -xml` per poll for every job's state, driven by
 * the batch engine (batch.c) with the semantics of the SLURM backend
 * (docs/design.md §8); here are its table, flags and --dry-run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/backend.h"
#include "cluster/backends/batch.h"
#include "cluster/backends/sge.h"
#include "common/util.h"

static const tide__batch_rm sge_rm = {
    .tag = "sge",
    .label = "SGE",
    .kind = "SGECluster",
    .submit = (const char *const[]){"qsub", "-terse", NULL},
    .cancel = "qdel",
    .poll = (const char *const[]){"qstat", "-xml", NULL},
    .parse_poll = tide__sge_parse_qstat,
    .script = tide__sge_job_script,
};

/* --dry-run: the script of the first job, as `tide cluster` would submit
 * it (malloc'd); the command prints it and ends (exit 0) without starting
 * anything. */
static char *dry_run(const tide__slurm_opts *o, const tide__backend_args *a)
{
  const tide_cluster_opts *co = a->opts;
  int p = co && co->processes > 0 ? co->processes : 1;
  const char *name = co && co->name ? co->name : "tide";
  char job_name[256], addr[300];
  char **workers = tide__xcalloc((size_t)p + 1, sizeof *workers);
  tide_job job;
  char *text;

  snprintf(job_name, sizeof job_name, "%s-0", name);
  for (int i = 0; i < p; i++)
    workers[i] = p > 1 ? tide__xasprintf("%s-%d", job_name, i) : tide__xstrdup(job_name);
  snprintf(addr, sizeof addr, "%s://%s:%d", co && co->tls_cert ? "tls" : "tcp",
           co && co->host ? co->host : "127.0.0.1", co ? co->port : 8786);
  memset(&job, 0, sizeof job);
  job.name = job_name;
  job.workers = (const char *const *)workers;
  job.nworkers = p;
  job.nthreads = co && co->nthreads > 0 ? co->nthreads : 1;
  job.memory_limit = co ? co->memory_limit : 0;
  job.lifetime = co ? co->lifetime : 0;
  job.preload = co ? co->preload : NULL;
  job.npreload = co ? co->npreload : 0;
  job.allow_exec = co ? co->allow_exec : 0;
  job.tls_ca_file = co ? co->tls_ca_file : NULL;
  job.tls_cert = co ? co->tls_cert : NULL;
  job.tls_key = co ? co->tls_key : NULL;
  job.scheduler = addr;
  text = tide__sge_job_script(o, &job);
  for (int i = 0; i < p; i++)
    free(workers[i]);
  free(workers);
  return text;
}

static int sge_create(const tide__backend_args *a, const tide_backend_ops **ops, void **self,
                      tide_error *err)
{
  tide__slurm_opts o;
  int rc;

  tide__sge_opts_init(&o, a->cfg);
  if (a->tide_path) {
    /* resolve "/proc/self/exe": the job runs elsewhere, as another process */
    char *real = realpath(a->tide_path, NULL);
    free(o.tide_bin);
    o.tide_bin = real ? real : tide__xstrdup(a->tide_path);
  }
  for (size_t i = 0; i < a->n; i++) {
    const char *v = a->values[i];
    if (strcmp(a->keys[i], "dry-run") == 0) {
      o.dry_run = !v || !(strcmp(v, "0") == 0 || strcmp(v, "false") == 0 || strcmp(v, "no") == 0);
      continue;
    }
    /* the shared setter also knows SLURM's names (--partition): not ours */
    if (!tide__backend_has_flag(&tide__backend_sge, a->keys[i])) {
      tide__slurm_opts_free(&o);
      return tide_errprintf(err, TIDE_EUSAGE, "unknown sge flag --%s", a->keys[i]);
    }
    rc = tide__slurm_opts_set(&o, a->keys[i], v, err);
    if (rc < 0) {
      tide__slurm_opts_free(&o);
      return rc;
    }
    if (rc == 0) {
      tide__slurm_opts_free(&o);
      return tide_errprintf(err, TIDE_EUSAGE, "unknown sge flag --%s", a->keys[i]);
    }
  }
  if (o.dry_run) {
    char *text = dry_run(&o, a);
    tide__slurm_opts_free(&o);
    if (a->output)
      *a->output = text;
    else
      free(text);
    return TIDE__BACKEND_DONE;
  }
  rc = tide__batch_backend_create(&sge_rm, &o, ops, self, err);
  if (rc < 0)
    tide__slurm_opts_free(&o);
  return rc;
}

const tide__backend_def tide__backend_sge = {
    .name = "sge",
    .flags = (const char *const[]){"queue", "project", "pe", "walltime", "cores", "memory",
                                   "log-directory", "max-pending", "job-extra-directive",
                                   "job-directives-skip", "job-script-prologue", NULL},
    .help = "Grid Engine jobs through qsub/qstat -xml/qdel (--queue, --project, --pe, "
            "--walltime, --cores, --memory, --log-directory, --max-pending, "
            "--job-extra-directive, --job-directives-skip, --job-script-prologue, --dry-run)",
    .create = sge_create,
    .switches = (const char *const[]){"dry-run", NULL},
};
