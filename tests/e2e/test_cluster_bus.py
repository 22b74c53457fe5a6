"""End-to-end: the cluster bus between shardnode processes on 127.0.0.1.

redis-cli --cluster create / check on three masters, redis-cli -c across them,
CLUSTER LINKS / INFO counters, failure detection after kill -9 and recovery
from nodes.conf, CLUSTER MEET errors and handshakes, the bus port's framing
rules, cluster-port / cluster-announce-hostname, and a bus port in use."""
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Client, Node, free_port, wait_until  # noqa: E402

NODE_TIMEOUT_MS = 2000
TIMEOUT_ARGS = ["--cluster-node-timeout", str(NODE_TIMEOUT_MS)]


def info(node):
    c = Client(node.port)
    try:
        text = c.call("CLUSTER", "INFO").decode()
    finally:
        c.close()
    return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)


def nodes_table(node):
    """CLUSTER NODES as {id: (addr, flags, slots)} with 'myself' removed."""
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


def state_is(node, state):
    try:
        return info(node)["cluster_state"] == state
    except OSError:
        return False


def run_cli(*args, timeout=60):
    return subprocess.run(["redis-cli"] + [str(a) for a in args], capture_output=True, text=True,
                          timeout=timeout)


def bus_message(msg_type=0, version=1, totlen=2256, sig=b"RCmb"):
    """A header-only bus message: the fields Decode checks first, rest zero."""
    head = sig + struct.pack(">IHHH", totlen, version, 0, msg_type)
    return head + b"\0" * (totlen - len(head))


class ThreeMastersTest(unittest.TestCase):
    def setUp(self):
        self.nodes = [Node(cluster=True, args=TIMEOUT_ARGS) for _ in range(3)]
        for n in self.nodes:
            n.start()

    def tearDown(self):
        for n in self.nodes:
            n.cleanup()

    def test_create_check_routing_failure_and_recovery(self):
        addrs = ["127.0.0.1:%d" % n.port for n in self.nodes]
        out = run_cli("--cluster", "create", *addrs, "--cluster-yes")
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("[OK] All 16384 slots covered.", out.stdout)
        for n in self.nodes:
            wait_until(lambda: state_is(n, "ok"), timeout=15, what=f"cluster_state:ok on {n.port}")

        # Every node sees the same three masters, ids and slots.
        tables = [nodes_table(n) for n in self.nodes]
        self.assertEqual(len(tables[0]), 3)
        for t in tables[1:]:
            self.assertEqual(t, tables[0])
        for n in self.nodes:
            check = run_cli("--cluster", "check", "127.0.0.1:%d" % n.port)
            self.assertEqual(check.returncode, 0, check.stdout)
            self.assertIn("[OK] All nodes agree about slots configuration.", check.stdout)
            self.assertIn("[OK] All 16384 slots covered.", check.stdout)
            i = info(n)
            self.assertEqual(i["cluster_known_nodes"], "3")
            self.assertEqual(i["cluster_size"], "3")
            self.assertGreater(int(i["cluster_stats_messages_ping_sent"]), 0)
            self.assertGreater(int(i["cluster_stats_messages_pong_received"]), 0)
            self.assertEqual(int(i["cluster_stats_messages_sent"]),
                             sum(int(v) for k, v in i.items()
                                 if re.match(r"cluster_stats_messages_.+_sent$", k)))

        # CLUSTER LINKS: one link each way with each of the two peers.
        ids = [n.cli("cluster", "myid") for n in self.nodes]
        c = Client(self.nodes[0].port)
        links = c.call("CLUSTER", "LINKS")
        c.close()
        rows = [dict(zip(l[0::2], l[1::2])) for l in links]
        self.assertEqual(sorted((r[b"direction"], r[b"node"].decode()) for r in rows),
                         sorted([(b"from", ids[1]), (b"from", ids[2]), (b"to", ids[1]),
                                 (b"to", ids[2])]))
        for r in rows:
            self.assertEqual(sorted(r.keys()), sorted([b"direction", b"node", b"create-time",
                                                       b"events", b"send-buffer-allocated",
                                                       b"send-buffer-used"]))
            self.assertGreater(r[b"create-time"], 1_600_000_000_000)

        # nodes.conf holds every known node.
        for n in self.nodes:
            with open(os.path.join(n.dir, "nodes.conf")) as f:
                conf = f.read()
            for i in ids:
                self.assertIn(i + " ", conf)

        # redis-cli -c writes through one node and reads through the others.
        for k in range(30):
            w = self.nodes[k % 3]
            self.assertEqual(w.cli("set", f"key:{k}", f"v{k}", cluster_mode=True), "OK")
        for k in range(30):
            r = self.nodes[(k + 1) % 3]
            self.assertEqual(r.cli("get", f"key:{k}", cluster_mode=True), f"v{k}")

        # kill -9 one node: the others mark it FAIL and the cluster goes down
        # within 2 x node_timeout plus a margin.
        victim = self.nodes[2]
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait(5)
        victim.stop()  # closes its log file; the process is already gone
        t0 = time.monotonic()
        limit = 2 * NODE_TIMEOUT_MS / 1000 + 3
        for n in self.nodes[:2]:
            wait_until(lambda: state_is(n, "fail") and "fail" in nodes_table(n)[ids[2]][1],
                       timeout=limit, what=f"{n.port} marks the killed node fail")
        self.assertLess(time.monotonic() - t0, limit)

        # Restarted from its nodes.conf, it rejoins with its id and slots.
        victim.start()
        for n in self.nodes:
            wait_until(lambda: state_is(n, "ok"), timeout=15, what=f"ok again on {n.port}")
        self.assertEqual(victim.cli("cluster", "myid"), ids[2])
        wait_until(lambda: nodes_table(victim) == nodes_table(self.nodes[0]), timeout=10,
                   what="the restarted node agrees with the others")
        self.assertEqual(nodes_table(self.nodes[0])[ids[2]][1], "master")


