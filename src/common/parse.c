/* Durations, sizes, counts and addresses. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/parse.h"

static bool is_inf(const char *s)
{
  return strcasecmp(s, "inf") == 0 || strcasecmp(s, ".inf") == 0 || strcasecmp(s, "infinity") == 0;
}

/* Leading decimal number of s; *end points past it and any blanks. Units
 * are matched case-insensitively, as Dask does ("1mb", "2H"). */
static int leading_number(const char *s, double *v, const char **end)
{
  char *e;
  errno = 0;
  while (isspace((unsigned char)*s))
    s++;
  if (!*s || (!isdigit((unsigned char)*s) && *s != '.' && *s != '-' && *s != '+'))
    return -1;
  *v = strtod(s, &e);
  if (e == s || errno || !isfinite(*v))
    return -1;
  /* strtod also takes hex ("0x10"): only plain decimal notation here. */
  for (const char *q = s; q < e; q++)
    if (!isdigit((unsigned char)*q) && !strchr("+-.eE", *q))
      return -1;
  while (isspace((unsigned char)*e))
    e++;
  *end = e;
  return 0;
}

int tide__parse_duration(const char *s, bool allow_inf, double *out, tide_error *err)
{
  static const struct {
    const char *unit;
    double mult;
  } units[] = {
      {"", 1},         {"s", 1},     {"sec", 1},      {"seconds", 1},  {"ms", 1e-3},
      {"us", 1e-6},    {"m", 60},    {"min", 60},     {"minutes", 60}, {"h", 3600},
      {"hours", 3600}, {"d", 86400}, {"days", 86400},
  };
  const char *end;
  double v;

  if (!s)
    return tide_errprintf(err, TIDE_EUSAGE, "missing duration");
  if (allow_inf && is_inf(s)) {
    *out = INFINITY;
    return 0;
  }
  if (leading_number(s, &v, &end) < 0 || v < 0)
    return tide_errprintf(err, TIDE_EUSAGE, "bad duration \"%s\"", s);
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
    if (strcasecmp(end, units[i].unit) == 0) {
      *out = v * units[i].mult;
      return 0;
    }
  }
  return tide_errprintf(err, TIDE_EUSAGE, "bad duration \"%s\" (use 250ms, 1.5s, 5m, 1h, 2d)", s);
}

/* Up to 3 ':'-separated unsigned decimal fields of s (no sign, no blanks,
 * none empty) into f; returns how many, or -1. */
static int colon_fields(const char *s, long f[3])
{
  int n = 0;
  for (;;) {
    char *e;
    if (n == 3 || !isdigit((unsigned char)*s))
      return -1;
    errno = 0;
    f[n++] = strtol(s, &e, 10);
    if (errno || e - s > 9) /* at most 9 digits: no overflow anywhere below */
      return -1;
    if (*e == '\0')
      return n;
    if (*e != ':')
      return -1;
    s = e + 1;
  }
}

