/* Flags and connection set-up shared by the client subcommands (run, get,
 * unpublish, datasets, scale, adapt, retire, status, logs): --scheduler,
 * --scheduler-file, --timeout, --log-level, --auth-token-file, --tls-ca-file,
 * --tls-cert, --tls-key, --help. */
#ifndef TIDE_CMD_CLIENT_OPTS_H
#define TIDE_CMD_CLIENT_OPTS_H

#include <jansson.h>
#include <stdbool.h>

#include "tide/client.h"

/* A subcommand's own flag: value flags store their argument in *value,
 * boolean flags (value == NULL) set *set. */
typedef struct tide__cflag {
  const char *name;   /* "--publish" */
  const char **value; /* NULL for a boolean flag */
  bool *set;          /* may be NULL for value flags */
} tide__cflag;

typedef struct tide__copts {
  const char *address;        /* --scheduler */
  const char *scheduler_file; /* --scheduler-file */
  double timeout;             /* --timeout, seconds; 0 = none */
  const char *log_level;      /* --log-level */
  const char *tls_ca_file;    /* --tls-ca-file */
  const char *tls_cert;       /* --tls-cert */
  const char *tls_key;        /* --tls-key */
  char **pos;                 /* positional arguments (borrowed from argv) */
  int npos;
} tide__copts;

/* The default scheduler when neither flag is given. */
#define TIDE_DEFAULT_SCHEDULER "tcp://127.0.0.1:8786"

/* Parse argv (argv[0] is the subcommand) into o and the command's flags.
 * Returns 0 to go on, -1 when --help was printed (exit 0), or an exit status
 * after printing one `tide: ` line. usage is the one-line synopsis. Also
 * sets the log level (default "error": a client command's own errors are
 * its one `tide: ` line). Call tide__copts_free after. */
int tide__copts_parse(int argc, char **argv, const char *usage, const tide__cflag *flags,
                      tide__copts *o);
/* Free what tide__copts_parse allocated (the positional array). */
void tide__copts_free(tide__copts *o);

/* Check the positional count is within [min, max] (max < 0: no limit);
 * returns 0 or exit status 2 after printing the usage error. */
int tide__copts_npos(const tide__copts *o, const char *cmd, const char *usage, int min, int max);

/* Connect (default address TIDE_DEFAULT_SCHEDULER) and apply --timeout to
 * every request; TLS from the --tls-* flags, else the configuration's tls.*
 * keys, else the scheduler file. Returns 0 with *c, or an exit status after
 * printing. */
int tide__copts_connect(const tide__copts *o, tide_client **c);

/* Call a JSON route of the HTTP API; on 2xx returns 0 with *json (caller
 * decrefs). 4xx prints `tide: <error>` and returns 2, other failures 1. */
int tide__copts_api(tide_client *c, const char *method, const char *path, const char *body,
                    json_t **json);

/* Print a packed msgpack map {KEY: VALUE} as one JSON object line on
 * stdout (bytes as {"bytes", "sha256"}). Returns an exit status. */
int tide__cmd_print_values(const char *values, size_t len);

/* --output DIR (cmd_output.c). Check before any work: DIR is created when
 * missing (its parent must exist) and must be a writable directory; else
 * one `tide: --output DIR: ...` line and exit status 2. */
int tide__cmd_output_check(const char *dir);
/* Write each result of a packed msgpack map {KEY: VALUE} to DIR: byte
 * results as they are, others as JSON in KEY.json, KEY encoded so that no
 * name leaves DIR; print {KEY: {"file", "bytes", "sha256"}} as one JSON
 * line. Returns an exit status (1 when a file cannot be written). */
int tide__cmd_write_values(const char *values, size_t len, const char *dir);

#endif
