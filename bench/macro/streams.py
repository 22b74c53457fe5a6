#!/usr/bin/env python3
"""Streams side by side (issue 15's Measure): shardnode vs redis-server 7.0.15.

Both servers cluster-enabled, one node owning every slot (as compare.py),
--save '' and no AOF. Three measures, in one run:

  memory   --entries XADD mem * field1 value<i> field2 <i> through
           `redis-cli --pipe` into a flushed server: used_memory and RSS
           growth per entry.
  xadd     redis-benchmark `XADD s * field1 value1 field2 42`, -c --clients,
           -P --pipeline, -n --requests: ops/s and server CPU per command.
  loop     a consumer loop: the stream q holds --requests entries with ids
           1-1000000, 1-1000001, ... (added with explicit ids, so every
           reply has the same size), one group g; each of --clients
           connections is consumer c<n> and, per round trip, sends
           --pipeline commands: half `XREADGROUP GROUP g c<n> COUNT 1
           STREAMS q >`, half `XACK q g <id>` for the ids its previous round
           read (the ids are taken from the replies). Ops/s counts both
           commands; entries/s is half of it. Checked after the run: every
           entry was read once and the group has no pending entry left.

The runs are interleaved (shardnode, redis, redis, shardnode, ...)
--repeat times; printed are the medians of ops/s and of the server's CPU
per command (utime+stime from /proc over the run). The loop's driver is
this script (one thread, non-blocking sockets); its own CPU share is
printed, so a run where the driver, not the server, set the pace shows.
Usage:

  bench/macro/streams.py [--entries 1000000] [--requests 400000] [--clients 50]
                         [--pipeline 16] [--repeat 3] [--tests memory,xadd,loop]
                         [--shardnode build/shardnode] [--redis /usr/bin/redis-server]
                         [--baseline OLD_BINARY]

--baseline adds an older shardnode binary to the xadd and loop runs (as
compare.py's), with its ops/s, the ratio new/old and its CPU per command.

Exits 1 when a check fails. Every process it starts is stopped by its pid.
"""
import argparse
import os
import resource
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import benchlib as bl

FIRST_SEQ = 1_000_000  # ids 1-1000000 ... 1-9999999 all print in 9 characters


def used_memory(port):
    return int(bl.info_field(bl.cli(port, "info", "memory"), "used_memory"))


def pipe_load(port, payload):
    out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), "--pipe"],
                         input=payload, capture_output=True, timeout=900)
    text = out.stdout.decode(errors="replace")
    if out.returncode != 0 or "errors: 0," not in text:
        raise RuntimeError(f"redis-cli --pipe failed:\n{text}\n{out.stderr.decode()}")


def measure_memory(server, entries):
    bl.cli(server.port, "flushall")
    before_used, before_rss = used_memory(server.port), bl.rss_bytes(server.pid)
    payload = b"".join(bl.Conn.encode("XADD", "mem", "*", "field1", b"value%d" % i, "field2", i)
                       for i in range(entries))
    pipe_load(server.port, payload)
    length = int(bl.cli(server.port, "xlen", "mem").strip())
    if length != entries:
        raise RuntimeError(f"{server.kind}: XLEN mem is {length}, expected {entries}")
    return ((used_memory(server.port) - before_used) / entries,
            (bl.rss_bytes(server.pid) - before_rss) / entries)


def run_xadd(server, requests, clients, pipeline):
    bl.cli(server.port, "flushall")
    return bl.measured_benchmark(server, ["XADD", "s", "*", "field1", "value1", "field2", "42"],
                                 requests, clients, pipeline)


def entry_id(seq):
    return b"1-%d" % seq


def read_reply(consumer_seq):
    """The RESP2 reply of XREADGROUP COUNT 1 on q for the entry `consumer_seq`."""
    eid = entry_id(consumer_seq)
    return (b"*1\r\n*2\r\n$1\r\nq\r\n*1\r\n*2\r\n$%d\r\n%s\r\n"
            b"*4\r\n$6\r\nfield1\r\n$6\r\nvalue1\r\n$6\r\nfield2\r\n$2\r\n42\r\n" % (len(eid), eid))


