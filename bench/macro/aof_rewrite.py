#!/usr/bin/env python3
"""BGREWRITEAOF of --keys keys (DEBUG POPULATE, 1,000,000 by default) under a
write load, shardnode next to redis-server 7.0.15 (appendonly yes,
appendfsync everysec, standalone).

While the rewrite runs, one thread sends SET in a loop and another PINGs
about every millisecond on its own connection. Printed per server: the
rewrite's wall time (BGREWRITEAOF until aof_rewrite_in_progress:0), RSS
before and the peak RSS growth during the rewrite (the server plus, for
Redis, its forked child, sampled every 20 ms), the longest PING round trip,
and the SETs done meanwhile.

  bench/macro/aof_rewrite.py [--keys N]

Every process it starts is stopped by its pid.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import benchlib as bl


def children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def rss_tree(pid):
    total = 0
    for p in [pid] + children(pid):
        try:
            total += bl.rss_bytes(p)
        except (OSError, RuntimeError):
            pass
    return total


def measure(server, keys):
    c = bl.Conn(server.port, timeout=600)
    c.call("DEBUG", "POPULATE", str(keys), "key", "100")
    # Let the AOF settle (the populate is not in it: DEBUG writes no AOF).
    time.sleep(1)
    rss0 = rss_tree(server.pid)
    stop = threading.Event()
    stats = {"sets": 0, "max_ping_ms": 0.0}

    def writer():
        w = bl.Conn(server.port)
        i = 0
        while not stop.is_set():
            w.call("SET", f"w{i % 10000}", "x" * 100)
            i += 1
        stats["sets"] = i
        w.close()

    def pinger():
        p = bl.Conn(server.port)
        while not stop.is_set():
            t = time.monotonic()
            p.call("PING")
            stats["max_ping_ms"] = max(stats["max_ping_ms"], (time.monotonic() - t) * 1000)
            time.sleep(0.001)
        p.close()

    threads = [threading.Thread(target=writer), threading.Thread(target=pinger)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    start = time.monotonic()
    c.call("BGREWRITEAOF")
    peak = rss0
    while True:
        peak = max(peak, rss_tree(server.pid))
        text = c.call("INFO", "persistence")
        if bl.info_field(text, "aof_rewrite_in_progress") == "0" and \
                bl.info_field(text, "aof_rewrite_scheduled") == "0":
            break
        time.sleep(0.02)
    elapsed = time.monotonic() - start
    stop.set()
    for t in threads:
        t.join(30)
    ok = bl.info_field(c.call("INFO", "persistence"), "aof_last_bgrewrite_status")
    c.close()
    return elapsed, rss0, peak - rss0, stats["max_ping_ms"], stats["sets"], ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--shardnode", default=bl.DEFAULT_SHARDNODE)
    ap.add_argument("--redis", default=bl.DEFAULT_REDIS)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="shardnode-bench-aofrw-")
    print(f"load average before: {bl.load_average()}")
    print("| server | rewrite s | RSS before MB | peak RSS growth MB | longest PING ms |"
          " SETs during | status |")
    print("|---|---|---|---|---|---|---|")
    try:
        for kind, binary in (("shardnode", args.shardnode), ("redis", args.redis)):
            s = bl.Server(kind, binary, os.path.join(tmp, kind),
                          extra=["--appendonly", "yes", "--enable-debug-command", "yes"],
                          cluster=False)
            try:
                el, rss0, growth, ping, sets, ok = measure(s, args.keys)
                print(f"| {kind} | {el:.2f} | {rss0 / 2**20:.0f} | {growth / 2**20:.0f} |"
                      f" {ping:.1f} | {sets} | {ok} |", flush=True)
            finally:
                s.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"load average after: {bl.load_average()}")


if __name__ == "__main__":
    sys.exit(main())
