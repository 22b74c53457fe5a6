#!/usr/bin/env python3
"""Where a reshard's time goes, command by command: shardnode vs redis-server.

For each kind, the two-master cluster of reshard.py (A owns slots 0-8191,
B 8192-16383, --keys keys loaded), then for the first --slots slots of A the
sequence `redis-cli --cluster reshard` sends per slot, from one connection
per node, each command timed alone:

  B: CLUSTER SETSLOT s IMPORTING <A>     A: CLUSTER SETSLOT s MIGRATING <B>
  A: CLUSTER GETKEYSINSLOT s P, MIGRATE ... KEYS ..., until no key is left
  B: CLUSTER SETSLOT s NODE <B>          A: CLUSTER SETSLOT s NODE <B>

Printed: ms per slot, and per command its count, mean, median and 99th
percentile in ms. No PING probe and no redis-cli: the nodes' own latency.
Usage:

  bench/macro/reshard_steps.py [--keys 20000] [--slots 2000] [--pipeline 10]
                               [--kinds shardnode,redis] [--shardnode ...] [--redis ...]

Every process it starts is stopped by its pid; loopback only; every wait is
bounded.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

import benchlib as bl
import migratelib as ml
import reshard as rs


def one_kind(kind, binary, tmp, files, counts, args):
    run_dir = tempfile.mkdtemp(prefix=f"{kind}-steps-", dir=tmp)
    a, b = rs.two_master_cluster(kind, binary, run_dir, 5000)
    try:
        rs.pipe_load(a.port, files[0], counts[0])
        rs.pipe_load(b.port, files[1], counts[1])
        ca, cb = bl.Conn(a.port, timeout=60), bl.Conn(b.port, timeout=60)
        a_id, b_id = ca.call("CLUSTER", "MYID"), cb.call("CLUSTER", "MYID")
        times = {}

        def timed(name, conn, *cmd):
            t0 = time.perf_counter()
            r = conn.call(*cmd)
            times.setdefault(name, []).append(time.perf_counter() - t0)
            if isinstance(r, Exception):
                raise RuntimeError(f"{kind}: {' '.join(map(str, cmd[:4]))}: {r}")
            return r

        start = time.perf_counter()
        for slot in range(args.slots):
            timed("B importing", cb, "CLUSTER", "SETSLOT", slot, "IMPORTING", a_id)
            timed("A migrating", ca, "CLUSTER", "SETSLOT", slot, "MIGRATING", b_id)
            while True:
                keys = timed("A getkeysinslot", ca, "CLUSTER", "GETKEYSINSLOT", slot,
                             args.pipeline)
                if not keys:
                    break
                timed("A migrate", ca, "MIGRATE", "127.0.0.1", b.port, "", 0, 60000, "KEYS",
                      *keys)
            timed("B node", cb, "CLUSTER", "SETSLOT", slot, "NODE", b_id)
            timed("A node", ca, "CLUSTER", "SETSLOT", slot, "NODE", b_id)
        total = time.perf_counter() - start
        ca.close()
        cb.close()
        print(f"{kind}: {args.slots} slots in {total:.2f} s = "
              f"{total / args.slots * 1000:.2f} ms per slot", flush=True)
        for name, v in times.items():
            v.sort()
            print(f"  {name:<16} n={len(v):>6} mean={sum(v) / len(v) * 1e3:7.3f} "
                  f"p50={v[len(v) // 2] * 1e3:7.3f} p99={v[int(len(v) * 0.99)] * 1e3:7.3f}",
                  flush=True)
    finally:
        b.stop()
        a.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keys", type=int, default=20000)
    ap.add_argument("--value-size", type=int, default=100)
    ap.add_argument("--slots", type=int, default=2000)
    ap.add_argument("--pipeline", type=int, default=10)
    ml.add_kind_args(ap)
    args = ap.parse_args()
    binaries = ml.selected_binaries(ap, args)
    tmp = tempfile.mkdtemp(prefix="shardnode-reshard-steps-")
    try:
        files, counts = rs.populate_files(tmp, args.keys, args.value_size)
        print(f"per-slot reshard commands, {args.slots} slots, {args.keys} keys; "
              f"loadavg={bl.load_average()}", flush=True)
        for kind, binary in binaries:
            one_kind(kind, binary, tmp, files, counts, args)
        print(f"loadavg={bl.load_average()}")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
