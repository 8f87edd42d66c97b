/* Plugin loading with dlopen; plugins resolve tide_register from the
 * binary (linked with ENABLE_EXPORTS). */
#include <dlfcn.h>

#include "common/log.h"
#include "worker/plugin.h"
#include "worker/registry.h"

int tide__plugin_load(tide_registry *reg, const char *path, tide_error *err)
{
  dlerror();
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
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
