#!/usr/bin/env python3
"""Server CPU time per request, shardnode beside redis-server 7.0.15.

Starts both (each a one-node cluster owning all 16384 slots, or standalone
with --standalone) on free loopback ports and runs the same redis-benchmark
load against each, interleaved (shardnode, redis, redis, shardnode, ...),
--repeat times. For each row it prints the median server CPU microseconds
per request (utime + stime of the server process from /proc/PID/stat,
before and after the load, divided by the requests), the ratio
shardnode/redis, and the median ops/s of each.

CPU per request is what the server spent, whatever else the machine runs:
it moves much less with the machine's load than ops/s or latency do, so it
can be compared on a busy machine (a busy one still adds cache misses and
context switches, so compare the two servers measured in the same run).

  bench/macro/cpu_per_request.py [--tests set,get,incr,lpush,hset,zadd]
      [--pipelines 1,16] [--clients 50] [--requests 200000] [--repeat 3]
      [--threads N] [--cpu LIST] [--bench-cpu LIST] [--standalone]
      [--syscalls] [--shardnode build/shardnode] [--redis /usr/bin/redis-server]
      [--baseline OLD_SHARDNODE]

--threads N starts shardnode with `--threads N` (redis-server has one).
--cpu LIST pins each server with taskset -c LIST (for example 0, or 2-5);
--bench-cpu LIST pins redis-benchmark, so the load runs elsewhere.
--syscalls adds one run per row under `strace -c -f` and prints the
system calls per request of each server (strace slows the server down a
lot: those runs are not counted in the CPU figures).
--baseline adds an older shardnode binary to the same interleaving.

Every process it starts is stopped by its pid.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import benchlib as bl

TESTS = "set,get,incr,lpush,hset,zadd"


def run_load(server, test, pipeline, requests, clients, bench_cpu):
    bl.cli(server.port, "flushall")
    if test == "get":
        # GET of keys that exist (redis-benchmark's SET writes key:__rand_int__).
        bl.redis_benchmark(server.port, ["-t", "set"], 100000, clients, 16, cpu=bench_cpu)
    return bl.measured_benchmark(server, ["-t", test], requests, clients, pipeline, cpu=bench_cpu)


def strace_counts(server, test, pipeline, requests, clients, bench_cpu, workdir):
    """System calls per request of `server` over one load, by name."""
    out = os.path.join(workdir, f"strace-{server.kind}-{test}-{pipeline}.txt")
    bl.cli(server.port, "flushall")
    if test == "get":
        bl.redis_benchmark(server.port, ["-t", "set"], 100000, clients, 16, cpu=bench_cpu)
    tracer = subprocess.Popen(["strace", "-c", "-f", "-o", out, "-p", str(server.pid)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # strace prints "Process N attached" once it holds every thread; a
        # tiny bounded wait covers the attach before the load starts.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with open(f"/proc/{server.pid}/status") as f:
                if re.search(r"^TracerPid:\s*[1-9]", f.read(), re.M):
                    break
            time.sleep(0.02)
        bl.redis_benchmark(server.port, ["-t", test], requests, clients, pipeline, cpu=bench_cpu)
    finally:
        tracer.send_signal(signal.SIGINT)
        tracer.wait(30)
    counts = {}
    with open(out) as f:
        for line in f:
            parts = line.split()
            # % time, seconds, usecs/call, calls, [errors], syscall
            if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
                counts[parts[-1]] = int(parts[3])
    return {name: n / requests for name, n in counts.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tests", default=TESTS)
    ap.add_argument("--pipelines", default="1,16")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cpu", default=None, help="taskset -c list for the servers")
    ap.add_argument("--bench-cpu", default=None, help="taskset -c list for redis-benchmark")
    ap.add_argument("--standalone", action="store_true")
    ap.add_argument("--syscalls", action="store_true")
    ap.add_argument("--shardnode", default=bl.DEFAULT_SHARDNODE)
    ap.add_argument("--redis", default=bl.DEFAULT_REDIS)
    ap.add_argument("--baseline", default=None, help="an older shardnode binary to compare with")
    args = ap.parse_args()
    if args.syscalls and shutil.which("strace") is None:
        sys.exit("--syscalls needs strace")

    tmp = tempfile.mkdtemp(prefix="shardnode-cpu-")
    servers = []
    try:
        kinds = [("shardnode", args.shardnode, ["--threads", str(args.threads)]),
                 ("redis", args.redis, [])]
        if args.baseline:
            kinds.append(("baseline", args.baseline, ["--threads", str(args.threads)]))
        for kind, binary, extra in kinds:
            servers.append(bl.Server(kind, binary, os.path.join(tmp, kind), extra=extra,
                                     cluster=not args.standalone, cpu=args.cpu))
            if not args.standalone:
                bl.single_node_cluster(servers[-1])
        print(f"requests={args.requests} clients={args.clients} repeat={args.repeat} "
              f"threads={args.threads} cpu={args.cpu or '-'} bench-cpu={args.bench_cpu or '-'} "
              f"{'standalone' if args.standalone else 'cluster'} loadavg={bl.load_average()}")
        header = (f"{'test':<7}{'P':>4}{'shardnode us/req':>18}{'redis us/req':>14}{'ratio':>7}"
                  f"{'shardnode ops/s':>17}{'redis ops/s':>13}")
        if args.baseline:
            header += f"{'baseline us/req':>17}{'new/old':>9}"
        print(header)
        rows = []
        for pipeline in [int(p) for p in args.pipelines.split(",")]:
            for test in args.tests.split(","):
                ops, cpu = bl.interleaved_medians(
                    servers, args.repeat,
                    lambda s: run_load(s, test, pipeline, args.requests, args.clients,
                                       args.bench_cpu))
                s_cpu, r_cpu = cpu["shardnode"], cpu["redis"]
                line = (f"{test:<7}{pipeline:>4}{s_cpu:>18.2f}{r_cpu:>14.2f}{s_cpu / r_cpu:>7.2f}"
                        f"{ops['shardnode']:>17.0f}{ops['redis']:>13.0f}")
                if args.baseline:
                    b_cpu = cpu["baseline"]
                    line += f"{b_cpu:>17.2f}{s_cpu / b_cpu:>9.2f}"
                print(line, flush=True)
                rows.append((test, pipeline))
        if args.syscalls:
            print("\nsystem calls per request (one run each under strace -c -f)")
            for test, pipeline in rows:
                for s in servers:
                    per = strace_counts(s, test, pipeline, args.requests // 4, args.clients,
                                        args.bench_cpu, tmp)
                    top = sorted(per.items(), key=lambda kv: -kv[1])
                    total = sum(per.values())
                    shown = " ".join(f"{k}={v:.2f}" for k, v in top if v >= 0.005)
                    print(f"{test:<7}{pipeline:>4} {s.kind:<10} total={total:.2f} {shown}",
                          flush=True)
        print(f"loadavg at end: {bl.load_average()}")
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
