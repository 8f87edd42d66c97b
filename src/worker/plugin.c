/* Plugin loading with dlopen; plugins resolve tide_register from the
 * binary (linked with ENABLE_EXPORTS). */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "worker/plugin.h"
#include "worker/registry.h"

int tide__plugin_load(tide_registry *reg, const char *path, tide_error *err)
{
  /* "libx.so" in the current directory means that file, as users expect,
   * not a search of the library path (which still happens otherwise) */
  char local[PATH_MAX];
  const char *open_path = path;
  if (!strchr(path, '/') && access(path, F_OK) == 0 &&
      snprintf(local, sizeof local, "./%s", path) < (int)sizeof local)
    open_path = local;
  dlerror();
  void *h = dlopen(open_path, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *why = dlerror();
    return tide_errprintf(err, TIDE_EPLUGIN, "cannot load plugin %s: %s", path,
                          why ? why : "unknown error");
  }
  tide_plugin_init_fn init;
  *(void **)&init = dlsym(h, TIDE_PLUGIN_INIT);
  if (!init) {
    dlclose(h);
    return tide_errprintf(err, TIDE_EPLUGIN, "plugin %s has no %s", path, TIDE_PLUGIN_INIT);
  }
  size_t before = tide__registry_count(reg);
  int rc = init(reg);
  if (rc != 0) {
    /* functions it registered stay; their code must stay mapped */
    tide__registry_keep_handle(reg, h);
    return tide_errprintf(err, TIDE_EPLUGIN, "plugin %s: %s failed (%d)", path, TIDE_PLUGIN_INIT,
                          rc);
  }
  tide__registry_keep_handle(reg, h);
  tide__log(TIDE_LOG_DEBUG, "worker", "plugin %s registered %zu functions", path,
            tide__registry_count(reg) - before);
  return 0;
}

int tide__plugin_absolute(const char *path, char *out, size_t outlen, tide_error *err)
{
  /* a bare name that is no file here is a library-path search: kept as is */
  if (!strchr(path, '/') && access(path, F_OK) != 0) {
    if (snprintf(out, outlen, "%s", path) >= (int)outlen)
      return tide_errprintf(err, TIDE_EPLUGIN, "cannot load plugin %s: name too long", path);
    return 0;
  }
  char real[PATH_MAX];
  if (!realpath(path, real))
    return tide_errprintf(err, TIDE_EPLUGIN, "cannot load plugin %s: %s", path, strerror(errno));
  if (snprintf(out, outlen, "%s", real) >= (int)outlen)
    return tide_errprintf(err, TIDE_EPLUGIN, "cannot load plugin %s: path too long", path);
  return 0;
}

int tide__plugin_check(const char *path, tide_error *err)
{
  tide_registry *reg;
  int rc = tide__registry_create(&reg);
  if (rc < 0)
    return tide_errprintf(err, rc, "cannot load plugin %s: out of memory", path);
  rc = tide__plugin_load(reg, path, err);
  tide__registry_destroy(reg);
  return rc;
}
