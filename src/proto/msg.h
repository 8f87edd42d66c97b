/* Messages: a message is a msgpack map with a string "op" and named fields
 * (docs/protocol.md lists every op). This module holds the pure codecs:
 * the op table, building a batch, decoding a batch, and typed getters. */
#ifndef TIDE_PROTO_MSG_H
#define TIDE_PROTO_MSG_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tide/error.h"

/* Every op of docs/protocol.md; handlers are static tables indexed by this. */
typedef enum tide__op {
  TIDE_OP_UNKNOWN = 0,
  TIDE_OP_HELLO,
  TIDE_OP_ERROR,
  /* worker -> scheduler */
  TIDE_OP_HEARTBEAT,
  TIDE_OP_TASK_FINISHED,
  TIDE_OP_TASK_ERRED,
  TIDE_OP_ADD_KEYS,
  TIDE_OP_MISSING_DATA,
  TIDE_OP_RETIRE_ME,
  TIDE_OP_RELEASED,
  /* scheduler -> worker */
  TIDE_OP_COMPUTE_TASK,
  TIDE_OP_FREE_KEYS,
  TIDE_OP_ACQUIRE_REPLICAS,
  TIDE_OP_CLOSE,
  TIDE_OP_GET_LOGS,
  /* peer <-> peer (data), also scheduler -> worker for gather */
  TIDE_OP_GET_DATA,
  TIDE_OP_DATA,
  /* client <-> scheduler */
  TIDE_OP_UPDATE_GRAPH,
  TIDE_OP_GRAPH_ACCEPTED,
  TIDE_OP_KEY_DONE,
  TIDE_OP_GATHER,
  TIDE_OP_RELEASE_KEYS,
  TIDE_OP_PUBLISH,
  TIDE_OP_UNPUBLISH,
  TIDE_OP_GET_DATASET,
  TIDE_OP_LIST_DATASETS,
  TIDE_OP_REPLY,
  TIDE_OP_API,
  /* authentication inside the handshake (docs/security.md) */
  TIDE_OP_CHALLENGE,
  TIDE_OP_AUTH,
  TIDE_OP_AUTH_OK,
  TIDE_OP__COUNT
} tide__op;

/* "compute-task" -> TIDE_OP_COMPUTE_TASK; UNKNOWN when not in the table. */
tide__op tide__op_parse(const char *s, size_t len);
const char *tide__op_name(tide__op op);

/* A batch being built: messages packed back to back into sbuf; count is the
 * number of complete messages. tide__batch_frame() produces the wire frame. */
typedef struct tide__batch {
  msgpack_sbuffer sbuf;
  msgpack_packer pk;
  uint32_t count;
} tide__batch;

void tide__batch_init(tide__batch *b);
void tide__batch_destroy(tide__batch *b);
/* Start a message: packs a map header of (nfields + 1) entries and the "op"
 * entry. The caller then packs exactly nfields key/value pairs into the
 * returned packer and calls tide__batch_end. */
msgpack_packer *tide__batch_begin(tide__batch *b, tide__op op, uint32_t nfields);
void tide__batch_end(tide__batch *b);
/* Header (4-byte length + msgpack array header, at most 9 bytes) for the
 * current batch; the frame is header[0..*hlen) followed by sbuf.data. */
void tide__batch_header(const tide__batch *b, char header[16], size_t *hlen);
/* Forget the messages (keeps the buffer). */
void tide__batch_reset(tide__batch *b);

/* Decode one frame payload into a zone-owned array of messages. Each must be
 * a map with a string "op". Returns 0, or TIDE_EPROTO with err saying why. */
int tide__batch_decode(const char *payload, size_t len, msgpack_zone *zone,
                       msgpack_object_array *msgs, tide_error *err);

/* Typed getters on a message map. They return NULL/false/-1 when the field
 * is missing or has another type; none allocate unless named dup. */
const msgpack_object *tide__mp_get(const msgpack_object *map, const char *key);
tide__op tide__mp_op(const msgpack_object *msg);
bool tide__mp_str(const msgpack_object *map, const char *key, const char **s, size_t *len);
char *tide__mp_strdup(const msgpack_object *map, const char *key); /* caller frees */
bool tide__mp_int(const msgpack_object *map, const char *key, int64_t *out);
bool tide__mp_num(const msgpack_object *map, const char *key, double *out); /* int or float */
bool tide__mp_bool(const msgpack_object *map, const char *key, bool *out);
bool tide__mp_bin(const msgpack_object *map, const char *key, const char **p, size_t *len);
const msgpack_object_array *tide__mp_array(const msgpack_object *map, const char *key);
const msgpack_object_map *tide__mp_map(const msgpack_object *map, const char *key);
/* Compare a msgpack string object with a C string. */
bool tide__mp_streq(const msgpack_object *o, const char *s);

/* Pack helpers. */
void tide__pk_str(msgpack_packer *pk, const char *s);
void tide__pk_strn(msgpack_packer *pk, const char *s, size_t n);
void tide__pk_bin(msgpack_packer *pk, const void *p, size_t n);
/* key followed by value */
void tide__pk_kstr(msgpack_packer *pk, const char *key, const char *val);
void tide__pk_kint(msgpack_packer *pk, const char *key, int64_t val);
void tide__pk_knum(msgpack_packer *pk, const char *key, double val);
void tide__pk_kbool(msgpack_packer *pk, const char *key, bool val);
/* Re-pack a decoded object (deep copy into the packer). */
void tide__pk_object(msgpack_packer *pk, const msgpack_object *o);

#endif
