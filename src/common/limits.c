/* The limits table (limits.h): its consistency rules and the process's copy. */
#include "common/limits.h"

static tide__limits g_limits = TIDE__LIMITS_DEFAULT;

int64_t tide__limits_result_size(const tide__limits *l)
{
  return l->result_size ? l->result_size : l->frame_size - TIDE_LIMITS_ENVELOPE;
}

int tide__limits_check(const tide__limits *l, tide_error *err)
{
  if (l->frame_size < 64 * 1024 || l->frame_size > (int64_t)UINT32_MAX)
    return tide_errprintf(err, TIDE_EUSAGE,
                          "limits.frame-size: must be between 64KiB and 4GiB - 1, got %lld",
                          (long long)l->frame_size);
  if (l->result_size < 0 || tide__limits_result_size(l) > l->frame_size - TIDE_LIMITS_ENVELOPE)
    return tide_errprintf(err, TIDE_EUSAGE,
                          "limits.result-size: %lld does not fit a frame of %lld bytes with the "
                          "%d bytes of message around it (at most %lld)",
                          (long long)l->result_size, (long long)l->frame_size, TIDE_LIMITS_ENVELOPE,
                          (long long)(l->frame_size - TIDE_LIMITS_ENVELOPE));
  if (l->handshake_frame < 1024 || l->handshake_frame > l->frame_size)
    return tide_errprintf(err, TIDE_EUSAGE,
                          "limits.handshake-frame: must be between 1KiB and limits.frame-size "
                          "(%lld), got %lld",
                          (long long)l->frame_size, (long long)l->handshake_frame);
  if (l->frame_memory < l->frame_size)
    return tide_errprintf(err, TIDE_EUSAGE,
                          "limits.frame-memory: must hold at least one frame (%lld), got %lld",
                          (long long)l->frame_size, (long long)l->frame_memory);
  if (l->handshake_memory < l->handshake_frame)
    return tide_errprintf(err, TIDE_EUSAGE,
                          "limits.handshake-memory: must hold at least one handshake frame "
                          "(%lld), got %lld",
                          (long long)l->handshake_frame, (long long)l->handshake_memory);
  if (l->key_length < 1 || l->key_length > TIDE_LIMITS_KEY_CEILING)
    return tide_errprintf(err, TIDE_EUSAGE, "limits.key-length: must be between 1 and %d, got %d",
                          TIDE_LIMITS_KEY_CEILING, l->key_length);
  if (l->arg_depth < 1 || l->arg_depth > TIDE_LIMITS_DEPTH_CEILING)
    return tide_errprintf(err, TIDE_EUSAGE,
                          "limits.arg-depth: must be between 1 and %d (what msgpack decodes), "
                          "got %d",
                          TIDE_LIMITS_DEPTH_CEILING, l->arg_depth);
  if (l->graph_tasks < 1 || l->connections < 1 || l->connections_per_source < 1 ||
      l->http_connections < 1 || l->http_connections_per_source < 1)
    return tide_errprintf(err, TIDE_EUSAGE, "limits: counts must be at least 1");
  if (l->handshake_timeout <= 0 || l->idle_timeout <= 0 || l->http_timeout < 1)
    return tide_errprintf(err, TIDE_EUSAGE,
                          "limits: timeouts must be positive (limits.http-timeout at least 1s)");
  return 0;
}

void tide__limits_set(const tide__limits *l)
{
  tide__limits d = TIDE__LIMITS_DEFAULT;
  g_limits = l ? *l : d;
}

const tide__limits *tide__limits_get(void)
{
  return &g_limits;
}
