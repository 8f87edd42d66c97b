/* The handshake's guard (conn.h): the token challenge-response, the
 * handshake and idle timeouts, the per-source cap and the memory bound of
 * connections that have not finished their handshake. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "common/log.h"
#include "common/util.h"
#include "net/conn_int.h"

static _Atomic uint64_t g_auth_refused, g_hs_timeouts, g_source_refused, g_frame_refused;
static _Atomic int64_t g_hs_mem;    /* bytes held by conns in their handshake */
static _Atomic int64_t g_frame_mem; /* bytes held in partial frames, every conn */

/* Open accepted connections per source address, and in all, for the
 * process (every server of it, every loop thread). */
typedef struct source_count {
  char ip[64];
  int n;
  UT_hash_handle hh;
} source_count;
static source_count *g_sources;
static int g_accepted;
static pthread_mutex_t g_sources_mu = PTHREAD_MUTEX_INITIALIZER;

void tide__net_counters_get(tide__net_counters *out)
{
  out->auth_refused = g_auth_refused;
  out->handshake_timeouts = g_hs_timeouts;
  out->source_refused = g_source_refused;
  out->frame_memory_refused = g_frame_refused;
}

static bool source_take(const char *ip)
{
  bool ok = true;
  pthread_mutex_lock(&g_sources_mu);
  source_count *e;
  HASH_FIND_STR(g_sources, ip, e);
  if (!e) {
    e = tide__xcalloc(1, sizeof *e);
    snprintf(e->ip, sizeof e->ip, "%s", ip);
    HASH_ADD_STR(g_sources, ip, e);
  }
  const tide__limits *l = tide__limits_get();
  if (e->n >= l->connections_per_source || g_accepted >= l->connections)
    ok = false;
  else {
    e->n++;
    g_accepted++;
  }
  pthread_mutex_unlock(&g_sources_mu);
  return ok;
}

static void source_give(const char *ip)
{
  pthread_mutex_lock(&g_sources_mu);
  source_count *e;
  HASH_FIND_STR(g_sources, ip, e);
  g_accepted--;
  if (e && --e->n <= 0) {
    HASH_DEL(g_sources, e);
    free(e);
  }
  pthread_mutex_unlock(&g_sources_mu);
}

/* One warning a second at most for refusals, whoever floods us: the rest
 * are counted in /metrics. */
static void log_refusal(const tide__conn *c, const char *why)
{
  static _Atomic uint64_t last_ms;
  static _Atomic unsigned suppressed;
  uint64_t now = uv_hrtime() / 1000000, prev = last_ms;
  if (now - prev < 1000 && prev) {
    suppressed++;
    return;
  }
  last_ms = now;
  unsigned n = suppressed;
  suppressed = 0;
  if (n)
    tide__warn("net", "refused connection from %s: %s (and %u more refused since)", c->peer, why,
               n);
  else
    tide__warn("net", "refused connection from %s: %s", c->peer, why);
}

/* Tell the peer why, then close (the error frame is flushed first). */
static void refuse(tide__conn *c, const char *why, _Atomic uint64_t *counter)
{
  (*counter)++;
  log_refusal(c, why);
  msgpack_packer *pk = tide__conn_begin(c, TIDE_OP_ERROR, 1);
  tide__pk_kstr(pk, "message", why);
  tide__conn_end(c);
  tide__conn_close(c, TIDE_EAUTH, NULL);
}

/* Hand the application an "error" it can print, as if the peer sent it. */
static void local_error(tide__conn *c, const char *text)
{
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 2);
  tide__pk_kstr(&pk, "op", "error");
  tide__pk_kstr(&pk, "message", text);
  msgpack_unpacked u;
  msgpack_unpacked_init(&u);
  if (msgpack_unpack_next(&u, sb.data, sb.size, NULL) == MSGPACK_UNPACK_SUCCESS)
    c->ops->on_msg(c, &u.data, c->arg);
  msgpack_unpacked_destroy(&u);
  msgpack_sbuffer_destroy(&sb);
  tide__warn("net", "connection with %s: %s", c->peer, text);
  tide__conn_close(c, TIDE_EAUTH, NULL);
}

/* --- timeouts ------------------------------------------------------------- */

static void guard_tick(uv_timer_t *t)
{
  tide__conn *c = t->data;
  if (c->closing || c->ready)
    return;
  uint64_t now = uv_now(c->loop);
  double waited = (double)(now - c->hs_start) / 1000, idle = (double)(now - c->last_rx) / 1000;
  const tide__limits *l = tide__limits_get();
  if (waited >= l->handshake_timeout)
    refuse(c, "handshake not finished in time", &g_hs_timeouts);
  else if (idle >= l->idle_timeout)
    refuse(c, "silent during the handshake", &g_hs_timeouts);
}

