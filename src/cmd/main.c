/* `tide`: dispatch to a subcommand. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "common/log.h"

static const struct {
  const char *name;
  int (*fn)(int argc, char **argv);
  const char *help;
} commands[] = {
    {"scheduler", tide__cmd_scheduler, "run a scheduler"},
    {"worker", tide__cmd_worker, "run a worker"},
    {"cluster", tide__cmd_cluster,
     "run a scheduler, a cluster manager and the Adaptive controller"},
    {"run", tide__cmd_run, "submit a graph, wait, print its outputs as JSON"},
    {"submit", tide__cmd_submit, "run a program once per element of an array on the workers"},
    {"jobs", tide__cmd_jobs, "list the jobs of tide submit with their task counts by state"},
    {"job", tide__cmd_job,
     "one job of tide submit: per task state, exit code, worker, duration, output files"},
    {"cancel", tide__cmd_cancel, "cancel what is left of a job submitted without --wait"},
    {"get", tide__cmd_get, "print a published dataset (--output DIR: to files)"},
    {"unpublish", tide__cmd_unpublish, "release a published dataset"},
    {"datasets", tide__cmd_datasets, "list published datasets"},
    {"scale", tide__cmd_scale, "scale a running cluster (or one pool) to N workers"},
    {"adapt", tide__cmd_adapt, "start, change or stop adapting"},
    {"retire", tide__cmd_retire, "retire workers gracefully"},
    {"status", tide__cmd_status, "show the cluster, its workers and the adaptive state"},
    {"simulate", tide__cmd_simulate,
     "replay a workload trace under an adaptive policy, virtual clock"},
    {"logs", tide__cmd_logs, "gather logs from cluster, scheduler and workers"},
};

static void usage(FILE *f)
{
  fprintf(f, "usage: tide COMMAND [ARGS]\n\ncommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
  fprintf(f, "\nRun 'tide COMMAND --help' for a command's flags.\n");
}

/* Write s with control characters escaped (\n, \t, \r, else \xHH): error
 * text may come from a task or a peer, and raw newlines or escape sequences
 * would forge lines or drive the terminal. */
static void put_escaped(const char *s, FILE *f)
{
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '\n')
      fputs("\\n", f);
    else if (*p == '\t')
      fputs("\\t", f);
    else if (*p == '\r')
      fputs("\\r", f);
    else if (*p < 0x20 || *p == 0x7f)
      fprintf(f, "\\x%02x", *p);
    else
      fputc(*p, f);
  }
}

int tide__cmd_fail(int code, const char *fmt, ...)
{
  va_list ap;
  char *text = NULL;
  va_start(ap, fmt);
  int n = vasprintf(&text, fmt, ap);
  va_end(ap);
  if (n < 0)
    text = NULL;
  fputs("tide: ", stderr);
  put_escaped(n >= 0 ? text : "(cannot format the message)", stderr);
  fputc('\n', stderr);
  free(text);
  return code;
}

int tide__cmd_status_for(int err)
{
  switch (err) {
  case 0: return 0;
  case TIDE_EUSAGE:
  case TIDE_EGRAPH:
  case TIDE_ECONFIG:
  case TIDE_EPLUGIN: return 2;
  default: return 1;
  }
}

int tide__cmd_log_level(const char *role, const char *level)
{
  int lv = TIDE_LOG_INFO;
  if (level) {
    lv = tide__log_level_parse(level);
    if (lv < 0)
      return tide__cmd_fail(2, "bad --log-level \"%s\" (debug, info, warning, error, none)", level);
  }
  tide__log_init(role, (tide__log_level)lv);
  return 0;
}

int main(int argc, char **argv)
{
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("tide 0.1.0\n");
    return 0;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp(argv[1], commands[i].name) == 0)
      return commands[i].fn(argc - 1, argv + 1);
  return tide__cmd_fail(2, "unknown command \"%s\" (see 'tide --help')", argv[1]);
}
