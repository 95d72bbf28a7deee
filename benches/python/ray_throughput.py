#!/usr/bin/env python3
"""Members per second of a 1,000-member sweep: in one process, on Ray with one node, and on Ray
with two nodes of this machine, at several task sizes; and Ray's overhead per task.

Usage (from the repository's root, with the package installed): python benches/python/ray_throughput.py
Everything stays on 127.0.0.1.
"""
import os
import time

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

import ray  # noqa: E402
from ray.cluster_utils import Cluster  # noqa: E402

import cryptobt  # noqa: E402
import cryptobt.ray  # noqa: E402

SWEEP = dict(strategy="static/strategies/sma_crossover.lua", grid={"fast": "1:50:1", "slow": "30:220:10"},
             symbols="BTCUSDT", timeframe="1h", start="2025-01-01", end="2025-01-31", blocks=4)
MEMBERS = 50 * 20


def timed(f):
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def main():
    one = min(timed(lambda: cryptobt.sweep(**SWEEP, threads=2)) for _ in range(2))
    print(f"one process, 2 threads: {one:.2f} s, {MEMBERS / one:.0f} members/s")
    local = {"node_ip_address": "127.0.0.1", "include_dashboard": False}
    for nodes in (1, 2):
        cpus = 2 if nodes == 1 else 1
        c = Cluster(initialize_head=True, head_node_args={**local, "num_cpus": cpus})
        if nodes == 2:
            c.add_node(node_ip_address="127.0.0.1", num_cpus=1)
        ray.init(address=c.address, _node_ip_address="127.0.0.1")
        c.wait_for_nodes()
        cryptobt.ray.sweep(**SWEEP, tasks=2)  # warm the workers
        for tasks in (8, 32, 128, 1000):
            t = min(timed(lambda: cryptobt.ray.sweep(**SWEEP, tasks=tasks)) for _ in range(2))
            overhead = (t - one) / tasks * 1000
            print(f"Ray, {nodes} node(s), {tasks:4d} tasks of {MEMBERS // tasks:4d} members: {t:.2f} s, "
                  f"{MEMBERS / t:.0f} members/s, {overhead:+.1f} ms a task over one process")
        ray.shutdown()
        c.shutdown()


if __name__ == "__main__":
    main()
