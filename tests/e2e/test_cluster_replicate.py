"""End-to-end: CLUSTER REPLICATE as the cluster sees it.

The same script of REPLICATE calls (each of Redis's errors, success, a
replica switching primaries) runs against three shardnode nodes and against
three redis-server 7.0.15 nodes; the replies must be equal, and every node
must show the new role in CLUSTER NODES / REPLICAS / SLAVES / SHARDS / INFO.
A restarted shardnode replica keeps its role from nodes.conf. A mixed cluster
checks that the replica role crosses the bus both ways between shardnode and
redis-server. The data sync itself is not checked here (replication tests)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (REDIS_SERVER, Client, Error, Node, RedisServerNode, crc16,  # noqa: E402
                     wait_until)

NODE_TIMEOUT_MS = 2000
TIMEOUT_ARGS = ["--cluster-node-timeout", str(NODE_TIMEOUT_MS)]
UNKNOWN_ID = "0123456789abcdef0123456789abcdef01234567"


def key_in_slot(slot):
    i = 0
    while crc16(b"k%d" % i) % 16384 != slot:
        i += 1
    return "k%d" % i


def call(node, *args):
    c = Client(node.port)
    try:
        reply = c.call(*args)
    finally:
        c.close()
    return str(reply) if isinstance(reply, Error) else reply


def my_id(node):
    return call(node, "CLUSTER", "MYID").decode()


def node_rows(node):
    """CLUSTER NODES as {id: (flags, master)}."""
    rows = {}
    for line in call(node, "CLUSTER", "NODES").decode().splitlines():
        f = line.split(" ")
        rows[f[0]] = (f[2], f[3])
    return rows


def sees_replica(node, replica_id, primary_id):
    try:
        flags, master = node_rows(node).get(replica_id, ("", ""))
    except OSError:
        return False
    return "slave" in flags.split(",") and master == primary_id


def form_cluster(nodes):
    """nodes[0] owns slots 0-16382, nodes[2] owns 16383; all meet."""
    a, _, c = nodes
    assert call(a, "CLUSTER", "ADDSLOTSRANGE", "0", "16382") == "OK"
    assert call(c, "CLUSTER", "ADDSLOTS", "16383") == "OK"
    for n in nodes[1:]:
        assert call(n, "CLUSTER", "MEET", "127.0.0.1", str(a.port)) == "OK"
    ids = [my_id(n) for n in nodes]
    for n in nodes:
        wait_until(lambda n=n: set(node_rows(n)) == set(ids) and
                   all("handshake" not in r[0] for r in node_rows(n).values()),
                   timeout=20, what="full mesh")
    for n in nodes:
        wait_until(lambda n=n: cluster_info(n)["cluster_state"] == "ok", timeout=20,
                   what="cluster_state:ok")
    return ids


def replicate_script(nodes):
    """Runs the REPLICATE script; returns the replies with ids replaced by
    role names, so that two clusters' transcripts compare equal."""
    a, b, c = nodes
    ids = form_cluster(nodes)
    names = {ids[0]: "<A>", ids[1]: "<B>", ids[2]: "<C>"}

    def norm(reply):
        if isinstance(reply, bytes):
            reply = reply.decode()
        if isinstance(reply, list):
            return [norm(x) for x in reply]
        if isinstance(reply, str):
            for i, name in names.items():
                reply = reply.replace(i, name)
        return reply

    out = []
    # C: a key in its slot 16383, then the slot goes: keys but no slots.
    key = key_in_slot(16383)
    out.append(norm(call(c, "SET", key, "v")))
    out.append(norm(call(c, "CLUSTER", "DELSLOTS", "16383")))
    out.append(norm(call(b, "CLUSTER", "REPLICATE", UNKNOWN_ID)))
    out.append(norm(call(b, "CLUSTER", "REPLICATE", "nosuchnode")))
    out.append(norm(call(b, "CLUSTER", "REPLICATE")))
    out.append(norm(call(b, "CLUSTER", "REPLICATE", ids[0], "extra")))
    out.append(norm(call(b, "CLUSTER", "REPLICATE", ids[1])))
    out.append(norm(call(a, "CLUSTER", "REPLICATE", ids[1])))  # I have slots
    out.append(norm(call(c, "CLUSTER", "REPLICATE", ids[0])))  # I have keys
    out.append(norm(call(b, "CLUSTER", "REPLICATE", ids[0])))
    for n in nodes:
        wait_until(lambda n=n: sees_replica(n, ids[1], ids[0]), timeout=10,
                   what="B seen as a replica of A")
    out.append(norm(call(c, "CLUSTER", "REPLICATE", ids[1])))  # not a master
    out.append(norm(call(c, "CLUSTER", "REPLICAS", ids[1])))
    out.append(norm(call(c, "CLUSTER", "SLAVES", UNKNOWN_ID)))
    for n in nodes:
        for sub in ("REPLICAS", "SLAVES"):
            lines = norm(call(n, "CLUSTER", sub, ids[0]))
            out.append([" ".join(line.split(" ")[2:4]) for line in lines])
    out.append(norm(call(b, "CLUSTER", "REPLICATE", ids[0])))  # again: fine
    # A replica may switch primaries (C has no slots; that is fine).
    out.append(norm(call(b, "CLUSTER", "REPLICATE", ids[2])))
    for n in nodes:
        wait_until(lambda n=n: sees_replica(n, ids[1], ids[2]), timeout=10,
                   what="B seen as a replica of C")
    out.append(norm(call(a, "CLUSTER", "REPLICAS", ids[0])))
    out.append([" ".join(line.split(" ")[2:4]) for line in norm(call(a, "CLUSTER", "REPLICAS",
                                                                   ids[2]))])
    return out, ids


