/* Fuzz target: the graph loader. The input is a graph file (JSON) read by
 * the client (tide_graph_parse, src/client/graph.c). A graph the client
 * accepts is packed as the client packs it into an update-graph message,
 * decoded as the scheduler's connection decodes a frame, and every task
 * goes through the scheduler's check (src/proto/graphcheck.c): what the
 * client accepts, the scheduler must accept too, or the run would fail
 * with a protocol error instead of a clear message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "client/graph.h"
#include "proto/graphcheck.h"
#include "proto/msg.h"
#include "tide/client.h"

/* As long as the client's own token (src/client/client.c). */
static const char token[] = "0123456789abcdef0123456";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  tide_graph *g = NULL;
  tide_error err;
  if (tide_graph_parse((const char *)data, size, "fuzz.json", &g, &err) != 0)
    return 0;
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 1); /* a batch of one message */
  msgpack_pack_map(&pk, 5);
  tide__pk_kstr(&pk, "op", "update-graph");
  tide__pk_kint(&pk, "id", 1);
  tide__pk_str(&pk, "tasks");
  tide__graph_pack_tasks(g, token, &pk);
  tide__pk_str(&pk, "wants");
  msgpack_pack_array(&pk, 0);
  tide__pk_kbool(&pk, "progress", false);

  msgpack_zone zone;
  msgpack_zone_init(&zone, 4096);
  msgpack_object_array msgs;
  if (tide__batch_decode(sb.data, sb.size, &zone, &msgs, &err) != 0) {
    fprintf(stderr, "an accepted graph does not decode on the scheduler: %s\n", err.text);
    abort();
  }
  const msgpack_object_array *tasks = tide__mp_array(&msgs.ptr[0], "tasks");
  if (!tasks || tasks->size != tide_graph_ntasks(g))
    abort();
  for (uint32_t i = 0; i < tasks->size; i++)
    if (tide__wire_task_check(&tasks->ptr[i], &err) != 0) {
      fprintf(stderr, "an accepted graph fails the scheduler's check: %s\n", err.text);
      abort();
    }
  msgpack_zone_destroy(&zone);
  msgpack_sbuffer_destroy(&sb);
  tide_graph_destroy(g);
  return 0;
}
