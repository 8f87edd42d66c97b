/* `tide cluster`: a scheduler, its HTTP API, a cluster manager with a
 * backend and (with --adapt or any adaptive flag) the Adaptive controller,
 * in one process on one loop until SIGINT/SIGTERM (docs/design.md §1). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "cluster/backend.h"
#include "cluster/cluster_int.h"
#include "cmd/cmd.h"
#include "common/config.h"
#include "common/log.h"
#include "common/parse.h"
#include "net/certs.h"
#include "worker/plugin.h"

static const char usage_text[] =
    "usage: tide cluster [--backend local|command|slurm] [--name tide] [--workers N]\n"
    "                    [--adapt] [--minimum N] [--maximum N|inf] [--interval D]\n"
    "                    [--wait-count N] [--target-duration D] [--worker-key none|job|host]\n"
    "                    [--max-pending N] [--arrival-aware | --no-arrival-aware]\n"
    "                    [--processes P] [--nthreads T] [--memory-limit SIZE]\n"
    "                    [--lifetime D] [--lifetime-stagger D] [--scheduler-file F]\n"
    "                    [--host H] [--port P] [--dashboard-port P] [--config F]\n"
    "                    [--contact-address ADDR]\n"
    "                    [--log-level L] [--backoff D,D,...] [--pause-after N]\n"
    "                    [--kill-grace D] [--preload LIB.so]... [--max-workers N]\n"
    "                    [--record-trace FILE]\n"
    "                    [--allow-exec] [--auth-token-file F | --no-auth] [--dashboard-auth]\n"
    "                    [--security temporary | --tls-ca-file F --tls-cert F --tls-key F]\n"
    "                    [--pool NAME:backend=B,min=N,max=N,cost=X,resources=R+R,FLAG=V]...\n"
    "                    [backend flags]\n";

typedef struct cargs {
  const char *backend;
  tide_cluster_opts o;
  tide_adapt_opts a;
  bool adapt, allow_exec, no_auth, dashboard_auth;
  const char *config, *log_level, *max_workers, *token_file, *record_trace;
  double backoff[TIDE__BACKOFF_MAX_STEPS];
  int nbackoff;
  double kill_grace;
  const char **bkeys, **bvals;
  size_t nb;
  bool mem_set;
  const char **preload; /* --preload values, in order */
  int npreload;
  const char *tls[3];                        /* --tls-ca-file, --tls-cert, --tls-key */
  bool temporary;                            /* --security temporary */
  const char *pools[TIDE__CONFIG_MAX_POOLS]; /* --pool values, in order */
  size_t npools;
} cargs;

/* Dask's LocalCluster memory_limit="auto": the machine's memory shared by
 * thread count, so the memory rules of docs/design.md §5 and §6 have limits to work
 * with. */
static int64_t auto_memory_limit(int nthreads)
{
  double total = (double)uv_get_total_memory();
  double cores = (double)uv_available_parallelism();
  double share = cores > 0 ? (nthreads > 0 ? nthreads : 1) / cores : 1;
  return (int64_t)(total * (share < 1 ? share : 1));
}

static void help(void)
{
  fputs(usage_text, stdout);
  printf("\nbackends:\n");
  for (size_t i = 0; tide__backend_at(i); i++) {
    const tide__backend_def *d = tide__backend_at(i);
    printf("  %-8s %s\n", d->name, d->help ? d->help : "");
  }
}

static int bad(const char *flag, const tide_error *e)
{
  return tide__cmd_fail(2, "--%s: %s", flag, e->text);
}

static int count_flag(const char *flag, const char *v, bool inf, double *out)
{
  tide_error e;
  if (tide__parse_count(v, inf, out, &e) < 0)
    return bad(flag, &e);
  return 0;
}

static int int_flag(const char *flag, const char *v, int lo, int *out)
{
  double d;
  if (count_flag(flag, v, false, &d))
    return 2;
  if (d < lo || d > 1e6)
    return tide__cmd_fail(2, "--%s: expected an integer >= %d, got \"%s\"", flag, lo, v);
  *out = (int)d;
  return 0;
}

static int dur_flag(const char *flag, const char *v, bool positive, double *out)
{
  tide_error e;
  if (tide__parse_duration(v, false, out, &e) < 0)
    return bad(flag, &e);
  if (positive && !(*out > 0))
    return tide__cmd_fail(2, "--%s: must be greater than 0, got \"%s\"", flag, v);
  return 0;
}

