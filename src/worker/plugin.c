/* Plugin loading with dlopen; plugins resolve tide_register from the
 * binary (linked with ENABLE_EXPORTS). */
#include <dlfcn.h>
#include <limits.h>
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
