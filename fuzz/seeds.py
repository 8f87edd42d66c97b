#!/usr/bin/python3
"""Writes the seed corpora of fuzz/corpus/<target>/ (fuzz/README.md).

Run from the repository root with Debian's python3 and python3-msgpack:
/usr/bin/python3 fuzz/seeds.py. Each seed is a real input of its kind: the
frames, messages, graphs, configs and HTTP requests that tide itself sends
or reads, so the fuzzer starts from the paths that matter."""
import os
import struct

import msgpack

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def batch(*msgs):
    return msgpack.packb(list(msgs), use_bin_type=True)


def frame(payload):
    return struct.pack(">I", len(payload)) + payload


W1, W2, C1, NEW = 0, 1, 2, 3  # roles of fuzz_sched.c


def roles(*rs):
    """The role byte: two bits per message, cycling every four."""
    b = 0
    for i, r in enumerate(rs[:4]):
        b |= r << (2 * i)
    return bytes([b])


def task(key, fn, args, deps=(), prefix=None, **kw):
    t = {"key": key, "fn": fn, "args": args, "deps": list(deps), "prefix": prefix or fn}
    t.update(kw)
    return t


def update_graph(tasks, wants, id=1, progress=True):
    return {"op": "update-graph", "id": id, "tasks": tasks, "wants": wants, "progress": progress}


# ---- frame: byte streams as they arrive, first byte = read size - 1
hello = {"op": "hello", "proto": 1, "role": "worker", "name": "w1", "address": "tcp://127.0.0.1:4001",
         "host": "h", "pid": 1, "job": "", "nthreads": 2, "memory_limit": 0,
         "functions": ["tide.inc"], "keys": {}}
hb = {"op": "heartbeat", "rss": 1 << 20, "nbytes": 0, "status": "running", "running": [["a", 0.5]]}
put("frame", "hello", b"\xff" + frame(batch(hello)))
put("frame", "hello-split", b"\x02" + frame(batch(hello)))
put("frame", "two-frames", b"\x10" + frame(batch(hb)) + frame(batch(hb, hb)))
put("frame", "too-large", b"\xff" + struct.pack(">I", 1 << 20) + b"\x91\x80")
put("frame", "not-a-map", b"\xff" + frame(batch(1, "x")))
put("frame", "partial", b"\x00" + frame(batch(hb))[:-3])
put("frame", "data-bin", b"\x40" + frame(batch({"op": "data", "id": 3, "data": {"a": b"\x01\x02"},
                                                "missing": ["b"]})))

# ---- sched: role byte + one batch of messages
g = [task("a", "tide.inc", [1]), task("b", "tide.inc", [{"ref": "a"}], ["a"]),
     task("c", "tide.add", [{"ref": "a"}, {"ref": "b"}], ["a", "b"])]
fin = lambda k, n=9: {"op": "task-finished", "key": k, "nbytes": n, "start": 100.0, "stop": 100.5,
                      "thread": 1}
put("sched", "graph-run", roles(C1, W1, W1, W1) + batch(
    update_graph(g, ["c"]), fin("a"), fin("b"), fin("c")))
put("sched", "graph-run-w2", roles(C1, W2, W1, C1) + batch(
    update_graph(g, ["c"]), fin("a"), fin("b"), {"op": "gather", "id": 2, "keys": ["c"]}))
put("sched", "gather", roles(C1, W1, C1, W1) + batch(
    update_graph([task("x", "tide.inc", [6])], ["x"]), fin("x"),
    {"op": "gather", "id": 2, "keys": ["x"]},
    {"op": "data", "id": 1, "data": {"x": msgpack.packb(7)}, "missing": []}))
put("sched", "erred", roles(C1, W1, C1, C1) + batch(
    update_graph([task("f", "tide.fail", ["boom"], retries=1)], ["f"]),
    {"op": "task-erred", "key": "f", "error": "boom\n\x1b[31m", "start": 1.0, "stop": 2.0,
     "thread": 1},
    {"op": "release-keys", "keys": ["f"]}, {"op": "list-datasets", "id": 4}))
