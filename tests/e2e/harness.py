"""Starts real shardnode processes on 127.0.0.1 for end-to-end tests.

Every node gets a free port and its own temporary directory; every wait is
bounded; every process started is stopped by its pid (never by name).
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

BIN = os.environ.get("SHARDNODE_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "shardnode")
# Shard threads for every Node that does not choose its own `--threads`
# (SHARDNODE_TEST_THREADS=4 runs a suite at threads 4); unset: the default.
TEST_THREADS = os.environ.get("SHARDNODE_TEST_THREADS")


def free_port(bus_offset=True):
    """A port free now on 127.0.0.1 (and, with bus_offset, port+10000 too)."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port > 55535:
            continue
        if bus_offset:
            with socket.socket() as s2:
                try:
                    s2.bind(("127.0.0.1", port + 10000))
                except OSError:
                    continue
        return port
    raise RuntimeError("no free port")


def resp_command(*args):
    """`args` (bytes or anything str() turns into text) as one RESP array of
    bulk strings, as clients send commands."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def wait_until(predicate, timeout=10.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Node:
    """One shardnode process. Use as a context manager or call stop()."""

    def __init__(self, args=(), cluster=False, port=None, dir=None, config_text=None):
        self.port = port or free_port()
        self.port_picked = port is None
        self.dir = dir or tempfile.mkdtemp(prefix="shardnode-e2e-")
        self.owns_dir = dir is None
        self.args = list(args)
        self.cluster = cluster
        self.config_text = config_text
        self.proc = None
        self.log_path = os.path.join(self.dir, "stdout.log")

    def command_line(self):
        cmd = [BIN]
        if self.config_text is not None:
            path = os.path.join(self.dir, "shardnode.conf")
            with open(path, "w") as f:
                f.write(self.config_text)
            cmd.append(path)
        # No wait before a diskless full sync (Redis's own test suites do the
        # same); tests that check the delay pass their own value.
        # DEBUG allowed, as Redis's own test suites configure their servers.
        cmd += ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
                "--save", "", "--repl-diskless-sync-delay", "0", "--enable-debug-command", "yes"]
        if self.cluster:
            cmd += ["--cluster-enabled", "yes"]
        if TEST_THREADS and "--threads" not in self.args and (
                self.config_text is None or "threads" not in self.config_text):
            cmd += ["--threads", TEST_THREADS]
        return cmd + self.args

    def start(self, wait=True):
        # free_port() only found the port free when asked: a test running
        # beside this one may take it before the node binds. A node whose
        # port was picked here then starts again on another one.
        for attempt in range(3):
            self.log = open(self.log_path, "ab")
            self.log_start = self.log.tell()
            self.proc = subprocess.Popen(self.command_line(), stdout=self.log,
                                         stderr=subprocess.STDOUT, cwd=self.dir)
            if not wait:
                return self
            try:
                wait_until(self.answers_ping, timeout=10, what=f"PING on {self.port}")
                return self
            except BaseException:
                self.stop()  # never leave a half-started node behind
                if not (self.port_picked and attempt < 2 and self.lost_port_race()):
                    raise
            self.port = free_port()
        return self

    def lost_port_race(self):
        if self.proc.poll() is None:
            return False
        with open(self.log_path, "rb") as f:
            f.seek(self.log_start)
            return b"Address already in use" in f.read()

    def answers_ping(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"shardnode exited with {self.proc.returncode}:\n{self.output()}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                # Any reply means the node serves clients (-NOAUTH included),
                # once its data file is loaded (no more -LOADING).
                reply = s.recv(64)
                return reply[:1] in (b"+", b"-") and not reply.startswith(b"-LOADING")
        except OSError:
            return False

    def output(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc:
            self.log.close()
        return self.proc.returncode if self.proc else None

    def cleanup(self):
        self.stop()
        # SHARDNODE_KEEP_DIRS=1 keeps each node's folder (its log, data and
        # nodes.conf) for a look after a failure; the path is printed.
        if self.owns_dir and os.environ.get("SHARDNODE_KEEP_DIRS") == "1":
            print(f"kept {self.dir}", file=sys.stderr)
        elif self.owns_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()

    def cli(self, *args, cluster_mode=False, stdin=None):
        """Runs redis-cli against this node; returns stdout (stripped)."""
        cmd = ["redis-cli", "-h", "127.0.0.1", "-p", str(self.port)]
        if cluster_mode:
            cmd.append("-c")
        out = subprocess.run(cmd + [str(a) for a in args], input=stdin, capture_output=True,
                             text=True, timeout=30)
        return out.stdout.strip()

    def raw(self, payload, read_timeout=2.0):
        """Sends raw bytes (if any) on a new connection; returns all bytes read
        until the server closes or read_timeout passes without data."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=read_timeout) as s:
            if payload:
                s.sendall(payload)
            chunks = []
            try:
                while True:
                    data = s.recv(65536)
                    if not data:
                        break
                    chunks.append(data)
            except socket.timeout:
                pass
            return b"".join(chunks)


