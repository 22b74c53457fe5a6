#!/usr/bin/env python3
"""Eviction quality: the hit ratio of a Zipfian read load under maxmemory,
shardnode against redis-server 7.0.15, per policy.

Each server starts standalone with --maxmemory (default 5mb) and the policy;
a cache loop reads keys drawn from a Zipf distribution over --keys keys
(exponent --zipf), pipelined --pipeline at a time, and SETs a --size byte
value on every miss (as a look-aside cache does). The first --warmup
lookups fill the cache; the hit ratio is counted over the next --lookups.
The key sequence is the same for both servers (one seed). Prints hits %,
evicted_keys, the keys kept at the end (DBSIZE) and the difference
shardnode - redis in points. Every process
it starts is stopped by its pid.

  bench/macro/hitratio.py [--policies allkeys-lru,allkeys-lfu] [--lookups 200000]
"""
import argparse
import bisect
import itertools
import random
import shutil
import sys
import tempfile

import benchlib as bl


def zipf_sampler(n, s, rng):
    weights = [1.0 / (i + 1) ** s for i in range(n)]
    cum = list(itertools.accumulate(weights))
    total = cum[-1]
    order = list(range(n))
    rng.shuffle(order)  # popular keys spread over the keyspace
    return lambda: order[bisect.bisect_left(cum, rng.random() * total)]


def run(server, keys, args):
    c = bl.Conn(server.port)
    value = b"v" * args.size
    hits = lookups = 0
    pos = 0
    total = args.warmup + args.lookups
    while pos < total:
        batch = keys[pos:pos + args.pipeline]
        c.sock.sendall(b"".join(bl.Conn.encode("GET", f"key:{k}") for k in batch))
        replies = [c.read() for _ in batch]
        misses = [k for k, r in zip(batch, replies) if r is None]
        if pos >= args.warmup:
            lookups += len(batch)
            hits += len(batch) - len(misses)
        if misses:
            c.sock.sendall(b"".join(bl.Conn.encode("SET", f"key:{k}", value) for k in misses))
            for _ in misses:
                c.read()
        pos += len(batch)
    evicted = bl.info_field(c.call("INFO", "stats"), "evicted_keys")
    kept = c.call("DBSIZE")
    c.close()
    return 100.0 * hits / lookups, evicted, kept


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--shardnode", default=bl.DEFAULT_SHARDNODE)
    p.add_argument("--redis", default=bl.DEFAULT_REDIS)
    p.add_argument("--policies", default="allkeys-lru,allkeys-lfu")
    p.add_argument("--maxmemory", default="5mb")
    p.add_argument("--keys", type=int, default=100000)
    p.add_argument("--zipf", type=float, default=1.0)
    p.add_argument("--size", type=int, default=200)
    p.add_argument("--warmup", type=int, default=100000)
    p.add_argument("--lookups", type=int, default=200000)
    p.add_argument("--pipeline", type=int, default=100)
    args = p.parse_args()
    rng = random.Random(16)
    draw = zipf_sampler(args.keys, args.zipf, rng)
    keys = [draw() for _ in range(args.warmup + args.lookups)]
    print(f"{'policy':<14} {'shardnode hit%':>15} {'redis hit%':>11} {'diff (pts)':>11} "
          f"{'evicted sn/redis':>18} {'keys kept sn/redis':>19}")
    for policy in args.policies.split(","):
        row = {}
        for kind, binary in (("shardnode", args.shardnode), ("redis", args.redis)):
            workdir = tempfile.mkdtemp(prefix=f"hitratio-{kind}-")
            server = bl.Server(kind, binary, workdir, cluster=False,
                               extra=["--maxmemory", args.maxmemory,
                                      "--maxmemory-policy", policy])
            try:
                row[kind] = run(server, keys, args)
            finally:
                server.stop()
                shutil.rmtree(workdir, ignore_errors=True)
        (sn, sn_ev, sn_kept), (rd, rd_ev, rd_kept) = row["shardnode"], row["redis"]
        print(f"{policy:<14} {sn:>15.2f} {rd:>11.2f} {sn - rd:>+11.2f} {sn_ev:>9}/{rd_ev:<8} "
              f"{sn_kept:>9}/{rd_kept}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
