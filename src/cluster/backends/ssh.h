/* The ssh backend's pure parts (docs/backends.md): the --hosts syntax, the
 * placement of a job on a host with room, and the remote command line with
 * every user string shell-quoted. No process, no clock: unit-tested in
 * tests/unit/test_cluster_ssh.c. */
#ifndef TIDE_CLUSTER_BACKENDS_SSH_H
#define TIDE_CLUSTER_BACKENDS_SSH_H

#include <stddef.h>

#include "tide/cluster.h"
#include "tide/error.h"

typedef struct tide__ssh_host {
  char *name;
  int limit;       /* most workers at once on the host; 0 = no limit */
  int used;        /* workers of live sessions */
  int failures;    /* failed sessions in a row */
  double retry_at; /* tide__now() before which the host is not used */
} tide__ssh_host;

/* Append the hosts of spec ("h1,h2:4", also whitespace- or
 * newline-separated; '#' starts a comment to the end of the line, for
 * hosts files) to *hosts / *n. A bad entry (empty name, a name starting
 * with '-', a limit that is not a number from 1 to 100000, a duplicate)
 * returns TIDE_EUSAGE naming it; what is appended stays. */
int tide__ssh_parse_hosts(const char *spec, tide__ssh_host **hosts, size_t *n, tide_error *err);
void tide__ssh_free_hosts(tide__ssh_host *hosts, size_t n);

/* Where a job of p workers goes at time now: among hosts that are not
 * backing off and have room for p more, the one with the fewest workers
 * (the first on ties), so that jobs spread. -1 when none fits. */
int tide__ssh_place(const tide__ssh_host *hosts, size_t n, int p, double now);

/* How long a host that failed `failures` times in a row is left alone:
 * 5 s, doubling, at most 60 s. */
double tide__ssh_host_backoff(int failures);

/* The command the remote shell runs for job (malloc'd): exports env
 * ("K=V" each), starts the job's P workers with tide_path in the
 * background, and ends them (SIGTERM, SIGKILL after grace seconds) when
 * the session's standard input closes; it returns once they have all
 * exited, leaving no process behind. stagger is --lifetime-stagger. */
char *tide__ssh_remote_command(const tide_job *job, const char *tide_path, const char *const *env,
                               size_t nenv, double stagger, double grace);

#endif
