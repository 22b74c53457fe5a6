"""unixsocket / unixsocketperm against redis-server 7.0.15: the socket file
and its mode, CLIENT LIST's addr/laddr/flags of a unix client, CONFIG GET
and the refused CONFIG SET, redis-cli -s, HELLO, a unix client counted as
local (enable-debug-command local), its MONITOR line, the file left by an
earlier run, the file removed at shutdown, the exit with Redis's log line
when the path cannot be bound, and port 0 (no TCP: the unixsocket alone, or
Redis's exit when nothing listens). Skipped without redis-server."""
import os
import socket
import stat
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import REDIS_SERVER as REDIS  # noqa: E402
from harness import Client, Error, Node, RedisServerNode, wait_until  # noqa: E402


class UnixClient(Client):
    """The harness's RESP client over a Unix domain socket."""

    def __init__(self, path, timeout=5.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except OSError:
            self.sock.close()
            raise
        self.buf = b""


def fields(line):
    return dict(f.split("=", 1) for f in line.split() if "=" in f)


@unittest.skipUnless(REDIS, "redis-server not installed")
class UnixSocketTest(unittest.TestCase):
    def start_pair(self, extra=()):
        """A shardnode and a redis-server, each with its own unixsocket in
        its directory (made with mode 700)."""
        nodes = []
        for cls in (Node, RedisServerNode):
            n = cls()
            n.sock_path = os.path.join(n.dir, "s.sock")
            n.args += ["--unixsocket", n.sock_path, "--unixsocketperm", "700",
                       "--enable-debug-command", "local"] + list(extra)
            self.addCleanup(n.cleanup)
            nodes.append(n)
        # A file left at the path (a crashed run's socket) is replaced.
        with open(nodes[0].sock_path, "w") as f:
            f.write("stale")
        for n in nodes:
            n.start()
        return nodes

    def test_unix_clients_as_redis(self):
        nodes = self.start_pair()
        seen = []
        for n in nodes:
            path = n.sock_path
            st = os.stat(path)
            self.assertTrue(stat.S_ISSOCK(st.st_mode), n)
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o700, n)

            c = UnixClient(path)
            self.addCleanup(c.close)
            self.assertEqual(c.call("CLIENT", "SETNAME", "u"), "OK")
            mine = [fields(line) for line in c.call("CLIENT", "LIST").decode().splitlines()
                    if " name=u " in line][0]
            self.assertEqual(mine["addr"], f"{path}:0")
            self.assertEqual(mine["laddr"], f"{path}:0")
            self.assertEqual(mine["fd"], str(int(mine["fd"])))
            info = fields(c.call("CLIENT", "INFO").decode())
            self.assertEqual(info["addr"], f"{path}:0")
            hello = c.call("HELLO", "2")
            hello_keys = hello[0::2]
            self.assertEqual(hello[hello.index(b"proto") + 1], 2)
            # Local as a loopback client: DEBUG under enable-debug-command local.
            self.assertEqual(c.call("DEBUG", "SLEEP", "0"), "OK")
            # CLIENT KILL by the unix address.
            victim = UnixClient(path)
            self.addCleanup(victim.close)
            self.assertEqual(victim.call("CLIENT", "SETNAME", "victim"), "OK")
            before = c.call("CLIENT", "KILL", "ADDR", f"{path}:0", "SKIPME", "yes")
            cfg = (c.call("CONFIG", "GET", "unixsocket"),
                   c.call("CONFIG", "GET", "unixsocketperm"))
            self.assertEqual(cfg, ([b"unixsocket", path.encode()], [b"unixsocketperm", b"700"]))
            refused = c.call("CONFIG", "SET", "unixsocket", "/tmp/other.sock")
            self.assertIsInstance(refused, Error)

            # MONITOR names a unix client by its socket.
            mon = Client(n.port)
            self.addCleanup(mon.close)
            self.assertEqual(mon.call("MONITOR"), "OK")
            self.assertEqual(c.call("SET", "k", "v"), "OK")
            line = mon.read()
            self.assertIn(f"[0 unix:{path}] \"SET\" \"k\" \"v\"", line)

            cli = subprocess.run(["redis-cli", "-s", path, "GET", "k"], capture_output=True,
                                 text=True, timeout=30)
            self.assertEqual(cli.stdout.strip(), "v")
            seen.append((mine["flags"], before, str(refused), hello_keys))
        # Flags (U), the kill count and the CONFIG SET error are Redis's.
        self.assertEqual(seen[0], seen[1])
        self.assertEqual(seen[0][0], "U")

        for n in nodes:
            self.assertEqual(n.stop(), 0)
            self.assertFalse(os.path.exists(n.sock_path), n)
        self.assertIn("Removing the unix socket file.", nodes[0].output())

    def test_unbindable_path_exits(self):
        outputs = []
        for cls in (Node, RedisServerNode):
            n = cls(args=["--unixsocket", "/nonexistent-shardnode-dir/s.sock"])
            self.addCleanup(n.cleanup)
            n.start(wait=False)
            n.proc.wait(20)
            self.assertEqual(n.proc.returncode, 1, n.output())
            outputs.append(n.output())
        expected = "Failed opening Unix socket: bind: No such file or directory"
        for out in outputs:
            self.assertIn(expected, out)

    def test_port_zero_unix_only(self):
        """`port 0`: no TCP at all; the unixsocket alone serves, and without
        it the server exits as Redis does."""
        for cls in (Node, RedisServerNode):
            n = cls()
            self.addCleanup(n.cleanup)
            n.sock_path = os.path.join(n.dir, "s.sock")
            n.args += ["--port", "0", "--unixsocket", n.sock_path]
            n.start(wait=False)

            def up():
                if n.proc.poll() is not None:
                    raise AssertionError(n.output())
                try:
                    c = UnixClient(n.sock_path)
                except OSError:
                    return False
                try:
                    return c.call("PING") == "PONG"
                finally:
                    c.close()
            wait_until(up, timeout=10, what="PING on the unixsocket")
            c = UnixClient(n.sock_path)
            self.addCleanup(c.close)
            self.assertEqual(c.call("CONFIG", "GET", "port"), [b"port", b"0"])
            self.assertIn("tcp_port:0\r\n", c.call("INFO", "server").decode())
            self.assertIn(f"ready to accept connections at {n.sock_path}", n.output())

            alone = cls(args=["--port", "0"])
            self.addCleanup(alone.cleanup)
            alone.start(wait=False)
            alone.proc.wait(20)
            self.assertEqual(alone.proc.returncode, 1, alone.output())
            self.assertIn("Configured to not listen anywhere, exiting.", alone.output())

if __name__ == "__main__":
    unittest.main()
