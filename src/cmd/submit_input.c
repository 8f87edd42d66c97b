/* `tide submit`'s elements and its checks on this machine (submit.h). */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/submit.h"
#include "common/util.h"

static bool parse_i64(const char *s, size_t n, int64_t *out)
{
  char buf[32], *end;
  if (n == 0 || n >= sizeof buf || s[0] == '-' || s[0] == '+')
    return false;
  memcpy(buf, s, n);
  buf[n] = '\0';
  errno = 0;
  long long v = strtoll(buf, &end, 10);
  if (errno || *end)
    return false;
  *out = v;
  return true;
}

int tide__elements_range(const char *spec, tide__elements *el, tide_error *err)
{
  memset(el, 0, sizeof *el);
  const char *dash = strchr(spec, '-'), *colon = strchr(spec, ':');
  int64_t a, b, step = 1;
  size_t alen = dash ? (size_t)(dash - spec) : colon ? (size_t)(colon - spec) : strlen(spec);
  bool ok = parse_i64(spec, alen, &a);
  if (ok && dash) {
    const char *bs = dash + 1;
    ok = parse_i64(bs, colon ? (size_t)(colon - bs) : strlen(bs), &b);
  } else {
    b = a;
  }
  if (ok && colon)
    ok = parse_i64(colon + 1, strlen(colon + 1), &step) && (!dash || colon > dash);
  if (!ok)
    return tide_errprintf(err, TIDE_EUSAGE,
                          "--array: \"%s\" is not a range (want A-B or A-B:STEP, e.g. 1-1000)",
                          spec);
  if (step < 1)
    return tide_errprintf(err, TIDE_EUSAGE, "--array %s: the step must be at least 1", spec);
  if (b < a)
    return tide_errprintf(err, TIDE_EUSAGE,
                          "--array %s: the range is empty (%" PRId64 " is below %" PRId64 ")", spec,
                          b, a);
  uint64_t n = (uint64_t)(b - a) / (uint64_t)step + 1;
  if (n > TIDE_SUBMIT_MAX)
    return tide_errprintf(err, TIDE_EUSAGE, "--array %s: %" PRIu64 " elements, at most %zu", spec,
                          n, TIDE_SUBMIT_MAX);
  el->n = (size_t)n;
  el->start = a;
  el->step = step;
  return 0;
}

int tide__elements_lines(const char *path, tide__elements *el, tide_error *err)
{
  memset(el, 0, sizeof *el);
  el->step = 1;
  FILE *f = fopen(path, "r");
  if (!f)
    return tide_errprintf(err, TIDE_EUSAGE, "--each-line %s: cannot read it: %s", path,
                          strerror(errno));
  char *line = NULL;
  size_t lcap = 0;
  ssize_t n;
  int rc = 0;
  while ((n = getline(&line, &lcap, f)) >= 0) {
    if (n > 0 && line[n - 1] == '\n')
      line[--n] = '\0';
    if (el->entries.n == TIDE_SUBMIT_MAX) {
      rc = tide_errprintf(err, TIDE_EUSAGE, "--each-line %s: more than %zu lines", path,
                          TIDE_SUBMIT_MAX);
      break;
    }
    tide__vec_push(&el->entries, tide__xstrndup(line, (size_t)n));
  }
  el->n = el->entries.n;
  if (rc == 0 && ferror(f))
    rc = tide_errprintf(err, TIDE_EUSAGE, "--each-line %s: cannot read it: %s", path,
                        strerror(errno));
  free(line);
  fclose(f);
  if (rc == 0 && el->n == 0)
    rc = tide_errprintf(err, TIDE_EUSAGE, "--each-line %s: the file has no lines", path);
  if (rc < 0)
    tide__elements_free(el);
  return rc;
}

int tide__elements_json(const char *path, tide__elements *el, tide_error *err)
{
  memset(el, 0, sizeof *el);
  el->step = 1;
  json_error_t jerr;
  json_t *j = json_load_file(path, JSON_DECODE_ANY, &jerr);
  if (!j) {
    if (access(path, R_OK) != 0)
      return tide_errprintf(err, TIDE_EUSAGE, "--each-json %s: cannot read it: %s", path,
                            strerror(errno));
    return tide_errprintf(err, TIDE_EUSAGE, "--each-json %s:%d: %s", path, jerr.line, jerr.text);
  }
  int rc = 0;
  if (!json_is_array(j))
    rc = tide_errprintf(err, TIDE_EUSAGE, "--each-json %s: want a JSON array", path);
  else if (json_array_size(j) == 0)
    rc = tide_errprintf(err, TIDE_EUSAGE, "--each-json %s: the array is empty", path);
  else if (json_array_size(j) > TIDE_SUBMIT_MAX)
    rc = tide_errprintf(err, TIDE_EUSAGE, "--each-json %s: more than %zu values", path,
                        TIDE_SUBMIT_MAX);
  size_t i;
  json_t *v;
  if (rc == 0)
    json_array_foreach(j, i, v)
        tide__vec_push(&el->entries, json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY));
  el->n = el->entries.n;
  json_decref(j);
  return rc;
}