static int port_flag(const char *flag, const char *v, int *out)
{
  double d;
  if (count_flag(flag, v, false, &d))
    return 2;
  if (d > 65535)
    return tide__cmd_fail(2, "--%s: not a port: \"%s\"", flag, v);
  *out = (int)d;
  return 0;
}

static int backoff_flag(const char *v, cargs *a)
{
  char buf[256];
  snprintf(buf, sizeof buf, "%s", v);
  a->nbackoff = 0;
  for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    if (a->nbackoff == TIDE__BACKOFF_MAX_STEPS)
      return tide__cmd_fail(2, "--backoff: at most %d delays", TIDE__BACKOFF_MAX_STEPS);
    if (dur_flag("backoff", t, true, &a->backoff[a->nbackoff++]))
      return 2;
  }
  if (!a->nbackoff)
    return tide__cmd_fail(2, "--backoff: expected delays like 1s,5s,30s,60s");
  return 0;
}

/* One flag with its value (v may be NULL for booleans). Returns 0, or an
 * exit status after printing. */
static int one_flag(cargs *a, const tide__backend_def *def, const char *f, const char *v)
{
  tide_error e;
  double d;
#define F(s) (strcmp(f, s) == 0)
  if (F("backend"))
    a->backend = v;
  else if (F("pool")) {
    if (a->npools == TIDE__CONFIG_MAX_POOLS)
      return tide__cmd_fail(2, "--pool: at most %d pools", TIDE__CONFIG_MAX_POOLS);
    a->pools[a->npools++] = v;
  } else if (F("name")) {
    if (!*v || strchr(v, ' ') || strchr(v, '/'))
      return tide__cmd_fail(2, "--name: expected a plain name, got \"%s\"", v);
    a->o.name = v;
  } else if (F("workers"))
    return int_flag(f, v, 0, &a->o.workers);
  else if (F("minimum")) {
    a->adapt = true;
    a->a.set |= TIDE_ADAPT_MINIMUM;
    return count_flag(f, v, false, &a->a.minimum);
  } else if (F("maximum")) {
    a->adapt = true;
    a->a.set |= TIDE_ADAPT_MAXIMUM;
    return count_flag(f, v, true, &a->a.maximum);
  } else if (F("interval")) {
    a->adapt = true;
    a->a.set |= TIDE_ADAPT_INTERVAL;
    return dur_flag(f, v, true, &a->a.interval);
  } else if (F("wait-count")) {
    a->adapt = true;
    a->a.set |= TIDE_ADAPT_WAIT_COUNT;
    return int_flag(f, v, 1, &a->a.wait_count);
  } else if (F("target-duration")) {
    a->adapt = true;
    a->a.set |= TIDE_ADAPT_TARGET_DURATION;
    return dur_flag(f, v, true, &a->a.target_duration);
  } else if (F("worker-key")) {
    if (strcmp(v, "none") && strcmp(v, "job") && strcmp(v, "host"))
      return tide__cmd_fail(2, "--worker-key: unknown key \"%s\" (none, job or host)", v);
    a->adapt = true;
    a->a.set |= TIDE_ADAPT_WORKER_KEY;
    a->a.worker_key = v;
  } else if (F("max-pending")) {
    a->a.set |= TIDE_ADAPT_MAX_PENDING;
    if (tide__backend_has_flag(def, f)) { /* the backend wants it too (slurm) */
      a->bkeys[a->nb] = f;
      a->bvals[a->nb++] = v;
    }
    return int_flag(f, v, 0, &a->a.max_pending);
  } else if (F("processes"))
    return int_flag(f, v, 1, &a->o.processes);
  else if (F("nthreads")) {
    if (int_flag(f, v, 1, &a->o.nthreads))
      return 2;
    if (a->o.nthreads > 1024) /* what `tide worker --nthreads` accepts */
      return tide__cmd_fail(2, "--nthreads: expected an integer from 1 to 1024, got \"%s\"", v);
  } else if (F("memory-limit")) {
    a->mem_set = true;
    if (strcmp(v, "auto") == 0)
      a->mem_set = false;
    else if (tide__parse_size(v, &a->o.memory_limit, &e) < 0)
      return bad(f, &e);
  } else if (F("lifetime"))
    return dur_flag(f, v, true, &a->o.lifetime);
  else if (F("lifetime-stagger"))
    return dur_flag(f, v, false, &a->o.lifetime_stagger);
  else if (F("scheduler-file"))
    a->o.scheduler_file = v;
  else if (F("host"))
    a->o.host = v;
  else if (F("contact-address"))
    a->o.contact_address = v;
  else if (F("port"))
    return port_flag(f, v, &a->o.port);
  else if (F("dashboard-port"))
    return port_flag(f, v, &a->o.dashboard_port);
  else if (F("config"))
    a->config = v;
  else if (F("record-trace"))
    a->record_trace = v;
  else if (F("max-workers"))
    a->max_workers = v;
  else if (F("log-level"))
    a->log_level = v;
  else if (F("auth-token-file"))
    a->token_file = v;
  else if (F("backoff"))
    return backoff_flag(v, a);
  else if (F("pause-after"))
    return int_flag(f, v, 1, &a->o.pause_after);
  else if (F("kill-grace"))
    return dur_flag(f, v, true, &a->kill_grace);
  else if (F("tls-ca-file"))
    a->tls[0] = v;
  else if (F("tls-cert"))
    a->tls[1] = v;
  else if (F("tls-key"))
    a->tls[2] = v;
  else if (F("security")) {
    if (strcmp(v, "temporary") != 0)
      return tide__cmd_fail(2, "--security: expected \"temporary\", got \"%s\"", v);
    a->temporary = true;
  } else if (F("preload")) {
    if (a->npreload == TIDE__CONFIG_MAX_PRELOAD)
      return tide__cmd_fail(2, "--preload: at most %d plugins", TIDE__CONFIG_MAX_PRELOAD);
    a->preload[a->npreload++] = v;
  } else if (tide__backend_has_flag(def, f)) {
    a->bkeys[a->nb] = f;
    a->bvals[a->nb++] = v;
  } else
    return tide__cmd_fail(2, "unknown flag \"--%s\" for tide cluster --backend %s (see --help)", f,
                          def ? def->name : "?");
  (void)d;
#undef F
  return 0;
}