int tide__parse_walltime(const char *s, double *out, tide_error *err)
{
  const char *dash, *p;
  long days = 0, f[3];
  double secs;
  int n;

  if (!s)
    return tide_errprintf(err, TIDE_EUSAGE, "missing walltime");
  dash = strchr(s, '-');
  if (!dash && !strchr(s, ':')) {
    /* a bare integer is minutes (sbatch -t MM); a duration must end in its
     * unit, since a unit-less one would mean seconds there */
    size_t len = strlen(s);
    if (len > 0 && strspn(s, "0123456789") == len) {
      if (colon_fields(s, f) != 1)
        goto bad;
      *out = f[0] * 60.0;
      return 0;
    }
    if (len == 0 || !isalpha((unsigned char)s[len - 1]) ||
        tide__parse_duration(s, false, out, NULL) < 0)
      goto bad;
    return 0;
  }
  p = s;
  if (dash) {
    /* D-HH, D-HH:MM, D-HH:MM:SS */
    size_t dlen = (size_t)(dash - s);
    if (dlen == 0 || dlen > 9 || strspn(s, "0123456789") != dlen)
      goto bad;
    days = strtol(s, NULL, 10);
    p = dash + 1;
    n = colon_fields(p, f);
    if (n < 1 || f[0] >= 24 || (n > 1 && f[1] >= 60) || (n > 2 && f[2] >= 60))
      goto bad;
    secs = f[0] * 3600.0 + (n > 1 ? f[1] * 60.0 : 0) + (n > 2 ? f[2] : 0);
  } else {
    /* MM:SS or HH:MM:SS */
    n = colon_fields(p, f);
    if (n == 2 && f[1] < 60)
      secs = f[0] * 60.0 + f[1];
    else if (n == 3 && f[1] < 60 && f[2] < 60)
      secs = f[0] * 3600.0 + f[1] * 60.0 + f[2];
    else
      goto bad;
  }
  *out = days * 86400.0 + secs;
  return 0;
bad:
  return tide_errprintf(err, TIDE_EUSAGE, "bad walltime \"%s\" (use " TIDE__WALLTIME_FORMS ")", s);
}

int tide__parse_size(const char *s, int64_t *out, tide_error *err)
{
  static const struct {
    const char *unit;
    double mult;
  } units[] = {
      {"", 1},
      {"B", 1},
      {"k", 1e3},
      {"kB", 1e3},
      {"K", 1e3},
      {"KB", 1e3},
      {"M", 1e6},
      {"MB", 1e6},
      {"G", 1e9},
      {"GB", 1e9},
      {"T", 1e12},
      {"TB", 1e12},
      {"Ki", 1024.0},
      {"KiB", 1024.0},
      {"Mi", 1048576.0},
      {"MiB", 1048576.0},
      {"Gi", 1073741824.0},
      {"GiB", 1073741824.0},
      {"Ti", 1099511627776.0},
      {"TiB", 1099511627776.0},
  };
  const char *end;
  double v;

  if (!s)
    return tide_errprintf(err, TIDE_EUSAGE, "missing size");
  if (leading_number(s, &v, &end) < 0 || v < 0)
    return tide_errprintf(err, TIDE_EUSAGE, "bad size \"%s\"", s);
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
    if (strcasecmp(end, units[i].unit) == 0) {
      double b = v * units[i].mult;
      if (b > 9.2e18)
        break;
      *out = (int64_t)llround(b);
      return 0;
    }
  }
  return tide_errprintf(err, TIDE_EUSAGE, "bad size \"%s\" (use 512MiB, 2GB, 1.5GiB)", s);
}

int tide__parse_count(const char *s, bool allow_inf, double *out, tide_error *err)
{
  char *e;
  long long v;

  if (!s)
    return tide_errprintf(err, TIDE_EUSAGE, "missing count");
  if (allow_inf && is_inf(s)) {
    *out = INFINITY;
    return 0;
  }
  errno = 0;
  v = strtoll(s, &e, 10);
  if (e == s || *e || errno || v < 0)
    return tide_errprintf(err, TIDE_EUSAGE, "bad count \"%s\" (a non-negative integer%s)", s,
                          allow_inf ? " or inf" : "");
  *out = (double)v;
  return 0;
}

int tide__parse_number(const char *s, double *out, tide_error *err)
{
  char *e;
  double v;

  if (!s)
    return tide_errprintf(err, TIDE_EUSAGE, "missing number");
  errno = 0;
  v = strtod(s, &e);
  if (e == s || *e || errno || !isfinite(v))
    return tide_errprintf(err, TIDE_EUSAGE, "bad number \"%s\"", s);
  *out = v;
  return 0;
}

static bool is_wildcard(const char *host)
{
  return strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 || !*host;
}

