/* The table of cluster backends selectable by name (see backend.h). */
#include <string.h>

#include "cluster/backend.h"

static const tide__backend_def *const registry[] = {
    &tide__backend_local, &tide__backend_command, &tide__backend_slurm,
    &tide__backend_sge,   &tide__backend_ssh,
};

const tide__backend_def *tide__backend_at(size_t i)
{
  return i < sizeof registry / sizeof registry[0] ? registry[i] : NULL;
}

const tide__backend_def *tide__backend_find(const char *name)
{
  for (size_t i = 0; name && i < sizeof registry / sizeof registry[0]; i++)
    if (strcmp(registry[i]->name, name) == 0)
      return registry[i];
  return NULL;
}

int tide__backend_has_flag(const tide__backend_def *def, const char *flag)
{
  for (size_t i = 0; def && def->flags && def->flags[i]; i++)
    if (strcmp(def->flags[i], flag) == 0)
      return 1;
  return 0;
}

const char *tide__backend_arg(const tide__backend_args *a, const char *key)
{
  const char *v = NULL;
  for (size_t i = 0; i < a->n; i++)
    if (strcmp(a->keys[i], key) == 0)
      v = a->values[i];
  return v;
}
