/* Logging to stderr plus a bounded ring of recent lines. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include "common/log.h"

static struct {
  pthread_mutex_t lock;
  tide__log_level level;
  tide_log_sink sink; /* NULL: stderr */
  void *sink_data;
  char role[32];
  char *ring[TIDE_LOG_RING];
  size_t head; /* next slot to write */
  size_t count;
} L = {PTHREAD_MUTEX_INITIALIZER, TIDE_LOG_INFO, NULL, NULL, "tide", {0}, 0, 0};

static const char *names[] = {"debug", "info", "warning", "error", "none"};

void tide__log_init(const char *role, tide__log_level level)
{
  pthread_mutex_lock(&L.lock);
  snprintf(L.role, sizeof L.role, "%s", role ? role : "tide");
  L.level = level;
  pthread_mutex_unlock(&L.lock);
}

void tide_log_set_level(tide_log_level_t level)
{
  pthread_mutex_lock(&L.lock);
  L.level = level;
  pthread_mutex_unlock(&L.lock);
}

void tide_log_set_sink(tide_log_sink fn, void *userdata)
{
  /* under the lock, so no line is still on its way to the old sink */
  pthread_mutex_lock(&L.lock);
  L.sink = fn;
  L.sink_data = userdata;
  pthread_mutex_unlock(&L.lock);
}

int tide__log_level_parse(const char *s)
{
  for (int i = 0; i <= TIDE_LOG_NONE; i++)
    if (strcasecmp(s, names[i]) == 0)
      return i;
  if (strcasecmp(s, "warn") == 0)
    return TIDE_LOG_WARNING;
  return -1;
}

void tide__log(tide__log_level level, const char *subsystem, const char *fmt, ...)
{
  char msg[1024], line[1200], stamp[32];
  struct timeval tv;
  struct tm tm;
  va_list ap;

  if (level < L.level || level >= TIDE_LOG_NONE)
    return;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  gettimeofday(&tv, NULL);
  localtime_r(&tv.tv_sec, &tm);
  strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
  pthread_mutex_lock(&L.lock);
  snprintf(line, sizeof line, "%s.%03d %s %s %s: %s", stamp, (int)(tv.tv_usec / 1000), L.role,
           names[level], subsystem, msg);
  if (L.sink)
    L.sink(level, line, L.sink_data);
  else
    fprintf(stderr, "%s\n", line);
  free(L.ring[L.head]);
  L.ring[L.head] = strdup(line);
  L.head = (L.head + 1) % TIDE_LOG_RING;
  if (L.count < TIDE_LOG_RING)
    L.count++;
  pthread_mutex_unlock(&L.lock);
}

char **tide__log_recent(size_t max, size_t *n)
{
  pthread_mutex_lock(&L.lock);
  size_t k = L.count < max ? L.count : max;
  char **out = calloc(k + 1, sizeof *out);
  size_t start = (L.head + TIDE_LOG_RING - k) % TIDE_LOG_RING;
  for (size_t i = 0; out && i < k; i++)
    out[i] = strdup(L.ring[(start + i) % TIDE_LOG_RING]);
  pthread_mutex_unlock(&L.lock);
  if (n)
    *n = out ? k : 0;
  return out;
}

void tide__log_free_lines(char **lines)
{
  if (!lines)
    return;
  for (char **p = lines; *p; p++)
    free(*p);
  free(lines);
}
