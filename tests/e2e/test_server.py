"""End-to-end: one shardnode in standalone mode, driven by redis-cli and raw
sockets: replies, pipelining, inline commands, bad input, config errors."""
import os
import socket
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (BIN, REDIS_SERVER, Client, Error, Node, free_port, info_int,  # noqa: E402
                     start_diff_pair, wait_until)


class ServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node().start()

    @classmethod
    def tearDownClass(cls):
        cls.node.cleanup()

    def setUp(self):
        self.c = Client(self.node.port)
        self.c.call("FLUSHALL")

    def tearDown(self):
        self.c.close()

    def test_redis_cli_set_get(self):
        self.assertEqual(self.node.cli("set", "k", "v"), "OK")
        self.assertEqual(self.node.cli("get", "k"), "v")

    def test_unknown_command_and_arity(self):
        self.assertEqual(self.c.call("NOSUCH", "a", "b"),
                         "ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' ")
        self.assertEqual(self.c.call("GET"), "ERR wrong number of arguments for 'get' command")
        self.assertIsInstance(self.c.call("GET"), Error)

    def test_pipelined_replies_in_order(self):
        n = 500
        payload = b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\nk%d\r\n$1\r\n%d\r\n" % (
            len(b"k%d" % i), i, i % 10) for i in range(n))
        payload += b"".join(b"*2\r\n$3\r\nGET\r\n$%d\r\nk%d\r\n" % (len(b"k%d" % i), i)
                            for i in range(n))
        self.c.sock.sendall(payload)
        replies = [self.c.read() for _ in range(2 * n)]
        self.assertEqual(replies[:n], ["OK"] * n)
        self.assertEqual(replies[n:], [str(i % 10).encode() for i in range(n)])

    def test_inline_commands(self):
        out = self.node.raw(b'SET "in line" \'v x\'\r\nGET "in line"\r\nQUIT\r\n')
        self.assertEqual(out, b"+OK\r\n$3\r\nv x\r\n+OK\r\n")

    def test_garbage_gets_protocol_error_and_close(self):
        out = self.node.raw(b"*1\r\n$x\r\n")
        self.assertEqual(out, b"-ERR Protocol error: invalid bulk length\r\n")
        out = self.node.raw(b"*abc\r\n")
        self.assertEqual(out, b"-ERR Protocol error: invalid multibulk length\r\n")
        out = self.node.raw(b'SET "unbalanced\r\n')
        self.assertEqual(out, b"-ERR Protocol error: unbalanced quotes in request\r\n")
        # The server still serves other clients.
        self.assertEqual(self.c.call("PING"), "PONG")

    def test_bulk_over_proto_max_bulk_len(self):
        out = self.node.raw(b"*1\r\n$2147483648\r\n")
        self.assertEqual(out, b"-ERR Protocol error: invalid bulk length\r\n")

    def test_huge_declared_bulk_is_not_allocated(self):
        rss_before = self.rss()
        socks = []
        for _ in range(5):  # 5 x 500 MB declared, nothing sent
            s = socket.create_connection(("127.0.0.1", self.node.port), timeout=5)
            s.sendall(b"*2\r\n$3\r\nGET\r\n$524288000\r\nabc")
            socks.append(s)
        self.assertEqual(self.c.call("PING"), "PONG")
        grown = self.rss() - rss_before
        for s in socks:
            s.close()
        self.assertLess(grown, 64 * 1024 * 1024, "declared bulk lengths were allocated")

    def test_unterminated_inline_line(self):
        out = self.node.raw(b"A" * (70 * 1024))
        self.assertEqual(out, b"-ERR Protocol error: too big inline request\r\n")
        self.assertEqual(self.c.call("PING"), "PONG")

    def test_info_sections(self):
        info = self.c.call("INFO").decode()
        for field in ("redis_version:7.0.15", "tcp_port:%d" % self.node.port, "connected_clients:",
                      "used_memory:", "total_commands_processed:", "role:master",
                      "cluster_enabled:0"):
            self.assertIn(field, info)
        self.assertNotIn("db0:", info)
        self.c.call("SET", "a", "1")
        self.assertIn("db0:keys=1,expires=0", self.c.call("INFO", "keyspace").decode())

    def test_hello_3_and_client_commands(self):
        self.c.send("HELLO", "3")
        line = self.c._line()
        self.assertEqual(line, b"%7")
        self.c.buf = b""
        c = Client(self.node.port)
        self.assertEqual(c.call("CLIENT", "SETNAME", "tester"), "OK")
        self.assertEqual(c.call("CLIENT", "GETNAME"), b"tester")
        self.assertIn(b"name=tester", c.call("CLIENT", "LIST"))
        self.assertEqual(c.call("CLIENT", "SETNAME", "a b"),
                         "ERR Client names cannot contain spaces, newlines or special characters.")
        c.close()

    def test_command_count_and_info(self):
        count = self.c.call("COMMAND", "COUNT")
        self.assertGreater(count, 50)
        info = self.c.call("COMMAND", "INFO", "get")
        self.assertEqual(info[0][0], b"get")
        self.assertEqual(info[0][1], 2)
        self.assertEqual(info[0][3:6], [1, 1, 1])

    def rss(self):
        with open(f"/proc/{self.node.proc.pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class MaxClientsTest(unittest.TestCase):
    def test_max_clients_error(self):
        with Node(args=["--maxclients", "2"]) as node:
            a = Client(node.port)
            self.assertEqual(a.call("PING"), "PONG")
            # The harness's start-up probe has closed; the node may not have
            # seen it yet (with shard threads, its thread reads the close
            # and tells the control loop): until it has, it counts.
            wait_until(lambda: info_int(a, "clients", "connected_clients") == 1,
                       what="only this client connected")
            b = Client(node.port)
            self.assertEqual(b.call("PING"), "PONG")
            # The refusal comes unasked, then the close (a loaded machine
            # may take a while to accept: the close ends the wait).
            out = node.raw(b"", read_timeout=10.0)
            self.assertEqual(out, b"-ERR max number of clients reached\r\n")
            self.assertEqual(a.call("PING"), "PONG")
            a.close(), b.close()


class AuthTest(unittest.TestCase):
    def test_requirepass(self):
        with Node(args=["--requirepass", "secret"]) as node:
            c = Client(node.port)
            self.assertEqual(c.call("GET", "x"), "NOAUTH Authentication required.")
            self.assertEqual(c.call("AUTH", "wrong"),
                             "WRONGPASS invalid username-password pair or user is disabled.")
            self.assertEqual(c.call("AUTH", "secret"), "OK")
            self.assertIsNone(c.call("GET", "x"))
            c.close()


class StartupErrorsTest(unittest.TestCase):
    def run_bad(self, *args):
        return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=20)

    def test_unknown_directive_on_command_line(self):
        out = self.run_bad("--port", str(free_port()), "--no-such-directive", "1")
        self.assertEqual(out.returncode, 1)
        self.assertIn("no-such-directive", out.stderr + out.stdout)

    def test_bad_value_in_file_names_line(self):
        node = Node(config_text="port 1234\nmaxclients notanumber\n")
        path = os.path.join(node.dir, "bad.conf")
        with open(path, "w") as f:
            f.write("# comment\nmaxclients notanumber\n")
        out = self.run_bad(path)
        node.cleanup()
        self.assertEqual(out.returncode, 1)
        text = out.stderr + out.stdout
        self.assertIn("line 2", text)
        self.assertIn("maxclients", text)


