"""Issue 19 (Redis's unit/expire.tcl, unit/maxmemory.tcl, unit/keyspace.tcl),
compared with redis-server 7.0.15 on the same steps:
- SCAN reaps the expired keys it meets that pass MATCH (their DELs reach the
  replicas), and SCAN or RANDOMKEY run by a client send those DELs one by one,
  not wrapped in MULTI/EXEC (Redis's TOUCHES_ARBITRARY_KEYS);
- CONFIG SET maxmemory evicts after the command, not inside it: the DELs go
  alone, not in a MULTI with the command's writes, and a MULTI that lowers
  maxmemory runs to its end (its later writes are not refused or evicted);
- CONFIG SET zset-max-ziplist-entries / -value (the aliases of
  zset-max-listpack-*) choose the encoding of new sorted sets;
- a writable replica expires the keys its own clients gave a TTL (no DEL
  will come from its primary for them), and only those."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (REDIS_SERVER, Client, Node, RedisServer, info_int,  # noqa: E402
                     wait_until)
from test_repl_propagation import ReplicaStream  # noqa: E402

MARK = ["SET", "__mark__", "end"]


def stream_until_mark(stream):
    """The commands read from `stream` up to the marker (PINGs and SELECTs
    left out: only their order relative to the writes could differ)."""
    got = []
    while True:
        cmd = stream.command()
        if cmd == MARK:
            return got
        if cmd[0].upper() not in ("PING", "SELECT"):
            got.append(cmd)


def lazy_expiry_streams(port):
    """SCAN and RANDOMKEY over keys that expired (active expiry off); returns
    (scan's replies, what replicas got)."""
    c = Client(port)
    stream = ReplicaStream(port)
    try:
        assert c.call("DEBUG", "SET-ACTIVE-EXPIRE", "0") == "OK"
        out = {}
        for name, cmd in (("scan", ("SCAN", "0", "MATCH", "foo*", "COUNT", "1000")),
                          ("randomkey", ("RANDOMKEY",))):
            c.call("FLUSHALL")
            c.call("SET", "foo1", "bar", "PX", "1")
            c.call("SET", "foo2", "bar", "PX", "1")
            # An expired key SCAN's MATCH does not take: left as it is.
            c.call("SET", "other", "bar", "PX", "1")
            # A probe set last with the same TTL: once a lookup finds it gone
            # (its own DEL goes out then), the others are past their TTL too,
            # and nothing has touched them.
            c.call("SET", "probe", "x", "PX", "1")
            wait_until(lambda: c.call("PTTL", "probe") == -2, timeout=5,
                       what="keys past their TTL")
            reply = c.call(*cmd)
            size = c.call("DBSIZE")
            c.call(*MARK)
            got = stream_until_mark(stream)
            # Redis's table order decides which DEL comes first.
            dels = sorted(" ".join(x) for x in got if x[0].upper() in ("DEL", "UNLINK"))
            rest = [x[0].upper() for x in got if x[0].upper() not in ("DEL", "UNLINK")]
            out[name] = (reply, size, dels, rest)
        return out
    finally:
        stream.close()
        c.close()


def eviction_streams(port):
    """unit/maxmemory.tcl's "propagation with eviction" and "... in MULTI"."""
    c = Client(port)
    stream = ReplicaStream(port)
    try:
        out = {}
        for k in ("asdf1", "asdf2", "asdf3"):
            c.call("SET", k, "1")
        c.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
        c.call("CONFIG", "SET", "maxmemory", "1")
        wait_until(lambda: c.call("DBSIZE") == 0, timeout=10, what="every key evicted")
        c.call("CONFIG", "SET", "maxmemory", "0")
        c.call("SET", "asdf4", "4")
        c.call(*MARK)
        out["config set"] = stream_until_mark(stream)

        c.call("MULTI")
        c.call("INCR", "x")
        c.call("CONFIG", "SET", "maxmemory", "1")
        c.call("INCR", "x")
        out["exec reply"] = c.call("EXEC")
        wait_until(lambda: c.call("DBSIZE") == 0, timeout=10, what="x evicted")
        c.call("CONFIG", "SET", "maxmemory", "0")
        c.call(*MARK)
        out["multi"] = stream_until_mark(stream)
        # Evicted keys' DELs come in the order the eviction picked them.
        for name in ("config set", "multi"):
            out[name] = ([x for x in out[name] if x[0] != "DEL"],
                         sorted(" ".join(x) for x in out[name] if x[0] == "DEL"),
                         [x[0] for x in out[name]])
        return out
    finally:
        stream.close()
        c.close()


def zset_encodings(port):
    c = Client(port)
    try:
        out = []
        c.call("CONFIG", "SET", "zset-max-ziplist-entries", "0")
        c.call("ZADD", "z1", "1", "a")
        out.append(c.call("OBJECT", "ENCODING", "z1"))
        c.call("COPY", "z1", "z1copy")
        out.append(c.call("OBJECT", "ENCODING", "z1copy"))
        c.call("CONFIG", "SET", "zset-max-ziplist-entries", "3")
        c.call("CONFIG", "SET", "zset-max-ziplist-value", "5")
        c.call("ZADD", "z2", "1", "a", "2", "b", "3", "c")
        out.append(c.call("OBJECT", "ENCODING", "z2"))
        c.call("ZADD", "z2", "4", "d")
        out.append(c.call("OBJECT", "ENCODING", "z2"))
        c.call("ZADD", "z3", "1", "abcdef")
        out.append(c.call("OBJECT", "ENCODING", "z3"))
        pairs = c.call("CONFIG", "GET", "zset-max-listpack-*")
        out.append(sorted(zip(pairs[::2], pairs[1::2])))
        return out
    finally:
        c.close()


def writable_replica_expiry(primary, replica):
    """unit/expire.tcl's "expired key which is created in writeable replicas
    should be deleted by active expiry", plus a key the primary gave a TTL
    (the replica keeps it until the primary's DEL)."""
    p = Client(primary.port)
    r = Client(replica.port)
    try:
        assert p.call("DEBUG", "SET-ACTIVE-EXPIRE", "0") == "OK"
        r.call("CONFIG", "SET", "replica-read-only", "no")
        r.call("REPLICAOF", "127.0.0.1", str(primary.port))
        wait_until(lambda: b"master_link_status:up" in r.call("INFO", "replication"),
                   timeout=10, what="link up")
        p.call("SET", "from-primary", "v", "PX", "50")
        wait_until(lambda: r.call("DBSIZE") == 1, timeout=10, what="the primary's key")
        wait_until(lambda: r.call("PTTL", "from-primary") == -2, timeout=5,
                   what="the primary's key past its TTL")
        before = info_int(r, "stats", "expired_keys")
        r.call("SET", "own", "bar", "PX", "1")
        wait_until(lambda: info_int(r, "stats", "expired_keys") == before + 1, timeout=5,
                   what="the replica's own key expired")
        own = r.call("GET", "own")
        # The primary's key outlived its TTL on the replica: still held.
        size = r.call("DBSIZE")
        return (info_int(r, "stats", "expired_keys") - before, own, size)
    finally:
        p.close()
        r.close()


@unittest.skipIf(REDIS_SERVER is None, "redis-server not installed")
class Issue19Test(unittest.TestCase):
    def pair(self):
        redis = RedisServer()
        self.addCleanup(redis.cleanup)
        node = Node().start()
        self.addCleanup(node.cleanup)
        return redis, node

    def test_lazy_expiry_in_scan_and_randomkey(self):
        redis, node = self.pair()
        want = lazy_expiry_streams(redis.port)
        got = lazy_expiry_streams(node.port)
        self.assertEqual(got, want)
        # SCAN reaped both foo keys, left "other", and wrapped nothing.
        self.assertEqual(got["scan"][0], [b"0", []])
        self.assertEqual(got["scan"][1], 1)
        self.assertEqual(got["scan"][2], ["DEL foo1", "DEL foo2", "DEL probe"])
        self.assertNotIn("MULTI", got["scan"][3] + got["randomkey"][3])

    def test_eviction_propagates_alone(self):
        redis, node = self.pair()
        want = eviction_streams(redis.port)
        got = eviction_streams(node.port)
        self.assertEqual(got, want)
        self.assertEqual(got["exec reply"], [1, "OK", 2])
        # The MULTI holds the two INCRs only; the evictions follow it, alone.
        self.assertEqual(got["multi"][2], ["MULTI", "INCR", "INCR", "EXEC", "DEL", "DEL", "DEL"])
        self.assertIn("DEL x", got["multi"][1])

    def test_zset_listpack_limits_follow_config_set(self):
        redis, node = self.pair()
        want = zset_encodings(redis.port)
        got = zset_encodings(node.port)
        self.assertEqual(got, want)
        self.assertEqual(got[:2], [b"skiplist", b"skiplist"])

    def test_writable_replica_expires_its_own_keys(self):
        results = []
        for make in (RedisServer, lambda: Node().start()):
            primary = make()
            self.addCleanup(primary.cleanup)
            replica = make()
            self.addCleanup(replica.cleanup)
            results.append(writable_replica_expiry(primary, replica))
        self.assertEqual(results[1], results[0])
        self.assertEqual(results[1], (1, None, 1))


if __name__ == "__main__":
    unittest.main()
