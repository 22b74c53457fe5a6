#!/usr/bin/env python3
"""Data types side by side: shardnode vs redis-server 7.0.15.

Part 1, memory per key. For each data set, a FRESH server of each kind
(cluster-enabled, one node owning all slots; order alternating) is loaded
with the same file of RESP commands through `redis-cli --pipe`, and the
growth is divided by the number of keys:

  hash   1,000,000 keys h:<i>, HSET of 5 fields f1..f5 with 8-byte values
  set    1,000,000 keys s:<i>, SADD of 5 string members (member:1..member:5;
         non-integer, so Redis 7.0 keeps them as a hashtable, not an intset)
  intset 1,000,000 keys n:<i>, SADD of 5 integers 1000..5999 (an intset of
         16-bit members in both)
  list     100,000 keys l:<i>, RPUSH of 100 elements element-<j> (11-12 B)
  zset     100,000 keys z:<i>, ZADD of 100 members member:<j> with score j

Two measures: the RSS delta (VmRSS from /proc/<pid>/status after minus
before loading; what the OS pays, allocator overhead included; the primary
figure) and the INFO used_memory delta (each server's own allocator
accounting: jemalloc's for Redis, shardnode's own counter; not strictly
comparable). Also prints the load rate of the pipe.

Part 2, throughput. redis-benchmark -t lpush,lpop,sadd,hset,zadd -P 16
-c 50 -n N (the built-in tests: LPUSH/LPOP on one list, SADD/HSET/ZADD with
random members into one key), --repeat times alternating the server order;
prints median ops/s, ratio, and server CPU microseconds per operation.

  bench/macro/datatypes.py [--scale 1.0] [--requests 1000000] [--repeat 3]
                           [--skip-memory] [--skip-throughput]
                           [--shardnode build/shardnode]

--scale shrinks the key counts for a quick try. Every process it starts is
stopped by its pid.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import benchlib as bl

enc = bl.Conn.encode


def gen_hash(i):
    return enc("HSET", f"h:{i}", *[a for j in range(1, 6) for a in (f"f{j}", f"val{i % 100000:05d}")])


def gen_set(i):
    return enc("SADD", f"s:{i}", *[f"member:{j}" for j in range(1, 6)])


def gen_intset(i):
    return enc("SADD", f"n:{i}", *[str(j * 1000 + i % 1000) for j in range(1, 6)])


LIST_ELEMS = [f"element-{j}" for j in range(100)]
ZSET_ARGS = [a for j in range(100) for a in (str(j), f"member:{j}")]


def gen_list(i):
    return enc("RPUSH", f"l:{i}", *LIST_ELEMS)


def gen_zset(i):
    return enc("ZADD", f"z:{i}", *ZSET_ARGS)


DATASETS = [("hash", 1_000_000, gen_hash), ("set", 1_000_000, gen_set),
            ("intset", 1_000_000, gen_intset), ("list", 100_000, gen_list),
            ("zset", 100_000, gen_zset)]


def write_file(path, keys, gen):
    with open(path, "wb") as f:
        batch = []
        for i in range(keys):
            batch.append(gen(i))
            if len(batch) == 10000:
                f.write(b"".join(batch))
                batch = []
        f.write(b"".join(batch))


def used_memory(server):
    return int(bl.info_field(bl.cli(server.port, "info", "memory"), "used_memory"))


def load_pipe(server, path):
    with open(path, "rb") as f:
        out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(server.port), "--pipe"],
                             stdin=f, capture_output=True, text=True, timeout=900)
    m = re.search(r"errors: (\d+), replies: (\d+)", out.stdout)
    if not m or m.group(1) != "0":
        raise RuntimeError(f"{server.kind}: pipe failed:\n{out.stdout}\n{out.stderr}")
    return int(m.group(2))


def memory_part(args, tmp):
    binaries = [("shardnode", args.shardnode), ("redis", args.redis)]
    print(f"memory per key (fresh server per data set), loadavg={bl.load_average()}")
    print(f"{'type':<6}{'keys':>9}{'sn RSS B/key':>14}{'redis RSS B/key':>17}{'ratio':>7}"
          f"{'sn used B/key':>15}{'redis used B/key':>18}{'sn load/s':>11}{'redis load/s':>14}")
    for idx, (name, keys, gen) in enumerate(DATASETS):
        keys = max(1, int(keys * args.scale))
        path = os.path.join(tmp, f"{name}.resp")
        write_file(path, keys, gen)
        res = {}
        order = binaries if idx % 2 == 0 else binaries[::-1]
        for kind, binary in order:
            s = bl.Server(kind, binary, os.path.join(tmp, f"{kind}-{name}"))
            try:
                bl.single_node_cluster(s)
                time.sleep(0.5)
                rss0, used0 = bl.rss_bytes(s.pid), used_memory(s)
                t0 = time.monotonic()
                replies = load_pipe(s, path)
                elapsed = time.monotonic() - t0
                time.sleep(1.0)
                rss1, used1 = bl.rss_bytes(s.pid), used_memory(s)
                dbsize = int(bl.cli(s.port, "dbsize").strip())
                if replies != keys or dbsize != keys:
                    raise RuntimeError(f"{kind} {name}: replies={replies} dbsize={dbsize}")
                res[kind] = ((rss1 - rss0) / keys, (used1 - used0) / keys, keys / elapsed)
            finally:
                s.stop()
        os.remove(path)
        (s_rss, s_used, s_rate), (r_rss, r_used, r_rate) = res["shardnode"], res["redis"]
        print(f"{name:<6}{keys:>9}{s_rss:>14.1f}{r_rss:>17.1f}{s_rss / r_rss:>7.2f}"
              f"{s_used:>15.1f}{r_used:>18.1f}{s_rate:>11.0f}{r_rate:>14.0f}", flush=True)


def throughput_part(args, tmp):
    tests = args.tests.split(",")
    servers = []
    try:
        for kind, binary in (("shardnode", args.shardnode), ("redis", args.redis)):
            servers.append(bl.Server(kind, binary, os.path.join(tmp, f"{kind}-tp")))
            bl.single_node_cluster(servers[-1])
        ops = {(s.kind, t): [] for s in servers for t in tests}
        cpu = {(s.kind, t): [] for s in servers for t in tests}
        for rep in range(args.repeat):
            order = servers if rep % 2 == 0 else servers[::-1]
            for s in order:
                bl.cli(s.port, "flushall")
                for t in tests:  # in order: LPOP pops what LPUSH pushed
                    before = bl.cpu_seconds(s.pid)
                    ops[(s.kind, t)].append(bl.redis_benchmark(
                        s.port, ["-t", t], args.requests, args.clients, 16))
                    cpu[(s.kind, t)].append(
                        (bl.cpu_seconds(s.pid) - before) * 1e6 / args.requests)
        print(f"\nthroughput: redis-benchmark -P 16 -c {args.clients} -n {args.requests}, "
              f"median of {args.repeat}, loadavg={bl.load_average()}")
        print(f"{'test':<8}{'shardnode ops/s':>17}{'redis ops/s':>14}{'ratio':>7}"
              f"{'sn cpu us/op':>14}{'redis cpu us/op':>17}")
        for t in tests:
            s_ops, r_ops = bl.median(ops[("shardnode", t)]), bl.median(ops[("redis", t)])
            s_cpu, r_cpu = bl.median(cpu[("shardnode", t)]), bl.median(cpu[("redis", t)])
            print(f"{t:<8}{s_ops:>17.0f}{r_ops:>14.0f}{s_ops / r_ops:>7.2f}{s_cpu:>14.3f}"
                  f"{r_cpu:>17.3f}", flush=True)
    finally:
        for s in servers:
            s.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tests", default="lpush,lpop,sadd,hset,zadd")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--shardnode", default=bl.DEFAULT_SHARDNODE)
    ap.add_argument("--redis", default=bl.DEFAULT_REDIS)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="shardnode-datatypes-")
    try:
        if not args.skip_memory:
            memory_part(args, tmp)
        if not args.skip_throughput:
            throughput_part(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
