#!/usr/bin/env python3
"""SET/GET while maxmemory is reached and allkeys-lru evicts, shardnode
beside redis-server 7.0.15 (issue 16).

Starts both servers standalone with `--save "" --maxmemory 10mb
--maxmemory-policy allkeys-lru` on free loopback ports, fills each past the
limit (`-t set -n 100000 -r 1000000 -d 200 -P 16`), then runs
`redis-benchmark -t set -n 300000 -r 1000000 -d 200 -P 16 -c 50` and the
same with `-t get`, interleaved between the servers (shardnode, redis,
redis, shardnode, ...), --repeat times. Over a million random keys nearly
every SET writes a new key, so each one evicts one; the GETs mostly miss.

For each load it prints every run's ops/s, the medians, the ratio
shardnode/redis, and the server CPU microseconds per request (utime +
stime from /proc/PID/stat before and after the load), plus the keys each
server keeps under the limit and its evicted_keys.

  bench/macro/evict.py [--repeat 3] [--requests 300000] [--maxmemory 10mb]
      [--policy allkeys-lru] [--cpu LIST] [--bench-cpu LIST]
      [--shardnode build/shardnode] [--redis /usr/bin/redis-server]
      [--baseline OLD_SHARDNODE]

--baseline adds an older shardnode binary to the same interleaving.
Every process it starts is stopped by its pid.
"""
import argparse
import os
import shutil
import tempfile

import benchlib as bl

KEYSPACE = 1_000_000
SIZE = 200
PIPELINE = 16


def bench(server, test, requests, clients, cpu):
    return bl.measured_benchmark(server, ["-t", test, "-d", str(SIZE)], requests, clients,
                                 PIPELINE, keyspace=KEYSPACE, cpu=cpu)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--requests", type=int, default=300_000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--maxmemory", default="10mb")
    ap.add_argument("--policy", default="allkeys-lru")
    ap.add_argument("--cpu", default=None, help="taskset -c list for the servers")
    ap.add_argument("--bench-cpu", default=None, help="taskset -c list for redis-benchmark")
    ap.add_argument("--shardnode", default=bl.DEFAULT_SHARDNODE)
    ap.add_argument("--redis", default=bl.DEFAULT_REDIS)
    ap.add_argument("--baseline", default=None, help="an older shardnode binary to compare with")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="shardnode-evict-")
    servers = []
    try:
        limit = ["--maxmemory", args.maxmemory, "--maxmemory-policy", args.policy]
        bl.start_kinds(servers, tmp, args, extra=limit, cluster=False, cpu=args.cpu)
        print(f"requests={args.requests} clients={args.clients} -d {SIZE} -P {PIPELINE} "
              f"-r {KEYSPACE} maxmemory={args.maxmemory} policy={args.policy} "
              f"repeat={args.repeat} loadavg={bl.load_average()}")
        for s in servers:
            bl.redis_benchmark(s.port, ["-t", "set", "-d", str(SIZE)], 100_000, args.clients,
                               PIPELINE, keyspace=KEYSPACE, cpu=args.bench_cpu)
            evicted = int(bl.info_field(bl.cli(s.port, "info", "stats"), "evicted_keys"))
            if evicted == 0:
                raise RuntimeError(f"{s.kind} did not reach maxmemory while filling")
        kinds_order = [s.kind for s in servers]
        for test in ("set", "get"):
            ops = {k: [] for k in kinds_order}
            cpu = {k: [] for k in kinds_order}
            for rep in range(args.repeat):
                for s in (servers if rep % 2 == 0 else servers[::-1]):
                    o, c = bench(s, test, args.requests, args.clients, args.bench_cpu)
                    ops[s.kind].append(o)
                    cpu[s.kind].append(c)
            print(f"\n{test.upper()} (ops/s per run; median; server CPU us/request median)")
            for k in kinds_order:
                runs = " ".join(f"{o / 1000:.0f}k" for o in ops[k])
                print(f"  {k:<10} {runs:<30} median {bl.median(ops[k]) / 1000:.0f}k  "
                      f"cpu {bl.median(cpu[k]):.2f} us")
            for k in kinds_order:
                if k == "redis":
                    continue
                print(f"  {k}/redis: ops {bl.median(ops[k]) / bl.median(ops['redis']):.2f}  "
                      f"cpu {bl.median(cpu[k]) / bl.median(cpu['redis']):.2f}")
        print()
        for s in servers:
            stats = bl.cli(s.port, "info", "stats")
            keys = bl.cli(s.port, "dbsize").strip()
            print(f"  {s.kind:<10} keys kept {keys}  "
                  f"evicted_keys {bl.info_field(stats, 'evicted_keys')}")
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
