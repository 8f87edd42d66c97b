/* The cluster's side of the HTTP API's one interface (tide__api_ops): each
 * member turns the API's untyped self back into the cluster. */
#include "cluster/cluster_int.h"

static json_t *adaptive_json(void *self)
{
  return tide__cluster_adaptive_json(self);
}

static double target_duration(void *self)
{
  tide_cluster *c = self;
  return tide__adaptive_target_duration(c->adaptive);
}

static json_t *info_json(void *self)
{
  return tide__cluster_info_json(self);
}

static int adapt(void *self, const tide_adapt_opts *o, tide_error *err)
{
  return tide_cluster_adapt(self, o, err);
}

static void adapt_stop(void *self)
{
  tide_cluster_adapt_stop(self);
}

static int scale(void *self, const char *pool, int n, tide_error *err)
{
  return pool ? tide__cluster_pool_scale(self, pool, n, err) : tide_cluster_scale(self, n, err);
}

static int retire(void *self, char *const *names, size_t n, tide__retire_fn cb, void *arg,
                  tide_error *err)
{
  return tide__cluster_retire(self, names, n, cb, arg, err);
}

static void logs_json(void *self, json_t *out)
{
  tide__cluster_logs_json(self, out);
}

static void figures(void *self, tide__api_figures *f)
{
  tide__cluster_metrics_get(self, f);
}

const tide__api_ops tide__cluster_api_ops = {
    .adaptive_json = adaptive_json,
    .target_duration = target_duration,
    .info_json = info_json,
    .adapt = adapt,
    .adapt_stop = adapt_stop,
    .scale = scale,
    .retire = retire,
    .logs_json = logs_json,
    .figures = figures,
};