put("sched", "datasets", roles(C1, W1, C1, C1) + batch(
    update_graph([task("d", "tide.inc", [1])], ["d"]), fin("d"),
    {"op": "publish", "id": 2, "name": "ds", "keys": {"out": "d"}},
    {"op": "get-dataset", "id": 3, "name": "ds"}))
put("sched", "unpublish", roles(C1, C1, C1, C1) + batch(
    {"op": "list-datasets", "id": 1}, {"op": "unpublish", "id": 2, "name": "nope"},
    {"op": "get-dataset", "id": 3, "name": "ds"}, {"op": "heartbeat"}))
put("sched", "missing-data", roles(C1, W1, W2, W2) + batch(
    update_graph(g[:2], ["b"]), fin("a"),
    {"op": "missing-data", "key": "b", "dep": "a", "worker": "tcp://127.0.0.1:1"},
    {"op": "missing-data", "key": "b", "dep": "a", "worker": "tcp://127.0.0.1:1"}))
put("sched", "retire", roles(W1, W1, W2, C1) + batch(
    {"op": "retire-me", "reason": "lifetime"},
    {"op": "add-keys", "keys": {"a": 8}, "failed": ["b"]}, hb,
    {"op": "api", "id": 9, "method": "POST", "path": "/api/v1/retire_workers",
     "body": '{"workers": ["w2"]}'}))
put("sched", "api", roles(C1, C1, C1, C1) + batch(
    {"op": "api", "id": 1, "method": "GET", "path": "/api/v1/get_workers", "body": ""},
    {"op": "api", "id": 2, "method": "POST", "path": "/api/v1/scale", "body": '{"n": 3}'},
    {"op": "api", "id": 3, "method": "GET", "path": "/metrics", "body": ""},
    {"op": "api", "id": 4, "method": "GET", "path": "/api/v1/tasks?prefix=tide.inc", "body": ""}))
put("sched", "heartbeats", roles(W1, W2, W1, W2) + batch(hb, hb, {"op": "released", "keys": ["a"]},
                                                         {"op": "reply", "id": 1, "lines": ["x"]}))
# a new connection: hellos, then ops as what it became
whello = dict(hello, name="w3", address="tcp://127.0.0.1:4003", keys={"a": 8})
put("sched", "hello-worker", roles(C1, W1, NEW, NEW) + batch(
    update_graph([task("a", "tide.inc", [1])], ["a"]), fin("a"), whello, fin("a")))
put("sched", "hello-client", roles(NEW, NEW, W1, NEW) + batch(
    {"op": "hello", "proto": 1, "role": "client", "name": "c"},
    update_graph([task("z", "tide.inc", [1])], ["z"]), fin("z"), {"op": "gather", "id": 2, "keys": ["z"]}))
put("sched", "hello-refused", roles(NEW, NEW) + batch(dict(hello, name="w1"), hb))
put("sched", "hello-bad", roles(NEW, NEW) + batch({"op": "hello", "proto": 1, "role": "peer"}, hb))
put("sched", "no-hello", roles(NEW, NEW) + batch(hb, {"op": "hello", "role": "client"}))
# the wedges of docs/security.md: refused with an error reply
put("sched", "key-nul", roles(C1) + batch(update_graph([task("a\x00b", "tide.inc", [1])], ["a\x00b"])))
put("sched", "ref-outside-deps", roles(C1) + batch(
    update_graph([task("a", "tide.inc", [1]), task("b", "tide.inc", [{"ref": "a"}])], ["b"])))
put("sched", "deep-args", roles(C1) + batch(
    update_graph([task("d", "tide.identity", [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]])], ["d"])))
put("sched", "cycle", roles(C1) + batch(update_graph(
    [task("a", "tide.identity", [{"ref": "b"}], ["b"]), task("b", "tide.identity", [{"ref": "a"}], ["a"])],
    ["a"])))

# ---- worker: role byte (bit set = peer) + one batch of messages
ct = lambda k, fn, args, deps=None: {"op": "compute-task", "key": k, "fn": fn, "args": args,
                                    "prefix": fn, "deps": deps or {}}
put("worker", "compute", b"\x00" + batch(ct("a", "fz.echo", [1, "x"]), ct("b", "fz.first", [2])))
put("worker", "compute-dep", b"\x04" + batch(
    ct("a", "fz.echo", [1]),
    ct("b", "fz.echo", [{"ref": "a"}], {"a": {"nbytes": 3, "who_has": ["tcp://127.0.0.1:3"]}}),
    {"op": "get-data", "id": 1, "keys": ["a", "b", "zz"]},
    {"op": "free-keys", "keys": ["a", "b"]}))
