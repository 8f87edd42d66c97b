/* `tide worker`: run a worker connected to a scheduler. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "cmd/cmd.h"
#include "common/config.h"
#include "common/log.h"
#include "common/parse.h"
#include "worker/builtins.h"
#include "worker/plugin.h"
#include "worker/registry.h"
#include "worker/worker.h"

static const char usage_text[] =
    "usage: tide worker (ADDRESS | --scheduler-file F) [--name NAME] [--nthreads 1]\n"
    "                   [--memory-limit SIZE] [--preload LIB.so]... [--lifetime D]\n"
    "                   [--lifetime-stagger D] [--death-timeout D] [--host H] [--job JOB]\n"
    "                   [--allow-exec] [--port P] [--contact-address ADDR] [--config F]\n"
    "                   [--log-level L] [--auth-token-file F]\n"
    "                   [--resources NAME=AMOUNT,...] [--pool NAME]\n"
    "                   [--tls-ca-file F] [--tls-cert F] [--tls-key F]\n"
    "  --host/--port: where the data server listens (default: the address that\n"
    "  routes to the scheduler, any port); --contact-address: what peers and the\n"
    "  scheduler dial instead (tcp://HOST:PORT, or HOST for the bound port).\n";

enum {
  O_SCHED = 256,
  O_FILE,
  O_NAME,
  O_NTHREADS,
  O_MEM,
  O_PRELOAD,
  O_LIFE,
  O_STAGGER,
  O_DEATH,
  O_HOST,
  O_PORT,
  O_CONTACT,
  O_JOB,
  O_CONFIG,
  O_LOG,
  O_EXEC,
  O_TOKEN,
  O_TLS_CA,
  O_TLS_CERT,
  O_TLS_KEY,
  O_RES,
  O_POOL,
  O_HELP
};

static const struct option options[] = {
    {"scheduler", required_argument, NULL, O_SCHED},
    {"scheduler-file", required_argument, NULL, O_FILE},
    {"name", required_argument, NULL, O_NAME},
    {"nthreads", required_argument, NULL, O_NTHREADS},
    {"memory-limit", required_argument, NULL, O_MEM},
    {"preload", required_argument, NULL, O_PRELOAD},
    {"lifetime", required_argument, NULL, O_LIFE},
    {"lifetime-stagger", required_argument, NULL, O_STAGGER},
    {"death-timeout", required_argument, NULL, O_DEATH},
    {"host", required_argument, NULL, O_HOST},
    {"port", required_argument, NULL, O_PORT},
    {"contact-address", required_argument, NULL, O_CONTACT},
    {"job", required_argument, NULL, O_JOB},
    {"config", required_argument, NULL, O_CONFIG},
    {"log-level", required_argument, NULL, O_LOG},
    {"allow-exec", no_argument, NULL, O_EXEC},
    {"auth-token-file", required_argument, NULL, O_TOKEN},
    {"tls-ca-file", required_argument, NULL, O_TLS_CA},
    {"tls-cert", required_argument, NULL, O_TLS_CERT},
    {"tls-key", required_argument, NULL, O_TLS_KEY},
    {"resources", required_argument, NULL, O_RES},
    {"pool", required_argument, NULL, O_POOL},
    {"help", no_argument, NULL, O_HELP},
    {NULL, 0, NULL, 0},
};

typedef struct args {
  tide__wk_opts o;
  const char *preload[64];
  int npreload;
  double stagger;
  const char *config, *log_level, *token_file;
  bool allow_exec;
  const char *tls_ca, *tls_cert, *tls_key;
} args;

static int duration_flag(const char *flag, const char *v, double *out)
{
  tide_error err;
  if (tide__parse_duration(v, false, out, &err) != 0)
    return tide__cmd_fail(2, "--%s: %s", flag, err.text);
  return 0;
}

static int parse_args(int argc, char **argv, args *a)
{
  int c, rc;
  a->o.nthreads = 1;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
    switch (c) {
    case O_SCHED: a->o.scheduler = optarg; break;
    case O_FILE: a->o.scheduler_file = optarg; break;
    case O_NAME:
      if (!*optarg)
        return tide__cmd_fail(2, "--name must not be empty");
      a->o.name = optarg;
      break;
    case O_NTHREADS: {
      char *end;
      long n = strtol(optarg, &end, 10);
      if (*end || end == optarg || n < 1 || n > 1024)
        return tide__cmd_fail(2, "--nthreads: expected an integer from 1 to 1024, got \"%s\"",
                              optarg);
      a->o.nthreads = (int)n;
      break;
    }
    case O_MEM: {
      tide_error err;
      if (strcmp(optarg, "auto") == 0) {
        a->o.memory_limit = (int64_t)uv_get_total_memory();
      } else if (tide__parse_size(optarg, &a->o.memory_limit, &err) != 0) {
        return tide__cmd_fail(2, "--memory-limit: %s", err.text);
      }
      break;
    }
    case O_PRELOAD:
      if (a->npreload == (int)(sizeof a->preload / sizeof a->preload[0]))
        return tide__cmd_fail(2, "too many --preload flags");
      a->preload[a->npreload++] = optarg;
      break;
    case O_LIFE:
      if ((rc = duration_flag("lifetime", optarg, &a->o.lifetime)))
        return rc;
      break;
    case O_STAGGER:
      if ((rc = duration_flag("lifetime-stagger", optarg, &a->stagger)))
        return rc;
      break;
    case O_DEATH:
      if ((rc = duration_flag("death-timeout", optarg, &a->o.death_timeout)))
        return rc;
      break;
    case O_HOST: a->o.host = optarg; break;
    case O_PORT: {
      char *end;
      long n = strtol(optarg, &end, 10);
      if (*end || end == optarg || n < 0 || n > 65535)
        return tide__cmd_fail(2, "worker: --port: expected a port from 0 to 65535, got \"%s\"",
                              optarg);
      a->o.port = (int)n;
      break;
    }
    case O_CONTACT: a->o.contact = optarg; break;
    case O_JOB: a->o.job = optarg; break;
    case O_RES: a->o.resources = optarg; break;
    case O_POOL: a->o.pool = optarg; break;
    case O_CONFIG: a->config = optarg; break;
    case O_LOG: a->log_level = optarg; break;
    case O_EXEC: a->allow_exec = true; break;
    case O_TOKEN: a->token_file = optarg; break;
    case O_TLS_CA: a->tls_ca = optarg; break;
    case O_TLS_CERT: a->tls_cert = optarg; break;
    case O_TLS_KEY: a->tls_key = optarg; break;
    case 'h':
    case O_HELP: fputs(usage_text, stdout); return -1;
    case ':': return tide__cmd_fail(2, "worker: %s needs a value", argv[optind - 1]);
    default:
      return tide__cmd_fail(2, "worker: unknown flag \"%s\" (see 'tide worker --help')",
                            argv[optind - 1]);
    }
  }
  if (optind < argc) {
    if (a->o.scheduler || optind + 1 < argc)
      return tide__cmd_fail(2, "worker: unexpected argument \"%s\"",
                            argv[a->o.scheduler ? optind : optind + 1]);
    a->o.scheduler = argv[optind];
  }
  if (!a->o.scheduler && !a->o.scheduler_file)
    return tide__cmd_fail(
        2,
        "worker: a scheduler ADDRESS or --scheduler-file is required (see 'tide worker --help')");
  if (a->o.scheduler && a->o.scheduler_file)
    return tide__cmd_fail(2, "worker: give a scheduler ADDRESS or --scheduler-file, not both");
  return 0;
}

/* lifetime += uniform(-stagger, stagger), never below 1 ms. */
static double staggered(double lifetime, double stagger)
{
  if (lifetime <= 0 || stagger <= 0)
    return lifetime;
  srand48((long)getpid() ^ (long)time(NULL));
  double l = lifetime + (2 * drand48() - 1) * stagger;
  return l > 0.001 ? l : 0.001;
}

