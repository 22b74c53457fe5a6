"""End-to-end: replica elections and failover on real processes.

Three primaries with one replica each (`redis-cli --cluster create
--cluster-replicas 1`): kill -9 of a primary promotes its replica within
2 x node_timeout plus a few seconds, with the keys written before and
further writes; the old primary, restarted, comes back as a replica of the
new one and syncs; a second replica follows the winner by partial resync
(PSYNC2). CLUSTER FAILOVER (default) swaps roles under a writer
without losing an acknowledged write; FORCE and TAKEOVER; Redis's errors.
A mixed cluster (when redis-server is installed) has a redis-server replica
elected by shardnode primaries and a shardnode replica elected with a
redis-server primary voting."""
import os
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (REDIS_SERVER, Client, Error, Node, RedisServerNode, crc16, info,  # noqa: E402
                     create_three_pairs, wait_until)

NODE_TIMEOUT_MS = 2000
ARGS = ["--cluster-node-timeout", str(NODE_TIMEOUT_MS)]
def my_id(node):
    return node.cli("CLUSTER", "MYID")


def nodes_rows(node):
    """CLUSTER NODES as {id: fields}."""
    return {line.split(" ")[0]: line.split(" ")
            for line in node.cli("CLUSTER", "NODES").splitlines() if line}


def role_of(node):
    try:
        return info(node).get("role")
    except (OSError, subprocess.SubprocessError):
        return None


def state_ok(node):
    return "cluster_state:ok" in node.cli("CLUSTER", "INFO")


def slot_owner_port(node, slot):
    c = Client(node.port)
    try:
        for start, end, primary, *_ in c.call("CLUSTER", "SLOTS"):
            if start <= slot <= end:
                return primary[1]
    finally:
        c.close()
    return None


def sees_roles(node, pairs):
    """True when `node` lists each (primary, replica) pair as such."""
    rows = nodes_rows(node)
    for primary, replica in pairs:
        row = rows.get(my_id(replica))
        if not row or "slave" not in row[2].split(",") or row[3] != my_id(primary):
            return False
    return True


def caught_up(primary, replica):
    r = info(replica)
    return (r.get("master_link_status") == "up" and
            r.get("master_repl_offset") == info(primary).get("master_repl_offset"))


def keys_of(node, n, prefix):
    """n keys whose slots `node` serves (by its own CLUSTER SLOTS)."""
    c = Client(node.port)
    try:
        ranges = [(s, e) for s, e, primary, *_ in c.call("CLUSTER", "SLOTS")
                  if primary[1] == node.port]
    finally:
        c.close()
    out, i = [], 0
    while len(out) < n:
        k = f"{prefix}{i}"
        slot = crc16(k.encode()) % 16384
        if any(s <= slot <= e for s, e in ranges):
            out.append(k)
        i += 1
    return out


class Writer(threading.Thread):
    """INCRs one key as fast as it can, following MOVED, and remembers the
    last value a primary acknowledged."""

    def __init__(self, port, key):
        super().__init__(daemon=True)
        self.port, self.key = port, key
        self.acked = 0
        self.stop = threading.Event()
        self.errors = []

    def run(self):
        c = Client(self.port, timeout=20)
        while not self.stop.is_set():
            try:
                r = c.call("INCR", self.key)
            except OSError as e:
                self.errors.append(repr(e))
                time.sleep(0.05)
                c = Client(self.port, timeout=20)
                continue
            if isinstance(r, Error):
                if r.startswith("MOVED"):
                    self.port = int(r.split()[2].rsplit(":", 1)[1])
                    c.close()
                    c = Client(self.port, timeout=20)
                else:
                    self.errors.append(r)
                    time.sleep(0.01)
                continue
            self.acked = r
        c.close()


