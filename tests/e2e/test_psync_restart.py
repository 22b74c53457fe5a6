"""PSYNC2 across restarts, differential with redis-server 7.0.15: a primary
restarted from its dump.rdb keeps its replication history (the RDB aux fields
repl-id / repl-offset) as its second id, so its replica continues with a
partial resync; keys the load drops as expired reach the replica as DELs
through the backlog; a replica's REPLICAOF survives CONFIG REWRITE and a
restart, after which it resyncs partially too (Redis's integration/psync2,
psync2-master-restart). And a replica's error reply to a command of its
primary's stream (DEBUG REPLICATE) logged as CRITICAL (replication-4), and
PUBLISH reaching the replicas' subscribers (unit/multi)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import REDIS_SERVER, Client, Node, RedisServerNode, info, wait_until  # noqa: E402

ARGS = ["--save", "3600 1", "--enable-debug-command", "yes", "--repl-timeout", "3600",
        "--repl-ping-replica-period", "3600"]


class RedisWithConf(RedisServerNode):
    """redis-server started from a config file when config_text is given (as
    Node does), so that CONFIG REWRITE has a file to write."""

    def command_line(self):
        cmd = super().command_line()
        if self.config_text is not None:
            path = os.path.join(self.dir, "shardnode.conf")
            with open(path, "w") as f:
                f.write(self.config_text)
            cmd.insert(1, path)
        return cmd


def linked(replica):
    return info(replica).get("master_link_status") == "up"


def same_offset(primary, replica):
    return (linked(replica) and
            info(replica)["master_repl_offset"] == info(primary)["master_repl_offset"])


class PsyncRestart(unittest.TestCase):
    def start(self, kind, **kw):
        node = kind(args=ARGS, **kw)
        self.addCleanup(node.cleanup)
        return node.start()

    def restart(self, kind, node, config_text=None):
        """Stops `node` (SIGTERM: it saves) and starts it again on its port and dir."""
        self.assertEqual(node.stop(), 0, node.output())
        again = kind(args=ARGS, port=node.port, dir=node.dir, config_text=config_text)
        again.owns_dir, node.owns_dir = node.owns_dir, False
        self.addCleanup(again.cleanup)
        return again.start()

    def pair(self, kind):
        primary = self.start(kind)
        replica = self.start(kind)
        replica.cli("REPLICAOF", "127.0.0.1", str(primary.port))
        wait_until(lambda: linked(replica), timeout=20, what="replica linked")
        return primary, replica

    def primary_restart(self, kind):
        """What a restarted primary shows: its ids and offsets as INFO gives
        them, compared with those before the restart."""
        primary, replica = self.pair(kind)
        for i in range(50):
            primary.cli("SET", f"k{i}", "v")
        # Keys that expire while the primary is down: dropped by its load.
        primary.cli("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        for i in range(5):
            primary.cli("SET", f"gone{i}", "v", "PX", "50")
        wait_until(lambda: same_offset(primary, replica), timeout=20, what="replica caught up")
        # The replica's ACK of that offset reached the primary: a primary with
        # a lagging replica (redis-server) would send a GETACK at SIGTERM.
        offset = info(primary)["master_repl_offset"]
        wait_until(lambda: f",offset={offset}," in info(primary).get("slave0", ""), timeout=20,
                   what="the replica's ACK")
        before = info(primary)
        replica.cli("CONFIG", "RESETSTAT")
        primary = self.restart(kind, primary)
        wait_until(lambda: linked(replica), timeout=20, what="replica linked again")
        after = info(primary)
        wait_until(lambda: same_offset(primary, replica), timeout=20, what="DELs applied")
        return {
            "new id": after["master_replid"] != before["master_replid"],
            "replid2 is the old id": after["master_replid2"] == before["master_replid"],
            "second offset": int(after["second_repl_offset"]) - int(before["master_repl_offset"]),
            "offset grew by the DELs": int(after["master_repl_offset"]) ==
            int(before["master_repl_offset"]) + int(after["repl_backlog_histlen"]),
            "DELs in the backlog": int(after["repl_backlog_histlen"]) > 0,
            "keys expired at load": info(primary, "persistence")["rdb_last_load_keys_expired"],
            "primary partial": info(primary, "stats")["sync_partial_ok"],
            "primary full": info(primary, "stats")["sync_full"],
            "replica partial": info(replica, "stats")["sync_partial_ok"],
            "replica keys": replica.cli("DBSIZE"),
        }

    @unittest.skipUnless(REDIS_SERVER, "redis-server not installed")
    def test_primary_restart_resyncs_partially(self):
        ours = self.primary_restart(Node)
        theirs = self.primary_restart(RedisWithConf)
        self.assertEqual(ours, theirs)
        self.assertEqual(ours["primary partial"], "1")
        self.assertEqual(ours["replica keys"], "50")

    def replica_restart(self, kind):
        primary = self.start(kind)
        replica = self.start(kind, config_text="")
        replica.cli("REPLICAOF", "127.0.0.1", str(primary.port))
        wait_until(lambda: linked(replica), timeout=20, what="replica linked")
        for i in range(20):
            primary.cli("SET", f"k{i}", "v")
        wait_until(lambda: same_offset(primary, replica), timeout=20, what="replica caught up")
        self.assertEqual(replica.cli("CONFIG", "REWRITE"), "OK")
        with open(os.path.join(replica.dir, "shardnode.conf")) as f:
            conf = f.read()
        partial = int(info(primary, "stats")["sync_partial_ok"])
        replica = self.restart(kind, replica, config_text=conf)
        wait_until(lambda: int(info(primary, "stats")["sync_partial_ok"]) == partial + 1,
                   timeout=20, what="partial resync after the replica's restart")
        return (f"replicaof 127.0.0.1 {primary.port}" in conf, info(primary, "stats")["sync_full"],
                replica.cli("DBSIZE"))

    @unittest.skipUnless(REDIS_SERVER, "redis-server not installed")
    def test_replica_restart_keeps_replicaof_and_resyncs_partially(self):
        self.assertEqual(self.replica_restart(Node), (True, "1", "20"))
        self.assertEqual(self.replica_restart(RedisWithConf), (True, "1", "20"))


    def error_to_primary(self, kind):
        primary, replica = self.pair(kind)
        primary.cli("DEBUG", "REPLICATE", "fake-command-1")
        primary.cli("SET", "foo", "bar")
        self.assertEqual(primary.cli("WAIT", "1", "2000"), "1")
        wait_until(lambda: "== CRITICAL ==" in replica.output(), timeout=10, what="log line")
        lines = [line for line in replica.output().splitlines() if "fake-command-1" in line]
        return (len(lines), "== CRITICAL ==" in lines[0],
                info(replica, "stats")["unexpected_error_replies"], replica.cli("GET", "foo"))

    @unittest.skipUnless(REDIS_SERVER, "redis-server not installed")
    def test_replica_logs_its_error_replies_to_the_primary(self):
        # DEBUG REPLICATE sends a command to the replicas only.
        self.assertEqual(self.error_to_primary(Node), (1, True, "1", "bar"))
        self.assertEqual(self.error_to_primary(RedisWithConf), (1, True, "1", "bar"))


    def resetstat(self, kind):
        primary, _ = self.pair(kind)
        before = info(primary, "stats")["sync_full"]
        primary.cli("CONFIG", "RESETSTAT")
        return before, info(primary, "stats")["sync_full"]

    @unittest.skipUnless(REDIS_SERVER, "redis-server not installed")
    def test_config_resetstat_zeroes_the_sync_counters(self):
        self.assertEqual(self.resetstat(Node), ("1", "0"))
        self.assertEqual(self.resetstat(RedisWithConf), ("1", "0"))


    def publish_reaches_replica(self, kind):
        primary, replica = self.pair(kind)
        sub = Client(replica.port)
        self.addCleanup(sub.close)
        self.assertEqual(sub.call("SUBSCRIBE", "ch"), [b"subscribe", b"ch", 1])
        primary.cli("PUBLISH", "ch", "hello")
        return sub.read()

    @unittest.skipUnless(REDIS_SERVER, "redis-server not installed")
    def test_publish_reaches_the_replicas_subscribers(self):
        # Outside cluster mode PUBLISH travels in the replication stream.
        self.assertEqual(self.publish_reaches_replica(Node), [b"message", b"ch", b"hello"])
        self.assertEqual(self.publish_reaches_replica(RedisWithConf),
                         [b"message", b"ch", b"hello"])


if __name__ == "__main__":
    unittest.main()
