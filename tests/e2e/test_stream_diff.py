"""Differential test of the stream commands: one seeded stream of commands,
valid and invalid (XADD with every trim form, ranges, XDEL, XTRIM, XSETID,
consumer groups with XREADGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM, XINFO),
is sent to shardnode and to redis-server 7.0.15 and the replies are compared
one by one. Both run with stream-node-max-entries 4 so that node boundaries
(XADD/XTRIM "~", XINFO radix-tree-keys) are crossed often.

What depends on the clock is left out of the comparison: idle times and
delivery / seen times (XPENDING, XINFO), and XINFO's radix-tree-nodes (an
internal count of Redis's radix tree). Ids are always explicit ("ms-seq" or
"ms-*"), never "*".

Blocking reads are checked by their own small scenarios below.

    SEED=5 LENGTH=20000 python3 tests/e2e/test_stream_diff.py
"""
import os
import random
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (DIFF_MODES, REDIS_SERVER, Client, Error, start_diff_pair,  # noqa: E402
                     wait_until)

SEED = int(os.environ.get("SEED", "1"))
LENGTH = int(os.environ.get("LENGTH", "8000"))
SHARDED_LENGTH = int(os.environ.get("SHARDED_LENGTH", str(min(LENGTH, 2000))))

KEYS = ["{x}s:0", "{x}s:1", "{x}s:2"]
OTHER = "{x}hash"
ALL = KEYS + [OTHER, "{x}missing"]
GROUPS = ["g1", "g2", "g3"]
CONSUMERS = ["alice", "bob", "carol", "1"]
FIELDS = ["a", "b", "c", "1", "f" * 70]


