/* Configuration: built-in defaults, a YAML file, TIDE_SECTION__KEY variables. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "common/config.h"
#include "common/parse.h"
#include "common/util.h"

extern char **environ;

typedef enum kind {
  K_DURATION,  /* double seconds, >= 0 */
  K_POSDUR,    /* double seconds, > 0 */
  K_COUNT,     /* double, non-negative integer */
  K_COUNT_INF, /* double, non-negative integer or inf */
  K_INT,       /* int >= min */
  K_SIZE_D,    /* double bytes (a rate) */
  K_SIZE,      /* int64_t bytes */
  K_NUMBER,    /* double > 0, or inf */
  K_FRACTION,  /* double in [0, 1] */
  K_STRING,    /* char[size] */
  K_WALLTIME,  /* sbatch -t forms or a duration (tide__parse_walltime) */
  K_PATHS,     /* worker.preload: a YAML list, or paths joined with ':' */
  K_BOOL,      /* bool: true/false, yes/no, on/off, 1/0 */
  K_POOLS,     /* pools: a YAML list, or --pool values joined with ';' */
} kind;

typedef struct key {
  const char *name;
  kind kind;
  size_t off;
  size_t size; /* K_STRING buffer size */
  int min;     /* K_INT */
} key;

#define F(field) offsetof(tide__config, field)
static const key keys[] = {
    {"adaptive.interval", K_POSDUR, F(adaptive.interval), 0, 0},
    {"adaptive.minimum", K_COUNT, F(adaptive.minimum), 0, 0},
    {"adaptive.maximum", K_COUNT_INF, F(adaptive.maximum), 0, 0},
    {"adaptive.wait-count", K_INT, F(adaptive.wait_count), 0, 1},
    {"adaptive.target-duration", K_POSDUR, F(adaptive.target_duration), 0, 0},
    {"adaptive.arrival-aware", K_BOOL, F(adaptive.arrival_aware), 0, 0},
    {"dashboard.hosts", K_STRING, F(dashboard.hosts), sizeof((tide__config *)0)->dashboard.hosts,
     0},
    {"cluster.max-workers", K_INT, F(cluster.max_workers), 0, 1},
    {"scheduler.unknown-task-duration", K_DURATION, F(scheduler.unknown_task_duration), 0, 0},
    {"scheduler.bandwidth", K_SIZE_D, F(scheduler.bandwidth), 0, 0},
    {"scheduler.worker-saturation", K_NUMBER, F(scheduler.worker_saturation), 0, 0},
    {"scheduler.round-trip", K_DURATION, F(scheduler.round_trip), 0, 0},
    {"scheduler.allowed-failures", K_INT, F(scheduler.allowed_failures), 0, 0},
    {"scheduler.retire-timeout", K_DURATION, F(scheduler.retire_timeout), 0, 0},
    {"scheduler.heartbeat-timeout", K_POSDUR, F(scheduler.heartbeat_timeout), 0, 0},
    {"scheduler.record-trace", K_STRING, F(scheduler.record_trace),
     sizeof((tide__config *)0)->scheduler.record_trace, 0},
    {"worker.memory.target", K_FRACTION, F(worker.memory_target), 0, 0},
    {"worker.memory.pause", K_FRACTION, F(worker.memory_pause), 0, 0},
    {"worker.heartbeat-interval", K_POSDUR, F(worker.heartbeat_interval), 0, 0},
    {"worker.preload", K_PATHS, F(worker.preload), 0, 0},
    {"worker.allow-exec", K_BOOL, F(worker.allow_exec), 0, 0},
    {"pools", K_POOLS, F(pools), 0, 0},
    {"worker.resources", K_STRING, F(worker.resources), sizeof((tide__config *)0)->worker.resources,
     0},
    {"slurm.partition", K_STRING, F(slurm.partition), sizeof((tide__config *)0)->slurm.partition,
     0},
    {"slurm.account", K_STRING, F(slurm.account), sizeof((tide__config *)0)->slurm.account, 0},
    {"slurm.walltime", K_WALLTIME, F(slurm.walltime), 0, 0},
    {"slurm.cores", K_INT, F(slurm.cores), 0, 1},
    {"slurm.memory", K_SIZE, F(slurm.memory), 0, 0},
    {"slurm.log-directory", K_STRING, F(slurm.log_directory),
     sizeof((tide__config *)0)->slurm.log_directory, 0},
    {"slurm.max-pending", K_INT, F(slurm.max_pending), 0, 1},
    {"sge.queue", K_STRING, F(sge.queue), sizeof((tide__config *)0)->sge.queue, 0},
    {"sge.project", K_STRING, F(sge.project), sizeof((tide__config *)0)->sge.project, 0},
    {"sge.pe", K_STRING, F(sge.pe), sizeof((tide__config *)0)->sge.pe, 0},
    {"sge.walltime", K_WALLTIME, F(sge.walltime), 0, 0},
    {"sge.cores", K_INT, F(sge.cores), 0, 1},
    {"sge.memory", K_SIZE, F(sge.memory), 0, 0},
    {"sge.log-directory", K_STRING, F(sge.log_directory),
     sizeof((tide__config *)0)->sge.log_directory, 0},
    {"sge.max-pending", K_INT, F(sge.max_pending), 0, 1},
    {"auth.token-file", K_STRING, F(auth.token_file), sizeof((tide__config *)0)->auth.token_file,
     0},
    {"auth.dashboard", K_BOOL, F(auth.dashboard), 0, 0},
    {"auth.generate", K_BOOL, F(auth.generate), 0, 0},
    {"limits.frame-size", K_SIZE, F(limits.frame_size), 0, 0},
    {"limits.result-size", K_SIZE, F(limits.result_size), 0, 0},
    {"limits.frame-memory", K_SIZE, F(limits.frame_memory), 0, 0},
    {"limits.graph-tasks", K_INT, F(limits.graph_tasks), 0, 1},
    {"limits.key-length", K_INT, F(limits.key_length), 0, 1},
    {"limits.arg-depth", K_INT, F(limits.arg_depth), 0, 1},
    {"limits.connections", K_INT, F(limits.connections), 0, 1},
    {"limits.connections-per-source", K_INT, F(limits.connections_per_source), 0, 1},
    {"limits.handshake-timeout", K_POSDUR, F(limits.handshake_timeout), 0, 0},
    {"limits.idle-timeout", K_POSDUR, F(limits.idle_timeout), 0, 0},
    {"limits.handshake-frame", K_SIZE, F(limits.handshake_frame), 0, 0},
    {"limits.handshake-memory", K_SIZE, F(limits.handshake_memory), 0, 0},
    {"limits.http-connections", K_INT, F(limits.http_connections), 0, 1},
    {"limits.http-connections-per-source", K_INT, F(limits.http_connections_per_source), 0, 1},
    {"limits.http-timeout", K_POSDUR, F(limits.http_timeout), 0, 0},
    {"tls.ca-file", K_STRING, F(tls.ca_file), sizeof((tide__config *)0)->tls.ca_file, 0},
    {"tls.cert", K_STRING, F(tls.cert), sizeof((tide__config *)0)->tls.cert, 0},
    {"tls.key", K_STRING, F(tls.key), sizeof((tide__config *)0)->tls.key, 0},
};
#undef F

