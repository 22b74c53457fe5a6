"""Issue 14: a partitioned minority of sentinels does not fail over.

Three shardnode sentinels watch a shardnode primary and its replica with
quorum 1, so one sentinel alone can reach ODOWN. Two sentinels are cut off
(SIGSTOP: they answer nobody) and the primary is killed: the one left sees
it down, starts a failover, cannot be elected (a leader needs the votes of
a majority of the three) and aborts with -failover-abort-not-elected, as
Redis's sentinel does; the replica is not promoted. Once the two come back,
the majority fails over. The same file passes with Redis everywhere
(SHARDNODE_BIN=/usr/bin/redis-server: its --sentinel mode and its data
nodes)."""
import os
import signal
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import BIN, Node, info, wait_until  # noqa: E402
from test_sentinel_failover import Sentinel, hold_port  # noqa: E402


class PartitionedMinorityTest(unittest.TestCase):
    def node(self, primary_port=None):
        conf = f"replicaof 127.0.0.1 {primary_port}\n" if primary_port else ""
        n = Node(config_text=conf).start()
        self.addCleanup(n.cleanup)
        return n

    def test_minority_does_not_fail_over(self):
        primary = self.node()
        replica = self.node(primary.port)
        wait_until(lambda: info(replica).get("master_link_status") == "up", timeout=10,
                   what="replica link up")
        sentinels = []
        for _ in range(3):
            s = Sentinel(primary.port, quorum=1, failover_timeout=3000,
                         argv=lambda conf: [BIN, conf, "--sentinel"])
            self.addCleanup(s.cleanup)
            sentinels.append(s)

        def discovered():
            for s in sentinels:
                f = s.master_fields()
                if f.get("num-slaves") != "1" or f.get("num-other-sentinels") != "2":
                    return False
            return True

        wait_until(discovered, timeout=30, interval=0.2, what="sentinels discover each other")

        alone, cut = sentinels[0], sentinels[1:]
        for s in cut:
            s.proc.send_signal(signal.SIGSTOP)
        primary.stop(signal.SIGKILL)
        held = hold_port(primary.port)
        if held is not None:
            self.addCleanup(held.close)

        wait_until(lambda: "-failover-abort-not-elected" in alone.log(), timeout=30,
                   interval=0.2, what="the lone sentinel gives its failover up")
        log = alone.log()
        self.assertIn("+odown", log)
        self.assertIn("+try-failover", log)
        self.assertNotIn("+elected-leader", log)
        self.assertNotIn("+switch-master", log)
        self.assertEqual(info(replica).get("role"), "slave")
        self.assertEqual(alone.primary_port(), primary.port)

        # The partition heals: the majority elects a leader and promotes.
        for s in cut:
            s.proc.send_signal(signal.SIGCONT)
        wait_until(lambda: all(s.primary_port() == replica.port for s in sentinels),
                   timeout=60, interval=0.2, what="the healed majority fails over")
        wait_until(lambda: info(replica).get("role") == "master", timeout=10,
                   what="replica promoted")


if __name__ == "__main__":
    unittest.main(verbosity=2)
