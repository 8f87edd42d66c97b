"""Dask peer of bench/run.sh "throughput": N independent trivial tasks, then
a chain of N/10 tasks each depending on the previous one, on W one-thread
worker processes. Tasks per second for each.

Usage: /usr/bin/python3 dask_throughput.py [N=20000] [W=2]
"""
import time

from dask.distributed import Client, LocalCluster, wait

from peerlib import arg, emit


def inc(x):
    return x + 1


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main():
    n, workers = arg(1, 20000, int), arg(2, 2, int)
    chain_len = n // 10
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        client.submit(inc, -1).result()  # workers connected and warm

        def independent():
            wait(client.map(inc, range(n)))

        def chain():
            f = client.submit(inc, 0, pure=False)
            for _ in range(chain_len):
                f = client.submit(inc, f, pure=False)
            f.result()

        t_indep = timed(independent)
        t_chain = timed(chain)
    emit(independent_tasks=n, independent_tasks_per_s=round(n / t_indep),
         chain_tasks=chain_len, chain_tasks_per_s=round(chain_len / t_chain),
         workers=workers)


if __name__ == "__main__":
    main()