static int parse(int argc, char **argv, cargs *a, char **fbuf)
{
  /* first pass: the backend decides which extra flags exist */
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc)
      a->backend = argv[i + 1];
    else if (strncmp(argv[i], "--backend=", 10) == 0)
      a->backend = argv[i] + 10;
  }
  const tide__backend_def *def = tide__backend_find(a->backend);
  if (!def)
    return tide__cmd_fail(2, "--backend: unknown backend \"%s\" (see tide cluster --help)",
                          a->backend);
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      help();
      return -1;
    }
    if (strncmp(arg, "--", 2) != 0 || !arg[2])
      return tide__cmd_fail(2, "unexpected argument \"%s\" (see tide cluster --help)", arg);
    const char *f = arg + 2;
    const char *v = NULL;
    const char *eq = strchr(f, '=');
    char *name = eq ? strndup(f, (size_t)(eq - f)) : strdup(f);
    fbuf[i] = name;
    if (eq)
      v = eq + 1;
    bool *sw = strcmp(name, "adapt") == 0            ? &a->adapt
               : strcmp(name, "no-auth") == 0        ? &a->no_auth
               : strcmp(name, "dashboard-auth") == 0 ? &a->dashboard_auth
                                                     : NULL;
    if (sw) {
      if (v)
        return tide__cmd_fail(2, "--%s takes no value", name);
      *sw = true;
      continue;
    }
    if (strcmp(name, "arrival-aware") == 0 || strcmp(name, "no-arrival-aware") == 0) {
      if (v)
        return tide__cmd_fail(2, "--%s takes no value", name);
      a->adapt = true;
      a->a.set |= TIDE_ADAPT_ARRIVAL_AWARE;
      a->a.arrival_aware = name[0] == 'a';
      continue;
    }
    if (strcmp(name, "allow-exec") == 0) {
      if (v)
        return tide__cmd_fail(2, "--allow-exec takes no value");
      a->allow_exec = true;
      continue;
    }
    if (!v && def->switches) { /* backend flags without a value (backend.h) */
      bool sw = false;
      for (size_t k = 0; def->switches[k]; k++)
        sw = sw || strcmp(def->switches[k], name) == 0;
      if (sw) {
        a->bkeys[a->nb] = name;
        a->bvals[a->nb++] = "1";
        continue;
      }
    }
    if (!v) {
      if (i + 1 >= argc)
        return tide__cmd_fail(2, "--%s needs a value", name);
      v = argv[++i];
    }
    int rc = one_flag(a, def, name, v);
    if (rc)
      return rc;
  }
  return 0;
}

