"""Master-replica replication between shardnode processes: full sync and the
command stream, INFO replication / ROLE fields, READONLY replicas, WAIT,
partial resync after a dropped link (sync_partial_ok), full sync after the
backlog was overrun, PSYNC2 continuation after a promotion, and, in cluster
mode, `redis-cli --cluster create --cluster-replicas 1` on six nodes."""
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Client, Error, Node, free_port, info, wait_until  # noqa: E402


def linked(replica):
    return info(replica).get("master_link_status") == "up"


def caught_up(primary, replica):
    return (linked(replica) and
            info(replica)["master_repl_offset"] == info(primary)["master_repl_offset"])


def kill_replica_links(primary):
    """CLIENT KILL of every connection that is a replica of `primary`."""
    ids = [line.split()[0].split("=")[1] for line in primary.cli("CLIENT", "LIST").splitlines()
           if "cmd=replconf" in line or "cmd=psync" in line]
    for i in ids:
        primary.cli("CLIENT", "KILL", "ID", i)
    return len(ids)


def fill(node, n, prefix="k"):
    """Writes n string keys plus one key of each other type, pipelined."""
    cmds = "".join(f"SET {prefix}{i} v{i}\n" for i in range(n))
    cmds += (f"RPUSH {prefix}:list a b c\nHSET {prefix}:hash f1 v1 f2 v2\n"
             f"SADD {prefix}:set x y z\nZADD {prefix}:zset 1 one 2.5 two\n"
             f"SET {prefix}:ttl v PX 500000\nINCRBYFLOAT {prefix}:float 1.5\n")
    subprocess.run(["redis-cli", "-p", str(node.port)], input=cmds, capture_output=True,
                   text=True, timeout=60, check=True)


