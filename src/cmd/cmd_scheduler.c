/* `tide scheduler`: run a scheduler with its HTTP API until SIGINT/SIGTERM. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "cmd/cmd.h"
#include "common/config.h"
#include "common/log.h"
#include "common/parse.h"
#include "common/util.h"
#include "http/api.h"
#include "scheduler/scheduler.h"

static const char usage_text[] =
    "usage: tide scheduler [--host 127.0.0.1] [--port 8786] [--dashboard-port 8787]\n"
    "                      [--contact-address ADDR] [--scheduler-file F] [--config F]\n"
    "                      [--log-level L] [--auth-token-file F] [--dashboard-auth]\n"
    "                      [--tls-ca-file F] [--tls-cert F] [--tls-key F]\n"
    "  --contact-address: the address clients and workers dial (tcp://HOST:PORT, or\n"
    "  HOST for the bound port) when it is not --host; with --host 0.0.0.0 the\n"
    "  default is this machine's first non-loopback IPv4 address.\n"
    "  --dashboard-port -1 serves no HTTP API; port 0 picks a free port.\n";

enum {
  O_HOST = 256,
  O_PORT,
  O_DASH,
  O_FILE,
  O_CONFIG,
  O_LOG,
  O_TOKEN,
  O_DASH_AUTH,
  O_TLS_CA,
  O_TLS_CERT,
  O_TLS_KEY,
  O_HELP,
  O_CONTACT
};

static const struct option options[] = {
    {"host", required_argument, NULL, O_HOST},
    {"contact-address", required_argument, NULL, O_CONTACT},
    {"port", required_argument, NULL, O_PORT},
    {"dashboard-port", required_argument, NULL, O_DASH},
    {"scheduler-file", required_argument, NULL, O_FILE},
    {"config", required_argument, NULL, O_CONFIG},
    {"log-level", required_argument, NULL, O_LOG},
    {"auth-token-file", required_argument, NULL, O_TOKEN},
    {"dashboard-auth", no_argument, NULL, O_DASH_AUTH},
    {"tls-ca-file", required_argument, NULL, O_TLS_CA},
    {"tls-cert", required_argument, NULL, O_TLS_CERT},
    {"tls-key", required_argument, NULL, O_TLS_KEY},
    {"help", no_argument, NULL, O_HELP},
    {NULL, 0, NULL, 0},
};

typedef struct args {
  const char *host, *file, *config, *log_level, *token_file, *contact;
  const char *tls_ca, *tls_cert, *tls_key;
  int port, dash_port;
  bool dashboard_auth;
} args;

typedef struct runner {
  uv_loop_t loop;
  tide__sched *sched;
  tide__api *api;
  tide__http *http;
  uv_signal_t sigint, sigterm;
  const char *file;
  bool stopping;
} runner;

static int port_flag(const char *flag, const char *v, bool allow_off, int *out)
{
  char *end;
  long n = strtol(v, &end, 10);
  if (*end || end == v || n > 65535 || n < (allow_off ? -1 : 0))
    return tide__cmd_fail(2, "--%s: expected a port from 0 to 65535%s, got \"%s\"", flag,
                          allow_off ? " (or -1: none)" : "", v);
  *out = (int)n;
  return 0;
}

static int parse_args(int argc, char **argv, args *a)
{
  int c, rc;
  a->host = "127.0.0.1";
  a->port = 8786;
  a->dash_port = 8787;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
    switch (c) {
    case O_HOST: a->host = optarg; break;
    case O_CONTACT: a->contact = optarg; break;
    case O_PORT:
      if ((rc = port_flag("port", optarg, false, &a->port)))
        return rc;
      break;
    case O_DASH:
      if ((rc = port_flag("dashboard-port", optarg, true, &a->dash_port)))
        return rc;
      break;
    case O_FILE: a->file = optarg; break;
    case O_CONFIG: a->config = optarg; break;
    case O_LOG: a->log_level = optarg; break;
    case O_TOKEN: a->token_file = optarg; break;
    case O_DASH_AUTH: a->dashboard_auth = true; break;
    case O_TLS_CA: a->tls_ca = optarg; break;
    case O_TLS_CERT: a->tls_cert = optarg; break;
    case O_TLS_KEY: a->tls_key = optarg; break;
    case 'h':
    case O_HELP: fputs(usage_text, stdout); return -1;
    case ':': return tide__cmd_fail(2, "scheduler: %s needs a value", argv[optind - 1]);
    default:
      return tide__cmd_fail(2, "scheduler: unknown flag \"%s\" (see 'tide scheduler --help')",
                            argv[optind - 1]);
    }
  }
  if (optind < argc)
    return tide__cmd_fail(2, "scheduler: unexpected argument \"%s\"", argv[optind]);
  return 0;
}

static void stop(runner *r)
{
  if (r->stopping)
    return;
  r->stopping = true;
  tide__info("sched", "shutting down");
  tide__schedfile_remove(r->file);
  if (r->http) {
    tide__http_stop(r->http);
    r->http = NULL;
  }
  tide__sched_close(r->sched, true);
  uv_close((uv_handle_t *)&r->sigint, NULL);
  uv_close((uv_handle_t *)&r->sigterm, NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
  stop(h->data);
}

static int serve(runner *r, const args *a, tide__config *cfg)
{
  tide_error err = {{0}};
  int rc = tide__sched_create(&r->loop, cfg, &r->sched, &err);
  if (rc < 0)
    return tide__cmd_fail(1, "%s", err.text);
  rc = tide__sched_listen(r->sched, a->host, a->port, &err);
  if (rc < 0) {
    if (rc == UV_EADDRINUSE)
      return tide__cmd_fail(1, "port %d is in use", a->port);
    return tide__cmd_fail(tide__cmd_status_for(rc), "%s", err.text[0] ? err.text : uv_strerror(rc));
  }
  if (tide__sched_set_contact(r->sched, a->contact, &err) < 0)
    return tide__cmd_fail(2, "--contact-address: %s", err.text);
  /* the dashboard is told under the host the scheduler is reached at */
  char dhost[256];
  int dport;
  if (tide__parse_address(tide__sched_address(r->sched), dhost, sizeof dhost, &dport, &err) < 0)
    snprintf(dhost, sizeof dhost, "%s", a->host);
  if (a->dash_port >= 0) {
    /* no cluster manager: no ops, so scale and adapt answer 400 */
    if ((rc = tide__api_create(r->sched, NULL, NULL, &r->api)) < 0)
      return tide__cmd_fail(1, "cannot create the HTTP API: %s", tide_strerror(rc));
    rc = tide__http_start(r->api, &r->loop, a->host, a->dash_port, &r->http, &err);
    if (rc < 0) {
      if (rc == UV_EADDRINUSE || rc == -98)
        return tide__cmd_fail(1, "dashboard port %d is in use", a->dash_port);
      return tide__cmd_fail(1, "%s", err.text[0] ? err.text : tide_strerror(rc));
    }
    tide__http_set_hosts(r->http, cfg->dashboard.hosts);
    char *url = tide__xasprintf("http://%s:%d", dhost, tide__http_port(r->http));
    tide__sched_set_dashboard(r->sched, url);
    free(url);
  }
  tide__sched_announce(r->sched); /* every port is bound */
  if (r->http)
    tide__info("sched", "dashboard at http://%s:%d", dhost, tide__http_port(r->http));
  if (a->file) {
    const char *dash = NULL;
    char *url = NULL;
    if (r->http)
      dash = url = tide__xasprintf("http://%s:%d", dhost, tide__http_port(r->http));
    rc = tide__schedfile_write(a->file, tide__sched_address(r->sched), dash ? dash : "",
                               tide__sched_id(r->sched), tide__sched_auth(r->sched), NULL, &err);
    free(url);
    if (rc < 0)
      return tide__cmd_fail(1, "%s", err.text);
    r->file = a->file;
  }
  uv_signal_init(&r->loop, &r->sigint);
  uv_signal_init(&r->loop, &r->sigterm);
  r->sigint.data = r->sigterm.data = r;
  uv_signal_start(&r->sigint, on_signal, SIGINT);
  uv_signal_start(&r->sigterm, on_signal, SIGTERM);
  uv_run(&r->loop, UV_RUN_DEFAULT);
  return 0;
}

