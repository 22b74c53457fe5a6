#!/usr/bin/env python3
"""Issue 11's measure: a quarter of the keys from 3 masters onto a 4th.

A cluster of four masters built by hand: A, B and C own the slots as
`redis-cli --cluster create` splits them (0-5460, 5461-10922, 10923-16383),
D owns none (cluster-allow-replica-migration no, node timeout 5 s). --keys
keys key:<i> with --value-size byte values (one random hex string, so that
LZF does not shrink them) are loaded on their owners. Then D receives a
quarter of the slots, 1365 from A, 1365 from B and 1366 from C:

  atomic   shardnode: CLUSTER MIGRATESLOTS SLOTSRANGE <the range> NODE <D>
           sent to A, B and C at once (three jobs), CLUSTER GETSLOTMIGRATIONS
           polled every 5 ms until each is `success`;
  atomicseq the same jobs one after the other (each started when the last
           one succeeded), so that each job's handoff runs while no other
           job transfers: the handoff figure is then taken over the three
           jobs' windows, each from the first poll that saw the job past
           `snapshotting` (10 ms before) to its `success` (10 ms after);
  legacy   `redis-cli --cluster rebalance A --cluster-use-empty-masters`
           (defaults: pipeline 10), on shardnode or on redis-server 7.0.15.

Per run --rate writes per second (0: none) go on throughout, from a writer
thread: SET w:<j> <sequence number> on --writer-keys keys spread over all
slots, routed by a slot map that MOVED updates (ASK and TRYAGAIN followed as
a cluster client does), keys of the moving slots and keys of the other
slots on separate connections to each node, so a paused write delays only
its own kind. A write's latency runs from the moment it was due to its +OK
(queueing, redirections and pauses included). Printed per run: seconds,
keys moved, keys/s, CPU of the four servers; the longest write to a moving
slot; p50/p99 of writes to other slots before the move (a --settle-s window)
and during the handoff (the window from the first poll that saw a job past
`replicating`, 10 ms before, to the last job's end, 10 ms after; atomic
only) and during the whole move; the sources' own pause figure (their log
line "writes to the slots paused N ms"); the longest PING round trip on
each node (a probe per node, about every millisecond, in a child process
of its own, from before the writer's baseline to the end of the move);
redirections seen. Checked after
each run: D owns 4096 slots, DBSIZE of the four is --keys plus the writer's
keys, and every writer key holds at least the last value it was
acknowledged for.

Usage:
  bench/macro/atomic_rebalance.py [--keys 2000000] [--value-size 1024]
      [--runs atomic:0,legacy-shardnode:0,legacy-redis:0,atomic:1000,atomic:50000]
      (also atomicseq:RATE)
      [--writer-keys 4096] [--shardnode build/shardnode] [--redis /usr/bin/redis-server]

Every process it starts is stopped by its pid; loopback only; every wait is
bounded.
"""
import argparse
import multiprocessing
import os
import random
import re
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import benchlib as bl
import migratelib as ml
import reshard as rs

RANGES = [(0, 5460), (5461, 10922), (10923, 16383)]
MOVED_COUNTS = [1365, 1365, 1366]  # slots each of A, B, C gives D (4096 in all)


def moving_ranges():
    """[(first, last)] per source: the top of each source's range."""
    return [(hi - n + 1, hi) for (_, hi), n in zip(RANGES, MOVED_COUNTS)]


def is_moving(slot):
    return any(lo <= slot <= hi for lo, hi in moving_ranges())


def populate(tmp, keys, value_size):
    """Three RESP files of SET key:<i> <value> (A's, B's and C's keys) and
    their key counts; made once per run of the script."""
    rng = random.Random(11)
    value = "".join(rng.choice("0123456789abcdef") for _ in range(value_size)).encode()
    paths = [os.path.join(tmp, f"{n}.resp") for n in "abc"]
    counts = [0, 0, 0]
    files = [open(p, "wb") for p in paths]
    try:
        for i in range(keys):
            key = b"key:%d" % i
            slot = ml.key_slot(key)
            owner = 0 if slot <= RANGES[0][1] else (1 if slot <= RANGES[1][1] else 2)
            files[owner].write(bl.Conn.encode(b"SET", key, value))
            counts[owner] += 1
    finally:
        for f in files:
            f.close()
    return paths, counts


