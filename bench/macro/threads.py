#!/usr/bin/env python3
"""Shard-thread scaling (issue 18): ops/s and p99 latency of shardnode at
several `threads` counts next to redis-server 7.0.15, alone and with
`io-threads 4` (Redis's own I/O threads, reads included), in one run.

Every server is a one-node cluster owning all 16384 slots (--standalone:
not cluster-enabled). Each row (test, pipeline, clients) runs redis-benchmark
against every server, interleaved (the order reversed every other round),
--repeat times; the medians are printed with the ratios threadsN / threads1
and threadsN / redis-io4. Usage:

  bench/macro/threads.py [--threads 1,2,4,8] [--tests set,get,incr,lpush,hset,zadd]
                         [--pipelines 1,16] [--clients 50,400] [--requests 1000000]
                         [--repeat 3] [--cpu LIST] [--bench-cpu LIST] [--bench-threads 8]
                         [--standalone] [--shardnode build/shardnode] [--redis redis-server]

--cpu pins every server with taskset -c LIST (give each the same cores: a
server at threads 4 needs 4 of them to scale); --bench-cpu pins
redis-benchmark, which runs with --threads --bench-threads. On a machine
with fewer cores than threads plus benchmark threads the figures say little
about scaling: record the machine with them. Every process it starts is
stopped by its pid.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

import benchlib as bl

TESTS = "set,get,incr,lpush,hset,zadd"


def benchmark(server, test, pipeline, requests, clients, bench_cpu, bench_threads):
    """One redis-benchmark load: (ops/s, p99 ms)."""
    bl.cli(server.port, "flushall")
    pin = ["taskset", "-c", bench_cpu] if bench_cpu else []
    threads = ["--threads", str(bench_threads)] if bench_threads > 1 else []
    out = subprocess.run([*pin, "redis-benchmark", "-h", "127.0.0.1", "-p", str(server.port),
                          "-r", "100000", "-P", str(pipeline), "-c", str(clients), "-n",
                          str(requests), *threads, "--csv", "-t", test],
                         capture_output=True, text=True, timeout=900)
    # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",
    # "p95_latency_ms","p99_latency_ms","max_latency_ms"
    for line in out.stdout.splitlines():
        fields = [f.strip('"') for f in line.split(",")]
        if len(fields) >= 7 and re.fullmatch(r"[\d.]+", fields[1]):
            return float(fields[1]), float(fields[6])
    raise RuntimeError(f"no result for {test}:\n{out.stdout}\n{out.stderr}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1,2,4,8")
    ap.add_argument("--tests", default=TESTS)
    ap.add_argument("--pipelines", default="1,16")
    ap.add_argument("--clients", default="50,400")
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cpu", default=None, help="taskset -c list for the servers")
    ap.add_argument("--bench-cpu", default=None, help="taskset -c list for redis-benchmark")
    ap.add_argument("--bench-threads", type=int, default=8)
    ap.add_argument("--standalone", action="store_true")
    ap.add_argument("--shardnode", default=bl.DEFAULT_SHARDNODE)
    ap.add_argument("--redis", default=bl.DEFAULT_REDIS)
    args = ap.parse_args()
    counts = [int(t) for t in args.threads.split(",")]

    tmp = tempfile.mkdtemp(prefix="shardnode-threads-")
    servers = []
    try:
        kinds = [(f"t{n}", args.shardnode, ["--threads", str(n)]) for n in counts]
        kinds += [("redis", args.redis, []),
                  ("redis-io4", args.redis, ["--io-threads", "4", "--io-threads-do-reads", "yes"])]
        for kind, binary, extra in kinds:
            servers.append(bl.Server(kind, binary, os.path.join(tmp, kind), extra=extra,
                                     cluster=not args.standalone, cpu=args.cpu))
            if not args.standalone:
                bl.single_node_cluster(servers[-1])
        print(f"requests={args.requests} repeat={args.repeat} cpu={args.cpu or '-'} "
              f"bench-cpu={args.bench_cpu or '-'} bench-threads={args.bench_threads} "
              f"{'standalone' if args.standalone else 'cluster'} nproc={os.cpu_count()} "
              f"loadavg={bl.load_average()}")
        header = f"{'test':<6}{'P':>3}{'c':>5}" + "".join(f"{s.kind + ' ops/s':>16}" for s in servers)
        header += "".join(f"{f't{n}/t1':>8}{f't{n}/io4':>9}" for n in counts[1:])
        header += "".join(f"{s.kind + ' p99':>14}" for s in servers)
        print(header)
        for clients in [int(c) for c in args.clients.split(",")]:
            for pipeline in [int(p) for p in args.pipelines.split(",")]:
                for test in args.tests.split(","):
                    ops, p99 = bl.interleaved_medians(
                        servers, args.repeat,
                        lambda s: benchmark(s, test, pipeline, args.requests, clients,
                                            args.bench_cpu, args.bench_threads))
                    line = f"{test:<6}{pipeline:>3}{clients:>5}"
                    line += "".join(f"{ops[s.kind]:>16.0f}" for s in servers)
                    base = ops[f"t{counts[0]}"]
                    line += "".join(f"{ops[f't{n}'] / base:>8.2f}"
                                    f"{ops[f't{n}'] / ops['redis-io4']:>9.2f}" for n in counts[1:])
                    line += "".join(f"{p99[s.kind]:>14.3f}" for s in servers)
                    print(line, flush=True)
        print(f"loadavg at end: {bl.load_average()}")
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
