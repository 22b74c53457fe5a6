"""A replica loading its primary's RDB after a full sync is "loading", as in
Redis 7.0.15: INFO persistence loading:1 with the loading_* figures, commands
without the loading flag answered -LOADING, CONFIG SET taking effect
mid-load (key-load-delay), then the full dataset once done. A link dropped
mid-load does not stop the load; the replica then continues by partial
resync. In cluster mode the loading replica announces offset 0: its primary
hides it from CLUSTER SLOTS and CLUSTER SHARDS says "loading". The data file
loads the same way at start-up."""
import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Client, Error, Node, info, wait_until  # noqa: E402

KEYS = 400  # with 1000-byte values and a 10 ms delay per key: 4 s of loading


def loading(node):
    return info(node, "persistence").get("loading") == "1"


def linked(node):
    return info(node, "replication").get("master_link_status") == "up"


def slow_loader(replica):
    """Makes the replica's next load take KEYS * 10 ms, yielding per key."""
    c = Client(replica.port)
    assert c.call("CONFIG", "SET", "key-load-delay", "10000") == "OK"
    assert c.call("CONFIG", "SET", "loading-process-events-interval-bytes", "1024") == "OK"
    c.close()


class ReplicaLoadingTest(unittest.TestCase):
    def setUp(self):
        self.primary = Node().start()
        self.replica = Node().start()
        self.addCleanup(self.primary.cleanup)
        self.addCleanup(self.replica.cleanup)
        self.assertEqual(self.primary.cli("DEBUG", "POPULATE", KEYS, "key", 1000), "OK")

    def test_loading_state_then_full_dataset(self):
        slow_loader(self.replica)
        self.replica.cli("SET", "old", "data")
        self.assertEqual(self.replica.cli("REPLICAOF", "127.0.0.1", self.primary.port), "OK")
        wait_until(lambda: loading(self.replica), timeout=10, what="replica loading")
        c = Client(self.replica.port)
        self.addCleanup(c.close)
        # Commands without the loading flag are refused; INFO and CONFIG work.
        for cmd in (("GET", "key:1"), ("PING",), ("DBSIZE",), ("EXISTS", "x")):
            self.assertEqual(c.call(*cmd),
                             Error("LOADING Redis is loading the dataset in memory"), cmd)
        pers = info(self.replica, "persistence")
        self.assertEqual(pers["loading"], "1")
        total = int(pers["loading_total_bytes"])
        self.assertGreater(total, KEYS * 10)  # values compress (LZF)
        self.assertLess(int(pers["loading_loaded_bytes"]), total)
        self.assertIn("loading_eta_seconds", pers)
        self.assertIn("loading_loaded_perc", pers)
        repl = info(self.replica, "replication")
        self.assertEqual(repl["master_link_status"], "down")
        self.assertEqual(repl["master_sync_in_progress"], "1")
        # The RDB was received whole before loading began (Redis's disk
        # load); it came in the diskless form, which announces no size.
        self.assertEqual(repl["master_sync_total_bytes"], "0")
        self.assertGreaterEqual(int(repl["master_sync_read_bytes"]), total)
        self.assertEqual(repl["slave_repl_offset"], "1")
        # The delay is read while loading: dropping it finishes the load.
        self.assertEqual(c.call("CONFIG", "SET", "key-load-delay", "0"), "OK")
        wait_until(lambda: linked(self.replica), timeout=10, what="link up")
        self.assertNotIn("loading_total_bytes", info(self.replica, "persistence"))
        self.assertEqual(c.call("DBSIZE"), KEYS)  # the old key was flushed
        p = Client(self.primary.port)
        self.addCleanup(p.close)
        self.assertEqual(c.call("DEBUG", "DIGEST"), p.call("DEBUG", "DIGEST"))

    def test_link_dropped_mid_load_then_partial_resync(self):
        slow_loader(self.replica)
        self.assertEqual(self.replica.cli("REPLICAOF", "127.0.0.1", self.primary.port), "OK")
        wait_until(lambda: loading(self.replica), timeout=10, what="replica loading")
        killed = self.primary.cli("CLIENT", "KILL", "TYPE", "replica")
        self.assertEqual(killed, "1")
        self.primary.cli("SET", "after", "kill")
        self.replica.cli("CONFIG", "SET", "key-load-delay", "0")
        # The load completes from the bytes received, then the replica
        # continues its new history from the primary's backlog.
        wait_until(lambda: linked(self.replica) and self.replica.cli("GET", "after") == "kill",
                   timeout=15, what="link up again with the new write")
        stats = info(self.primary, "stats")
        self.assertEqual(stats["sync_full"], "1")
        self.assertEqual(stats["sync_partial_ok"], "1")
        self.assertEqual(self.replica.cli("DBSIZE"), str(KEYS + 1))

    def test_shutdown_while_loading_saves_nothing(self):
        # With a save point, SIGTERM saves the dataset; but not a half-loaded one.
        replica = Node(args=["--save", "3600 1"]).start()
        self.addCleanup(replica.cleanup)
        slow_loader(replica)
        self.assertEqual(replica.cli("REPLICAOF", "127.0.0.1", self.primary.port), "OK")
        wait_until(lambda: loading(replica), timeout=10, what="replica loading")
        start = time.monotonic()
        self.assertEqual(replica.stop(signal.SIGTERM, timeout=5), 0)
        self.assertLess(time.monotonic() - start, 5)
        self.assertFalse(os.path.exists(os.path.join(replica.dir, "dump.rdb")))
        self.assertEqual(self.primary.cli("PING"), "PONG")