class Consumer:
    """One connection of the loop: rounds of `reads` XREADGROUPs plus the
    XACKs of the previous round's ids."""

    def __init__(self, port, name, reads):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.setblocking(False)
        self.reads = reads
        self.read_cmd = bl.Conn.encode("XREADGROUP", "GROUP", "g", name, "COUNT", "1",
                                       "STREAMS", "q", ">") * reads
        self.to_ack = []
        self.buf = bytearray()
        self.expect = 0
        self.expect_reads = 0

    def send_round(self, with_reads=True):
        acks = b"".join(bl.Conn.encode("XACK", "q", "g", i) for i in self.to_ack)
        self.expect = len(self.to_ack) * 4 + (REPLY_SIZE * self.reads if with_reads else 0)
        self.expect_reads = self.reads if with_reads else 0
        self.sock.sendall(acks + (self.read_cmd if with_reads else b""))
        self.to_ack = []

    def take(self):
        """Reads what arrived; True once the round's replies are all in."""
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("server closed the loop's connection")
        self.buf += chunk
        if len(self.buf) < self.expect:
            return False
        if len(self.buf) > self.expect:
            raise RuntimeError(f"unexpected reply bytes: {bytes(self.buf[:200])!r}")
        acks = self.expect - REPLY_SIZE * self.expect_reads
        if self.buf[:acks] != b":1\r\n" * (acks // 4):
            raise RuntimeError(f"XACK did not answer 1: {bytes(self.buf[:acks])!r}")
        for r in range(self.expect_reads):
            reply = self.buf[acks + r * REPLY_SIZE:acks + (r + 1) * REPLY_SIZE]
            if reply[:ID_AT] != REPLY_HEAD or reply[ID_AT + ID_LEN:] != REPLY_TAIL:
                raise RuntimeError(f"unexpected XREADGROUP reply: {bytes(reply)!r}")
            self.to_ack.append(bytes(reply[ID_AT:ID_AT + ID_LEN]))
        self.buf.clear()
        return True


_sample = read_reply(FIRST_SEQ)
REPLY_SIZE = len(_sample)
ID_LEN = len(entry_id(FIRST_SEQ))
ID_AT = _sample.index(entry_id(FIRST_SEQ))
REPLY_HEAD, REPLY_TAIL = _sample[:ID_AT], _sample[ID_AT + ID_LEN:]


def run_loop(server, requests, clients, pipeline):
    """Returns (commands/s, server CPU us per command, driver CPU share)."""
    reads_per_round = max(1, pipeline // 2)
    rounds = max(1, requests // (clients * 2 * reads_per_round))
    entries = rounds * clients * reads_per_round
    if FIRST_SEQ + entries > 9_999_999:
        raise RuntimeError("too many entries for fixed-width ids")
    bl.cli(server.port, "flushall")
    pipe_load(server.port, b"".join(
        bl.Conn.encode("XADD", "q", entry_id(FIRST_SEQ + i), "field1", "value1", "field2", "42")
        for i in range(entries)))
    bl.cli(server.port, "xgroup", "create", "q", "g", "0")
    consumers = [Consumer(server.port, f"c{n}", reads_per_round) for n in range(clients)]
    sel = selectors.DefaultSelector()
    left = {}
    cpu_before = bl.cpu_seconds(server.pid)
    own_before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.monotonic()
    for c in consumers:
        sel.register(c.sock, selectors.EVENT_READ, c)
        left[c] = rounds - 1
        c.send_round()
    active = len(consumers)
    while active:
        for key, _ in sel.select(timeout=30):
            c = key.data
            if not c.take():
                continue
            if left[c] > 0:
                left[c] -= 1
                c.send_round()
            elif c.to_ack:
                c.send_round(with_reads=False)  # the last round's XACKs
            else:
                sel.unregister(c.sock)
                active -= 1
        if time.monotonic() - start > 600:
            raise RuntimeError("the loop did not finish in 600 s")
    elapsed = time.monotonic() - start
    server_cpu = bl.cpu_seconds(server.pid) - cpu_before
    own_after = resource.getrusage(resource.RUSAGE_SELF)
    own = (own_after.ru_utime - own_before.ru_utime) + (own_after.ru_stime - own_before.ru_stime)
    for c in consumers:
        c.sock.close()
    commands = 2 * entries
    pending = bl.cli(server.port, "xpending", "q", "g").split("\n")[0].strip()
    group = bl.cli(server.port, "xinfo", "groups", "q").split("\n")
    field = {group[i]: group[i + 1] for i in range(0, len(group) - 1, 2)}
    if (pending != "0" or field.get("entries-read") != str(entries)
            or field.get("last-delivered-id") != entry_id(FIRST_SEQ + entries - 1).decode()):
        raise RuntimeError(f"{server.kind}: after the loop XPENDING says {pending}, "
                           f"XINFO GROUPS {field}")
    return commands / elapsed, server_cpu * 1e6 / commands, own / elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=400_000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--pipeline", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tests", default="memory,xadd,loop")
    ap.add_argument("--shardnode", default=bl.DEFAULT_SHARDNODE)
    ap.add_argument("--redis", default=bl.DEFAULT_REDIS)
    ap.add_argument("--baseline", default=None, help="an older shardnode binary to compare with")
    args = ap.parse_args()
    tests = args.tests.split(",")

    tmp = tempfile.mkdtemp(prefix="shardnode-streams-")
    servers = []
    try:
        bl.start_kinds(servers, tmp, args)
        for s in servers:
            bl.single_node_cluster(s)
        print(f"entries={args.entries} requests={args.requests} clients={args.clients} "
              f"pipeline={args.pipeline} repeat={args.repeat} loadavg={bl.load_average()}")
        if "memory" in tests:
            mem = {s.kind: measure_memory(s, args.entries) for s in servers
                   if s.kind != "baseline"}
            print(f"{'memory per entry':<18}{'shardnode':>12}{'redis':>12}{'ratio':>8}")
            for i, what in enumerate(("used_memory B", "RSS B")):
                sn, rd = mem["shardnode"][i], mem["redis"][i]
                print(f"{what:<18}{sn:>12.1f}{rd:>12.1f}{sn / rd:>8.2f}")
        print(f"{'test':<8}{'P':>4}{'shardnode ops/s':>18}{'redis ops/s':>14}{'ratio':>8}"
              f"{'shardnode us/op':>18}{'redis us/op':>14}{'driver cpu':>12}" +
              (f"{'baseline ops/s':>16}{'new/old':>9}{'baseline us/op':>16}"
               if args.baseline else ""))
        for test in [t for t in tests if t in ("xadd", "loop")]:
            driver = []

            def run(s):
                if test == "xadd":
                    return run_xadd(s, args.requests, args.clients, args.pipeline)
                ops, us, own = run_loop(s, args.requests, args.clients, args.pipeline)
                driver.append(own)
                return ops, us

            ops, cpu = bl.interleaved_medians(servers, args.repeat, run)
            share = f"{max(driver) * 100:>11.0f}%" if driver else f"{'-':>12}"
            line = (f"{test:<8}{args.pipeline:>4}{ops['shardnode']:>18.0f}{ops['redis']:>14.0f}"
                    f"{ops['shardnode'] / ops['redis']:>8.2f}{cpu['shardnode']:>18.2f}"
                    f"{cpu['redis']:>14.2f}{share}")
            if args.baseline:
                line += (f"{ops['baseline']:>16.0f}{ops['shardnode'] / ops['baseline']:>9.2f}"
                         f"{cpu['baseline']:>16.2f}")
            print(line, flush=True)
        print(f"loadavg at end: {bl.load_average()}")
    except RuntimeError as e:
        print(f"FAILED: {e}")
        return 1
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