put("worker", "fetch", b"\x00" + batch(
    ct("c", "fz.echo", [{"ref": "r"}], {"r": {"nbytes": 5, "who_has": ["tcp://127.0.0.1:9"]}}),
    {"op": "free-keys", "keys": ["c"]}))
put("worker", "acquire", b"\x00" + batch(
    ct("a", "fz.echo", [1]), {"op": "acquire-replicas", "keys": {"a": [], "q": ["tcp://127.0.0.1:9"]}},
    {"op": "get-logs", "id": 4}, {"op": "heartbeat", "heartbeat_interval": 2.0}))
put("worker", "peer", b"\x03" + batch(
    {"op": "hello", "proto": 1, "role": "peer", "name": "p"},
    {"op": "get-data", "id": 7, "keys": ["a", 5]}, ct("a", "fz.echo", [1])))
put("worker", "close", b"\x00" + batch(ct("a", "fz.first", []), {"op": "close", "reason": "bye"},
                                       ct("b", "fz.echo", [])))
put("worker", "error", b"\x00" + batch({"op": "error", "message": "refused"}, ct("a", "fz.echo", [])))
put("worker", "unknown-fn", b"\x00" + batch(ct("a", "tide.exec", [["id"]]), ct("k\x00", "fz.echo", [])))

# ---- graph: graph files (README, docs/tasks.md, tests)
graphs = {
    "readme": '{"tasks": {"a": {"fn": "tide.bytes", "args": [1048576, 7]},\n'
              '           "b": {"fn": "tide.checksum", "args": [{"ref": "a"}]}},\n "outputs": ["b"]}\n',
    "inc": '{"tasks": {"a": {"fn": "tide.inc", "args": [1]}}, "outputs": ["a"]}',
    "chain": '{"tasks": {"x": {"fn": "tide.inc", "args": [6]}, "y": {"fn": "tide.add", '
             '"args": [{"ref": "x"}, 2]}, "z": {"fn": "tide.sum", "args": [[1, 2, {"ref": "y"}]]}}, '
             '"outputs": ["z"]}',
    "prefix-retries": '{"tasks": {"s": {"fn": "tide.sleep", "args": [0, 5], "prefix": "p", '
                      '"retries": 2}}, "outputs": ["s"]}',
    "plugin": '{"tasks": {"sq": {"fn": "example.square", "args": [7]}}, "outputs": ["sq"]}',
    "exec": '{"tasks": {"e": {"fn": "tide.exec", "args": [["echo", "hi"]]}}, "outputs": ["e"]}',
    "fail": '{"tasks": {"b": {"fn": "tide.fail", "args": ["one\\ntwo\\u001b[31mred"]}}}',
    "cycle": '{"tasks": {"a": {"fn": "tide.identity", "args": [{"ref": "b"}]}, '
             '"b": {"fn": "tide.identity", "args": [{"ref": "a"}]}}}',
    "missing": '{"tasks": {"a": {"fn": "tide.noop"}, "b": {"fn": "tide.identity", "args": [{"ref": "x"}]}}}',
    "types": '{"tasks": {"a": {"fn": "tide.inc", "args": ["one"]}}}',
    "nested": '{"tasks": {"n": {"fn": "tide.identity", "args": [' + "[" * 22 + "1" + "]" * 22 + ']}}}',
    "unicode-keys": '{"tasks": {"\\u00e9t\\u00e9": {"fn": "tide.noop", "args": [{"k": [1.5, null, true]}]}}}',
}
for name, text in graphs.items():
    put("graph", name, text)

# ---- config: a YAML file, then NUL and environment lines
put("config", "adaptive", "adaptive:\n  interval: 1s\n  minimum: 0\n  maximum: 16\n  wait-count: 3\n"
                          "  target-duration: 5s\n")
put("config", "scheduler", "scheduler:\n  unknown-task-duration: 500ms\n  bandwidth: 100MB\n"
                           "  worker-saturation: 1.1\n  allowed-failures: 3\n  retire-timeout: 60s\n"
                           "  heartbeat-timeout: 30s\n")
