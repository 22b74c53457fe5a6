"""Helpers shared by reshard.py and migrate_big.py (slot migration benchmarks).

PingProbe: a thread with its own raw socket that sends PING to one node
about every millisecond and records the round trips (the longest one is the
longest stall a client of that node saw). key_slot: the cluster hash slot of
a key (CRC16/XMODEM of the hash tag or the whole key, mod 16384), so a loader
can send each key to the node that owns it. migrate_support: whether a node
knows the MIGRATE command at all.
"""
import socket
import threading
import time

import benchlib as bl


def _crc16_table():
    table = []
    for i in range(256):
        crc = i << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return table


_CRC16 = _crc16_table()


def key_slot(key: bytes) -> int:
    start = key.find(b"{")
    if start >= 0:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            key = key[start + 1:end]
    crc = 0
    for b in key:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16[((crc >> 8) ^ b) & 0xFF]
    return crc & 0x3FFF


class PingProbe:
    """PING every `interval` seconds over one connection, in a thread.

    A reply that is late is waited for (up to `max_wait` seconds), so a stall
    is measured in full even when it outlasts the run being timed. After
    stop(): `longest` (seconds), `count`, `over(ms)` (how many round trips
    were longer than ms), `error` (None, or why the probe gave up)."""

    def __init__(self, port, interval=0.001, max_wait=600.0):
        self.port = port
        self.interval = interval
        self.max_wait = max_wait
        self.rtts = []
        self.error = None
        self._stop = threading.Event()
        self._sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def _one(self):
        t0 = time.monotonic()
        self._sock.sendall(b"*1\r\n$4\r\nPING\r\n")
        buf = b""
        while not buf.endswith(b"\r\n"):
            try:
                chunk = self._sock.recv(64)
            except socket.timeout:
                if time.monotonic() - t0 > self.max_wait:
                    raise RuntimeError(f"no PONG within {self.max_wait} s")
                continue
            if not chunk:
                raise ConnectionError("connection closed")
            buf += chunk
        if buf != b"+PONG\r\n":
            raise RuntimeError(f"unexpected PING reply {buf!r}")
        return time.monotonic() - t0

    def _run(self):
        self._sock.settimeout(0.5)
        try:
            while not self._stop.is_set():
                self.rtts.append(self._one())
                time.sleep(self.interval)
        except Exception as e:  # the figure is reported, not raised, by stop()
            self.error = f"{type(e).__name__}: {e}"

    def stop(self):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(self.max_wait + 5)
        self._sock.close()

    @property
    def longest(self):
        return max(self.rtts) if self.rtts else float("nan")

    @property
    def count(self):
        return len(self.rtts)

    def over(self, ms):
        return sum(1 for r in self.rtts if r * 1000 > ms)


def migrate_support(port, target_port):
    """None when the node at `port` knows MIGRATE, else its error text.

    Sends MIGRATE of a key that does not exist: Redis answers +NOKEY (or, in
    a cluster, -MOVED when the key's slot is elsewhere); a node without the
    command answers -ERR unknown command."""
    c = bl.Conn(port)
    try:
        reply = c.call("MIGRATE", "127.0.0.1", str(target_port), "migrate-probe-no-such-key",
                       "0", "1000")
    finally:
        c.close()
    if isinstance(reply, RuntimeError) and str(reply).startswith("ERR unknown command"):
        return str(reply)
    return None


def unsupported_line(kind, error):
    return f"{kind}: MIGRATE not supported yet (ERR unknown command)  [{error}]"


def add_kind_args(ap):
    """The options both migration benchmarks share: which servers to run."""
    ap.add_argument("--kinds", default="shardnode,redis")
    ap.add_argument("--shardnode", default=bl.DEFAULT_SHARDNODE)
    ap.add_argument("--redis", default=bl.DEFAULT_REDIS)


def selected_binaries(ap, args):
    """[(kind, binary)] in the order --kinds names them; an unknown kind is a
    usage error."""
    paths = {"shardnode": args.shardnode, "redis": args.redis}
    kinds = [k for k in args.kinds.split(",") if k]
    for k in kinds:
        if k not in paths:
            ap.error(f"unknown kind {k!r} (shardnode, redis)")
    return [(k, paths[k]) for k in kinds]
