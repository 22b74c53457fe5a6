#!/usr/bin/env python3
"""Resharding speed: shardnode vs redis-server 7.0.15, in one run.

For each server kind and each --pipelines value, starts a fresh cluster of
two masters A and B (cluster-enabled, --cluster-node-timeout, cluster-allow-
replica-migration no so that A stays a master when it gives all its slots
away): A owns slots 0-8191, B 8192-16383 (CLUSTER ADDSLOTSRANGE, then CLUSTER
MEET, then waiting until both know each other, say cluster_state:ok and
`redis-cli --cluster check` agrees). Loads --keys keys key:<i> with
--value-size byte values, each on the node owning its slot (redis-cli --pipe
of generated SETs), then times

  redis-cli --cluster reshard A --cluster-from <A id> --cluster-to <B id>
            --cluster-slots 8192 --cluster-yes [--cluster-pipeline P]

(all of A's keys, about half of --keys, move to B) while a PingProbe sends
PING to A, the source, about every millisecond. Printed per kind and
pipeline: keys moved (B's DBSIZE growth), keys/s over the reshard's wall
time, the longest PING round trip on A and how many were over 50 ms; then
the ratio shardnode/redis of keys/s and of the longest stall. After each
reshard the DBSIZE of A plus B must equal --keys (no key lost) and A must
own no slot. Pipeline 10 is redis-cli's default.

A kind whose node does not know MIGRATE (shardnode until it is implemented)
gets a "MIGRATE not supported yet" line instead of figures. Usage:

  bench/macro/reshard.py [--keys 1000000] [--value-size 100] [--pipelines 10,100]
                         [--repeat 1] [--node-timeout 5000] [--kinds shardnode,redis]
                         [--shardnode build/shardnode] [--redis /usr/bin/redis-server]

Every process it starts is stopped by its pid; loopback only; every wait is
bounded.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

import benchlib as bl
import migratelib as ml

HALF = 8192  # A owns slots [0, HALF), B [HALF, 16384)


def populate_files(tmp, keys, value_size):
    """Two RESP files of SET key:<i> <value>: the keys of A's slots, and of
    B's. Made once per run (both kinds load the same files)."""
    paths = (os.path.join(tmp, f"a-{keys}-{value_size}.resp"),
             os.path.join(tmp, f"b-{keys}-{value_size}.resp"))
    counts = [0, 0]
    if not os.path.exists(paths[0]):
        value = b"x" * value_size
        with open(paths[0], "wb") as fa, open(paths[1], "wb") as fb:
            for i in range(keys):
                key = b"key:%d" % i
                side = 0 if ml.key_slot(key) < HALF else 1
                counts[side] += 1
                (fa if side == 0 else fb).write(
                    b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
                    % (len(key), key, len(value), value))
        with open(os.path.join(tmp, f"counts-{keys}-{value_size}"), "w") as f:
            f.write(f"{counts[0]} {counts[1]}")
    with open(os.path.join(tmp, f"counts-{keys}-{value_size}")) as f:
        counts = [int(x) for x in f.read().split()]
    return paths, counts


def pipe_load(port, path, expect):
    with open(path, "rb") as f:
        out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), "--pipe"],
                             stdin=f, capture_output=True, text=True, timeout=900)
    got = bl.cli(port, "DBSIZE").strip()
    if got != str(expect):
        raise RuntimeError(f"load on :{port}: DBSIZE {got}, expected {expect}\n"
                           f"{out.stdout[-2000:]}{out.stderr[-2000:]}")


def dbsize(port):
    return int(bl.cli(port, "DBSIZE").strip())


def cluster_check(server, timeout=60):
    """Polls `redis-cli --cluster check` until every node agrees about the
    slots and all 16384 are covered (reshard refuses to run otherwise)."""
    deadline = time.monotonic() + timeout
    while True:
        out = subprocess.run(["redis-cli", "--cluster", "check", server.addr()],
                             capture_output=True, text=True, timeout=60)
        text = out.stdout + out.stderr
        if (out.returncode == 0 and "[OK] All nodes agree about slots configuration" in text
                and "[OK] All 16384 slots covered" in text):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"cluster check never passed:\n{text}")
        time.sleep(0.2)


def two_master_cluster(kind, binary, run_dir, node_timeout):
    extra = ["--cluster-node-timeout", str(node_timeout),
             "--cluster-allow-replica-migration", "no"]
    a = bl.Server(kind, binary, os.path.join(run_dir, "a"), extra=extra)
    try:
        b = bl.Server(kind, binary, os.path.join(run_dir, "b"), extra=extra)
    except BaseException:
        a.stop()
        raise
    try:
        bl.cli(a.port, "CLUSTER", "ADDSLOTSRANGE", "0", str(HALF - 1))
        bl.cli(b.port, "CLUSTER", "ADDSLOTSRANGE", str(HALF), "16383")
        bl.cli(a.port, "CLUSTER", "MEET", "127.0.0.1", str(b.port))
        bl.wait_cluster_ok([a, b], known=2, timeout=60)
        cluster_check(a)
    except BaseException:
        b.stop()
        a.stop()
        raise
    return a, b


