/* Configuration: defaults < YAML file < TIDE_SECTION__KEY environment <
 * flags (docs/design.md §9). Loading is pure apart from reading the
 * file and the environment; unknown keys and bad values are errors naming
 * the key. */
#ifndef TIDE_COMMON_CONFIG_H
#define TIDE_COMMON_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "common/limits.h"
#include "tide/error.h"

/* The most plugins worker.preload (and `--preload`) may name. */
#define TIDE__CONFIG_MAX_POOLS   16
#define TIDE__CONFIG_MAX_PRELOAD 16

typedef struct tide__config {
  struct {
    double interval;        /* seconds, default 1 */
    double minimum;         /* default 0 */
    double maximum;         /* default INFINITY */
    int wait_count;         /* default 3 */
    double target_duration; /* seconds, default 5 */
    bool arrival_aware;     /* default true: the cap of docs/design.md §7 */
  } adaptive;
  struct {
    /* dashboard.hosts: extra names (comma-separated) the dashboard answers
     * to in Host and Origin, e.g. a public DNS name; default none. */
    char hosts[512];
  } dashboard;
  struct {
    int max_workers; /* default 1000: the most workers scale/adapt may ask for */
  } cluster;
  struct {
    double unknown_task_duration; /* seconds, default 0.5 */
    double bandwidth;             /* bytes/s, default 100e6 */
    double worker_saturation;     /* default 1.1 */
    double round_trip;            /* seconds, default 1e-3; 0: no deeper queue */
    int allowed_failures;         /* default 3 */
    double retire_timeout;        /* seconds, default 60 */
    double heartbeat_timeout;     /* seconds, default 10: missed heartbeats */
    char record_trace[1024];      /* append a workload trace here (docs/simulate.md); "" none */
  } scheduler;
  struct {
    double memory_target;      /* fraction, default 0.6 */
    double memory_pause;       /* fraction, default 0.8 */
    double heartbeat_interval; /* seconds, default 0.5 */
    /* worker.preload: plugins every worker loads (`--preload`), in order.
     * A YAML list, or one string with ':' between paths (the environment
     * form, TIDE_WORKER__PRELOAD=a.so:b.so); default none. */
    char preload[TIDE__CONFIG_MAX_PRELOAD][1024];
    int npreload;
    /* worker.allow-exec: tide.exec runs programs (`--allow-exec`); default
     * false, so a task cannot run commands as the worker's user unless the
     * worker was started to allow it. */
    bool allow_exec;
    /* worker.resources: what the worker advertises ("GPU=1,MEM=64e9",
     * docs/tasks.md "Resources"); `--resources` overrides it; "" none */
    char resources[512];
  } worker;
  /* pools: worker pools of `tide cluster`, each as a --pool value
   * ("big:backend=local,resources=BIG=1,max=2"; docs/adaptive.md "Pools"):
   * a YAML list, or values joined with ';'; default none */
  char pools[TIDE__CONFIG_MAX_POOLS][512];
  int npools;
  struct {
    /* auth.token-file: the shared token (docs/security.md); "" = none */
    char token_file[1024];
    bool dashboard; /* auth.dashboard: GET routes of the HTTP API need it too */
    bool generate;  /* auth.generate: `tide cluster` makes one when none is given (true) */
  } auth;
  tide__limits limits; /* limits.*: the limits table */
  struct {
    char partition[128]; /* "" = site default */
    char account[128];
    double walltime;         /* seconds, default 3600 */
    int cores;               /* cpus-per-task, default 1 */
    int64_t memory;          /* bytes, default 0 = site default */
    char log_directory[512]; /* default "" = current directory */
    int max_pending;         /* default 8 */
  } slurm;
  struct {
    char queue[128]; /* -q; "" = site default */
    char project[128];
    char pe[128];            /* parallel environment for -pe; "" = none */
    double walltime;         /* seconds, default 3600 */
    int cores;               /* slots through -pe, default 1 */
    int64_t memory;          /* bytes for -l mem_free, default 0 = none */
    char log_directory[512]; /* default "" = current directory */
    int max_pending;         /* default 8 */
  } sge;
  struct {
    /* PEM files (docs/security.md "TLS"); "" = not given. With cert and key
     * the process's servers speak TLS only; with ca_file both ends of every
     * TLS connection verify the other against it. */
    char ca_file[1024];
    char cert[1024];
    char key[1024];
  } tls;
} tide__config;

/* Fill cfg with the built-in defaults. */
void tide__config_defaults(tide__config *cfg);

/* Defaults, then the YAML file (path, or if NULL: $TIDE_CONFIG, else
 * ~/.config/tide/tide.yaml, else /etc/tide/tide.yaml; a missing default file
 * is fine, a missing explicit one an error), then TIDE_SECTION__KEY variables
 * from envp (NULL = environ). Errors name the file, line and key. */
int tide__config_load(tide__config *cfg, const char *path, char **envp, tide_error *err);

/* Set one dotted key ("adaptive.wait-count", "worker.memory.target") from a
 * string, validating it; used by the file, env and flag layers alike. */
int tide__config_set(tide__config *cfg, const char *key, const char *value, tide_error *err);

#endif