def four_masters(kind, binary, run_dir):
    extra = ["--cluster-node-timeout", "5000", "--cluster-allow-replica-migration", "no"]
    nodes = []
    try:
        for name in "abcd":
            nodes.append(bl.Server(kind, binary, os.path.join(run_dir, name), extra=extra))
        for node, (lo, hi) in zip(nodes, RANGES):
            bl.cli(node.port, "CLUSTER", "ADDSLOTSRANGE", str(lo), str(hi))
        for node in nodes[1:]:
            bl.cli(nodes[0].port, "CLUSTER", "MEET", "127.0.0.1", str(node.port))
        bl.wait_cluster_ok(nodes, known=4, timeout=60)
        rs.cluster_check(nodes[0])
    except BaseException:
        for node in nodes:
            node.stop()
        raise
    return nodes


class Writer:
    """SETs at `rate` per second over `nkeys` keys, in a thread (see the
    file comment). Latencies are kept as (time acknowledged, seconds,
    moving slot?)."""

    def __init__(self, nodes, rate, nkeys):
        self.rate = rate
        self.slot_owner = {}
        self.keys = []
        for j in range(nkeys):
            key = b"w:%d" % j
            self.keys.append((key, ml.key_slot(key)))
        for node, (lo, hi) in zip(nodes, RANGES):
            for s in range(lo, hi + 1):
                self.slot_owner[s] = node.port
        self.acked = {}  # key -> last acknowledged value
        self.samples = []
        self.redirects = {"MOVED": 0, "ASK": 0, "TRYAGAIN": 0}
        self.errors = []
        self.conns = {}
        self.sel = selectors.DefaultSelector()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.seq = 0

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join(120)
        for c in self.conns.values():
            c["sock"].close()

    def _conn(self, port, moving):
        k = (port, moving)
        c = self.conns.get(k)
        if c is None:
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setblocking(False)
            c = {"sock": sock, "queue": [], "inflight": [], "buf": b""}
            self.conns[k] = c
            self.sel.register(sock, selectors.EVENT_READ, k)
        return c

    def _enqueue(self, item):
        # item: [key, slot, value, due, ask_port]
        port = item[4] or self.slot_owner[item[1]]
        self._conn(port, is_moving(item[1]))["queue"].append(item)

    def _flush(self):
        for c in self.conns.values():
            if c["inflight"] or not c["queue"]:
                continue
            out = []
            for item in c["queue"]:
                if item[4]:
                    out.append(b"*1\r\n$6\r\nASKING\r\n")
                out.append(bl.Conn.encode(b"SET", item[0], item[2]))
            c["inflight"], c["queue"] = c["queue"], []
            c["sock"].sendall(b"".join(out))

    def _replies(self, c):
        """Parses the complete simple replies in c's buffer."""
        while True:
            end = c["buf"].find(b"\r\n")
            if end < 0:
                return
            line, c["buf"] = c["buf"][:end], c["buf"][end + 2:]
            yield line

    def _on_reply(self, k, line):
        c = self.conns[k]
        item = c["inflight"][0]
        if item[4] and line == b"+OK" and not item[5]:
            item[5] = True  # the ASKING's +OK; the SET's reply follows
            return
        c["inflight"].pop(0)
        now = time.monotonic()
        if line == b"+OK":
            self.samples.append((now, now - item[3], is_moving(item[1])))
            key = item[0]
            self.acked[key] = max(self.acked.get(key, 0), int(item[2]))
            return
        text = line.decode(errors="replace")
        m = re.match(r"-(MOVED|ASK) (\d+) [\d.]+:(\d+)", text)
        if m:
            self.redirects[m.group(1)] += 1
            port = int(m.group(3))
            if m.group(1) == "MOVED":
                self.slot_owner[int(m.group(2))] = port
                item[4] = None
            else:
                item[4] = port
            item[5] = False
            self._enqueue(item)
        elif text.startswith("-TRYAGAIN"):
            self.redirects["TRYAGAIN"] += 1
            item[4], item[5] = None, False
            self._enqueue(item)
        else:
            self.errors.append(text)

    def _run(self):
        start = time.monotonic()
        sent = 0
        i = 0
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                due = int((now - start) * self.rate)
                while sent < due:
                    key, slot = self.keys[i % len(self.keys)]
                    i += 1
                    self.seq += 1
                    self._enqueue([key, slot, b"%d" % self.seq, now, None, False])
                    sent += 1
                self._flush()
                for sk, _ in self.sel.select(timeout=0.001):
                    c = self.conns[sk.data]
                    chunk = c["sock"].recv(1 << 16)
                    if not chunk:
                        raise ConnectionError(f"connection to :{sk.data[0]} closed")
                    c["buf"] += chunk
                    for line in self._replies(c):
                        self._on_reply(sk.data, line)
            # Drain what is in flight (bounded).
            deadline = time.monotonic() + 30
            while any(c["inflight"] or c["queue"] for c in self.conns.values()):
                if time.monotonic() > deadline:
                    self.errors.append("writes still unanswered 30 s after the end")
                    break
                self._flush()
                for sk, _ in self.sel.select(timeout=0.01):
                    c = self.conns[sk.data]
                    chunk = c["sock"].recv(1 << 16)
                    if not chunk:
                        raise ConnectionError("connection closed")
                    c["buf"] += chunk
                    for line in self._replies(c):
                        self._on_reply(sk.data, line)
        except Exception as e:  # reported by the run, not raised here
            self.errors.append(f"{type(e).__name__}: {e}")

    def window(self, t0, t1, moving):
        return sorted(lat for t, lat, mv in self.samples if t0 <= t <= t1 and mv == moving)


