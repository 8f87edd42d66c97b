/* The scheduler file (docs/design.md §10): JSON written atomically
 * (temp file + rename) once the scheduler listens, removed on clean exit. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/util.h"
#include "scheduler/scheduler.h"

int tide__schedfile_write(const char *path, const char *address, const char *dashboard,
                          const char *id, const tide__auth *auth, const tide__tls_files *tls,
                          tide_error *err)
{
  json_t *o =
      json_pack("{s:s, s:s, s:s, s:s, s:I}", "type", "Scheduler", "address", address, "dashboard",
                dashboard ? dashboard : "", "id", id ? id : "", "pid", (json_int_t)getpid());
  if (auth && auth->len)
    json_object_set_new(o, "token", json_stringn((const char *)auth->key, auth->len));
  if (tls)
    json_object_set_new(o, "tls",
                        json_pack("{s:s, s:s, s:s}", "ca-file", tls->ca_file ? tls->ca_file : "",
                                  "cert", tls->cert ? tls->cert : "", "key",
                                  tls->key ? tls->key : ""));
  char *tmp = tide__xasprintf("%s.tmp.%d", path, (int)getpid());
  /* created 0600 so the token is never readable by others, not even for a
   * moment */
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  int rc = fd < 0 ? -1 : json_dumpfd(o, fd, JSON_INDENT(2));
  if (fd >= 0 && close(fd) != 0)
    rc = -1;
  json_decref(o);
  if (rc != 0 || rename(tmp, path) != 0) {
    int e = errno ? errno : EIO;
    unlink(tmp);
    free(tmp);
    return tide_errprintf(err, -e, "cannot write scheduler file %s: %s", path, strerror(e));
  }
  free(tmp);
  return 0;
}

void tide__schedfile_remove(const char *path)
{
  if (path && *path)
    unlink(path);
}
