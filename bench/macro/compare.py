#!/usr/bin/env python3
"""Side-by-side throughput of shardnode and redis-server 7.0.15.

Starts both, each cluster-enabled as one node owning all 16384 slots, on
free loopback ports; runs the same redis-benchmark loads against each in the
same run; prints ops/s for each, the ratio shardnode/redis, and the server
CPU seconds per million requests (utime+stime of the server process, from
/proc). Usage:

  bench/macro/compare.py [--requests N] [--clients C] [--tests set,get,incr,mset]
                         [--pipelines 1,16] [--shardnode build/shardnode]

Every process it starts is stopped by its pid.
"""
import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def free_port():
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port <= 55535:
            return port


def cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True,
                          timeout=30).stdout


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def start(binary, workdir):
    port = free_port()
    os.makedirs(workdir, exist_ok=True)
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1",
                             "--cluster-enabled", "yes", "--dir", workdir, "--save", "",
                             "--appendonly", "no", "--logfile", os.path.join(workdir, "log.txt")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while cli(port, "ping").strip() != "PONG":
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError(f"{binary} did not start")
        time.sleep(0.05)
    cli(port, "cluster", "addslotsrange", "0", "16383")
    deadline = time.monotonic() + 15
    while "cluster_state:ok" not in cli(port, "cluster", "info"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{binary} never reached cluster_state:ok")
        time.sleep(0.1)
    return proc, port


# One node owns every slot, so single-key loads run as redis-benchmark's
# built-in tests. Its MSET writes ten unrelated keys (CROSSSLOT in cluster
# mode), so MSET runs as an explicit command whose ten keys share a hash tag.
MSET_COMMAND = ["MSET"] + [a for i in range(10)
                           for a in (f"{{t}}key{i}:__rand_int__", "xxx")]


def bench(port, pid, test, pipeline, requests, clients):
    cli(port, "flushall")
    before = cpu_seconds(pid)
    load = MSET_COMMAND if test == "mset" else ["-t", test]
    out = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-r", "100000",
                          "-P", str(pipeline), "-c", str(clients), "-n", str(requests), "-q",
                          *load], capture_output=True, text=True, timeout=900)
    cpu = cpu_seconds(pid) - before
    m = re.search(r"([\d.]+) requests per second", out.stdout.replace("\r", "\n"))
    if not m:
        raise RuntimeError(f"no result for {test} -P {pipeline}:\n{out.stdout}\n{out.stderr}")
    return float(m.group(1)), cpu * 1e6 / requests


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--tests", default="set,get,incr,mset")
    ap.add_argument("--pipelines", default="1,16")
    ap.add_argument("--shardnode", default=os.path.join(ROOT, "build", "shardnode"))
    ap.add_argument("--redis", default=shutil.which("redis-server") or "/usr/bin/redis-server")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="shardnode-bench-")
    procs = []
    try:
        servers = {}
        for name, binary in (("shardnode", args.shardnode), ("redis", args.redis)):
            proc, port = start(binary, os.path.join(tmp, name))
            procs.append(proc)
            servers[name] = (proc.pid, port)
        print(f"requests={args.requests} clients={args.clients}")
        print(f"{'test':<8}{'P':>4}{'shardnode ops/s':>18}{'redis ops/s':>14}{'ratio':>8}"
              f"{'shardnode cpu s/M':>20}{'redis cpu s/M':>16}")
        for pipeline in [int(p) for p in args.pipelines.split(",")]:
            for test in args.tests.split(","):
                results = {}
                for name, (pid, port) in servers.items():
                    results[name] = bench(port, pid, test, pipeline, args.requests, args.clients)
                (s_ops, s_cpu), (r_ops, r_cpu) = results["shardnode"], results["redis"]
                print(f"{test:<8}{pipeline:>4}{s_ops:>18.0f}{r_ops:>14.0f}{s_ops / r_ops:>8.2f}"
                      f"{s_cpu:>20.2f}{r_cpu:>16.2f}", flush=True)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
