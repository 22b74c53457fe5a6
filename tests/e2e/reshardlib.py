"""Helpers for the resharding end-to-end tests (test_reshard_*.py): two-master
clusters of shardnode and/or redis-server 7.0.15 nodes built by hand
(ADDSLOTSRANGE + MEET), redis-cli --cluster reshard / check, key slots, and
a small cluster-aware client that follows MOVED and ASK and retries TRYAGAIN.

Every wait is bounded; the nodes are harness Nodes, stopped by their pid by
the caller (cleanup())."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Client, Error, Node, RedisServerNode, key_slot, wait_until  # noqa: E402

NODE_TIMEOUT_MS = 15000  # no test here wants failure detection


def keys_in_slots(prefix, slots, per_slot, limit=2_000_000):
    """{slot: [key, ...]} with `per_slot` keys `prefix<i>` for every slot in
    `slots` (a range or set), found by counting i up."""
    wanted = set(slots)
    out = {s: [] for s in wanted}
    missing = len(wanted)
    for i in range(limit):
        k = f"{prefix}{i}"
        s = key_slot(k)
        if s in wanted and len(out[s]) < per_slot:
            out[s].append(k)
            if len(out[s]) == per_slot:
                missing -= 1
                if missing == 0:
                    return out
    raise RuntimeError("not enough keys found")


def tag_for_slot(slot):
    """A hash tag string whose keys land in `slot`."""
    for i in range(1_000_000):
        t = f"t{i}"
        if key_slot(t) == slot:
            return "{" + t + "}"
    raise RuntimeError(f"no tag for slot {slot}")


def call(port, *args):
    c = Client(port)
    try:
        return c.call(*args)
    finally:
        c.close()


def cluster_info(port):
    text = call(port, "CLUSTER", "INFO").decode()
    return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)


def info_field(port, section, field):
    """One field of INFO <section> as text (KeyError when absent)."""
    text = call(port, "INFO", section).decode()
    return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)[field]


def known_nodes(port):
    return len(call(port, "CLUSTER", "NODES").decode().splitlines())


def cluster_check_ok(port):
    out = subprocess.run(["redis-cli", "--cluster", "check", f"127.0.0.1:{port}"],
                         capture_output=True, text=True, timeout=60)
    text = out.stdout + out.stderr
    ok = (out.returncode == 0 and "[OK] All nodes agree about slots configuration" in text
          and "[OK] All 16384 slots covered" in text and "[WARNING]" not in text)
    return ok, text


def wait_check_ok(port, timeout=30):
    """Polls redis-cli --cluster check until it is clean; returns its text."""
    deadline = time.monotonic() + timeout
    while True:
        ok, text = cluster_check_ok(port)
        if ok:
            return text
        if time.monotonic() > deadline:
            raise AssertionError(f"redis-cli --cluster check never clean:\n{text}")
        time.sleep(0.2)


def make_node(kind, extra=()):
    args = ["--cluster-node-timeout", str(NODE_TIMEOUT_MS),
            "--cluster-allow-replica-migration", "no"] + list(extra)
    if kind == "redis":
        return RedisServerNode(cluster=True, args=args + ["--logfile", "redis.log"])
    return Node(cluster=True, args=args)


def two_masters(kind_a, kind_b, split=8192, extra=()):
    """Started nodes (a, b) in one cluster: a owns [0, split), b the rest.
    Waits for cluster_state:ok on both and a clean redis-cli --cluster check.
    On failure stops what it started."""
    nodes = []
    try:
        for kind in (kind_a, kind_b):
            n = make_node(kind, extra)
            nodes.append(n)
            n.start()
        a, b = nodes
        assert call(a.port, "CLUSTER", "ADDSLOTSRANGE", "0", str(split - 1)) == "OK"
        assert call(b.port, "CLUSTER", "ADDSLOTSRANGE", str(split), "16383") == "OK"
        assert call(a.port, "CLUSTER", "MEET", "127.0.0.1", str(b.port)) == "OK"
        for n in nodes:
            wait_until(lambda: known_nodes(n.port) == 2 and
                       cluster_info(n.port)["cluster_state"] == "ok",
                       timeout=30, what=f"cluster_state:ok and 2 nodes on {n.port}")
        wait_check_ok(a.port)
        return a, b
    except BaseException:
        for n in nodes:
            n.cleanup()
        raise


def node_id(node):
    return call(node.port, "CLUSTER", "MYID").decode()


def reshard(src, dst, nslots, timeout=120, extra=()):
    """redis-cli --cluster reshard of `nslots` slots from src to dst (the
    lowest-numbered slots src owns). Returns the CompletedProcess."""
    cmd = ["redis-cli", "--cluster", "reshard", f"127.0.0.1:{src.port}",
           "--cluster-from", node_id(src), "--cluster-to", node_id(dst),
           "--cluster-slots", str(nslots), "--cluster-yes"] + list(extra)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def start_reshard(src, dst, nslots, extra=()):
    cmd = ["redis-cli", "--cluster", "reshard", f"127.0.0.1:{src.port}",
           "--cluster-from", node_id(src), "--cluster-to", node_id(dst),
           "--cluster-slots", str(nslots), "--cluster-yes"] + list(extra)
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def slot_owners(port):
    """{slot: port} from CLUSTER SLOTS on `port`. Raises ClusterClientError
    for an error reply (iterating the error's text raised IndexError, which
    a checker's writer thread does not catch: it would end silently)."""
    owners = {}
    rows = call(port, "CLUSTER", "SLOTS")
    if isinstance(rows, Error):
        raise ClusterClientError(f"CLUSTER SLOTS: {rows}")
    for row in rows:
        lo, hi, master = row[0], row[1], row[2]
        for s in range(lo, hi + 1):
            owners[s] = master[1]
    return owners


def pipeline(port, commands, timeout=30):
    """Sends `commands` (lists of args) pipelined in batches; returns the
    replies in order."""
    c = Client(port, timeout=timeout)
    out = []
    try:
        for i in range(0, len(commands), 500):
            batch = commands[i:i + 500]
            payload = []
            for args in batch:
                payload.append(b"*%d\r\n" % len(args))
                for a in args:
                    a = a if isinstance(a, bytes) else str(a).encode()
                    payload.append(b"$%d\r\n%s\r\n" % (len(a), a))
            c.sock.sendall(b"".join(payload))
            out += [c.read() for _ in batch]
    finally:
        c.close()
    return out


class ClusterClient:
    """A cluster-aware client for checkers: one connection per node, a slot
    map from CLUSTER SLOTS, MOVED (update the map, retry), ASK (ASKING then
    the command on the named node, once), TRYAGAIN (a short sleep, retry,
    bounded). `stats` counts every redirection and error it saw by kind;
    call() raises ClusterClientError for any reply it cannot resolve and
    OSError for a connection problem."""

    def __init__(self, seed_port, timeout=10.0, tryagain_limit=200, tryagain_sleep=0.01):
        self.timeout = timeout
        self.conns = {}
        self.slots = slot_owners(seed_port)
        self.seed = seed_port
        self.tryagain_limit = tryagain_limit
        self.tryagain_sleep = tryagain_sleep
        self.stats = {"MOVED": 0, "ASK": 0, "TRYAGAIN": 0, "other": 0}
        self.other_errors = []

    def conn(self, port):
        c = self.conns.get(port)
        if c is None:
            c = Client(port, timeout=self.timeout)
            self.conns[port] = c
        return c

    def drop(self, port):
        c = self.conns.pop(port, None)
        if c is not None:
            c.close()

    def close(self):
        for port in list(self.conns):
            self.drop(port)

    def call(self, key, *args):
        port = self.slots.get(key_slot(key), self.seed)
        asking = False
        tries = 0
        for _ in range(self.tryagain_limit + 20):
            c = self.conn(port)
            try:
                if asking:
                    c.send("ASKING")
                    c.send(*args)
                    ask_reply = c.read()
                    reply = c.read()
                    if ask_reply != "OK":
                        raise ClusterClientError(f"ASKING: {ask_reply!r}")
                else:
                    reply = c.call(*args)
            except (OSError, ConnectionError):
                self.drop(port)
                raise
            asking = False
            if not isinstance(reply, Error):
                return reply
            kind = reply.split(" ", 1)[0]
            if kind == "MOVED":
                self.stats["MOVED"] += 1
                _, slot, addr = reply.split(" ")
                port = int(addr.rsplit(":", 1)[1])
                self.slots[int(slot)] = port
            elif kind == "ASK":
                self.stats["ASK"] += 1
                _, slot, addr = reply.split(" ")
                port = int(addr.rsplit(":", 1)[1])
                asking = True
            elif kind == "TRYAGAIN":
                self.stats["TRYAGAIN"] += 1
                tries += 1
                if tries > self.tryagain_limit:
                    raise ClusterClientError(f"TRYAGAIN {tries} times")
                time.sleep(self.tryagain_sleep)
                port = self.slots.get(key_slot(key), self.seed)
            else:
                self.stats["other"] += 1
                self.other_errors.append(str(reply))
                raise ClusterClientError(str(reply))
        raise ClusterClientError("too many redirections")


class ClusterClientError(Exception):
    pass
