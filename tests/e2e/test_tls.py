"""TLS (tls-port, tls-replication, tls-cluster) against redis-server 7.0.15
with TLS: redis-cli --tls, a redis-server replica of a shardnode primary and
the reverse over TLS, a mixed three-node cluster whose bus runs over TLS,
tls-auth-clients, plain text to the TLS port, bad certificate files at
start-up and through CONFIG SET (same errors and log lines as Redis), and a
certificate reload. Certificates are made for the test with the openssl CLI
in a temporary directory. Skipped when redis-server or openssl is missing."""
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import REDIS_SERVER as REDIS  # noqa: E402
from harness import Client, Error, Node, RedisServerNode, free_port, info  # noqa: E402
from harness import client_list_field, info_int  # noqa: E402
from harness import wait_until  # noqa: E402

OPENSSL = shutil.which("openssl")


def make_certs(d):
    """A CA and two certificates it signs (EC P-256, quick to make): each
    serves as server and client certificate, as Redis's own test certs."""
    def run(*args, **kw):
        subprocess.run([OPENSSL] + list(args), cwd=d, check=True, capture_output=True,
                       timeout=30, **kw)
    run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key")
    run("req", "-x509", "-new", "-sha256", "-key", "ca.key", "-days", "2", "-subj",
        "/O=shardnode test/CN=Test CA", "-out", "ca.crt")
    for name in ("redis", "other"):
        run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f"{name}.key")
        run("req", "-new", "-sha256", "-key", f"{name}.key", "-subj",
            f"/O=shardnode test/CN={name}", "-out", f"{name}.csr")
        run("x509", "-req", "-sha256", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey",
            "ca.key", "-CAcreateserial", "-days", "2", "-out", f"{name}.crt")
    # The key of "redis" encrypted with a passphrase (tls-key-file-pass).
    run("pkey", "-in", "redis.key", "-aes256", "-passout", "pass:secret", "-out", "enc.key")


class TlsClient(Client):
    """harness.Client over TLS (with the test's client certificate unless
    `cert` is False)."""

    def __init__(self, port, certs, cert=True, timeout=5.0):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.load_verify_locations(os.path.join(certs, "ca.crt"))
        if cert:
            ctx.load_cert_chain(os.path.join(certs, "redis.crt"), os.path.join(certs, "redis.key"))
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock = ctx.wrap_socket(raw)
        self.buf = b""

    def peer_cn(self):
        subject = dict(x[0] for x in self.sock.getpeercert()["subject"])
        return subject["commonName"]


