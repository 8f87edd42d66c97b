#!/usr/bin/python3
# A client that speaks tide's wire protocol by hand (docs/protocol.md), for
# tests that must send what the real client never would. Debian's python3
# and python3-msgpack only.
#
#   raw_client.py SCHEDULER_FILE wedges
#
# sends each wedge below as an update-graph on one authenticated connection
# and prints one JSON line per wedge: {"name", "ok", "error"}; then sends a
# frame the scheduler cannot decode on a second connection and prints the
# error it answers before closing ({"name": "undecodable", "error"}).
#
#   raw_client.py SCHEDULER_FILE release N
#
# submits N independent tide.inc, waits for all N in memory, prints
# "computed", waits for a line on stdin, then releases the N keys one
# release-keys frame each, paced (as a client releasing futures one at a
# time), and prints "released MS" once the scheduler has read them all, MS
# the milliseconds that took.
import hashlib
import hmac
import json
import os
import socket
import struct
import sys
import time

import msgpack


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        chunk = s.recv(n - len(b))
        if not chunk:
            raise EOFError("connection closed")
        b += chunk
    return b


class Conn:
    def __init__(self, address, token):
        host, port = address.split("://", 1)[-1].rsplit(":", 1)
        self.s = socket.create_connection((host, int(port)), timeout=10)
        self.pending = []
        ch = self.next()
        assert ch["op"] == "challenge", ch
        if ch.get("auth"):
            mine = os.urandom(32)
            mac = hmac.new(token, b"tide-auth-1 connect" + ch["nonce"] + mine, hashlib.sha256).digest()
            self.send({"op": "auth", "nonce": mine, "mac": mac})
            ok = self.next()
            assert ok["op"] == "auth-ok", ok
        self.send({"op": "hello", "proto": 1, "role": "client", "name": "raw-%d" % os.getpid()})
        h = self.next()
        assert h["op"] == "hello", h

    def send_raw(self, payload):
        self.s.sendall(struct.pack(">I", len(payload)) + payload)

    def send(self, *msgs):
        self.send_raw(msgpack.packb(list(msgs), use_bin_type=True))

    def next(self):
        while not self.pending:
            (n,) = struct.unpack(">I", recv_exact(self.s, 4))
            self.pending = msgpack.unpackb(recv_exact(self.s, n), raw=False, strict_map_key=False)
        return self.pending.pop(0)

    def reply(self, rid):
        while True:
            m = self.next()
            if m["op"] == "reply" and m.get("id") == rid:
                return m


def nested(depth):
    v = 1
    for _ in range(depth):
        v = [v]
    return v


def task(key, fn="tide.inc", args=None, deps=None, **extra):
    t = {"key": key, "fn": fn, "args": [1] if args is None else args, "deps": deps or []}
    t.update(extra)
    return t


WEDGES = [
    ("nul-key", [task("w/a\x00b")]),
    ("ref-not-in-deps", [task("w/b", args=[{"ref": "w/x"}])]),
    ("wrong-type-args", [task("w/c", args=3)]),
    ("wrong-type-key", [{"key": 7, "fn": "tide.inc", "args": [1], "deps": []}]),
    ("missing-fn", [{"key": "w/d", "args": [1], "deps": []}]),
    ("too-deep", [task("w/e", fn="tide.identity", args=[nested(25)])]),
]


def release(c, n):
    keys = ["rel/%d" % i for i in range(n)]
    c.send({"op": "update-graph", "id": 1, "tasks": [task(k, args=[i]) for i, k in enumerate(keys)],
            "wants": keys, "progress": False})
    assert c.reply(1).get("ok")
    done = 0
    while done < n:
        m = c.next()
        if m["op"] == "key-done":
            assert m.get("state") == "memory", m
            done += 1
    print("computed", flush=True)
    sys.stdin.readline()
    t0 = time.monotonic()
    for k in keys:
        c.send({"op": "release-keys", "keys": [k]})
        time.sleep(0.00005)  # paced: each could be read in a loop turn of its own
    # answered after every release before it was read
    c.send({"op": "api", "id": 2, "method": "GET", "path": "/api/v1/identity", "body": ""})
    c.reply(2)
    print("released %d" % round((time.monotonic() - t0) * 1000), flush=True)


def main():
    sf = json.load(open(sys.argv[1]))
    token = sf.get("token", "").encode()
    c = Conn(sf["address"], token)
    if sys.argv[2:3] == ["release"]:
        release(c, int(sys.argv[3]))
        return
    for i, (name, tasks) in enumerate(WEDGES):
        rid = 100 + i
        c.send({"op": "update-graph", "id": rid, "tasks": tasks,
                "wants": [t["key"] for t in tasks if isinstance(t.get("key"), str)],
                "progress": False})
        r = c.reply(rid)
        print(json.dumps({"name": name, "ok": r.get("ok"), "error": r.get("error")}), flush=True)
    # 40 levels: more than msgpack-c's unpacker takes; the frame cannot be
    # decoded, so the scheduler answers "error" and closes
    d = Conn(sf["address"], token)
    d.send({"op": "update-graph", "id": 1, "tasks": [task("w/f", fn="tide.identity", args=[nested(40)])],
            "wants": ["w/f"], "progress": False})
    m = d.next()
    print(json.dumps({"name": "undecodable", "ok": m.get("op") != "error", "error": m.get("message")}), flush=True)


if __name__ == "__main__":
    main()