int tide__cmd_worker(int argc, char **argv)
{
  args a = {0};
  tide_error err = {{0}};
  int rc = parse_args(argc, argv, &a);
  if (rc != 0)
    return rc < 0 ? 0 : rc;
  if ((rc = tide__cmd_log_level("worker", a.log_level)) != 0)
    return rc;
  tide__config cfg;
  if ((rc = tide__config_load(&cfg, a.config, NULL, &err)) != 0)
    return tide__cmd_fail(2, "%s", err.text);
  if ((rc = tide__cmd_auth_flags(&cfg, a.token_file, false)) != 0)
    return rc;
  if ((rc = tide__cmd_tls(&cfg, a.tls_ca, a.tls_cert, a.tls_key)) != 0)
    return rc;
  a.o.lifetime = staggered(a.o.lifetime, a.stagger);
  signal(SIGPIPE, SIG_IGN);

  tide_registry *reg;
  tide__registry_create(&reg);
  tide__builtins_register(reg, a.allow_exec || cfg.worker.allow_exec);
  /* flags replace the config's list; every plugin loads before the worker
   * connects, so a bad one ends it with one line and never registers */
  int npre = a.npreload ? a.npreload : cfg.worker.npreload;
  for (int i = 0; i < npre; i++) {
    const char *p = a.npreload ? a.preload[i] : cfg.worker.preload[i];
    if ((rc = tide__plugin_load(reg, p, &err)) != 0) {
      tide__registry_destroy(reg);
      return tide__cmd_fail(2, "%s", err.text);
    }
  }
  uv_loop_t loop;
  uv_loop_init(&loop);
  tide__wk *w = NULL;
  rc = tide__wk_create(&loop, &a.o, &cfg, reg, &w, &err);
  if (rc == 0)
    rc = tide__wk_start(w, &err);
  int status;
  if (rc != 0) {
    status = tide__cmd_fail(tide__cmd_status_for(rc), "%s", err.text);
    if (w)
      tide__wk_shutdown(w, status);
    uv_run(&loop, UV_RUN_DEFAULT);
  } else {
    uv_run(&loop, UV_RUN_DEFAULT);
    status = tide__wk_exit_status(w);
    if (tide__wk_fatal(w))
      tide__cmd_fail(status, "%s", tide__wk_fatal(w));
  }
  tide__wk_destroy(w);
  uv_loop_close(&loop);
  tide__registry_destroy(reg);
  return status;
}
