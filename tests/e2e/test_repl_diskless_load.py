"""Replica-side diskless loading (repl-diskless-load), as Redis 7.0.15 does it
(issue 19). Each scenario runs against a shardnode pair and a redis-server
pair in the same test and the observable behaviour must agree:

- swapdb from another history: the replica is "loading" (loading:1,
  -LOADING) while the RDB streams in, into a dataset aside; when the transfer
  breaks, that dataset is dropped and the old keys are there again.
- swapdb from the same history (the primary's FULLRESYNC replid is the
  replica's): async_loading:1, the old keys keep being served (reads and
  writes), commands flagged no_async_loading get -LOADING; a broken transfer
  keeps the old keys, a complete one swaps the new dataset in.
- on-empty-db on an empty replica: the RDB is loaded as it arrives (loading
  while the primary is still producing it).
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (REDIS_SERVER, Client, Error, Node, RedisServer, info,  # noqa: E402
                     wait_until)

LOADING = Error("LOADING Redis is loading the dataset in memory")


def pair(kind):
    """A started (primary, replica) of `kind` ("shardnode" or "redis")."""
    if kind == "redis":
        return RedisServer(), RedisServer()
    return Node().start(), Node().start()


def field(node, section, name):
    return info(node, section).get(name)


def log_text(node):
    if isinstance(node, Node) and os.path.exists(os.path.join(node.dir, "redis.log")):
        with open(os.path.join(node.dir, "redis.log"), errors="replace") as f:
            return f.read()
    return node.output()


@unittest.skipUnless(REDIS_SERVER, "needs redis-server 7.0.15")
class DisklessLoadTest(unittest.TestCase):
    def start_pair(self, kind):
        primary, replica = pair(kind)
        self.addCleanup(primary.cleanup)
        self.addCleanup(replica.cleanup)
        p, r = Client(primary.port), Client(replica.port)
        self.addCleanup(p.close)
        self.addCleanup(r.close)
        for c in (p, r):
            self.assertEqual(c.call("CONFIG", "SET", "repl-diskless-sync", "yes"), "OK")
            self.assertEqual(c.call("CONFIG", "SET", "repl-diskless-sync-delay", "0"), "OK")
        self.assertEqual(p.call("CONFIG", "SET", "rdbcompression", "no"), "OK")
        # redis-server serves clients between slices of the load only.
        self.assertEqual(
            r.call("CONFIG", "SET", "loading-process-events-interval-bytes", "1024"), "OK")
        return primary, replica, p, r

    def abort_transfer(self, primary, p, replica, flag):
        """Breaks the transfer in progress; the next one waits 5 s."""
        self.assertEqual(p.call("CONFIG", "SET", "repl-diskless-sync-delay", "5"), "OK")
        self.assertEqual(p.call("CLIENT", "KILL", "TYPE", "replica"), 1)
        wait_until(lambda: field(replica, "persistence", flag) == "0", timeout=10,
                   what=f"{flag}:0 after the broken transfer")

    def swapdb_other_history(self, kind):
        primary, replica, p, r = self.start_pair(kind)
        self.assertEqual(r.call("CONFIG", "SET", "repl-diskless-load", "swapdb"), "OK")
        self.assertEqual(r.call("DEBUG", "POPULATE", 200, "replica", 10), "OK")
        self.assertEqual(r.call("SET", "mykey", "myvalue"), "OK")
        self.assertEqual(p.call("DEBUG", "POPULATE", 1000, "primary", 1000), "OK")
        # 10 ms per key: the transfer takes about 10 s.
        self.assertEqual(p.call("CONFIG", "SET", "rdb-key-save-delay", "10000"), "OK")
        self.assertEqual(r.call("REPLICAOF", "127.0.0.1", primary.port), "OK")
        wait_until(lambda: field(replica, "persistence", "loading") == "1", timeout=10,
                   what="replica loading")
        seen = {"async_loading": field(replica, "persistence", "async_loading"),
                "get": r.call("GET", "mykey")}
        self.abort_transfer(primary, p, replica, "loading")
        seen["after"] = (r.call("GET", "mykey"), r.call("DBSIZE"))
        self.assertEqual(p.call("CONFIG", "SET", "rdb-key-save-delay", "0"), "OK")
        return seen

    def swapdb_same_history(self, kind, abort):
        primary, replica, p, r = self.start_pair(kind)
        self.assertEqual(r.call("CONFIG", "SET", "repl-diskless-load", "swapdb"), "OK")
        self.assertEqual(r.call("CONFIG", "SET", "replica-read-only", "no"), "OK")
        self.assertEqual(r.call("REPLICAOF", "127.0.0.1", primary.port), "OK")
        wait_until(lambda: field(replica, "replication", "master_link_status") == "up",
                   timeout=10, what="first sync")
        self.assertEqual(r.call("DEBUG", "POPULATE", 300, "replica", 10), "OK")
        self.assertEqual(r.call("SET", "mykey", "myvalue"), "OK")
        self.assertEqual(p.call("DEBUG", "POPULATE", 600, "primary", 1000), "OK")
        if abort:
            self.assertEqual(p.call("CONFIG", "SET", "rdb-key-save-delay", "10000"), "OK")
        # A partial resync is impossible (the writes overflow a small
        # backlog): the next sync is a full one, from the same history.
        p.send("MULTI")
        p.send("CLIENT", "KILL", "TYPE", "replica")
        p.send("CONFIG", "SET", "repl-backlog-size", "16384")
        for i in range(10):
            p.send("SET", f"big{i}", "A" * 16384)
        p.send("EXEC")
        for _ in range(14):  # MULTI, 12 QUEUED, EXEC
            p.read()
        seen = {}
        if abort:
            wait_until(lambda: field(replica, "persistence", "async_loading") == "1",
                       timeout=10, what="replica async_loading")
            seen["loading"] = field(replica, "persistence", "loading")
            seen["served"] = (r.call("GET", "mykey"), r.call("DBSIZE"),
                              r.call("SET", "during", "load"))
            seen["refused"] = (r.call("CONFIG", "SET", "appendonly", "no"),
                               r.call("REPLICAOF", "NO", "ONE"))
            seen["still"] = field(replica, "persistence", "async_loading")
            self.abort_transfer(primary, p, replica, "async_loading")
            seen["after"] = (r.call("GET", "mykey"), r.call("GET", "during"), r.call("DBSIZE"))
            self.assertEqual(p.call("CONFIG", "SET", "rdb-key-save-delay", "0"), "OK")
        else:
            wait_until(lambda: field(replica, "replication", "master_link_status") == "up" and
                       r.call("DBSIZE") == p.call("DBSIZE"), timeout=20, what="second sync")
            seen["after"] = (r.call("GET", "mykey"), r.call("DBSIZE"), p.call("DBSIZE"))
            seen["digest"] = r.call("DEBUG", "DIGEST") == p.call("DEBUG", "DIGEST")
        return seen

    def on_empty_db(self, kind):
        primary, replica, p, r = self.start_pair(kind)
        self.assertEqual(r.call("CONFIG", "SET", "repl-diskless-load", "on-empty-db"), "OK")
        self.assertEqual(p.call("DEBUG", "POPULATE", 300, "primary", 1000), "OK")
        self.assertEqual(p.call("CONFIG", "SET", "rdb-key-save-delay", "10000"), "OK")
        self.assertEqual(r.call("REPLICAOF", "127.0.0.1", primary.port), "OK")
        # Loading while the primary still produces the RDB (3 s at least).
        wait_until(lambda: field(replica, "persistence", "loading") == "1", timeout=10,
                   what="replica loading")
        producing = field(primary, "persistence", "rdb_bgsave_in_progress")
        self.assertEqual(p.call("CONFIG", "SET", "rdb-key-save-delay", "0"), "OK")
        wait_until(lambda: field(replica, "replication", "master_link_status") == "up",
                   timeout=20, what="sync done")
        log = log_text(replica)
        return {"producing": producing, "dbsize": r.call("DBSIZE"),
                "to parser": "receiving streamed RDB from master with EOF to parser" in log,
                "loading line": "MASTER <-> REPLICA sync: Loading DB in memory" in log}

    def swapdb_sized_payload(self, kind):
        primary, replica, p, r = self.start_pair(kind)
        # A disk image: the payload comes as $<length>, still loaded as it
        # arrives.
        self.assertEqual(p.call("CONFIG", "SET", "repl-diskless-sync", "no"), "OK")
        self.assertEqual(r.call("CONFIG", "SET", "repl-diskless-load", "swapdb"), "OK")
        self.assertEqual(r.call("SET", "mykey", "myvalue"), "OK")
        self.assertEqual(p.call("DEBUG", "POPULATE", 500, "primary", 100), "OK")
        self.assertEqual(r.call("REPLICAOF", "127.0.0.1", primary.port), "OK")
        wait_until(lambda: field(replica, "replication", "master_link_status") == "up",
                   timeout=20, what="sync done")
        log = log_text(replica)
        return {"dbsize": r.call("DBSIZE"), "mykey": r.call("GET", "mykey"),
                "digest": r.call("DEBUG", "DIGEST") == p.call("DEBUG", "DIGEST"),
                "to parser": "bytes from master to parser" in log,
                "swapped": "Swapping active DB with loaded DB" in log}

    def test_swapdb_sized_payload(self):
        ours = self.swapdb_sized_payload("shardnode")
        theirs = self.swapdb_sized_payload("redis")
        self.assertEqual(ours, theirs)
        self.assertEqual(ours, {"dbsize": 500, "mykey": None, "digest": True,
                                "to parser": True, "swapped": True})

    def test_psync_with_a_wrong_offset_is_refused_and_logged(self):
        seen = []
        for kind in ("shardnode", "redis"):
            primary, _, p, _ = self.start_pair(kind)
            c = Client(primary.port)
            self.addCleanup(c.close)
            reply = c.call("PSYNC", "replicationid", "offset_str")
            wait_until(lambda: "asks for synchronization but with a wrong offset" in
                       log_text(primary), timeout=5, what="the log line")
            seen.append((reply, p.call("PING")))
        self.assertEqual(seen[0], seen[1])
        self.assertEqual(seen[0], (Error("ERR value is not an integer or out of range"), "PONG"))

    def test_swapdb_other_history_keeps_old_data_on_failure(self):
        ours = self.swapdb_other_history("shardnode")
        theirs = self.swapdb_other_history("redis")
        self.assertEqual(ours, theirs)
        self.assertEqual(ours, {"async_loading": "0", "get": LOADING,
                                "after": (b"myvalue", 201)})

    def test_swapdb_same_history_serves_old_data_while_loading(self):
        ours = self.swapdb_same_history("shardnode", abort=True)
        theirs = self.swapdb_same_history("redis", abort=True)
        self.assertEqual(ours, theirs)
        self.assertEqual(ours["loading"], "0")
        self.assertEqual(ours["served"], (b"myvalue", 301, "OK"))
        self.assertEqual(ours["refused"], (LOADING, LOADING))
        self.assertEqual(ours["after"], (b"myvalue", b"load", 302))

    def test_swapdb_same_history_swaps_in_new_data(self):
        ours = self.swapdb_same_history("shardnode", abort=False)
        theirs = self.swapdb_same_history("redis", abort=False)
        self.assertEqual(ours, theirs)
        self.assertEqual(ours["after"], (None, 610, 610))
        self.assertTrue(ours["digest"])

    def test_on_empty_db_loads_while_the_primary_produces(self):
        ours = self.on_empty_db("shardnode")
        theirs = self.on_empty_db("redis")
        self.assertEqual(ours, theirs)
        self.assertEqual(ours, {"producing": "1", "dbsize": 300, "to parser": True,
                                "loading line": True})


if __name__ == "__main__":
    unittest.main()
