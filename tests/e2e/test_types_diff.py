"""Differential test of the data types (hashes, sets, sorted sets, lists):
one seeded stream of commands, valid and invalid, is sent to shardnode and to
redis-server 7.0.15, and the replies are compared one by one. Unordered
replies are compared as sorted lists; random ones by shape.

The stream runs in every mode of harness.DIFF_MODES: standalone (LENGTH
commands), standalone with 4 shard threads, where one multi-key command's
keys live in different shards, and a one-node cluster with 4 shard threads
(SHARDED_LENGTH commands each).

    SEED=5 LENGTH=100000 python3 tests/e2e/test_types_diff.py
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from diffgen import (ALL_KEYS, BIT_KEYS, BITS_SETUP, COPY_KEYS, GEO_KEYS, HLL_KEYS, LCS_KEYS,  # noqa: E402
                     SORT_ALL, BitsGen, Gen, GeoSortGen)
from harness import DIFF_MODES, REDIS_SERVER, Client, Error, start_diff_pair  # noqa: E402

SEED = int(os.environ.get("SEED", "1"))
LENGTH = int(os.environ.get("LENGTH", "20000"))
SHARDED_LENGTH = int(os.environ.get("SHARDED_LENGTH", str(min(LENGTH, 3000))))
CHECK_EVERY = 250

UNORDERED = {"SMEMBERS", "SINTER", "SUNION", "SDIFF", "HKEYS", "HVALS"}
PAIRS_UNORDERED = {"HGETALL"}
SCANS = {"HSCAN": 2, "SSCAN": 1, "ZSCAN": 2}
RANDOM = {"SPOP", "SRANDMEMBER", "HRANDFIELD", "ZRANDMEMBER"}


def pairs(lst):
    return sorted(zip(lst[0::2], lst[1::2]))


def shape(reply):
    if isinstance(reply, Error):
        return ("error", str(reply))
    if reply is None:
        return ("null",)
    if isinstance(reply, list):
        return ("array", len(reply))
    if isinstance(reply, bytes):
        return ("bulk",)
    return ("value", reply)


def normalize(cmd, reply):
    """What must be equal between the two servers for this command."""
    name = cmd[0].upper()
    if isinstance(reply, Error) or not isinstance(reply, list):
        if name in RANDOM:
            return shape(reply)
        return reply
    if name in UNORDERED:
        return sorted(reply)
    if name in PAIRS_UNORDERED:
        return pairs(reply)
    if name in SCANS:
        cursor, items = reply
        if cursor != b"0":
            return ("scan-partial",)
        return sorted(items) if SCANS[name] == 1 else pairs(items)
    if name in RANDOM:
        return shape(reply)
    return reply


class TypesDiffTest(unittest.TestCase):
    THREADS = 1
    CLUSTER = False
    LENGTH = LENGTH

    def setUp(self):
        if REDIS_SERVER is None:
            self.skipTest("redis-server is not installed: no reference to compare with")
        self.node, self.redis = start_diff_pair(self.THREADS, self.CLUSTER)
        self.a = Client(self.node.port, timeout=10)
        self.b = Client(self.redis.port, timeout=10)

    def tearDown(self):
        self.a.close()
        self.b.close()
        self.node.cleanup()
        self.redis.cleanup()

    def both(self, *args):
        return self.a.call(*args), self.b.call(*args)

    def supports(self, *args):
        r = self.a.call(*args)
        return not (isinstance(r, Error) and "unknown command" in r)

    def resync_set(self, key):
        """SPOP removed different random members: rebuild the key alike."""
        members = self.b.call("SMEMBERS", key)
        if not isinstance(members, list):
            return
        self.both("DEL", key)
        if members:
            self.both("SADD", key, *members)

    def check_state(self, step, mismatches):
        for key in ALL_KEYS + ["z:lex"]:
            for cmd in (["HGETALL", key], ["SMEMBERS", key], ["ZRANGE", key, "0", "-1", "WITHSCORES"],
                        ["LRANGE", key, "0", "-1"]):
                ra, rb = self.both(*cmd)
                if normalize(cmd, ra) != normalize(cmd, rb):
                    mismatches.append((step, ["state"] + cmd, ra, rb))

    def test_encoding_thresholds_match_redis(self):
        """OBJECT ENCODING on both sides of every size threshold (the random
        stream keeps collections small)."""
        mismatches = []

        def grow(key, add, sizes):
            for i in range(max(sizes) + 1):
                self.both(*add(i))
                if i + 1 in sizes or i in sizes:
                    ra, rb = self.both("OBJECT", "ENCODING", key)
                    if ra != rb:
                        mismatches.append((key, i + 1, ra, rb))

        grow("h", lambda i: ["HSET", "h", f"f{i}", "v"], {511, 512, 513})
        grow("si", lambda i: ["SADD", "si", str(i)], {511, 512, 513})
        grow("ss", lambda i: ["SADD", "ss", f"m{i}"], {1, 2, 200})
        grow("z", lambda i: ["ZADD", "z", str(i), f"m{i}"], {127, 128, 129})
        grow("l", lambda i: ["RPUSH", "l", "x"], {1, 200})
        for key, cmd in (("hv", ["HSET", "hv", "f", "x" * 65]),
                         ("zv", ["ZADD", "zv", "1", "y" * 65]),
                         ("sv", ["SADD", "sv", "1", "x"])):
            self.both(*cmd)
            ra, rb = self.both("OBJECT", "ENCODING", key)
            if ra != rb:
                mismatches.append((key, 1, ra, rb))
        self.assertEqual(mismatches, [])

    def test_replies_match_redis(self):
        meta = []
        if self.supports("TYPE", "x"):
            meta.append("TYPE")
        if self.supports("OBJECT", "ENCODING", "x"):
            meta.append("OBJECT")
        if not meta:
            print("note: TYPE/OBJECT not available in this shardnode; not compared")
        gen = Gen(SEED)
        mismatches = []
        for step in range(self.LENGTH):
            cmd = gen.next()
            if cmd[0] == "__meta__":
                if not meta:
                    continue
                cmd = ["TYPE", cmd[1]] if gen.pick(meta) == "TYPE" else \
                    ["OBJECT", "ENCODING", cmd[1]]
            ra, rb = self.both(*cmd)
            if normalize(cmd, ra) != normalize(cmd, rb):
                mismatches.append((step, cmd, ra, rb))
            if cmd[0] == "SPOP" and not isinstance(rb, Error):
                self.resync_set(cmd[1])
            if step % CHECK_EVERY == CHECK_EVERY - 1:
                self.check_state(step, mismatches)
            if len(mismatches) >= 20:
                break
        self.check_state(self.LENGTH, mismatches)
        for step, cmd, ra, rb in mismatches[:20]:
            print(f"step {step}: {cmd!r}\n  shardnode: {ra!r}\n  redis:     {rb!r}")
        self.assertEqual(len(mismatches), 0,
                         f"seed {SEED}, {self.mode()}: replies differ from redis-server")

    def mode(self):
        return f"threads {self.THREADS}" + (", cluster" if self.CLUSTER else "")


class BitsDiffTest(unittest.TestCase):
    """Bitmaps, BITFIELD and HyperLogLog against redis-server: replies, the
    raw bytes of every key (GET), and OBJECT ENCODING."""
    THREADS = 1
    CLUSTER = False
    LENGTH = LENGTH

    def setUp(self):
        if REDIS_SERVER is None:
            self.skipTest("redis-server is not installed: no reference to compare with")
        self.node, self.redis = start_diff_pair(self.THREADS, self.CLUSTER)
        self.a = Client(self.node.port, timeout=10)
        self.b = Client(self.redis.port, timeout=10)

    def tearDown(self):
        self.a.close()
        self.b.close()
        self.node.cleanup()
        self.redis.cleanup()

    def both(self, *args):
        return self.a.call(*args), self.b.call(*args)

    def run_stream(self, seed, length):
        for cmd in BITS_SETUP:
            self.both(*cmd)
        gen = BitsGen(seed)
        mismatches = []
        for step in range(length):
            cmd = gen.next()
            ra, rb = self.both(*cmd)
            if ra != rb:
                mismatches.append((step, cmd, ra, rb))
            if step % CHECK_EVERY == CHECK_EVERY - 1 or step == length - 1:
                for key in BIT_KEYS + HLL_KEYS:
                    for probe in (["GET", key], ["OBJECT", "ENCODING", key]):
                        ra, rb = self.both(*probe)
                        if ra != rb:
                            mismatches.append((step, ["state"] + probe, ra, rb))
            if len(mismatches) >= 20:
                break
        for step, cmd, ra, rb in mismatches[:20]:
            print(f"step {step}: {cmd!r}\n  shardnode: {ra!r}\n  redis:     {rb!r}")
        self.assertEqual(len(mismatches), 0,
                         f"seed {seed}, threads {self.THREADS}, cluster {self.CLUSTER}: "
                         "replies differ from redis-server")

    def test_bits_and_hll_match_redis(self):
        self.run_stream(SEED, self.LENGTH)

    def test_hll_dump_restore_both_ways(self):
        """An HLL (sparse and dense) made by one server is read by the other."""
        for name, src, dst, n in (("{h}d", self.b, self.a, 20000), ("{h}s", self.b, self.a, 500),
                                  ("{h}m", self.a, self.b, 3000)):
            src.call("PFADD", name, *[f"e{i}" for i in range(n)])
            payload = src.call("DUMP", name)
            self.assertEqual(dst.call("RESTORE", name, "0", payload), "OK")
            self.assertEqual(dst.call("PFCOUNT", name), src.call("PFCOUNT", name), name)
            self.assertEqual(dst.call("GET", name), src.call("GET", name), name)
            self.assertEqual(dst.call("PFADD", name, "new-one"), src.call("PFADD", name, "new-one"))
            self.assertEqual(dst.call("GET", name), src.call("GET", name), name)

    def test_command_info_matches_redis(self):
        """Arity, flags, key positions, ACL categories and key specs."""
        for name in ("setbit", "getbit", "bitcount", "bitpos", "bitop", "bitfield",
                     "bitfield_ro", "pfadd", "pfcount", "pfmerge", "pfdebug", "pfselftest"):
            ra, rb = self.both("COMMAND", "INFO", name)
            self.assertEqual(ra, rb, name)
            ra, rb = self.both("COMMAND", "GETKEYS", "BITOP", "AND", "d", "s1", "s2")
            self.assertEqual(ra, rb)

    def test_hll_small_sparse_max_bytes_matches_redis(self):
        """hll-sparse-max-bytes decides when a sparse HLL turns dense."""
        for value in ("200", "0"):
            self.assertEqual(self.both("CONFIG", "SET", "hll-sparse-max-bytes", value),
                             ("OK", "OK"))
            self.both("FLUSHALL")
            self.run_stream(SEED + 1000 + int(value), min(self.LENGTH, 1500))


class GeoSortDiffTest(unittest.TestCase):
    """The geo commands, SORT / SORT_RO, COPY and LCS against redis-server:
    one seeded stream per family, replies compared exactly (geo replies and
    SORT results are deterministic), then the keys' contents, encodings and
    TTLs."""
    THREADS = 1
    CLUSTER = False
    LENGTH = LENGTH // 4

    setUp = TypesDiffTest.setUp
    tearDown = TypesDiffTest.tearDown
    both = TypesDiffTest.both

    def state(self, keys):
        out = []
        for key in keys:
            t = self.b.call("TYPE", key)
            cmds = [["TYPE", key], ["TTL", key], ["OBJECT", "ENCODING", key]]
            cmds.append({"list": ["LRANGE", key, "0", "-1"], "set": ["SMEMBERS", key],
                         "zset": ["ZRANGE", key, "0", "-1", "WITHSCORES"],
                         "string": ["GET", key]}.get(t, ["EXISTS", key]))
            out += cmds
        return out

    def run_stream(self, next_cmd, state_keys):
        mismatches = []
        for step in range(self.LENGTH):
            cmd = next_cmd()
            ra, rb = self.both(*cmd)
            if normalize(cmd, ra) != normalize(cmd, rb):
                mismatches.append((step, cmd, ra, rb))
            if step % CHECK_EVERY == CHECK_EVERY - 1 or step == self.LENGTH - 1:
                for c in self.state(state_keys):
                    ra, rb = self.both(*c)
                    if normalize(c, ra) != normalize(c, rb):
                        mismatches.append((step, ["state"] + c, ra, rb))
            if len(mismatches) >= 20:
                break
        for step, cmd, ra, rb in mismatches[:20]:
            print(f"step {step}: {cmd!r}\n  shardnode: {ra!r}\n  redis:     {rb!r}")
        self.assertEqual(len(mismatches), 0,
                         f"seed {SEED}, {TypesDiffTest.mode(self)}: replies differ from redis-server")

    def test_geo_replies_match_redis(self):
        gen = GeoSortGen(SEED)
        self.both("SET", "{g}str", "x")
        self.run_stream(gen.geo_cmd, GEO_KEYS + ["{g}dst"])

    def test_sort_copy_lcs_replies_match_redis(self):
        gen = GeoSortGen(SEED + 1)
        self.both("SET", "{s}str", "x")
        self.both("HSET", "{s}h", "f", "1")
        self.run_stream(lambda: gen.sort_cmd(self.CLUSTER),
                        SORT_ALL + LCS_KEYS + COPY_KEYS + ["{s}dst"])


# One subclass per sharded mode of DIFF_MODES (TypesDiffTest is standalone).
for _name, _threads, _cluster in DIFF_MODES:
    if _threads == 1 and not _cluster:
        continue
    globals()["TypesDiff_" + _name] = type("TypesDiff_" + _name, (TypesDiffTest,), {
        "THREADS": _threads, "CLUSTER": _cluster, "LENGTH": SHARDED_LENGTH})
    globals()["GeoSortDiff_" + _name] = type("GeoSortDiff_" + _name, (GeoSortDiffTest,), {
        "THREADS": _threads, "CLUSTER": _cluster, "LENGTH": SHARDED_LENGTH // 2})
    globals()["BitsDiff_" + _name] = type("BitsDiff_" + _name, (BitsDiffTest,), {
        "THREADS": _threads, "CLUSTER": _cluster, "LENGTH": SHARDED_LENGTH})


if __name__ == "__main__":
    unittest.main(verbosity=2)
