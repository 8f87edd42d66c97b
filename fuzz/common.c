/* The fuzz targets' shared set-up (common.h). */
#include "common.h"

#include <stdlib.h>

#include "common/log.h"
#include "proto/msg.h"

bool tide__fuzz_messages(const uint8_t *data, size_t size, msgpack_zone *zone,
                         msgpack_object_array *msgs)
{
  if (size < 2)
    return false;
  tide__log_init("fuzz", TIDE_LOG_NONE); /* quiet: millions of runs */
  msgpack_zone_init(zone, 4096);
  tide_error err;
  if (tide__batch_decode((const char *)data + 1, size - 1, zone, msgs, &err) != 0) {
    msgpack_zone_destroy(zone);
    return false;
  }
  return true;
}

static msgpack_sbuffer sink_sb;
static msgpack_packer sink_pk;
static void (*sink_on_close)(void *conn);

static msgpack_packer *sink_begin(void *conn, tide__op op, uint32_t n)
{
  msgpack_sbuffer_clear(&sink_sb);
  msgpack_packer_init(&sink_pk, &sink_sb, msgpack_sbuffer_write);
  msgpack_pack_map(&sink_pk, n + 1);
  tide__pk_kstr(&sink_pk, "op", tide__op_name(op));
  return &sink_pk;
}

static void sink_end(void *conn)
{
  size_t off = 0;
  msgpack_zone z;
  msgpack_object o;
  msgpack_zone_init(&z, 1024);
  /* what the scheduler sends must decode as one whole map */
  if (msgpack_unpack(sink_sb.data, sink_sb.size, &off, &z, &o) != MSGPACK_UNPACK_SUCCESS ||
      off != sink_sb.size || o.type != MSGPACK_OBJECT_MAP)
    abort();
  msgpack_zone_destroy(&z);
}

static void sink_close(void *conn, const char *reason)
{
  if (sink_on_close)
    sink_on_close(conn);
}

static const tide__sched_tx sink_tx = {sink_begin, sink_end, sink_close};

void tide__fuzz_sched_start(tide__fuzz_sched *f, void (*on_close)(void *conn))
{
  tide_error err;
  uv_loop_init(&f->loop);
  tide__config_defaults(&f->cfg);
  if (tide__sched_create(&f->loop, &f->cfg, &f->s, &err) != 0)
    abort();
  sink_on_close = on_close;
  tide__sched_set_tx(f->s, &sink_tx);
  msgpack_sbuffer_init(&sink_sb);
  tide__api_create(f->s, NULL, NULL, &f->api);
  tide__sw_add(f->s, (void *)1, "w1", "tcp://127.0.0.1:1", "h1", "j1", 2, 1 << 30, NULL, 0, NULL);
  tide__sw_add(f->s, (void *)2, "w2", "tcp://127.0.0.1:2", "h2", "j2", 1, 0, NULL, 0, NULL);
}

void tide__fuzz_sched_stop(tide__fuzz_sched *f)
{
  tide__sched_close(f->s, false);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  tide__sched_destroy(f->s);
  tide__api_destroy(f->api);
  uv_loop_close(&f->loop);
  msgpack_sbuffer_destroy(&sink_sb);
  sink_on_close = NULL;
}