void tide__config_defaults(tide__config *cfg)
{
  memset(cfg, 0, sizeof *cfg);
  cfg->adaptive.interval = 1;
  cfg->adaptive.minimum = 0;
  cfg->adaptive.maximum = INFINITY;
  cfg->adaptive.wait_count = 3;
  cfg->adaptive.target_duration = 5;
  cfg->adaptive.arrival_aware = true;
  cfg->cluster.max_workers = 1000;
  cfg->limits = (tide__limits)TIDE__LIMITS_DEFAULT;
  cfg->auth.generate = true;
  cfg->scheduler.unknown_task_duration = 0.5;
  cfg->scheduler.bandwidth = 100e6;
  cfg->scheduler.worker_saturation = 1.1;
  cfg->scheduler.round_trip = 1e-3;
  cfg->scheduler.allowed_failures = 3;
  cfg->scheduler.retire_timeout = 60;
  cfg->scheduler.heartbeat_timeout = 10;
  cfg->worker.memory_target = 0.6;
  cfg->worker.memory_pause = 0.8;
  cfg->worker.heartbeat_interval = 0.5;
  cfg->slurm.walltime = 3600;
  cfg->slurm.cores = 1;
  cfg->slurm.memory = 0;
  cfg->slurm.max_pending = 8;
  cfg->sge.walltime = 3600;
  cfg->sge.cores = 1;
  cfg->sge.max_pending = 8;
}