class StreamGen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.ms = 1

    def pick(self, seq):
        return self.r.choice(seq)

    def key(self):
        x = self.r.random()
        return self.pick(KEYS) if x < 0.9 else self.pick(ALL)

    def num(self, lo, hi):
        if self.r.random() < 0.04:
            return self.pick(["x", "-1", "1.5", ""])
        return str(self.r.randint(lo, hi))

    def some_id(self):
        """An id somewhere in the range used so far (or a special one)."""
        x = self.r.random()
        if x < 0.06:
            return self.pick(["-", "+", "0", "0-0", "bad", "1-x", "18446744073709551615-18446744073709551615"])
        ms = self.r.randint(0, self.ms + 1)
        if x < 0.3:
            return str(ms)
        return "%d-%d" % (ms, self.r.randint(0, 3))

    def new_id(self):
        x = self.r.random()
        if x < 0.03:
            return self.pick(["0-0", "0-1", "abc", "-", "+", "5-"])
        if x < 0.1:
            return self.some_id()
        self.ms += self.r.randint(0, 2)
        if x < 0.3:
            return "%d-*" % self.ms
        if x < 0.4:
            return str(self.ms)
        return "%d-%d" % (self.ms, self.r.randint(0, 3))

    def fields(self):
        out = []
        names = FIELDS if self.r.random() < 0.5 else ["a", "b"]
        for _ in range(self.r.randint(1, 3)):
            out += [self.pick(names), self.pick(["1", "v", "", "100000", "x" * 40])]
        if self.r.random() < 0.02:
            out.append("odd")
        return out

    def trim(self, xadd):
        out = []
        strategy = self.r.random()
        if strategy < 0.5:
            out += ["MAXLEN"]
        elif strategy < 0.8:
            out += ["MINID"]
        elif not xadd and self.r.random() < 0.5:
            return [self.pick(["LIMIT", "FOO"]), "1"]
        else:
            return out
        approx = self.r.random()
        if approx < 0.4:
            out.append("~")
        elif approx < 0.6:
            out.append("=")
        out.append(self.num(0, 12) if out[0] == "MAXLEN" else self.some_id())
        if self.r.random() < 0.2:
            out += ["LIMIT", self.num(0, 10)]
        if self.r.random() < 0.02:
            out += ["MINID", "1"]
        return out

    def ids(self, lo=1, hi=3):
        return [self.some_id() for _ in range(self.r.randint(lo, hi))]

    def next(self):
        k = self.key()
        c = self.r.randint(0, 30)
        if c <= 7:
            args = ["XADD", k]
            if self.r.random() < 0.1:
                args.append("NOMKSTREAM")
            if self.r.random() < 0.3:
                args += self.trim(True)
            return args + [self.new_id()] + self.fields()
        if c in (8, 9):
            name = self.pick(["XRANGE", "XREVRANGE"])
            a, b = self.some_id(), self.some_id()
            if self.r.random() < 0.2:
                a = "(" + a
            if self.r.random() < 0.2:
                b = "(" + b
            if name == "XRANGE" and self.r.random() < 0.6:
                a, b = "-", "+"
            args = [name, k, a, b]
            if self.r.random() < 0.4:
                args += ["COUNT", self.num(-1, 4)]
            return args
        if c == 10:
            return ["XLEN", k]
        if c == 11:
            return ["XDEL", k] + self.ids()
        if c == 12:
            return ["XTRIM", k] + self.trim(False)
        if c == 13:
            args = ["XSETID", k, self.new_id() if self.r.random() < 0.5 else self.some_id()]
            if self.r.random() < 0.3:
                args += ["ENTRIESADDED", self.num(0, 40)]
            if self.r.random() < 0.3:
                args += ["MAXDELETEDID", self.some_id()]
            return args
        if c in (14, 15):
            sub = self.pick(["CREATE", "CREATE", "SETID", "DESTROY", "CREATECONSUMER",
                             "DELCONSUMER", "HELP", "BOGUS"])
            g = self.pick(GROUPS)
            if sub == "CREATE":
                args = ["XGROUP", sub, k, g, self.pick(["$", "0", self.some_id()])]
                if self.r.random() < 0.3:
                    args.append("MKSTREAM")
                if self.r.random() < 0.2:
                    args += ["ENTRIESREAD", self.num(-2, 5)]
                return args
            if sub == "SETID":
                args = ["XGROUP", sub, k, g, self.pick(["$", "0", self.some_id()])]
                if self.r.random() < 0.3:
                    args += ["ENTRIESREAD", self.num(-2, 5)]
                return args
            if sub in ("CREATECONSUMER", "DELCONSUMER"):
                return ["XGROUP", sub, k, g, self.pick(CONSUMERS)]
            if sub == "HELP":
                return ["XGROUP", "HELP"]
            return ["XGROUP", sub, k, g]
        if c in (16, 17, 18):
            args = ["XREADGROUP", "GROUP", self.pick(GROUPS), self.pick(CONSUMERS)]
            if self.r.random() < 0.5:
                args += ["COUNT", self.num(0, 3)]
            if self.r.random() < 0.2:
                args.append("NOACK")
            keys = [self.key() for _ in range(self.r.randint(1, 2))]
            ids = [">" if self.r.random() < 0.7 else self.pick(["0", self.some_id(), "$"])
                   for _ in keys]
            return args + ["STREAMS"] + keys + ids
        if c == 19:
            args = ["XREAD"]
            if self.r.random() < 0.5:
                args += ["COUNT", self.num(0, 3)]
            keys = [self.key() for _ in range(self.r.randint(1, 2))]
            ids = [self.pick(["0", "$", self.some_id()]) for _ in keys]
            if self.r.random() < 0.03:
                ids = ids[1:]
            return args + ["STREAMS"] + keys + ids
        if c == 20:
            return ["XACK", k, self.pick(GROUPS)] + self.ids()
        if c in (21, 22):
            args = ["XPENDING", k, self.pick(GROUPS)]
            if self.r.random() < 0.6:
                if self.r.random() < 0.2:
                    args += ["IDLE", self.pick(["0", "100000000"])]
                args += [self.pick(["-", self.some_id()]), self.pick(["+", self.some_id()]),
                         self.num(0, 5)]
                if self.r.random() < 0.3:
                    args.append(self.pick(CONSUMERS))
            return args
        if c in (23, 24):
            args = ["XCLAIM", k, self.pick(GROUPS), self.pick(CONSUMERS),
                    self.pick(["0", "0", "100000000", "x"])] + self.ids(1, 2)
            for opt in ("JUSTID", "FORCE"):
                if self.r.random() < 0.3:
                    args.append(opt)
            if self.r.random() < 0.2:
                args += ["RETRYCOUNT", self.num(0, 5)]
            if self.r.random() < 0.2:
                args += ["LASTID", self.some_id()]
            if self.r.random() < 0.1:
                args += ["TIME", "1"]
            if self.r.random() < 0.03:
                args.append("BOGUS")
            return args
        if c == 25:
            args = ["XAUTOCLAIM", k, self.pick(GROUPS), self.pick(CONSUMERS),
                    self.pick(["0", "100000000", "x"]), self.pick(["0", "-", self.some_id()])]
            if self.r.random() < 0.4:
                args += ["COUNT", self.num(0, 4)]
            if self.r.random() < 0.3:
                args.append("JUSTID")
            return args
        if c in (26, 27):
            x = self.r.random()
            if x < 0.4:
                args = ["XINFO", "STREAM", k]
                if self.r.random() < 0.4:
                    args.append("FULL")
                    if self.r.random() < 0.5:
                        args += ["COUNT", self.num(0, 3)]
                return args
            if x < 0.7:
                return ["XINFO", "GROUPS", k]
            if x < 0.95:
                return ["XINFO", "CONSUMERS", k, self.pick(GROUPS)]
            return ["XINFO", "HELP"]
        if c == 28:
            return ["TYPE", k]
        if c == 29:
            return ["OBJECT", "ENCODING", k]
        return ["DEL", k] if self.r.random() < 0.3 else ["XLEN", k]


