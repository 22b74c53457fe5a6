#!/usr/bin/env python3
"""EVALSHA side by side (issue 12's Measure): shardnode vs redis-server 7.0.15.

Two scripts, loaded with SCRIPT LOAD on both servers and run with
redis-benchmark's custom-command mode as EVALSHA <sha> 1 <random key> ...:

  ratelimit  INCR + PEXPIRE + GET on one key (a fixed-window rate limiter)
  readonly   GET of one key (keys preloaded), no writes

at -P 1 and -P 16. Both servers are cluster-enabled, each one node owning
all 16384 slots (as compare.py). The runs are interleaved (shardnode,
redis, redis, shardnode, ...) --repeat times; the table shows the median
ops/s of each, their ratio, and the median server CPU per call in
microseconds (utime+stime of the server process from /proc/PID/stat, the
delta over the run divided by the calls). Usage:

  bench/macro/evalsha.py [--requests N] [--clients C] [--pipelines 1,16]
                         [--repeat 3] [--keyspace 10000] [--shardnode build/shardnode]

Every process it starts is stopped by its pid.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import benchlib as bl

SCRIPTS = {
    "ratelimit": ("local n = redis.call('INCR', KEYS[1])\n"
                  "redis.call('PEXPIRE', KEYS[1], ARGV[1])\n"
                  "return {n, redis.call('GET', KEYS[1])}\n", ["60000"]),
    "readonly": ("return redis.call('GET', KEYS[1])\n", []),
}


def prepare(server, test, keyspace):
    bl.cli(server.port, "flushall")
    if test == "readonly":
        # redis-benchmark's __rand_int__ is 12 zero-padded digits.
        pipe = "".join(f"SET ro:{i:012d} value-{i}\n" for i in range(keyspace))
        subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(server.port)],
                       input=pipe, capture_output=True, text=True, timeout=300)
    return bl.cli(server.port, "script", "load", SCRIPTS[test][0]).strip()


def run_one(server, test, pipeline, requests, clients, keyspace):
    sha = prepare(server, test, keyspace)
    prefix = "rl" if test == "ratelimit" else "ro"
    load = ["EVALSHA", sha, "1", f"{prefix}:__rand_int__", *SCRIPTS[test][1]]
    return bl.measured_benchmark(server, load, requests, clients, pipeline, keyspace=keyspace)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=300_000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--tests", default="ratelimit,readonly")
    ap.add_argument("--pipelines", default="1,16")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keyspace", type=int, default=10000)
    ap.add_argument("--shardnode", default=bl.DEFAULT_SHARDNODE)
    ap.add_argument("--redis", default=bl.DEFAULT_REDIS)
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="shardnode-bench-")
    servers = []
    try:
        for kind, binary in [("shardnode", args.shardnode), ("redis", args.redis)]:
            servers.append(bl.Server(kind, binary, os.path.join(tmp, kind)))
            bl.single_node_cluster(servers[-1])
        print(f"requests={args.requests} clients={args.clients} repeat={args.repeat} "
              f"keyspace={args.keyspace} loadavg={bl.load_average()}")
        print(f"{'script':<10}{'P':>4}{'shardnode ops/s':>18}{'redis ops/s':>14}{'ratio':>8}"
              f"{'shardnode us/call':>20}{'redis us/call':>16}{'cpu ratio':>11}")
        for pipeline in [int(p) for p in args.pipelines.split(",")]:
            for test in args.tests.split(","):
                ops, cpu = bl.interleaved_medians(
                    servers, args.repeat,
                    lambda s: run_one(s, test, pipeline, args.requests, args.clients,
                                      args.keyspace))
                s_ops, r_ops = ops["shardnode"], ops["redis"]
                s_cpu, r_cpu = cpu["shardnode"], cpu["redis"]
                # cpu ratio: redis / shardnode, so that above 1.0 is better too.
                print(f"{test:<10}{pipeline:>4}{s_ops:>18.0f}{r_ops:>14.0f}{s_ops / r_ops:>8.2f}"
                      f"{s_cpu:>20.2f}{r_cpu:>16.2f}{r_cpu / s_cpu:>11.2f}", flush=True)
        print(f"loadavg at end: {bl.load_average()}")
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
