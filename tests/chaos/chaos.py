"""Fault injection on real processes: a nemesis against a cluster of three
primaries with one replica each, while clients write and check.

Every byte between nodes (cluster bus and replication) and between the
clients and the nodes goes through TCP proxies on 127.0.0.1 that this
process runs: each node announces its proxy ports (cluster-announce-port,
cluster-announce-bus-port), so peers, replicas and clients following
CLUSTER SLOTS all connect through them. A proxy finds which node opened a
connection (the peer's socket inode in /proc/net/tcp, then which of our
node processes holds it), so each directed link (node -> node, clients ->
node) can be cut (connections closed, new ones refused), blackholed (bytes
dropped; the connection is closed when that ends, as a TCP stream that lost
bytes cannot go on) or delayed.

The nemesis, one fault at a time: kill -9 and restart, SIGSTOP / SIGCONT,
isolating a node (clients included), a bus partition into two sides,
one-way blackholes, slow links, CLUSTER FAILOVER on a replica, and
resharding: moving the slots of a few of the counters (written all the
while) to another primary, with the steps redis-cli --cluster reshard sends
(SETSLOT IMPORTING / MIGRATING, GETKEYSINSLOT, MIGRATE through the target's
proxy, SETSLOT NODE on the target, the source, then every other primary).
While a kill, stop, isolation, partition or blackhole lasts, every node
outside it is polled: the time from the fault to the first FAIL flag any
of them shows is the detection time (a short fault may end before anyone
flags it). After each fault it heals everything and requires
cluster_state:ok on every node with every slot served within a bound (the
time taken is the recovery time).

Clients run INCR on counters and SET of increasing sequence numbers on keys
of their own, each followed by WAIT 1 (every shard has one replica); a write
counts as acknowledged when WAIT says its replica has it. The checker, at
the end: no acknowledged write lost (a counter below the largest
acknowledged INCR reply, a key below its largest acknowledged sequence
number), no counter above the number of INCRs sent, and no read on one
client going below a value that client already saw acknowledged. Reads that
go backwards to an unacknowledged value are counted but are not anomalies:
replication is asynchronous, Redis promises nothing for them.

The nodes run with appendonly yes / appendfsync always so that a node
killed and restarted before a failover still has what it acknowledged.

Usage: chaos.py [--seconds S] [--server shardnode|redis|mixed] [--seed N]
                [--node-timeout MS] [--no-reshard] [--keep DIR] [-v]
Prints one summary line; exit status 1 on any anomaly.
"""
import argparse
import asyncio
import os
import random
import shutil
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
from harness import (REDIS_SERVER, Client, Error, Node, RedisServerNode, free_port,  # noqa: E402
                     key_slot)

CLIENT = -1  # the source of a connection from outside the cluster


# ---- Proxies --------------------------------------------------------------------

def _socket_inode(local_port, remote_port):
    """The inode of the socket 127.0.0.1:local_port -> 127.0.0.1:remote_port."""
    want_local = "0100007F:%04X" % local_port
    want_remote = "0100007F:%04X" % remote_port
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                fields = line.split()
                if fields[1] == want_local and fields[2] == want_remote:
                    return fields[9]
    except OSError:
        pass
    return None


def _pid_holding(inode, pids):
    target = f"socket:[{inode}]"
    for pid in pids:
        fd_dir = f"/proc/{pid}/fd"
        try:
            for fd in os.listdir(fd_dir):
                try:
                    if os.readlink(os.path.join(fd_dir, fd)) == target:
                        return pid
                except OSError:
                    continue
        except OSError:
            continue
    return None