/* Replace the preload list with items[0..n); empty items are skipped. */
static int set_paths(tide__config *cfg, const char *const *items, size_t n, tide_error *err)
{
  int m = 0;
  for (size_t i = 0; i < n; i++) {
    if (!*items[i])
      continue;
    if (m == TIDE__CONFIG_MAX_PRELOAD)
      return tide_errprintf(err, TIDE_EUSAGE, "at most %d plugins", TIDE__CONFIG_MAX_PRELOAD);
    if (strlen(items[i]) >= sizeof cfg->worker.preload[0])
      return tide_errprintf(err, TIDE_EUSAGE,
                            "path too long (%zu characters at most): \"%.40s...\"",
                            sizeof cfg->worker.preload[0] - 1, items[i]);
    snprintf(cfg->worker.preload[m++], sizeof cfg->worker.preload[0], "%s", items[i]);
  }
  cfg->worker.npreload = m;
  return 0;
}

/* Replace the pools with items[0..n) (checked by `tide cluster`). */
static int set_pools(tide__config *cfg, const char *const *items, size_t n, tide_error *err)
{
  int m = 0;
  for (size_t i = 0; i < n; i++) {
    if (!*items[i])
      continue;
    if (m == TIDE__CONFIG_MAX_POOLS)
      return tide_errprintf(err, TIDE_EUSAGE, "at most %d pools", TIDE__CONFIG_MAX_POOLS);
    if (strlen(items[i]) >= sizeof cfg->pools[0])
      return tide_errprintf(err, TIDE_EUSAGE, "pool too long: \"%.40s...\"", items[i]);
    snprintf(cfg->pools[m++], sizeof cfg->pools[0], "%s", items[i]);
  }
  cfg->npools = m;
  return 0;
}

/* "a.so:b.so" -> the list (the environment's one-string form). */
static int parse_paths(tide__config *cfg, const char *v, bool pools, tide_error *err)
{
  char *copy = strdup(v), *save = NULL;
  const char *items[TIDE__CONFIG_MAX_PRELOAD + TIDE__CONFIG_MAX_POOLS + 1];
  size_t n = 0, max = pools ? TIDE__CONFIG_MAX_POOLS + 1 : TIDE__CONFIG_MAX_PRELOAD + 1;
  if (!copy)
    return tide_errprintf(err, -ENOMEM, "out of memory");
  for (char *t = strtok_r(copy, pools ? ";" : ":", &save); t;
       t = strtok_r(NULL, pools ? ";" : ":", &save)) {
    if (n == max)
      break;
    items[n++] = t;
  }
  int r = pools ? set_pools(cfg, items, n, err) : set_paths(cfg, items, n, err);
  free(copy);
  return r;
}