def final_values(nodes, writer):
    """{key: value} of every acknowledged writer key, read from its owner by
    the cluster's slot table (pipelined GETs per node)."""
    owner = {}
    c = bl.Conn(nodes[0].port)
    try:
        for lo, hi, primary, *_ in c.call("CLUSTER", "SLOTS"):
            for s in range(lo, hi + 1):
                owner[s] = int(primary[1])
    finally:
        c.close()
    by_port = {}
    for key, slot in writer.keys:
        if key in writer.acked:
            by_port.setdefault(owner[slot], []).append(key)
    values = {}
    for port, keys in by_port.items():
        c = bl.Conn(port, timeout=60)
        try:
            c.sock.sendall(b"".join(bl.Conn.encode(b"GET", k) for k in keys))
            for k in keys:
                v = c.read()
                values[k] = v if isinstance(v, str) else None
        finally:
            c.close()
    return values


def pct(xs, p):
    if not xs:
        return float("nan")
    return xs[min(len(xs) - 1, int(len(xs) * p))]


_POLL_CONNS = {}


def job_states(port):
    """The states of the node's jobs, newest first, over one connection per
    node kept open (not a redis-cli process per poll, every 5 ms, on the
    cores the servers use)."""
    if port not in _POLL_CONNS:
        _POLL_CONNS[port] = bl.Conn(port)
    rows = _POLL_CONNS[port].call("CLUSTER", "GETSLOTMIGRATIONS")
    return [row[row.index("state") + 1] for row in rows]


def _probe_child(ports, pipe):
    probes = [ml.PingProbe(p) for p in ports]
    for p in probes:
        p.__enter__()
    pipe.send("started")
    pipe.recv()
    for p in probes:
        p.stop()
    pipe.send([p.longest for p in probes])