static void format_address(char *out, size_t len, const char *scheme, const char *host, int port)
{
  bool v6 = strchr(host, ':') != NULL;
  snprintf(out, len, "%s://%s%s%s:%d", scheme, v6 ? "[" : "", host, v6 ? "]" : "", port);
}

int tide__contact_address(const char *bound, const char *contact, const char *wildcard_host,
                          char *out, size_t len, tide_error *err)
{
  char host[256], chost[256];
  int port, cport;
  int rc = tide__parse_address(bound, host, sizeof host, &port, err);
  if (rc < 0)
    return rc;
  /* the scheme is what the server speaks: a TLS server is dialled with tls:// */
  const char *scheme = strncmp(bound, "tls://", 6) == 0 ? "tls" : "tcp";
  if (contact && *contact) {
    const char *h = contact;
    if (strncmp(contact, "tcp://", 6) == 0 || strncmp(contact, "tls://", 6) == 0) {
      if (strncmp(contact, scheme, 3) != 0)
        return tide_errprintf(err, TIDE_EUSAGE, "contact address \"%s\": this server speaks %s://",
                              contact, scheme);
      h = contact + 6;
    }
    const char *colon = strrchr(h, ':');
    /* a bare host (an IPv6 one has ':' but no "]:") keeps the bound port */
    bool bare = !colon || (strchr(h, ':') != colon && !strstr(h, "]:"));
    if (bare) {
      if (!*h || strstr(h, "://") || strlen(h) >= sizeof chost)
        return tide_errprintf(err, TIDE_EUSAGE, "bad contact address \"%s\"", contact);
      snprintf(chost, sizeof chost, "%s", h);
      cport = port;
    } else if (tide__parse_address(contact, chost, sizeof chost, &cport, err) < 0) {
      return tide_errprintf(err, TIDE_EUSAGE, "bad contact address \"%s\" (use tcp://HOST:PORT)",
                            contact);
    }
    if (is_wildcard(chost) || cport == 0)
      return tide_errprintf(err, TIDE_EUSAGE,
                            "contact address \"%s\": give a host and port others can dial",
                            contact);
    format_address(out, len, scheme, chost, cport);
    return 0;
  }
  format_address(out, len, scheme, is_wildcard(host) && wildcard_host ? wildcard_host : host, port);
  return 0;
}

int tide__parse_address(const char *s, char *host, size_t hostlen, int *port, tide_error *err)
{
  const char *p = s, *colon;
  char *e;
  long v;

  if (!s || !*s)
    return tide_errprintf(err, TIDE_EUSAGE, "missing address");
  if (strncmp(p, "tcp://", 6) == 0 || strncmp(p, "tls://", 6) == 0)
    p += 6;
  else if (strstr(p, "://"))
    return tide_errprintf(err, TIDE_EUSAGE, "bad address \"%s\" (use tcp:// or tls://)", s);
  colon = strrchr(p, ':');
  if (!colon || colon == p || (size_t)(colon - p) >= hostlen)
    return tide_errprintf(err, TIDE_EUSAGE, "bad address \"%s\" (use tcp://HOST:PORT)", s);
  v = strtol(colon + 1, &e, 10);
  if (e == colon + 1 || *e || v < 0 || v > 65535)
    return tide_errprintf(err, TIDE_EUSAGE, "bad port in address \"%s\"", s);
  memcpy(host, p, (size_t)(colon - p));
  host[colon - p] = '\0';
  /* [::1]:8786 */
  if (host[0] == '[') {
    size_t n = strlen(host);
    if (n >= 2 && host[n - 1] == ']') {
      memmove(host, host + 1, n - 2);
      host[n - 2] = '\0';
    }
  }
  *port = (int)v;
  return 0;
}

void tide__format_size(int64_t bytes, char *buf, size_t len)
{
  static const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = (double)bytes;
  int i = 0;
  while (v >= 1024 && i < 4) {
    v /= 1024;
    i++;
  }
  snprintf(buf, len, "%.2f %s", v, u[i]);
}
