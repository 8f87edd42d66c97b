/* The --tls-* flags every long-running command and client shares. */
#include "cmd/cmd.h"
#include "common/config.h"
#include "net/tls.h"

int tide__cmd_tls(tide__config *cfg, const char *ca_file, const char *cert, const char *key)
{
  tide_error err = {{0}};
  const char *keys[3] = {"tls.ca-file", "tls.cert", "tls.key"};
  const char *flags[3] = {ca_file, cert, key};
  for (int i = 0; i < 3; i++)
    if (flags[i] && tide__config_set(cfg, keys[i], flags[i], &err) != 0)
      return tide__cmd_fail(2, "--tls-%s: %s", keys[i] + 4, err.text);
  tide__tls_files f = {cfg->tls.ca_file, cfg->tls.cert, cfg->tls.key};
  if (tide__tls_configure(&f, &err) != 0)
    return tide__cmd_fail(2, "%s", err.text);
  return 0;
}
