"""Issue 9, dirty slots: a primary that loses a slot to a newer claim (a
higher configEpoch) while it keeps other slots deletes the keys it still
holds in that slot, as Redis's clusterUpdateSlotsConfigWith does: DBSIZE,
KEYS and COUNTKEYSINSLOT stop counting them, they do not come back when the
slot returns, and its replica drops them too (one DEL per key in the
replication stream). The same scenario runs with redis-server 7.0.15 as the
old owner (the reference) when it is installed."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import REDIS_SERVER, Client, Node, RedisServerNode, crc16, wait_until  # noqa: E402

ARGS = ["--cluster-node-timeout", "3000"]


def call(node, *args):
    c = Client(node.port)
    try:
        reply = c.call(*args)
    finally:
        c.close()
    return reply.decode() if isinstance(reply, bytes) else reply


def my_id(node):
    return call(node, "CLUSTER", "MYID")


def owner_of(node, slot):
    """The id of the node that owns `slot` in `node`'s view, or None."""
    for line in call(node, "CLUSTER", "NODES").splitlines():
        f = line.split(" ")
        for r in f[8:]:
            if r.startswith("["):
                continue
            lo, _, hi = r.partition("-")
            if int(lo) <= slot <= int(hi or lo):
                return f[0]
    return None


def tag_in(lo, hi, skip=()):
    """A hash tag whose slot is in [lo, hi] and not in `skip`."""
    for i in range(100000):
        tag = f"t{i}"
        slot = crc16(tag.encode()) % 16384
        if lo <= slot <= hi and slot not in skip:
            return tag, slot
    raise AssertionError("no tag found")


def keys_of(node):
    c = Client(node.port)
    try:
        return sorted(k.decode() for k in c.call("KEYS", "*"))
    finally:
        c.close()


class DirtySlotsTest(unittest.TestCase):
    def run_scenario(self, old_owner_kind):
        old = old_owner_kind(cluster=True, args=ARGS)
        taker = Node(cluster=True, args=ARGS)
        replica = Node(cluster=True, args=ARGS) if old_owner_kind is Node else None
        nodes = [n for n in (old, taker, replica) if n]
        try:
            for n in nodes:
                n.start()
            self.assertEqual(call(old, "CLUSTER", "ADDSLOTSRANGE", "0", "8191"), "OK")
            self.assertEqual(call(taker, "CLUSTER", "ADDSLOTSRANGE", "8192", "16383"), "OK")
            self.assertEqual(call(old, "CLUSTER", "SET-CONFIG-EPOCH", "1"), "OK")
            self.assertEqual(call(taker, "CLUSTER", "SET-CONFIG-EPOCH", "2"), "OK")
            for n in nodes[1:]:
                self.assertEqual(call(n, "CLUSTER", "MEET", "127.0.0.1", str(old.port)), "OK")
            old_id, taker_id = my_id(old), my_id(taker)
            for n in nodes:
                wait_until(lambda: "cluster_state:ok" in call(n, "CLUSTER", "INFO"),
                           timeout=20, what=f"cluster ok on {n.port}")
            if replica:
                wait_until(lambda: owner_of(replica, 0) == old_id, timeout=20,
                           what="the replica learns the slots")
                self.assertEqual(call(replica, "CLUSTER", "REPLICATE", old_id), "OK")

            lost_tag, lost = tag_in(0, 8191)
            kept_tag, kept = tag_in(0, 8191, skip=(lost,))
            lost_keys = [f"{{{lost_tag}}}k{i}" for i in range(5)]
            kept_keys = [f"{{{kept_tag}}}k{i}" for i in range(3)]
            for k in lost_keys + kept_keys:
                self.assertEqual(call(old, "SET", k, "v"), "OK")
            self.assertEqual(call(old, "DBSIZE"), 8)
            if replica:
                wait_until(lambda: call(replica, "DBSIZE") == 8, timeout=20,
                           what="the replica has the keys")

            # The taker claims the slot with a bumped configEpoch (closing an
            # import with SETSLOT NODE myself), while the old owner still
            # holds keys in it.
            self.assertEqual(call(taker, "CLUSTER", "SETSLOT", str(lost), "IMPORTING", old_id),
                             "OK")
            self.assertEqual(call(taker, "CLUSTER", "SETSLOT", str(lost), "NODE", taker_id), "OK")
            wait_until(lambda: owner_of(old, lost) == taker_id, timeout=20,
                       what="the old owner learns the newer claim")
            wait_until(lambda: call(old, "CLUSTER", "COUNTKEYSINSLOT", str(lost)) == 0,
                       timeout=10, what="the lost slot's keys are deleted")
            self.assertEqual(call(old, "DBSIZE"), 3)
            self.assertEqual(keys_of(old), sorted(kept_keys))
            self.assertEqual(owner_of(old, kept), old_id)  # still a primary with its slots
            if replica:
                wait_until(lambda: call(replica, "DBSIZE") == 3, timeout=20,
                           what="the replica drops the keys too")
                self.assertEqual(keys_of(replica), sorted(kept_keys))

            # The slot returns to the old owner: the keys stay gone.
            self.assertEqual(call(old, "CLUSTER", "SETSLOT", str(lost), "IMPORTING", taker_id),
                             "OK")
            self.assertEqual(call(old, "CLUSTER", "SETSLOT", str(lost), "NODE", old_id), "OK")
            wait_until(lambda: owner_of(taker, lost) == old_id, timeout=20,
                       what="the taker learns the slot came back")
            self.assertEqual(call(old, "CLUSTER", "COUNTKEYSINSLOT", str(lost)), 0)
            self.assertIsNone(call(old, "GET", lost_keys[0]))
            self.assertEqual(call(old, "DBSIZE"), 3)
            if replica:
                self.assertEqual(call(replica, "DBSIZE"), 3)
        finally:
            for n in nodes:
                n.cleanup()

    def test_shardnode_old_owner_deletes_the_keys_and_its_replica_follows(self):
        self.run_scenario(Node)

    @unittest.skipIf(REDIS_SERVER is None, "redis-server is not installed")
    def test_redis_server_old_owner_in_a_mixed_cluster_does_the_same(self):
        self.run_scenario(RedisServerNode)


if __name__ == "__main__":
    unittest.main()