class MeetAndBusPortTest(unittest.TestCase):
    def test_meet_errors_and_handshake_expiry(self):
        with Node(cluster=True, args=TIMEOUT_ARGS) as node:
            c = Client(node.port)
            self.assertEqual(c.call("CLUSTER", "MEET", "127.0.0.1", "x"),
                             "ERR Invalid TCP base port specified: x")
            self.assertEqual(c.call("CLUSTER", "MEET", "127.0.0.1", "7000", "y"),
                             "ERR Invalid TCP bus port specified: y")
            self.assertEqual(c.call("CLUSTER", "MEET", "localhost", "7000"),
                             "ERR Invalid node address specified: localhost:7000")
            self.assertEqual(c.call("CLUSTER", "MEET", "127.0.0.1", "70000"),
                             "ERR Invalid node address specified: 127.0.0.1:70000")
            self.assertEqual(c.call("CLUSTER", "MEET", "a", "b", "c", "d"),
                             "ERR unknown subcommand or wrong number of arguments for 'MEET'. "
                             "Try CLUSTER HELP.")
            self.assertEqual(c.call("CLUSTER", "MEET", "127.0.0.1"),
                             "ERR wrong number of arguments for 'cluster|meet' command")
            # Nobody listens there: a handshake node shows up, then expires
            # after max(node_timeout, 1000) ms.
            dead = free_port()
            self.assertEqual(c.call("CLUSTER", "MEET", "127.0.0.1", str(dead)), "OK")
            text = c.call("CLUSTER", "NODES").decode()
            self.assertRegex(text, r"[0-9a-f]{40} 127\.0\.0\.1:%d@%d handshake - 0 0 0 "
                             r"disconnected\n" % (dead, dead + 10000))
            self.assertEqual(info(node)["cluster_known_nodes"], "2")
            wait_until(lambda: info(node)["cluster_known_nodes"] == "1",
                       timeout=NODE_TIMEOUT_MS / 1000 + 3, what="handshake node expiry")
            self.assertEqual(c.call("CLUSTER", "LINKS"), [])
            self.assertEqual(c.call("DEBUG", "DROP-CLUSTER-PACKET-FILTER", "-1"), "OK")
            c.close()

    def test_bus_framing(self):
        with Node(cluster=True, args=TIMEOUT_ARGS) as node:
            bus = ("127.0.0.1", node.port + 10000)
            # Bad signature: the link is closed.
            with socket.create_connection(bus, timeout=5) as s:
                s.sendall(b"XXXX" + struct.pack(">I", 2256))
                self.assertEqual(s.recv(10), b"")
            # totlen below the header size: closed too.
            with socket.create_connection(bus, timeout=5) as s:
                s.sendall(b"RCmb" + struct.pack(">I", 100))
                self.assertEqual(s.recv(10), b"")
            # Framed but the wrong version: dropped (and counted), the link stays.
            before = int(info(node).get("cluster_stats_messages_ping_received", "0"))
            with socket.create_connection(bus, timeout=1) as s:
                s.sendall(bus_message(msg_type=0, version=2))
                with self.assertRaises(socket.timeout):
                    s.recv(10)
                wait_until(lambda: int(info(node).get("cluster_stats_messages_ping_received",
                                                      "0")) == before + 1,
                           timeout=5, what="the discarded message is counted")
            # A message split into small pieces still arrives whole.
            with socket.create_connection(bus, timeout=1) as s:
                msg = bus_message(msg_type=0, version=2)
                for i in range(0, len(msg), 100):
                    s.sendall(msg[i:i + 100])
                wait_until(lambda: int(info(node).get("cluster_stats_messages_ping_received",
                                                      "0")) == before + 2,
                           timeout=5, what="the split message is counted")
            self.assertEqual(node.cli("ping"), "PONG")

    def test_cluster_port_and_announced_address(self):
        a_port, b_port = free_port(), free_port()
        a_bus = free_port(bus_offset=False)
        a_announced = 6379 if a_port != 6379 else 6380  # only announced, never dialled
        a = Node(cluster=True, port=a_port,
                 args=TIMEOUT_ARGS + ["--cluster-port", str(a_bus),
                                      "--cluster-announce-hostname", "host-a.example",
                                      "--cluster-announce-ip", "127.0.0.1",
                                      "--cluster-announce-port", str(a_announced),
                                      "--cluster-announce-bus-port", str(a_bus)])
        b = Node(cluster=True, port=b_port, args=TIMEOUT_ARGS)
        try:
            a.start()
            b.start()
            self.assertEqual(a.cli("cluster", "addslotsrange", "0", "16383"), "OK")
            self.assertEqual(b.cli("cluster", "meet", "127.0.0.1", a_port, a_bus), "OK")
            a_id = a.cli("cluster", "myid")
            wait_until(lambda: state_is(b, "ok") and a_id in nodes_table(b)
                       and nodes_table(b)[a_id][0].startswith(
                           "127.0.0.1:%d@%d" % (a_announced, a_bus)),
                       timeout=15, what="B knows A at its announced ports")
            wait_until(lambda: "host-a.example" in nodes_table(b)[a_id][0], timeout=10,
                       what="A's hostname reaches B")
            c = Client(b.port)
            slots = c.call("CLUSTER", "SLOTS")
            c.close()
            self.assertEqual(slots[0][2], [b"127.0.0.1", a_announced, a_id.encode(),
                                           [b"hostname", b"host-a.example"]])
        finally:
            a.cleanup()
            b.cleanup()

    def test_bus_port_in_use_aborts_startup(self):
        port = free_port()
        with socket.socket() as blocker:
            blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            blocker.bind(("127.0.0.1", port + 10000))
            blocker.listen(1)
            node = Node(cluster=True, port=port)
            try:
                node.start(wait=False)
                self.assertEqual(node.proc.wait(10), 1)
                self.assertIn("Failed listening on port %d (cluster), aborting." % (port + 10000),
                              node.output())
            finally:
                node.cleanup()


if __name__ == "__main__":
    unittest.main()