/* The plugins every worker loads: the --preload flags, else the config's
 * worker.preload. Each must load here (refused up front, exit 2, instead
 * of workers that die one after another) and travels as an absolute path,
 * since workers may start in another directory or on another node. */
static int resolve_preload(cargs *a, const tide__config *cfg, char (*abs)[PATH_MAX],
                           const char **out)
{
  bool flags = a->npreload > 0;
  int n = flags ? a->npreload : cfg->worker.npreload;
  tide_error e;
  for (int i = 0; i < n; i++) {
    const char *p = flags ? a->preload[i] : cfg->worker.preload[i];
    if (tide__plugin_check(p, &e) < 0 || tide__plugin_absolute(p, abs[i], PATH_MAX, &e) < 0)
      return tide__cmd_fail(2, "%s: %s", flags ? "--preload" : "worker.preload", e.text);
    out[i] = abs[i];
  }
  a->o.preload = out;
  a->o.npreload = n;
  return 0;
}

/* --security temporary: a throwaway CA and certificate in a new 0700
 * directory (removed at exit by remove_temporary), used like --tls-* flags. */
static int make_temporary(cargs *a, char *dir, size_t len)
{
  tide_error e;
  tide__certs certs;
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, len, "%s/tide-security-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir)) {
    int rc = tide__cmd_fail(1, "--security temporary: cannot create %s: %s", dir, strerror(errno));
    dir[0] = '\0';
    return rc;
  }
  if (tide__certs_generate("tide", 30, &certs, &e) < 0 || tide__certs_write(&certs, dir, &e) < 0) {
    tide__certs_free(&certs);
    return tide__cmd_fail(1, "--security temporary: %s", e.text);
  }
  tide__certs_free(&certs);
  static char paths[3][PATH_MAX];
  const char *names[3] = {"ca.pem", "cert.pem", "key.pem"};
  for (int i = 0; i < 3; i++) {
    snprintf(paths[i], sizeof paths[i], "%s/%s", dir, names[i]);
    a->tls[i] = paths[i];
  }
  tide__info("cluster", "temporary TLS credentials in %s", dir);
  return 0;
}

static void remove_temporary(const char *dir)
{
  const char *names[3] = {"ca.pem", "cert.pem", "key.pem"};
  char p[PATH_MAX];
  if (!dir[0])
    return;
  for (int i = 0; i < 3; i++) {
    snprintf(p, sizeof p, "%s/%s", dir, names[i]);
    unlink(p);
  }
  rmdir(dir);
}

/* The TLS files workers get: absolute, since they may start elsewhere. */
static int tls_for_workers(cargs *a, const tide__config *cfg, char (*abs)[PATH_MAX])
{
  const char *given[3] = {cfg->tls.ca_file, cfg->tls.cert, cfg->tls.key};
  const char *flag[3] = {"--tls-ca-file", "--tls-cert", "--tls-key"};
  const char **out[3] = {&a->o.tls_ca_file, &a->o.tls_cert, &a->o.tls_key};
  if (!given[1][0]) /* no certificate: the scheduler speaks plain tcp */
    return 0;
  for (int i = 0; i < 3; i++) {
    if (!given[i][0])
      continue;
    if (!realpath(given[i], abs[i]))
      return tide__cmd_fail(2, "%s %s: %s", flag[i], given[i], strerror(errno));
    *out[i] = abs[i];
  }
  return 0;
}

