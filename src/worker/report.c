/* A worker's task reports to the scheduler (report.h). */
#include "worker/report.h"

#include "proto/msg.h"

void tide__wk_report_outcome(tide__conn *c, const char *key, size_t klen, const char *error,
                             size_t nbytes, double start, double stop, int thread)
{
  if (!c)
    return;
  msgpack_packer *pk = tide__conn_begin(c, error ? TIDE_OP_TASK_ERRED : TIDE_OP_TASK_FINISHED, 5);
  msgpack_pack_str_with_body(pk, "key", 3);
  tide__pk_strn(pk, key, klen);
  if (error)
    tide__pk_kstr(pk, "error", error);
  else
    tide__pk_kint(pk, "nbytes", (int64_t)nbytes);
  tide__pk_knum(pk, "start", start);
  tide__pk_knum(pk, "stop", stop);
  tide__pk_kint(pk, "thread", thread);
  tide__conn_end(c);
}

void tide__wk_report_missing(tide__conn *c, const char *key, size_t klen, const char *dep,
                             size_t dlen, const char *holder)
{
  if (!c)
    return;
  msgpack_packer *pk = tide__conn_begin(c, TIDE_OP_MISSING_DATA, 3);
  msgpack_pack_str_with_body(pk, "key", 3);
  tide__pk_strn(pk, key, klen);
  msgpack_pack_str_with_body(pk, "dep", 3);
  tide__pk_strn(pk, dep, dlen);
  tide__pk_kstr(pk, "worker", holder);
  tide__conn_end(c);
}