static int parse_value(const key *k, void *field, const char *v, tide_error *err)
{
  double d;
  int64_t i64;
  int r;

  switch (k->kind) {
  case K_DURATION:
  case K_POSDUR:
    r = tide__parse_duration(v, false, &d, err);
    if (r == 0 && k->kind == K_POSDUR && d <= 0)
      r = tide_errprintf(err, TIDE_EUSAGE, "must be a positive duration, got \"%s\"", v);
    if (r == 0)
      *(double *)field = d;
    return r;
  case K_COUNT:
  case K_COUNT_INF:
    r = tide__parse_count(v, k->kind == K_COUNT_INF, &d, err);
    if (r == 0)
      *(double *)field = d;
    return r;
  case K_INT:
    r = tide__parse_count(v, false, &d, err);
    if (r == 0 && (d < k->min || d > INT_MAX))
      r = tide_errprintf(err, TIDE_EUSAGE, "must be an integer >= %d, got \"%s\"", k->min, v);
    if (r == 0)
      *(int *)field = (int)d;
    return r;
  case K_SIZE_D:
  case K_SIZE:
    r = tide__parse_size(v, &i64, err);
    if (r == 0 && k->kind == K_SIZE_D && i64 <= 0)
      r = tide_errprintf(err, TIDE_EUSAGE, "must be positive, got \"%s\"", v);
    if (r == 0 && k->kind == K_SIZE_D)
      *(double *)field = (double)i64;
    else if (r == 0)
      *(int64_t *)field = i64;
    return r;
  case K_NUMBER:
    if (tide__parse_count(v, true, &d, NULL) == 0 && isinf(d)) {
      *(double *)field = d;
      return 0;
    }
    r = tide__parse_number(v, &d, err);
    if (r == 0 && d <= 0)
      r = tide_errprintf(err, TIDE_EUSAGE, "must be positive, got \"%s\"", v);
    if (r == 0)
      *(double *)field = d;
    return r;
  case K_FRACTION:
    r = tide__parse_number(v, &d, err);
    if (r == 0 && (d < 0 || d > 1))
      r = tide_errprintf(err, TIDE_EUSAGE, "must be a fraction between 0 and 1, got \"%s\"", v);
    if (r == 0)
      *(double *)field = d;
    return r;
  case K_STRING:
    if (strlen(v) >= k->size)
      return tide_errprintf(err, TIDE_EUSAGE, "value too long (%zu characters at most)",
                            k->size - 1);
    snprintf((char *)field, k->size, "%s", v);
    return 0;
  case K_WALLTIME:
    r = tide__parse_walltime(v, &d, err);
    if (r == 0)
      *(double *)field = d;
    return r;
  case K_PATHS: return parse_paths((tide__config *)((char *)field - k->off), v, false, err);
  case K_POOLS: return parse_paths((tide__config *)((char *)field - k->off), v, true, err);
  case K_BOOL:
    if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on") || !strcmp(v, "1"))
      *(bool *)field = true;
    else if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off") ||
             !strcmp(v, "0"))
      *(bool *)field = false;
    else
      return tide_errprintf(err, TIDE_EUSAGE, "must be true or false, got \"%s\"", v);
    return 0;
  }
  return TIDE_ECONFIG;
}

int tide__config_set(tide__config *cfg, const char *name, const char *value, tide_error *err)
{
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    if (strcmp(keys[i].name, name) != 0)
      continue;
    tide_error e;
    tide__config tmp = *cfg; /* a failed call changes nothing */
    if (parse_value(&keys[i], (char *)&tmp + keys[i].off, value ? value : "", &e) < 0)
      return tide_errprintf(err, TIDE_ECONFIG, "%s: %s", name, e.text);
    *cfg = tmp;
    return 0;
  }
  return tide_errprintf(err, TIDE_ECONFIG, "unknown config key \"%s\"", name);
}

/* --- YAML file ------------------------------------------------------------ */

static bool is_list_key(const char *name)
{
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    if (strcmp(keys[i].name, name) == 0)
      return keys[i].kind == K_PATHS || keys[i].kind == K_POOLS;
  return false;
}

