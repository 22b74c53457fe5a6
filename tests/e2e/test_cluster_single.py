"""End-to-end: one shardnode in cluster mode. Slot ownership, routing errors
(MOVED / CROSSSLOT / CLUSTERDOWN), nodes.conf persistence, corruption and
locking, and redis-cli -c against it."""
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (BIN, REDIS_SERVER, Client, Node, RedisServerNode, free_port,  # noqa: E402
                     wait_until)

FOO_SLOT = 12182  # CRC16("foo") & 16383
BAR_SLOT = 5061


def cluster_info(client):
    text = client.call("CLUSTER", "INFO").decode()
    return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)


class FreshNodeTest(unittest.TestCase):
    def test_slot_assignment_and_routing(self):
        with Node(cluster=True) as node:
            c = Client(node.port)
            myid = c.call("CLUSTER", "MYID").decode()
            self.assertRegex(myid, r"^[0-9a-f]{40}$")
            info = cluster_info(c)
            self.assertEqual(info["cluster_state"], "fail")
            self.assertEqual(info["cluster_known_nodes"], "1")
            self.assertEqual(info["cluster_slots_assigned"], "0")
            nodes = c.call("CLUSTER", "NODES").decode()
            # A node learns its own IP from a MEET; until then Redis prints none.
            self.assertEqual(nodes, "%s :%d@%d myself,master - 0 0 0 connected\n" % (
                myid, node.port, node.port + 10000))

            self.assertEqual(c.call("GET", "foo"), "CLUSTERDOWN Hash slot not served")
            self.assertEqual(c.call("CLUSTER", "ADDSLOTSRANGE", "0", "8000"), "OK")
            self.assertEqual(c.call("GET", "foo"), "CLUSTERDOWN Hash slot not served")
            self.assertEqual(c.call("GET", "bar"), "CLUSTERDOWN The cluster is down")
            self.assertEqual(c.call("CLUSTER", "ADDSLOTS", "100"), "ERR Slot 100 is already busy")
            self.assertEqual(c.call("CLUSTER", "ADDSLOTSRANGE", "8001", "16383"), "OK")
            wait_until(lambda: cluster_info(c)["cluster_state"] == "ok", timeout=10,
                       what="cluster_state:ok")

            self.assertEqual(node.cli("set", "foo", "v1", cluster_mode=True), "OK")
            self.assertEqual(node.cli("get", "foo", cluster_mode=True), "v1")
            self.assertEqual(c.call("MSET", "foo", "1", "bar", "2"),
                             "CROSSSLOT Keys in request don't hash to the same slot")
            self.assertEqual(c.call("MSET", "{u}a", "1", "{u}b", "2"), "OK")
            self.assertEqual(c.call("CLUSTER", "KEYSLOT", "{u}a"), c.call("CLUSTER", "KEYSLOT", "u"))
            slot = c.call("CLUSTER", "KEYSLOT", "u")
            self.assertEqual(c.call("CLUSTER", "COUNTKEYSINSLOT", str(slot)), 2)
            self.assertEqual(sorted(c.call("CLUSTER", "GETKEYSINSLOT", str(slot), "10")),
                             [b"{u}a", b"{u}b"])
            self.assertEqual(c.call("SELECT", "1"), "ERR SELECT is not allowed in cluster mode")

            slots = c.call("CLUSTER", "SLOTS")
            self.assertEqual(slots, [[0, 16383, [b"", node.port, myid.encode(), []]]])
            c.close()

    def test_restart_keeps_id_and_slots(self):
        node = Node(cluster=True).start()
        try:
            c = Client(node.port)
            myid = c.call("CLUSTER", "MYID")
            c.call("CLUSTER", "ADDSLOTSRANGE", "0", "16383")
            c.close()
            self.assertEqual(node.stop(), 0)
            with open(os.path.join(node.dir, "nodes.conf")) as f:
                conf = f.read()
            self.assertIn(myid.decode() + " ", conf)
            self.assertIn("vars currentEpoch", conf)
            node.start()
            c = Client(node.port)
            self.assertEqual(c.call("CLUSTER", "MYID"), myid)
            self.assertEqual(cluster_info(c)["cluster_slots_assigned"], "16384")
            c.close()
        finally:
            node.cleanup()