class Net:
    """The proxy layer, on an asyncio loop in its own thread. Policies are
    per directed link (src, dst); src is a node index or CLIENT."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.cut = set()        # (src, dst): connections closed, new ones refused
        self.blackhole = set()  # (src, dst): bytes dropped
        self.delay = {}         # (src, dst): seconds added to every chunk
        self.conns = []         # live proxied connections
        self.servers = []
        self.node_pids = lambda: {}  # set by the cluster: {pid: node index}
        self.thread.start()

    def run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def listen(self, dst, target_port, avoid=()):
        """A proxy for node `dst` forwarding to its real `target_port`;
        returns the proxy's port, never one of `avoid` (ports picked for
        nodes that do not listen yet)."""
        port = free_port(bus_offset=False)
        while port in avoid:
            port = free_port(bus_offset=False)

        async def start():
            server = await asyncio.start_server(
                lambda r, w: self._accept(dst, target_port, port, r, w), "127.0.0.1", port)
            self.servers.append(server)
        self.run(start())
        return port

    def _source(self, writer, listen_port):
        peer = writer.get_extra_info("peername")
        inode = _socket_inode(peer[1], listen_port)
        if inode is None:
            return CLIENT
        pids = self.node_pids()
        pid = _pid_holding(inode, list(pids))
        return pids.get(pid, CLIENT)

    async def _accept(self, dst, target_port, listen_port, reader, writer):
        src = self._source(writer, listen_port)
        if (src, dst) in self.cut or (dst, src) in self.cut:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError:
            writer.close()
            return
        conn = {"src": src, "dst": dst, "writers": (writer, up_writer), "tainted": False}
        self.conns.append(conn)
        await asyncio.gather(self._pump(conn, reader, up_writer, (src, dst)),
                             self._pump(conn, up_reader, writer, (dst, src)),
                             return_exceptions=True)
        self._close(conn)

    async def _pump(self, conn, reader, writer, link):
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                if link in self.cut or (link[1], link[0]) in self.cut:
                    break
                if link in self.blackhole:
                    conn["tainted"] = True
                    continue
                d = self.delay.get(link)
                if d:
                    await asyncio.sleep(d)
                writer.write(data)
                await writer.drain()
        except (OSError, ConnectionError, asyncio.CancelledError):
            pass
        self._close(conn)

    def _close(self, conn):
        for w in conn["writers"]:
            try:
                w.close()
            except Exception:  # noqa: BLE001 (closing twice)
                pass
        if conn in self.conns:
            self.conns.remove(conn)

    def _close_where(self, pred):
        async def go():
            for conn in list(self.conns):
                if pred(conn):
                    self._close(conn)
        self.run(go())

    def cut_links(self, links):
        self.cut |= set(links)
        self._close_where(lambda c: (c["src"], c["dst"]) in self.cut or
                          (c["dst"], c["src"]) in self.cut)

    def heal(self):
        self.cut.clear()
        self.blackhole.clear()
        self.delay.clear()
        # A stream that lost bytes cannot resume: reset it, as TCP would.
        self._close_where(lambda c: c["tainted"])

    def close(self):
        async def go():
            for s in self.servers:
                s.close()
            for conn in list(self.conns):
                self._close(conn)
        try:
            self.run(go())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)


# ---- The cluster ------------------------------------------------------------------

class Cluster:
    def __init__(self, net, kinds, node_timeout):
        self.net = net
        self.nodes = []
        self.proxy_port = []  # client proxy port of each node
        self.bus_proxy_port = []
        # Every node's ports first, so that no proxy takes one of them (a
        # node starts only after all proxies listen).
        ports = []
        reserved = set()
        while len(ports) < len(kinds):
            port = free_port()
            if port not in reserved and port + 10000 not in reserved:
                ports.append(port)
                reserved |= {port, port + 10000}
        for i, kind in enumerate(kinds):
            port = ports[i]
            cp = net.listen(i, port, reserved)
            bp = net.listen(i, port + 10000, reserved)
            args = ["--cluster-announce-port", str(cp), "--cluster-announce-bus-port", str(bp),
                    "--cluster-node-timeout", str(node_timeout), "--appendonly", "yes",
                    "--appendfsync", "always"]
            cls = RedisServerNode if kind == "redis" else Node
            if kind == "redis":
                args += ["--logfile", "redis.log"]
            self.nodes.append(cls(cluster=True, port=port, args=args))
            self.proxy_port.append(cp)
            self.bus_proxy_port.append(bp)
        net.node_pids = self.pids

    def pids(self):
        return {n.proc.pid: i for i, n in enumerate(self.nodes)
                if n.proc is not None and n.proc.poll() is None}

    def call(self, i, *args, timeout=5.0):
        """A command on node i directly (not through its proxy)."""
        c = Client(self.nodes[i].port, timeout=timeout)
        try:
            return c.call(*args)
        finally:
            c.close()

    def try_call(self, i, *args, timeout=2.0):
        try:
            return self.call(i, *args, timeout=timeout)
        except (OSError, ConnectionError, ValueError):
            return None

    def start(self):
        for n in self.nodes:
            n.start()
        ids = [self.call(i, "CLUSTER", "MYID").decode() for i in range(6)]
        for i in range(3):
            lo, hi = 16384 * i // 3, 16384 * (i + 1) // 3 - 1
            assert self.call(i, "CLUSTER", "ADDSLOTSRANGE", lo, hi) == "OK"
            assert self.call(i, "CLUSTER", "SET-CONFIG-EPOCH", i + 1) == "OK"
        for i in range(1, 6):
            assert self.call(i, "CLUSTER", "MEET", "127.0.0.1", self.proxy_port[0],
                             self.bus_proxy_port[0]) == "OK"

        def knows_all(i):
            nodes = self.try_call(i, "CLUSTER", "NODES")
            return nodes is not None and all(x.encode() in nodes for x in ids) and \
                b"handshake" not in nodes
        wait(lambda: all(knows_all(i) for i in range(6)), 60, "every node knows every node")
        for r in range(3, 6):
            reply = self.call(r, "CLUSTER", "REPLICATE", ids[r - 3])
            assert reply == "OK", reply
        wait(lambda: self.healthy(), 60, "cluster ok with three linked replicas")

    def healthy(self):
        """cluster_state:ok everywhere, no node flagged failing, and every
        primary has a replica whose link is up."""
        linked = 0
        for i in range(6):
            if self.nodes[i].proc is None or self.nodes[i].proc.poll() is not None:
                return False
            # An error reply (LOADING while a restarted node reads its
            # AOF) is not ok either.
            ci = self.try_call(i, "CLUSTER", "INFO")
            if not isinstance(ci, bytes) or b"cluster_state:ok" not in ci:
                return False
            nodes = self.try_call(i, "CLUSTER", "NODES")
            if not isinstance(nodes, bytes) or b"fail" in nodes or b"handshake" in nodes:
                return False
            info = self.try_call(i, "INFO", "replication")
            if not isinstance(info, bytes):
                return False
            if b"role:slave" in info and b"master_link_status:up" in info:
                linked += 1
        return linked == 3

    def dump(self, log):
        """Logs every node's CLUSTER NODES and replication role (with -v)."""
        for i in range(6):
            log(f"  node {i} CLUSTER NODES:")
            for line in as_bytes(self.try_call(i, "CLUSTER", "NODES")).decode().splitlines():
                log(f"    {line}")
            info = as_bytes(self.try_call(i, "INFO", "replication")).decode()
            role = [x for x in info.splitlines() if x.startswith(("role:", "master_link_status:",
                                                                   "master_port:"))]
            log(f"  node {i} {' '.join(role)}")

    def keep(self, where):
        """Copies every node's directory to where/node-<i> (its logs,
        nodes.conf and AOF, for reading an anomaly afterwards)."""
        for i, n in enumerate(self.nodes):
            shutil.copytree(n.dir, os.path.join(where, f"node-{i}"), dirs_exist_ok=True)

    def stop(self):
        for n in self.nodes:
            if n.proc is not None and n.proc.poll() is None:
                os.kill(n.proc.pid, signal.SIGCONT)
            n.cleanup()