int tide__cmd_scheduler(int argc, char **argv)
{
  args a = {0};
  int rc = parse_args(argc, argv, &a);
  if (rc != 0)
    return rc < 0 ? 0 : rc;
  if ((rc = tide__cmd_log_level("scheduler", a.log_level)) != 0)
    return rc;
  tide__config cfg;
  tide_error err = {{0}};
  if (tide__config_load(&cfg, a.config, NULL, &err) != 0)
    return tide__cmd_fail(2, "%s", err.text);
  if ((rc = tide__cmd_auth_flags(&cfg, a.token_file, a.dashboard_auth)) != 0)
    return rc;
  if ((rc = tide__cmd_tls(&cfg, a.tls_ca, a.tls_cert, a.tls_key)) != 0)
    return rc;
  tide__cmd_raise_nofile("scheduler",
                         TIDE_NOFILE_BASE +
                             TIDE_NOFILE_PER_WORKER * (unsigned long)cfg.cluster.max_workers);
  signal(SIGPIPE, SIG_IGN);
  runner r = {0};
  uv_loop_init(&r.loop);
  int status = serve(&r, &a, &cfg);
  if (status != 0) {
    if (r.http)
      tide__http_stop(r.http);
    if (r.sched)
      tide__sched_close(r.sched, false);
  }
  /* let every handle finish closing before freeing */
  uv_run(&r.loop, UV_RUN_DEFAULT);
  tide__sched_destroy(r.sched);
  tide__api_destroy(r.api);
  uv_loop_close(&r.loop);
  return status;
}
