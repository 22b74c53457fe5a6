#!/usr/bin/env python3
"""End-to-end: every `redis-cli --cluster` family of Debian's redis-cli 7.0.15,
unchanged, against shardnode clusters, and the same test code against
redis-server 7.0.15 clusters (the `kind` of each test class) so that the
assertions are known to be right.

Families: create (--cluster-replicas 1) + check + info + call; add-node of an
empty master + rebalance (--cluster-use-empty-masters, --cluster-weight,
--cluster-threshold, --cluster-simulate); add-node --cluster-slave with and
without --cluster-master-id; del-node of a replica and of a drained master;
reshard (--cluster-from/-to/-slots/-yes/-timeout/-pipeline/-replace); fix
(a reshard killed halfway, an importing slot set by hand, uncovered slots,
--cluster-search-multiple-owners); import from a standalone redis-server and
a standalone shardnode (--cluster-copy, --cluster-replace).

Each test checks the real end state: the slots of every master in CLUSTER
NODES, the DBSIZE sum over the masters, every key read back from the node
that owns its slot, and `redis-cli --cluster check` clean (exit 0, no
[WARNING], no [ERR]). SHARDNODE_CLI_KINDS (default "shardnode,redis") picks
the kinds run."""
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import REDIS_SERVER, Client, Node, RedisServerNode, key_slot, wait_until  # noqa: E402

NODE_ARGS = ["--cluster-node-timeout", "5000", "--enable-debug-command", "local"]
KINDS = os.environ.get("SHARDNODE_CLI_KINDS", "shardnode,redis").split(",")
CLI_TIMEOUT = 180


# ---------------------------------------------------------------- key slots

_TAGS = {}


def tag_for(slot):
    """A hash tag whose keys all land in `slot`."""
    if not _TAGS:
        for i in range(200000):
            _TAGS.setdefault(key_slot(str(i)), str(i))
            if len(_TAGS) == 16384:
                break
    return _TAGS[slot]


# ---------------------------------------------------------------- processes

def cli(*args, stdin=None, timeout=CLI_TIMEOUT):
    return subprocess.run(["redis-cli"] + [str(a) for a in args], input=stdin,
                          capture_output=True, text=True, timeout=timeout)


# Ports of nodes started with requirepass, and their password.
PASSWORDS = {}


def connect(port, timeout=5.0):
    """A harness Client, authenticated when the node has a password."""
    c = Client(port, timeout=timeout)
    if port in PASSWORDS:
        reply = c.call("AUTH", PASSWORDS[port])
        assert reply == "OK", reply
    return c


def call(port, *args):
    c = connect(port, timeout=30)
    try:
        reply = c.call(*args)
    finally:
        c.close()
    return reply


def new_node(kind, extra=()):
    if kind == "redis":
        return RedisServerNode(cluster=True, args=NODE_ARGS + ["--logfile", "redis.log"] +
                               list(extra))
    return Node(cluster=True, args=NODE_ARGS + list(extra))


def node_lines(port):
    """CLUSTER NODES of the node on `port` as a list of dicts."""
    rows = []
    for line in call(port, "CLUSTER", "NODES").decode().splitlines():
        f = line.split(" ")
        slots, open_slots = set(), []
        for tok in f[8:]:
            if tok.startswith("["):
                open_slots.append(tok)
            elif "-" in tok:
                a, b = tok.split("-")
                slots.update(range(int(a), int(b) + 1))
            else:
                slots.add(int(tok))
        rows.append({"id": f[0], "port": int(f[1].split("@")[0].rsplit(":", 1)[1]),
                     "flags": f[2].split(","), "master": f[3], "slots": slots,
                     "open": open_slots})
    return rows


def myself(port):
    return next(r for r in node_lines(port) if "myself" in r["flags"])


def slot_owners(port):
    """{slot: owner port} from CLUSTER SLOTS of the node on `port`."""
    owners = {}
    for entry in call(port, "CLUSTER", "SLOTS"):
        for s in range(entry[0], entry[1] + 1):
            owners[s] = entry[2][1]
    return owners


def owner_port(via, key):
    """The port of the master owning `key`'s slot, as `via` sees it."""
    return slot_owners(via.port)[key_slot(key)]


