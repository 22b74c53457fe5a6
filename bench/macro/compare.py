#!/usr/bin/env python3
"""Side-by-side throughput of shardnode and redis-server 7.0.15.

Starts both, each cluster-enabled as one node owning all 16384 slots, on
free loopback ports; runs the same redis-benchmark loads against each in the
same run, interleaved (shardnode, redis, redis, shardnode, ... so neither
always goes first), --repeat times; prints the median ops/s of each, the
ratio shardnode/redis, and the median server CPU seconds per million
requests (utime+stime of the server process, from /proc). Usage:

  bench/macro/compare.py [--requests N] [--clients C] [--tests set,get,incr,mset]
                         [--pipelines 1,16] [--repeat 3] [--shardnode build/shardnode]
                         [--baseline OLD_BINARY] [--cpu LIST] [--bench-cpu LIST]

--baseline adds a third server, an older shardnode binary (for example one
built from the commit before a change), run in the same interleaving; the
extra columns give its ops/s and the ratio new/old, so a change is measured
against its predecessor in one run on the same machine load.

--cpu LIST pins each server with taskset -c LIST and --bench-cpu LIST pins
redis-benchmark (for example --cpu 0 --bench-cpu 1 on two cores, so the
server and its load never share a core).

Every process it starts is stopped by its pid.
"""
import argparse
import os
import shutil
import sys
import tempfile

import benchlib as bl

# One node owns every slot, so single-key loads run as redis-benchmark's
# built-in tests. Its MSET writes ten unrelated keys (CROSSSLOT in cluster
# mode), so MSET runs as an explicit command whose ten keys share a hash tag.
MSET_COMMAND = ["MSET"] + [a for i in range(10) for a in (f"{{t}}key{i}:__rand_int__", "xxx")]
# Bitmap and HyperLogLog loads (--tests setbit,bitcount,pfadd,pfcount).
# SETBIT sets bit 1000 of random keys (redis-benchmark's zero-padded
# __rand_int__ is no valid offset); BITCOUNT counts one 12.5 KB bitmap;
# PFADD adds random elements to one HLL; PFCOUNT reads a sparse HLL of 1000
# elements (its cached cardinality after the first call, as in Redis).
COMMANDS = {
    "mset": MSET_COMMAND,
    "setbit": ["SETBIT", "bits:__rand_int__", "1000", "1"],
    "bitcount": ["BITCOUNT", "bits"],
    "pfadd": ["PFADD", "hll", "__rand_int__"],
    "pfcount": ["PFCOUNT", "hll"],
}
PREPARE = {
    "bitcount": [["SETBIT", "bits", "99999", "1"]],
    "pfcount": [["PFADD", "hll"] + [str(i) for i in range(1000)]],
}


def run_one(server, test, pipeline, requests, clients, bench_cpu):
    bl.cli(server.port, "flushall")
    for cmd in PREPARE.get(test, []):
        bl.cli(server.port, *cmd)
    return bl.measured_benchmark(server, COMMANDS.get(test, ["-t", test]), requests, clients,
                                 pipeline, cpu=bench_cpu)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--tests", default="set,get,incr,mset")
    ap.add_argument("--pipelines", default="1,16")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--shardnode", default=bl.DEFAULT_SHARDNODE)
    ap.add_argument("--redis", default=bl.DEFAULT_REDIS)
    ap.add_argument("--baseline", default=None, help="an older shardnode binary to compare with")
    ap.add_argument("--cpu", default=None, help="taskset -c list for the servers")
    ap.add_argument("--bench-cpu", default=None, help="taskset -c list for redis-benchmark")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="shardnode-bench-")
    servers = []
    try:
        bl.start_kinds(servers, tmp, args, cpu=args.cpu)
        for s in servers:
            bl.single_node_cluster(s)
        print(f"requests={args.requests} clients={args.clients} repeat={args.repeat} "
              f"cpu={args.cpu or '-'} bench-cpu={args.bench_cpu or '-'} "
              f"loadavg={bl.load_average()}")
        print(f"{'test':<8}{'P':>4}{'shardnode ops/s':>18}{'redis ops/s':>14}{'ratio':>8}"
              f"{'shardnode cpu s/M':>20}{'redis cpu s/M':>16}" +
              (f"{'baseline ops/s':>16}{'new/old':>9}{'baseline cpu s/M':>18}"
               if args.baseline else ""))
        for pipeline in [int(p) for p in args.pipelines.split(",")]:
            for test in args.tests.split(","):
                ops, cpu = bl.interleaved_medians(
                    servers, args.repeat,
                    lambda s: run_one(s, test, pipeline, args.requests, args.clients,
                                      args.bench_cpu))
                s_ops, r_ops = ops["shardnode"], ops["redis"]
                s_cpu, r_cpu = cpu["shardnode"], cpu["redis"]
                line = (f"{test:<8}{pipeline:>4}{s_ops:>18.0f}{r_ops:>14.0f}{s_ops / r_ops:>8.2f}"
                        f"{s_cpu:>20.2f}{r_cpu:>16.2f}")
                if args.baseline:
                    b_ops, b_cpu = ops["baseline"], cpu["baseline"]
                    line += f"{b_ops:>16.0f}{s_ops / b_ops:>9.2f}{b_cpu:>18.2f}"
                print(line, flush=True)
        print(f"loadavg at end: {bl.load_average()}")
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
