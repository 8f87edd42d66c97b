/* tide_strerror and tide_errprintf. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "tide/error.h"

const char *tide_strerror(int code)
{
  switch (code) {
  case 0: return "success";
  case TIDE_EPROTO: return "protocol error";
  case TIDE_EGRAPH: return "invalid task graph";
  case TIDE_ECONFIG: return "invalid configuration";
  case TIDE_ETASK: return "task erred";
  case TIDE_ETIMEOUT: return "timed out";
  case TIDE_ECLOSED: return "connection closed";
  case TIDE_ENOTFOUND: return "not found";
  case TIDE_EUSAGE: return "bad usage";
  case TIDE_ENOSCALE: return "backend cannot scale";
  case TIDE_EBACKEND: return "resource manager failed";
  case TIDE_EPLUGIN: return "plugin error";
  case TIDE_EREFUSED: return "request refused";
  case TIDE_EAUTH: return "authentication failed";
  default: break;
  }
  if (code < 0 && code > -4096)
    return uv_strerror(code);
  return "unknown error";
}

int tide_errprintf(tide_error *err, int code, const char *fmt, ...)
{
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->text, sizeof err->text, fmt, ap);
    va_end(ap);
  }
  return code;
}