put("config", "worker", "worker:\n  memory:\n    target: 0.6\n    pause: 0.8\n  heartbeat-interval: 0.5s\n"
                        "  preload: [/usr/lib/a.so, b.so]\n  allow-exec: yes\n")
put("config", "slurm-sge", "slurm:\n  partition: debug\n  walltime: '1-00:00:00'\n  cores: 4\n  memory: 8GiB\n"
                           "sge:\n  queue: all.q\n  pe: smp\n  walltime: 01:00:00\n  max-pending: 10\n")
put("config", "limits-auth-tls", "limits:\n  handshake-timeout: 10s\n  idle-timeout: 60s\n"
                                 "  connections-per-source: 64\n  handshake-frame: 64KiB\n"
                                 "  handshake-memory: 64MiB\nauth:\n  token-file: /tmp/t\n"
                                 "  dashboard: true\ntls:\n  ca-file: ca.pem\n  cert: c.pem\n  key: k.pem\n")
put("config", "env", "dashboard:\n  hosts: a.example,b\n\x00TIDE_SCHEDULER__BANDWIDTH=1e9\n"
                     "TIDE_WORKER__PRELOAD=a.so:b.so\nTIDE_ADAPTIVE__MAXIMUM=inf\nHOME=/nonexistent\n")
put("config", "errors", "adaptive:\n  minimum: -1\n  bogus: 1\n")
put("config", "anchors", "base: &b\n  interval: 2s\nadaptive: *b\n")

# ---- http: requests as they arrive
def req(method, target, body="", ctype="application/json", host="127.0.0.1:8787", origin=None):
    h = f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n"
    if origin:
        h += f"Origin: {origin}\r\n"
    if ctype:
        h += f"Content-Type: {ctype}\r\n"
    return h + f"Content-Length: {len(body)}\r\n\r\n" + body


put("http", "identity", req("GET", "/api/v1/identity", ctype=None))
put("http", "workers", req("GET", "/api/v1/get_workers", ctype=None))
put("http", "target", req("GET", "/api/v1/adaptive_target?target_duration=3", ctype=None))
put("http", "tasks", req("GET", "/api/v1/tasks?prefix=tide-submit-1&offset=0&limit=10", ctype=None))
put("http", "stream", req("GET", "/api/v1/task_stream?since=0", ctype=None))
put("http", "logs", req("GET", "/api/v1/logs", ctype=None))
put("http", "metrics", req("GET", "/metrics", ctype=None, host="localhost"))
put("http", "scale", req("POST", "/api/v1/scale", '{"n": 2}'))
put("http", "scale-huge", req("POST", "/api/v1/scale", '{"n": 100000}'))
put("http", "adapt", req("POST", "/api/v1/adapt", '{"minimum": 0, "maximum": 4, "interval": "1s"}'))
put("http", "adapt-stop", req("POST", "/api/v1/adapt", '{"stop": true}'))
put("http", "retire", req("POST", "/api/v1/retire_workers", '{"workers": ["w1", "w2"]}'))
put("http", "cross-site", req("POST", "/api/v1/scale", '{"n": 1}', ctype="text/plain",
                              host="evil.example", origin="http://evil.example"))
put("http", "ipv6-host", req("GET", "/api/v1/cluster", ctype=None, host="[::1]:8787",
                             origin="http://[::1]:8787"))
put("http", "wrong-method", req("PUT", "/api/v1/scale", "{}"))
put("http", "asset", req("GET", "/static/app.js", ctype=None, host="dash.example"))


# ---- dictionaries (fuzz/dict/<target>.dict): the words of each format, so
# that mutations make ops, field names and routes, not only bytes
def esc(b):
    return "".join(chr(c) if 0x20 <= c < 0x7f and c not in (0x22, 0x5c) else "\\x%02x" % c for c in b)


def write_dict(target, words):
    d = os.path.join(os.path.dirname(ROOT), "dict")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, target + ".dict"), "w") as f:
        f.write("# %s: written by fuzz/seeds.py\n" % target)
        for w in sorted(set(words)):
            if isinstance(w, str):
                w = w.encode()
            f.write('"%s"\n' % esc(w))