# Error replies of the server, connection and argument-checking paths, one
# command per row, compared byte for byte with redis-server (the texts live
# in node/commands/errors.h). Each row runs on one connection, in order, so
# MULTI/WATCH/EXEC rows see the state the rows before left.
ERROR_ROWS = [
    ("CLIENT", "UNBLOCK", "1", "TIMEOUT", "x"), ("client", "unblock", "1", "timeout", "x"),
    ("CLIENT", "PAUSE", "1", "ALL", "x"), ("CLIENT", "UNBLOCK", "1", "foo"),
    ("CLIENT", "PAUSE", "x"), ("CLIENT", "PAUSE", "-1"), ("CLIENT", "PAUSE", "1", "foo"),
    ("CLIENT", "KILL", "TYPE", "foo"), ("CLIENT", "KILL", "USER", "bob"),
    ("CLIENT", "KILL", "ID", "0"), ("CLIENT", "KILL", "1.2.3.4:5"), ("CLIENT", "LIST", "ID", "x"),
    ("CLIENT", "SETNAME", "a b"), ("CLIENT", "HELP", "x"), ("CLIENT", "FOO"),
    ("HELLO", "4"), ("HELLO", "x"), ("HELLO", "3", "FOO"), ("AUTH", "x"),
    ("CONFIG", "SET", "foo", "1"), ("CONFIG", "SET", "maxmemory", "x"),
    ("CONFIG", "SET", "daemonize", "yes"), ("CONFIG", "REWRITE"),
    ("COMMAND", "GETKEYS", "foo"), ("COMMAND", "GETKEYS", "foo", "x"),
    ("COMMAND", "GETKEYS", "get", "a", "b"), ("COMMAND", "GETKEYS", "ping", "x"),
    ("COMMAND", "GETKEYS", "set", "k", "v"), ("DEBUG", "FOO"), ("debug", "foo", "bar"),
    ("SHUTDOWN", "ABORT"), ("PING", "a", "b"),
    ("HSET", "h", "f", "v"), ("HSCAN", "h", "0", "COUNT", "x"), ("HSCAN", "h", "0", "COUNT", "0"),
    ("HSCAN", "h", "0", "FOO"), ("SADD", "s", "a"), ("SSCAN", "s", "0", "COUNT", "x"),
    ("ZADD", "z", "1", "a"), ("ZSCAN", "z", "0", "MATCH"), ("BLPOP", "l", "x"),
    ("BLPOP", "l", "-1"), ("BZPOPMIN", "z2", "x"), ("BZPOPMIN", "z2", "-1"),
    ("BLMPOP", "-1", "1", "l", "LEFT"), ("EXEC",), ("DISCARD",), ("MULTI",), ("MULTI",),
    ("WATCH", "x"), ("DISCARD",), ("EXPIRE", "k", "10", "FOO"), ("EXPIRE", "k", "10", "NX", "XX"),
    ("EXPIRE", "k", "10", "GT", "LT"), ("SET", "k", "v", "EX", "0"), ("SELECT", "99"),
    ("MOVE", "k", "0"), ("ZUNION", "0", "z"), ("ZADD", "z", "XX", "NX", "1", "a"),
    ("SRANDMEMBER", "s", "-9223372036854775808"), ("LPOS", "l", "a", "RANK", "0"),
    ("WAIT", "x", "0"), ("WAIT", "0", "-1"), ("REPLCONF", "foo", "bar"), ("OBJECT", "FREQ", "k"),
    ("SET", "k", "v"), ("OBJECT", "FREQ", "k"), ("RESTORE", "k", "0", "xx"),
    ("RESTORE", "k2", "-1", "xx"), ("RESTORE", "k2", "0", "xx"), ("HINCRBYFLOAT", "h", "f", "nan"),
    ("HINCRBY", "h", "f", "1"), ("HINCRBYFLOAT", "h", "f", "1"), ("SETRANGE", "k", "-1", "x"),
    ("LINDEX", "l", "x"), ("LPUSH", "l", "a"), ("LSET", "l", "5", "x"),
    ("ZRANGE", "z", "0", "1", "LIMIT", "0", "1"), ("ZINTERSTORE", "d", "1", "z", "WEIGHTS", "x"),
    ("DECRBY", "k", "-9223372036854775808"), ("SINTERCARD", "0", "s"), ("SINTERCARD", "5", "s"),
    ("SET", "n", "9223372036854775807"), ("INCRBY", "n", "1"), ("DECRBY", "n", "-1"),
    ("HSET", "h2", "n", "-9223372036854775808"), ("HINCRBY", "h2", "n", "-1"),
    ("ZADD", "z", "2", "b", "3", "c"), ("ZCOUNT", "z", "a", "1"), ("ZCOUNT", "z", "(1", "3"),
    ("ZCOUNT", "nokey", "0", "1"), ("ZCOUNT", "h", "0", "1"), ("ZLEXCOUNT", "z", "a", "b"),
    ("ZLEXCOUNT", "z", "-", "+"), ("ZREMRANGEBYSCORE", "z", "x", "1"),
    ("ZREMRANGEBYSCORE", "z", "3", "+inf"), ("ZREMRANGEBYLEX", "z", "[a", "b"),
    ("ZREMRANGEBYLEX", "z", "[a", "[a"), ("ZREMRANGEBYLEX", "h", "-", "+"), ("ZCARD", "z"),
    ("SET", "f", "1e4932"), ("INCRBYFLOAT", "f", "1e4932"), ("INCRBYFLOAT", "f", "1.5"),
    ("HSET", "h3", "f", "1e4932"), ("HINCRBYFLOAT", "h3", "f", "1e4932"),
    ("HINCRBYFLOAT", "h3", "g", "2.5"),
    ("SUBSCRIBE", "c"), ("GET", "k"),
]