class PreparedConfigTest(unittest.TestCase):
    """A nodes.conf that names a second master lets one process show MOVED."""

    def test_moved_to_owner(self):
        port, other = free_port(), free_port()
        me, peer = "a" * 40, "b" * 40
        node = Node(cluster=True, port=port)
        with open(os.path.join(node.dir, "nodes.conf"), "w") as f:
            f.write(f"{me} 127.0.0.1:{port}@{port + 10000} myself,master - 0 0 1 connected 0-8191\n"
                    f"{peer} 127.0.0.1:{other}@{other + 10000} master - 0 0 2 connected 8192-16383\n"
                    "vars currentEpoch 2 lastVoteEpoch 0\n")
        try:
            node.start()
            c = Client(node.port)
            self.assertEqual(c.call("CLUSTER", "MYID").decode(), me)
            # The state turns ok only after the 2 s writable delay.
            wait_until(lambda: cluster_info(c)["cluster_state"] == "ok", timeout=10,
                       what="cluster_state:ok")
            self.assertEqual(c.call("CONFIG", "RESETSTAT"), "OK")
            self.assertEqual(c.call("SET", "foo", "1"), f"MOVED {FOO_SLOT} 127.0.0.1:{other}")
            # A redirection is a rejected call, counted by error code (18-info).
            self.assertIn("errorstat_MOVED:count=1\r\n", c.call("INFO", "errorstats").decode())
            self.assertIn("cmdstat_set:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,"
                          "failed_calls=0", c.call("INFO", "commandstats").decode())
            self.assertEqual(c.call("SET", "bar", "1"), "OK")
            self.assertEqual(c.call("GET", "foo"), f"MOVED {FOO_SLOT} 127.0.0.1:{other}")
            c.call("READONLY")
            self.assertEqual(c.call("GET", "foo"), f"MOVED {FOO_SLOT} 127.0.0.1:{other}")
            c.close()
        finally:
            node.cleanup()

    def test_corrupt_nodes_conf_stops_startup_and_is_kept(self):
        node = Node(cluster=True)
        path = os.path.join(node.dir, "nodes.conf")
        content = ("%s 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-100\n"
                   "this line is not valid\nvars currentEpoch 1 lastVoteEpoch 0\n") % ("c" * 40)
        with open(path, "w") as f:
            f.write(content)
        try:
            out = subprocess.run(node.command_line(), capture_output=True, text=True, timeout=20,
                                 cwd=node.dir)
            self.assertEqual(out.returncode, 1)
            text = out.stdout + out.stderr
            self.assertIn("nodes.conf", text)
            self.assertRegex(text, r"line 2")
            with open(path) as f:
                self.assertEqual(f.read(), content)
        finally:
            node.cleanup()

    def test_second_node_on_same_config_is_refused(self):
        node = Node(cluster=True).start()
        try:
            second = Node(cluster=True, dir=node.dir, port=free_port())
            out = subprocess.run(second.command_line(), capture_output=True, text=True,
                                 timeout=20, cwd=node.dir)
            self.assertEqual(out.returncode, 1)
            self.assertIn("already used by a different Redis Cluster node", out.stdout + out.stderr)
            self.assertTrue(node.answers_ping())
        finally:
            node.cleanup()


class BenchmarkSmokeTest(unittest.TestCase):
    def test_redis_benchmark_pipeline_runs_to_the_end(self):
        with Node(cluster=True) as node:
            node.cli("cluster", "addslotsrange", "0", "16383")
            c = Client(node.port)
            wait_until(lambda: cluster_info(c)["cluster_state"] == "ok", timeout=10,
                       what="cluster_state:ok")
            c.close()
            out = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(node.port),
                                  "-t", "set,get", "-P", "16", "-n", "20000", "-q"],
                                 capture_output=True, text=True, timeout=120)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertRegex(out.stdout, r"SET: [\d.]+ requests per second")
            self.assertRegex(out.stdout, r"GET: [\d.]+ requests per second")


class SlotArgumentsTest(unittest.TestCase):
    """Issue 9, seam 7: slot arguments go through the one string2ll parser
    (base/strings.h). The CLUSTER family had its own copy that took "-0" as
    slot 0 where redis-server refuses it."""

    @unittest.skipUnless(REDIS_SERVER, "needs redis-server")
    def test_issue9_slot_arguments_parse_as_redis(self):
        with Node(cluster=True) as node, RedisServerNode(cluster=True) as ref:
            ours, theirs = Client(node.port), Client(ref.port)
            for arg in ["-0", "00", "+1", " 1", "1 ", "0x1", "-1", "16384", "0", "16383"]:
                for cmd in (["COUNTKEYSINSLOT", arg], ["GETKEYSINSLOT", arg, "1"],
                            ["ADDSLOTS", arg], ["SETSLOT", arg, "STABLE"],
                            ["ADDSLOTSRANGE", arg, arg], ["DELSLOTS", arg]):
                    want = theirs.call("CLUSTER", *cmd)
                    self.assertEqual(ours.call("CLUSTER", *cmd), want, (cmd, want))
            # The sequence did change the slot table, identically.
            self.assertEqual(ours.call("CLUSTER", "COUNTKEYSINSLOT", "0"), 0)
            self.assertEqual(cluster_info(ours)["cluster_slots_assigned"],
                             cluster_info(theirs)["cluster_slots_assigned"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
