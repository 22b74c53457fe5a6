#!/usr/bin/env python3
"""Memory per string key: shardnode vs redis-server 7.0.15 in the same run.

For each mode (standalone, cluster-enabled with one node owning all slots)
and each TTL variant, a FRESH server of each kind (order alternating) is
loaded through `redis-cli --pipe` with

  SET key:<12 digits> <16-byte value>            (no TTL)
  SET key:<12 digits> <16-byte value> PX <ms>    (TTL: one hour, every key)

i.e. 16-byte names and 16-byte values by default (--key-len, --value-len
change them; the value is not a canonical integer, so it is stored as bytes).
Replies (0 errors) and DBSIZE are checked, and the growth is divided by the
number of keys:

  used  INFO used_memory delta: each server's own count of what it
        allocated (Redis: jemalloc's allocated bytes; shardnode: the
        malloc_usable_size of every block).
  RSS   VmRSS delta from /proc/<pid>/status (after loading + 1 s minus
        before): what the OS pays, allocator overhead included.

  bench/macro/memkeys.py [--keys 1000000] [--modes standalone,cluster]
                         [--ttl both|no|yes] [--shardnode build/shardnode]

Every process it starts is stopped by its pid.
"""
import argparse
import os
import re
import shutil
import subprocess
import tempfile
import time

import benchlib as bl

enc = bl.Conn.encode


def write_file(path, keys, key_len, value_len, ttl):
    prefix = "key:"
    digits = max(1, key_len - len(prefix))
    with open(path, "wb") as f:
        batch = []
        for i in range(keys):
            key = f"{prefix}{i:0{digits}d}"
            # Not a canonical integer (leading 'v'), so never int-encoded.
            value = ("v" + f"{i:x}".rjust(value_len - 1, "x"))[:value_len]
            if ttl:
                batch.append(enc("SET", key, value, "PX", "3600000"))
            else:
                batch.append(enc("SET", key, value))
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


def measure(kind, binary, workdir, cluster, path, keys):
    s = bl.Server(kind, binary, workdir, cluster=cluster)
    try:
        if cluster:
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
            raise RuntimeError(f"{kind}: replies={replies} dbsize={dbsize}")
        return (used1 - used0) / keys, (rss1 - rss0) / keys, keys / elapsed
    finally:
        s.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--key-len", type=int, default=16)
    ap.add_argument("--value-len", type=int, default=16)
    ap.add_argument("--modes", default="standalone,cluster")
    ap.add_argument("--ttl", choices=["both", "no", "yes"], default="both")
    ap.add_argument("--shardnode", default="build/shardnode")
    ap.add_argument("--redis", default=shutil.which("redis-server") or "/usr/bin/redis-server")
    args = ap.parse_args()
    binaries = [("shardnode", os.path.abspath(args.shardnode)), ("redis", args.redis)]
    ttls = {"both": [False, True], "no": [False], "yes": [True]}[args.ttl]
    print(f"{args.keys} keys, {args.key_len}-byte names, {args.value_len}-byte values; "
          f"loadavg={bl.load_average()}")
    print(f"{'mode':<11}{'ttl':<4}{'sn used':>9}{'redis used':>12}{'ratio':>7}"
          f"{'sn RSS':>9}{'redis RSS':>11}{'ratio':>7}{'sn load/s':>11}{'redis load/s':>14}")
    with tempfile.TemporaryDirectory(prefix="memkeys-") as tmp:
        run = 0
        for ttl in ttls:
            path = os.path.join(tmp, "load.resp")
            write_file(path, args.keys, args.key_len, args.value_len, ttl)
            for mode in args.modes.split(","):
                cluster = mode == "cluster"
                res = {}
                order = binaries if run % 2 == 0 else binaries[::-1]
                run += 1
                for kind, binary in order:
                    res[kind] = measure(kind, binary, os.path.join(tmp, f"{kind}-{mode}-{ttl}"),
                                        cluster, path, args.keys)
                (su, sr, sl), (ru, rr, rl) = res["shardnode"], res["redis"]
                print(f"{mode:<11}{'yes' if ttl else 'no':<4}{su:>9.1f}{ru:>12.1f}{su / ru:>7.2f}"
                      f"{sr:>9.1f}{rr:>11.1f}{sr / rr:>7.2f}{sl:>11.0f}{rl:>14.0f}", flush=True)
            os.remove(path)


if __name__ == "__main__":
    main()