/* A YAML list of plain strings for a K_PATHS key. */
static int set_list(tide__config *cfg, yaml_document_t *doc, yaml_node_t *seq, const char *name,
                    const char *file, size_t line, tide_error *err)
{
  const char *items[TIDE__CONFIG_MAX_PRELOAD + TIDE__CONFIG_MAX_POOLS + 1];
  size_t n = 0;
  bool pools = strcmp(name, "pools") == 0;
  for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
       it++) {
    yaml_node_t *e = yaml_document_get_node(doc, *it);
    if (!e || e->type != YAML_SCALAR_NODE)
      return tide_errprintf(err, TIDE_ECONFIG, "%s:%zu: %s: expected a list of paths", file,
                            e ? e->start_mark.line + 1 : line, name);
    if (n == TIDE__CONFIG_MAX_PRELOAD + 1)
      break;
    items[n++] = (const char *)e->data.scalar.value;
  }
  tide_error e;
  if ((pools ? set_pools(cfg, items, n, &e) : set_paths(cfg, items, n, &e)) < 0)
    return tide_errprintf(err, TIDE_ECONFIG, "%s:%zu: %s: %s", file, line, name, e.text);
  return 0;
}

/* seen: one flag per node of doc. A mapping is walked once: through
 * aliases, one (`&a {x: *a}`) could nest itself forever, and a few could
 * repeat each other exponentially (found by fuzz_config). */
static int walk(tide__config *cfg, yaml_document_t *doc, yaml_node_t *node, char *path, size_t plen,
                const char *file, bool *seen, tide_error *err)
{
  if (node->type != YAML_MAPPING_NODE)
    return tide_errprintf(err, TIDE_ECONFIG, "%s:%zu: %s%sexpected a mapping of keys", file,
                          node->start_mark.line + 1, plen ? path : "", plen ? ": " : "");
  if (seen[node - doc->nodes.start])
    return tide_errprintf(err, TIDE_ECONFIG, "%s:%zu: %s%sa mapping used again through an alias",
                          file, node->start_mark.line + 1, plen ? path : "", plen ? ": " : "");
  seen[node - doc->nodes.start] = true;
  for (yaml_node_pair_t *pr = node->data.mapping.pairs.start; pr < node->data.mapping.pairs.top;
       pr++) {
    yaml_node_t *k = yaml_document_get_node(doc, pr->key);
    yaml_node_t *v = yaml_document_get_node(doc, pr->value);
    size_t line = k->start_mark.line + 1;
    if (k->type != YAML_SCALAR_NODE)
      return tide_errprintf(err, TIDE_ECONFIG, "%s:%zu: a key must be a plain name", file, line);
    const char *ks = (const char *)k->data.scalar.value;
    size_t n = strlen(ks);
    if (plen + 1 + n + 1 > 256)
      return tide_errprintf(err, TIDE_ECONFIG, "%s:%zu: key too long", file, line);
    char *save = path + plen;
    size_t nlen = plen;
    if (plen)
      path[nlen++] = '.';
    memcpy(path + nlen, ks, n + 1);
    nlen += n;
    int r;
    tide_error e;
    if (v->type == YAML_MAPPING_NODE) {
      r = walk(cfg, doc, v, path, nlen, file, seen, err);
    } else if (v->type == YAML_SCALAR_NODE) {
      r = tide__config_set(cfg, path, (const char *)v->data.scalar.value, &e);
      if (r < 0)
        r = tide_errprintf(err, TIDE_ECONFIG, "%s:%zu: %s", file, line, e.text);
    } else if (v->type == YAML_SEQUENCE_NODE && is_list_key(path)) {
      r = set_list(cfg, doc, v, path, file, line, err);
    } else {
      r = tide_errprintf(err, TIDE_ECONFIG, "%s:%zu: %s: a list is not allowed here", file, line,
                         path);
    }
    *save = '\0';
    if (r < 0)
      return r;
  }
  return 0;
}

