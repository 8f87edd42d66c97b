/* Logging control for programs that embed tide: how much it logs and where
 * the lines go. By default lines at INFO and above go to stderr. */
#ifndef TIDE_LOG_H
#define TIDE_LOG_H

#include "tide/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tide_log_level_t {
  TIDE_LOG_DEBUG = 0,
  TIDE_LOG_INFO = 1,
  TIDE_LOG_WARNING = 2,
  TIDE_LOG_ERROR = 3,
  TIDE_LOG_NONE = 4, /* as a threshold: log nothing */
} tide_log_level_t;

/* Receives each line that passes the level: one event, formatted
 * "<time> <role> <level> <subsystem>: <message>", without a newline. Called
 * on whichever thread logged, one call at a time; it must not log itself. */
typedef void (*tide_log_sink)(tide_log_level_t level, const char *line, void *userdata);

/* Drop lines below level (TIDE_LOG_NONE: drop all). */
TIDE_API void tide_log_set_level(tide_log_level_t level);

/* Send lines to fn instead of stderr; fn NULL restores stderr. Once this
 * returns, the previous sink is not called again (its userdata may go). */
TIDE_API void tide_log_set_sink(tide_log_sink fn, void *userdata);

#ifdef __cplusplus
}
#endif
#endif