class ProbeProcess:
    """The PingProbes of every node in a child process of their own, so that
    their threads (4,000 PINGs a second) do not compete with the writer's
    thread for this interpreter's lock. They run from before the writer's
    baseline to the end of the move."""

    def __init__(self, ports):
        ctx = multiprocessing.get_context("fork")
        self.pipe, child = ctx.Pipe()
        self.proc = ctx.Process(target=_probe_child, args=(ports, child), daemon=True)
        self.proc.start()
        if not self.pipe.poll(30):
            raise RuntimeError("the probe process did not start")
        self.pipe.recv()

    def stop(self):
        """The longest PING round trip per node, in seconds."""
        self.pipe.send("stop")
        if not self.pipe.poll(700):
            raise RuntimeError("the probe process did not answer")
        longest = self.pipe.recv()
        self.proc.join(30)
        return longest


def paused_ms(node):
    """The sources' own pause figures from their logs."""
    try:
        with open(os.path.join(node.workdir, "log.txt"), errors="replace") as f:
            return [int(m) for m in re.findall(r"writes to the slots paused (\d+) ms", f.read())]
    except OSError:
        return []


def migrate_slots(node, lo, hi, target_id):
    """Starts CLUSTER MIGRATESLOTS lo-hi -> target on `node`: None, or what
    went wrong."""
    out = bl.cli(node.port, "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", str(lo), str(hi), "NODE",
                 target_id).strip()
    return None if out == "OK" else f"MIGRATESLOTS on :{node.port}: {out}"


