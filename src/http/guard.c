/* The request checks that keep a web page the user opens from driving the
 * dashboard (docs/api.md "Cross-site requests"): the Host header must name
 * this dashboard (DNS rebinding sends the attacker's name), an Origin must
 * be this dashboard's own, and a POST must say application/json, which a
 * cross-site form or text/plain request cannot send without a CORS
 * preflight the server never grants. Pure: no I/O, any thread. */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http/internal.h"

/* The host part of "name", "name:port", "[v6]" or "[v6]:port" into buf. */
static bool host_part(const char *hostport, char *buf, size_t len)
{
  const char *end;
  if (hostport[0] == '[') {
    end = strchr(hostport, ']');
    if (!end)
      return false;
    hostport++;
  } else {
    end = strchr(hostport, ':');
    if (!end)
      end = hostport + strlen(hostport);
  }
  size_t n = (size_t)(end - hostport);
  if (n == 0 || n >= len)
    return false;
  memcpy(buf, hostport, n);
  buf[n] = '\0';
  return true;
}

static bool is_ip_literal(const char *h)
{
  unsigned char addr[16];
  return inet_pton(AF_INET, h, addr) == 1 || inet_pton(AF_INET6, h, addr) == 1;
}

/* names: comma-separated, spaces allowed around items. */
static bool in_list(const char *h, const char *names)
{
  size_t hl = strlen(h);
  for (const char *p = names; p && *p;) {
    while (*p == ' ' || *p == ',')
      p++;
    const char *e = p;
    while (*e && *e != ',')
      e++;
    const char *t = e;
    while (t > p && t[-1] == ' ')
      t--;
    if ((size_t)(t - p) == hl && hl && strncasecmp(p, h, hl) == 0)
      return true;
    p = e;
  }
  return false;
}

bool tide__http_host_ok(const char *host_header, const tide__http_names *n)
{
  char h[256];
  if (!host_header)
    return true; /* HTTP/1.0 without Host: not a browser's request */
  if (!host_part(host_header, h, sizeof h))
    return false;
  /* an address literal cannot be rebound to another server by DNS */
  if (is_ip_literal(h) || strcasecmp(h, "localhost") == 0)
    return true;
  return (n->bind && strcasecmp(h, n->bind) == 0) ||
         (n->hostname && strcasecmp(h, n->hostname) == 0) || in_list(h, n->extra);
}

int tide__http_guard(const char *method, bool post_route, const char *host, const char *origin,
                     const char *ctype, const tide__http_names *n, const char **why)
{
  if (!tide__http_host_ok(host, n)) {
    *why = "the Host header does not name this dashboard (set dashboard.hosts to allow a name)";
    return 403;
  }
  if (origin) {
    /* same origin: scheme "http://" and exactly the Host the request went to */
    const char *hp = strncasecmp(origin, "http://", 7) == 0    ? origin + 7
                     : strncasecmp(origin, "https://", 8) == 0 ? origin + 8
                                                               : NULL;
    if (!hp || !host || strcasecmp(hp, host) != 0) {
      *why = "cross-origin request refused: the Origin is not this dashboard";
      return 403;
    }
  }
  if (post_route && strcmp(method, "POST") == 0) {
    size_t l = strlen("application/json");
    if (!ctype || strncasecmp(ctype, "application/json", l) != 0 ||
        (ctype[l] && ctype[l] != ';' && ctype[l] != ' ')) {
      *why = "POST needs Content-Type: application/json";
      return 415;
    }
  }
  return 0;
}
