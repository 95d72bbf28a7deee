#!/usr/bin/env python3
"""Peak extra memory of the server for single sweep requests, each the largest of its kind the
validator accepts, and for refused ones that used to cost gigabytes.

Starts `cryptobt serve` (release build) on a free loopback port over the shipped data with a
results folder of its own, sends each request, and reads the server's resident set (VmRSS) every
10 ms while it is answered; prints the peak over the baseline taken before it. Standard library
only. Usage: python3 benches/sweeps/api_memory.py [path/to/cryptobt]
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target/release/cryptobt")


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=600) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def measured(pid, action):
    base = rss_kb(pid)
    peak = [base]
    done = threading.Event()

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], rss_kb(pid))
            time.sleep(0.01)

    t = threading.Thread(target=watch)
    t.start()
    out = action()
    done.set()
    t.join()
    return out, (peak[0] - base) / 1024


def main():
    port = free_port()
    results = tempfile.mkdtemp()
    env = dict(os.environ, CRYPTOBT_PORT=str(port), CRYPTOBT_RESULTS_DIR=results,
               CRYPTOBT_DATA_DIR=os.path.join(ROOT, "data"),
               CRYPTOBT_STATIC_DIR=os.path.join(ROOT, "static"))
    server = subprocess.Popen([BIN, "serve"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if call(base, "GET", "/api/health")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.05)
        code = "local f, s = params.fast, params.slow\nfunction on_data(bar) end\n"
        run = {"strategy_code": code, "symbol": "BTCUSDT", "timeframe": "1d",
               "start_date": "2025-01-01", "end_date": "2025-01-01"}
        rows = []

        def case(name, method, path, body=None):
            (status, text), extra = measured(server.pid, lambda: call(base, method, path, body))
            rows.append((name, status, extra))
            return status, text

        case("refused: blocks 28", "POST", "/api/sweeps", dict(run, grid=["fast=1:300:1", "slow=1:300:1"], blocks=28))
        case("refused: a=1:1000000:1", "POST", "/api/sweeps", dict(run, grid=["fast=1:1000000:1"]))
        many = [f"p{k:0>60}=1,2" for k in range(19)]
        case("refused: 19 two-value params", "POST", "/api/sweeps", dict(run, grid=many))
        case("refused: walk_forward train=4000000000d", "POST", "/api/sweeps",
             dict(run, grid=["fast=1,2"], walk_forward="train=4000000000d,test=7d"))
        status, text = case("accepted: 100,000 members (submit)", "POST", "/api/sweeps",
                            dict(run, grid=["fast=1:200:1", "slow=1:500:1"], blocks=20))
        sweep = json.loads(text)["sweep_id"]
        t0 = time.time()
        while json.loads(call(base, "GET", f"/api/sweeps/{sweep}?page_size=1")[1])["status"] in ("queued", "running"):
            time.sleep(0.5)
        ran = time.time() - t0
        case("table page of 10,000 rows sorted by a metric", "GET", f"/api/sweeps/{sweep}?sort=total_return&page_size=10000")
        case("heatmap of 100,000 members (binned)", "GET", f"/api/sweeps/{sweep}/heatmap?x=fast&y=slow")
        case("sweep.parquet download", "GET", f"/api/sweeps/{sweep}/files/sweep.parquet")
        print(f"100,000-member sweep ran in {ran:.1f} s")
        print("| request | status | peak extra RSS (MB) |")
        print("|---|---:|---:|")
        for name, status, extra in rows:
            print(f"| {name} | {status} | {extra:.1f} |")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
