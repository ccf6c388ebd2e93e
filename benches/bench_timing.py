"""Shared by the side-by-side scripts: the median wall time of a function."""

import statistics
import time


def timed(fn, runs=20, warmup=3):
    """Median seconds of `runs` calls after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
