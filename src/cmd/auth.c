/* --auth-token-file, --dashboard-auth and the token `tide cluster`
 * generates (docs/security.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "common/util.h"
#include "proto/auth.h"

int tide__cmd_auth_flags(tide__config *cfg, const char *token_file, bool dashboard_auth)
{
  if (token_file) {
    if (strlen(token_file) >= sizeof cfg->auth.token_file)
      return tide__cmd_fail(2, "--auth-token-file: path too long");
    snprintf(cfg->auth.token_file, sizeof cfg->auth.token_file, "%s", token_file);
  }
  if (dashboard_auth)
    cfg->auth.dashboard = true;
  if (cfg->auth.token_file[0]) {
    tide__auth a;
    tide_error err = {{0}};
    if (tide__auth_load(&a, cfg->auth.token_file, &err) < 0)
      return tide__cmd_fail(2, "%s", err.text);
    /* children (workers a cluster starts, tide.exec commands) and the
     * client library find the same token */
    setenv("TIDE_AUTH__TOKEN_FILE", cfg->auth.token_file, 1);
  } else if (cfg->auth.dashboard) {
    return tide__cmd_fail(2, "--dashboard-auth needs a token (--auth-token-file)");
  }
  return 0;
}

int tide__cmd_auth_generate(tide__config *cfg, const char *scheduler_file, char **path)
{
  char token[2 * TIDE_AUTH_NONCE + 1];
  tide_error err = {{0}};
  *path = NULL;
  if (tide__auth_generate(token, &err) < 0)
    return tide__cmd_fail(1, "cannot generate a token: %s", err.text);
  char *p;
  int fd;
  if (scheduler_file) {
    p = tide__xasprintf("%s.token", scheduler_file);
    unlink(p);
    fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
  } else {
    const char *dir = getenv("TMPDIR");
    p = tide__xasprintf("%s/tide-token-XXXXXX", dir && *dir ? dir : "/tmp");
    fd = mkstemp(p); /* 0600 */
  }
  if (fd < 0 || write(fd, token, strlen(token)) != (ssize_t)strlen(token) || close(fd) != 0) {
    int e = errno;
    if (fd >= 0)
      unlink(p);
    int rc = tide__cmd_fail(1, "cannot write the token file %s: %s", p, strerror(e));
    free(p);
    return rc;
  }
  if (strlen(p) >= sizeof cfg->auth.token_file) {
    unlink(p);
    free(p);
    return tide__cmd_fail(2, "token file path too long");
  }
  snprintf(cfg->auth.token_file, sizeof cfg->auth.token_file, "%s", p);
  setenv("TIDE_AUTH__TOKEN_FILE", p, 1);
  *path = p;
  return 0;
}
