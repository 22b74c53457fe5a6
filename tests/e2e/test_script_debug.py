"""The Lua debugger (SCRIPT DEBUG, issue 12): the same debugging sessions are
run against shardnode and redis-server 7.0.15, and every answer is compared
(the stops, listings, values, logged commands and replies, errors, the
<endsession> mark and the EVAL's own reply, then the closed connection).

    python3 tests/e2e/test_script_debug.py
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import REDIS_SERVER, Client, Error, Node, RedisServer  # noqa: E402


def one(port, *cmd):
    """One command on a fresh connection."""
    c = Client(port)
    try:
        return c.call(*cmd)
    finally:
        c.close()

SCRIPT = "\n".join([
    "local key = KEYS[1]",
    "redis.call('set', key, ARGV[1])",
    "local t = {1, 'two', {x = 3}}",
    "redis.debug('checkpoint', #t)",
    "redis.breakpoint()",
    "local v = redis.call('get', key)",
    "redis.pcall('incr', key)",
    "return {v, t[2]}",
])

# Debugger commands, each answered by one array of status lines (step,
# continue and next answer with the next stop).
SESSION = [
    ["help"],
    ["list"],
    ["list", "3", "1"],
    ["whole"],
    ["print"],
    ["print", "KEYS"],
    ["print", "nosuch"],
    ["break"],
    ["break", "7", "x", "99", "-5"],
    ["break", "3"],
    ["break"],
    ["step"],
    ["next"],
    ["print"],
    ["print", "t"],
    ["eval", "1", "+", "1"],
    ["eval", "return", "redis.call('get',", "KEYS[1])"],
    ["eval", "syntax", "error", "("],
    ["redis", "set", "other", "v"],
    ["redis", "nosuchcommand", "a"],
    ["redis", "incr", "other"],
    ["maxlen"],
    ["maxlen", "5"],
    ["eval", "string.rep('x', 200)"],
    ["maxlen", "0"],
    ["eval", "string.rep('y', 300)"],
    ["trace"],
    ["continue"],
    ["break", "0"],
    ["nonsense"],
    ["redis"],
    ["step"],
    ["continue"],
    ["continue"],
]


def debug_transcript(port, mode, session, script=SCRIPT, keys=("k",), args=("v1",)):
    """Runs one debugging session; returns every reply in order, then
    whether the connection was closed after the EVAL's reply."""
    c = Client(port)
    out = [c.call("SCRIPT", "DEBUG", mode)]
    out.append(c.call("EVAL", script, len(keys), *keys, *args))
    for cmd in session:
        reply = c.call(*cmd)
        out.append(reply)
        if isinstance(reply, list) and reply and reply[-1] == "<endsession>":
            out.append(c.read())  # the EVAL's reply
            break
    try:
        c.sock.settimeout(5)
        closed = c.sock.recv(1) == b""
    except (ConnectionError, socket.timeout):
        closed = False
    finally:
        c.close()
    out.append(("closed", closed))
    return out


