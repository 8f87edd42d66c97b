/* Flags and connection set-up shared by the client subcommands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/client_opts.h"
#include "cmd/cmd.h"
#include "common/config.h"
#include "common/parse.h"
#include "common/util.h"
#include "proto/auth.h"

/* If argv[*i] is flag name ("--x v" or "--x=v"), set *val and advance.
 * Returns 1 when it matched, 0 when not, 2 (exit status) when the value is
 * missing. */
static int take_value(int argc, char **argv, int *i, const char *name, const char **val)
{
  size_t n = strlen(name);
  const char *a = argv[*i];
  if (strncmp(a, name, n) != 0)
    return 0;
  if (a[n] == '=') {
    *val = a + n + 1;
    return 1;
  }
  if (a[n] != '\0')
    return 0;
  if (*i + 1 >= argc)
    return tide__cmd_fail(2, "%s needs a value", name);
  *val = argv[++*i];
  return 1;
}

int tide__copts_parse(int argc, char **argv, const char *usage, const tide__cflag *flags,
                      tide__copts *o)
{
  const char *timeout = NULL, *token_file = NULL;
  bool only_pos = false;
  int r;

  memset(o, 0, sizeof *o);
  o->pos = tide__xcalloc((size_t)argc + 1, sizeof *o->pos);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (only_pos || a[0] != '-' || strcmp(a, "-") == 0) {
      o->pos[o->npos++] = argv[i];
      continue;
    }
    if (strcmp(a, "--") == 0) {
      only_pos = true;
      continue;
    }
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      printf("usage: %s\n  common flags: --scheduler ADDRESS | --scheduler-file FILE,"
             " --timeout D, --log-level LEVEL,\n                --auth-token-file F,\n"
             "    --tls-ca-file F, --tls-cert F, --tls-key F\n",
             usage);
      return -1;
    }
    if ((r = take_value(argc, argv, &i, "--scheduler", &o->address)) ||
        (r = take_value(argc, argv, &i, "--scheduler-file", &o->scheduler_file)) ||
        (r = take_value(argc, argv, &i, "--timeout", &timeout)) ||
        (r = take_value(argc, argv, &i, "--log-level", &o->log_level)) ||
        (r = take_value(argc, argv, &i, "--auth-token-file", &token_file)) ||
        (r = take_value(argc, argv, &i, "--tls-ca-file", &o->tls_ca_file)) ||
        (r = take_value(argc, argv, &i, "--tls-cert", &o->tls_cert)) ||
        (r = take_value(argc, argv, &i, "--tls-key", &o->tls_key))) {
      if (r > 1)
        return r;
      continue;
    }
    const tide__cflag *f = flags;
    for (; f && f->name; f++) {
      if (!f->value) {
        if (strcmp(a, f->name) == 0) {
          if (f->set)
            *f->set = true;
          break;
        }
        continue;
      }
      if ((r = take_value(argc, argv, &i, f->name, f->value))) {
        if (r > 1)
          return r;
        if (f->set)
          *f->set = true;
        break;
      }
    }
    if (f && f->name)
      continue;
    if (a[1] != '-' && strtod(a, NULL) != 0) { /* a negative number is positional */
      o->pos[o->npos++] = argv[i];
      continue;
    }
    return tide__cmd_fail(2, "unknown flag \"%s\" (usage: %s)", a, usage);
  }
  if (timeout) {
    tide_error err;
    if (tide__parse_duration(timeout, false, &o->timeout, &err) < 0)
      return tide__cmd_fail(2, "--timeout: %s", err.text);
    if (o->timeout <= 0)
      return tide__cmd_fail(2, "--timeout: must be more than 0, got \"%s\"", timeout);
  }
  if (o->address && o->scheduler_file)
    return tide__cmd_fail(2, "give --scheduler or --scheduler-file, not both");
  if (token_file) {
    /* the client library reads the token the auth.token-file way */
    tide__auth a;
    tide_error err = {{0}};
    if (tide__auth_load(&a, token_file, &err) < 0)
      return tide__cmd_fail(2, "--auth-token-file: %s", err.text);
    setenv("TIDE_AUTH__TOKEN_FILE", token_file, 1);
  }
  /* the graph is checked before any connection, against the same limits
   * table (limits.*) the scheduler applies */
  tide__config cfg;
  tide_error err = {{0}};
  if (tide__config_load(&cfg, NULL, NULL, &err) != 0)
    return tide__cmd_fail(2, "%s", err.text);
  tide__limits_set(&cfg.limits);
  return tide__cmd_log_level("client", o->log_level ? o->log_level : "error");
}

void tide__copts_free(tide__copts *o)
{
  free(o->pos);
  o->pos = NULL;
}

int tide__copts_npos(const tide__copts *o, const char *cmd, const char *usage, int min, int max)
{
  if (o->npos < min)
    return tide__cmd_fail(2, "%s: missing argument (usage: %s)", cmd, usage);
  if (max >= 0 && o->npos > max)
    return tide__cmd_fail(2, "%s: unexpected argument \"%s\" (usage: %s)", cmd, o->pos[max], usage);
  return 0;
}

int tide__copts_connect(const tide__copts *o, tide_client **c)
{
  tide_error err = {{0}};
  const char *addr = o->address;
  double ct = o->timeout > 0 && o->timeout < 10 ? o->timeout : 10;
  int rc;

  if (!addr && !o->scheduler_file)
    addr = TIDE_DEFAULT_SCHEDULER;
  /* TLS: the flags over the tls: section of the configuration (file and
   * TIDE_TLS__* environment); with neither, a TLS cluster's scheduler file */
  tide__config cfg;
  if (tide__config_load(&cfg, NULL, NULL, &err) != 0)
    return tide__cmd_fail(2, "%s", err.text);
  if ((rc = tide__cmd_tls(&cfg, o->tls_ca_file, o->tls_cert, o->tls_key)) != 0)
    return rc;
  rc = tide_client_connect(addr, o->scheduler_file, ct, c, &err);
  if (rc < 0)
    return tide__cmd_fail(tide__cmd_status_for(rc), "%s", err.text);
  tide_client_set_timeout(*c, o->timeout);
  return 0;
}

int tide__copts_api(tide_client *c, const char *method, const char *path, const char *body,
                    json_t **json)
{
  tide_error err = {{0}};
  json_error_t jerr;
  char *resp = NULL;
  int status = 0, rc;

  *json = NULL;
  rc = tide_client_api(c, method, path, body, &status, &resp, &err);
  if (rc < 0)
    return tide__cmd_fail(tide__cmd_status_for(rc), "%s", err.text);
  json_t *j = json_loads(resp, JSON_DECODE_ANY, &jerr);
  if (status < 200 || status >= 300) {
    json_t *e = json_object_get(j, "error");
    const char *msg = json_is_string(e) ? json_string_value(e) : resp;
    rc = tide__cmd_fail(status >= 400 && status < 500 ? 2 : 1, "%s", msg && *msg ? msg : "failed");
    json_decref(j);
    free(resp);
    return rc;
  }
  if (!j) {
    rc = tide__cmd_fail(1, "%s %s: malformed JSON answer: %s", method, path, jerr.text);
    free(resp);
    return rc;
  }
  free(resp);
  *json = j;
  return 0;
}
