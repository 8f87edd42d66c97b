/* Plugin loading: `tide worker --preload lib.so`. */
#ifndef TIDE_WORKER_PLUGIN_H
#define TIDE_WORKER_PLUGIN_H

#include "tide/error.h"
#include "tide/task.h"

/* dlopen path (RTLD_NOW | RTLD_LOCAL; a bare name of a file in the current
 * directory opens that file, else the library path is searched), call its tide_plugin_init with reg,
 * keep the handle in reg. Returns 0, or TIDE_EPLUGIN with err saying
 * "cannot load plugin PATH: DLERROR", "plugin PATH has no
 * tide_plugin_init" or "plugin PATH: tide_plugin_init failed (RC)". */
int tide__plugin_load(tide_registry *reg, const char *path, tide_error *err);

/* The path workers elsewhere can open (PATH_MAX-sized out): a path with
 * '/' or a file in the current directory made absolute (realpath); any
 * other bare name is kept for the library-path search. TIDE_EPLUGIN,
 * "cannot load plugin PATH: WHY", when the file does not exist. */
int tide__plugin_absolute(const char *path, char *out, size_t outlen, tide_error *err);

/* Load path into a scratch registry and unload it: does it load and
 * register, as a worker will? Same errors as tide__plugin_load. */
int tide__plugin_check(const char *path, tide_error *err);

#endif
