#!/usr/bin/env python3
"""Failover time: shardnode vs redis-server 7.0.15.

For each repetition, builds a cluster of three masters with one replica each
(redis-cli --cluster create --cluster-replicas 1), once of shardnode and once
of redis-server (order alternating), lets it settle, then measures:

  kill -9      time from SIGKILL of a master until its replica answers
               role:master in INFO replication, and until every survivor
               says cluster_state:ok again;
  manual       time from CLUSTER FAILOVER (default: the master pauses its
               writers, the replica catches up and is elected) on another
               replica until it answers role:master.

Prints the median (min..max) in ms and the ratio shardnode/redis. Usage:

  bench/macro/promotion.py [--timeout 2000] [--repeat 3] [--shardnode build/shardnode]

Every process it starts is stopped by its pid.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

import benchlib as bl


def role(conn):
    return bl.info_field(conn.call("INFO", "replication"), "role")


def wait(pred, t0, deadline, poll_ms):
    while time.monotonic() < deadline:
        if pred():
            return (time.monotonic() - t0) * 1000
        time.sleep(poll_ms / 1000)
    raise RuntimeError("deadline passed")


def one_run(kind, binary, timeout_ms, tmp, settle, poll_ms):
    run_dir = tempfile.mkdtemp(prefix=f"{kind}-", dir=tmp)
    servers = []
    try:
        for i in range(6):
            servers.append(bl.Server(kind, binary, os.path.join(run_dir, str(i)),
                                     extra=["--cluster-node-timeout", str(timeout_ms)]))
        bl.create_cluster(servers, replicas=1)
        by_port = {s.port: s for s in servers}
        pairs = []
        deadline = time.monotonic() + 60
        while len(pairs) < 3 and time.monotonic() < deadline:
            pairs = []
            for s in servers:
                text = bl.cli(s.port, "info", "replication")
                if (bl.info_field(text, "role") == "slave" and
                        bl.info_field(text, "master_link_status") == "up"):
                    pairs.append((by_port[int(bl.info_field(text, "master_port"))], s))
            time.sleep(0.2)
        if len(pairs) < 3:
            raise RuntimeError(f"{kind}: replicas never linked")
        time.sleep(settle)

        (victim, heir), (primary2, replica2) = pairs[0], pairs[1]
        heir_conn = bl.Conn(heir.port)
        survivors = [s for s in servers if s is not victim]
        conns = [bl.Conn(s.port) for s in survivors]
        victim.kill9()
        t0 = time.monotonic()
        limit = t0 + 4 * timeout_ms / 1000 + 20
        promoted = wait(lambda: role(heir_conn) == "master", t0, limit, poll_ms)
        ok = wait(lambda: all("cluster_state:ok" in c.call("CLUSTER", "INFO") for c in conns),
                  t0, limit, poll_ms)
        for c in conns:
            c.close()
        heir_conn.close()

        c2 = bl.Conn(replica2.port)
        t0 = time.monotonic()
        if c2.call("CLUSTER", "FAILOVER") != "OK":
            raise RuntimeError(f"{kind}: CLUSTER FAILOVER refused")
        manual = wait(lambda: role(c2) == "master", t0, t0 + 20, poll_ms)
        c2.close()
        return promoted, ok, manual
    finally:
        for s in servers:
            s.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeout", type=int, default=2000, help="cluster-node-timeout, ms")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--poll-ms", type=float, default=10)
    ap.add_argument("--settle", type=float, default=3.0)
    ap.add_argument("--shardnode", default=bl.DEFAULT_SHARDNODE)
    ap.add_argument("--redis", default=bl.DEFAULT_REDIS)
    args = ap.parse_args()

    binaries = [("shardnode", args.shardnode), ("redis", args.redis)]
    tmp = tempfile.mkdtemp(prefix="shardnode-promotion-")
    results = {k: [] for k, _ in binaries}
    try:
        print(f"3 masters + 3 replicas, node timeout {args.timeout} ms; repeat={args.repeat} "
              f"loadavg={bl.load_average()}")
        for rep in range(args.repeat):
            order = binaries if rep % 2 == 0 else binaries[::-1]
            for kind, binary in order:
                r = one_run(kind, binary, args.timeout, tmp, args.settle, args.poll_ms)
                results[kind].append(r)
                print(f"  # rep {rep} {kind}: promoted {r[0]:.0f} ms, cluster ok {r[1]:.0f} ms, "
                      f"manual failover {r[2]:.0f} ms", flush=True)
        print(f"{'what':<22}{'shardnode ms':>22}{'redis ms':>22}{'ratio':>7}")
        for i, what in enumerate(("kill -9 -> promoted", "kill -9 -> cluster ok",
                                  "CLUSTER FAILOVER")):
            sn = [r[i] for r in results["shardnode"]]
            rd = [r[i] for r in results["redis"]]
            sn_s = f"{bl.median(sn):.0f} ({min(sn):.0f}..{max(sn):.0f})"
            rd_s = f"{bl.median(rd):.0f} ({min(rd):.0f}..{max(rd):.0f})"
            print(f"{what:<22}{sn_s:>22}{rd_s:>22}{bl.median(sn) / bl.median(rd):>7.2f}",
                  flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
