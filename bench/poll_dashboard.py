#!/usr/bin/env python3
"""What an open dashboard page asks of the scheduler: every route that
src/http/dashboard/app.js polls, once a second, over one keep-alive HTTP
connection, with the task stream's `since` carried over from the previous
answer as the page does. Runs until SIGTERM, then prints one JSON line:
{"polls": N, "requests": M, "errors": E, "bytes": B, "slowest_poll_s": S}.
Usage: poll_dashboard.py DASHBOARD_URL [INTERVAL_S]"""
import http.client
import json
import signal
import sys
import time
import urllib.parse

ROUTES = ["/api/v1/get_workers", "/api/v1/tasks", "/api/v1/adaptive",
          "/api/v1/adaptive_target", None, "/api/v1/cluster"]  # None: the stream

stop = False


def on_term(sig, frame):
    global stop
    stop = True


def main():
    url = urllib.parse.urlsplit(sys.argv[1])
    every = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    conn = None
    since = 0.0
    polls = requests = errors = nbytes = 0
    slowest = 0.0
    first = True
    while not stop:
        t0 = time.monotonic()
        routes = ROUTES + (["/api/v1/identity"] if first else [])
        for r in routes:
            path = r or "/api/v1/task_stream?since=%r" % since
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
                conn.request("GET", path, headers={"Cache-Control": "no-store"})
                resp = conn.getresponse()
                body = resp.read()
                requests += 1
                nbytes += len(body)
                if resp.status != 200:
                    errors += 1
                    continue
                doc = json.loads(body)
                if r is None:
                    for t in doc.get("tasks") or []:
                        since = max(since, t.get("stop", 0))
            except (OSError, http.client.HTTPException, ValueError):
                errors += 1
                if conn is not None:
                    conn.close()
                conn = None
        first = False
        polls += 1
        took = time.monotonic() - t0
        slowest = max(slowest, took)
        left = every - took
        while left > 0 and not stop:
            time.sleep(min(left, 0.05))
            left = every - (time.monotonic() - t0)
    print(json.dumps({"polls": polls, "requests": requests, "errors": errors, "bytes": nbytes,
                      "slowest_poll_s": round(slowest, 4)}))


if __name__ == "__main__":
    main()