def pairs_to_dict(lst):
    return {lst[i]: lst[i + 1] for i in range(0, len(lst) - 1, 2)}


def strip_info(reply, full):
    """XINFO STREAM without radix-tree-nodes and, for FULL, without times."""
    d = pairs_to_dict(reply)
    d.pop(b"radix-tree-nodes", None)
    if full and isinstance(d.get(b"groups"), list):
        groups = []
        for g in d[b"groups"]:
            gd = pairs_to_dict(g)
            gd[b"pending"] = [[p[0], p[1], p[3]] for p in gd.get(b"pending", [])]
            consumers = []
            for c in gd.get(b"consumers", []):
                cd = pairs_to_dict(c)
                cd.pop(b"seen-time", None)
                cd[b"pending"] = [[p[0], p[2]] for p in cd.get(b"pending", [])]
                consumers.append(sorted(cd.items()))
            gd[b"consumers"] = consumers
            groups.append(sorted(gd.items()))
        d[b"groups"] = groups
    return sorted(d.items())


def normalize(cmd, reply):
    if isinstance(reply, Error) or not isinstance(reply, list):
        return reply
    name = cmd[0].upper()
    sub = cmd[1].upper() if len(cmd) > 1 else ""
    if name == "XPENDING" and len(cmd) > 3:
        return [[e[0], e[1], e[3]] for e in reply]
    if name == "XINFO" and sub == "CONSUMERS":
        return [sorted((k, v) for k, v in pairs_to_dict(c).items() if k != b"idle") for c in reply]
    if name == "XINFO" and sub == "STREAM":
        return strip_info(reply, len(cmd) > 3)
    return reply


