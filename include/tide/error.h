/* Error codes and the error-detail buffer shared by every tide API. */
#ifndef TIDE_ERROR_H
#define TIDE_ERROR_H

#include "tide/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Functions return 0 on success or a negative code: a negative errno
 * (libuv codes pass through unchanged) or one of these project codes. */
typedef enum tide_errc {
  TIDE_EPROTO = -20001,    /* malformed frame or message, bad handshake */
  TIDE_EGRAPH = -20002,    /* a task graph is invalid */
  TIDE_ECONFIG = -20003,   /* bad config key or value */
  TIDE_ETASK = -20004,     /* a task erred */
  TIDE_ETIMEOUT = -20005,  /* an operation timed out */
  TIDE_ECLOSED = -20006,   /* the peer (scheduler, worker) went away */
  TIDE_ENOTFOUND = -20007, /* unknown key, dataset, worker or route */
  TIDE_EUSAGE = -20008,    /* bad argument or flag */
  TIDE_ENOSCALE = -20009,  /* the cluster's backend cannot scale */
  TIDE_EBACKEND = -20010,  /* the resource manager failed */
  TIDE_EPLUGIN = -20011,   /* plugin missing or without tide_plugin_init */
  TIDE_EREFUSED = -20012,  /* the scheduler refused the request */
  TIDE_EAUTH = -20013,     /* authentication failed (token missing or wrong) */
} tide_errc;

/* Detail for a failed call: one line naming what was wrong. */
typedef struct tide_error {
  char text[512];
} tide_error;

/* Human text for a code (project codes and negative errno values). */
TIDE_API const char *tide_strerror(int code);

/* Fill err (may be NULL) with a formatted message and return code, so a
 * caller can write `return tide_errprintf(err, TIDE_EUSAGE, "...")`. */
TIDE_API int tide_errprintf(tide_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#ifdef __cplusplus
}
#endif
#endif
