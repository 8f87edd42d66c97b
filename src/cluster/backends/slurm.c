/* The SLURM backend (SLURMCluster): sbatch to submit (script on stdin),
 * scancel to stop, one squeue per poll for every job's state, driven by the
 * batch engine (batch.c); here are its table, flags and --dry-run. */
#include "cluster/backend.h"
#include "cluster/backends/batch.h"

static const tide__batch_rm slurm_rm = {
    .tag = "slurm",
    .label = "SLURM",
    .kind = "SLURMCluster",
    .submit = (const char *const[]){"sbatch", "--parsable", NULL},
    .cancel = "scancel",
    .poll = (const char *const[]){"squeue", "--me", "-h", "-o", "%i %T", NULL},
    .parse_poll = tide__slurm_parse_squeue,
    .script = tide__slurm_job_script,
};

static int slurm_create(const tide__backend_args *a, const tide_backend_ops **ops, void **self,
                        tide_error *err)
{
  tide__slurm_opts o;
  tide__slurm_opts_init(&o, a->cfg);
  return tide__batch_create(&slurm_rm, &tide__backend_slurm, &o, a, ops, self, err);
}

const tide__backend_def tide__backend_slurm = {
    .name = "slurm",
    .flags = (const char *const[]){"partition", "account", "walltime", "cores", "memory",
                                   "log-directory", "max-pending", "job-extra-directive",
                                   "job-directives-skip", "job-script-prologue", NULL},
    .help = "SLURM jobs through sbatch/squeue/scancel (--partition, --account, --walltime, "
            "--cores, --memory, --log-directory, --max-pending, --job-extra-directive, "
            "--job-directives-skip, --job-script-prologue, --dry-run)",
    .create = slurm_create,
    .switches = (const char *const[]){"dry-run", NULL},
};