class StartupLoadingTest(unittest.TestCase):
    def test_start_answers_loading_until_the_file_is_loaded(self):
        n = Node()
        self.addCleanup(n.cleanup)
        n.start()
        self.assertEqual(n.cli("DEBUG", "POPULATE", KEYS, "key", 1000), "OK")
        self.assertEqual(n.cli("SAVE"), "OK")
        n.stop()
        # Restarted slowly: 10 ms per key, the loop running every 1024 bytes.
        n.args = ["--key-load-delay", "10000", "--loading-process-events-interval-bytes", "1024"]
        n.start(wait=False)
        c = None

        def connected():
            nonlocal c
            try:
                c = Client(n.port)
                return True
            except OSError:
                return False

        wait_until(connected, timeout=10, what="node listening")
        self.addCleanup(c.close)
        self.assertEqual(c.call("GET", "key:1"),
                         Error("LOADING Redis is loading the dataset in memory"))
        pers = info(n, "persistence")
        self.assertEqual(pers["loading"], "1")
        self.assertGreater(int(pers["loading_total_bytes"]), 0)
        self.assertEqual(c.call("CONFIG", "SET", "key-load-delay", "0"), "OK")
        wait_until(lambda: c.call("DBSIZE") == KEYS, timeout=10, what="loaded")
        self.assertEqual(info(n, "persistence")["loading"], "0")
        self.assertIn("Ready to accept connections", n.output())


def shards_health(node, node_id):
    """The health CLUSTER SHARDS on `node` gives `node_id` (None if absent)."""
    c = Client(node.port)
    try:
        for shard in c.call("CLUSTER", "SHARDS"):
            fields = dict(zip(shard[::2], shard[1::2]))
            for n in fields[b"nodes"]:
                d = dict(zip(n[::2], n[1::2]))
                if d[b"id"].decode() == node_id:
                    return d[b"health"].decode()
    finally:
        c.close()
    return None


class ClusterReplicaLoadingTest(unittest.TestCase):
    def test_loading_replica_hidden_from_slots(self):
        primary = Node(cluster=True, args=["--cluster-node-timeout", "2000"]).start()
        self.addCleanup(primary.cleanup)
        replica = Node(cluster=True, args=["--cluster-node-timeout", "2000"]).start()
        self.addCleanup(replica.cleanup)
        self.assertEqual(primary.cli("CLUSTER", "ADDSLOTSRANGE", 0, 16383), "OK")
        primary.cli("CLUSTER", "MEET", "127.0.0.1", replica.port)
        pid = primary.cli("CLUSTER", "MYID")
        rid = replica.cli("CLUSTER", "MYID")
        wait_until(lambda: pid in replica.cli("CLUSTER", "NODES"), timeout=10, what="meet")
        self.assertEqual(primary.cli("DEBUG", "POPULATE", KEYS, "key", 1000), "OK")
        slow_loader(replica)
        self.assertEqual(replica.cli("CLUSTER", "REPLICATE", pid), "OK")
        wait_until(lambda: loading(replica), timeout=10, what="replica loading")
        # While loading, the replica refuses CLUSTER SHARDS and SLOTS (they
        # lack the loading flag in Redis 7.0.15) and announces offset 0 over
        # the bus.
        c = Client(replica.port)
        try:
            for sub in ("SHARDS", "SLOTS"):
                self.assertEqual(c.call("CLUSTER", sub),
                                 "LOADING Redis is loading the dataset in memory")
        finally:
            c.close()
        wait_until(lambda: shards_health(primary, rid) == "loading", timeout=5,
                   what="primary sees the replica loading")
        self.assertNotIn(rid, primary.cli("CLUSTER", "SLOTS"))
        replica.cli("CONFIG", "SET", "key-load-delay", "0")
        wait_until(lambda: linked(replica), timeout=10, what="link up")
        wait_until(lambda: shards_health(primary, rid) == "online" and
                   rid in primary.cli("CLUSTER", "SLOTS"), timeout=10,
                   what="primary lists the replica again")
        self.assertIn(rid, replica.cli("CLUSTER", "SLOTS"))


if __name__ == "__main__":
    unittest.main()