def one_run(kind, binary, tmp, files, counts, pipeline, node_timeout, keys):
    """Returns a dict of figures, or a string saying why there are none."""
    run_dir = tempfile.mkdtemp(prefix=f"{kind}-p{pipeline}-", dir=tmp)
    a, b = two_master_cluster(kind, binary, run_dir, node_timeout)
    try:
        unsupported = ml.migrate_support(a.port, b.port)
        if unsupported:
            return ml.unsupported_line(kind, unsupported)
        pipe_load(a.port, files[0], counts[0])
        pipe_load(b.port, files[1], counts[1])
        a_id = bl.cli(a.port, "CLUSTER", "MYID").strip()
        b_id = bl.cli(b.port, "CLUSTER", "MYID").strip()
        cmd = ["redis-cli", "--cluster", "reshard", a.addr(), "--cluster-from", a_id,
               "--cluster-to", b_id, "--cluster-slots", str(HALF), "--cluster-yes"]
        if pipeline != 10:
            cmd += ["--cluster-pipeline", str(pipeline)]
        b_before = dbsize(b.port)
        cpu_a, cpu_b = bl.cpu_seconds(a.pid), bl.cpu_seconds(b.pid)
        with ml.PingProbe(a.port) as probe:
            t0 = time.monotonic()
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
            elapsed = time.monotonic() - t0
        cpu_a, cpu_b = bl.cpu_seconds(a.pid) - cpu_a, bl.cpu_seconds(b.pid) - cpu_b
        if out.returncode != 0:
            tail = "\n".join((out.stdout + out.stderr).strip().splitlines()[-5:])
            if "unknown command" in tail:
                return f"{kind}: MIGRATE not supported yet (ERR unknown command)  [{tail}]"
            return f"{kind}: FAILED: reshard exited {out.returncode}:\n{tail}"
        if probe.error:
            return f"{kind}: FAILED: PING probe: {probe.error}"
        moved = dbsize(b.port) - b_before
        total = dbsize(a.port) + dbsize(b.port)
        if total != keys:
            return (f"{kind}: FAILED: DBSIZE A+B = {total} after the reshard, "
                    f"expected {keys} (keys lost)")
        if moved != counts[0]:
            return f"{kind}: FAILED: {moved} keys moved, expected {counts[0]}"
        mine = [ln for ln in bl.cli(a.port, "CLUSTER", "NODES").splitlines() if "myself" in ln]
        # id addr flags master-id ping pong epoch link-state, and no slot range
        if not mine or len(mine[0].split()) != 8 or "master" not in mine[0].split()[2]:
            return f"{kind}: FAILED: A is not a master without slots after the reshard: {mine}"
        return {"moved": moved, "secs": elapsed, "kps": moved / elapsed,
                "stall": probe.longest * 1000, "over50": probe.over(50),
                "pings": probe.count, "cpu_a": cpu_a, "cpu_b": cpu_b}
    finally:
        b.stop()
        a.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--value-size", type=int, default=100)
    ap.add_argument("--pipelines", default="10,100")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--node-timeout", type=int, default=5000, help="cluster-node-timeout ms")
    ml.add_kind_args(ap)
    args = ap.parse_args()
    binaries = ml.selected_binaries(ap, args)

    tmp = tempfile.mkdtemp(prefix="shardnode-reshard-")
    try:
        failed = False
        files, counts = populate_files(tmp, args.keys, args.value_size)
        print(f"2 masters, reshard of {HALF} slots A -> B ({counts[0]} of {args.keys} keys, "
              f"{args.value_size} B values); PING on A every ~1 ms; repeat={args.repeat} "
              f"loadavg={bl.load_average()}", flush=True)
        print(f"{'P':>4} {'kind':<10}{'keys':>9}{'secs':>8}{'keys/s':>10}{'stall ms':>10}"
              f"{'>50ms':>7}{'pings':>8}{'cpu A s':>9}{'cpu B s':>9}", flush=True)
        for pipeline in [int(p) for p in args.pipelines.split(",")]:
            runs = {k: [] for k, _ in binaries}
            skipped = {}
            for rep in range(args.repeat):
                order = binaries if rep % 2 == 0 else binaries[::-1]
                for kind, binary in order:
                    if kind in skipped:
                        continue
                    r = one_run(kind, binary, tmp, files, counts, pipeline,
                                args.node_timeout, args.keys)
                    if isinstance(r, str):
                        skipped[kind] = r
                        failed |= "FAILED" in r
                        print(f"{pipeline:>4} {r}", flush=True)
                        continue
                    runs[kind].append(r)
                    print(f"{pipeline:>4} {kind:<10}{r['moved']:>9}{r['secs']:>8.2f}"
                          f"{r['kps']:>10.0f}{r['stall']:>10.1f}{r['over50']:>7}{r['pings']:>8}"
                          f"{r['cpu_a']:>9.2f}{r['cpu_b']:>9.2f}", flush=True)
            med = {k: {f: bl.median([r[f] for r in v]) for f in ("kps", "stall")}
                   for k, v in runs.items() if v}
            for k, m in med.items():
                if args.repeat > 1:
                    print(f"{pipeline:>4} {k + ' med':<10}{'':>9}{'':>8}{m['kps']:>10.0f}"
                          f"{m['stall']:>10.1f}", flush=True)
            if "shardnode" in med and "redis" in med:
                sn, rd = med["shardnode"], med["redis"]
                print(f"{pipeline:>4} {'ratio':<10}{'':>9}{'':>8}{sn['kps'] / rd['kps']:>10.2f}"
                      f"{sn['stall'] / rd['stall']:>10.2f}   (shardnode / redis)", flush=True)
        print(f"loadavg={bl.load_average()}")
        return 1 if failed else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