class Cluster:
    """The nodes of one test; every one is stopped by pid at the end."""

    def __init__(self, kind):
        self.kind = kind
        self.nodes = []
        self.password = None  # requirepass of the nodes started from now on
        self.auth = []  # redis-cli's arguments for it

    def start(self, count):
        extra = ["--requirepass", self.password, "--masterauth", self.password] \
            if self.password else []
        started = [new_node(self.kind, extra) for _ in range(count)]
        for n in started:
            self.nodes.append(n)
            if self.password:
                PASSWORDS[n.port] = self.password
            n.start()
        return started

    def cleanup(self):
        for n in self.nodes:
            n.cleanup()
            PASSWORDS.pop(n.port, None)

    @staticmethod
    def addr(node):
        return f"127.0.0.1:{node.port}"

    def create(self, nodes, replicas=0):
        out = cli("--cluster", "create", *[self.addr(n) for n in nodes],
                  "--cluster-replicas", replicas, "--cluster-yes")
        assert out.returncode == 0, out.stdout + out.stderr
        assert "[OK] All 16384 slots covered." in out.stdout, out.stdout
        self.wait_clean(nodes[0])
        self.wait_settled(nodes, masters=len(nodes) // (replicas + 1))
        return out

    def wait_settled(self, nodes, masters):
        """Every node says cluster_state:ok and sees `masters` masters and
        the rest as replicas."""
        def settled(n):
            info = call(n.port, "CLUSTER", "INFO").decode()
            if "cluster_state:ok" not in info:
                return False
            rows = node_lines(n.port)
            return (len(rows) == len(nodes) and
                    sum("master" in r["flags"] for r in rows) == masters and
                    all("handshake" not in r["flags"] for r in rows))

        for n in nodes:
            wait_until(lambda n=n: settled(n), timeout=60, what=f"settled cluster on {n.port}")

    def check(self, node, *extra):
        return cli(*self.auth, "--cluster", "check", self.addr(node), *extra)

    def wait_clean(self, node, *extra, timeout=60):
        """Polls `--cluster check` until it is clean: exit 0, every node agrees,
        all slots covered, no open slot, no warning (gossip takes a moment)."""
        last = [None]

        def clean():
            out = self.check(node, *extra)
            last[0] = out
            text = out.stdout + out.stderr
            return (out.returncode == 0 and "[WARNING]" not in text and "[ERR]" not in text
                    and "[OK] All nodes agree about slots configuration." in text
                    and "[OK] All 16384 slots covered." in text)

        try:
            wait_until(clean, timeout=timeout, interval=0.3, what="a clean --cluster check")
        except AssertionError:
            raise AssertionError("--cluster check never clean:\n" + last[0].stdout +
                                 last[0].stderr)

    def masters(self, via):
        return [r for r in node_lines(via.port) if "master" in r["flags"]]

    def port_of(self, node_id, via):
        return next(r["port"] for r in node_lines(via.port) if r["id"] == node_id)

    def load(self, via, keys):
        """SETs every key (value = "v:" + key) on the master owning its slot,
        pipelined per master."""
        owners = slot_owners(via.port)
        by_port = {}
        for k in keys:
            by_port.setdefault(owners[key_slot(k)], []).append(k)
        for port, ks in by_port.items():
            c = connect(port, timeout=30)
            try:
                for i in range(0, len(ks), 500):
                    batch = ks[i:i + 500]
                    for k in batch:
                        c.send("SET", k, "v:" + k)
                    for k in batch:
                        reply = c.read()
                        assert reply == "OK", (k, reply)
            finally:
                c.close()

    def assert_keys(self, via, expected):
        """Every key of `expected` ({key: value}) is read from the master
        owning its slot (no redirect), and the masters' DBSIZEs add up."""
        owners = slot_owners(via.port)
        by_port = {}
        for k in expected:
            by_port.setdefault(owners[key_slot(k)], []).append(k)
        for port, ks in by_port.items():
            c = connect(port, timeout=30)
            try:
                for k in ks:
                    c.send("GET", k)
                got = [c.read() for _ in ks]
            finally:
                c.close()
            for k, v in zip(ks, got):
                want = expected[k]
                assert v == (want.encode() if isinstance(want, str) else want), (k, v, port)
        total = sum(call(p, "DBSIZE") for p in set(owners.values()))
        assert total == len(expected), (total, len(expected))


def default_values(keys):
    return {k: "v:" + k for k in keys}


# ---------------------------------------------------------------- the tests

class CliFamilies:
    """The families; a subclass sets `kind`."""

    kind = "shardnode"

    def setUp(self):
        if self.kind == "redis" and not REDIS_SERVER:
            self.skipTest("redis-server not installed")
        self.cluster = Cluster(self.kind)

    def tearDown(self):
        self.cluster.cleanup()

    def assertCli(self, out, rc=0):
        if rc == 0:
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        else:
            self.assertNotEqual(out.returncode, 0, out.stdout + out.stderr)

    def three_masters(self, keys=0):
        nodes = self.cluster.start(3)
        self.cluster.create(nodes)
        ks = [f"key:{i}" for i in range(keys)]
        self.cluster.load(nodes[0], ks)
        return nodes, default_values(ks)

    # create + check + info + call
    def test_create_check_info_call(self):
        cl = self.cluster
        nodes = cl.start(6)
        cl.create(nodes, replicas=1)
        rows = node_lines(nodes[0].port)
        masters = [r for r in rows if "master" in r["flags"]]
        replicas = [r for r in rows if "slave" in r["flags"]]
        self.assertEqual(sorted(len(m["slots"]) for m in masters), [5461, 5461, 5462])
        self.assertEqual(sorted(min(m["slots"]) for m in masters), [0, 5461, 10923])
        self.assertEqual(sorted(r["master"] for r in replicas), sorted(m["id"] for m in masters))
        keys = default_values([f"key:{i}" for i in range(300)])
        cl.load(nodes[0], keys)
        cl.assert_keys(nodes[0], keys)
        cl.wait_clean(nodes[3])

        out = cli("--cluster", "info", cl.addr(nodes[1]))
        self.assertCli(out)
        per_master = re.findall(r"-> (\d+) keys \| (\d+) slots \| (\d+) slaves\.", out.stdout)
        self.assertEqual(len(per_master), 3, out.stdout)
        self.assertEqual(sum(int(k) for k, _, _ in per_master), 300)
        self.assertEqual(sorted(int(s) for _, s, _ in per_master), [5461, 5461, 5462])
        self.assertEqual([int(r) for _, _, r in per_master], [1, 1, 1])
        self.assertIn("[OK] 300 keys in 3 masters.", out.stdout)

        # call: every node answers; the replicas catch up with their masters.
        master_ports = {m["port"] for m in masters}

        def dbsizes():
            out = cli("--cluster", "call", cl.addr(nodes[0]), "DBSIZE")
            self.assertCli(out)
            return {int(p): int(v) for p, v in re.findall(r"127\.0\.0\.1:(\d+): (\d+)", out.stdout)}

        sizes = dbsizes()
        self.assertEqual(set(sizes), {n.port for n in nodes})
        self.assertEqual(sum(v for p, v in sizes.items() if p in master_ports), 300)
        wait_until(lambda: sum(dbsizes().values()) == 600, timeout=30,
                   what="replicas holding their masters' keys")
        out = cli("--cluster", "call", cl.addr(nodes[0]), "GET", "key:1")
        self.assertCli(out)

    # add-node of an empty master, rebalance onto it
    def test_add_node_and_rebalance(self):
        cl = self.cluster
        nodes, keys = self.three_masters(keys=2000)
        new = cl.start(1)[0]
        out = cli("--cluster", "add-node", cl.addr(new), cl.addr(nodes[0]))
        self.assertCli(out)
        self.assertIn("[OK] New node added correctly.", out.stdout)
        cl.wait_settled(nodes + [new], masters=4)
        cl.wait_clean(nodes[0])
        new_id = myself(new.port)["id"]
        self.assertEqual(len(myself(new.port)["slots"]), 0)

        def slot_counts():
            return {r["id"]: len(r["slots"]) for r in cl.masters(nodes[0])}

        # Without --cluster-use-empty-masters the empty master gets nothing.
        before = slot_counts()
        out = cli("--cluster", "rebalance", cl.addr(nodes[0]))
        self.assertCli(out)
        self.assertEqual(slot_counts(), before)

        # --cluster-simulate prints the plan and changes nothing.
        out = cli("--cluster", "rebalance", cl.addr(nodes[0]), "--cluster-use-empty-masters",
                  "--cluster-simulate")
        self.assertCli(out)
        self.assertIn("Moving", out.stdout)
        self.assertEqual(slot_counts(), before)
        self.assertEqual(call(new.port, "DBSIZE"), 0)

        out = cli("--cluster", "rebalance", cl.addr(nodes[0]), "--cluster-use-empty-masters",
                  "--cluster-pipeline", "50")
        self.assertCli(out)
        cl.wait_clean(nodes[0])
        counts = slot_counts()
        self.assertEqual(sum(counts.values()), 16384)
        for n, c in counts.items():
            self.assertLessEqual(abs(c - 4096), 4096 * 2 // 100 + 1, counts)
        self.assertGreater(call(new.port, "DBSIZE"), 0)
        cl.assert_keys(nodes[0], keys)

        # --cluster-weight: the new node 1.25 times the others (4818 slots of
        # 16384 / 4.25 weight units, the others 3855).
        out = cli("--cluster", "rebalance", cl.addr(nodes[0]), "--cluster-weight",
                  f"{new_id}=1.25", "--cluster-pipeline", "50")
        self.assertCli(out)
        cl.wait_clean(nodes[0])
        counts = slot_counts()
        self.assertLessEqual(abs(counts[new_id] - 4818), 100, counts)
        for n, c in counts.items():
            if n != new_id:
                self.assertLessEqual(abs(c - 3855), 80, counts)
        cl.assert_keys(nodes[0], keys)

        # --cluster-threshold: 15% off balance (the new node) is within 30...
        before = slot_counts()
        out = cli("--cluster", "rebalance", cl.addr(nodes[0]), "--cluster-threshold", "30")
        self.assertCli(out)
        self.assertIn("No rebalancing needed!", out.stdout)
        self.assertEqual(slot_counts(), before)
        # ... but 15% is over a threshold of 10 (simulated: nothing moves).
        out = cli("--cluster", "rebalance", cl.addr(nodes[0]), "--cluster-threshold", "10",
                  "--cluster-simulate")
        self.assertCli(out)
        self.assertIn("Moving", out.stdout)
        self.assertEqual(slot_counts(), before)

    # add-node --cluster-slave with and without --cluster-master-id
    def test_add_node_slave(self):
        cl = self.cluster
        nodes, keys = self.three_masters(keys=200)
        ids = [myself(n.port)["id"] for n in nodes]
        r1, r2 = cl.start(2)
        out = cli("--cluster", "add-node", cl.addr(r1), cl.addr(nodes[0]), "--cluster-slave")
        self.assertCli(out)
        out = cli("--cluster", "add-node", cl.addr(r2), cl.addr(nodes[0]), "--cluster-slave",
                  "--cluster-master-id", ids[2])
        self.assertCli(out)
        cl.wait_settled(nodes + [r1, r2], masters=3)
        r1_master = myself(r1.port)["master"]
        self.assertIn(r1_master, ids)
        self.assertEqual(myself(r2.port)["master"], ids[2])
        for n in nodes + [r1, r2]:
            wait_until(lambda n=n: sorted((r["id"], r["master"]) for r in node_lines(n.port)
                                          if "slave" in r["flags"]) ==
                       sorted([(myself(r1.port)["id"], r1_master),
                               (myself(r2.port)["id"], ids[2])]),
                       timeout=30, what="every node seeing both replicas")
        cl.wait_clean(nodes[0])
        # They replicate: the keys of their masters arrive.
        for r, m in ((r1, r1_master), (r2, ids[2])):
            mport = cl.port_of(m, nodes[0])
            wait_until(lambda r=r, mport=mport: call(r.port, "DBSIZE") == call(mport, "DBSIZE"),
                       timeout=30, what="replica in sync")
        out = cli("--cluster", "info", cl.addr(nodes[0]))
        self.assertIn("[OK] 200 keys in 3 masters.", out.stdout)
        cl.assert_keys(nodes[0], keys)

    # del-node of a replica; of a master once drained
    def test_del_node(self):
        cl = self.cluster
        nodes = cl.start(6)
        cl.create(nodes, replicas=1)
        keys = default_values([f"key:{i}" for i in range(600)])
        cl.load(nodes[0], keys)
        rows = node_lines(nodes[0].port)
        by_port = {r["port"]: r for r in rows}
        replica = next(n for n in nodes if "slave" in by_port[n.port]["flags"])
        rid = by_port[replica.port]["id"]
        out = cli("--cluster", "del-node", cl.addr(nodes[0]), rid)
        self.assertCli(out)
        rest = [n for n in nodes if n is not replica]
        for n in rest:
            self.assertNotIn(rid, [r["id"] for r in node_lines(n.port)])
        # CLUSTER RESET SOFT on the removed replica: a master again, alone,
        # its data flushed.
        self.assertEqual(len(node_lines(replica.port)), 1)
        self.assertIn("master", myself(replica.port)["flags"])
        self.assertEqual(call(replica.port, "DBSIZE"), 0)
        cl.wait_clean(rest[0])

        # A master with a replica and 300 slots (the cheaper to drain).
        v, vr = cl.start(2)
        out = cli("--cluster", "add-node", cl.addr(v), cl.addr(rest[0]))
        self.assertCli(out)
        cl.wait_settled(rest + [v], masters=4)
        out = cli("--cluster", "add-node", cl.addr(vr), cl.addr(rest[0]), "--cluster-slave",
                  "--cluster-master-id", myself(v.port)["id"])
        self.assertCli(out)
        rest += [v, vr]
        cl.wait_settled(rest, masters=4)
        masters = cl.masters(rest[0])
        victim = next(m for m in masters if m["port"] == v.port)
        target = next(m for m in masters if m["port"] != v.port)
        out = cli("--cluster", "reshard", cl.addr(rest[0]), "--cluster-from", target["id"],
                  "--cluster-to", victim["id"], "--cluster-slots", 300, "--cluster-yes")
        self.assertCli(out)
        cl.wait_clean(rest[0])
        victim = myself(v.port)
        self.assertEqual(len(victim["slots"]), 300)
        self.assertGreater(call(v.port, "DBSIZE"), 0)
        wait_until(lambda: call(vr.port, "DBSIZE") == call(v.port, "DBSIZE"), timeout=30,
                   what="the new master's replica in sync")
        via = rest[0]
        out = cli("--cluster", "del-node", cl.addr(via), victim["id"])
        self.assertCli(out, rc=1)
        self.assertIn("is not empty! Reshard data away and try again.", out.stdout)
        # Drain it, then remove it.
        out = cli("--cluster", "reshard", cl.addr(via), "--cluster-from", victim["id"],
                  "--cluster-to", target["id"], "--cluster-slots", len(victim["slots"]),
                  "--cluster-yes", "--cluster-pipeline", "50")
        self.assertCli(out)
        cl.wait_clean(via)
        self.assertEqual(call(victim["port"], "CLUSTER", "COUNTKEYSINSLOT", min(victim["slots"])),
                         0)
        # The replicas saw the keys come and go (RESTORE and DEL propagated).
        for r in node_lines(via.port):
            if "slave" in r["flags"] and r["id"] != victim["id"]:
                mport = cl.port_of(r["master"], via)
                wait_until(lambda r=r, mport=mport: call(r["port"], "DBSIZE") ==
                           call(mport, "DBSIZE"), timeout=30, what="replica in sync")
        # The drained master and its replica now follow the new owner.
        followers = [r["id"] for r in node_lines(via.port) if r["master"] == victim["id"]]
        for n in rest:
            wait_until(lambda n=n: all(r["master"] == target["id"] for r in node_lines(n.port)
                                       if r["id"] in followers + [victim["id"]]),
                       timeout=30, what="the drained master's nodes following the new owner")
        out = cli("--cluster", "del-node", cl.addr(via), victim["id"])
        self.assertCli(out)
        left = [n for n in rest if n.port != victim["port"]]
        for n in left:
            wait_until(lambda n=n: victim["id"] not in [r["id"] for r in node_lines(n.port)],
                       timeout=10, what="the drained master forgotten")
        self.assertEqual(len(node_lines(victim["port"])), 1)
        self.assertIn("master", myself(victim["port"])["flags"])
        self.assertEqual(call(victim["port"], "DBSIZE"), 0)
        cl.wait_clean(via)
        self.assertEqual(len(node_lines(via.port)), 6)
        counts = sorted(len(m["slots"]) for m in cl.masters(via))
        self.assertEqual(sum(counts), 16384)
        cl.assert_keys(via, keys)

    # reshard with every option
    def test_reshard_options(self):
        cl = self.cluster
        nodes, keys = self.three_masters(keys=1000)
        ids = [myself(n.port)["id"] for n in nodes]

        def plant_on_b(key, value):
            """`key` (in a slot of nodes[0]) also on nodes[1], with `value`."""
            slot = key_slot(key)
            c = connect(nodes[1].port)
            try:
                self.assertEqual(c.call("CLUSTER", "SETSLOT", slot, "IMPORTING", ids[0]), "OK")
                self.assertEqual(c.call("ASKING"), "OK")
                self.assertEqual(c.call("SET", key, value), "OK")
                self.assertEqual(c.call("CLUSTER", "SETSLOT", slot, "STABLE"), "OK")
            finally:
                c.close()

        def slots():
            return {r["id"]: r["slots"] for r in cl.masters(nodes[0])}

        # Every type, and a TTL, cross with the slots (2-6 move first).
        typed = {s: "{%s}typed" % tag_for(s) for s in range(2, 7)}
        a = nodes[0].port
        call(a, "HSET", typed[2], "f1", "a", "f2", "b")
        call(a, "RPUSH", typed[3], *[str(i) for i in range(200)])
        call(a, "SADD", typed[4], "x", "y", "1", "2")
        call(a, "ZADD", typed[5], "1.5", "a", "2", "b")
        call(a, "SET", typed[6], "ttl", "PX", "100000")

        # The same value on both sides: compared (DEBUG DIGEST-VALUE) and
        # replaced without --cluster-replace. Slots move lowest first.
        same = "{%s}same" % tag_for(0)
        call(nodes[0].port, "SET", same, "equal")
        plant_on_b(same, "equal")
        keys[same] = "equal"
        cl.wait_clean(nodes[0])
        out = cli("--cluster", "reshard", cl.addr(nodes[2]), "--cluster-from", ids[0],
                  "--cluster-to", ids[1], "--cluster-slots", 100, "--cluster-yes",
                  "--cluster-timeout", 5000, "--cluster-pipeline", 3)
        self.assertCli(out)
        cl.wait_clean(nodes[0])
        m = slots()
        self.assertEqual(m[ids[1]], set(range(0, 100)) | set(range(5461, 10923)))
        self.assertEqual(m[ids[0]], set(range(100, 5461)))
        b = nodes[1].port
        for k in typed.values():
            self.assertTrue(call(a, "EXISTS", k).startswith("MOVED "))
            self.assertEqual(call(a, "CLUSTER", "COUNTKEYSINSLOT", key_slot(k)), 0)
        self.assertEqual(sorted(call(b, "HGETALL", typed[2])), [b"a", b"b", b"f1", b"f2"])
        self.assertEqual(call(b, "LRANGE", typed[3], 0, -1), [str(i).encode() for i in range(200)])
        self.assertEqual(sorted(call(b, "SMEMBERS", typed[4])), [b"1", b"2", b"x", b"y"])
        self.assertEqual(call(b, "ZRANGE", typed[5], 0, -1, "WITHSCORES"),
                         [b"a", b"1.5", b"b", b"2"])
        self.assertEqual(call(b, "GET", typed[6]), b"ttl")
        self.assertTrue(0 < call(b, "PTTL", typed[6]) <= 100000)
        for k in typed.values():
            self.assertEqual(call(b, "DEL", k), 1)
        cl.assert_keys(nodes[0], keys)

        # Another value on the target: the reshard stops at that slot,
        # leaving it open; once the stale copy is deleted, fix finishes it.
        busy = "{%s}busy" % tag_for(100)
        call(nodes[0].port, "SET", busy, "source")
        plant_on_b(busy, "stale")
        keys[busy] = "source"
        cl.wait_clean(nodes[0])
        out = cli("--cluster", "reshard", cl.addr(nodes[2]), "--cluster-from", ids[0],
                  "--cluster-to", ids[1], "--cluster-slots", 100, "--cluster-yes")
        self.assertCli(out, rc=1)
        self.assertIn("having different values", out.stdout + out.stderr)
        self.assertEqual(call(nodes[0].port, "GET", busy), b"source")
        out = cl.check(nodes[0])
        self.assertCli(out, rc=1)
        self.assertIn("open slot", out.stdout)
        c = connect(nodes[1].port)
        try:
            self.assertEqual(c.call("ASKING"), "OK")
            self.assertEqual(c.call("DEL", busy), 1)
        finally:
            c.close()
        out = cli("--cluster", "fix", cl.addr(nodes[0]), "--cluster-yes")
        self.assertCli(out)
        cl.wait_clean(nodes[0])
        self.assertEqual(slot_owners(nodes[0].port)[100], nodes[1].port)
        cl.assert_keys(nodes[0], keys)

        # --cluster-replace: the source's value wins.
        busy2 = "{%s}busy2" % tag_for(101)
        call(nodes[0].port, "SET", busy2, "source")
        plant_on_b(busy2, "stale")
        keys[busy2] = "source"
        cl.wait_clean(nodes[0])
        out = cli("--cluster", "reshard", cl.addr(nodes[2]), "--cluster-from", ids[0],
                  "--cluster-to", ids[1], "--cluster-slots", 100, "--cluster-yes",
                  "--cluster-timeout", 5000, "--cluster-pipeline", 3, "--cluster-replace")
        self.assertCli(out)
        cl.wait_clean(nodes[0])
        m = slots()
        self.assertEqual(m[ids[1]], set(range(0, 201)) | set(range(5461, 10923)))
        self.assertEqual(m[ids[0]], set(range(201, 5461)))
        self.assertEqual(call(nodes[1].port, "GET", busy2), b"source")
        cl.assert_keys(nodes[0], keys)

        # --cluster-from all: both others give to nodes[2].
        out = cli("--cluster", "reshard", cl.addr(nodes[0]), "--cluster-from", "all",
                  "--cluster-to", ids[2], "--cluster-slots", 200, "--cluster-yes")
        self.assertCli(out)
        cl.wait_clean(nodes[0])
        m = slots()
        self.assertEqual(len(m[ids[2]]), 5461 + 200)
        self.assertEqual(len(m[ids[0]]) + len(m[ids[1]]), 16384 - 5461 - 200)
        cl.assert_keys(nodes[0], keys)

    # fix: a reshard killed halfway, an importing slot, uncovered slots,
    # keys of one slot on two masters
    def test_fix(self):
        cl = self.cluster
        nodes, keys = self.three_masters(keys=300)
        a, b, c = nodes
        ids = [myself(n.port)["id"] for n in nodes]

        def add_slot_keys(slot, count, prefix="f"):
            ks = [f"{prefix}:{{{tag_for(slot)}}}:{i}" for i in range(count)]
            cl.load(a, ks)
            keys.update(default_values(ks))
            return ks

        # 1. redis-cli reshard killed while a slot is half moved.
        for s in (0, 1, 2, 3):
            add_slot_keys(s, 300)
        proc = subprocess.Popen(["redis-cli", "--cluster", "reshard", cl.addr(a),
                                 "--cluster-from", ids[0], "--cluster-to", ids[1],
                                 "--cluster-slots", "4", "--cluster-yes",
                                 "--cluster-pipeline", "1"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            probe = connect(b.port)

            def half_moved():
                if proc.poll() is not None:
                    return True
                open_tok = [t for t in myself(a.port)["open"] if "->-" in t]
                if not open_tok:
                    return False
                slot = int(open_tok[0][1:].split("-")[0])
                return probe.call("CLUSTER", "COUNTKEYSINSLOT", slot) > 0

            wait_until(half_moved, timeout=60, interval=0.002, what="a slot half moved")
            probe.close()
            self.assertIsNone(proc.poll(), "the reshard ended before it could be killed")
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)
        out = cl.check(a)
        self.assertCli(out, rc=1)
        self.assertIn("open slot", out.stdout)
        out = cli("--cluster", "fix", cl.addr(a), "--cluster-yes")
        self.assertCli(out)
        cl.wait_clean(a)
        cl.assert_keys(a, keys)

        # 2. An importing slot set by hand, part of its keys moved by MIGRATE
        # (as Redis's own tests do): fix moves them back to the owner.
        ks = add_slot_keys(100, 20)
        self.assertEqual(call(b.port, "CLUSTER", "SETSLOT", 100, "IMPORTING", ids[0]), "OK")
        self.assertEqual(call(a.port, "MIGRATE", "127.0.0.1", b.port, "", 0, 5000, "KEYS",
                              *ks[:10]), "OK")
        self.assertEqual(call(b.port, "CLUSTER", "COUNTKEYSINSLOT", 100), 10)
        out = cl.check(a)
        self.assertCli(out, rc=1)
        self.assertIn("[WARNING] Node 127.0.0.1:%d has slots in importing state 100" % b.port,
                      out.stdout)
        out = cli("--cluster", "fix", cl.addr(a), "--cluster-yes")
        self.assertCli(out)
        cl.wait_clean(a)
        self.assertEqual(call(a.port, "CLUSTER", "COUNTKEYSINSLOT", 100), 20)
        cl.assert_keys(a, keys)

        # 2b. A migrating slot with nothing importing: fix closes it.
        add_slot_keys(101, 5)
        self.assertEqual(call(a.port, "CLUSTER", "SETSLOT", 101, "MIGRATING", ids[1]), "OK")
        out = cl.check(a)
        self.assertCli(out, rc=1)
        self.assertIn("[WARNING] Node 127.0.0.1:%d has slots in migrating state 101" % a.port,
                      out.stdout)
        out = cli("--cluster", "fix", cl.addr(a), "--cluster-yes")
        self.assertCli(out)
        cl.wait_clean(a)
        self.assertEqual(myself(a.port)["open"], [])
        cl.assert_keys(a, keys)

        # 3. Uncovered slots: nobody claims 200-204 (keys in 200 on a).
        add_slot_keys(200, 5)
        for n in nodes:
            self.assertEqual(call(n.port, "CLUSTER", "DELSLOTSRANGE", 200, 204), "OK")
        out = cl.check(a)
        self.assertCli(out, rc=1)
        self.assertIn("[ERR] Not all 16384 slots are covered by nodes.", out.stdout)
        out = cli("--cluster", "fix", cl.addr(a), "--cluster-yes", stdin="yes\nyes\nyes\n")
        self.assertCli(out)
        cl.wait_clean(a)
        owners = slot_owners(a.port)
        self.assertEqual(owners[200], a.port)
        for s in range(201, 205):
            self.assertIn(s, owners)
        cl.assert_keys(a, keys)

        # 3b. An uncovered slot with keys on two masters: the one with more
        # keys gets it, the other's keys move there (SETSLOT IMPORTING on the
        # holder lets its MIGRATE run).
        add_slot_keys(300, 6)
        ks = [f"u:{{{tag_for(300)}}}:{i}" for i in range(3)]
        cb = connect(b.port)
        try:
            self.assertEqual(cb.call("CLUSTER", "SETSLOT", 300, "IMPORTING", ids[0]), "OK")
            for k in ks:
                self.assertEqual(cb.call("ASKING"), "OK")
                self.assertEqual(cb.call("SET", k, "on-b"), "OK")
            self.assertEqual(cb.call("CLUSTER", "SETSLOT", 300, "STABLE"), "OK")
        finally:
            cb.close()
        keys.update({k: "on-b" for k in ks})
        for n in nodes:
            self.assertEqual(call(n.port, "CLUSTER", "DELSLOTS", 300), "OK")
        out = cli("--cluster", "fix", cl.addr(a), "--cluster-yes", stdin="yes\nyes\nyes\n")
        self.assertCli(out)
        cl.wait_clean(a)
        self.assertEqual(slot_owners(a.port)[300], a.port)
        self.assertEqual(call(a.port, "CLUSTER", "COUNTKEYSINSLOT", 300), 9)
        self.assertEqual(call(b.port, "CLUSTER", "COUNTKEYSINSLOT", 300), 0)
        cl.assert_keys(a, keys)

        # 4. Keys of a slot of b's (b holds none of its keys) only on c:
        # --cluster-search-multiple-owners finds two owners, fix gives the
        # slot to c, the node with its keys.
        slot = next(s for s in range(6000, 7000)
                    if call(b.port, "CLUSTER", "COUNTKEYSINSLOT", s) == 0)
        tag = tag_for(slot)
        ks = [f"m:{{{tag}}}:{i}" for i in range(6)]
        cc = connect(c.port)
        try:
            self.assertEqual(cc.call("CLUSTER", "SETSLOT", slot, "IMPORTING", ids[1]), "OK")
            for k in ks:
                self.assertEqual(cc.call("ASKING"), "OK")
                self.assertEqual(cc.call("SET", k, "on-c"), "OK")
            self.assertEqual(cc.call("CLUSTER", "SETSLOT", slot, "STABLE"), "OK")
        finally:
            cc.close()
        keys.update({k: "on-c" for k in ks})
        out = cl.check(a, "--cluster-search-multiple-owners")
        self.assertCli(out, rc=1)
        self.assertIn(f"[WARNING] Slot {slot} has 2 owners:", out.stdout)
        out = cli("--cluster", "fix", cl.addr(a), "--cluster-search-multiple-owners",
                  "--cluster-yes")
        self.assertCli(out)
        cl.wait_clean(a, "--cluster-search-multiple-owners")
        self.assertEqual(slot_owners(a.port)[slot], c.port)
        self.assertEqual(call(c.port, "CLUSTER", "COUNTKEYSINSLOT", slot), 6)
        cl.assert_keys(a, keys)

    # a cluster with requirepass: MIGRATE ... AUTH (-a) and AUTH2 (--user)
    def test_password(self):
        cl = self.cluster
        cl.password = "pw"
        cl.auth = ["-a", "pw", "--no-auth-warning"]
        nodes = cl.start(4)
        out = cli("-a", "pw", "--no-auth-warning", "--cluster", "create",
                  *[cl.addr(n) for n in nodes[:3]], "--cluster-yes")
        self.assertCli(out)
        cl.wait_clean(nodes[0])
        cl.wait_settled(nodes[:3], masters=3)
        keys = default_values([f"key:{i}" for i in range(500)])
        cl.load(nodes[0], keys)
        ids = [myself(n.port)["id"] for n in nodes[:3]]
        out = cli("-a", "pw", "--no-auth-warning", "--cluster", "reshard", cl.addr(nodes[0]),
                  "--cluster-from", ids[0], "--cluster-to", ids[1], "--cluster-slots", 300,
                  "--cluster-yes")
        self.assertCli(out)
        cl.wait_clean(nodes[0])
        self.assertEqual(len(myself(nodes[1].port)["slots"]), 5462 + 300)
        cl.assert_keys(nodes[0], keys)
        out = cli("--user", "default", "--pass", "pw", "--no-auth-warning", "--cluster",
                  "add-node", cl.addr(nodes[3]), cl.addr(nodes[0]))
        self.assertCli(out)
        cl.wait_settled(nodes, masters=4)
        new_id = myself(nodes[3].port)["id"]
        out = cli("--user", "default", "--pass", "pw", "--no-auth-warning", "--cluster",
                  "reshard", cl.addr(nodes[0]), "--cluster-from", "all", "--cluster-to", new_id,
                  "--cluster-slots", 600, "--cluster-yes")
        self.assertCli(out)
        cl.wait_clean(nodes[0])
        self.assertEqual(len(myself(nodes[3].port)["slots"]), 600)
        self.assertGreater(call(nodes[3].port, "DBSIZE"), 0)
        cl.assert_keys(nodes[0], keys)

    # import from a standalone redis-server and a standalone shardnode
    def test_import(self):
        cl = self.cluster
        nodes, keys = self.three_masters(keys=50)
        for source_kind in ("redis", "shardnode"):
            if source_kind == "redis" and not REDIS_SERVER:
                continue
            src = (RedisServerNode() if source_kind == "redis" else Node())
            cl.nodes.append(src)
            src.start()
            prefix = f"imp-{source_kind}"
            src_keys = {f"{prefix}:{i}": f"{source_kind}:{i}" for i in range(300)}
            s = connect(src.port, timeout=30)
            try:
                for k, v in src_keys.items():
                    s.send("SET", k, v)
                for _ in src_keys:
                    self.assertEqual(s.read(), "OK")
                s.call("HSET", f"{prefix}:hash", "f", "1", "g", "2")
                s.call("EXPIRE", f"{prefix}:0", 1000)
            finally:
                s.close()
            # A key already in the cluster with another value: replaced.
            clash = f"{prefix}:7"
            cl.load(nodes[0], [clash])
            self.assertEqual(call(owner_port(nodes[0], clash), "GET", clash), ("v:" + clash).encode())

            # --cluster-copy --cluster-replace: the source keeps its keys.
            out = cli("--cluster", "import", cl.addr(nodes[0]), "--cluster-from", cl.addr(src),
                      "--cluster-copy", "--cluster-replace")
            self.assertCli(out)
            self.assertEqual(call(src.port, "DBSIZE"), 301)
            ttl_key = f"{prefix}:0"
            self.assertTrue(900 < call(owner_port(nodes[0], ttl_key), "TTL", ttl_key) <= 1000)
            keys.update(src_keys)
            hash_key = f"{prefix}:hash"
            port = owner_port(nodes[0], hash_key)
            self.assertEqual(sorted(call(port, "HGETALL", hash_key)), [b"1", b"2", b"f", b"g"])
            keys.pop(hash_key, None)
            call(port, "DEL", hash_key)
            cl.assert_keys(nodes[0], keys)

            # Without --cluster-copy the keys leave the source; without
            # --cluster-replace a key already there stops the import.
            call(src.port, "DEL", hash_key)
            extra = {f"{prefix}:moved:{i}": str(i) for i in range(50)}
            for k, v in extra.items():
                call(src.port, "SET", k, v)
            out = cli("--cluster", "import", cl.addr(nodes[0]), "--cluster-from", cl.addr(src),
                      "--cluster-replace")
            self.assertCli(out)
            self.assertEqual(call(src.port, "DBSIZE"), 0)
            keys.update(extra)
            cl.assert_keys(nodes[0], keys)
            call(src.port, "SET", clash, "again")
            out = cli("--cluster", "import", cl.addr(nodes[0]), "--cluster-from", cl.addr(src))
            self.assertCli(out, rc=1)
            self.assertIn("BUSYKEY", out.stdout + out.stderr)
            self.assertEqual(call(src.port, "GET", clash), b"again")
            call(src.port, "DEL", clash)
        cl.wait_clean(nodes[0])
        cl.assert_keys(nodes[0], keys)

        # A cluster node as the source is refused.
        out = cli("--cluster", "import", cl.addr(nodes[0]), "--cluster-from", cl.addr(nodes[1]))
        self.assertCli(out, rc=1)
        self.assertIn("The source node should not be a cluster node.", out.stdout + out.stderr)


class ShardnodeCliTest(CliFamilies, unittest.TestCase):
    kind = "shardnode"


class RedisServerCliTest(CliFamilies, unittest.TestCase):
    kind = "redis"


if "shardnode" not in KINDS:
    del ShardnodeCliTest
if "redis" not in KINDS:
    del RedisServerCliTest

if __name__ == "__main__":
    unittest.main()