ops = ["hello", "error", "heartbeat", "task-finished", "task-erred", "add-keys", "missing-data",
       "retire-me", "released", "compute-task", "free-keys", "acquire-replicas", "close", "get-logs",
       "get-data", "data", "update-graph", "graph-accepted", "key-done", "gather", "release-keys",
       "publish", "unpublish", "get-dataset", "list-datasets", "reply", "api", "challenge", "auth",
       "auth-ok"]
fields = ["op", "id", "key", "keys", "fn", "args", "deps", "prefix", "retries", "tasks", "wants",
          "progress", "nbytes", "start", "stop", "thread", "error", "dep", "worker", "reason", "data",
          "missing", "failed", "name", "method", "path", "body", "lines", "rss", "status", "running",
          "who_has", "heartbeat_interval", "role", "proto", "address", "host", "pid", "job",
          "nthreads", "memory_limit", "functions", "ref", "client", "peer", "scheduler"]
fns = ["tide.inc", "tide.add", "tide.sum", "tide.identity", "tide.noop", "tide.fail", "tide.bytes",
       "tide.checksum", "tide.sleep", "tide.exec", "fz.echo", "fz.first"]
mp = [msgpack.packb(w) for w in ops + fields + fns]
mp += [b"\x91", b"\x92", b"\x80", b"\x81", b"\x82", b"\xc0", b"\xc2", b"\xc3", b"\xcb", b"\xd3",
       b"\xcf", b"\xc4", b"\xdc", b"\xde", msgpack.packb({"ref": "a"}), msgpack.packb("tcp://127.0.0.1:1")]
write_dict("frame", mp)
write_dict("sched", mp + [msgpack.packb(w) for w in ["w1", "w2", "a", "b", "c", "running", "paused",
                                                      "/api/v1/scale", "/api/v1/retire_workers"]])
write_dict("worker", mp)
write_dict("graph", ['{"tasks": {', '"outputs": [', '"fn": ', '"args": [', '{"ref": ', '"prefix": ',
                     '"retries": ', "null", "true", "false", "1e308", "-1", "\\u0000", "\\ud800", "[[[[",
                     "]]]]"] + ['"%s"' % f for f in fns])
write_dict("config", ["adaptive:", "scheduler:", "worker:", "slurm:", "sge:", "auth:", "limits:",
                      "tls:", "dashboard:", "cluster:", "memory:", "\n  ", ": ", "- ", "&a", "*a",
                      "!!str", "inf", "1s", "500ms", "10GiB", "1-00:00:00", "yes", "off", "\x00",
                      "TIDE_", "__", "=", "\nTIDE_SCHEDULER__BANDWIDTH="]
           + [k.split(".")[-1] + ":" for k in [
               "interval", "minimum", "maximum", "wait-count", "target-duration", "hosts",
               "max-workers", "unknown-task-duration", "bandwidth", "worker-saturation",
               "allowed-failures", "retire-timeout", "heartbeat-timeout", "target", "pause",
               "heartbeat-interval", "preload", "allow-exec", "partition", "account", "walltime",
               "cores", "log-directory", "max-pending", "queue", "project", "pe", "token-file",
               "generate", "handshake-timeout", "idle-timeout", "connections-per-source",
               "handshake-frame", "handshake-memory", "ca-file", "cert", "key"]])
write_dict("http", ["GET ", "POST ", "HEAD ", "PUT ", " HTTP/1.1\r\n", "\r\n", "\r\n\r\n", "Host: ",
                    "Origin: ", "Content-Type: ", "application/json", "text/plain", "http://",
                    "localhost", "127.0.0.1", "[::1]", ":8787", "?", "&", "=", "/api/v1/identity",
                    "/api/v1/get_workers", "/api/v1/adaptive_target", "/api/v1/adaptive",
                    "/api/v1/adapt", "/api/v1/scale", "/api/v1/retire_workers", "/api/v1/tasks",
                    "/api/v1/task_stream", "/api/v1/logs", "/api/v1/cluster", "/metrics", "/",
                    "/static/app.js", '{"n": ', '"workers": [', '"stop": true', '"minimum": ',
                    '"maximum": ', "prefix=", "since=", "offset=", "limit=", "target_duration="])
