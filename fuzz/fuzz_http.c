/* Fuzz target: the HTTP router without a socket. The input is a request as
 * it arrives ("METHOD TARGET HTTP/1.1", header lines, an empty line, the
 * body); the harness takes the method, target, Host, Origin and
 * Content-Type the way libmicrohttpd hands them over, runs the cross-site
 * guard (src/http/guard.c) and, when it lets the request through, the
 * dispatcher (src/http/api.c) on a scheduler with two workers whose
 * sending layer is a sink, as src/http/server.c does. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include "common/log.h"
#include "common/util.h"
#include "http/internal.h"

static void on_reply(void *rctx, int status, const char *ctype, char *body, size_t len)
{
  int *answered = rctx;
  (*answered)++;
  if (status < 100 || status > 599)
    abort();
  free(body);
}

/* The value of header name in the header block [p, end), NUL-terminated
 * into buf, or NULL when absent. */
static const char *header(const char *p, const char *end, const char *name, char *buf, size_t cap)
{
  size_t nl = strlen(name);
  while (p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    const char *le = eol ? eol : end;
    if ((size_t)(le - p) > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
      const char *v = p + nl + 1;
      while (v < le && *v == ' ')
        v++;
      size_t vl = (size_t)(le - v);
      if (vl && v[vl - 1] == '\r')
        vl--;
      if (vl >= cap || memchr(v, '\0', vl))
        return NULL;
      memcpy(buf, v, vl);
      buf[vl] = '\0';
      return buf;
    }
    p = eol ? eol + 1 : end;
  }
  return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *in = (const char *)data, *end = in + size;
  const char *hdr_end = memmem(in, size, "\r\n\r\n", 4);
  const char *body = hdr_end ? hdr_end + 4 : end;
  const char *head_end = hdr_end ? hdr_end : end;
  const char *eol = memchr(in, '\n', (size_t)(head_end - in));
  const char *line_end = eol ? eol : head_end;
  /* request line: METHOD SP TARGET [SP VERSION] */
  const char *sp1 = memchr(in, ' ', (size_t)(line_end - in));
  if (!sp1)
    return 0;
  const char *t = sp1 + 1;
  const char *sp2 = memchr(t, ' ', (size_t)(line_end - t));
  const char *t_end = sp2 ? sp2 : line_end;
  if (t_end > t && t_end[-1] == '\r')
    t_end--;
  if (memchr(in, '\0', (size_t)(t_end - in)))
    return 0; /* libmicrohttpd never hands over a NUL in these */
  tide__log_init("fuzz", TIDE_LOG_NONE);
  char *method = tide__xstrndup(in, (size_t)(sp1 - in));
  char *target = tide__xstrndup(t, (size_t)(t_end - t));
  const char *hp = eol ? eol + 1 : head_end;
  char hbuf[256], obuf[256], cbuf[256];
  const char *host = header(hp, head_end, "Host", hbuf, sizeof hbuf);
  const char *origin = header(hp, head_end, "Origin", obuf, sizeof obuf);
  const char *ctype = header(hp, head_end, "Content-Type", cbuf, sizeof cbuf);
  size_t blen = (size_t)(end - body);
  char *b = malloc(blen ? blen : 1); /* exactly the body: no terminator to lean on */
  memcpy(b, body, blen);

  tide__fuzz_sched f;
  tide__fuzz_sched_start(&f, NULL);
  tide__api *api = f.api;

  tide__http_names names = {"127.0.0.1", "fuzzhost", "dash.example,other"};
  const char *why = NULL;
  const char *allow = tide__api_allow(target);
  int answered = 0;
  int status =
      tide__http_guard(method, allow && strstr(allow, "POST"), host, origin, ctype, &names, &why);
  if (status == 0 && !tide__asset_find(target)) {
    tide__api_dispatch_raw(api, method, target, b, blen, on_reply, &answered);
    uv_run(&f.loop, UV_RUN_NOWAIT);
  }
  tide__fuzz_sched_stop(&f);
  free(b);
  free(method);
  free(target);
  return 0;
}
