"""Interop end-to-end: one cluster of two shardnode masters and one
redis-server 7.0.15 master, formed with CLUSTER ADDSLOTSRANGE and CLUSTER
MEET. All three must agree on ids and slots, pass redis-cli --cluster check,
serve keys through redis-cli -c from any node, and detect each other's
failure. Skipped (with a message) only when redis-server is not installed."""
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import REDIS_SERVER, Client, Node, RedisServerNode, wait_until  # noqa: E402

NODE_TIMEOUT_MS = 2000
TIMEOUT_ARGS = ["--cluster-node-timeout", str(NODE_TIMEOUT_MS)]


def info(node):
    c = Client(node.port)
    try:
        text = c.call("CLUSTER", "INFO").decode()
    finally:
        c.close()
    return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)


def state_is(node, state):
    try:
        return info(node)["cluster_state"] == state
    except OSError:
        return False


def nodes_table(node):
    """CLUSTER NODES as {id: (addr, flags without myself, slots)}."""
    c = Client(node.port)
    try:
        text = c.call("CLUSTER", "NODES").decode()
    finally:
        c.close()
    table = {}
    for line in text.splitlines():
        f = line.split(" ")
        flags = ",".join(x for x in f[2].split(",") if x != "myself")
        table[f[0]] = (f[1], flags, tuple(f[8:]))
    return table


def marks_fail(node, failed_id):
    try:
        row = nodes_table(node).get(failed_id)
    except OSError:
        return False
    return row is not None and "fail" in row[1].split(",") and state_is(node, "fail")


@unittest.skipIf(REDIS_SERVER is None, "redis-server is not installed: interop test skipped")
class MixedClusterTest(unittest.TestCase):
    def setUp(self):
        self.a = Node(cluster=True, args=TIMEOUT_ARGS)
        self.b = Node(cluster=True, args=TIMEOUT_ARGS)
        self.r = RedisServerNode(cluster=True, args=TIMEOUT_ARGS)
        self.all = [self.a, self.b, self.r]
        for n in self.all:
            n.start()

    def tearDown(self):
        for n in self.all:
            n.cleanup()

    def wait_all_ok(self, nodes, timeout=20):
        for n in nodes:
            wait_until(lambda: state_is(n, "ok"), timeout=timeout,
                       what=f"cluster_state:ok on {n.port}")

    def assert_agree(self):
        tables = [nodes_table(n) for n in self.all]
        self.assertEqual(len(tables[0]), 3, tables[0])
        for t in tables[1:]:
            self.assertEqual(t, tables[0])

    def test_mixed_cluster(self):
        self.assertEqual(self.a.cli("cluster", "addslotsrange", "0", "5460"), "OK")
        self.assertEqual(self.b.cli("cluster", "addslotsrange", "5461", "10922"), "OK")
        self.assertEqual(self.r.cli("cluster", "addslotsrange", "10923", "16383"), "OK")
        self.assertEqual(self.a.cli("cluster", "meet", "127.0.0.1", self.b.port), "OK")
        self.assertEqual(self.a.cli("cluster", "meet", "127.0.0.1", self.r.port), "OK")
        self.wait_all_ok(self.all)
        wait_until(lambda: all(len(nodes_table(n)) == 3 for n in self.all), timeout=10,
                   what="three known nodes everywhere")
        wait_until(lambda: self.tables_agree(), timeout=10, what="CLUSTER NODES agreement")
        self.assert_agree()
        ids = {n.port: n.cli("cluster", "myid") for n in self.all}
        for n in self.all:
            check = subprocess.run(["redis-cli", "--cluster", "check", "127.0.0.1:%d" % n.port],
                                   capture_output=True, text=True, timeout=60)
            self.assertEqual(check.returncode, 0, check.stdout)
            self.assertIn("[OK] All nodes agree about slots configuration.", check.stdout)
            self.assertIn("[OK] All 16384 slots covered.", check.stdout)

        # Keys written through any node are read back through any other.
        for k in range(30):
            w = self.all[k % 3]
            self.assertEqual(w.cli("set", f"mixed:{k}", f"v{k}", cluster_mode=True), "OK")
        for k in range(30):
            for r in (self.all[(k + 1) % 3], self.all[(k + 2) % 3]):
                self.assertEqual(r.cli("get", f"mixed:{k}", cluster_mode=True), f"v{k}")

        # The shardnode nodes detect the redis-server node's death...
        limit = 2 * NODE_TIMEOUT_MS / 1000 + 3
        self.kill(self.r)
        t0 = time.monotonic()
        for n in (self.a, self.b):
            wait_until(lambda: marks_fail(n, ids[self.r.port]), timeout=limit,
                       what=f"shardnode {n.port} marks redis-server fail")
        self.assertLess(time.monotonic() - t0, limit)
        # ...and it rejoins from its nodes.conf.
        self.r.start()
        self.wait_all_ok(self.all)

        # redis-server (and the other shardnode) detect a shardnode's death.
        self.kill(self.b)
        t0 = time.monotonic()
        for n in (self.r, self.a):
            wait_until(lambda: marks_fail(n, ids[self.b.port]), timeout=limit,
                       what=f"{n.port} marks shardnode {self.b.port} fail")
        self.assertLess(time.monotonic() - t0, limit)
        self.b.start()
        self.wait_all_ok(self.all)
        wait_until(lambda: self.tables_agree(), timeout=10, what="agreement after recovery")

    def tables_agree(self):
        try:
            tables = [nodes_table(n) for n in self.all]
        except OSError:
            return False
        return all(t == tables[0] for t in tables) and len(tables[0]) == 3

    def kill(self, node):
        node.proc.send_signal(signal.SIGKILL)
        node.proc.wait(5)
        node.stop()  # closes its log file; the process is already gone


if __name__ == "__main__":
    unittest.main()
