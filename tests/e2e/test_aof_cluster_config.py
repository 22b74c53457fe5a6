#!/usr/bin/env python3
"""The AOF holds data, never cluster configuration: a node's slot table
lives in nodes.conf only (as in Redis 7.0.15, whose AOF never carries
CLUSTER SETSLOT).

shardnode sends its SETSLOT commands to shardnode replicas through the
replication stream (so that they mirror open slots, as Valkey 8 does). The
AOF is fed from the same stream; if it kept those SETSLOTs, a primary
restarted from its AOF would run them again on top of its nodes.conf. A
slot imported earlier (SETSLOT IMPORTING then NODE myself, written while a
replica was attached) and given away later (SETSLOT NODE other, not written
because no replica was attached at the time) would come back as its own,
with an epoch bumped above everyone's, so that the whole cluster gives it
the slot: served empty, every acknowledged write in it lost. That was the
chaos harness's lost counter (seed 31, bench/README section 14).

The scenario: a slot moves B -> A while A's replica is attached, the
replica is killed, the slot moves back A -> B, A is killed with -9 and
restarted from its AOF. B must still own the slot with its keys, A must not
claim it, and A's AOF must hold no CLUSTER command."""
import glob
import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Client, Error, Node, create_three_pairs, info, key_slot, wait_until  # noqa: E402

ARGS = ["--cluster-node-timeout", "15000", "--appendonly", "yes", "--appendfsync", "always"]


def my_id(node):
    return node.cli("CLUSTER", "MYID").strip()


def call_ok(port, *args):
    c = Client(port, timeout=30)
    try:
        reply = c.call(*args)
    finally:
        c.close()
    if isinstance(reply, Error):
        raise AssertionError(f"{args}: {reply}")
    return reply


def owner_port(port, slot):
    for start, end, primary, *_ in call_ok(port, "CLUSTER", "SLOTS"):
        if start <= slot <= end:
            return primary[1]
    return None


def myself_epoch(node):
    for line in node.cli("CLUSTER", "NODES").splitlines():
        f = line.split(" ")
        if "myself" in f[2]:
            return int(f[6])
    raise AssertionError("no myself line")


class AofClusterConfigTest(unittest.TestCase):
    def restart(self, node):
        """A new process on `node`'s port and directory, once it loaded."""
        again = Node(cluster=True, args=ARGS, port=node.port, dir=node.dir)
        again.owns_dir, node.owns_dir = node.owns_dir, False
        self.addCleanup(again.cleanup)
        again.start()
        wait_until(lambda: "loading:0" in again.cli("INFO", "persistence"), timeout=20,
                   what="the node loaded its AOF")
        return again

    def move(self, slot, src, dst, others, keys):
        call_ok(dst.port, "CLUSTER", "SETSLOT", slot, "IMPORTING", my_id(src))
        call_ok(src.port, "CLUSTER", "SETSLOT", slot, "MIGRATING", my_id(dst))
        self.assertEqual(call_ok(src.port, "MIGRATE", "127.0.0.1", dst.port, "", 0, 5000,
                                 "KEYS", *keys), "OK")
        for n in [dst, src] + others:
            self.assertEqual(call_ok(n.port, "CLUSTER", "SETSLOT", slot, "NODE", my_id(dst)), "OK")

    def test_restart_from_aof_keeps_the_slot_table_of_nodes_conf(self):
        nodes, pairs = create_three_pairs(self, ARGS)
        (a, a2), (b, _), (c, _) = pairs
        # A slot of B's and a few counters in it.
        b_ranges = [(s, e) for s, e, p, *_ in call_ok(b.port, "CLUSTER", "SLOTS")
                    if p[1] == b.port]
        tag = next(f"{{t{i}}}" for i in range(100000)
                   if any(s <= key_slot(f"t{i}") <= e for s, e in b_ranges))
        slot = key_slot(tag[1:-1])
        keys = [f"{tag}:c{i}" for i in range(5)]
        for k in keys:
            call_ok(b.port, "SET", k, 100)
        # B -> A while A's replica is attached.
        self.move(slot, b, a, [c], keys)
        for k in keys:
            self.assertEqual(call_ok(a.port, "INCR", k), 101)
        self.assertEqual(call_ok(a.port, "WAIT", 1, 5000), 1)
        # A loses its replica, then the slot goes back A -> B.
        a2.stop(sig=signal.SIGKILL)
        wait_until(lambda: info(a).get("connected_slaves") == "0", timeout=20,
                   what="A sees no replica")
        self.move(slot, a, b, [c], keys)
        for k in keys:
            self.assertEqual(call_ok(b.port, "INCR", k), 102)
        epoch_before = myself_epoch(a)
        self.a_id = my_id(a)
        # kill -9 of A, restart from its AOF and nodes.conf.
        a.stop(sig=signal.SIGKILL)
        again = self.restart(a)
        self.assertEqual(owner_port(again.port, slot), b.port)
        self.assertEqual(myself_epoch(again), epoch_before)
        # The rest of the cluster agrees, for a while (a bumped epoch would
        # win the slot everywhere within a few pings).
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            for n in (b, c, again):
                self.assertEqual(owner_port(n.port, slot), b.port, n.port)
            time.sleep(0.2)
        for k in keys:
            self.assertEqual(call_ok(b.port, "GET", k), b"102")
        # No CLUSTER command in A's AOF (base or increments).
        for path in glob.glob(os.path.join(again.dir, "appendonlydir", "*.aof")):
            with open(path, "rb") as f:
                data = f.read().lower()
            self.assertNotIn(b"setslot", data, path)
        # An AOF written by an earlier version may hold SETSLOTs: they are
        # skipped when it loads (nodes.conf decides), with a warning.
        incr = sorted(glob.glob(os.path.join(again.dir, "appendonlydir", "*.incr.aof")))[-1]
        again.stop(sig=signal.SIGKILL)
        with open(incr, "ab") as f:
            for cmd in (["CLUSTER", "SETSLOT", str(slot), "IMPORTING", my_id(b)],
                        ["CLUSTER", "SETSLOT", str(slot), "NODE", self.a_id]):
                f.write(f"*{len(cmd)}\r\n".encode())
                for arg in cmd:
                    f.write(f"${len(arg)}\r\n{arg}\r\n".encode())
        third = self.restart(again)
        self.assertEqual(owner_port(third.port, slot), b.port)
        self.assertEqual(myself_epoch(third), epoch_before)
        with open(third.log_path, "rb") as f:
            self.assertIn(b"Skipping CLUSTER commands in the append only file", f.read())


if __name__ == "__main__":
    unittest.main()