class StandaloneReplicationTest(unittest.TestCase):
    def setUp(self):
        self.primary = Node().start()
        self.replica = Node().start()
        self.addCleanup(self.primary.cleanup)
        self.addCleanup(self.replica.cleanup)

    def follow(self):
        self.assertEqual(self.replica.cli("REPLICAOF", "127.0.0.1", self.primary.port), "OK")
        wait_until(lambda: linked(self.replica), timeout=10, what="replica link up")

    def test_full_sync_stream_info_role_and_readonly(self):
        fill(self.primary, 500, "pre")
        self.follow()
        fill(self.primary, 500, "post")
        self.primary.cli("DEL", "pre7")
        # SPOP picks at random: replicas must remove the same members.
        self.primary.cli("SADD", "pop", *[f"m{i}" for i in range(40)])
        self.primary.cli("SPOP", "pop")
        self.primary.cli("SPOP", "pop", "5")
        self.primary.cli("SPOP", "pop", "30")
        self.primary.cli("SADD", "gone", "a", "b")
        self.primary.cli("SPOP", "gone", "5")
        self.primary.cli("SELECT", "3")  # a db change in one connection
        c = Client(self.primary.port)
        self.addCleanup(c.close)
        self.assertEqual(c.call("SELECT", "2"), "OK")
        self.assertEqual(c.call("SET", "in2", "x"), "OK")
        wait_until(lambda: caught_up(self.primary, self.replica), timeout=10, what="catch up")
        self.assertEqual(self.replica.cli("DBSIZE"), self.primary.cli("DBSIZE"))
        self.assertEqual(self.replica.cli("DBSIZE"), "1012")
        self.assertEqual(sorted(self.replica.cli("SMEMBERS", "pop").split()),
                         sorted(self.primary.cli("SMEMBERS", "pop").split()))
        self.assertEqual(self.replica.cli("GET", "post499"), "v499")
        self.assertEqual(self.replica.cli("EXISTS", "pre7"), "0")
        self.assertEqual(self.replica.cli("LRANGE", "pre:list", "0", "-1"), "a\nb\nc")
        self.assertEqual(self.replica.cli("ZSCORE", "post:zset", "two"), "2.5")
        self.assertEqual(self.replica.cli("GET", "post:float"), "1.5")
        self.assertEqual(self.replica.cli("-n", "2", "GET", "in2"), "x")
        self.assertGreater(int(self.replica.cli("PTTL", "pre:ttl")), 400000)

        ri, pi = info(self.replica), info(self.primary)
        self.assertEqual(ri["role"], "slave")
        self.assertEqual(ri["master_port"], str(self.primary.port))
        self.assertEqual(ri["master_sync_in_progress"], "0")
        self.assertEqual(ri["master_replid"], pi["master_replid"])
        self.assertEqual(pi["role"], "master")
        self.assertEqual(pi["connected_slaves"], "1")
        self.assertRegex(pi["slave0"],
                         rf"^ip=127\.0\.0\.1,port={self.replica.port},state=online,"
                         r"offset=\d+,lag=\d+$")
        self.assertEqual(pi["repl_backlog_active"], "1")
        self.assertEqual(pi["repl_backlog_first_byte_offset"], "1")
        self.assertEqual(pi["repl_backlog_histlen"], pi["master_repl_offset"])
        self.assertEqual(info(self.primary, "stats")["sync_full"], "1")

        role = self.replica.cli("ROLE").splitlines()
        self.assertEqual(role[:4], ["slave", "127.0.0.1", str(self.primary.port), "connected"])
        wait_until(lambda: self.primary.cli("ROLE").splitlines()[2:3] == ["127.0.0.1"],
                   timeout=5, what="ROLE lists the replica")

        self.assertEqual(self.replica.cli("SET", "w", "1"),
                         "READONLY You can't write against a read only replica.")
        self.assertEqual(self.replica.cli("WAIT", "1", "0").split(" ")[:4],
                         ["ERR", "WAIT", "cannot", "be"])
        # WAIT: the one replica acknowledges; asking for two times out with 1.
        c = Client(self.primary.port)
        self.addCleanup(c.close)
        c.call("SET", "waited", "1")
        self.assertEqual(c.call("WAIT", "1", "5000"), 1)
        self.assertEqual(c.call("WAIT", "2", "300"), 1)
        self.assertEqual(c.call("PING"), "PONG")

        # REPLICAOF NO ONE: a new history; the old id stays valid (PSYNC2).
        before = info(self.replica)
        self.assertEqual(self.replica.cli("REPLICAOF", "NO", "ONE"), "OK")
        after = info(self.replica)
        self.assertEqual(after["role"], "master")
        self.assertEqual(after["master_replid2"], before["master_replid"])
        self.assertEqual(int(after["second_repl_offset"]), int(before["master_repl_offset"]) + 1)
        self.assertEqual(self.replica.cli("SET", "w", "1"), "OK")

    def test_partial_resync_after_dropped_link(self):
        fill(self.primary, 200)
        self.follow()
        wait_until(lambda: caught_up(self.primary, self.replica), timeout=10, what="catch up")
        self.assertEqual(kill_replica_links(self.primary), 1)
        self.primary.cli("SET", "during", "gap")
        wait_until(lambda: info(self.primary, "stats")["sync_partial_ok"] == "1", timeout=10,
                   what="partial resync")
        wait_until(lambda: caught_up(self.primary, self.replica), timeout=10, what="catch up")
        stats = info(self.primary, "stats")
        self.assertEqual(stats["sync_full"], "1")
        # The first PSYNC offered the replica's own random id, as Redis's do.
        self.assertEqual(stats["sync_partial_err"], "1")
        self.assertEqual(self.replica.cli("GET", "during"), "gap")

    def test_replica_keeps_expired_keys_of_its_file(self):
        # A replica loading its own RDB keeps keys whose TTL passed (its
        # primary's DELs remove them); a primary loading the same file drops
        # them, as Redis does.
        self.follow()
        for i in range(20):
            self.primary.cli("SET", f"ttl{i}", "v", "PX", "1500")
        self.primary.cli("SET", "forever", "v")
        wait_until(lambda: self.replica.cli("DBSIZE") == "21", timeout=10, what="replica has keys")
        self.assertEqual(self.replica.cli("SAVE"), "OK")
        self.replica.stop()
        self.primary.stop()  # no resync may change what the replica loaded
        time.sleep(2)  # every TTL passes
        again = Node(port=self.replica.port, dir=self.replica.dir,
                     args=["--replicaof", "127.0.0.1", str(self.primary.port)])
        again.owns_dir, self.replica.owns_dir = True, False
        self.addCleanup(again.cleanup)
        again.start()
        self.assertEqual(again.cli("DBSIZE"), "21")
        self.assertEqual(again.cli("GET", "ttl0"), "")  # hidden from reads
        self.assertEqual(again.cli("GET", "forever"), "v")
        again.stop()
        primary = Node(port=again.port, dir=again.dir)
        primary.owns_dir, again.owns_dir = True, False
        self.addCleanup(primary.cleanup)
        primary.start()
        self.assertEqual(primary.cli("DBSIZE"), "1")
        self.assertIn("rdb_last_load_keys_expired:20", primary.cli("INFO", "persistence"))

    def test_full_sync_after_backlog_overrun(self):
        self.primary.cli("CONFIG", "SET", "repl-backlog-size", "16384")
        self.follow()
        self.primary.cli("SET", "first", "1")
        wait_until(lambda: caught_up(self.primary, self.replica), timeout=10, what="catch up")
        # Point the replica at a dead port: it keeps its history but is cut off.
        dead = free_port()
        self.assertEqual(self.replica.cli("REPLICAOF", "127.0.0.1", dead), "OK")
        fill(self.primary, 2000, "over")  # far more than 16 kB of stream
        self.assertEqual(self.replica.cli("REPLICAOF", "127.0.0.1", self.primary.port), "OK")
        wait_until(lambda: info(self.primary, "stats")["sync_full"] == "2", timeout=10,
                   what="second full sync")
        wait_until(lambda: caught_up(self.primary, self.replica), timeout=10, what="catch up")
        stats = info(self.primary, "stats")
        self.assertEqual(stats["sync_partial_err"], "2")  # the first PSYNC, then the overrun
        self.assertEqual(stats["sync_partial_ok"], "0")
        self.assertEqual(self.replica.cli("DBSIZE"), self.primary.cli("DBSIZE"))

        # Within the backlog the same detour continues partially.
        self.assertEqual(self.replica.cli("REPLICAOF", "127.0.0.1", dead), "OK")
        self.primary.cli("SET", "small", "gap")
        self.assertEqual(self.replica.cli("REPLICAOF", "127.0.0.1", self.primary.port), "OK")
        wait_until(lambda: info(self.primary, "stats")["sync_partial_ok"] == "1", timeout=10,
                   what="partial resync")
        wait_until(lambda: self.replica.cli("GET", "small") == "gap", timeout=10, what="gap")

    def test_psync2_other_replica_continues_with_promoted_one(self):
        other = Node().start()
        self.addCleanup(other.cleanup)
        self.follow()
        self.assertEqual(other.cli("REPLICAOF", "127.0.0.1", self.primary.port), "OK")
        fill(self.primary, 300)
        wait_until(lambda: caught_up(self.primary, self.replica) and
                   caught_up(self.primary, other), timeout=10, what="both caught up")
        self.primary.stop()
        self.assertEqual(self.replica.cli("REPLICAOF", "NO", "ONE"), "OK")
        self.replica.cli("SET", "after", "promotion")
        self.assertEqual(other.cli("REPLICAOF", "127.0.0.1", self.replica.port), "OK")
        wait_until(lambda: other.cli("GET", "after") == "promotion", timeout=10, what="stream")
        stats = info(self.replica, "stats")
        self.assertEqual(stats["sync_partial_ok"], "1")
        self.assertEqual(stats["sync_full"], "0")

    def test_min_replicas_to_write(self):
        self.primary.cli("CONFIG", "SET", "min-replicas-to-write", "1")
        self.assertEqual(self.primary.cli("SET", "a", "1"),
                         "NOREPLICAS Not enough good replicas to write.")
        self.follow()
        wait_until(lambda: self.primary.cli("SET", "a", "1") == "OK", timeout=10,
                   what="write accepted with a replica")
        self.assertEqual(info(self.primary)["min_slaves_good_slaves"], "1")

    def test_replconf_errors(self):
        c = Client(self.primary.port)
        self.addCleanup(c.close)
        self.assertEqual(c.call("REPLCONF", "listening-port", "7000"), "OK")
        self.assertEqual(c.call("REPLCONF", "capa", "eof", "capa", "psync2"), "OK")
        self.assertEqual(c.call("REPLCONF", "nope", "1"),
                         Error("ERR Unrecognized REPLCONF option: nope"))
        self.assertEqual(c.call("REPLCONF", "listening-port"), Error("ERR syntax error"))
        self.assertEqual(c.call("REPLICAOF", "127.0.0.1", "99999"), Error("ERR Invalid master port"))


