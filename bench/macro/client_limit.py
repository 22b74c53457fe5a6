#!/usr/bin/env python3
"""SET throughput with maxmemory-clients set and many idle clients connected,
shardnode beside redis-server 7.0.15 (issue 16: client eviction must not
cost every command a walk over every client).

Starts both servers standalone with `--save "" --maxmemory-clients 100mb
--maxclients 20000` on free loopback ports, connects --idle clients to each
(one PING each, then silent), then runs `redis-benchmark -t set -P 16 -c 50`,
interleaved between the servers, --repeat times, for each --idle value.
Prints the median ops/s, the ratio shardnode/redis and the server CPU
microseconds per request.

  bench/macro/client_limit.py [--idle 0,2000] [--repeat 3] [--requests 300000]
      [--cpu LIST] [--bench-cpu LIST] [--shardnode build/shardnode]
      [--redis /usr/bin/redis-server] [--baseline OLD_SHARDNODE]

Every process it starts is stopped by its pid.
"""
import argparse
import os
import resource
import shutil
import socket
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import benchlib as bl  # noqa: E402


def idle_clients(port, n):
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"PING\r\n")
        if not s.recv(16).startswith(b"+PONG"):
            raise RuntimeError("no PONG")
        socks.append(s)
    return socks


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--idle", default="0,2000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--requests", type=int, default=300_000)
    ap.add_argument("--cpu", default=None, help="taskset -c list for the servers")
    ap.add_argument("--bench-cpu", default=None, help="taskset -c list for redis-benchmark")
    ap.add_argument("--shardnode", default=bl.DEFAULT_SHARDNODE)
    ap.add_argument("--redis", default=bl.DEFAULT_REDIS)
    ap.add_argument("--baseline", default=None, help="an older shardnode binary to compare with")
    args = ap.parse_args()
    idles = [int(x) for x in args.idle.split(",")]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 2 * max(idles) + 1000
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))

    tmp = tempfile.mkdtemp(prefix="shardnode-clientlimit-")
    servers = []
    try:
        extra = ["--maxmemory-clients", "100mb", "--maxclients", "20000"]
        bl.start_kinds(servers, tmp, args, extra=extra, cluster=False, cpu=args.cpu)
        print(f"requests={args.requests} -P 16 -c 50 maxmemory-clients=100mb "
              f"repeat={args.repeat} loadavg={bl.load_average()}")
        for n in idles:
            held = {s.kind: idle_clients(s.port, n) for s in servers}
            try:
                ops, cpu = bl.interleaved_medians(
                    servers, args.repeat,
                    lambda s: bl.measured_benchmark(s, ["-t", "set"], args.requests, 50, 16,
                                                    cpu=args.bench_cpu))
            finally:
                for socks in held.values():
                    for s in socks:
                        s.close()
            line = f"idle={n:<6}" + "".join(
                f"  {k} {ops[k] / 1000:.0f}k ({cpu[k]:.2f} us)" for k in ops)
            print(line + f"  shardnode/redis {ops['shardnode'] / ops['redis']:.2f}")
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