class ShardnodeFailoverTest(unittest.TestCase):
    def setUp(self):
        self.nodes, self.pairs = create_three_pairs(self, ARGS)
        wait_until(lambda: all(sees_roles(n, self.pairs) for n in self.nodes), timeout=30,
                   what="every node sees every replica")

    def restart(self, node):
        again = Node(cluster=True, args=ARGS, port=node.port, dir=node.dir)
        again.owns_dir, node.owns_dir = node.owns_dir, False
        self.addCleanup(again.cleanup)
        self.nodes[self.nodes.index(node)] = again
        return again.start()

    def test_kill_primary_replica_takes_over_and_old_primary_returns_as_replica(self):
        primary, replica = self.pairs[0]
        keys = keys_of(primary, 200, "pre")
        subprocess.run(["redis-cli", "-p", str(primary.port)], check=True, timeout=60,
                       input="".join(f"SET {k} v-{k}\n" for k in keys), capture_output=True,
                       text=True)
        wait_until(lambda: caught_up(primary, replica), timeout=10, what="replica caught up")
        primary_id, replica_id = my_id(primary), my_id(replica)
        epoch_before = int(info(replica, "cluster").get("cluster_current_epoch", "0") or 0)

        killed_at = time.monotonic()
        primary.stop(sig=signal.SIGKILL)
        wait_until(lambda: role_of(replica) == "master", timeout=NODE_TIMEOUT_MS * 2 / 1000 + 5,
                   what="replica promoted")
        took = time.monotonic() - killed_at
        print(f"kill -9 to promotion: {took:.2f}s (node timeout {NODE_TIMEOUT_MS} ms)")
        survivors = [n for n in self.nodes if n is not primary]
        wait_until(lambda: all(state_ok(n) for n in survivors), timeout=10, what="cluster ok")
        # Everyone sees the new primary with the old slots and a new epoch.
        for n in survivors:
            row = nodes_rows(n)[replica_id]
            self.assertIn("master", row[2].split(","))
            self.assertEqual(row[3], "-")
        self.assertGreater(int(nodes_rows(replica)[replica_id][6]), epoch_before)
        self.assertEqual(slot_owner_port(survivors[-1], crc16(keys[0].encode()) % 16384),
                         replica.port)
        for k in keys[:50]:
            self.assertEqual(replica.cli("GET", k), f"v-{k}")
        self.assertEqual(replica.cli("SET", keys[0], "after"), "OK")
        self.assertEqual(replica.cli("-c", "GET", keys[0]), "after")

        old = self.restart(primary)
        wait_until(lambda: role_of(old) == "slave" and
                   info(old).get("master_port") == str(replica.port),
                   timeout=20, what="old primary is a replica of the new one")
        wait_until(lambda: caught_up(replica, old), timeout=20, what="old primary synced")
        self.assertEqual(old.cli("-c", "GET", keys[0]), "after")
        self.assertEqual(my_id(old), primary_id)
        # The new primary learns the old one's new role from its next PING.
        wait_until(lambda: "slave" in nodes_rows(replica)[primary_id][2].split(",") and
                   "fail" not in nodes_rows(replica)[primary_id][2].split(","),
                   timeout=10, what="new primary sees the old one as its replica")
        self.assertEqual(nodes_rows(replica)[primary_id][3], replica_id)
        # The role survives a restart through nodes.conf.
        with open(os.path.join(old.dir, "nodes.conf")) as f:
            conf = f.read()
        self.assertIn(f"myself,slave {replica_id}", conf)

    def test_second_replica_follows_the_new_primary_by_partial_resync(self):
        primary, replica = self.pairs[2]
        extra = Node(cluster=True, args=ARGS).start()
        self.addCleanup(extra.cleanup)
        out = subprocess.run(
            ["redis-cli", "--cluster", "add-node", f"127.0.0.1:{extra.port}",
             f"127.0.0.1:{primary.port}", "--cluster-slave", "--cluster-master-id",
             my_id(primary)], capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.nodes.append(extra)
        keys = keys_of(primary, 100, "two")
        subprocess.run(["redis-cli", "-p", str(primary.port)], check=True, timeout=60,
                       input="".join(f"SET {k} {k}\n" for k in keys), capture_output=True,
                       text=True)
        wait_until(lambda: caught_up(primary, replica) and caught_up(primary, extra),
                   timeout=20, what="both replicas caught up")
        wait_until(lambda: all(sees_roles(n, [(primary, extra)]) for n in self.nodes),
                   timeout=20, what="every node sees the second replica")
        primary.stop(sig=signal.SIGKILL)
        survivors = [n for n in self.nodes if n is not primary]
        wait_until(lambda: "master" in (role_of(replica), role_of(extra)),
                   timeout=NODE_TIMEOUT_MS * 2 / 1000 + 5, what="a replica promoted")
        winner, other = (replica, extra) if role_of(replica) == "master" else (extra, replica)
        wait_until(lambda: info(other).get("master_port") == str(winner.port) and
                   caught_up(winner, other), timeout=20, what="the other replica follows")
        # PSYNC2: the winner kept the old history as replid2, no full sync.
        stats = info(winner, "stats")
        self.assertEqual(stats["sync_partial_ok"], "1")
        self.assertEqual(stats["sync_full"], "0")
        c = Client(other.port)
        self.addCleanup(c.close)
        self.assertEqual(c.call("READONLY"), "OK")
        self.assertEqual(c.call("GET", keys[7]), keys[7].encode())
        wait_until(lambda: all(state_ok(n) for n in survivors), timeout=10, what="cluster ok")

    def test_manual_failover_loses_no_acknowledged_write(self):
        primary, replica = self.pairs[1]
        key = keys_of(primary, 1, "counter")[0]
        writer = Writer(primary.port, key)
        writer.start()
        self.addCleanup(writer.stop.set)
        wait_until(lambda: writer.acked > 200, timeout=10, what="writes flowing")
        self.assertEqual(replica.cli("CLUSTER", "FAILOVER"), "OK")
        wait_until(lambda: role_of(replica) == "master", timeout=10, what="replica promoted")
        wait_until(lambda: role_of(primary) == "slave", timeout=10, what="primary demoted")
        wait_until(lambda: writer.port == replica.port and writer.acked > 0, timeout=10,
                   what="writer follows MOVED to the new primary")
        time.sleep(0.3)
        writer.stop.set()
        writer.join(10)
        final = int(replica.cli("GET", key))
        self.assertGreaterEqual(final, writer.acked)
        self.assertEqual(final, writer.acked)  # one writer: nothing lost, nothing extra
        self.assertEqual(info(primary).get("master_port"), str(replica.port))
        wait_until(lambda: caught_up(replica, primary), timeout=10, what="old primary synced")
        self.assertIn("Manual failover user request accepted.", replica.output())
        self.assertIn("Manual failover requested by replica", primary.output())
        # PSYNC2: the demoted primary continued partially, no full sync.
        self.assertIn("sync_partial_ok:1", replica.cli("INFO", "stats"))

    def test_force_and_takeover_and_errors(self):
        (p0, r0), (p1, r1), (p2, r2) = self.pairs
        self.assertEqual(p0.cli("CLUSTER", "FAILOVER"),
                         "ERR You should send CLUSTER FAILOVER to a replica")
        self.assertEqual(r0.cli("CLUSTER", "FAILOVER", "NOW"), "ERR syntax error")
        self.assertTrue(r0.cli("CLUSTER", "FAILOVER", "FORCE", "X").startswith(
            "ERR unknown subcommand or wrong number of arguments for 'FAILOVER'"))

        self.assertEqual(r0.cli("CLUSTER", "FAILOVER", "FORCE"), "OK")
        wait_until(lambda: role_of(r0) == "master", timeout=10, what="FORCE promotes")
        wait_until(lambda: role_of(p0) == "slave", timeout=10, what="old primary demoted")
        self.assertIn("Forced failover user request accepted.", r0.output())

        epochs = {int(row[6]) for row in nodes_rows(p2).values()}
        self.assertEqual(r1.cli("CLUSTER", "FAILOVER", "TAKEOVER"), "OK")
        self.assertEqual(role_of(r1), "master")  # no election: at once
        self.assertGreater(int(nodes_rows(r1)[my_id(r1)][6]), max(epochs))
        wait_until(lambda: role_of(p1) == "slave", timeout=10, what="old primary demoted")
        for n in self.nodes:
            wait_until(lambda: state_ok(n), timeout=10, what="cluster ok")
        self.assertEqual(r1.cli("SET", keys_of(r1, 1, "t")[0], "1"), "OK")

        # A failed primary needs FORCE.
        p2_id = my_id(p2)
        p2.stop(sig=signal.SIGKILL)
        wait_until(lambda: "fail" in nodes_rows(r2)[p2_id][2].split(","), timeout=10,
                   what="primary FAIL on its replica")
        reply = r2.cli("CLUSTER", "FAILOVER")
        if role_of(r2) != "master":  # the automatic failover may already have won
            self.assertEqual(reply, "ERR Master is down or failed, please use CLUSTER FAILOVER "
                                    "FORCE")


class ClientPauseTest(unittest.TestCase):
    """CLIENT PAUSE: the mechanism a primary uses during a manual failover."""

    def test_pause_write_holds_writes_only_and_all_holds_everything(self):
        node = Node().start()
        self.addCleanup(node.cleanup)
        c = Client(node.port)
        self.addCleanup(c.close)
        self.assertEqual(c.call("CLIENT", "PAUSE", "1", "NONE"),
                         "ERR CLIENT PAUSE mode must be WRITE or ALL")
        self.assertEqual(c.call("CLIENT", "PAUSE", "x"),
                         "ERR timeout is not an integer or out of range")
        self.assertEqual(c.call("CLIENT", "PAUSE", "-1"), "ERR timeout is negative")

        self.assertEqual(c.call("CLIENT", "PAUSE", "700", "WRITE"), "OK")
        started = time.monotonic()
        self.assertIsNone(c.call("GET", "k"))  # reads go on
        self.assertLess(time.monotonic() - started, 0.5)
        self.assertEqual(c.call("SET", "k", "v"), "OK")  # waited for the pause
        self.assertGreater(time.monotonic() - started, 0.5)

        self.assertEqual(c.call("CLIENT", "PAUSE", "100000", "WRITE"), "OK")
        w = Client(node.port)
        self.addCleanup(w.close)
        w.send("INCR", "n")
        time.sleep(0.3)
        self.assertEqual(c.call("CLIENT", "UNPAUSE"), "OK")
        self.assertEqual(w.read(), 1)  # released by UNPAUSE

        self.assertEqual(c.call("CLIENT", "PAUSE", "600"), "OK")  # ALL by default
        started = time.monotonic()
        self.assertEqual(w.call("GET", "k"), b"v")
        self.assertGreater(time.monotonic() - started, 0.4)


    def test_keys_expiring_during_a_pause_are_hidden_not_deleted(self):
        # A paused primary must keep its replication offset still (a manual
        # failover waits for it): a key whose TTL passes reads as missing
        # but is deleted (and its DEL propagated) only after the pause.
        node = Node().start()
        self.addCleanup(node.cleanup)
        c = Client(node.port)
        self.addCleanup(c.close)
        self.assertEqual(c.call("SET", "t", "v", "PX", "300"), "OK")
        self.assertEqual(c.call("CLIENT", "PAUSE", "100000", "WRITE"), "OK")
        offset = info(node)["master_repl_offset"]
        time.sleep(0.5)
        self.assertIsNone(c.call("GET", "t"))
        self.assertEqual(c.call("DBSIZE"), 1)
        self.assertEqual(info(node)["master_repl_offset"], offset)
        self.assertEqual(c.call("CLIENT", "UNPAUSE"), "OK")
        self.assertIsNone(c.call("GET", "t"))
        self.assertEqual(c.call("DBSIZE"), 0)

@unittest.skipUnless(REDIS_SERVER, "redis-server not installed")
class MixedFailoverTest(unittest.TestCase):
    """Primaries: shardnode, shardnode, redis-server. Replicas: a redis-server
    replica of the first, shardnode replicas of the others."""

    def setUp(self):
        self.s0 = Node(cluster=True, args=ARGS).start()
        self.s1 = Node(cluster=True, args=ARGS).start()
        self.r2 = RedisServerNode(cluster=True, args=ARGS).start()
        self.rrep = RedisServerNode(cluster=True, args=ARGS).start()
        self.srep1 = Node(cluster=True, args=ARGS).start()
        self.srep2 = Node(cluster=True, args=ARGS).start()
        self.all = [self.s0, self.s1, self.r2, self.rrep, self.srep1, self.srep2]
        for n in self.all:
            self.addCleanup(n.cleanup)
        out = subprocess.run(
            ["redis-cli", "--cluster", "create"] +
            [f"127.0.0.1:{n.port}" for n in (self.s0, self.s1, self.r2)] + ["--cluster-yes"],
            capture_output=True, text=True, timeout=120)
        self.assertIn("All 16384 slots covered", out.stdout, out.stdout + out.stderr)
        for replica, primary in ((self.rrep, self.s0), (self.srep1, self.s1),
                                 (self.srep2, self.r2)):
            out = subprocess.run(
                ["redis-cli", "--cluster", "add-node", f"127.0.0.1:{replica.port}",
                 f"127.0.0.1:{self.s0.port}", "--cluster-slave", "--cluster-master-id",
                 my_id(primary)], capture_output=True, text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        pairs = ((self.s0, self.rrep), (self.s1, self.srep1), (self.r2, self.srep2))
        for primary, replica in pairs:
            wait_until(lambda: info(replica).get("master_link_status") == "up", timeout=30,
                       what="replica linked")
        wait_until(lambda: all(state_ok(n) for n in self.all), timeout=30, what="cluster ok")
        wait_until(lambda: all(sees_roles(n, pairs) for n in self.all), timeout=30,
                   what="every node sees every replica")

    def test_redis_replica_elected_by_shardnode_and_back(self):
        # A redis-server replica wins votes from shardnode and redis-server primaries.
        key = keys_of(self.s0, 1, "mixed")[0]
        self.assertEqual(self.s0.cli("SET", key, "v"), "OK")
        wait_until(lambda: caught_up(self.s0, self.rrep), timeout=10, what="caught up")
        self.s0.stop(sig=signal.SIGKILL)
        wait_until(lambda: role_of(self.rrep) == "master", timeout=NODE_TIMEOUT_MS * 2 / 1000 + 5,
                   what="redis-server replica promoted")
        self.assertEqual(self.rrep.cli("GET", key), "v")
        rest = [n for n in self.all if n is not self.s0]
        wait_until(lambda: all(state_ok(n) for n in rest), timeout=10, what="cluster ok")
        self.assertIn("Failover auth granted to", self.s1.output())
        # A shardnode replica wins votes from shardnode and redis-server primaries.
        self.assertEqual(self.srep2.cli("CLUSTER", "FAILOVER"), "OK")
        wait_until(lambda: role_of(self.srep2) == "master", timeout=10,
                   what="shardnode replica promoted by manual failover")
        wait_until(lambda: role_of(self.r2) == "slave", timeout=10,
                   what="redis-server primary demoted")
        wait_until(lambda: all(state_ok(n) for n in rest), timeout=10, what="cluster ok")
        self.assertEqual(info(self.r2).get("master_port"), str(self.srep2.port))


if __name__ == "__main__":
    unittest.main()
