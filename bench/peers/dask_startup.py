"""Dask peer of bench/run.sh "startup": start a worker process (no nanny, as
tide's worker has none) R times and time each from spawn until the scheduler
lists it. Median, min and max seconds.

Usage: /usr/bin/python3 dask_startup.py [R=10]
"""
import asyncio
import statistics
import subprocess
import sys
import time

from distributed import Scheduler

from peerlib import arg, emit


async def until(cond):
    while not cond():
        await asyncio.sleep(0.002)


async def main(repeats):
    times = []
    async with Scheduler(port=0, dashboard_address=None) as sched:
        for _ in range(repeats):
            start = time.perf_counter()
            proc = subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_worker", sched.address,
                 "--nthreads", "1", "--no-nanny", "--no-dashboard"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            await until(lambda: len(sched.workers) == 1)
            times.append(time.perf_counter() - start)
            proc.terminate()
            proc.wait()
            await until(lambda: not sched.workers)
    emit(worker_start_s_median=round(statistics.median(times), 3),
         min=round(min(times), 3), max=round(max(times), 3), repeats=repeats)


if __name__ == "__main__":
    asyncio.run(main(arg(1, 10, int)))
