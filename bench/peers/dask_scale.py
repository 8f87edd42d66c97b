"""Dask peer of bench/run.sh "scale": one Dask scheduler process with N real
worker connections, its idle CPU and memory per worker.

The scheduler is its own process (distributed.Scheduler on 127.0.0.1, no
dashboard), so that its CPU and memory are its own. The N workers are real
distributed.Worker objects (no nanny, one thread, no memory limit, profiling
off), all in this process on one event loop: each registers over its own
connections, speaks Dask's protocol and heartbeats at the interval the
scheduler gives it, as tide_swarm's workers do for tide. They start 50 at a
time. Measured as tide's scale: seconds until the N are registered; once each
has beaten (n/200 + 3 s, Dask's own interval being n/200 + 1 s from 200
workers), the scheduler's memory per worker ((RSS with N - RSS before any) /
N) and its idle CPU over 10 s (user + system, % of one core); then the
scheduler's count of workers, and of those whose last heartbeat is older than
twice the interval (stale_workers: above 0, the figures are not those of a
healthy cluster).

Sizes: one Python process cannot hold many Dask workers. 1,000 took 490 s to
register here and then missed heartbeats (the one loop runs every worker's
periodic callbacks), and 1,000 worker processes would need ~100 GB, so
bench/run.sh runs this at 100 workers only (BENCH_SCALE_DASK_SIZES).

Usage: /usr/bin/python3 dask_scale.py N
"""
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time

import dask
import psutil
from distributed import Worker
from distributed.core import rpc
from distributed.scheduler import heartbeat_interval

from peerlib import arg, emit

SCHEDULER = """
import asyncio, logging, sys
logging.disable(logging.WARNING)
from distributed import Scheduler
async def main():
    async with Scheduler(host="127.0.0.1", port=0, dashboard_address=None) as s:
        print(s.address, flush=True)
        await asyncio.Event().wait()
asyncio.run(main())
"""


async def main():
    n = arg(1, 100, int)
    scratch = tempfile.mkdtemp(prefix="dask-scale-")
    sched = subprocess.Popen([sys.executable, "-c", SCHEDULER], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
    try:
        address = sched.stdout.readline().strip()
        proc = psutil.Process(sched.pid)
        await asyncio.sleep(1)
        rss0 = proc.memory_info().rss
        workers = []
        t0 = time.perf_counter()
        with dask.config.set({"distributed.worker.profile.enabled": False}):
            for i in range(0, n, 50):
                batch = [Worker(address, nthreads=1, nanny=None, memory_limit=0, dashboard=False,
                                host="127.0.0.1", name=f"w{j}", local_directory=scratch) for j in range(i, min(n, i + 50))]
                await asyncio.gather(*batch)
                workers += batch
        register_s = time.perf_counter() - t0
        await asyncio.sleep(n / 200 + 3)
        rss1 = proc.memory_info().rss
        c0 = proc.cpu_times()
        await asyncio.sleep(10)
        c1 = proc.cpu_times()
        cpu = (c1.user + c1.system - c0.user - c0.system) / 10 * 100
        # the scheduler's own view after the CPU window: how many it holds,
        # and how many have not beaten within twice their interval (a loop
        # too busy to beat would make the idle figure that of a sick cluster)
        async with rpc(address) as r:
            seen = [w["last_seen"] for w in (await r.identity())["workers"].values()]
        late = time.time() - 2 * heartbeat_interval(n) - 1
        emit(workers=n, registered=len(seen), stale_workers=sum(1 for t in seen if t < late),
             register_s=round(register_s, 2),
             idle_cpu_pct=round(cpu, 2), bytes_per_worker=round((rss1 - rss0) / n),
             sched_rss_mb=round(rss1 / 2**20))
    finally:
        sched.kill()
        sched.wait()
        shutil.rmtree(scratch, ignore_errors=True)
    # the workers' scheduler is gone: leave without their slow teardown
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    asyncio.run(main())