def shards_roles(node):
    """CLUSTER SHARDS as the sorted [[(id, role), ...], ...] of its shards
    (slots left out: a DELSLOTS is not propagated, peers keep the old owner)."""
    out = []
    for shard in call(node, "CLUSTER", "SHARDS"):
        d = dict(zip(shard[0::2], shard[1::2]))
        members = []
        for n in d[b"nodes"]:
            nd = dict(zip(n[0::2], n[1::2]))
            members.append((nd[b"id"].decode(), nd[b"role"].decode()))
        out.append(members)
    return sorted(out)


def cluster_info(node):
    text = call(node, "CLUSTER", "INFO").decode()
    return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)


EXPECTED = [
    "OK",
    "OK",
    "ERR Unknown node " + UNKNOWN_ID,
    "ERR Unknown node nosuchnode",
    "ERR wrong number of arguments for 'cluster|replicate' command",
    "ERR wrong number of arguments for 'cluster|replicate' command",
    "ERR Can't replicate myself",
    "ERR To set a master the node must be empty and without assigned slots.",
    "ERR To set a master the node must be empty and without assigned slots.",
    "OK",
    "ERR I can only replicate a master, not a replica.",
    "ERR The specified node is not a master",
    "ERR Unknown node " + UNKNOWN_ID,
]


class ReplicateViewTest(unittest.TestCase):
    def setUp(self):
        self.started = []

    def tearDown(self):
        for n in self.started:
            n.cleanup()

    def start(self, node):
        self.started.append(node)
        return node.start()

    def test_errors_and_view_match_redis(self):
        nodes = [self.start(Node(cluster=True, args=TIMEOUT_ARGS)) for _ in range(3)]
        ours, ids = replicate_script(nodes)
        self.assertEqual(ours[:len(EXPECTED)], EXPECTED)
        # REPLICAS / SLAVES <A> on each node: B, a replica of A.
        self.assertEqual(ours[len(EXPECTED):len(EXPECTED) + 6], [["slave <A>"]] * 2 +
                         [["myself,slave <A>"]] * 2 + [["slave <A>"]] * 2)
        self.assertEqual(ours[-4:], ["OK", "OK", [], ["slave <C>"]])

        # The view once B replicates C: flags on every node, SHARDS, my_epoch.
        a, b, c = nodes
        for n in nodes:
            self.assertEqual(shards_roles(n), sorted([
                [(ids[0], "master")],
                [(ids[2], "master"), (ids[1], "replica")],
            ]))
        self.assertEqual(node_rows(b)[ids[1]], ("myself,slave", ids[2]))
        self.assertEqual(cluster_info(b)["cluster_my_epoch"], cluster_info(c)["cluster_my_epoch"])
        # SETSLOT is refused on a replica.
        self.assertEqual(call(b, "CLUSTER", "SETSLOT", "1", "STABLE"),
                         "ERR Please use SETSLOT only with masters.")

        # nodes.conf keeps the role across a restart.
        b.stop()
        b.start()
        self.assertEqual(node_rows(b)[ids[1]], ("myself,slave", ids[2]))
        for n in nodes:
            wait_until(lambda n=n: sees_replica(n, ids[1], ids[2]), timeout=10,
                       what="B still a replica of C after its restart")

        if REDIS_SERVER is None:
            self.skipTest("redis-server is not installed: no differential check")
        theirs, _ = replicate_script(
            [self.start(RedisServerNode(cluster=True, args=TIMEOUT_ARGS)) for _ in range(3)])
        self.assertEqual(ours, theirs)

    @unittest.skipIf(REDIS_SERVER is None, "redis-server is not installed")
    def test_role_crosses_the_bus_with_redis_server(self):
        r1 = self.start(RedisServerNode(cluster=True, args=TIMEOUT_ARGS))
        a = self.start(Node(cluster=True, args=TIMEOUT_ARGS))
        s = self.start(Node(cluster=True, args=TIMEOUT_ARGS))
        r2 = self.start(RedisServerNode(cluster=True, args=TIMEOUT_ARGS))
        nodes = [r1, a, s, r2]
        self.assertEqual(call(r1, "CLUSTER", "ADDSLOTSRANGE", "0", "8191"), "OK")
        self.assertEqual(call(a, "CLUSTER", "ADDSLOTSRANGE", "8192", "16383"), "OK")
        for n in nodes[1:]:
            self.assertEqual(call(n, "CLUSTER", "MEET", "127.0.0.1", str(r1.port)), "OK")
        ids = [my_id(n) for n in nodes]
        for n in nodes:
            wait_until(lambda n=n: set(node_rows(n)) == set(ids), timeout=20, what="full mesh")
        # shardnode replicates redis-server, redis-server replicates shardnode.
        self.assertEqual(call(s, "CLUSTER", "REPLICATE", ids[0]), "OK")
        self.assertEqual(call(r2, "CLUSTER", "REPLICATE", ids[1]), "OK")
        for n in nodes:
            wait_until(lambda n=n: sees_replica(n, ids[2], ids[0]) and
                       sees_replica(n, ids[3], ids[1]), timeout=15,
                       what="both replicas seen by every node")
        for n in nodes:
            self.assertEqual(call(n, "CLUSTER", "REPLICAS", ids[0])[0].decode().split(" ")[0],
                             ids[2])
            self.assertEqual(call(n, "CLUSTER", "REPLICAS", ids[1])[0].decode().split(" ")[0],
                             ids[3])


if __name__ == "__main__":
    unittest.main(verbosity=2)
