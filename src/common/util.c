/* Clocks, allocation, hashing. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

/* The clock hook (util.h): NULL means the system clocks. Process-wide and
 * set before any loop runs, so no lock. */
static tide__clock_fn clock_fn;
static void *clock_arg;

void tide__clock_set(tide__clock_fn fn, void *arg)
{
  clock_fn = fn;
  clock_arg = arg;
}

double tide__now(void)
{
  if (clock_fn)
    return clock_fn(clock_arg, false);
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double tide__wall(void)
{
  if (clock_fn)
    return clock_fn(clock_arg, true);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void oom(size_t n)
{
  fprintf(stderr, "tide: out of memory allocating %zu bytes\n", n);
  abort();
}

void *tide__xmalloc(size_t n)
{
  void *p = malloc(n ? n : 1);
  if (!p)
    oom(n);
  return p;
}

void *tide__xcalloc(size_t n, size_t size)
{
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p)
    oom(n * size);
  return p;
}

void *tide__xrealloc(void *p, size_t n)
{
  p = realloc(p, n ? n : 1);
  if (!p)
    oom(n);
  return p;
}

char *tide__xstrdup(const char *s)
{
  char *p = strdup(s ? s : "");
  if (!p)
    oom(strlen(s));
  return p;
}

char *tide__xstrndup(const char *s, size_t n)
{
  char *p = tide__xmalloc(n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *tide__xasprintf(const char *fmt, ...)
{
  va_list ap;
  char *s = NULL;
  va_start(ap, fmt);
  if (vasprintf(&s, fmt, ap) < 0)
    oom(0);
  va_end(ap);
  return s;
}

void tide__sha256_hex(const void *data, size_t len, char out[65])
{
  unsigned char md[32];
  unsigned int n = 0;
  EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
  for (unsigned i = 0; i < 32; i++)
    sprintf(out + 2 * i, "%02x", md[i]);
  out[64] = '\0';
}

const char *tide__outward_ipv4(void)
{
  static char out[INET_ADDRSTRLEN];
  struct ifaddrs *ifs = NULL;
  snprintf(out, sizeof out, "127.0.0.1");
  if (getifaddrs(&ifs) != 0)
    return out;
  for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK) ||
        !(i->ifa_flags & IFF_UP))
      continue;
    inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, out, sizeof out);
    break;
  }
  freeifaddrs(ifs);
  return out;
}

const char *tide__hostname(void)
{
  static char name[256];
  if (!name[0] && gethostname(name, sizeof name - 1) != 0)
    strcpy(name, "localhost");
  return name;
}