int tide__cmd_cluster(int argc, char **argv)
{
  cargs a;
  memset(&a, 0, sizeof a);
  a.backend = "local";
  a.o.port = 8786;
  a.o.dashboard_port = 8787;
  a.kill_grace = 2.0;
  a.bkeys = calloc((size_t)argc + 1, sizeof *a.bkeys);
  a.bvals = calloc((size_t)argc + 1, sizeof *a.bvals);
  a.preload = calloc(TIDE__CONFIG_MAX_PRELOAD, sizeof *a.preload);
  char(*preload_abs)[PATH_MAX] = calloc(TIDE__CONFIG_MAX_PRELOAD, sizeof *preload_abs);
  const char *preload_paths[TIDE__CONFIG_MAX_PRELOAD];
  char **fbuf = calloc((size_t)argc + 1, sizeof *fbuf);
  char *generated = NULL; /* the token file this run made, removed at exit */
  char tmpdir[PATH_MAX] = "";
  char(*tls_abs)[PATH_MAX] = calloc(3, sizeof *tls_abs);
  tide_cluster *c = NULL;
  void *self = NULL;
  const tide_backend_ops *ops = NULL;
  tide__cmd_pools pools = {0};
  int status = parse(argc, argv, &a, fbuf);
  if (status)
    goto out;
  if ((status = tide__cmd_log_level("cluster", a.log_level)) != 0)
    goto out;

  tide__config cfg;
  tide_error err = {{0}};
  int rc = tide__config_load(&cfg, a.config, NULL, &err);
  if (rc < 0) {
    status = tide__cmd_fail(2, "%s", err.text);
    goto out;
  }
  if (a.max_workers && tide__config_set(&cfg, "cluster.max-workers", a.max_workers, &err) < 0) {
    status = tide__cmd_fail(2, "--max-workers: %s", err.text);
    goto out;
  }
  if (a.record_trace &&
      tide__config_set(&cfg, "scheduler.record-trace", a.record_trace, &err) < 0) {
    status = tide__cmd_fail(2, "--record-trace: %s", err.text);
    goto out;
  }
  if (a.o.workers > cfg.cluster.max_workers) {
    status = tide__cmd_fail(2, "--workers: %d is above the ceiling of %d workers (--max-workers)",
                            a.o.workers, cfg.cluster.max_workers);
    goto out;
  }
  if (a.adapt) { /* refused before anything starts: bad input */
    double mn = (a.a.set & TIDE_ADAPT_MINIMUM) ? a.a.minimum : cfg.adaptive.minimum;
    double mx = (a.a.set & TIDE_ADAPT_MAXIMUM) ? a.a.maximum : cfg.adaptive.maximum;
    if (mn > mx) {
      status = tide__cmd_fail(2, "--minimum: minimum %g is above maximum %g", mn, mx);
      goto out;
    }
    if (mn > cfg.cluster.max_workers) {
      status = tide__cmd_fail(2, "--minimum: %g is above the ceiling of %d workers (--max-workers)",
                              mn, cfg.cluster.max_workers);
      goto out;
    }
    if (isfinite(mx) && mx > cfg.cluster.max_workers) {
      status = tide__cmd_fail(2, "--maximum: %g is above the ceiling of %d workers (--max-workers)",
                              mx, cfg.cluster.max_workers);
      goto out;
    }
  }
  if ((status = resolve_preload(&a, &cfg, preload_abs, preload_paths)) != 0)
    goto out;
  a.o.allow_exec = a.allow_exec || cfg.worker.allow_exec;
  if (a.no_auth && (a.token_file || a.dashboard_auth)) {
    status = tide__cmd_fail(2, "--no-auth: not with --auth-token-file or --dashboard-auth");
    goto out;
  }
  if (a.no_auth)
    cfg.auth.token_file[0] = '\0';
  else if (!a.token_file && !cfg.auth.token_file[0] && cfg.auth.generate &&
           (status = tide__cmd_auth_generate(&cfg, a.o.scheduler_file, &generated)) != 0)
    goto out;
  if ((status = tide__cmd_auth_flags(&cfg, a.token_file, a.dashboard_auth)) != 0)
    goto out;
  if (a.temporary && (a.tls[0] || a.tls[1] || a.tls[2])) {
    status = tide__cmd_fail(2, "--security temporary: give it or --tls-* files, not both");
    goto out;
  }
  if (a.temporary && (status = make_temporary(&a, tmpdir, sizeof tmpdir)) != 0)
    goto out;
  if ((status = tide__cmd_tls(&cfg, a.tls[0], a.tls[1], a.tls[2])) != 0 ||
      (status = tls_for_workers(&a, &cfg, tls_abs)) != 0)
    goto out;
  tide__cmd_raise_nofile("cluster", TIDE_NOFILE_BASE + TIDE_NOFILE_PER_WORKER *
                                                           (unsigned long)cfg.cluster.max_workers);
  if (!a.mem_set && strcmp(a.backend, "local") == 0)
    a.o.memory_limit = auto_memory_limit(a.o.nthreads);
  a.o.backoff = a.nbackoff ? a.backoff : NULL;
  a.o.nbackoff = a.nbackoff;
  char *output = NULL;
  tide__backend_args ba = {.cfg = &cfg,
                           .opts = &a.o,
                           .keys = a.bkeys,
                           .values = a.bvals,
                           .n = a.nb,
                           .tide_path = "/proc/self/exe",
                           .kill_grace = a.kill_grace,
                           .output = &output};
  /* docs/adaptive.md "Pools": --pool flags, else the configuration's */
  const char *ptexts[TIDE__CONFIG_MAX_POOLS];
  size_t np = a.npools;
  for (size_t i = 0; i < np; i++)
    ptexts[i] = a.pools[i];
  for (int i = 0; np == 0 && i < cfg.npools; i++)
    ptexts[i] = cfg.pools[i];
  if (np == 0)
    np = (size_t)cfg.npools;
  if (np && a.o.workers > 0) { /* docs/adaptive.md "Pools": no pool is the obvious one */
    char names[512] = "";
    for (size_t i = 0, k = 0; i < np && k < sizeof names; i++) {
      int w = snprintf(names + k, sizeof names - k, "%s%.*s", i ? ", " : "",
                       (int)strcspn(ptexts[i], ":"), ptexts[i]);
      k += w > 0 ? (size_t)w : 0;
    }
    status = tide__cmd_fail(2,
                            "--workers: this cluster has pools (%s): give a pool min=N, or scale "
                            "one with tide scale N --pool NAME",
                            names);
    goto out;
  }
  if (np && (status = tide__cmd_pools_build(ptexts, np, a.backend, &ba, cfg.cluster.max_workers,
                                            &pools)) != 0)
    goto out;
  const tide__backend_def *def = tide__backend_find(a.backend);
  if (np) {
    ops = pools.ops[0];
    self = pools.self[0];
    rc = 0;
  } else {
    rc = def->create(&ba, &ops, &self, &err);
  }
  if (rc == TIDE__BACKEND_DONE) { /* e.g. slurm --dry-run: print, exit 0 */
    if (output)
      fputs(output, stdout);
    fflush(stdout);
    free(output);
    status = 0;
    goto out;
  }
  if (rc < 0) {
    status = tide__cmd_fail(tide__cmd_status_for(rc), "%s", err.text);
    goto out;
  }
  rc = tide__cluster_create_cfg(&a.o, &cfg, ops, self, &c, &err);
  if (rc < 0) {
    if (!np && ops->destroy) /* the pools' are tide__cmd_pools_free's */
      ops->destroy(self);
    status =
        tide__cmd_fail(tide__cmd_status_for(rc), "%s", err.text[0] ? err.text : tide_strerror(rc));
    goto out;
  }
  c->kill_grace = a.kill_grace;
  if (np) {
    tide__cluster_set_pools(c, pools.spec, pools.ops, pools.self, np);
    pools.n = 0; /* the cluster's now */
  }
  if (a.adapt) {
    rc = tide_cluster_adapt(c, &a.a, &err);
    if (rc < 0) {
      status = tide__cmd_fail(tide__cmd_status_for(rc), "%s", err.text);
      tide_cluster_destroy(c);
      c = NULL;
      goto out;
    }
  } else if (a.a.set & TIDE_ADAPT_MAX_PENDING) {
    tide__adaptive_set_max_pending(c->adaptive, a.a.max_pending); /* for a later adapt */
  }
  const tide__auth *auth = tide__sched_auth(c->sched);
  if (auth && c->dashboard && *c->dashboard)
    /* once, on the terminal, never through the log (docs/security.md) */
    fprintf(stderr, "dashboard: %s/?token=%.*s\n", c->dashboard, (int)auth->len,
            (const char *)auth->key);
  char repr[512];
  tide_cluster_repr(c, repr, sizeof repr);
  tide__log(TIDE_LOG_INFO, "cluster", "%s", repr);
  status = tide_cluster_run(c) == 0 ? 0 : 1;
  tide_cluster_destroy(c);
out:
  tide__cmd_pools_free(&pools);
  if (generated)
    unlink(generated);
  free(generated);
  for (int i = 0; i < argc; i++)
    free(fbuf[i]);
  free(fbuf);
  free(a.bkeys);
  free(a.bvals);
  free(a.preload);
  free(preload_abs);
  free(tls_abs);
  remove_temporary(tmpdir);
  return status < 0 ? 0 : status;
}