class StreamDiffTest(unittest.TestCase):
    THREADS = 1
    CLUSTER = False
    LENGTH = LENGTH

    def setUp(self):
        if REDIS_SERVER is None:
            self.skipTest("redis-server is not installed: no reference to compare with")
        self.node, self.redis = start_diff_pair(self.THREADS, self.CLUSTER)
        self.a = Client(self.node.port, timeout=10)
        self.b = Client(self.redis.port, timeout=10)
        for c in (self.a, self.b):
            self.assertEqual(c.call("CONFIG", "SET", "stream-node-max-entries", "4"), "OK")
            c.call("HSET", OTHER, "f", "v")

    def tearDown(self):
        self.a.close()
        self.b.close()
        self.node.cleanup()
        self.redis.cleanup()

    def both(self, *args):
        return self.a.call(*args), self.b.call(*args)

    def check_state(self, step, mismatches):
        for key in KEYS:
            for cmd in (["XRANGE", key, "-", "+"], ["XINFO", "STREAM", key, "FULL"],
                        ["XINFO", "GROUPS", key]):
                ra, rb = self.both(*cmd)
                if normalize(cmd, ra) != normalize(cmd, rb):
                    mismatches.append((step, ["state"] + cmd, ra, rb))

    def test_replies_match_redis(self):
        gen = StreamGen(SEED)
        mismatches = []
        for step in range(self.LENGTH):
            cmd = gen.next()
            ra, rb = self.both(*cmd)
            if normalize(cmd, ra) != normalize(cmd, rb):
                mismatches.append((step, cmd, ra, rb))
            if step % 250 == 249:
                self.check_state(step, mismatches)
            if len(mismatches) >= 10:
                break
        self.check_state(self.LENGTH, mismatches)
        for step, cmd, ra, rb in mismatches[:10]:
            print(f"step {step}: {cmd!r}\n  shardnode: {ra!r}\n  redis:     {rb!r}")
        self.assertEqual(len(mismatches), 0, f"seed {SEED}: replies differ from redis-server")

    def test_blocking_reads_match_redis(self):
        """XREAD BLOCK and XREADGROUP BLOCK: served by a later XADD in the
        order they blocked, with the same replies; timeouts and DEL of the
        key give Redis's replies."""
        for c in (self.a, self.b):
            c.call("XADD", "{x}b", "1-1", "f", "v")
            c.call("XGROUP", "CREATE", "{x}b", "g", "$")
        results = {}
        for label, port in (("node", self.node.port), ("redis", self.redis.port)):
            readers = [Client(port, timeout=10) for _ in range(4)]
            try:
                w = Client(port, timeout=10)
                blocking = [
                    ("XREAD", "BLOCK", "0", "STREAMS", "{x}b", "{x}other", "$", "$"),
                    ("XREADGROUP", "GROUP", "g", "c1", "BLOCK", "0", "STREAMS", "{x}b", ">"),
                    ("XREADGROUP", "GROUP", "g", "c2", "BLOCK", "0", "STREAMS", "{x}b", ">"),
                    ("XREAD", "BLOCK", "50", "STREAMS", "{x}none", "$")]
                # One after the other: commands of different connections run
                # in the order they reach the node (with shard threads, not
                # the order they were sent in).
                for i, (r, cmd) in enumerate(zip(readers, blocking)):
                    r.send(*cmd)
                    if i < 3:
                        wait_until(lambda: b"blocked_clients:%d" % (i + 1) in
                                   w.call("INFO", "clients"), what=f"{i + 1} blocked clients")
                w.call("XADD", "{x}b", "2-1", "k", "v")
                out = [r.read() for r in readers[:2]]
                # c2 waits on: the group's last id moved past 2-1.
                w.call("XADD", "{x}b", "3-1", "k", "w")
                out.append(readers[2].read())
                out.append(readers[3].read())  # timed out
                readers[3].send("XREADGROUP", "GROUP", "g", "c3", "BLOCK", "0", "STREAMS",
                                "{x}b", ">")
                wait_until(lambda: b"blocked_clients:1" in w.call("INFO", "clients"),
                           what="XREADGROUP blocked")
                w.call("DEL", "{x}b")
                out.append(readers[3].read())
                out.append(w.call("XPENDING", "{x}b", "g"))
                w.close()
                results[label] = out
            finally:
                for r in readers:
                    r.close()
        self.assertEqual(results["node"], results["redis"])

    def test_swapdb_wakes_readers_as_redis(self):
        """SWAPDB changes every key of both databases: a group reader whose
        stream went away gets UNBLOCKED, a list waiter whose key now exists
        is served, others keep waiting (standalone only: SWAPDB is refused
        in cluster mode)."""
        if self.CLUSTER:
            self.skipTest("SWAPDB is refused in cluster mode")
        results = {}
        for label, c in (("node", self.a), ("redis", self.b)):
            port = self.node.port if label == "node" else self.redis.port
            c.call("XGROUP", "CREATE", "{x}sw", "g", "$", "MKSTREAM")
            c.call("RPUSH", "{x}l1", "x")
            readers = [Client(port, timeout=10) for _ in range(3)]
            try:
                readers[0].send("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS",
                                "{x}sw", ">")
                readers[1].send("BLPOP", "{x}lz", "0")
                readers[2].call("SELECT", "1")
                readers[2].send("BLPOP", "{x}l1", "0")
                wait_until(lambda: b"blocked_clients:3" in c.call("INFO", "clients"),
                           what="3 blocked clients")
                out = [c.call("SWAPDB", "0", "1"), readers[0].read(), readers[2].read()]
                wait_until(lambda: b"blocked_clients:1" in c.call("INFO", "clients"),
                           what="the BLPOP on a missing key still blocked")
                c.call("SELECT", "1")
                c.call("RPUSH", "{x}lz", "late")
                c.call("SELECT", "0")
                out += [c.call("RPUSH", "{x}lz", "y"), readers[1].read()]
                results[label] = out
            finally:
                for r in readers:
                    r.close()
        self.assertEqual(results["node"], results["redis"])

    def test_watch_matches_redis(self):
        """Which stream commands abort a transaction WATCHing their key:
        Redis touches it for XADD, XDEL, XTRIM and XGROUP CREATE MKSTREAM
        only, not for the consumer group commands."""
        commands = [
            ["XADD", "{x}w", "9-1", "f", "v"], ["XDEL", "{x}w", "1-1"],
            ["XTRIM", "{x}w", "MAXLEN", "0"], ["XSETID", "{x}w", "99-0"],
            ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "{x}w", ">"],
            ["XACK", "{x}w", "g", "1-1"], ["XCLAIM", "{x}w", "g", "d", "0", "1-1"],
            ["XAUTOCLAIM", "{x}w", "g", "d", "0", "0"], ["XGROUP", "SETID", "{x}w", "g", "0"],
            ["XGROUP", "CREATECONSUMER", "{x}w", "g", "z"],
            ["XGROUP", "DELCONSUMER", "{x}w", "g", "c"], ["XGROUP", "DESTROY", "{x}w", "g"],
            ["XGROUP", "CREATE", "{x}w", "g2", "$"],
            ["XGROUP", "CREATE", "{x}new", "g", "$", "MKSTREAM"],
        ]
        for cmd in commands:
            got = []
            for port in (self.node.port, self.redis.port):
                c, other = Client(port), Client(port)
                try:
                    c.call("DEL", "{x}w", "{x}new")
                    c.call("XADD", "{x}w", "1-1", "f", "v")
                    c.call("XGROUP", "CREATE", "{x}w", "g", "0")
                    c.call("XREADGROUP", "GROUP", "g", "c", "STREAMS", "{x}w", ">")
                    c.call("WATCH", cmd[2] if cmd[0] == "XGROUP" else cmd[1])
                    other.call(*cmd)
                    c.call("MULTI")
                    c.call("PING")
                    got.append(c.call("EXEC"))
                finally:
                    c.close()
                    other.close()
            self.assertEqual(got[0], got[1], cmd)

    def mode(self):
        return f"threads {self.THREADS}" + (", cluster" if self.CLUSTER else "")


for _name, _threads, _cluster in DIFF_MODES:
    if _threads == 1 and not _cluster:
        continue
    globals()["StreamDiff_" + _name] = type("StreamDiff_" + _name, (StreamDiffTest,), {
        "THREADS": _threads, "CLUSTER": _cluster, "LENGTH": SHARDED_LENGTH})


if __name__ == "__main__":
    unittest.main(verbosity=2)
