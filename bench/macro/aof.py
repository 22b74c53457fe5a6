#!/usr/bin/env python3
"""SET throughput with appendonly yes: shardnode next to redis-server 7.0.15.

For each appendfsync policy (everysec, always) and pipeline depth (1, 16),
both servers (standalone, AOF folder in a temp dir) take the same
redis-benchmark SET load, interleaved --repeat times; prints the median
ops/s of each, the ratio shardnode/redis, and the server CPU microseconds
per request (utime+stime from /proc, fsync worker threads included).

  bench/macro/aof.py [--requests N] [--clients C] [--repeat R]
                     [--policies everysec,always] [--pipelines 1,16]

Every process it starts is stopped by its pid.
"""
import argparse
import os
import shutil
import sys
import tempfile

import benchlib as bl


def run_one(server, pipeline, requests, clients):
    bl.cli(server.port, "flushall")
    before = bl.cpu_seconds(server.pid)
    ops = bl.redis_benchmark(server.port, ["-t", "set"], requests, clients, pipeline)
    cpu = bl.cpu_seconds(server.pid) - before
    return ops, cpu * 1e6 / requests


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=200_000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--policies", default="everysec,always")
    ap.add_argument("--pipelines", default="1,16")
    ap.add_argument("--shardnode", default=bl.DEFAULT_SHARDNODE)
    ap.add_argument("--redis", default=bl.DEFAULT_REDIS)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="shardnode-bench-aof-")
    print(f"load average before: {bl.load_average()}")
    print("| appendfsync | -P | shardnode ops/s | redis ops/s | ratio | shardnode us/req |"
          " redis us/req |")
    print("|---|---|---|---|---|---|---|")
    try:
        for policy in args.policies.split(","):
            servers = []
            try:
                for kind, binary in (("shardnode", args.shardnode), ("redis", args.redis)):
                    servers.append(bl.Server(kind, binary, os.path.join(tmp, f"{kind}-{policy}"),
                                             extra=["--appendonly", "yes", "--appendfsync",
                                                    policy],
                                             cluster=False))
                for p in (int(x) for x in args.pipelines.split(",")):
                    res = {s.kind: ([], []) for s in servers}
                    for r in range(args.repeat):
                        order = servers if r % 2 == 0 else list(reversed(servers))
                        for s in order:
                            ops, cpu = run_one(s, p, args.requests, args.clients)
                            res[s.kind][0].append(ops)
                            res[s.kind][1].append(cpu)
                    sn, rd = res["shardnode"], res["redis"]
                    print(f"| {policy} | {p} | {bl.median(sn[0]):.0f} | {bl.median(rd[0]):.0f} |"
                          f" {bl.median(sn[0]) / bl.median(rd[0]):.2f} |"
                          f" {bl.median(sn[1]):.1f} | {bl.median(rd[1]):.1f} |", flush=True)
            finally:
                for s in servers:
                    s.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"load average after: {bl.load_average()}")


if __name__ == "__main__":
    sys.exit(main())
