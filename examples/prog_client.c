/* Example: the C client library. Connects through a scheduler file, builds
 * a small graph from JSON text, computes it, reads the msgpack results, and
 * publishes them. Usage: prog_client SCHEDULER_FILE [N] */
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tide/client.h"

int main(int argc, char **argv)
{
  tide_client *c = NULL;
  tide_graph *g = NULL;
  tide_error err;
  char json[512], *values = NULL;
  size_t len = 0;
  int n = argc > 2 ? atoi(argv[2]) : 20, rc = 1;

  if (argc < 2) {
    fprintf(stderr, "usage: prog_client SCHEDULER_FILE [N]\n");
    return 2;
  }
  /* square = n * n through tide.add of n copies; total = square + inc(n) */
  snprintf(json, sizeof json,
           "{\"tasks\": {\"n\": {\"fn\": \"tide.identity\", \"args\": [%d]},"
           " \"inc\": {\"fn\": \"tide.inc\", \"args\": [{\"ref\": \"n\"}]},"
           " \"sum\": {\"fn\": \"tide.add\", \"args\": [{\"ref\": \"n\"}, {\"ref\": \"inc\"}]}},"
           " \"outputs\": [\"sum\", \"inc\"]}",
           n);
  if (tide_graph_parse(json, strlen(json), "example", &g, &err) < 0 ||
      tide_client_connect(NULL, argv[1], 10, &c, &err) < 0 ||
      tide_client_compute(c, g, 30, NULL, NULL, &values, &len, &err) < 0) {
    fprintf(stderr, "prog_client: %s\n", err.text);
    goto out;
  }
  /* values is a packed msgpack map {"sum": 2n+1, "inc": n+1} */
  msgpack_unpacked u;
  size_t off = 0;
  msgpack_unpacked_init(&u);
  if (msgpack_unpack_next(&u, values, len, &off) == MSGPACK_UNPACK_SUCCESS &&
      u.data.type == MSGPACK_OBJECT_MAP) {
    for (uint32_t i = 0; i < u.data.via.map.size; i++) {
      msgpack_object_kv *kv = &u.data.via.map.ptr[i];
      printf("%.*s=%lld\n", (int)kv->key.via.str.size, kv->key.via.str.ptr,
             (long long)kv->val.via.i64);
    }
    rc = 0;
  }
  msgpack_unpacked_destroy(&u);
  if (rc == 0 && tide_client_publish(c, "prog_client", &err) < 0) {
    fprintf(stderr, "prog_client: %s\n", err.text);
    rc = 1;
  }
out:
  free(values);
  tide_client_destroy(c);
  tide_graph_destroy(g);
  return rc;
}
