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
import hashlib
import hmac
import json
import os
import socket
import struct
import sys

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


def main():
    sf = json.load(open(sys.argv[1]))
    token = sf.get("token", "").encode()
    c = Conn(sf["address"], token)
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