@unittest.skipUnless(REDIS and OPENSSL, "needs redis-server and openssl")
class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.certs = tempfile.mkdtemp(prefix="shardnode-tls-")
        make_certs(cls.certs)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.certs, ignore_errors=True)

    def tls_args(self, tls_port, *extra):
        c = self.certs
        return ["--tls-port", str(tls_port), "--tls-cert-file", f"{c}/redis.crt",
                "--tls-key-file", f"{c}/redis.key", "--tls-ca-cert-file", f"{c}/ca.crt"] + list(extra)

    def start(self, cls, *extra, tls_port=None, cluster=False, wait=True):
        tls_port = tls_port or free_port()
        node = cls(cluster=cluster, args=self.tls_args(tls_port, *extra))
        node.tls_port = tls_port
        self.addCleanup(node.cleanup)
        return node.start(wait=wait)

    def cli(self, port, *args, cert=True, input=None):
        c = self.certs
        cmd = ["redis-cli", "-h", "127.0.0.1", "-p", str(port), "--tls", "--cacert",
               f"{c}/ca.crt"]
        if cert:
            cmd += ["--cert", f"{c}/redis.crt", "--key", f"{c}/redis.key"]
        return subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True,
                              timeout=30, input=input)

    def test_redis_cli_over_tls_and_plain_side_by_side(self):
        node = self.start(Node)
        out = self.cli(node.tls_port, "SET", "k", "v")
        self.assertEqual(out.stdout.strip(), "OK", out.stderr)
        self.assertEqual(self.cli(node.tls_port, "GET", "k").stdout.strip(), "v")
        self.assertEqual(node.cli("GET", "k"), "v")  # the plain port serves too
        c = TlsClient(node.tls_port, self.certs)
        self.assertEqual(c.call("CONFIG", "GET", "tls-port"), [b"tls-port", str(node.tls_port).encode()])
        c.close()

    def test_blocked_tls_client_closed_with_its_command_leaves_like_redis(self):
        # A TLS client sends BLPOP and closes while the server is busy, so
        # the command's record and the TCP close arrive together: the read
        # that decrypts the BLPOP drains the socket and the close has no
        # event of its own left (net_server.cc CheckPeerClosed).
        for cls in (Node, RedisServerNode):
            with self.subTest(cls.__name__):
                node = self.start(cls, "--enable-debug-command", "yes")
                admin = Client(node.port)
                c = TlsClient(node.tls_port, self.certs)
                self.assertEqual(c.call("CLIENT", "SETNAME", "tls-closer"), "OK")
                sleeper = Client(node.port, timeout=15)
                sleeper.send("DEBUG", "SLEEP", "1")
                time.sleep(0.2)  # the server is asleep before the BLPOP is sent
                c.send("BLPOP", "tls-none", "0")
                c.close()
                self.assertEqual(sleeper.read(), "OK")
                sleeper.close()
                wait_until(lambda: client_list_field(admin, "tls-closer", "id") is None,
                           timeout=5, what="the closed TLS client to leave CLIENT LIST")
                wait_until(lambda: info_int(admin, "clients", "blocked_clients") == 0,
                           timeout=5, what="blocked_clients back to 0")
                admin.close()

    def test_script_debug_over_tls_like_redis(self):
        """SCRIPT DEBUG on a TLS connection: the debugger talks through the
        TLS session. redis-cli --tls --ldb-sync-mode prints the same session
        against both servers and a raw session's replies match (with the
        close_notify Redis sends as it closes the connection, redis-cli
        ends cleanly). --ldb (YES) forks redis-server's debugging session,
        and the child cannot carry on the TLS session there (redis-cli
        reports the connection closed); here the session runs."""
        tmp = tempfile.mkdtemp(prefix="ldb-tls-")
        self.addCleanup(shutil.rmtree, tmp, True)
        path = os.path.join(tmp, "s.lua")
        with open(path, "w") as f:
            f.write("local a = KEYS[1]\nredis.call('set', a, ARGV[1])\n"
                    "redis.debug('at', a)\nreturn redis.call('get', a)\n")
        steps = "s\np\nr get k\nlist\nc\n"
        outs = []
        for cls in (Node, RedisServerNode):
            node = self.start(cls)
            out = []
            p = self.cli(node.tls_port, "--ldb-sync-mode", "--eval", path, "k", ",", "sync",
                         input=steps)
            out.append((p.returncode, p.stdout))
            out.append(node.cli("GET", "k"))
            c = TlsClient(node.tls_port, self.certs)
            out.append(c.call("SCRIPT", "DEBUG", "SYNC"))
            out.append(c.call("EVAL", "redis.breakpoint()\nreturn 7", 0))
            out.append(c.call("print"))
            out.append(c.call("continue"))  # to redis.breakpoint()
            out.append(c.call("continue"))  # to the end: <endsession>
            out.append(c.read())  # the EVAL's reply
            c.close()
            outs.append(out)
            if cls is Node:
                p = self.cli(node.tls_port, "--ldb", "--eval", path, "k", ",", "yes", input=steps)
                self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
                self.assertIn('<value> a = "k"', p.stdout)
                self.assertIn('"yes"', p.stdout)
                self.assertIn("(Lua debugging session ended -- dataset changes rolled back)",
                              p.stdout)
                self.assertEqual(node.cli("GET", "k"), "sync")  # rolled back
        self.assertEqual(outs[0], outs[1])
        self.assertEqual(outs[0][0][0], 0)
        self.assertIn('<value> a = "k"', outs[0][0][1])
        self.assertIn("(Lua debugging session ended)", outs[0][0][1])
        self.assertEqual(outs[0][1], "sync")
        self.assertEqual(outs[0][-1], 7)

    def test_plain_port_zero_serves_tls_only(self):
        tls_port = free_port()
        node = Node(args=self.tls_args(tls_port))
        node.port = 0
        self.addCleanup(node.cleanup)
        node.start(wait=False)
        wait_until(lambda: self.cli(tls_port, "PING").stdout.strip() == "PONG", timeout=10,
                   what="PONG over TLS")
        c = TlsClient(tls_port, self.certs)
        self.assertEqual(c.call("CONFIG", "GET", "port"), [b"port", b"0"])
        c.close()

    def test_auth_clients_and_plain_text_refused_like_redis(self):
        for cls in (Node, RedisServerNode):
            with self.subTest(server=cls.__name__):
                node = self.start(cls, "--loglevel", "verbose")
                # tls-auth-clients yes (the default): no certificate, no client.
                out = self.cli(node.tls_port, "PING", cert=False)
                self.assertNotIn("PONG", out.stdout)
                with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
                    c = TlsClient(node.tls_port, self.certs, cert=False)
                    try:
                        c.call("PING")
                    finally:
                        c.close()
                # Plain text to the TLS port: no reply in RESP, the
                # connection closed, the node goes on serving.
                with socket.create_connection(("127.0.0.1", node.tls_port), timeout=5) as s:
                    s.sendall(b"PING\r\n")
                    got = b""
                    try:
                        while True:
                            data = s.recv(4096)
                            if not data:
                                break
                            got += data
                    except (socket.timeout, ConnectionResetError):
                        pass
                self.assertNotIn(b"PONG", got)
                self.assertEqual(self.cli(node.tls_port, "PING").stdout.strip(), "PONG")
                # optional / no: a client without a certificate is served.
                c = TlsClient(node.tls_port, self.certs)
                self.assertEqual(c.call("CONFIG", "SET", "tls-auth-clients", "optional"), "OK")
                self.assertEqual(self.cli(node.tls_port, "PING", cert=False).stdout.strip(),
                                 "PONG")
                c.close()
                log = node.output() + self._redis_log(node)
                self.assertIn("Error accepting a client connection: error:", log)

    def _redis_log(self, node):
        path = os.path.join(node.dir, "redis.log")
        if os.path.exists(path):
            with open(path, errors="replace") as f:
                return f.read()
        return ""

    def test_bad_files_fail_like_redis(self):
        missing = os.path.join(self.certs, "missing.crt")
        lines = {}
        for cls in (Node, RedisServerNode):
            tls_port = free_port()
            args = self.tls_args(tls_port)
            args[args.index("--tls-cert-file") + 1] = missing
            node = cls(args=args)
            self.addCleanup(node.cleanup)
            node.start(wait=False)
            node.proc.wait(10)
            self.assertNotEqual(node.proc.returncode, 0)
            out = node.output()
            line = [x for x in out.splitlines() if "Failed to load certificate" in x]
            self.assertTrue(line, out)
            lines[cls] = line[0][line[0].index("Failed to load"):]
            self.assertIn("Failed to configure TLS. Check logs for more info.", out)
        self.assertEqual(lines[Node], lines[RedisServerNode])

    def test_config_set_cert_files_reload_like_redis(self):
        replies = {}
        for cls in (Node, RedisServerNode):
            node = self.start(cls)
            c = Client(node.port)
            bad = c.call("CONFIG", "SET", "tls-cert-file", "/nonexistent/x.crt")
            self.assertIsInstance(bad, Error)
            replies[cls] = bad
            # Nothing changed: the old value and the old certificate serve.
            self.assertEqual(c.call("CONFIG", "GET", "tls-cert-file"),
                             [b"tls-cert-file", f"{self.certs}/redis.crt".encode()])
            t = TlsClient(node.tls_port, self.certs)
            self.assertEqual(t.peer_cn(), "redis")
            t.close()
            # A new certificate: new connections get it.
            self.assertEqual(c.call("CONFIG", "SET", "tls-cert-file", f"{self.certs}/other.crt",
                                    "tls-key-file", f"{self.certs}/other.key"), "OK")
            t = TlsClient(node.tls_port, self.certs)
            self.assertEqual(t.peer_cn(), "other")
            self.assertEqual(t.call("PING"), "PONG")
            t.close()
            # An encrypted key with its passphrase.
            self.assertEqual(c.call("CONFIG", "SET", "tls-key-file-pass", "secret", "tls-cert-file",
                                    f"{self.certs}/redis.crt", "tls-key-file",
                                    f"{self.certs}/enc.key"), "OK")
            t = TlsClient(node.tls_port, self.certs)
            self.assertEqual(t.peer_cn(), "redis")
            t.close()
            c.close()
        self.assertEqual(replies[Node], replies[RedisServerNode])
        self.assertEqual(replies[Node], "ERR CONFIG SET failed (possibly related to argument "
                         "'tls-cert-file') - Unable to update TLS configuration. Check server logs.")

    def test_switch_between_plain_and_tls_ports_like_redis(self):
        replies = {}
        for cls in (Node, RedisServerNode):
            node = self.start(cls)
            t = TlsClient(node.tls_port, self.certs)
            new_plain = free_port()
            self.assertEqual(t.call("CONFIG", "SET", "port", new_plain), "OK")
            c = Client(new_plain)
            self.assertEqual(c.call("PING"), "PONG")
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", node.port), timeout=2).close()
            # No TLS port, then a TLS port again.
            self.assertEqual(c.call("CONFIG", "SET", "tls-port", 0), "OK")
            with self.assertRaises(OSError):
                TlsClient(node.tls_port, self.certs).close()
            self.assertEqual(c.call("CONFIG", "SET", "tls-port", node.tls_port), "OK")
            t2 = TlsClient(node.tls_port, self.certs)
            self.assertEqual(t2.call("PING"), "PONG")
            # A port that is taken: refused, and the old port keeps serving.
            with socket.socket() as busy:
                busy.bind(("127.0.0.1", 0))
                busy.listen(1)
                replies[cls] = c.call("CONFIG", "SET", "port", busy.getsockname()[1])
            self.assertEqual(c.call("CONFIG", "GET", "port"), [b"port", str(new_plain).encode()])
            self.assertEqual(c.call("PING"), "PONG")
            for x in (t, t2, c):
                x.close()
            node.port = new_plain  # for the harness's stop
        self.assertEqual(replies[Node], replies[RedisServerNode])
        self.assertIn("Unable to listen on this port", replies[Node])

    def test_tls_protocols_like_redis(self):
        for cls in (Node, RedisServerNode):
            with self.subTest(server=cls.__name__):
                node = self.start(cls)
                c = Client(node.port)
                self.assertEqual(c.call("CONFIG", "SET", "tls-protocols", "TLSv1.2"), "OK")
                ctx_13 = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx_13.check_hostname = False
                ctx_13.load_verify_locations(os.path.join(self.certs, "ca.crt"))
                ctx_13.load_cert_chain(os.path.join(self.certs, "redis.crt"),
                                       os.path.join(self.certs, "redis.key"))
                ctx_13.minimum_version = ssl.TLSVersion.TLSv1_3
                with self.assertRaises((ssl.SSLError, OSError)):
                    with socket.create_connection(("127.0.0.1", node.tls_port), timeout=5) as raw:
                        with ctx_13.wrap_socket(raw) as s:
                            s.sendall(b"PING\r\n")
                            if not s.recv(64):
                                raise ConnectionError("closed")
                t = TlsClient(node.tls_port, self.certs)
                self.assertEqual(t.sock.version(), "TLSv1.2")
                self.assertEqual(t.call("PING"), "PONG")
                t.close()
                bad = c.call("CONFIG", "SET", "tls-protocols", "TLSv9")
                self.assertIsInstance(bad, Error)
                self.assertIn("Unable to update TLS configuration", bad)
                self.assertEqual(c.call("CONFIG", "GET", "tls-protocols"),
                                 [b"tls-protocols", b"TLSv1.2"])
                c.close()

    def _replicate(self, primary, replica):
        """`replica` follows `primary` over TLS; data flows both before and
        after the link is up."""
        p = TlsClient(primary.tls_port, self.certs)
        for i in range(50):
            p.call("SET", f"before{i}", i)
        r = Client(replica.port)
        self.assertEqual(r.call("REPLICAOF", "127.0.0.1", primary.tls_port), "OK")
        wait_until(lambda: info(replica).get("master_link_status") == "up", timeout=20,
                   what="replica link up over TLS")
        for i in range(50):
            p.call("RPUSH", "after", i)
        wait_until(lambda: r.call("LLEN", "after") == 50 and r.call("DBSIZE") == 51,
                   timeout=10, what="data replicated")
        self.assertEqual(r.call("GET", "before7"), b"7")
        # The replica announces its TLS port (REPLCONF listening-port).
        self.assertIn(f"port={replica.tls_port},", info(primary)["slave0"])
        # The replica's link is on the primary's TLS port.
        clients = p.call("CLIENT", "LIST").decode()
        replica_line = [x for x in clients.splitlines() if "flags=S" in x]
        self.assertTrue(replica_line, clients)
        self.assertIn(f"laddr=127.0.0.1:{primary.tls_port}", replica_line[0])
        p.close()
        r.close()

    def test_redis_replica_of_shardnode_over_tls(self):
        primary = self.start(Node)
        replica = self.start(RedisServerNode, "--tls-replication", "yes",
                             "--repl-diskless-sync-delay", "0")
        self._replicate(primary, replica)

    def test_shardnode_replica_of_redis_over_tls(self):
        primary = self.start(RedisServerNode, "--repl-diskless-sync-delay", "0")
        replica = self.start(Node, "--tls-replication", "yes")
        self._replicate(primary, replica)

    def test_mixed_cluster_bus_over_tls(self):
        nodes = [self.start(Node, "--tls-cluster", "yes", cluster=True),
                 self.start(RedisServerNode, "--tls-cluster", "yes", cluster=True),
                 self.start(Node, "--tls-cluster", "yes", cluster=True)]
        c0 = Client(nodes[0].port)
        for n in nodes[1:]:
            # Under tls-cluster a node's address is its TLS port (bus: +10000).
            self.assertEqual(c0.call("CLUSTER", "MEET", "127.0.0.1", n.tls_port), "OK")
        ranges = [(0, 5460), (5461, 10922), (10923, 16383)]
        for n, (lo, hi) in zip(nodes, ranges):
            c = Client(n.port)
            self.assertEqual(c.call("CLUSTER", "ADDSLOTSRANGE", lo, hi), "OK")
            c.close()
        wait_until(lambda: all("cluster_state:ok" in n.cli("CLUSTER", "INFO") for n in nodes),
                   timeout=40, what="cluster_state:ok on the TLS bus")
        # The bus links are TLS: nothing listens in clear on the plain port's
        # +10000, and each node shows the others with their TLS port to a
        # TLS client and with the plain port to a plain one, as Redis does.
        want_tls = sorted(n.tls_port for n in nodes)
        want_plain = sorted(n.port for n in nodes)
        for n in nodes:
            t = TlsClient(n.tls_port, self.certs)
            self.assertEqual(self._ports(t.call("CLUSTER", "NODES")), want_tls, n)
            slots_tls = sorted(e[2][1] for e in t.call("CLUSTER", "SLOTS"))
            self.assertEqual(slots_tls, want_tls)
            t.close()
            p = Client(n.port)
            self.assertEqual(self._ports(p.call("CLUSTER", "NODES")), want_plain)
            self.assertEqual(sorted(e[2][1] for e in p.call("CLUSTER", "SLOTS")), want_plain)
            shards = p.call("CLUSTER", "SHARDS")
            node_map = dict(zip(shards[0][3][0][::2], shards[0][3][0][1::2]))
            self.assertIn(b"tls-port", node_map)
            p.close()
        # Keys route across the mixed cluster over TLS (redis-cli -c).
        out = self.cli(nodes[0].tls_port, "-c", "SET", "foo", "bar")
        self.assertEqual(out.stdout.strip(), "OK", out.stderr)
        out = self.cli(nodes[1].tls_port, "-c", "GET", "foo")
        self.assertEqual(out.stdout.strip(), "bar", out.stderr)
        c0.close()

    def test_migrate_over_tls_under_tls_cluster(self):
        # MIGRATE connects over TLS when tls-cluster is yes (Redis's
        # migrateGetSocket), here to a redis-server's TLS port.
        source = self.start(Node, "--tls-cluster", "yes")
        target = self.start(RedisServerNode)
        c = Client(source.port)
        self.assertEqual(c.call("SET", "k", "v"), "OK")
        self.assertEqual(c.call("MIGRATE", "127.0.0.1", target.tls_port, "k", 0, 5000), "OK")
        self.assertEqual(c.call("EXISTS", "k"), 0)
        t = Client(target.port)
        self.assertEqual(t.call("GET", "k"), b"v")
        t.close()
        c.close()

    @staticmethod
    def _ports(nodes_text):
        text = nodes_text.decode() if isinstance(nodes_text, bytes) else nodes_text
        return sorted(int(line.split()[1].split("@")[0].rsplit(":", 1)[1])
                      for line in text.splitlines() if line)


if __name__ == "__main__":
    unittest.main()
