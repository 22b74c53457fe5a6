#!/usr/bin/env python3
"""Replication: shardnode vs redis-server 7.0.15, in one run.

a) Full sync. A primary holds --keys keys key:<12 digits> with --value-size
   byte values (loaded with redis-cli --pipe); a fresh replica of the same
   kind gets REPLICAOF. Measured:

     sync s      REPLICAOF sent -> master_link_status:up on the replica;
     RSS MB      the primary's VmRSS before the sync, and its peak during the
                 sync, sampled every 10 ms from /proc/PID/status; for Redis the
                 peak is of the primary plus its forked child (Redis's child
                 shares pages with its parent, so RSS counts them twice);
     PSS MB      the peak of the same processes' proportional set size
                 (/proc/PID/smaps_rollup, sampled every 100 ms): shared pages
                 counted once, the copy-on-write growth without double counts;
     writes/s    commands the primary served per second during the sync.

   For each kind, target (diskless "socket" and "disk", repl-diskless-sync-
   delay 0) and load: "idle", or "writes" (redis-benchmark -t set -P 16 -d
   --value-size -r --keys: overwrites of random existing keys, running from
   1 s before the REPLICAOF until the link is up).

b) Write throughput with one replica attached (diskless, caught up):
   redis-benchmark -t set -P {16,1} -c 50 -r 100000 -n --requests (-P 1: a
   fifth); ops/s and CPU microseconds per request of the primary
   (utime+stime) and of the replica; median of --repeat, kinds alternating.

Usage: bench/macro/replsync.py [--keys 1000000] [--value-size 100]
           [--requests 1000000] [--repeat 3] [--skip-sync] [--skip-throughput]
           [--shardnode build/shardnode] [--redis /usr/bin/redis-server]
Every process it starts is stopped by its pid.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

import benchlib as bl


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def pss_bytes(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def rss_or_zero(pid):
    try:
        return bl.rss_bytes(pid)
    except (OSError, RuntimeError):
        return 0


def commands_processed(conn):
    return int(bl.info_field(conn.call("INFO", "stats"), "total_commands_processed"))


def populate_file(tmp, keys, value_size):
    """RESP for SET key:<12 digits> <value> over every key: the names
    redis-benchmark -r writes, so that the write load overwrites them."""
    path = os.path.join(tmp, f"populate-{keys}-{value_size}.resp")
    if not os.path.exists(path):
        value = b"x" * value_size
        with open(path, "wb") as f:
            for i in range(keys):
                key = b"key:%012d" % i
                f.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
                        % (len(key), key, len(value), value))
    return path


def populate(port, path, keys):
    with open(path, "rb") as f:
        subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), "--pipe"], stdin=f,
                       capture_output=True, timeout=600, check=True)
    got = bl.cli(port, "DBSIZE").strip()
    if got != str(keys):
        raise RuntimeError(f"populate: DBSIZE {got}, expected {keys}")


def start_pair(kind, binary, tmp, extra):
    run = tempfile.mkdtemp(prefix=f"{kind}-", dir=tmp)
    primary = bl.Server(kind, binary, os.path.join(run, "p"), extra=extra, cluster=False)
    try:
        replica = bl.Server(kind, binary, os.path.join(run, "r"), extra=extra, cluster=False)
    except BaseException:
        primary.stop()
        raise
    return primary, replica


def wait_link(replica_port, primary_port=None, timeout=600, sample=None):
    """Polls every 10 ms until the replica's link is up (and, with
    primary_port, until its offset equals the primary's)."""
    rc = bl.Conn(replica_port, timeout=60)
    pc = bl.Conn(primary_port, timeout=60) if primary_port else None
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = rc.call("INFO", "replication")
            if bl.info_field(text, "master_link_status") == "up":
                if pc is None:
                    return
                mine = bl.info_field(pc.call("INFO", "replication"), "master_repl_offset")
                if bl.info_field(text, "master_repl_offset") == mine:
                    return
            if sample:
                sample()
            time.sleep(0.01)
        raise RuntimeError("replica link not up in time")
    finally:
        rc.close()
        if pc:
            pc.close()


