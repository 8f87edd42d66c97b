/* The ssh backend's pure parts: host lists, placement, the remote command
 * (see ssh.h). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/backends/ssh.h"
#include "cluster/worker_argv.h"
#include "common/util.h"
#include "common/vec.h"

static int add_host(const char *tok, size_t len, tide__ssh_host **hosts, size_t *n, tide_error *err)
{
  char *entry = tide__xstrndup(tok, len);
  char *colon = strrchr(entry, ':');
  int limit = 0;
  if (colon) {
    char *end;
    long v = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end || v < 1 || v > 100000) {
      tide_errprintf(err, TIDE_EUSAGE,
                     "--hosts: \"%s\": the worker limit after ':' must be a number from 1 to "
                     "100000",
                     entry);
      free(entry);
      return TIDE_EUSAGE;
    }
    limit = (int)v;
    *colon = '\0';
  }
  if (!*entry || entry[0] == '-') {
    tide_errprintf(err, TIDE_EUSAGE, "--hosts: \"%.*s\" is not a host name", (int)len, tok);
    free(entry);
    return TIDE_EUSAGE;
  }
  for (size_t i = 0; i < *n; i++)
    if (strcmp((*hosts)[i].name, entry) == 0) {
      tide_errprintf(err, TIDE_EUSAGE, "--hosts: host \"%s\" is listed twice", entry);
      free(entry);
      return TIDE_EUSAGE;
    }
  *hosts = tide__xrealloc(*hosts, (*n + 1) * sizeof **hosts);
  (*hosts)[*n] = (tide__ssh_host){.name = entry, .limit = limit};
  (*n)++;
  return 0;
}

int tide__ssh_parse_hosts(const char *spec, tide__ssh_host **hosts, size_t *n, tide_error *err)
{
  const char *p = spec;
  bool any = false;
  while (*p) {
    if (*p == '#') {
      p += strcspn(p, "\n");
      continue;
    }
    if (*p == ',' || isspace((unsigned char)*p)) {
      p++;
      continue;
    }
    size_t len = strcspn(p, ", \t\r\n#");
    int rc = add_host(p, len, hosts, n, err);
    if (rc < 0)
      return rc;
    any = true;
    p += len;
  }
  if (!any)
    return tide_errprintf(err, TIDE_EUSAGE, "--hosts: no host given");
  return 0;
}

void tide__ssh_free_hosts(tide__ssh_host *hosts, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(hosts[i].name);
  free(hosts);
}

int tide__ssh_place(const tide__ssh_host *hosts, size_t n, int p, double now)
{
  int best = -1;
  for (size_t i = 0; i < n; i++) {
    const tide__ssh_host *h = &hosts[i];
    if (h->retry_at > now || (h->limit > 0 && h->used + p > h->limit))
      continue;
    if (best < 0 || h->used < hosts[best].used)
      best = (int)i;
  }
  return best;
}

double tide__ssh_host_backoff(int failures)
{
  double d = 5;
  for (int i = 1; i < failures && d < 60; i++)
    d *= 2;
  return d < 60 ? d : 60;
}

static void put(tide__text *b, const char *s)
{
  tide__text_put(b, s, strlen(s));
}

static void putq(tide__text *b, const char *s)
{
  char *q = tide__shell_quote(s);
  put(b, q);
  free(q);
}

char *tide__ssh_remote_command(const tide_job *job, const char *tide_path, const char *const *env,
                               size_t nenv, double stagger, double grace)
{
  tide__text b = {0};
  char num[64];
  /* the session's input, kept on fd 3: an asynchronous list's own stdin
   * is /dev/null */
  put(&b, "exec 3<&0 </dev/null\n");
  for (size_t i = 0; i < nenv; i++) {
    put(&b, "export ");
    putq(&b, env[i]);
    put(&b, "\n");
  }
  for (int i = 0; i < job->nworkers; i++) {
    tide__strvec argv = {0};
    tide__worker_argv(&argv, job, i, &(tide__worker_opts){.exe = tide_path, .stagger = stagger});
    tide__shell_join(&b, &argv);
    tide__strvec_free(&argv);
    snprintf(num, sizeof num, " 3<&- & p%d=$!\n", i);
    put(&b, num);
  }
  tide__text pids = {0};
  for (int i = 0; i < job->nworkers; i++) {
    snprintf(num, sizeof num, " $p%d", i);
    put(&pids, num);
  }
  /* The watcher ends the workers once ssh closes the session's input (the
   * job is stopped, or the client went away); the shell itself waits for
   * the workers, then ends the watcher and anything it left, so nothing
   * outlives the session. */
  put(&b, "(cat <&3 >/dev/null; kill -TERM");
  put(&b, pids.v ? pids.v : "");
  snprintf(num, sizeof num, " 2>/dev/null; sleep %.3f; kill -KILL", grace > 0 ? grace : 2.0);
  put(&b, num);
  put(&b, pids.v ? pids.v : "");
  put(&b, " 2>/dev/null) >/dev/null 2>&1 &\nw=$!\nexec 3<&-\nwait");
  put(&b, pids.v ? pids.v : "");
  /* sshd makes the session's shell a process-group leader: the group is
   * then exactly this job's processes. Elsewhere only the watcher goes. */
  put(&b, "\nif [ \"$(cut -d' ' -f5 /proc/$$/stat 2>/dev/null)\" = \"$$\" ]; then\n"
          "  trap '' TERM; kill -TERM 0 2>/dev/null\nelse\n  kill -TERM $w 2>/dev/null\nfi\n"
          "exit 0\n");
  free(pids.v);
  char *q = tide__shell_quote(b.v);
  char *out = tide__xasprintf("exec /bin/sh -c %s", q);
  free(q);
  free(b.v);
  return out;
}
