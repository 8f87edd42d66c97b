"""Dask peer of bench/run.sh "policy": what the adaptive round costs Dask's own
scheduler at N synthetic workers, shaped like bench/policy_bench.c's.

One process, no network: a real distributed.Scheduler, constructed but not
started, holds N two-thread WorkerStates (memory limit 1 GiB, no bytes held,
entered as Scheduler.add_worker enters them) and N/2 tasks of unknown
duration set processing on BUSY of them, round-robin, through the
scheduler's own _add_to_processing. BUSY defaults to N/2 (one task each, as
Dask's placement spreads them); run.sh passes the number of workers tide's
placement left busy in policy_bench, so that both answer the same question.

Timed, median over REPEATS:
- Scheduler.adaptive_target() (target duration 5 s, as policy_bench);
- Scheduler.workers_to_close() alone (memory ratio 2, its default);
- a whole round as Adaptive.adapt() makes it before it scales: safe_target()
  then Adaptive.recommendations(target) (wait count 1, minimum 0, a fresh
  close count each round, as policy_bench), with the real Adaptive class;
  its scheduler rpc is replaced by direct calls of the same Scheduler
  handlers, so the round's comm (pickling the names) is not counted.
The answers (target, close count, workers sent down) are printed too.

Usage: /usr/bin/python3 dask_policy.py N[:BUSY] [REPEATS]
(REPEATS defaults to 200 up to 1,000 workers, 30 above, as policy_bench)
"""
import asyncio
import statistics
import time
import uuid

from distributed import Scheduler
from distributed.core import Status
from distributed.deploy.adaptive import Adaptive
from distributed.scheduler import WorkerState

from peerlib import arg, emit

TARGET_DURATION = 5.0


def fill(s, n, busy):
    """N workers as add_worker enters them, then N/2 tasks processing."""
    for i in range(n):
        addr = f"tcp://10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}:1"
        ws = WorkerState(address=addr, status=Status.running, pid=0, name=f"w{i}",
                         nthreads=2, memory_limit=1 << 30, local_directory="",
                         nanny=None, server_id=str(uuid.uuid4()), scheduler=s)
        ws.nbytes = 0
        s.workers[addr] = ws
        s.running.add(ws)
        host = s.host_info.setdefault(addr[6:].split(":")[0], {"addresses": set(), "nthreads": 0})
        host["addresses"].add(addr)
        host["nthreads"] += 2
        s.total_nthreads += 2
        s.aliases[ws.name] = addr
        s.check_idle_saturated(ws)
    workers = list(s.workers.values())[:busy]
    for i in range(n // 2):
        ts = s.new_task(f"t-{i}", None, "released")
        s._add_to_processing(ts, workers[i % len(workers)])


class SchedulerCalls:
    """What Adaptive's scheduler rpc reaches: the same handlers, called here."""

    def __init__(self, s):
        self.s = s

    async def adaptive_target(self, target_duration=None):
        return self.s.adaptive_target(target_duration=target_duration)

    async def workers_to_close(self, **kwargs):
        return self.s.workers_to_close(**kwargs)


class Plan:
    """The cluster as Adaptive sees it: N workers planned, requested, seen."""

    def __init__(self, s):
        self.scheduler_comm = SchedulerCalls(s)
        names = {ws.name for ws in s.workers.values()}
        self.plan = set(names)
        self.requested = set(names)
        self.observed = set(names)


async def main():
    spec = arg(1, "1000")
    n = int(spec.split(":")[0])
    busy = int(spec.split(":")[1]) if ":" in spec else max(1, n // 2)
    reps = arg(2, 200 if n <= 1000 else 30, int)
    s = Scheduler(dashboard_address=None, validate=False)
    fill(s, n, min(busy, n))
    cluster = Plan(s)
    at, wc, rd = [], [], []
    target = nclose = ndown = None
    for _ in range(reps):
        t0 = time.perf_counter()
        target = s.adaptive_target(target_duration=TARGET_DURATION)
        at.append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        nclose = len(s.workers_to_close())
        wc.append(time.perf_counter() - t0)

        adaptive = Adaptive(cluster, interval=0, minimum=0, maximum=10**9, wait_count=1,
                            target_duration=TARGET_DURATION)
        t0 = time.perf_counter()
        rec = await adaptive.recommendations(await adaptive.safe_target())
        rd.append(time.perf_counter() - t0)
        ndown = len(rec.get("workers", ()))
    busy_now = sum(1 for ws in s.workers.values() if ws.processing)
    emit(workers=n, repeats=reps, busy_workers=busy_now,
         adaptive_target_ms=round(statistics.median(at) * 1e3, 4),
         workers_to_close_ms=round(statistics.median(wc) * 1e3, 4),
         round_ms=round(statistics.median(rd) * 1e3, 4),
         target=target, nclose=nclose, round_down=ndown)


if __name__ == "__main__":
    asyncio.run(main())