def read_on_replica(replica, key):
    c = Client(replica.port)
    try:
        c.call("READONLY")
        return c.call("GET", key)
    finally:
        c.close()


class ClusterReplicationTest(unittest.TestCase):
    """Six nodes, `redis-cli --cluster create --cluster-replicas 1`."""

    ARGS = ["--save", "3600 1", "--cluster-node-timeout", "5000"]

    def setUp(self):
        self.nodes = [Node(cluster=True, args=self.ARGS).start() for _ in range(6)]
        for n in self.nodes:
            self.addCleanup(n.cleanup)
        out = subprocess.run(
            ["redis-cli", "--cluster", "create"] +
            [f"127.0.0.1:{n.port}" for n in self.nodes] +
            ["--cluster-replicas", "1", "--cluster-yes"],
            capture_output=True, text=True, timeout=120)
        self.assertIn("All 16384 slots covered", out.stdout, out.stdout + out.stderr)
        by_port = {n.port: n for n in self.nodes}

        def pairs():
            found = []
            for n in self.nodes:
                i = info(n)
                if i["role"] == "slave" and i.get("master_link_status") == "up":
                    found.append((by_port[int(i["master_port"])], n))
            return found
        wait_until(lambda: len(pairs()) == 3, timeout=30, what="three linked replicas")
        self.pairs = pairs()
        # A create faster than the primaries' 2 s writable delay leaves them
        # failing a moment; redis-benchmark --cluster stalls on CLUSTERDOWN.
        wait_until(lambda: all("cluster_state:ok" in n.cli("CLUSTER", "INFO") for n in self.nodes),
                   timeout=30, what="cluster_state:ok everywhere")

    def restart(self, node):
        node.stop()
        again = Node(cluster=True, args=self.ARGS, port=node.port, dir=node.dir)
        again.owns_dir = node.owns_dir
        node.owns_dir = False
        self.addCleanup(again.cleanup)
        self.nodes[self.nodes.index(node)] = again
        return again.start()

    def test_replicas_follow_load_wait_readonly_and_restarts(self):
        first = self.nodes[0]
        subprocess.run(["redis-benchmark", "-p", str(first.port), "--cluster", "-q", "-t", "set",
                        "-n", "100000", "-r", "100000", "-P", "16"],
                       capture_output=True, text=True, timeout=180, check=True)
        for primary, replica in self.pairs:
            wait_until(lambda: caught_up(primary, replica), timeout=30, what="catch up")
            self.assertEqual(replica.cli("DBSIZE"), primary.cli("DBSIZE"))
            self.assertGreater(int(primary.cli("DBSIZE")), 10000)
            self.assertEqual(info(primary, "stats")["sync_full"], "1")
            # READONLY serves the primary's keys; otherwise MOVED.
            key = primary.cli("RANDOMKEY")
            c = Client(replica.port)
            self.addCleanup(c.close)
            self.assertTrue(str(c.call("GET", key)).startswith("MOVED "))
            self.assertEqual(c.call("READONLY"), "OK")
            self.assertEqual(c.call("GET", key), primary.cli("GET", key).encode())
            self.assertEqual(replica.cli("ROLE").splitlines()[3], "connected")
            w = Client(primary.port)
            self.addCleanup(w.close)
            self.assertEqual(w.call("WAIT", "1", "5000"), 1)

        # Restart within the backlog: the replica continues from its RDB.
        primary, replica = self.pairs[0]
        stats = info(primary, "stats")
        replica.stop()
        slot_key = primary.cli("RANDOMKEY")
        primary.cli("SET", slot_key, "changed-while-down")
        replica = self.restart(replica)
        wait_until(lambda: caught_up(primary, replica), timeout=30, what="catch up after restart")
        after = info(primary, "stats")
        self.assertEqual(int(after["sync_partial_ok"]), int(stats["sync_partial_ok"]) + 1)
        self.assertEqual(after["sync_full"], stats["sync_full"])
        self.assertEqual(read_on_replica(replica, slot_key), b"changed-while-down")
        self.assertEqual(replica.cli("DBSIZE"), primary.cli("DBSIZE"))

        # Restart after the backlog was overrun: a full sync.
        primary.cli("CONFIG", "SET", "repl-backlog-size", "16384")
        primary.cli("SET", slot_key, "small backlog")
        wait_until(lambda: caught_up(primary, replica), timeout=30, what="catch up")
        replica.stop()
        cmds = "".join(f"SET {slot_key} {'v' * 100}{i}\n" for i in range(400))
        subprocess.run(["redis-cli", "-p", str(primary.port)], input=cmds, capture_output=True,
                       text=True, timeout=60, check=True)
        replica = self.restart(replica)
        wait_until(lambda: caught_up(primary, replica), timeout=30, what="catch up after overrun")
        final = info(primary, "stats")
        self.assertEqual(int(final["sync_full"]), int(stats["sync_full"]) + 1)
        self.assertEqual(replica.cli("DBSIZE"), primary.cli("DBSIZE"))
        self.assertEqual(read_on_replica(replica, slot_key), b"v" * 100 + b"399")


if __name__ == "__main__":
    unittest.main(verbosity=2)