@unittest.skipUnless(REDIS_SERVER, "redis-server not installed")
class ErrorRepliesDiffTest(unittest.TestCase):
    def test_error_replies_match_redis(self):
        node, redis = start_diff_pair()
        try:
            ours, theirs = Client(node.port), Client(redis.port)
            for row in ERROR_ROWS:
                self.assertEqual(ours.call(*row), theirs.call(*row), row)
        finally:
            node.cleanup()
            redis.cleanup()


class ProtectedCommandsDiffTest(unittest.TestCase):
    """DEBUG and MODULE LOAD/LOADEX/UNLOAD follow enable-debug-command and
    enable-module-command as redis-server's do; shardnode loads no modules
    (an empty list, loading fails with Redis's error); LOLWUT."""

    ROWS = [("DEBUG", "SLEEP", "0"), ("MODULE", "LOAD", "/nonexistent/m.so"),
            ("MODULE", "LOADEX", "/nonexistent/m.so", "ARGS", "a"), ("MODULE", "UNLOAD", "m"),
            ("MODULE", "LIST"), ("MODULE", "HELP"), ("MODULE", "NOPE"), ("MODULE",),
            ("LOLWUT",), ("LOLWUT", "VERSION", "7"), ("LOLWUT", "VERSION", "x"),
            ("LOLWUT", "VERSION", "-1")]

    def compare(self, setting):
        args = ["--enable-debug-command", setting, "--enable-module-command", setting]
        node, redis = start_diff_pair(node_args=args, redis_args=args)
        try:
            ours, theirs = Client(node.port), Client(redis.port)
            try:
                for row in self.ROWS:
                    self.assertEqual(ours.call(*row), theirs.call(*row), (setting, row))
                return ours.call("LOLWUT", "VERSION", "5", "20", "4", "4")
            finally:
                ours.close()
                theirs.close()
        finally:
            node.cleanup()
            redis.cleanup()

    def test_refused_by_default_setting(self):
        self.compare("no")

    def test_allowed_from_local_connection(self):
        art = self.compare("local").decode()
        lines = art.split("\n")
        self.assertEqual(lines[-2], "Georg Nees - schotter, plotter on paper, 1968. "
                         "Redis ver. 7.0.15")
        self.assertEqual(len(lines[0]), 20)  # one Braille character per 2 columns
        self.assertTrue(all(0x2800 <= ord(ch) <= 0x28FF for ch in lines[0]))


if __name__ == "__main__":
    unittest.main(verbosity=2)