def one_run(mode, kind, binary, rate, tmp, files, counts, args):
    run_dir = tempfile.mkdtemp(prefix=f"{mode}-{kind}-{rate}-", dir=tmp)
    nodes = four_masters(kind, binary, run_dir)
    writer = None
    probes = None
    try:
        loaders = [subprocess.Popen(["redis-cli", "-h", "127.0.0.1", "-p", str(n.port), "--pipe"],
                                    stdin=open(path, "rb"), stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
                   for n, path in zip(nodes, files)]
        for p in loaders:
            p.wait(1800)
        for n, expect in zip(nodes, counts):
            if rs.dbsize(n.port) != expect:
                return f"{mode} {kind}: FAILED: load gave DBSIZE {rs.dbsize(n.port)} on :{n.port}"
        ids = [bl.cli(n.port, "CLUSTER", "MYID").strip() for n in nodes]
        # The probes run before the writer starts (and during its baseline).
        probes = ProbeProcess([n.port for n in nodes])
        if rate > 0:
            writer = Writer(nodes, rate, args.writer_keys)
            writer.start()
            time.sleep(args.settle_s)
        cpu0 = sum(bl.cpu_seconds(n.pid) for n in nodes)
        t0 = time.monotonic()
        handoff_start = None
        windows = []  # atomicseq: each job's (start, end) of its tail and handoff
        if mode == "atomicseq":
            # One job at a time, so that a job's handoff is measured while
            # no other job transfers: its window runs from the first poll
            # that saw it past the snapshot (10 ms before) to its end (10 ms
            # after).
            for n, (lo, hi) in zip(nodes, moving_ranges()):
                if (err := migrate_slots(n, lo, hi, ids[3])):
                    return f"{mode} {kind}: FAILED: {err}"
                start, deadline = None, time.monotonic() + 3600
                while True:
                    st = job_states(n.port)
                    if start is None and st and st[0] not in ("connecting",
                                                               "reading-establish-response",
                                                               "snapshotting"):
                        start = time.monotonic() - 0.01
                    if st and st[0] in ("success", "failed", "cancelled"):
                        break
                    if time.monotonic() > deadline:
                        return f"{mode} {kind}: FAILED: job never ended ({st})"
                    time.sleep(0.005)
                if st[0] != "success":
                    return f"{mode} {kind}: FAILED: job state {st[0]}"
                windows.append((start, time.monotonic() + 0.01))
        elif mode == "atomic":
            for n, (lo, hi) in zip(nodes, moving_ranges()):
                if (err := migrate_slots(n, lo, hi, ids[3])):
                    return f"{mode} {kind}: FAILED: {err}"
            deadline = time.monotonic() + 3600
            while True:
                states = [job_states(n.port) for n in nodes[:3]]
                flat = [s for st in states for s in st]
                if handoff_start is None and any(s.startswith("failover") or s == "success"
                                                 for s in flat):
                    handoff_start = time.monotonic() - 0.01
                if flat and all(s in ("success", "failed", "cancelled") for s in flat) \
                        and len(flat) == 3:
                    break
                if time.monotonic() > deadline:
                    return f"{mode} {kind}: FAILED: jobs never ended ({flat})"
                time.sleep(0.005)
            if any(s != "success" for s in flat):
                return f"{mode} {kind}: FAILED: job states {flat}"
        else:
            out = subprocess.run(["redis-cli", "--cluster", "rebalance", nodes[0].addr(),
                                  "--cluster-use-empty-masters", "--cluster-yes"],
                                 capture_output=True, text=True, timeout=7200)
            if out.returncode != 0:
                tail = "\n".join((out.stdout + out.stderr).strip().splitlines()[-5:])
                return f"{mode} {kind}: FAILED: rebalance exited {out.returncode}:\n{tail}"
        t1 = time.monotonic()
        cpu = sum(bl.cpu_seconds(n.pid) for n in nodes) - cpu0
        pings = [x * 1000 for x in probes.stop()]
        probes = None
        if writer is not None:
            time.sleep(0.5)
            writer.stop()
        # Checks.
        owned = 0
        for line in bl.cli(nodes[3].port, "CLUSTER", "NODES").splitlines():
            if "myself" in line:
                for part in line.split()[8:]:
                    if "[" in part:
                        continue
                    lo, _, hi = part.partition("-")
                    owned += int(hi or lo) - int(lo) + 1
        expect_total = args.keys + (len({k for k in writer.acked}) if writer else 0)
        deadline = time.monotonic() + 600
        while sum(rs.dbsize(n.port) for n in nodes) != expect_total:
            if time.monotonic() > deadline:
                return (f"{mode} {kind}: FAILED: DBSIZE sum "
                        f"{sum(rs.dbsize(n.port) for n in nodes)}, expected {expect_total}")
            time.sleep(0.1)
        moved = rs.dbsize(nodes[3].port) - (
            sum(1 for k, s in writer.keys if is_moving(s) and k in writer.acked) if writer else 0)
        lost = []
        if writer is not None:
            if writer.errors:
                return f"{mode} {kind}: FAILED: writer errors {writer.errors[:3]}"
            for key, value in final_values(nodes, writer).items():
                if value is None or not value.isdigit() or int(value) < writer.acked[key]:
                    lost.append((key, value, writer.acked[key]))
            if lost:
                return f"{mode} {kind}: FAILED: acknowledged writes lost: {lost[:3]}"
        if owned != sum(MOVED_COUNTS):
            return f"{mode} {kind}: FAILED: D owns {owned} slots, expected {sum(MOVED_COUNTS)}"
        r = {"secs": t1 - t0, "moved": moved, "cpu": cpu, "d_slots": owned,
             "pauses": [p for n in nodes[:3] for p in paused_ms(n)], "pings": pings}
        if writer is not None:
            base = writer.window(t0 - args.settle_s, t0, False)
            during = writer.window(t0, t1, False)
            moving = writer.window(t0, t1 + 0.5, True)
            r.update({"base_p50": pct(base, 0.5), "base_p99": pct(base, 0.99),
                      "move_p99": pct(during, 0.99), "moving_max": moving[-1] if moving else 0,
                      "redirects": dict(writer.redirects), "writes": len(writer.samples)})
            if handoff_start is not None:
                hand = writer.window(handoff_start, t1 + 0.01, False)
                r.update({"hand_p99": pct(hand, 0.99), "hand_n": len(hand)})
            if windows:
                hand = sorted(x for a, b in windows for x in writer.window(a, b, False))
                r.update({"hand_p99": pct(hand, 0.99), "hand_n": len(hand),
                          "hand_ms": [round((b - a) * 1000) for a, b in windows]})
        return r
    finally:
        if writer is not None and writer._thread.is_alive():
            writer.stop()
        if probes is not None:
            probes.stop()
        for c in _POLL_CONNS.values():
            c.close()
        _POLL_CONNS.clear()
        for n in nodes:
            n.stop()
        if args.keep_logs:
            os.makedirs(args.keep_logs, exist_ok=True)
            for name, n in zip("abcd", nodes):
                shutil.copy(os.path.join(n.workdir, "log.txt"),
                            os.path.join(args.keep_logs, f"{mode}-{kind}-{rate}-{name}.log"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keys", type=int, default=2_000_000)
    ap.add_argument("--value-size", type=int, default=1024)
    ap.add_argument("--runs",
                    default="atomic:0,legacy-shardnode:0,legacy-redis:0,atomic:1000,atomic:50000")
    ap.add_argument("--writer-keys", type=int, default=4096)
    ap.add_argument("--settle-s", type=float, default=3.0)
    ap.add_argument("--keep-logs", default=None, help="a folder to copy the servers' logs to")
    ap.add_argument("--shardnode", default=bl.DEFAULT_SHARDNODE)
    ap.add_argument("--redis", default=bl.DEFAULT_REDIS)
    args = ap.parse_args()
    binaries = {"shardnode": args.shardnode, "redis": args.redis}
    tmp = tempfile.mkdtemp(prefix="shardnode-asm4-")
    failed = False
    try:
        files, counts = populate(tmp, args.keys, args.value_size)
        print(f"4 masters, 4096 slots from A, B, C onto D ({args.keys} keys of "
              f"{args.value_size} B); loadavg={bl.load_average()}", flush=True)
        results = {}
        for spec in args.runs.split(","):
            what, rate = spec.split(":")
            mode, _, kind = what.partition("-")
            kind = kind or "shardnode"
            r = one_run(mode, kind, binaries[kind], int(rate), tmp, files, counts, args)
            if isinstance(r, str):
                failed = True
                print(r, flush=True)
                continue
            results[(mode, kind, int(rate))] = r
            line = (f"{mode:<7}{kind:<10} rate {int(rate):>6}/s: {r['secs']:8.2f} s, "
                    f"{r['moved']} keys ({r['moved'] / r['secs']:.0f}/s), cpu {r['cpu']:.2f} s, "
                    f"D owns {r['d_slots']} slots")
            if r["pauses"]:
                line += f", sources' pause {max(r['pauses'])} ms (each: {r['pauses']})"
            line += ", longest PING A/B/C/D " + "/".join(f"{x:.1f}" for x in r["pings"]) + " ms"
            print(line, flush=True)
            if "writes" in r:
                ms = lambda x: f"{x * 1000:.2f}"  # noqa: E731
                print(f"    {r['writes']} writes acknowledged; longest write to a moving slot "
                      f"{ms(r['moving_max'])} ms; other slots p50/p99 before "
                      f"{ms(r['base_p50'])}/{ms(r['base_p99'])} ms, p99 during the move "
                      f"{ms(r['move_p99'])} ms" +
                      (f", during the handoff {ms(r['hand_p99'])} ms ({r['hand_n']} writes)"
                       if "hand_p99" in r else "") +
                      (f" in windows of {r['hand_ms']} ms" if "hand_ms" in r else "") +
                      f"; redirections {r['redirects']}",
                      flush=True)
        atomic = results.get(("atomic", "shardnode", 0))
        for (mode, kind, rate), r in results.items():
            if atomic and mode == "legacy" and rate == 0:
                print(f"atomic is {r['secs'] / atomic['secs']:.1f}x faster than legacy {kind} "
                      f"({r['cpu'] / atomic['cpu']:.1f}x less server CPU)", flush=True)
        print(f"loadavg={bl.load_average()}")
        return 1 if failed else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