def as_bytes(reply):
    """A bulk reply's bytes; b"" for no reply or an error reply."""
    return reply if isinstance(reply, bytes) else b""


def wait(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


# ---- Clients ----------------------------------------------------------------------

class Router:
    """Cluster routing through the proxies: slot -> client proxy port."""

    def __init__(self, seeds, timeout=1.0):
        self.seeds = seeds
        self.timeout = timeout
        self.slots = {}
        self.conns = {}

    def refresh(self):
        for port in random.sample(self.seeds, len(self.seeds)):
            try:
                reply = self.conn(port).call("CLUSTER", "SLOTS")
            except (OSError, ConnectionError, ValueError):
                self.drop(port)
                continue
            if isinstance(reply, list) and reply:
                for start, end, primary, *_ in reply:
                    for s in range(start, end + 1):
                        self.slots[s] = primary[1]
                return

    def conn(self, port):
        if port not in self.conns:
            self.conns[port] = Client(port, timeout=self.timeout)
        return self.conns[port]

    def drop(self, port):
        c = self.conns.pop(port, None)
        if c:
            c.close()

    def call(self, key, *args, wait_replicas=None):
        """Runs the command on the key's primary (one MOVED follow), then
        WAIT when asked. Returns (reply, wait reply) or raises on a failure
        whose outcome is unknown."""
        port = self.slots.get(key_slot(key.encode()))
        if port is None:
            self.refresh()
            port = self.slots.get(key_slot(key.encode()))
            if port is None:
                raise ConnectionError("no route")
        try:
            c = self.conn(port)
            reply = c.call(*args)
            if isinstance(reply, Error) and reply.startswith("MOVED"):
                self.slots[key_slot(key.encode())] = int(reply.split()[2].rsplit(":", 1)[1])
                return reply, None
            acks = None
            if wait_replicas is not None and not isinstance(reply, Error):
                acks = c.call("WAIT", wait_replicas, 1000)
            return reply, acks
        except (OSError, ConnectionError, ValueError):
            self.drop(port)
            raise


class Worker(threading.Thread):
    def __init__(self, cid, seeds, counters, seed, stop, history):
        super().__init__(daemon=True)
        self.cid = cid
        self.router = Router(seeds)
        self.counters = counters
        self.rng = random.Random(seed)
        self.stop = stop
        self.h = history
        self.seq = 0
        self.acked_seen = {}  # key -> largest value this client saw acknowledged
        self.ops = 0
        self.errors = 0

    def run(self):
        self.router.refresh()
        while not self.stop.is_set():
            k = self.rng.choice(self.counters)
            what = self.rng.random()
            try:
                if what < 0.5:
                    with self.h.lock:
                        self.h.incr_sent[k] = self.h.incr_sent.get(k, 0) + 1
                    reply, acks = self.router.call(k, "INCR", k, wait_replicas=1)
                    if isinstance(reply, int) and isinstance(acks, int) and acks >= 1:
                        with self.h.lock:
                            self.h.incr_acked[k] = max(self.h.incr_acked.get(k, 0), reply)
                            self.h.acked_ops += 1
                        self.acked_seen[k] = max(self.acked_seen.get(k, 0), reply)
                elif what < 0.8:
                    key = f"s:{self.cid}:{k}"
                    self.seq += 1
                    reply, acks = self.router.call(key, "SET", key, self.seq, wait_replicas=1)
                    if reply == "OK" and isinstance(acks, int) and acks >= 1:
                        with self.h.lock:
                            self.h.set_acked[key] = max(self.h.set_acked.get(key, 0), self.seq)
                            self.h.acked_ops += 1
                else:
                    floor = self.acked_seen.get(k, 0)
                    last = self.h.last_read.get((self.cid, k), 0)
                    reply, _ = self.router.call(k, "GET", k)
                    if isinstance(reply, bytes):
                        v = int(reply)
                        with self.h.lock:
                            self.h.reads += 1
                            if v < floor:
                                self.h.anomalies.append(
                                    f"client {self.cid} read {k}={v} after it saw {floor} "
                                    "acknowledged")
                            if v < last:
                                self.h.backward_unacked += 1
                            self.h.last_read[(self.cid, k)] = v
                self.ops += 1
            except (OSError, ConnectionError, ValueError):
                self.errors += 1
                time.sleep(0.05)
                self.router.refresh()
            else:
                if isinstance(reply, Error):
                    self.errors += 1
                    time.sleep(0.02)
                    if not reply.startswith("MOVED"):
                        self.router.refresh()
        for port in list(self.router.conns):
            self.router.drop(port)


class History:
    def __init__(self):
        self.lock = threading.Lock()
        self.incr_sent = {}
        self.incr_acked = {}
        self.set_acked = {}
        self.last_read = {}
        self.anomalies = []
        self.acked_ops = 0
        self.reads = 0
        self.backward_unacked = 0


# ---- The nemesis ------------------------------------------------------------------

def fail_flagged(nodes_text):
    """Whether a CLUSTER NODES reply flags any node FAIL (not PFAIL)."""
    for line in nodes_text.decode(errors="replace").splitlines():
        fields = line.split()
        if len(fields) > 2 and "fail" in fields[2].split(","):
            return True
    return False


def hold_and_watch(cluster, watched, hold, stats):
    """Sleeps `hold` seconds while polling the nodes of `watched` (directly,
    not through the proxies) for a FAIL flag; records the detection time in
    stats["detect"] or counts the fault in stats["undetected"]."""
    start = time.monotonic()
    end = start + hold
    while time.monotonic() < end:
        for i in watched:
            nodes = cluster.try_call(i, "CLUSTER", "NODES")
            if isinstance(nodes, bytes) and fail_flagged(nodes):
                stats["detect"].append(time.monotonic() - start)
                time.sleep(max(0.0, end - time.monotonic()))
                return
        time.sleep(0.1)
    stats["undetected"] += 1


def reshard(rng, cluster, counters, ids, log, stats):
    """Moves the slots of one to three counters to another primary, as
    redis-cli --cluster reshard does, while the clients keep writing them.
    A step that fails is an anomaly only when the cluster had no fault
    (this runs after recovery): it is returned as text."""
    view = cluster.try_call(0, "CLUSTER", "SLOTS")
    if not isinstance(view, list):
        return None
    owner = {}  # slot -> node index of its primary
    by_port = {cluster.proxy_port[i]: i for i in range(6)}
    for start, end, primary, *_ in view:
        for k in counters:
            slot = key_slot(k.encode())
            if start <= slot <= end:
                owner[slot] = by_port.get(primary[1])
    primaries = sorted({o for o in owner.values() if o is not None})
    if len(owner) != len(counters) or len(primaries) < 2:
        return None  # the view is not whole: no reshard this round
    slots = rng.sample(sorted(owner), rng.choice([1, 2, 3]))
    moved_keys = 0
    for slot in slots:
        src = owner[slot]
        dst = rng.choice([p for p in primaries if p != src])
        log(f"reshard slot {slot}: node {src} -> node {dst}")
        steps = [(dst, ("CLUSTER", "SETSLOT", slot, "IMPORTING", ids[src])),
                 (src, ("CLUSTER", "SETSLOT", slot, "MIGRATING", ids[dst]))]
        for node, cmd in steps:
            reply = cluster.try_call(node, *cmd)
            if reply != "OK":
                return f"reshard: {' '.join(map(str, cmd))} on node {node}: {reply}"
        for _ in range(1000):
            keys = cluster.try_call(src, "CLUSTER", "GETKEYSINSLOT", slot, 10)
            if keys is None or isinstance(keys, Error):
                return f"reshard: GETKEYSINSLOT {slot} on node {src}: {keys}"
            if not keys:
                break
            reply = cluster.try_call(src, "MIGRATE", "127.0.0.1", cluster.proxy_port[dst], "", 0,
                                     5000, "KEYS", *keys, timeout=10.0)
            if reply != "OK":
                return f"reshard: MIGRATE of {keys} from node {src}: {reply}"
            moved_keys += len(keys)
        order = [dst, src] + [p for p in primaries if p not in (src, dst)]
        for node in order:
            reply = cluster.try_call(node, "CLUSTER", "SETSLOT", slot, "NODE", ids[dst])
            if reply != "OK":
                return f"reshard: SETSLOT {slot} NODE on node {node}: {reply}"
        stats["slots_moved"] += 1
    stats["keys_moved"] += moved_keys
    return None


def nemesis_round(rng, cluster, net, node_timeout_s, log, counters=(), ids=(), stats=None):
    n = 6
    victim = rng.randrange(n)
    others = [i for i in range(n) if i != victim]
    hold = node_timeout_s * rng.uniform(0.5, 3.0)
    kinds = ["kill", "stop", "isolate", "partition", "oneway", "slow", "failover"]
    if counters:
        kinds.append("reshard")
    kind = rng.choice(kinds)
    node = cluster.nodes[victim]
    if stats is None:
        stats = {"detect": [], "undetected": 0, "slots_moved": 0, "keys_moved": 0}
    if kind == "kill":
        log(f"kill -9 node {victim}, restart after {hold:.1f}s")
        node.proc.kill()
        node.proc.wait(10)
        hold_and_watch(cluster, others, hold, stats)
        node.start(wait=False)
    elif kind == "stop":
        log(f"SIGSTOP node {victim} for {hold:.1f}s")
        os.kill(node.proc.pid, signal.SIGSTOP)
        hold_and_watch(cluster, others, hold, stats)
        os.kill(node.proc.pid, signal.SIGCONT)
    elif kind == "isolate":
        log(f"isolate node {victim} (clients too) for {hold:.1f}s")
        net.cut_links([(victim, j) for j in others + [CLIENT]])
        hold_and_watch(cluster, others, hold, stats)
    elif kind == "partition":
        side = set(rng.sample(range(n), rng.choice([2, 3])))
        log(f"bus partition {sorted(side)} | {sorted(set(range(n)) - side)} for {hold:.1f}s")
        net.cut_links([(a, b) for a in side for b in range(n) if b not in side])
        hold_and_watch(cluster, range(n), hold, stats)
    elif kind == "oneway":
        log(f"blackhole everything node {victim} sends to nodes for {hold:.1f}s")
        net.blackhole |= {(victim, j) for j in others}
        hold_and_watch(cluster, others, hold, stats)
    elif kind == "reshard":
        failure = reshard(rng, cluster, counters, ids, log, stats)
        if failure:
            stats.setdefault("reshard_failures", []).append(failure)
            log(f"  {failure}")
    elif kind == "slow":
        d = rng.choice([0.05, 0.2, 0.5])
        log(f"delay {d}s on node {victim}'s links for {hold:.1f}s")
        for j in others + [CLIENT]:
            net.delay[(victim, j)] = d
            net.delay[(j, victim)] = d
        time.sleep(hold)
    else:
        replicas = [i for i in range(n)
                    if b"role:slave" in as_bytes(cluster.try_call(i, "INFO", "replication"))]
        if replicas:
            r = rng.choice(replicas)
            mode = rng.choice([[], [], ["FORCE"]])
            log(f"CLUSTER FAILOVER {' '.join(mode)} on node {r}: "
                f"{cluster.try_call(r, 'CLUSTER', 'FAILOVER', *mode)}")
        time.sleep(hold)
    net.heal()
    if node.proc.poll() is not None:
        node.start(wait=False)
    return kind


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--server", choices=["shardnode", "redis", "mixed"], default="shardnode")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--node-timeout", type=int, default=2000)
    ap.add_argument("--recover-bound", type=float, default=60)
    ap.add_argument("--no-reshard", action="store_true", help="leave resharding out")
    ap.add_argument("--keep", metavar="DIR", default=None,
                    help="on any anomaly, copy every node's directory (logs, nodes.conf, "
                         "AOF) under DIR/node-<i>")
    ap.add_argument("-v", action="store_true")
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    if a.server != "shardnode" and not REDIS_SERVER:
        print("chaos: redis-server not installed", file=sys.stderr)
        return 2
    kinds = {"shardnode": ["shardnode"] * 6, "redis": ["redis"] * 6,
             "mixed": ["shardnode", "redis"] * 3}[a.server]
    t0 = time.monotonic()

    def log(msg):
        if a.v:
            print(f"[{time.monotonic() - t0:7.1f}] {msg}", flush=True)

    net = Net()
    cluster = Cluster(net, kinds, a.node_timeout)
    history = History()
    stop = threading.Event()
    workers = []
    rounds = 0
    recover = []
    stats = {"detect": [], "undetected": 0, "slots_moved": 0, "keys_moved": 0}
    dumped = False
    try:
        cluster.start()
        ids = [cluster.call(i, "CLUSTER", "MYID").decode() for i in range(6)]
        log("node ids: " + " ".join(f"{i}={x[:8]}" for i, x in enumerate(ids)))
        counters = []
        slot_used = set()
        i = 0
        while len(counters) < 24:  # keys in distinct slots, spread over shards
            k = f"c:{i}"
            i += 1
            if key_slot(k.encode()) not in slot_used:
                slot_used.add(key_slot(k.encode()))
                counters.append(k)
        workers = [Worker(c, cluster.proxy_port, counters, rng.randrange(1 << 30), stop, history)
                   for c in range(4)]
        for w in workers:
            w.start()
        time.sleep(0.5)
        from_nodes = sum(1 for c in list(net.conns) if c["src"] != CLIENT)
        log(f"seed {seed}: cluster up ({a.server}), clients running; proxied connections: "
            f"{from_nodes} from nodes, {len(net.conns) - from_nodes} from clients")
        end = time.monotonic() + a.seconds
        while time.monotonic() < end:
            kind = nemesis_round(rng, cluster, net, a.node_timeout / 1000.0, log,
                                 [] if a.no_reshard else counters, ids, stats)
            for failure in stats.pop("reshard_failures", []):
                history.anomalies.append(failure)
            rounds += 1
            healed = time.monotonic()
            try:
                wait(cluster.healthy, a.recover_bound, "cluster ok")
                recover.append((kind, time.monotonic() - healed))
                log(f"  recovered in {recover[-1][1]:.1f}s")
            except AssertionError:
                history.anomalies.append(
                    f"cluster not ok {a.recover_bound:.0f}s after healing a {kind} fault")
                cluster.dump(log)
                break
            if history.anomalies and not dumped:
                # The first anomaly seen by a client: what every node thinks.
                dumped = True
                cluster.dump(log)
            time.sleep(rng.uniform(0.5, 2.0))
        stop.set()
        for w in workers:
            w.join(30)
        # The final state, read from each key's primary (no faults now).
        router = Router(cluster.proxy_port, timeout=5.0)
        router.refresh()

        def read(key):
            for _ in range(50):
                try:
                    reply, _ = router.call(key, "GET", key)
                    if not isinstance(reply, Error):
                        return int(reply) if reply is not None else 0
                except (OSError, ConnectionError, ValueError):
                    pass
                time.sleep(0.1)
                router.refresh()
            raise AssertionError(f"cannot read {key}")
        checked = 0
        for k in counters:
            v = read(k)
            checked += 1
            if v < history.incr_acked.get(k, 0):
                history.anomalies.append(
                    f"lost acknowledged INCR: {k}={v} < acknowledged {history.incr_acked[k]}")
            if v > history.incr_sent.get(k, 0):
                history.anomalies.append(f"{k}={v} above the {history.incr_sent.get(k, 0)} INCRs")
        for key, seq in sorted(history.set_acked.items()):
            v = read(key)
            checked += 1
            if v < seq:
                history.anomalies.append(f"lost acknowledged SET: {key}={v} < {seq}")
        for port in list(router.conns):
            router.drop(port)
    except AssertionError as e:
        history.anomalies.append(f"harness: {e}")
    finally:
        stop.set()
        for w in workers:
            w.join(30)
        if a.keep and history.anomalies:
            cluster.keep(a.keep)
        cluster.stop()
        net.close()
    ops = sum(w.ops for w in workers)
    worst = max((t for _, t in recover), default=0.0)
    mean = sum(t for _, t in recover) / len(recover) if recover else 0.0
    detect = stats["detect"]
    detect_text = (f"FAIL flagged in {len(detect)} of {len(detect) + stats['undetected']} "
                   f"faults that stop a node or cut links, after mean "
                   f"{sum(detect) / len(detect) if detect else 0.0:.1f}s max "
                   f"{max(detect, default=0.0):.1f}s")
    for x in history.anomalies:
        print(f"ANOMALY: {x}")
    print(f"chaos: server {a.server} seed {seed}: {time.monotonic() - t0:.0f}s, {rounds} faults, "
          f"{ops} ops ({history.acked_ops} acknowledged writes, {history.reads} reads, "
          f"{history.backward_unacked} backward reads to unacknowledged values), "
          f"recovery after heal mean {mean:.1f}s max {worst:.1f}s, {detect_text}, "
          f"{stats['slots_moved']} slots resharded ({stats['keys_moved']} keys migrated), "
          f"{len(history.anomalies)} anomalies")
    return 1 if history.anomalies else 0


if __name__ == "__main__":
    sys.exit(main())
