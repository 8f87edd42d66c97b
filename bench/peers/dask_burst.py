"""Dask peer of bench/run.sh "burst": an adaptive LocalCluster from 0 to MAX
one-thread workers gets B bursts of N tasks that each sleep T seconds, IDLE
seconds apart. The worker count is sampled every 50 ms, as bench/run.sh does
for tide, and the same figures come out: per-burst latency, first worker,
worker-seconds held, utilisation, peak, time back to 0 after the last burst
(null when it did not happen within IDLE) and tasks started more than once.

Usage: /usr/bin/python3 dask_burst.py [B=3] [N=64] [T=0.5] [IDLE=8] [MAX=16]
                                      [INTERVAL=1s] [TARGET=5s] [WAIT=3]
(the last three default to Dask's own adaptive defaults)
"""
import os
import tempfile
import threading
import time

from dask.distributed import Client, LocalCluster

from peerlib import arg, emit

PERIOD = 0.05


def sleeper(i, seconds, starts):
    # One line per start, appended atomically: more lines than tasks means
    # some task was run again (Dask restarts tasks of closed workers).
    fd = os.open(starts, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.write(fd, b"%d\n" % i)
    os.close(fd)
    time.sleep(seconds)
    return i


class Sampler(threading.Thread):
    """(time, worker count) every PERIOD seconds until stopped."""

    def __init__(self, cluster):
        super().__init__(daemon=True)
        self.cluster, self.samples, self.done = cluster, [], threading.Event()

    def run(self):
        while not self.done.is_set():
            self.samples.append((time.time(), len(self.cluster.scheduler.workers)))
            self.done.wait(PERIOD)


def main():
    bursts, n, task_s = arg(1, 3, int), arg(2, 64, int), arg(3, 0.5, float)
    idle_s, maxw = arg(4, 8.0, float), arg(5, 16, int)
    interval, target, wait = arg(6, "1s"), arg(7, "5s"), arg(8, 3, int)
    fd, starts = tempfile.mkstemp(prefix="dask-burst-starts-")
    os.close(fd)
    with LocalCluster(n_workers=0, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        cluster.adapt(minimum=0, maximum=maxw, interval=interval,
                      target_duration=target, wait_count=wait)
        sampler = Sampler(cluster)
        sampler.start()
        t0 = time.time()
        latencies, submitted = [], []
        last_done = t0
        for b in range(bursts):
            submitted.append(time.time())
            futures = client.map(sleeper, range(b * n, (b + 1) * n),
                                 seconds=task_s, starts=starts, pure=False)
            client.gather(futures)
            last_done = time.time()
            latencies.append(last_done - submitted[-1])
            del futures
            time.sleep(idle_s)
        t_end = time.time()
        sampler.done.set()
        sampler.join()
    samples = sampler.samples
    held = sum(w * PERIOD for t, w in samples if t0 <= t <= t_end)
    first = next((t - submitted[0] for t, w in samples if t >= submitted[0] and w > 0), None)
    zero = next((t - last_done for t, w in samples if t > last_done and w == 0), None)
    with open(starts) as f:
        restarted = len(f.read().split()) - bursts * n
    os.unlink(starts)
    ideal = bursts * n * task_s
    emit(bursts=bursts, tasks_per_burst=n, task_s=task_s, idle_s=idle_s,
         max_workers=maxw, interval=interval, target_duration=target, wait_count=wait,
         burst_latency_s=[round(x, 2) for x in latencies],
         first_worker_s=None if first is None else round(first, 2),
         worker_seconds=round(held, 1), busy_seconds_ideal=ideal,
         utilisation=round(ideal / held, 3) if held else 0,
         peak_workers=max((w for _, w in samples), default=0),
         time_back_to_zero_s=None if zero is None else round(zero, 2),
         restarted_tasks=restarted, wall_s=round(t_end - t0, 1))


if __name__ == "__main__":
    main()
