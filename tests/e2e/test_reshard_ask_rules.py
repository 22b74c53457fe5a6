#!/usr/bin/env python3
"""ASK / TRYAGAIN / ASKING rules while a slot is open, diffed against
redis-server 7.0.15: the same command sequences are sent to a two-master
shardnode cluster and to a two-master redis-server cluster in which slot S
is MIGRATING on A (the source) and IMPORTING on B (the target), set by hand
with CLUSTER SETSLOT; every reply is compared, with the nodes' addresses
replaced by "A" / "B".

Covered: the source serves present keys and answers ASK for missing or new
keys and TRYAGAIN for multi-key requests mixing present and absent keys
(also RESTORE-ASKING, BLPOP, shard Pub/Sub); the target answers
MOVED without ASKING, serves one command after ASKING (one-shot, also after
an unknown command or an arity error), TRYAGAIN for multi-key requests with
a missing key; MULTI (redirections queued as errors, EXECABORT, ASKING
before MULTI lasting until EXEC, ASKING queued inside MULTI, an EXEC whose
key left meanwhile); clients blocked in BLPOP on a slot that is given away
(SETSLOT NODE on the source) or whose import is cancelled (SETSLOT STABLE on
the target) are unblocked with MOVED, clients blocked at the target (with
ASKING) are served by a push or by a key that arrives by MIGRATE; after
SETSLOT NODE the source answers MOVED and drops its shard channel
subscribers of the slot (sunsubscribe). A READONLY replica of the source
serves reads. Then: commands sent while a MIGRATE of a big key runs (MULTI
included) get the replies redis-server gives after its blocking MIGRATE."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import REDIS_SERVER, Client, Error, wait_until  # noqa: E402
import reshardlib as rl  # noqa: E402

SLOT = 100    # migrated from A to B
SLOT2 = 200   # imported by B from A, then the import is cancelled
SLOT3 = 300   # A's, never open


def blocked_clients(port):
    text = rl.call(port, "INFO", "clients").decode()
    for line in text.split("\r\n"):
        if line.startswith("blocked_clients:"):
            return int(line.split(":")[1])
    return -1


class Scenario:
    """One run against a two-master cluster (a, b) of one kind; collects
    normalized replies in `out`."""

    def __init__(self, kind, a, b):
        self.kind = kind
        self.replica = None
        self.a, self.b = a, b
        self.ida, self.idb = rl.node_id(a), rl.node_id(b)
        self.out = []
        self.t = rl.tag_for_slot(SLOT)
        self.t2 = rl.tag_for_slot(SLOT2)
        self.t3 = rl.tag_for_slot(SLOT3)

    def norm(self, r):
        if isinstance(r, list):
            return [self.norm(x) for x in r]
        if isinstance(r, bytes):
            r = r.decode(errors="replace")
        if isinstance(r, str):
            kind = "ERR:" if isinstance(r, Error) else ""
            s = (r.replace(f"127.0.0.1:{self.a.port}", "A").replace(f"127.0.0.1:{self.b.port}", "B")
                 .replace(f"127.0.0.1 {self.a.port} ", "127.0.0.1 A ")
                 .replace(f"127.0.0.1 {self.b.port} ", "127.0.0.1 B ")
                 .replace(self.ida, "<A-id>").replace(self.idb, "<B-id>"))
            return kind + s
        return r

    def rec(self, label, reply):
        self.out.append((self.norm(label), self.norm(reply)))

    def slot_fields(self, conn):
        out = []
        for line in conn.call("CLUSTER", "NODES").decode().splitlines():
            f = line.split(" ")
            who = {self.ida: "A", self.idb: "B"}.get(f[0], "replica")
            out.append(str([who, "myself" in f[2], self.norm(" ".join(f[8:]))]))
        return sorted(out)

    def run(self, conn, label, *args):
        self.rec(label + ": " + " ".join(str(a) for a in args), conn.call(*args))

    def run_all(self):
        t, t2 = self.t, self.t2
        a, b = Client(self.a.port), Client(self.b.port)
        # Keys of S on the source before the slot opens.
        for args in (("SET", f"{t}p", "v"), ("RPUSH", f"{t}l", "1", "2"),
                     ("SET", f"{t}q", "w"), ("RPUSH", f"{t}bb6", "x", "y"),
                     ("ZADD", f"{t}z6", "1", "m"),
                     ("SET", f"{t}m1", "m"), ("SET", f"{t2}x", "y")):
            self.run(a, "A", *args)
        # A replica of A, and a READONLY client on it.
        self.replica = rl.make_node(self.kind)
        self.replica.start()
        rl.call(self.replica.port, "CLUSTER", "MEET", "127.0.0.1", str(self.a.port))
        wait_until(lambda: all(rl.known_nodes(n.port) == 3
                               for n in (self.a, self.b, self.replica)),
                   timeout=30, what="the replica known everywhere")
        wait_until(lambda: rl.call(self.replica.port, "CLUSTER", "REPLICATE", self.ida) == "OK",
                   timeout=20, what="CLUSTER REPLICATE")
        wait_until(lambda: rl.call(self.a.port, "WAIT", "1", "100") == 1, timeout=20,
                   what="the replica in sync")
        # Its cluster view settles on its own (cluster_state:ok) after the
        # sync; until then it answers CLUSTERDOWN.
        wait_until(lambda: b"cluster_state:ok" in rl.call(self.replica.port, "CLUSTER", "INFO"),
                   timeout=20, what="the replica's cluster_state:ok")
        ro = Client(self.replica.port)
        self.rec("R: READONLY", ro.call("READONLY"))
        plain = Client(self.replica.port)

        # A shard channel subscriber and a client blocked (BLPOP) on S at
        # the source, before the slot opens.
        subscriber = Client(self.a.port, timeout=8)
        self.rec("A3: SSUBSCRIBE", subscriber.call("SSUBSCRIBE", f"{t}ch"))
        blocked_a = Client(self.a.port, timeout=8)
        blocked_a.send("BLPOP", f"{t}bl", "0")
        wait_until(lambda: blocked_clients(self.a.port) == 1, timeout=5, what="BLPOP blocked on A")

        self.run(b, "B", "CLUSTER", "SETSLOT", SLOT, "IMPORTING", self.ida)
        self.run(a, "A", "CLUSTER", "SETSLOT", SLOT, "MIGRATING", self.idb)
        self.run(b, "B", "CLUSTER", "SETSLOT", SLOT2, "IMPORTING", self.ida)
        self.run(a, "A", "CLUSTER", "SETSLOT", SLOT, "MIGRATING", self.idb)  # again: allowed
        self.run(a, "A", "CLUSTER", "SETSLOT", SLOT, "IMPORTING", self.idb)  # I own it: error
        self.run(b, "B", "CLUSTER", "SETSLOT", SLOT, "MIGRATING", self.ida)  # not mine: error
        unknown = "f" * 40
        for args in ((SLOT, "MIGRATING", unknown), (SLOT2, "IMPORTING", unknown),
                     (SLOT, "NODE", unknown), (SLOT, "MIGRATING", self.ida), (16384, "STABLE"),
                     (-1, "STABLE"), ("x", "STABLE"), (SLOT, "BOGUS"), (SLOT, "MIGRATING"),
                     (SLOT, "NODE")):
            self.run(a, "A", "CLUSTER", "SETSLOT", *args)
        # Importing from myself is accepted too (SLOT2 stays importing).
        self.run(b, "B", "CLUSTER", "SETSLOT", SLOT2, "IMPORTING", self.idb)
        # Open slots in CLUSTER NODES (the slot fields of each node's line).
        self.rec("A: slots", self.slot_fields(a))
        self.rec("B: slots", self.slot_fields(b))
        # Migrating to myself (accepted above): an ASK that would name
        # myself is served here instead.
        for args in (("GET", f"{t}absent"), ("MGET", f"{t}p", f"{t}absent"),
                     ("CLUSTER", "SETSLOT", SLOT, "MIGRATING", self.idb)):
            self.run(a, "A", *args)

        # Source.
        for args in (("GET", f"{t}p"), ("GET", f"{t}absent"), ("SET", f"{t}new", "1"),
                     ("LRANGE", f"{t}l", "0", "-1"), ("MGET", f"{t}p", f"{t}absent"),
                     ("MGET", f"{t}p", f"{t}p"), ("MGET", f"{t}p", f"{t}q"),
                     ("EXISTS", f"{t}p", f"{t}absent"), ("DEL", f"{t}p", f"{t}absent"),
                     ("MSET", f"{t}p", "1", f"{t}new", "2"), ("RENAME", f"{t}q", f"{t}new"),
                     ("EXISTS", f"{t}absent"), ("TTL", f"{t}absent"), ("TYPE", f"{t}absent"),
                     ("RESTORE-ASKING", f"{t}absent", "0", "bad"),
                     ("BLPOP", f"{t}absent", "1"), ("BLPOP", f"{t}l", f"{t}absent", "1"),
                     ("SPUBLISH", f"{t}ch", "m"), ("GET", "{a}other"),
                     ("MIGRATE", "127.0.0.1", str(self.b.port), f"{t}absent", "0", "1000"),
                     ("MIGRATE", "127.0.0.1", str(self.b.port), "{a}other", "0", "1000")):
            self.run(a, "A", *args)
        # Commands whose keys are found in other ways (numkeys, STORE, ...),
        # each with a present and an absent key, then with present keys only.
        p, x, q = f"{t}p", f"{t}absent", f"{t}q"
        for args in (("ZUNIONSTORE", x, "2", p, q), ("ZUNIONSTORE", p, "1", q),
                     ("SINTERCARD", "2", p, x), ("SINTERCARD", "2", p, q),
                     ("LMPOP", "2", x, f"{t}l", "LEFT"), ("LMPOP", "1", f"{t}l", "RIGHT"),
                     ("LMOVE", f"{t}l", x, "LEFT", "LEFT"),
                     ("SMOVE", p, x, "m"), ("TOUCH", p, x), ("UNLINK", x),
                     ("OBJECT", "ENCODING", x), ("OBJECT", "ENCODING", p), ("DUMP", x),
                     ("GETDEL", x), ("SETNX", x, "1"), ("ZRANGESTORE", x, p, "0", "-1"),
                     ("BLMPOP", "0.01", "2", f"{t}l", x, "LEFT"), ("EXPIRE", x, "10"),
                     ("WATCH", x), ("WATCH", p, q)):
            self.run(a, "A", *args)
        self.run(a, "A", "ASKING")
        self.run(a, "A", "GET", f"{t}absent")  # ASKING does not matter on the source
        self.run(a, "A", "CLUSTER", "COUNTKEYSINSLOT", SLOT)

        # Target.
        for args in (("GET", f"{t}absent"), ("SET", f"{t}n1", "a"), ("ASKING",),
                     ("SET", f"{t}n1", "a"), ("GET", f"{t}n1"), ("ASKING",), ("GET", f"{t}n1"),
                     ("ASKING",), ("MGET", f"{t}n1", f"{t}absent"), ("ASKING",),
                     ("MGET", f"{t}n1", f"{t}n1"), ("ASKING",), ("EXISTS", f"{t}absent"),
                     ("ASKING",), ("PING",), ("GET", f"{t}n1"),
                     # An unknown command or an arity error also ends ASKING.
                     ("ASKING",), ("NOSUCHCOMMAND",), ("GET", f"{t}n1"),
                     ("ASKING",), ("GET",), ("GET", f"{t}n1"),
                     ("ASKING",), ("ASKING",), ("GET", f"{t}n1"), ("GET", f"{t}n1"),
                     ("RESTORE-ASKING", f"{t}absent", "0", "bad"),
                     ("SPUBLISH", f"{t}ch", "m"), ("ASKING",), ("SPUBLISH", f"{t}ch", "m"),
                     ("ASKING",), ("BLPOP", f"{t}absent", "0.05"),
                     ("ASKING",), ("BLPOP", f"{t}n1", f"{t}absent", "0.05"),
                     # MIGRATE runs on an importing slot without ASKING.
                     ("MIGRATE", "127.0.0.1", str(self.a.port), f"{t}absent", "0", "1000"),
                     # ASKING does not help for a slot that is not importing.
                     ("ASKING",), ("GET", f"{self.t3}x"),
                     ("CLUSTER", "COUNTKEYSINSLOT", SLOT)):
            self.run(b, "B", *args)

        # The replica of the source, which knows nothing of the migration.
        for args in (("GET", f"{t}p"), ("GET", f"{t}absent"), ("MGET", f"{t}p", f"{t}absent"),
                     ("SET", f"{t}p", "x"), ("BLPOP", f"{t}absent", "1"), ("GET", "{a}other")):
            self.run(ro, "R", *args)
        self.run(plain, "R-plain", "GET", f"{t}p")

        # MULTI on the source: a redirection is queued as an error.
        for args in (("MULTI",), ("GET", f"{t}p"), ("GET", f"{t}absent"), ("EXEC",),
                     ("MULTI",), ("MGET", f"{t}p", f"{t}absent"), ("EXEC",),
                     ("MULTI",), ("SET", f"{t}p", "v2"), ("GET", f"{t}p"), ("EXEC",),
                     ("MULTI",), ("GET", f"{t}p"), ("SET", f"{t}new2", "x"), ("DISCARD",)):
            self.run(a, "A", *args)
        # MULTI on the target: ASKING before MULTI lasts until EXEC; ASKING
        # inside MULTI is queued and does not help.
        for args in (("ASKING",), ("MULTI",), ("SET", f"{t}n2", "b"), ("GET", f"{t}n1"),
                     ("MGET", f"{t}n1", f"{t}n2"), ("EXEC",), ("GET", f"{t}n2"),
                     ("ASKING",), ("MULTI",), ("GET", f"{t}n1"), ("DISCARD",), ("GET", f"{t}n1"),
                     ("MULTI",), ("ASKING",), ("GET", f"{t}n1"), ("EXEC",),
                     ("ASKING",), ("MULTI",), ("MGET", f"{t}n1", f"{t}absent"), ("EXEC",),
                     ("MULTI",), ("GET", f"{t}n1"), ("EXEC",)):
            self.run(b, "B", *args)
        # An EXEC whose key left the source after it was queued: the whole
        # transaction is redirected, and its WATCHes end with it.
        self.run(a, "A", "WATCH", f"{t}m1")
        self.run(a, "A", "MULTI")
        self.run(a, "A", "GET", f"{t}m1")
        self.run(a, "A", "SET", f"{t}m1", "changed")
        other = Client(self.a.port)
        self.rec("A2: MIGRATE m1", other.call("MIGRATE", "127.0.0.1", str(self.b.port), f"{t}m1",
                                               "0", "5000"))
        self.run(a, "A", "EXEC")
        for args in (("MULTI",), ("GET", f"{t}p"), ("EXEC",)):
            self.run(a, "A", *args)
        self.run(b, "B", "ASKING")
        self.run(b, "B", "GET", f"{t}m1")

        # A client blocked at the target during an import whose import is
        # then cancelled: unblocked with MOVED to the owner.
        blocked_b = Client(self.b.port, timeout=8)
        self.rec("B3: ASKING", blocked_b.call("ASKING"))
        blocked_b.send("BLPOP", f"{t2}bb", "0")
        wait_until(lambda: blocked_clients(self.b.port) == 1, timeout=5, what="BLPOP blocked on B")
        self.run(b, "B", "CLUSTER", "SETSLOT", SLOT2, "STABLE")
        self.rec("B3: BLPOP unblocked", blocked_b.read())

        # A client blocked at the target on S (with ASKING) is served by a
        # push (with ASKING) during the import.
        blocked_b5 = Client(self.b.port, timeout=8)
        self.rec("B5: ASKING", blocked_b5.call("ASKING"))
        blocked_b5.send("BRPOPLPUSH", f"{t}bb5", f"{t}bb5", "0")
        wait_until(lambda: blocked_clients(self.b.port) == 1, timeout=5, what="BLPOP blocked on B")
        self.run(b, "B", "ASKING")
        self.run(b, "B", "RPUSH", f"{t}bb5", "pushed")
        self.rec("B5: BRPOPLPUSH served", blocked_b5.read())
        self.run(b, "B", "ASKING")
        self.run(b, "B", "LRANGE", f"{t}bb5", "0", "-1")
        blocked_b5.close()

        # Clients blocked at the target (with ASKING) on keys that arrive by
        # MIGRATE (RESTORE-ASKING) are served by them.
        blocked_b6 = Client(self.b.port, timeout=8)
        blocked_b7 = Client(self.b.port, timeout=8)
        self.rec("B6: ASKING", blocked_b6.call("ASKING"))
        blocked_b6.send("BLPOP", f"{t}bb6", "0")
        self.rec("B7: ASKING", blocked_b7.call("ASKING"))
        blocked_b7.send("BZPOPMIN", f"{t}z6", "0")
        wait_until(lambda: blocked_clients(self.b.port) == 2, timeout=5, what="2 blocked on B")
        self.run(a, "A", "MIGRATE", "127.0.0.1", self.b.port, "", "0", "5000", "KEYS", f"{t}bb6",
                 f"{t}z6")
        self.rec("B6: BLPOP served", blocked_b6.read())
        self.rec("B7: BZPOPMIN served", blocked_b7.read())
        self.run(b, "B", "ASKING")
        self.run(b, "B", "LRANGE", f"{t}bb6", "0", "-1")
        blocked_b6.close()
        blocked_b7.close()

        # A client blocked at the target on S (with ASKING) stays blocked
        # when the target takes the slot, and is served by a push there.
        blocked_b2 = Client(self.b.port, timeout=8)
        self.rec("B4: ASKING", blocked_b2.call("ASKING"))
        blocked_b2.send("BLPOP", f"{t}bb2", "0")
        wait_until(lambda: blocked_clients(self.b.port) == 1, timeout=5, what="BLPOP blocked on B")

        # Finish the migration of S: the remaining keys, then NODE on the
        # target and on the source. The client blocked on S at the source
        # is unblocked with MOVED (still blocked while the slot was only
        # migrating).
        self.rec("A: blocked during migration", blocked_clients(self.a.port))
        keys = sorted(k.decode() for k in a.call("CLUSTER", "GETKEYSINSLOT", SLOT, "100"))
        self.rec("A: keys left", keys)
        self.rec("A: slots", self.slot_fields(a))
        self.rec("B: slots", self.slot_fields(b))
        self.run(a, "A", "CLUSTER", "SETSLOT", SLOT, "NODE", self.idb)  # keys left: error
        self.run(a, "A", "MIGRATE", "127.0.0.1", self.b.port, "", "0", "5000", "KEYS", *keys)
        self.run(a, "A", "CLUSTER", "SETSLOT", SLOT, "NODE", self.ida)  # no keys: ends MIGRATING
        self.run(b, "B", "CLUSTER", "SETSLOT", SLOT, "NODE", self.idb)
        self.run(a, "A", "CLUSTER", "SETSLOT", SLOT, "NODE", self.idb)
        self.rec("A1: BLPOP unblocked", blocked_a.read())
        # The shard channel subscriber got the SPUBLISH served during the
        # migration, then loses its channel with the slot.
        self.rec("A3: message", subscriber.read())
        self.rec("A3: unsubscribed", subscriber.read())
        self.rec("B: blocked after NODE", blocked_clients(self.b.port))
        self.run(b, "B", "RPUSH", f"{t}bb2", "pushed")
        self.rec("B4: BLPOP served", blocked_b2.read())
        # The replica learns the new owner from the cluster bus.
        wait_until(lambda: rl.slot_owners(self.replica.port).get(SLOT) == self.b.port,
                   timeout=20, what="the replica sees B own S")
        wait_until(lambda: rl.call(self.replica.port, "CLUSTER", "COUNTKEYSINSLOT", SLOT) == 0,
                   timeout=20,
                   what="the migrated keys deleted on the replica")
        for args in (("GET", f"{t}p"), ("GET", f"{t}absent")):
            self.run(ro, "R", *args)
        for args in (("GET", f"{t}p"), ("GET", f"{t}absent"), ("CLUSTER", "COUNTKEYSINSLOT", SLOT)):
            self.run(a, "A", *args)
        for args in (("GET", f"{t}p"), ("LRANGE", f"{t}l", "0", "-1"), ("GET", f"{t}n1"),
                     ("GET", f"{t}n2"), ("GET", f"{t}new"), ("GET", f"{t}m1"),
                     ("CLUSTER", "COUNTKEYSINSLOT", SLOT)):
            self.run(b, "B", *args)
        for c in (a, b, other, blocked_a, blocked_b, blocked_b2, ro, plain, subscriber):
            c.close()
        return self.out


@unittest.skipIf(REDIS_SERVER is None, "redis-server is not installed")
class AskRulesDiffTest(unittest.TestCase):
    def scenario(self, kind):
        a, b = rl.two_masters(kind, kind)
        scenario = Scenario(kind, a, b)
        try:
            return scenario.run_all()
        finally:
            a.cleanup()
            b.cleanup()
            if scenario.replica is not None:
                scenario.replica.cleanup()

    def test_same_replies_as_redis(self):
        theirs = self.scenario("redis")
        ours = self.scenario("shardnode")
        diffs = [(i, t, o) for i, (t, o) in enumerate(zip(theirs, ours)) if t != o]
        msg = "\n".join(f"#{i} {t[0]}\n   redis:     {t[1]!r}\n   shardnode: {o[1]!r}"
                        for i, t, o in diffs)
        self.assertEqual(len(ours), len(theirs))
        self.assertFalse(diffs, "replies differ:\n" + msg)


def commands_during_migrate(kind):
    """A MIGRATE of a big hash from A to B in an open slot; meanwhile
    another client sends MULTI, HLEN of the hash, EXEC and then HLEN alone.
    redis-server blocks for the whole MIGRATE, so it sees those commands
    after the key left (ASK queued as an error, EXECABORT); shardnode keeps
    serving, and a command on the key in flight, queued in MULTI or not,
    waits for the MIGRATE and gets the same replies. Returns (replies,
    whether shardnode's MIGRATE was still running when the commands came)."""
    a, b = rl.two_masters(kind, kind)
    try:
        t = rl.tag_for_slot(SLOT)
        big = f"{t}big"
        fields = 150_000
        cmds = []
        for start in range(0, fields, 5000):
            args = ["HSET", big]
            for i in range(start, start + 5000):
                args += [f"field:{i}", f"value:{i:08d}" * 4]
            cmds.append(args)
        assert all(r == fields_added for r, fields_added in
                   zip(rl.pipeline(a.port, cmds, timeout=120), [5000] * len(cmds)))
        ida, idb = rl.node_id(a), rl.node_id(b)
        assert rl.call(b.port, "CLUSTER", "SETSLOT", SLOT, "IMPORTING", ida) == "OK"
        assert rl.call(a.port, "CLUSTER", "SETSLOT", SLOT, "MIGRATING", idb) == "OK"
        m = Client(a.port, timeout=60)
        c = Client(a.port, timeout=60)
        m.send("MIGRATE", "127.0.0.1", str(b.port), big, "0", "30000")
        in_progress = None
        if kind == "shardnode":
            # Wait until the MIGRATE is running (its client shows it).
            wait_until(lambda: b"cmd=migrate" in c.call("CLIENT", "LIST") or
                       rl.call(a.port, "EXISTS", big) != 1, timeout=20, what="MIGRATE running")
            in_progress = b"cmd=migrate" in c.call("CLIENT", "LIST")
        for args in (("MULTI",), ("HLEN", big), ("EXEC",), ("HLEN", big)):
            c.send(*args)
        replies = [c.read() for _ in range(4)]
        replies.append(m.read())
        replies.append(rl.call(a.port, "CLUSTER", "COUNTKEYSINSLOT", SLOT))
        b_conn = Client(b.port)
        b_conn.send("ASKING")
        b_conn.send("HLEN", big)
        replies += [b_conn.read(), b_conn.read()]
        for conn in (m, c, b_conn):
            conn.close()
        norm = [str(r).replace(f"127.0.0.1:{b.port}", "B") for r in replies]
        return norm, in_progress
    finally:
        a.cleanup()
        b.cleanup()


@unittest.skipIf(REDIS_SERVER is None, "redis-server is not installed")
class CommandsDuringMigrateTest(unittest.TestCase):
    def test_same_replies_as_redis(self):
        theirs, _ = commands_during_migrate("redis")
        ours, in_progress = commands_during_migrate("shardnode")
        self.assertTrue(in_progress, "the MIGRATE ended before the commands came")
        self.assertEqual(ours, theirs)
        self.assertEqual(theirs[1], f"ASK {SLOT} B")


if __name__ == "__main__":
    unittest.main()
