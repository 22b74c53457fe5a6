#!/usr/bin/env python3
"""Atomic slot migration vs legacy resharding, in one run.

The cluster and data set of reshard.py: two masters A (slots 0-8191) and B
(8192-16383), --keys keys key:<i> with --value-size byte values loaded on
their owners. Then 8192 slots (about half the keys) move A -> B, timed from
the command to the end, while a PingProbe sends PING to A about every
millisecond:

  atomic   shardnode: CLUSTER MIGRATESLOTS SLOTSRANGE 0 8191 NODE <B>, polling
           CLUSTER GETSLOTMIGRATIONS on A every 10 ms until the job is
           `success` (the slots are B's, paused writers answered MOVED);
  legacy   redis-cli --cluster reshard (defaults: pipeline 10), on
           redis-server 7.0.15 and, with --legacy-shardnode, on shardnode.

`cpu s` is the CPU time both servers used from the command to the end (of
/proc/<pid>/stat; redis-cli's own is not counted): on busy shared cores the
wall time follows how much of a core the scheduler grants, the CPU time
does not. Checked after each run: B holds every moved key (DBSIZE growth equals A's
share), and after the atomic move A's copies are deleted (DBSIZE A + B ==
--keys once A's background delete ends). Usage:

  bench/macro/atomic_reshard.py [--keys 1000000] [--value-size 16]
        [--legacy-shardnode] [--shardnode build/shardnode] [--redis /usr/bin/redis-server]

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
import reshard as rs


def job_state(port):
    # redis-cli prints the RESP2 flat map one value per line.
    lines = bl.cli(port, "CLUSTER", "GETSLOTMIGRATIONS").splitlines()
    if "state" not in lines:
        return None, ""
    i = lines.index("state")
    msg = lines[lines.index("message") + 1] if "message" in lines else ""
    return lines[i + 1], msg


def one_run(mode, kind, binary, tmp, files, counts, node_timeout, keys):
    run_dir = tempfile.mkdtemp(prefix=f"{mode}-{kind}-", dir=tmp)
    a, b = rs.two_master_cluster(kind, binary, run_dir, node_timeout)
    try:
        rs.pipe_load(a.port, files[0], counts[0])
        rs.pipe_load(b.port, files[1], counts[1])
        a_id = bl.cli(a.port, "CLUSTER", "MYID").strip()
        b_id = bl.cli(b.port, "CLUSTER", "MYID").strip()
        b_before = rs.dbsize(b.port)
        cpu0 = bl.cpu_seconds(a.pid) + bl.cpu_seconds(b.pid)
        with ml.PingProbe(a.port) as probe:
            t0 = time.monotonic()
            if mode == "atomic":
                out = bl.cli(a.port, "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", "0",
                             str(rs.HALF - 1), "NODE", b_id).strip()
                if out != "OK":
                    return f"{mode} {kind}: FAILED: {out}"
                deadline = time.monotonic() + 3600
                while True:
                    state, msg = job_state(a.port)
                    if state in ("success", "failed", "cancelled"):
                        break
                    if time.monotonic() > deadline:
                        return f"{mode} {kind}: FAILED: job never ended ({state})"
                    time.sleep(0.01)
                elapsed = time.monotonic() - t0
                if state != "success":
                    return f"{mode} {kind}: FAILED: {state}: {msg}"
            else:
                cmd = ["redis-cli", "--cluster", "reshard", a.addr(), "--cluster-from", a_id,
                       "--cluster-to", b_id, "--cluster-slots", str(rs.HALF), "--cluster-yes"]
                out = subprocess.run(cmd, capture_output=True, text=True, timeout=7200)
                elapsed = time.monotonic() - t0
                if out.returncode != 0:
                    tail = "\n".join((out.stdout + out.stderr).strip().splitlines()[-5:])
                    return f"{mode} {kind}: FAILED: reshard exited {out.returncode}:\n{tail}"
        cpu = bl.cpu_seconds(a.pid) + bl.cpu_seconds(b.pid) - cpu0
        moved = rs.dbsize(b.port) - b_before
        if moved != counts[0]:
            return f"{mode} {kind}: FAILED: {moved} keys moved, expected {counts[0]}"
        deadline = time.monotonic() + 600
        while rs.dbsize(a.port) + rs.dbsize(b.port) != keys:
            if time.monotonic() > deadline:
                return f"{mode} {kind}: FAILED: A still holds {rs.dbsize(a.port)} keys"
            time.sleep(0.1)
        return {"moved": moved, "secs": elapsed, "kps": moved / elapsed, "cpu": cpu,
                "stall": probe.longest * 1000, "over50": probe.over(50)}
    finally:
        b.stop()
        a.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--value-size", type=int, default=16)
    ap.add_argument("--node-timeout", type=int, default=5000)
    ap.add_argument("--legacy-shardnode", action="store_true")
    ap.add_argument("--shardnode", default="build/shardnode")
    ap.add_argument("--redis", default="/usr/bin/redis-server")
    args = ap.parse_args()
    runs = [("atomic", "shardnode", args.shardnode), ("legacy", "redis", args.redis)]
    if args.legacy_shardnode:
        runs.append(("legacy", "shardnode", args.shardnode))
    tmp = tempfile.mkdtemp(prefix="shardnode-asm-")
    failed = False
    try:
        files, counts = rs.populate_files(tmp, args.keys, args.value_size)
        print(f"2 masters, {rs.HALF} slots A -> B ({counts[0]} of {args.keys} keys, "
              f"{args.value_size} B values); loadavg={bl.load_average()}", flush=True)
        print(f"{'mode':<8}{'kind':<11}{'keys':>9}{'secs':>9}{'keys/s':>11}{'stall ms':>10}"
              f"{'>50ms':>7}{'cpu s':>8}", flush=True)
        results = {}
        for mode, kind, binary in runs:
            r = one_run(mode, kind, binary, tmp, files, counts, args.node_timeout, args.keys)
            if isinstance(r, str):
                failed = True
                print(r, flush=True)
                continue
            results[(mode, kind)] = r
            print(f"{mode:<8}{kind:<11}{r['moved']:>9}{r['secs']:>9.2f}{r['kps']:>11.0f}"
                  f"{r['stall']:>10.1f}{r['over50']:>7}{r['cpu']:>8.2f}", flush=True)
        atomic = results.get(("atomic", "shardnode"))
        for (mode, kind), r in results.items():
            if atomic and mode == "legacy":
                print(f"atomic shardnode is {r['secs'] / atomic['secs']:.1f}x faster than "
                      f"legacy {kind} ({r['cpu'] / atomic['cpu']:.1f}x less server CPU)",
                      flush=True)
        print(f"loadavg={bl.load_average()}")
        return 1 if failed else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
