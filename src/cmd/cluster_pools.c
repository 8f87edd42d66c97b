/* `tide cluster --pool NAME:OPTION=VALUE,...` (and the configuration's
 * pools: list): parse and check the pools, then build one backend per pool
 * with the pool's own backend flags (docs/adaptive.md "Pools"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/backend.h"
#include "cluster/cluster_int.h"
#include "cmd/cmd.h"
#include "common/util.h"

void tide__cmd_pools_free(tide__cmd_pools *p)
{
  for (size_t i = 0; i < p->n; i++)
    if (p->ops[i] && p->ops[i]->destroy && p->self[i])
      p->ops[i]->destroy(p->self[i]);
  free(p->spec);
  free(p->ops);
  free(p->self);
  memset(p, 0, sizeof *p);
}

int tide__cmd_pools_build(const char *const *texts, size_t n, const char *backend,
                          const tide__backend_args *base, int max_workers, tide__cmd_pools *out)
{
  memset(out, 0, sizeof *out);
  if (n == 0)
    return 0;
  out->spec = tide__xcalloc(n, sizeof *out->spec);
  out->ops = tide__xcalloc(n, sizeof *out->ops);
  out->self = tide__xcalloc(n, sizeof *out->self);
  tide_error err = {{0}};
  for (size_t i = 0; i < n; i++)
    if (tide__pool_spec_parse(texts[i], &out->spec[i], &err) < 0)
      return tide__cmd_fail(2, "%s", err.text);
  if (tide__pool_specs_check(out->spec, n, max_workers, &err) < 0)
    return tide__cmd_fail(2, "%s", err.text);
  for (size_t i = 0; i < n; i++) {
    tide__pool_spec *s = &out->spec[i];
    const char *bname = s->backend[0] ? s->backend : backend;
    const tide__backend_def *def = tide__backend_find(bname);
    if (!def)
      return tide__cmd_fail(2, "--pool %s: unknown backend \"%s\" (see tide cluster --help)",
                            s->name, bname);
    for (size_t k = 0; k < s->nopts; k++)
      if (!tide__backend_has_flag(def, s->keys[k]))
        return tide__cmd_fail(2,
                              "--pool %s: unknown option \"%s\" for the %s backend (min, max, "
                              "cost, resources, backend, or one of its flags)",
                              s->name, s->keys[k], def->name);
    /* the cluster's own backend flags apply to the pools of that backend,
     * the pool's after them (the last value wins) */
    bool same = strcmp(def->name, backend) == 0;
    size_t nk = (same ? base->n : 0) + s->nopts;
    const char **keys = tide__xcalloc(nk + 1, sizeof *keys);
    const char **vals = tide__xcalloc(nk + 1, sizeof *vals);
    size_t m = 0;
    for (size_t k = 0; same && k < base->n; k++, m++) {
      keys[m] = base->keys[k];
      vals[m] = base->values[k];
    }
    for (size_t k = 0; k < s->nopts; k++, m++) {
      keys[m] = s->keys[k];
      vals[m] = s->values[k];
    }
    tide__backend_args a = *base;
    a.keys = keys;
    a.values = vals;
    a.n = m;
    a.output = NULL;
    int rc = def->create(&a, &out->ops[i], &out->self[i], &err);
    free(keys);
    free(vals);
    out->n = i + (rc == 0);
    if (rc == TIDE__BACKEND_DONE)
      return tide__cmd_fail(2, "--pool %s: a pool's backend must start workers", s->name);
    if (rc < 0)
      return tide__cmd_fail(tide__cmd_status_for(rc), "--pool %s: %s", s->name, err.text);
  }
  return 0;
}
