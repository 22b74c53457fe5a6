"""Introspection and client-state replies that Redis's own test suite leans
on, compared with redis-server 7.0.15: DEBUG OBJECT, DEBUG PROTOCOL (every
RESP type, byte for byte, under RESP2 and RESP3), RESTORE IDLETIME / FREQ,
and INFO blocked_clients counting the clients held by CLIENT PAUSE WRITE
(unit/type/incr, unit/dump, unit/protocol, unit/pause)."""
import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import REDIS_SERVER, Client, Node, RedisServerNode, info, wait_until  # noqa: E402

ARGS = ["--enable-debug-command", "yes"]


@unittest.skipUnless(REDIS_SERVER, "redis-server not installed")
class DebugIntrospection(unittest.TestCase):
    def start(self, kind):
        node = kind(args=ARGS)
        self.addCleanup(node.cleanup)
        return node.start()

    def test_debug_object(self):
        for kind in (Node, RedisServerNode):
            node = self.start(kind)
            node.cli("SET", "foo", "20000")
            node.cli("INCR", "foo")
            first = node.cli("DEBUG", "OBJECT", "foo").split()
            node.cli("INCR", "foo")
            second = node.cli("DEBUG", "OBJECT", "foo").split()
            self.assertEqual(first[0], "Value")
            self.assertTrue(first[1].startswith("at:"))
            self.assertEqual(first[1], second[1], kind)  # INCR changes the value in place
            self.assertEqual(first[2:5], ["refcount:1", "encoding:int", "serializedlength:3"])
            node.cli("HSET", "h", "f", "a" * 1024)
            self.assertIn("encoding:hashtable", node.cli("DEBUG", "OBJECT", "h"))
            node.cli("RPUSH", "l", "a", "b", "c")
            self.assertIn(" ql_nodes:1 ql_avg_node:3.00 ", node.cli("DEBUG", "OBJECT", "l"))
            self.assertEqual(node.cli("DEBUG", "OBJECT", "nokey"), "ERR no such key")


    def test_debug_protocol_bytes(self):
        types = ["string", "integer", "double", "bignum", "null", "array", "set", "map", "attrib",
                 "push", "verbatim", "true", "false", "nope"]

        def replies(node):
            out = {}
            for proto in (2, 3):
                with socket.create_connection(("127.0.0.1", node.port), timeout=5) as s:
                    def until(marker, s=s):
                        buf = b""
                        while not buf.endswith(marker):
                            data = s.recv(65536)
                            self.assertTrue(data, buf)
                            buf += data
                        return buf[:-len(marker)]
                    s.sendall(b"HELLO %d\r\nECHO start\r\n" % proto)
                    until(b"$5\r\nstart\r\n")
                    for t in types:
                        s.sendall(b"DEBUG PROTOCOL %s\r\nECHO end\r\n" % t.encode())
                        out[(proto, t)] = until(b"$3\r\nend\r\n")
            return out

        ours = replies(self.start(Node))
        theirs = replies(self.start(RedisServerNode))
        self.assertEqual(ours, theirs)
        self.assertEqual(ours[(3, "bignum")], b"(1234567999999999999999999999999999999\r\n")


    def restore_lru_lfu(self, kind):
        node = self.start(kind)
        node.cli("SET", "foo", "bar")
        c = Client(node.port)
        self.addCleanup(c.close)
        payload = c.call("DUMP", "foo")
        c.call("DEL", "foo")
        c.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
        c.call("RESTORE", "foo", "0", payload, "IDLETIME", "1000")
        idle = c.call("OBJECT", "IDLETIME", "foo")
        c.call("DEL", "foo")
        c.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu")
        c.call("RESTORE", "foo", "0", payload, "FREQ", "100")
        return 1000 <= idle <= 1002, c.call("OBJECT", "FREQ", "foo")

    def test_restore_sets_idle_time_and_frequency(self):
        self.assertEqual(self.restore_lru_lfu(Node), (True, 100))
        self.assertEqual(self.restore_lru_lfu(RedisServerNode), (True, 100))

    def paused_write_counts_as_blocked(self, kind):
        node = self.start(kind)
        admin, writer = Client(node.port), Client(node.port)
        self.addCleanup(admin.close)
        self.addCleanup(writer.close)
        admin.call("CLIENT", "PAUSE", "60000", "WRITE")
        writer.call("GET", "k")  # reads go on
        self.assertEqual(info(node, "clients")["blocked_clients"], "0")
        writer.send("SET", "k", "v")
        wait_until(lambda: info(node, "clients")["blocked_clients"] == "1", timeout=10,
                   what="the paused SET counted in blocked_clients")
        admin.call("CLIENT", "UNPAUSE")
        return writer.read(), info(node, "clients")["blocked_clients"]

    def test_clients_held_by_pause_count_as_blocked(self):
        self.assertEqual(self.paused_write_counts_as_blocked(Node), ("OK", "0"))
        self.assertEqual(self.paused_write_counts_as_blocked(RedisServerNode), ("OK", "0"))

    def errors_while_paused(self, kind):
        """Replies to bad commands sent during CLIENT PAUSE, and whether
        they came while the pause still held."""
        node = self.start(kind)
        admin, c = Client(node.port), Client(node.port)
        self.addCleanup(admin.close)
        self.addCleanup(c.close)

        def replies(n):
            # A command held by the pause answers only once it ends: a
            # reply within 2 s is one not held (the pauses last longer).
            c.sock.settimeout(2)
            got, early = [], True
            for _ in range(n):
                try:
                    got.append(str(c.read()))
                except socket.timeout:
                    early = False
                    c.sock.settimeout(30)
                    admin.call("CLIENT", "UNPAUSE")
                    got.append(str(c.read()))
            return got, early

        admin.call("CLIENT", "PAUSE", "60000", "WRITE")
        c.send("SET", "k")
        write = replies(1)
        admin.call("CLIENT", "UNPAUSE")
        # Under PAUSE ALL, CLIENT UNPAUSE waits too: a pause that ends by itself.
        admin.call("CLIENT", "PAUSE", "4000", "ALL")
        for args in (("SET", "k"), ("NOSUCH", "x"), ("CONFIG", "NOSUCH")):
            c.send(*args)
        return write, replies(3)

    def test_unknown_commands_and_arity_errors_are_not_paused(self):
        # unit/pause "Test clients with syntax errors will get responses
        # immediately": the arity check comes before the pause, as does the
        # lookup of the command and its subcommand.
        got = self.errors_while_paused(Node)
        self.assertEqual(got, self.errors_while_paused(RedisServerNode))
        self.assertTrue(got[0][1] and got[1][1], got)


if __name__ == "__main__":
    unittest.main()