@unittest.skipUnless(REDIS_SERVER, "needs redis-server 7.0.15")
class ScriptDebugTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node().start()
        try:
            cls.redis = RedisServer()
        except BaseException:
            cls.node.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.node.cleanup()
        cls.redis.cleanup()

    def both(self, fn):
        mine, theirs = fn(self.node.port), fn(self.redis.port)
        self.assertEqual(mine, theirs)
        return mine

    def reset(self, port):
        c = Client(port)
        c.call("FLUSHALL")
        c.close()

    def test_sync_session_matches_redis(self):
        for port in (self.node.port, self.redis.port):
            self.reset(port)
        out = self.both(lambda port: debug_transcript(port, "SYNC", SESSION))
        stops = [line for reply in out if isinstance(reply, list) for line in reply
                 if isinstance(line, str) and line.startswith("* Stopped")]
        self.assertEqual(stops, ["* Stopped at 1, stop reason = step over",
                                 "* Stopped at 2, stop reason = step over",
                                 "* Stopped at 3, stop reason = break point",
                                 "* Stopped at 6, stop reason = redis.breakpoint() called",
                                 "* Stopped at 7, stop reason = step over"])
        self.assertEqual(out[-2], [b"v1", b"two"])
        self.assertEqual(out[-1], ("closed", True))
        # SYNC keeps the script's writes (and the debugger's redis commands').
        self.assertEqual(self.both(lambda port: one(port, "MGET", "k", "other")), [b"v1", b"v"])

    def test_yes_session_rolls_back(self):
        for port in (self.node.port, self.redis.port):
            self.reset(port)
            c = Client(port)
            c.call("SET", "k", "before")
            c.call("SET", "other", "kept")
            c.call("PEXPIRE", "other", 100000)
            c.close()
        out = self.both(lambda port: debug_transcript(
            port, "YES", [["redis", "set", "other", "x"], ["continue"], ["continue"]]))
        self.assertEqual(out[-1], ("closed", True))
        for port in (self.node.port, self.redis.port):
            c = Client(port)
            deadline_ok = c.call("PTTL", "other") > 0
            self.assertEqual((c.call("GET", "k"), c.call("GET", "other"), deadline_ok),
                             (b"before", b"kept", True), port)
            c.close()

    def test_abort_and_errors_match(self):
        def run(port):
            self.reset(port)
            c = Client(port)
            out = [c.call("SCRIPT", "DEBUG", "maybe"), c.call("SCRIPT", "DEBUG", "sync"),
                   c.call("EVALSHA", "a" * 40, 0), c.call("EVALSHA", "abc", 0)]
            out.append(c.call("EVAL", "redis.call('set','a','1')\nreturn 1", 0))
            out.append(c.call("step"))
            out.append(c.call("abort"))
            out.append(c.read())
            c.close()
            c = Client(port)
            out.append(c.call("GET", "a"))
            # SCRIPT DEBUG NO: the next EVAL runs normally.
            out += [c.call("SCRIPT", "DEBUG", "sync"), c.call("SCRIPT", "DEBUG", "no"),
                    c.call("EVAL", "return 5", 0), c.call("PING")]
            c.close()
            return out

        out = self.both(run)
        self.assertEqual(out[-2:], [5, "PONG"])

    def test_script_debug_refused_inside_a_pipeline(self):
        def run(port):
            c = Client(port)
            c.sock.sendall(b"PING\r\nSCRIPT DEBUG SYNC\r\n")
            out = [c.read(), c.read()]
            out += [c.call("MULTI"), c.call("SCRIPT", "DEBUG", "SYNC"), c.call("EXEC")]
            out.append(c.call("EVAL", "return 1", 0))  # not debugged
            c.close()
            return out

        out = self.both(run)
        self.assertEqual(out[1], "ERR SCRIPT DEBUG must be called outside a pipeline")
        self.assertEqual(out[-1], 1)

    def test_protocol_parsing_edge_cases(self):
        def run(port):
            c = Client(port)
            out = [c.call("SCRIPT", "DEBUG", "sync"), c.call("EVAL", "return 'hello'", 0)]
            for name in (b"'hello\0world'", b"'hello\0'", b"'\0hello'", b"'\0hello\0'"):
                out.append(c.call(name))
            # 100 arguments for the redis command.
            out.append(c.call("redis", *(["test"] * 100)))
            # A protocol error ends the script with an error.
            c.sock.sendall(b"junk\r\n")
            out.append(c.read())
            out.append(c.read())
            c.close()
            return out

        out = self.both(run)
        self.assertIsInstance(out[-1], Error)

    @unittest.skipUnless(shutil.which("redis-cli"), "needs redis-cli")
    def test_redis_cli_ldb(self):
        """redis-cli --ldb (YES: changes rolled back) and --ldb-sync-mode print
        the same session against both servers."""
        tmp = tempfile.mkdtemp(prefix="ldb-")
        try:
            path = os.path.join(tmp, "s.lua")
            with open(path, "w") as f:
                f.write("local a = KEYS[1]\nredis.call('set', a, ARGV[1])\n"
                        "return redis.call('get', a)\n")

            def run(port):
                self.reset(port)
                out = []
                for mode in ("--ldb", "--ldb-sync-mode"):
                    p = subprocess.run(["redis-cli", "-p", str(port), mode, "--eval", path,
                                        "k", ",", mode],
                                       input="s\np\nr get k\nlist\nc\n", text=True,
                                       capture_output=True, timeout=30)
                    out.append((p.returncode, p.stdout))
                    out.append(one(port, "GET", "k"))
                return out

            out = self.both(run)
            self.assertIn("<value> a = \"k\"", out[0][1])
            self.assertEqual(out[1], None)  # --ldb: rolled back
            self.assertEqual(out[3], b"--ldb-sync-mode")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_other_clients_wait_for_the_session(self):
        c = Client(self.node.port)
        c.call("SCRIPT", "DEBUG", "sync")
        c.call("EVAL", "return 1", 0)
        other = Client(self.node.port, timeout=0.5)
        other.send("PING")
        with self.assertRaises(socket.timeout):
            other.read()
        self.assertEqual(c.call("continue"), ["<endsession>"])
        self.assertEqual(c.read(), 1)
        other.sock.settimeout(5)
        self.assertEqual(other.read(), "PONG")
        other.close()
        c.close()


class StopDuringSessionTest(unittest.TestCase):
    def test_sigterm_while_the_debugger_waits_stops_the_node(self):
        """As Redis's read interrupted by the signal: the script runs on, the
        session ends (the client gets <endsession> and the reply), the node
        stops."""
        node = Node().start()
        try:
            c = Client(node.port)
            self.assertEqual(c.call("SCRIPT", "DEBUG", "SYNC"), "OK")
            self.assertEqual(c.call("EVAL", "return 'hello'", 0)[0],
                             "* Stopped at 1, stop reason = step over")
            start = time.monotonic()
            self.assertEqual(node.stop(timeout=5), 0)
            self.assertLess(time.monotonic() - start, 5)
            self.assertEqual(c.read(), ["<endsession>"])
            self.assertEqual(c.read(), b"hello")
            c.close()
        finally:
            node.cleanup()


if __name__ == "__main__":
    unittest.main()
