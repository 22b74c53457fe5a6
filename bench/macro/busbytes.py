#!/usr/bin/env python3
"""Idle cluster-bus traffic per node: shardnode vs redis-server 7.0.15.

For each cluster size (default 3, 10 and 30 masters, slots split evenly by
redis-cli --cluster create, no replicas) starts one cluster of shardnode and
one of redis-server side by side (both at once, so they share the same
machine conditions), waits until every node reports cluster_state:ok and
knows every other node, lets them settle, and then measures a --window of
idle time (no client traffic).

How bytes are counted: the kernel's per-socket TCP counters, read with
`ss -tinpH` (tcp_info bytes_sent and bytes_received) at the start and end of
the window. A socket counts for a node when the node's pid owns it and
either its local port is the node's bus port (an inbound link) or its remote
port is some node's bus port (an outbound link); client connections are
thus excluded. A socket that appears during the window counts from zero.
These are TCP payload bytes (the bus messages themselves, no TCP/IP
headers). /proc/<pid>/io is not used because Asio reads and writes sockets
with recvmsg/sendmsg, which rchar/wchar do not count, while Redis uses
read/write, which they do.

Also prints the bus messages sent per second per node (CLUSTER INFO
cluster_stats_messages_sent) and the mean size of a message.

  bench/macro/busbytes.py [--sizes 3,10,30] [--window 20] [--settle 5]
                          [--node-timeout 15000] [--shardnode build/shardnode]

Every process it starts is stopped by its pid.
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

SOCKET_RE = re.compile(r"^(?:[A-Z-]+\s+)?\d+\s+\d+\s+(\S+):(\d+)\s+(\S+):(\d+)\s+(.*)$")


def socket_counters():
    """{(pid, lport, rport): (bytes_sent, bytes_received)} of established TCP sockets."""
    out = subprocess.run(["ss", "-tinpH", "state", "established"], capture_output=True,
                         text=True, timeout=30).stdout
    result = {}
    key = None
    for line in out.splitlines():
        m = SOCKET_RE.match(line)
        if m:
            pid = re.search(r"pid=(\d+)", m.group(5))
            key = (int(pid.group(1)), int(m.group(2)), int(m.group(4))) if pid else None
            continue
        if key is None:
            continue
        sent = re.search(r"bytes_sent:(\d+)", line) or re.search(r"bytes_acked:(\d+)", line)
        recv = re.search(r"bytes_received:(\d+)", line)
        result[key] = (int(sent.group(1)) if sent else 0, int(recv.group(1)) if recv else 0)
        key = None
    return result


def messages_sent(server):
    return int(bl.info_field(bl.cli(server.port, "cluster", "info"),
                             "cluster_stats_messages_sent") or 0)


def bus_deltas(servers, before, after):
    """Per server: (bytes sent, bytes received) on its bus sockets between two samples."""
    bus_ports = {s.port + 10000 for s in servers}
    result = []
    for s in servers:
        sent = recv = 0
        for (pid, lport, rport), (b_sent, b_recv) in after.items():
            if pid != s.pid or not (lport == s.port + 10000 or rport in bus_ports):
                continue
            p_sent, p_recv = before.get((pid, lport, rport), (0, 0))
            if b_sent < p_sent or b_recv < p_recv:  # a new socket reusing the tuple
                p_sent = p_recv = 0
            sent += b_sent - p_sent
            recv += b_recv - p_recv
        result.append((sent, recv))
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="3,10,30")
    ap.add_argument("--window", type=float, default=20.0)
    ap.add_argument("--settle", type=float, default=5.0)
    ap.add_argument("--node-timeout", type=int, default=15000)
    ap.add_argument("--shardnode", default=bl.DEFAULT_SHARDNODE)
    ap.add_argument("--redis", default=bl.DEFAULT_REDIS)
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="shardnode-busbytes-")
    print(f"idle window={args.window}s settle={args.settle}s "
          f"cluster-node-timeout={args.node_timeout} loadavg={bl.load_average()}")
    print(f"{'nodes':>5} {'server':<10}{'sent B/s/node':>15}{'recv B/s/node':>15}"
          f"{'min..max sent':>20}{'msgs/s/node':>13}{'B/msg':>7}{'ratio sent':>12}")
    try:
        for n in [int(x) for x in args.sizes.split(",")]:
            clusters = {}
            try:
                for kind, binary in (("shardnode", args.shardnode), ("redis", args.redis)):
                    clusters[kind] = []
                    for i in range(n):
                        clusters[kind].append(bl.Server(
                            kind, binary, os.path.join(tmp, f"{kind}-{n}-{i}"),
                            extra=["--cluster-node-timeout", str(args.node_timeout)]))
                for servers in clusters.values():
                    bl.create_cluster(servers, timeout=300)
                time.sleep(args.settle)
                msgs0 = {k: [messages_sent(s) for s in v] for k, v in clusters.items()}
                before = socket_counters()
                t0 = time.monotonic()
                time.sleep(args.window)
                after = socket_counters()
                elapsed = time.monotonic() - t0
                msgs1 = {k: [messages_sent(s) for s in v] for k, v in clusters.items()}
                rows = {}
                for kind, servers in clusters.items():
                    deltas = bus_deltas(servers, before, after)
                    sent = [d[0] / elapsed for d in deltas]
                    recv = [d[1] / elapsed for d in deltas]
                    msgs = sum(b - a for a, b in zip(msgs0[kind], msgs1[kind])) / elapsed / n
                    rows[kind] = (sum(sent) / n, sum(recv) / n, min(sent), max(sent), msgs)
                for kind in ("shardnode", "redis"):
                    s_avg, r_avg, s_min, s_max, msgs = rows[kind]
                    ratio = s_avg / rows["redis"][0] if rows["redis"][0] else float("nan")
                    per_msg = s_avg / msgs if msgs else float("nan")
                    print(f"{n:>5} {kind:<10}{s_avg:>15.0f}{r_avg:>15.0f}"
                          f"{f'{s_min:.0f}..{s_max:.0f}':>20}{msgs:>13.1f}{per_msg:>7.0f}"
                          f"{ratio:>12.2f}", flush=True)
            finally:
                for servers in clusters.values():
                    for s in servers:
                        s.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