void tide__elements_free(tide__elements *el)
{
  tide__strvec_free(&el->entries);
  memset(el, 0, sizeof *el);
}

int64_t tide__elements_index(const tide__elements *el, size_t i)
{
  return el->entries.v ? (int64_t)i : el->start + (int64_t)i * el->step;
}

const char *tide__elements_entry(const tide__elements *el, size_t i)
{
  return el->entries.v ? el->entries.v[i] : NULL;
}

size_t tide__elements_find(const tide__elements *el, int64_t index)
{
  if (el->entries.v)
    return index >= 0 && (uint64_t)index < el->n ? (size_t)index : SIZE_MAX;
  if (index < el->start || (index - el->start) % el->step != 0)
    return SIZE_MAX;
  uint64_t i = (uint64_t)(index - el->start) / (uint64_t)el->step;
  return i < el->n ? (size_t)i : SIZE_MAX;
}

int tide__submit_check_dir(const char *dir, const char *what)
{
  struct stat sb;
  if (stat(dir, &sb) != 0)
    return tide__cmd_fail(2, "%s %s: %s", what, dir, strerror(errno));
  if (!S_ISDIR(sb.st_mode))
    return tide__cmd_fail(2, "%s %s: not a directory", what, dir);
  return 0;
}

int tide__submit_check_program(const char *program)
{
  const char *path = getenv("PATH");
  bool found = false;
  if (!*program)
    return tide__cmd_fail(2, "submit: the program name is empty");
  if (strchr(program, '/')) {
    found = access(program, X_OK) == 0;
  } else {
    if (!path || !*path)
      path = "/usr/local/bin:/usr/bin:/bin";
    while (!found && *path) {
      size_t n = strcspn(path, ":");
      char *p = tide__xasprintf("%.*s%s%s", (int)n, path, n ? "/" : "", program);
      found = access(p, X_OK) == 0;
      free(p);
      path += n + (path[n] == ':');
    }
  }
  if (!found)
    return tide__cmd_fail(2,
                          "no such program \"%s\" on this machine (checked here before "
                          "submitting; workers on other machines need it too)",
                          program);
  return 0;
}

int tide__submit_check_pattern(const char *pattern, const char *cwd, const char *what)
{
  if (!*pattern)
    return tide__cmd_fail(2, "%s: the pattern is empty", what);
  /* the directory part that holds no placeholder */
  size_t fixed = strcspn(pattern, "%");
  const char *slash = NULL;
  for (size_t i = 0; i < fixed; i++)
    if (pattern[i] == '/')
      slash = pattern + i;
  const char *tail = pattern + strlen(pattern) - 1;
  if (*tail == '/')
    return tide__cmd_fail(2, "%s %s: the pattern names a directory, not a file", what, pattern);
  char *dir;
  if (!slash)
    dir = tide__xstrdup(cwd);
  else if (pattern[0] == '/')
    dir = tide__xstrndup(pattern, slash == pattern ? 1 : (size_t)(slash - pattern));
  else
    dir = tide__xasprintf("%s/%.*s", cwd, (int)(slash - pattern), pattern);
  int st = 0;
  struct stat sb;
  if (stat(dir, &sb) != 0)
    st = tide__cmd_fail(2, "%s %s: cannot write to directory %s: %s", what, pattern, dir,
                        strerror(errno));
  else if (!S_ISDIR(sb.st_mode))
    st = tide__cmd_fail(2, "%s %s: %s is not a directory", what, pattern, dir);
  else if (access(dir, W_OK | X_OK) != 0)
    st = tide__cmd_fail(2, "%s %s: cannot write to directory %s: %s", what, pattern, dir,
                        strerror(errno));
  free(dir);
  return st;
}

void tide__submit_failure_class(const char *e, char *out, size_t n)
{
  const char *p;
  if ((p = strstr(e, "exited with rc ")))
    snprintf(out, n, "rc %d", atoi(p + 15));
  else if ((p = strstr(e, "killed by signal ")))
    snprintf(out, n, "%.*s", (int)strcspn(p + 17, " "), p + 17);
  else if (strstr(e, "exceeded its time limit"))
    snprintf(out, n, "time limit");
  else if (strstr(e, "no such program"))
    snprintf(out, n, "no such program");
  else
    snprintf(out, n, "other");
}

int tide__submit_exit_code(const char *e)
{
  const char *p;
  if ((p = strstr(e, "exited with rc ")))
    return atoi(p + 15);
  if ((p = strstr(e, "(rc ")))
    return atoi(p + 4);
  return -1;
}
