/* The scheduler file reader: JSON with at least {"address": "tcp://..."}. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "common/schedfile.h"
#include "common/util.h"

int tide__schedfile_read(const char *path, char **address, char **token, tide_error *err)
{
  *address = NULL;
  if (token)
    *token = NULL;
  /* open it ourselves so that a missing file reports its errno, which
   * jansson's message would hide */
  FILE *fp = fopen(path, "r");
  if (!fp) {
    int e = errno;
    return tide_errprintf(err, -e, "cannot read scheduler file %s: %s", path, strerror(e));
  }
  json_error_t jerr;
  json_t *root = json_loadf(fp, 0, &jerr);
  fclose(fp);
  if (!root)
    return tide_errprintf(err, TIDE_EPROTO, "%s:%d: malformed scheduler file: %s", path, jerr.line,
                          jerr.text);
  const char *a = json_string_value(json_object_get(root, "address"));
  if (a)
    *address = tide__xstrdup(a);
  const char *t = json_string_value(json_object_get(root, "token"));
  if (t && token && a)
    *token = tide__xstrdup(t);
  json_decref(root);
  if (!*address)
    return tide_errprintf(err, TIDE_EPROTO, "%s: scheduler file has no \"address\"", path);
  return 0;
}

static char *dup_or_null(json_t *o, const char *k)
{
  const char *v = json_string_value(json_object_get(o, k));
  return v && *v ? tide__xstrdup(v) : NULL;
}

int tide__schedfile_read_tls(const char *path, char **ca_file, char **cert, char **key)
{
  *ca_file = *cert = *key = NULL;
  json_error_t jerr;
  json_t *root = json_load_file(path, 0, &jerr);
  json_t *t = json_object_get(root, "tls");
  if (json_is_object(t)) {
    *ca_file = dup_or_null(t, "ca-file");
    *cert = dup_or_null(t, "cert");
    *key = dup_or_null(t, "key");
  }
  json_decref(root);
  return *cert ? 1 : 0;
}