def full_sync(kind, binary, tmp, target, load, keys, value_size):
    extra = ["--repl-diskless-sync", "yes" if target == "socket" else "no",
             "--repl-diskless-sync-delay", "0"]
    primary, replica = start_pair(kind, binary, tmp, extra)
    bench = None
    try:
        populate(primary.port, populate_file(tmp, keys, value_size), keys)
        time.sleep(1)
        base_rss = bl.rss_bytes(primary.pid)
        base_pss = pss_bytes(primary.pid)
        if load == "writes":
            bench = subprocess.Popen(
                ["redis-benchmark", "-h", "127.0.0.1", "-p", str(primary.port), "-t", "set",
                 "-P", "16", "-c", "8", "-d", str(value_size), "-r", str(keys), "-n",
                 "1000000000", "-q"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1)
        peak = {"rss": base_rss, "pss": base_pss}
        last_pss = [0.0]

        def sample():
            pids = [primary.pid] + children(primary.pid)
            peak["rss"] = max(peak["rss"], sum(rss_or_zero(p) for p in pids))
            if time.monotonic() - last_pss[0] >= 0.1:
                last_pss[0] = time.monotonic()
                peak["pss"] = max(peak["pss"], sum(pss_bytes(p) for p in pids))

        pc = bl.Conn(primary.port, timeout=60)
        cmds0 = commands_processed(pc)
        t0 = time.monotonic()
        bl.cli(replica.port, "REPLICAOF", "127.0.0.1", str(primary.port))
        wait_link(replica.port, sample=sample)
        elapsed = time.monotonic() - t0
        served = commands_processed(pc) - cmds0
        pc.close()
        if bench is not None:
            bench.terminate()
            bench.wait(30)
            bench = None
        else:
            wait_link(replica.port, primary.port)
            if bl.cli(primary.port, "DBSIZE") != bl.cli(replica.port, "DBSIZE"):
                raise RuntimeError(f"{kind}: DBSIZE differs after the sync")
        return {"sync": elapsed, "base": base_rss, "peak": peak["rss"], "base_pss": base_pss,
                "peak_pss": peak["pss"], "wps": served / elapsed}
    finally:
        if bench is not None:
            bench.terminate()
            bench.wait(30)
        replica.stop()
        primary.stop()


def throughput(binaries, tmp, requests, repeat):
    pairs = {}
    try:
        for kind, binary in binaries:
            p, r = start_pair(kind, binary, tmp, ["--repl-diskless-sync-delay", "0"])
            pairs[kind] = (p, r)
            bl.cli(r.port, "REPLICAOF", "127.0.0.1", str(p.port))
            wait_link(r.port, p.port, timeout=60)
        results = {}
        for pipeline in (16, 1):
            n = requests if pipeline == 16 else max(requests // 5, 1000)
            rows = {k: [] for k, _ in binaries}
            for rep in range(repeat):
                order = binaries if rep % 2 == 0 else binaries[::-1]
                for kind, _ in order:
                    p, r = pairs[kind]
                    pcpu, rcpu = bl.cpu_seconds(p.pid), bl.cpu_seconds(r.pid)
                    ops = bl.redis_benchmark(p.port, ["-t", "set"], n, 50, pipeline)
                    wait_link(r.port, p.port, timeout=120)
                    row = (ops, (bl.cpu_seconds(p.pid) - pcpu) / n * 1e6,
                           (bl.cpu_seconds(r.pid) - rcpu) / n * 1e6)
                    rows[kind].append(row)
                    print(f"  # -P {pipeline} rep {rep} {kind}: {ops:.0f} ops/s, primary "
                          f"{row[1]:.2f} us/op, replica {row[2]:.2f} us/op", flush=True)
            results[pipeline] = {k: tuple(bl.median([row[i] for row in v]) for i in range(3))
                                 for k, v in rows.items()}
        return results
    finally:
        for p, r in pairs.values():
            r.stop()
            p.stop()


def mb(b):
    return b / (1 << 20)


def print_sync_row(target, load, kind, r):
    print(f"{target:<7}{load:<7}{kind:<10}{r['sync']:>7.2f}{mb(r['base']):>9.0f}"
          f"{mb(r['peak']):>9.0f}{mb(r['peak'] - r['base']):>8.0f}{mb(r['base_pss']):>9.0f}"
          f"{mb(r['peak_pss']):>9.0f}{mb(r['peak_pss'] - r['base_pss']):>8.0f}"
          f"{r['wps']:>10.0f}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=1000000)
    ap.add_argument("--value-size", type=int, default=100)
    ap.add_argument("--requests", type=int, default=1000000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-sync", action="store_true")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--shardnode", default=bl.DEFAULT_SHARDNODE)
    ap.add_argument("--redis", default=bl.DEFAULT_REDIS)
    args = ap.parse_args()
    binaries = [("shardnode", args.shardnode), ("redis", args.redis)]
    tmp = tempfile.mkdtemp(prefix="shardnode-replsync-")
    try:
        if not args.skip_sync:
            print(f"a) full sync of {args.keys} keys x {args.value_size} B; "
                  f"loadavg={bl.load_average()}")
            print(f"{'target':<7}{'load':<7}{'kind':<10}{'sync s':>7}{'RSS base':>9}"
                  f"{'RSS peak':>9}{'growth':>8}{'PSS base':>9}{'PSS peak':>9}{'growth':>8}"
                  f"{'writes/s':>10}")
            for target in ("socket", "disk"):
                for load in ("idle", "writes"):
                    res = {}
                    order = binaries if load == "idle" else binaries[::-1]
                    for kind, binary in order:
                        res[kind] = full_sync(kind, binary, tmp, target, load, args.keys,
                                              args.value_size)
                        print_sync_row(target, load, kind, res[kind])
                    sn, rd = res["shardnode"], res["redis"]
                    print(f"{target:<7}{load:<7}{'ratio':<10}{sn['sync'] / rd['sync']:>7.2f}"
                          f"{'':>9}{sn['peak'] / rd['peak']:>9.2f}{'':>8}{'':>9}"
                          f"{sn['peak_pss'] / max(rd['peak_pss'], 1):>9.2f}", flush=True)
            print(f"loadavg={bl.load_average()}")
        if not args.skip_throughput:
            print(f"b) SET throughput with one replica attached; requests={args.requests} "
                  f"(-P 1: /5) repeat={args.repeat} loadavg={bl.load_average()}", flush=True)
            res = throughput(binaries, tmp, args.requests, args.repeat)
            print(f"{'-P':>3}{'sn ops/s':>11}{'redis ops/s':>12}{'ratio':>7}"
                  f"{'sn us/op':>9}{'redis us/op':>12}{'sn repl us/op':>14}"
                  f"{'redis repl us/op':>17}")
            for pipeline, r in res.items():
                sn, rd = r["shardnode"], r["redis"]
                print(f"{pipeline:>3}{sn[0]:>11.0f}{rd[0]:>12.0f}{sn[0] / rd[0]:>7.2f}"
                      f"{sn[1]:>9.2f}{rd[1]:>12.2f}{sn[2]:>14.2f}{rd[2]:>17.2f}")
            print(f"loadavg={bl.load_average()}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