class Client:
    """A minimal RESP2 client over one socket, for exact reply checks."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def close(self):
        self.sock.close()

    def send(self, *args):
        self.sock.sendall(resp_command(*args))

    def _line(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed")
            self.buf += data
        out, self.buf = self.buf[:n], self.buf[n + 2:]
        return out

    def read(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            return Error(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise ValueError(f"unexpected reply line {line!r}")

    def call(self, *args):
        self.send(*args)
        return self.read()



def text_reply(v):
    """A reply with its bulk strings (also inside arrays) as str."""
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, list):
        return [text_reply(x) for x in v]
    return v


class TextClient(Client):
    """A Client whose call() gives bulk strings as str."""

    def call(self, *args):
        return text_reply(super().call(*args))

class Error(str):
    """An error reply (its text without the leading '-')."""


REDIS_SERVER = shutil.which("redis-server")


class RedisServerNode(Node):
    """A redis-server 7.0.15 (the reference), started, stopped and driven like
    a shardnode Node; in cluster mode when `cluster`."""

    def command_line(self):
        cmd = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
               "--save", "", "--appendonly", "no", "--daemonize", "no"]
        if self.cluster:
            cmd += ["--cluster-enabled", "yes"]
        return cmd + self.args


def read_line(sock):
    """One CRLF-terminated line read from a raw socket, without the CRLF."""
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = sock.recv(1)
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data[:-2]


def closes(sock, timeout=5.0):
    """True when the server closes `sock` within `timeout` (whatever it sent
    before, a replication payload included)."""
    sock.settimeout(timeout)
    try:
        while sock.recv(65536):
            pass
        return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def log_text(path):
    with open(path, errors="replace") as f:
        return f.read()


def info(node, section="replication"):
    """One INFO section of `node` as a dict."""
    out = {}
    for line in node.cli("INFO", section).splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = v
    return out


def client_list_field(c, name, key):
    """CLIENT LIST's `key` of the client named `name`, read over the Client
    `c`, or None when no such client is connected."""
    for line in c.call("CLIENT", "LIST").decode().splitlines():
        if f" name={name} " in line:
            for f in line.split():
                if f.startswith(key + "="):
                    return f.split("=", 1)[1]
    return None


def info_int(c, section, field):
    """The integer INFO `field` (of `section`) read over the Client `c`, or
    None."""
    for line in c.call("INFO", section).decode().splitlines():
        if line.startswith(field + ":"):
            return int(line.split(":", 1)[1])
    return None


def _crc16_table():
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return table


_CRC16 = _crc16_table()


def crc16(data):
    """Redis Cluster's CRC16 (XMODEM) of bytes."""
    crc = 0
    for b in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16[((crc >> 8) ^ b) & 0xFF]
    return crc


def key_slot(key):
    """The cluster hash slot of `key` (str or bytes): CRC16 of its hash tag
    (or of the whole key) mod 16384."""
    if isinstance(key, str):
        key = key.encode()
    start = key.find(b"{")
    if start >= 0:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            key = key[start + 1:end]
    return crc16(key) & 0x3FFF


