#!/usr/bin/env python3
"""MIGRATE of one big hash: shardnode vs redis-server 7.0.15, in one run.

For each server kind, starts two standalone nodes A and B (MIGRATE works the
same outside a cluster: DUMP on the source, RESTORE on the target, DEL on the
source), loads one hash `bighash` of --fields fields field:<i> with
--field-size byte values (random hex, so the payload does not shrink under
LZF; default 1M x 100 B, ~110 MB of data) on A with redis-cli --pipe, then
times

  MIGRATE 127.0.0.1 <B port> bighash 0 <--timeout-ms>

while a PingProbe sends PING to A (the source) about every millisecond, and
another one to B (the target). Printed per kind: the MIGRATE's wall time,
the longest PING round trip on A and on B, how many PINGs on A took over
50 ms; then the ratio shardnode/redis. After each MIGRATE, A must not have
the key and B's HLEN must be --fields. With --repeat > 1 the hash goes back
and forth (B -> A on odd repetitions; the source is always the one probed as
"A").

A kind whose node does not know MIGRATE (shardnode until it is implemented)
gets a "MIGRATE not supported yet" line instead of figures. Usage:

  bench/macro/migrate_big.py [--fields 1000000] [--field-size 100] [--repeat 1]
                             [--timeout-ms 60000] [--kinds shardnode,redis]
                             [--shardnode build/shardnode] [--redis /usr/bin/redis-server]

Every process it starts is stopped by its pid; loopback only; every wait is
bounded.
"""
import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

import benchlib as bl
import migratelib as ml

KEY = b"bighash"
BATCH = 1000  # fields per HSET of the loader


def populate_file(tmp, fields, field_size):
    path = os.path.join(tmp, f"hash-{fields}-{field_size}.resp")
    if os.path.exists(path):
        return path
    rng = random.Random(20261204)
    pool = rng.randbytes(1 << 19).hex().encode()  # 1 MiB of random hex
    span = len(pool) - field_size
    with open(path, "wb") as f:
        for start in range(0, fields, BATCH):
            n = min(BATCH, fields - start)
            parts = [b"*%d\r\n$4\r\nHSET\r\n$%d\r\n%s\r\n" % (2 + 2 * n, len(KEY), KEY)]
            for i in range(start, start + n):
                name = b"field:%d" % i
                off = (i * 7919) % span
                value = pool[off:off + field_size]
                parts.append(b"$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(name), name, len(value), value))
            f.write(b"".join(parts))
    return path


def load(port, path, fields):
    with open(path, "rb") as f:
        out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), "--pipe"],
                             stdin=f, capture_output=True, text=True, timeout=900)
    got = bl.cli(port, "HLEN", KEY.decode()).strip()
    if got != str(fields):
        raise RuntimeError(f"load on :{port}: HLEN {got}, expected {fields}\n"
                           f"{out.stdout[-2000:]}{out.stderr[-2000:]}")


