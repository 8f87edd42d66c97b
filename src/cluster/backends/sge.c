/* The SGE backend (SGECluster): qsub -terse to submit (script on stdin),
 * qdel to stop, one `qstat -xml` per poll for every job's state, driven by
 * the batch engine (batch.c) with the semantics of the SLURM backend
 * (docs/design.md §8); here are its table, flags and --dry-run. */
#include "cluster/backend.h"
#include "cluster/backends/batch.h"
#include "cluster/backends/sge.h"

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

static int sge_create(const tide__backend_args *a, const tide_backend_ops **ops, void **self,
                      tide_error *err)
{
  tide__slurm_opts o;
  tide__sge_opts_init(&o, a->cfg);
  return tide__batch_create(&sge_rm, &tide__backend_sge, &o, a, ops, self, err);
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