def create_three_pairs(test, args):
    """Six shardnodes (cluster mode, `args`) joined by `redis-cli --cluster
    create --cluster-replicas 1`, stopped when `test` ends. Waits until the
    three replicas' links are up and every node has cluster_state:ok.
    Returns (nodes, [(primary, replica), ...] sorted by the primary's port)."""
    nodes = [Node(cluster=True, args=args).start() for _ in range(6)]
    for n in nodes:
        test.addCleanup(n.cleanup)
    out = subprocess.run(
        ["redis-cli", "--cluster", "create"] + [f"127.0.0.1:{n.port}" for n in nodes] +
        ["--cluster-replicas", "1", "--cluster-yes"],
        capture_output=True, text=True, timeout=120)
    test.assertIn("All 16384 slots covered", out.stdout, out.stdout + out.stderr)
    by_port = {n.port: n for n in nodes}

    def pairs():
        found = []
        for n in nodes:
            i = info(n)
            if i.get("role") == "slave" and i.get("master_link_status") == "up":
                found.append((by_port[int(i["master_port"])], n))
        return found
    wait_until(lambda: len(pairs()) == 3, timeout=30, what="three linked replicas")
    wait_until(lambda: all("cluster_state:ok" in n.cli("CLUSTER", "INFO") for n in nodes),
               timeout=30, what="cluster ok")
    return nodes, sorted(pairs(), key=lambda p: p[0].port)


def RedisServer(cluster=False, args=()):
    """A started RedisServerNode for differential and interop tests: no wait
    before a diskless sync, DEBUG allowed, its log in redis.log.
    REQUIRES: REDIS_SERVER."""
    return RedisServerNode(cluster=cluster, args=["--repl-diskless-sync-delay", "0",
                                                  "--logfile", "redis.log",
                                                  "--enable-debug-command", "local"] +
                           list(args)).start()


def own_every_slot(node, timeout=10.0):
    """Makes `node` (shardnode or redis-server, started in cluster mode) a
    one-node cluster that owns all 16384 slots, and waits for
    cluster_state:ok."""
    c = Client(node.port)
    try:
        reply = c.call("CLUSTER", "ADDSLOTSRANGE", "0", "16383")
        if reply != "OK":
            raise AssertionError(f"CLUSTER ADDSLOTSRANGE on {node.port}: {reply!r}")
        wait_until(lambda: b"cluster_state:ok" in c.call("CLUSTER", "INFO"), timeout=timeout,
                   what=f"cluster_state:ok on {node.port}")
    finally:
        c.close()


# The modes every differential suite runs in: (name, shardnode's threads,
# cluster). With threads 4 in standalone mode the keys of one multi-key
# command live in different shards; in cluster mode both servers are
# one-node clusters owning every slot, so keys in different slots get
# CROSSSLOT from both.
DIFF_MODES = [("standalone", 1, False), ("threads4", 4, False), ("cluster_threads4", 4, True)]


def start_diff_pair(threads=1, cluster=False, node_args=(), redis_args=()):
    """A started shardnode (with `threads` shards) and a started redis-server
    reference, both in cluster mode owning every slot when `cluster`.
    Returns (node, redis); the caller cleans both up. REQUIRES: REDIS_SERVER."""
    args = list(node_args) + (["--threads", str(threads)] if threads != 1 else [])
    node = Node(args=args, cluster=cluster)
    redis = None
    try:
        node.start()
        redis = RedisServer(cluster=cluster, args=redis_args)
        if cluster:
            own_every_slot(node)
            own_every_slot(redis)
    except BaseException:
        node.cleanup()
        if redis is not None:
            redis.cleanup()
        raise
    return node, redis


def tag_keys(port, cmd, tag="{t}"):
    """`cmd` (a list of strings) with `tag` put before each of its keys, so
    that the keys of a cluster-mode scenario share one slot. The keys are
    found by COMMAND GETKEYS on `port` (the redis-server reference); a
    command without keys, or one it cannot parse, is returned as it is. An
    argument equal to a key name is tagged too, the same on both servers."""
    c = Client(port)
    try:
        keys = c.call("COMMAND", "GETKEYS", *cmd)
    finally:
        c.close()
    if not isinstance(keys, list):
        return list(cmd)
    names = {k.decode() for k in keys}
    return [cmd[0]] + [tag + a if a in names else a for a in cmd[1:]]