static uint64_t guard_period_ms(void)
{
  const tide__limits *l = tide__limits_get();
  double s = l->idle_timeout < l->handshake_timeout ? l->idle_timeout : l->handshake_timeout;
  uint64_t ms = (uint64_t)(s * 1000 / 4);
  return ms < 10 ? 10 : ms;
}

/* --- the accepting side --------------------------------------------------- */

int tide__conn_accepted(tide__conn *c, const tide__auth *auth)
{
  c->accepted = true;
  if (!source_take(c->source)) {
    g_source_refused++;
    log_refusal(c, "too many connections (from this address, or in all)");
    return TIDE_EREFUSED;
  }
  c->counted = true;
  c->fr.max = (size_t)tide__limits_get()->handshake_frame;
  c->auth = auth && auth->len ? auth : NULL;
  c->hs_start = c->last_rx = uv_now(c->loop);
  uint64_t p = guard_period_ms();
  uv_timer_start(&c->guard, guard_tick, p, p);
  if (tide__auth_nonce(c->snonce, NULL) < 0)
    return TIDE_EREFUSED;
  msgpack_packer *pk = tide__conn_begin(c, TIDE_OP_CHALLENGE, 2);
  msgpack_pack_str_with_body(pk, "nonce", 5);
  tide__pk_bin(pk, c->snonce, sizeof c->snonce);
  tide__pk_kbool(pk, "auth", c->auth != NULL);
  tide__conn_end(c);
  if (c->auth)
    c->auth_state = TIDE_AUTH_WAIT_PROOF;
  return 0;
}

static bool get_blob(const msgpack_object *m, const char *key, size_t n, const char **p)
{
  size_t len;
  return tide__mp_bin(m, key, p, &len) && len == n;
}

static void accept_side(tide__conn *c, const msgpack_object *m, tide__op op)
{
  const char *nonce, *mac;
  if (op != TIDE_OP_AUTH) {
    refuse(c,
           "authentication required: connect with the cluster's token (--auth-token-file, "
           "auth.token-file, or the scheduler file that holds it)",
           &g_auth_refused);
    return;
  }
  if (!get_blob(m, "nonce", TIDE_AUTH_NONCE, &nonce) || !get_blob(m, "mac", TIDE_AUTH_MAC, &mac) ||
      !tide__auth_verify(c->auth, TIDE_AUTH_CONNECT, c->snonce, (const unsigned char *)nonce, mac,
                         TIDE_AUTH_MAC)) {
    refuse(c, "authentication failed: wrong token", &g_auth_refused);
    return;
  }
  memcpy(c->cnonce, nonce, TIDE_AUTH_NONCE);
  unsigned char proof[TIDE_AUTH_MAC];
  tide__auth_mac(c->auth, TIDE_AUTH_ACCEPT, c->snonce, c->cnonce, proof);
  msgpack_packer *pk = tide__conn_begin(c, TIDE_OP_AUTH_OK, 1);
  msgpack_pack_str_with_body(pk, "mac", 3);
  tide__pk_bin(pk, proof, sizeof proof);
  tide__conn_end(c);
  c->auth_state = TIDE_AUTH_DONE;
}

/* --- the connecting side -------------------------------------------------- */

void tide__conn_connecting_auth(tide__conn *c, const tide__auth *auth)
{
  if (!auth || !auth->len)
    return;
  c->auth = auth;
  c->auth_state = TIDE_AUTH_WAIT_CHALLENGE;
  c->held = true;
}

/* Send one message ahead of the held batch (which keeps the application's
 * hello until the server proved the token). */
static void send_ahead(tide__conn *c, const unsigned char nonce[TIDE_AUTH_NONCE],
                       const unsigned char mac[TIDE_AUTH_MAC])
{
  tide__batch held = c->batch;
  tide__batch_init(&c->batch);
  msgpack_packer *pk = tide__batch_begin(&c->batch, TIDE_OP_AUTH, 2);
  msgpack_pack_str_with_body(pk, "nonce", 5);
  tide__pk_bin(pk, nonce, TIDE_AUTH_NONCE);
  msgpack_pack_str_with_body(pk, "mac", 3);
  tide__pk_bin(pk, mac, TIDE_AUTH_MAC);
  tide__batch_end(&c->batch);
  c->held = false;
  tide__conn_flush(c);
  c->held = true;
  tide__batch_destroy(&c->batch);
  c->batch = held;
  c->batch.pk.data = &c->batch.sbuf; /* the packer points into the struct */
}

