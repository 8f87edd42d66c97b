/* Logging: one line per event to stderr (or the embedder's sink, see
 * tide/log.h), and a bounded ring of recent lines
 * per process that `tide logs` and /api/v1/logs gather. Thread-safe. */
#ifndef TIDE_COMMON_LOG_H
#define TIDE_COMMON_LOG_H

#include <stddef.h>

#include "tide/log.h"

/* The levels are public (tide/log.h); this is the name used inside. */
typedef tide_log_level_t tide__log_level;

/* Set the level below which lines are dropped (default INFO) and the process
 * role shown in each line ("scheduler", "worker", "cluster", ...). */
void tide__log_init(const char *role, tide__log_level level);

/* Parse "debug", "info", "warning", "error", "none"; -1 if unknown. */
int tide__log_level_parse(const char *s);

/* Log one line; subsystem names the module ("net", "sched", "adaptive"). */
void tide__log(tide__log_level level, const char *subsystem, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define tide__debug(sub, ...) tide__log(TIDE_LOG_DEBUG, sub, __VA_ARGS__)
#define tide__info(sub, ...)  tide__log(TIDE_LOG_INFO, sub, __VA_ARGS__)
#define tide__warn(sub, ...)  tide__log(TIDE_LOG_WARNING, sub, __VA_ARGS__)
#define tide__error(sub, ...) tide__log(TIDE_LOG_ERROR, sub, __VA_ARGS__)

/* Copy the recent lines (oldest first, at most `max`) into a NULL-terminated
 * array of malloc'd strings that the caller frees with tide__log_free_lines. */
char **tide__log_recent(size_t max, size_t *n);
void tide__log_free_lines(char **lines);

/* The ring keeps this many lines. */
enum { TIDE_LOG_RING = 1000 };

#endif
