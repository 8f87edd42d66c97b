/* Fuzz target: the YAML/environment configuration (src/common/config.c).
 * The input is a config file, then optionally a NUL byte and environment
 * lines ("TIDE_SCHEDULER__BANDWIDTH=1e9", one a line). The file is handed
 * over as a memory file (memfd), so nothing touches the disk. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/config.h"

enum { FUZZ_ENV_MAX = 64 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *in = (const char *)data;
  const char *nul = memchr(in, '\0', size);
  size_t ylen = nul ? (size_t)(nul - in) : size;
  int fd = memfd_create("tide-fuzz-config", 0);
  if (fd < 0)
    abort();
  if (ylen && write(fd, in, ylen) != (ssize_t)ylen)
    abort();
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);

  /* environment lines after the NUL, copied so each ends with a NUL */
  char *env = NULL;
  char *envp[FUZZ_ENV_MAX + 1];
  size_t n = 0;
  if (nul) {
    size_t elen = size - ylen - 1;
    env = malloc(elen + 1);
    memcpy(env, nul + 1, elen);
    env[elen] = '\0';
    for (char *p = env; n < FUZZ_ENV_MAX && p < env + elen;) {
      char *nl = strchr(p, '\n');
      if (nl)
        *nl = '\0';
      envp[n++] = p;
      p = nl ? nl + 1 : env + elen;
    }
  }
  envp[n] = NULL;

  tide__config cfg;
  tide_error err;
  (void)tide__config_load(&cfg, path, envp, &err);
  free(env);
  close(fd);
  return 0;
}