static void connect_side(tide__conn *c, const msgpack_object *m, tide__op op)
{
  const char *nonce, *mac;
  bool server_auth = false;
  if (c->auth_state == TIDE_AUTH_WAIT_CHALLENGE) {
    if (op != TIDE_OP_CHALLENGE || !get_blob(m, "nonce", TIDE_AUTH_NONCE, &nonce)) {
      local_error(c, "bad handshake: no challenge from the server");
      return;
    }
    tide__mp_bool(m, "auth", &server_auth);
    if (!server_auth) {
      local_error(c, "the server does not authenticate (it has no token), but this side was given "
                     "one: refusing to trust it");
      return;
    }
    memcpy(c->snonce, nonce, TIDE_AUTH_NONCE);
    unsigned char proof[TIDE_AUTH_MAC];
    if (tide__auth_nonce(c->cnonce, NULL) < 0) {
      local_error(c, "no random bytes for the handshake");
      return;
    }
    tide__auth_mac(c->auth, TIDE_AUTH_CONNECT, c->snonce, c->cnonce, proof);
    c->auth_state = TIDE_AUTH_WAIT_SERVER;
    send_ahead(c, c->cnonce, proof);
    return;
  }
  /* TIDE_AUTH_WAIT_SERVER */
  if (op != TIDE_OP_AUTH_OK || !get_blob(m, "mac", TIDE_AUTH_MAC, &mac) ||
      !tide__auth_verify(c->auth, TIDE_AUTH_ACCEPT, c->snonce, c->cnonce, mac, TIDE_AUTH_MAC)) {
    local_error(c, "the server did not prove the token: refusing to trust it");
    return;
  }
  c->auth_state = TIDE_AUTH_DONE;
  c->held = false;
  tide__conn_flush(c);
}

bool tide__conn_auth_msg(tide__conn *c, const msgpack_object *m)
{
  tide__op op = tide__mp_op(m);
  if (op == TIDE_OP_ERROR && !c->accepted)
    return false; /* the peer refuses us: the application prints why */
  switch (c->auth_state) {
  case TIDE_AUTH_WAIT_PROOF: accept_side(c, m, op); return true;
  case TIDE_AUTH_WAIT_CHALLENGE:
  case TIDE_AUTH_WAIT_SERVER: connect_side(c, m, op); return true;
  case TIDE_AUTH_DONE: break;
  }
  /* Without a token the challenge is news to nobody. */
  return op == TIDE_OP_CHALLENGE && !c->accepted && !c->ready;
}

/* --- memory and slots ----------------------------------------------------- */

bool tide__conn_hs_bytes(tide__conn *c)
{
  const tide__limits *l = tide__limits_get();
  c->last_rx = uv_now(c->loop);
  /* what the peer made us hold: bytes it sent that are not yet a frame
   * (not the buffer's capacity, or a byte a connection would count 64 KiB);
   * one frame at most per connection (fr.max), and frame_memory for all */
  size_t now = tide__framer_buffered(&c->fr);
  int64_t fdelta = (int64_t)now - (int64_t)c->fr_mem;
  int64_t all = atomic_fetch_add(&g_frame_mem, fdelta) + fdelta;
  c->fr_mem = now;
  if (!c->accepted || c->ready) {
    c->fr.max = (size_t)l->frame_size;
    if (all > l->frame_memory) {
      if (c->accepted)
        refuse(c, "too much memory held by frames in flight", &g_frame_refused);
      else {
        g_frame_refused++;
        local_error(c, "too much memory held by frames in flight");
      }
      return false;
    }
    return true;
  }
  c->fr.max = (size_t)l->handshake_frame;
  int64_t delta = (int64_t)now - (int64_t)c->hs_mem;
  int64_t total = atomic_fetch_add(&g_hs_mem, delta) + delta; /* clang takes no `(a += d)` value */
  c->hs_mem = now;
  if (total > l->handshake_memory || all > l->frame_memory) {
    refuse(c, "too much memory held by connections in their handshake", &g_hs_timeouts);
    return false;
  }
  return true;
}

void tide__conn_hs_done(tide__conn *c)
{
  if (c->hs_mem) {
    g_hs_mem -= (int64_t)c->hs_mem;
    c->hs_mem = 0;
  }
  if (uv_is_active((uv_handle_t *)&c->guard))
    uv_timer_stop(&c->guard);
}

void tide__conn_hs_release(tide__conn *c)
{
  tide__conn_hs_done(c);
  if (c->fr_mem) {
    g_frame_mem -= (int64_t)c->fr_mem;
    c->fr_mem = 0;
  }
  if (c->counted) {
    source_give(c->source);
    c->counted = false;
  }
}
