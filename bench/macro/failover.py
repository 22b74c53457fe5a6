#!/usr/bin/env python3
"""Failure detection time of the cluster bus: shardnode vs redis-server 7.0.15.

For each cluster-node-timeout (default 2000 and 5000 ms) and each repetition,
builds a cluster of three masters (no replicas) with redis-cli --cluster
create, once of shardnode and once of redis-server (order alternating per
repetition), lets it settle, kills one master with SIGKILL and polls the two
survivors every --poll-ms over one persistent connection each:

  to FAIL      time from the kill until CLUSTER NODES on every survivor shows
               the victim with the `fail` flag (not `fail?`);
  to state     time until CLUSTER INFO on every survivor says
               cluster_state:fail (the victim's slots are lost: full coverage
               is required by default).

Prints the median (and min..max) of each, in ms and as a multiple of the node
timeout, and the ratio shardnode/redis. Usage:

  bench/macro/failover.py [--timeouts 2000,5000] [--repeat 3] [--poll-ms 10]
                          [--shardnode build/shardnode]

Every process it starts is stopped by its pid.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

import benchlib as bl


def node_flags(nodes_text, node_id):
    for line in nodes_text.splitlines():
        fields = line.split()
        if fields and fields[0] == node_id:
            return fields[2].split(",")
    return []


def one_run(kind, binary, timeout_ms, tmp, settle, poll_ms):
    servers = []
    run_dir = tempfile.mkdtemp(prefix=f"{kind}-{timeout_ms}-", dir=tmp)  # fresh nodes.conf
    try:
        for i in range(3):
            servers.append(bl.Server(kind, binary, os.path.join(run_dir, str(i)),
                                     extra=["--cluster-node-timeout", str(timeout_ms)]))
        bl.create_cluster(servers)
        time.sleep(settle)
        victim, survivors = servers[0], servers[1:]
        victim_id = bl.cli(victim.port, "cluster", "myid").strip()
        conns = [bl.Conn(s.port) for s in survivors]
        fail_at = [None] * len(survivors)
        state_at = [None] * len(survivors)
        victim.kill9()
        t0 = time.monotonic()
        deadline = t0 + 4 * timeout_ms / 1000 + 10
        while time.monotonic() < deadline and (None in fail_at or None in state_at):
            for i, c in enumerate(conns):
                now = time.monotonic() - t0
                if fail_at[i] is None and "fail" in node_flags(c.call("CLUSTER", "NODES"),
                                                               victim_id):
                    fail_at[i] = now
                if state_at[i] is None and "cluster_state:fail" in c.call("CLUSTER", "INFO"):
                    state_at[i] = now
            time.sleep(poll_ms / 1000)
        for c in conns:
            c.close()
        if None in fail_at or None in state_at:
            raise RuntimeError(f"{kind}: no FAIL/state:fail within the deadline "
                               f"(fail={fail_at} state={state_at})")
        return max(fail_at) * 1000, max(state_at) * 1000
    finally:
        for s in servers:
            s.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeouts", default="2000,5000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--poll-ms", type=float, default=10)
    ap.add_argument("--settle", type=float, default=3.0,
                    help="seconds between cluster_state:ok everywhere and the kill")
    ap.add_argument("--shardnode", default=bl.DEFAULT_SHARDNODE)
    ap.add_argument("--redis", default=bl.DEFAULT_REDIS)
    args = ap.parse_args()

    binaries = [("shardnode", args.shardnode), ("redis", args.redis)]
    tmp = tempfile.mkdtemp(prefix="shardnode-failover-")
    try:
        print(f"3 masters, kill -9 of one; repeat={args.repeat} poll={args.poll_ms}ms "
              f"loadavg={bl.load_average()}")
        print(f"{'timeout':>8} {'what':<10}{'shardnode ms':>22}{'redis ms':>22}{'ratio':>7}"
              f"{'sn/T':>6}{'redis/T':>8}")
        for timeout_ms in [int(t) for t in args.timeouts.split(",")]:
            fail = {k: [] for k, _ in binaries}
            state = {k: [] for k, _ in binaries}
            for rep in range(args.repeat):
                order = binaries if rep % 2 == 0 else binaries[::-1]
                for kind, binary in order:
                    f, s = one_run(kind, binary, timeout_ms, tmp, args.settle, args.poll_ms)
                    fail[kind].append(f)
                    state[kind].append(s)
                    print(f"  # T={timeout_ms} rep {rep} {kind}: FAIL {f:.0f} ms, "
                          f"state:fail {s:.0f} ms", flush=True)
            for what, d in (("FAIL", fail), ("state", state)):
                sn, rd = bl.median(d["shardnode"]), bl.median(d["redis"])
                sn_s = f"{sn:.0f} ({min(d['shardnode']):.0f}..{max(d['shardnode']):.0f})"
                rd_s = f"{rd:.0f} ({min(d['redis']):.0f}..{max(d['redis']):.0f})"
                print(f"{timeout_ms:>8} {what:<10}{sn_s:>22}{rd_s:>22}{sn / rd:>7.2f}"
                      f"{sn / timeout_ms:>6.2f}{rd / timeout_ms:>8.2f}", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