static int load_file(tide__config *cfg, const char *file, bool must_exist, tide_error *err)
{
  FILE *fp = fopen(file, "rb");
  if (!fp) {
    if (errno == ENOENT && !must_exist)
      return 0;
    return tide_errprintf(err, TIDE_ECONFIG, "cannot read config %s: %s", file, strerror(errno));
  }
  yaml_parser_t parser;
  yaml_document_t doc;
  int r = 0;
  yaml_parser_initialize(&parser);
  yaml_parser_set_input_file(&parser, fp);
  if (!yaml_parser_load(&parser, &doc)) {
    r = tide_errprintf(err, TIDE_ECONFIG, "%s:%zu: YAML syntax error: %s", file,
                       parser.problem_mark.line + 1,
                       parser.problem ? parser.problem : "cannot parse");
  } else {
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    bool empty = !root || (root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0);
    if (!empty) {
      char path[256] = "";
      tide__config tmp = *cfg;
      bool *seen = tide__xcalloc((size_t)(doc.nodes.top - doc.nodes.start), sizeof *seen);
      r = walk(&tmp, &doc, root, path, 0, file, seen, err);
      free(seen);
      if (r == 0)
        *cfg = tmp;
    }
    yaml_document_delete(&doc);
  }
  yaml_parser_delete(&parser);
  fclose(fp);
  return r;
}

/* --- environment ---------------------------------------------------------- */

static const char *env_get(char **envp, const char *name)
{
  size_t n = strlen(name);
  for (char **e = envp; e && *e; e++)
    if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
      return *e + n + 1;
  return NULL;
}

/* TIDE_WORKER__MEMORY__TARGET -> worker.memory.target; 0 if the variable is
 * not a config override (no "__"). */
static int env_key(const char *var, size_t len, char *out, size_t outlen)
{
  if (len <= 5 || strncmp(var, "TIDE_", 5) != 0)
    return 0;
  var += 5;
  len -= 5;
  if (!memmem(var, len, "__", 2))
    return 0;
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    if (o + 2 >= outlen)
      return -1;
    if (var[i] == '_' && i + 1 < len && var[i + 1] == '_') {
      out[o++] = '.';
      i++;
    } else if (var[i] == '_') {
      out[o++] = '-';
    } else {
      out[o++] = (char)tolower((unsigned char)var[i]);
    }
  }
  out[o] = '\0';
  return 1;
}

static int load_env(tide__config *cfg, char **envp, tide_error *err)
{
  for (char **e = envp; e && *e; e++) {
    const char *eq = strchr(*e, '=');
    if (!eq)
      continue;
    char name[256];
    size_t len = (size_t)(eq - *e);
    int k = env_key(*e, len, name, sizeof name);
    if (k == 0)
      continue;
    tide_error e2;
    if (k < 0 || tide__config_set(cfg, name, eq + 1, &e2) < 0)
      return tide_errprintf(err, TIDE_ECONFIG, "environment variable %.*s: %s", (int)len, *e,
                            k < 0 ? "name too long" : e2.text);
  }
  return 0;
}

int tide__config_load(tide__config *cfg, const char *path, char **envp, tide_error *err)
{
  tide__config tmp;
  char buf[4096];
  int r;

  if (!envp)
    envp = environ;
  tide__config_defaults(&tmp);
  if (!path)
    path = env_get(envp, "TIDE_CONFIG");
  if (path && *path) {
    r = load_file(&tmp, path, true, err);
  } else {
    const char *home = env_get(envp, "HOME");
    r = 0;
    bool found = false;
    if (home && *home) {
      snprintf(buf, sizeof buf, "%s/.config/tide/tide.yaml", home);
      FILE *fp = fopen(buf, "rb");
      if (fp) {
        fclose(fp);
        found = true;
        r = load_file(&tmp, buf, true, err);
      }
    }
    if (!found)
      r = load_file(&tmp, "/etc/tide/tide.yaml", false, err);
  }
  if (r < 0)
    return r;
  r = load_env(&tmp, envp, err);
  if (r < 0)
    return r;
  /* the limits must agree with each other, whichever source set them */
  if ((r = tide__limits_check(&tmp.limits, err)) < 0)
    return r;
  *cfg = tmp;
  return 0;
}
