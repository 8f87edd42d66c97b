"""Dask peer of bench/run.sh "sched_mem": a scheduler with no workers is given
N independent tasks, which all stay pending; the growth of its resident
memory divided by N. The scheduler runs in this process (processes=False), so
this process's RSS is the scheduler's (plus the client's futures, which is
also what a user's session holds).

Usage: /usr/bin/python3 dask_sched_mem.py [N=100000]
"""
import os
import time

import psutil
from dask.distributed import Client, LocalCluster

from peerlib import arg, emit


def inc(x):
    return x + 1


def main():
    n = arg(1, 100000, int)
    me = psutil.Process(os.getpid())
    with LocalCluster(n_workers=0, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        time.sleep(1)  # let start-up allocations settle
        before = me.memory_info().rss
        futures = client.map(inc, range(n))
        while len(cluster.scheduler.tasks) < n:
            time.sleep(0.1)
        time.sleep(1)
        after = me.memory_info().rss
        emit(pending_tasks=n, bytes_per_task=round((after - before) / n),
             rss_before_kib=before // 1024, rss_after_kib=after // 1024)
        del futures


if __name__ == "__main__":
    main()