def one_kind(kind, binary, tmp, path, args):
    """Returns a list of per-repetition dicts, or a string saying why none."""
    run_dir = tempfile.mkdtemp(prefix=f"{kind}-", dir=tmp)
    a = bl.Server(kind, binary, os.path.join(run_dir, "a"), cluster=False)
    try:
        b = bl.Server(kind, binary, os.path.join(run_dir, "b"), cluster=False)
    except BaseException:
        a.stop()
        raise
    try:
        unsupported = ml.migrate_support(a.port, b.port)
        if unsupported:
            return ml.unsupported_line(kind, unsupported)
        load(a.port, path, args.fields)
        used_mb = int(bl.info_field(bl.cli(a.port, "INFO", "memory"), "used_memory")) / (1 << 20)
        results = []
        for rep in range(args.repeat):
            src, dst = (a, b) if rep % 2 == 0 else (b, a)
            conn = bl.Conn(src.port, timeout=args.timeout_ms / 1000 + 60)
            try:
                cpu_src, cpu_dst = bl.cpu_seconds(src.pid), bl.cpu_seconds(dst.pid)
                with ml.PingProbe(src.port) as ps, ml.PingProbe(dst.port) as pd:
                    time.sleep(0.05)  # both probes running before the MIGRATE starts
                    t0 = time.monotonic()
                    reply = conn.call("MIGRATE", "127.0.0.1", str(dst.port), KEY, "0",
                                      str(args.timeout_ms))
                    elapsed = time.monotonic() - t0
                    time.sleep(0.05)
                cpu_src = bl.cpu_seconds(src.pid) - cpu_src
                cpu_dst = bl.cpu_seconds(dst.pid) - cpu_dst
            finally:
                conn.close()
            if isinstance(reply, RuntimeError):
                if str(reply).startswith("ERR unknown command"):
                    return ml.unsupported_line(kind, reply)
                return f"{kind}: FAILED: MIGRATE replied {reply}"
            if reply != "OK":
                return f"{kind}: FAILED: MIGRATE replied {reply!r}"
            for p, name in ((ps, "source"), (pd, "target")):
                if p.error:
                    return f"{kind}: FAILED: PING probe on the {name}: {p.error}"
            if bl.cli(src.port, "EXISTS", KEY.decode()).strip() != "0":
                return f"{kind}: FAILED: the source still has the key after MIGRATE"
            hlen = bl.cli(dst.port, "HLEN", KEY.decode()).strip()
            if hlen != str(args.fields):
                return f"{kind}: FAILED: target HLEN {hlen}, expected {args.fields}"
            results.append({"secs": elapsed, "stall": ps.longest * 1000,
                            "stall_dst": pd.longest * 1000, "over50": ps.over(50),
                            "pings": ps.count, "cpu_src": cpu_src, "cpu_dst": cpu_dst,
                            "mb": used_mb})
        return results
    finally:
        b.stop()
        a.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fields", type=int, default=1_000_000)
    ap.add_argument("--field-size", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--timeout-ms", type=int, default=60000, help="MIGRATE's timeout argument")
    ml.add_kind_args(ap)
    args = ap.parse_args()
    binaries = ml.selected_binaries(ap, args)

    tmp = tempfile.mkdtemp(prefix="shardnode-migrate-big-")
    try:
        path = populate_file(tmp, args.fields, args.field_size)
        print(f"MIGRATE of one hash, {args.fields} fields x {args.field_size} B "
              f"({os.path.getsize(path) / (1 << 20):.0f} MB of RESP), standalone A -> B; "
              f"PING every ~1 ms on both; repeat={args.repeat} loadavg={bl.load_average()}",
              flush=True)
        print(f"{'kind':<10}{'rep':>4}{'used MB':>9}{'secs':>8}{'stall ms':>10}{'>50ms':>7}"
              f"{'pings':>7}{'target stall':>14}{'cpu src s':>11}{'cpu dst s':>11}", flush=True)
        med = {}
        failed = False
        for kind, binary in binaries:
            r = one_kind(kind, binary, tmp, path, args)
            if isinstance(r, str):
                print(r, flush=True)
                failed |= "FAILED" in r
                continue
            for rep, x in enumerate(r):
                print(f"{kind:<10}{rep:>4}{x['mb']:>9.0f}{x['secs']:>8.2f}{x['stall']:>10.1f}"
                      f"{x['over50']:>7}{x['pings']:>7}{x['stall_dst']:>14.1f}"
                      f"{x['cpu_src']:>11.2f}{x['cpu_dst']:>11.2f}", flush=True)
            med[kind] = {f: bl.median([x[f] for x in r]) for f in ("secs", "stall", "stall_dst")}
        if "shardnode" in med and "redis" in med:
            sn, rd = med["shardnode"], med["redis"]
            print(f"{'ratio':<10}{'':>4}{'':>9}{sn['secs'] / rd['secs']:>8.2f}"
                  f"{sn['stall'] / rd['stall']:>10.2f}{'':>7}{'':>7}"
                  f"{sn['stall_dst'] / rd['stall_dst']:>14.2f}   (shardnode / redis, medians)")
        print(f"loadavg={bl.load_average()}")
        return 1 if failed else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
