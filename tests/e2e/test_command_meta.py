"""Differential test of COMMAND and its subcommands against redis-server 7.0.15.

For every command and subcommand that shardnode lists in COMMAND LIST, the
raw bytes of COMMAND INFO and COMMAND DOCS must be Redis's, in RESP2 and in
RESP3. Redis lists a container's subcommands in the order of a hash table
with a random seed, so those lists are compared entry by entry by name; a
subcommand that shardnode does not implement yet is reported, not failed
(the container's list holds what the node implements, as COMMAND COUNT does).
Also: COMMAND COUNT against COMMAND LIST, LIST FILTERBY ACLCAT / PATTERN /
MODULE, GETKEYS and GETKEYSANDFLAGS (movable keys included), HELP and the
error replies.
"""
import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import REDIS_SERVER, Node, RedisServer  # noqa: E402

# Subcommands beyond Redis 7.0.15, on purpose: atomic slot migration under
# Valkey 9.0's names (README "Moving slots atomically"). Listed by COMMAND,
# not compared.
BEYOND_REDIS = {"cluster|migrateslots", "cluster|getslotmigrations",
                "cluster|cancelslotmigrations", "cluster|syncslots"}


class Raw:
    """One connection that returns each reply as a parsed tree that keeps
    every node's raw bytes: (raw, kind, children) for aggregates, (raw, kind,
    None) for the rest."""

    def __init__(self, port, resp3=False):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
        if resp3:
            self.call("HELLO", "3")

    def close(self):
        self.sock.close()

    def _need(self, n):
        while len(self.buf) < n:
            data = self.sock.recv(1 << 16)
            if not data:
                raise ConnectionError("closed")
            self.buf += data

    def _parse(self, pos):
        while True:
            end = self.buf.find(b"\r\n", pos)
            if end >= 0:
                break
            self._need(len(self.buf) + 1)
        kind, rest = self.buf[pos:pos + 1], self.buf[pos + 1:end]
        nxt = end + 2
        if kind == b"$" or kind == b"=" or kind == b"!":
            n = int(rest)
            if n >= 0:
                self._need(nxt + n + 2)
                nxt += n + 2
            return (self.buf[pos:nxt], kind, None), nxt
        if kind in (b"*", b"~", b"%", b">", b"|"):
            n = int(rest)
            if n < 0:
                return (self.buf[pos:nxt], kind, None), nxt
            if kind in (b"%", b"|"):
                n *= 2
            children = []
            for _ in range(n):
                child, nxt = self._parse(nxt)
                children.append(child)
            return (self.buf[pos:nxt], kind, children), nxt
        return (self.buf[pos:nxt], kind, None), nxt

    def call(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        node, end = self._parse(0)
        self.buf = self.buf[end:]
        return node


def text(node):
    """The string of a bulk or simple string node."""
    raw, kind, _ = node
    if kind == b"$":
        return raw[raw.index(b"\r\n") + 2:-2].decode()
    return raw[1:-2].decode()


def header(node):
    return node[0][:node[0].index(b"\r\n")]


class CommandMetaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not REDIS_SERVER:
            raise unittest.SkipTest("redis-server not installed")
        cls.node = Node().start()
        cls.redis = RedisServer()

    @classmethod
    def tearDownClass(cls):
        cls.node.cleanup()
        cls.redis.cleanup()

    def clients(self, resp3):
        ours, theirs = Raw(self.node.port, resp3), Raw(self.redis.port, resp3)
        self.addCleanup(ours.close)
        self.addCleanup(theirs.close)
        return ours, theirs

    def our_list(self):
        c = Raw(self.node.port)
        try:
            return [text(n) for n in c.call("COMMAND", "LIST")[2]]
        finally:
            c.close()

    def compare_info(self, name, ours, theirs, missing):
        """ours/theirs: one COMMAND INFO entry (an array of 10)."""
        o, t = ours[2], theirs[2]
        self.assertEqual(header(ours), header(theirs), name)
        for i in range(9):
            self.assertEqual(o[i][0], t[i][0], f"COMMAND INFO {name}: field {i}")
        self.compare_subs(name, o[9], t[9], lambda e: text(e[2][0]), self.compare_info, missing)

    def compare_subs(self, name, ours, theirs, key, compare, missing, pairs=False):
        """Subcommand lists: the same entries by name, in any order."""
        if not theirs[2]:
            self.assertEqual(ours[0], theirs[0], f"{name}: subcommands")
            return
        if pairs:
            o = {text(k): v for k, v in zip(ours[2][0::2], ours[2][1::2])}
            t = {text(k): v for k, v in zip(theirs[2][0::2], theirs[2][1::2])}
        else:
            o = {key(e): e for e in ours[2]}
            t = {key(e): e for e in theirs[2]}
        self.assertTrue(o, f"{name}: no subcommands here, Redis has {sorted(t)}")
        for sub in BEYOND_REDIS & set(o):
            del o[sub]
        self.assertLessEqual(set(o), set(t), f"{name}: subcommands Redis does not have")
        for sub in sorted(set(t) - set(o)):
            missing.add(sub)
        for sub, entry in o.items():
            compare(sub, entry, t[sub], missing)

    def compare_docs(self, name, ours, theirs, missing):
        """ours/theirs: one COMMAND DOCS map."""
        self.assertEqual(header(ours), header(theirs), f"COMMAND DOCS {name}")
        o, t = ours[2], theirs[2]
        for i in range(0, len(t), 2):
            self.assertEqual(o[i][0], t[i][0], f"COMMAND DOCS {name}: field {i // 2}")
            if text(t[i]) == "subcommands":
                self.compare_subs(name, o[i + 1], t[i + 1], None, self.compare_docs, missing,
                                  pairs=True)
            else:
                self.assertEqual(o[i + 1][0], t[i + 1][0], f"COMMAND DOCS {name}: {text(t[i])}")

    def test_info_and_docs_match_redis(self):
        names = self.our_list()
        self.assertGreater(len(names), 150)
        for resp3 in (False, True):
            ours, theirs = self.clients(resp3)
            missing = set()
            for name in names:
                if name in BEYOND_REDIS:
                    continue
                with self.subTest(name=name, resp3=resp3):
                    o, t = ours.call("COMMAND", "INFO", name), theirs.call("COMMAND", "INFO", name)
                    self.assertEqual(header(o), header(t))
                    self.assertIsNotNone(t[2][0][2], f"Redis has no {name}")
                    self.compare_info(name, o[2][0], t[2][0], missing)
                    o, t = ours.call("COMMAND", "DOCS", name), theirs.call("COMMAND", "DOCS", name)
                    self.assertEqual(header(o), header(t))
                    self.assertEqual(o[2][0][0], t[2][0][0])
                    self.compare_docs(name, o[2][1], t[2][1], missing)
            if missing and not resp3:
                print(f"\nsubcommands not implemented yet ({len(missing)}): "
                      f"{' '.join(sorted(missing))}", file=sys.stderr)

    def test_table_agrees_with_redis_at_start(self):
        # The node logs each entry whose arity, flags or key positions
        # differ from Redis's (DisagreementsWithRedis), scripting and
        # replication commands included.
        self.assertNotIn("disagrees with Redis", self.node.output())

    def test_count_list_and_command_agree(self):
        ours, _ = self.clients(False)
        count = int(ours.call("COMMAND", "COUNT")[0][1:-2])
        names = self.our_list()
        top = [n for n in names if "|" not in n]
        self.assertEqual(count, len(top))
        every = ours.call("COMMAND")
        self.assertEqual(len(every[2]), count)
        self.assertEqual(ours.call("COMMAND", "INFO")[0], every[0])
        by_name = {text(e[2][0]): e[0] for e in every[2]}
        self.assertEqual(sorted(by_name), sorted(top))
        for name in top:
            one = ours.call("COMMAND", "INFO", name)
            self.assertEqual(one[2][0][0], by_name[name], name)
        docs = ours.call("COMMAND", "DOCS")
        self.assertEqual(header(docs), b"*%d" % (2 * count))

    def test_list_filters(self):
        ours_list = set(self.our_list())
        ours, theirs = self.clients(False)
        categories = ["keyspace", "read", "write", "set", "sortedset", "list", "hash", "string",
                      "bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow",
                      "blocking", "dangerous", "connection", "transaction", "scripting",
                      "SCRIPTING", "non_existing_category"]
        patterns = ["set", "get", "config*", "config|*re*", "cl*help", "non_exists*", "*",
                    "[a-c]*", "CLIENT|*", "*|help", "h?et"]
        for kind, args in (("aclcat", categories), ("pattern", patterns)):
            for arg in args:
                o = {text(n) for n in ours.call("COMMAND", "LIST", "FILTERBY", kind, arg)[2]}
                o -= BEYOND_REDIS
                t = {text(n) for n in theirs.call("COMMAND", "LIST", "FILTERBY", kind, arg)[2]}
                self.assertEqual(o, t & ours_list, f"FILTERBY {kind} {arg}")
        for args in (("FILTERBY", "MODULE", "x"), ("bad_arg",), ("filterby", "bad_arg"),
                     ("filterby", "bad_arg", "bad_arg2"), ("FILTERBY", "PATTERN", "a", "b")):
            self.assertEqual(ours.call("COMMAND", "LIST", *args)[0],
                             theirs.call("COMMAND", "LIST", *args)[0], args)

    def test_getkeys_and_flags(self):
        cases = [
            ("get", "key"), ("set", "k1", "v1"), ("set", "k", "v", "GET"), ("set", "k", "v", "EX"),
            ("mset", "k1", "v1", "k2", "v2"), ("LMOVE", "k1", "k2", "left", "right"),
            ("sort", "k1", "store", "k2"), ("sort", "k1", "by", "store", "limit", "0", "1"),
            ("sort_ro", "k1"), ("zunionstore", "t", "2", "a", "b", "weights", "1", "2"),
            ("zunionstore", "t", "x", "a"), ("zunionstore", "t", "0", "a"),
            ("zinter", "2", "a", "b"), ("sintercard", "2", "a", "b", "LIMIT", "1"),
            ("eval", "return 1", "1", "key"), ("eval", "return 1", "0"),
            ("evalsha", "abc", "2", "a", "b", "c"), ("fcall", "f", "1", "k"),
            ("lmpop", "2", "a", "b", "LEFT"), ("blmpop", "0", "2", "a", "b", "LEFT"),
            ("zmpop", "1", "a", "MIN"), ("bzmpop", "0", "1", "a", "MAX"),
            ("migrate", "h", "1", "", "0", "5", "KEYS", "a", "b"),
            ("migrate", "h", "1", "k", "0", "5"), ("bitfield", "k", "GET", "u8", "0"),
            ("bitfield", "k", "SET", "u8", "0", "1"), ("bitfield_ro", "k", "GET", "u8", "0"),
            ("xread", "COUNT", "1", "STREAMS", "a", "b", "0", "0"),
            ("xreadgroup", "GROUP", "g", "c", "STREAMS", "a", "0"),
            ("georadius", "k", "0", "0", "1", "km", "STORE", "d"),
            ("georadius", "k", "0", "0", "1", "km", "STOREDIST", "d"),
            ("memory", "usage", "key"), ("xgroup", "create", "key", "groupname", "$"),
            ("lcs", "key1", "key2"), ("object", "encoding", "k"), ("copy", "a", "b"),
            ("del", "a", "b", "c"), ("rename", "a", "b"), ("blpop", "a", "b", "0"),
            ("smove", "a", "b", "m"), ("pfcount", "a", "b"), ("pfmerge", "d", "a"),
            ("getex", "k", "PERSIST"), ("ping",), ("get",), ("get", "a", "b"), ("nosuchcmd", "a"),
            ("config", "get", "x"), ("client", "nosuch", "x"), ("publish", "ch", "m"),
            ("subscribe", "ch"), ("zadd", "k", "1", "m"), ("hset", "h", "f", "v"),
            ("restore", "k", "0", "x"), ("touch", "a", "b"), ("watch", "a", "b"),
            ("xadd", "s", "*", "f", "v"), ("setrange", "k", "0", "v"), ("getdel", "k"),
            ("lpos", "k", "v"), ("spublish", "ch", "m"), ("ssubscribe", "a", "b")]
        ours, theirs = self.clients(False)
        ours3, theirs3 = self.clients(True)
        checked = 0
        for case in cases:
            cmd = case[0].split("|")[0]
            if ours.call("COMMAND", "INFO", cmd)[2][0][2] is None and cmd != "nosuchcmd":
                continue  # not implemented here (yet)
            checked += 1
            for sub in ("GETKEYS", "GETKEYSANDFLAGS"):
                for o, t in ((ours, theirs), (ours3, theirs3)):
                    self.assertEqual(o.call("COMMAND", sub, *case)[0],
                                     t.call("COMMAND", sub, *case)[0], (sub, case))
        self.assertGreater(checked, 30)
        # More than 256 keys (Redis grows its key buffer there).
        keys = ["key%d" % i for i in range(300)]
        args = ("COMMAND", "GETKEYS", "ZUNIONSTORE", "target", str(len(keys)), *keys)
        self.assertEqual(ours.call(*args)[0], theirs.call(*args)[0])

    def test_help_and_unknown_names(self):
        for resp3 in (False, True):
            ours, theirs = self.clients(resp3)
            for args in (("HELP",), ("INFO", "get|key"), ("INFO", "config|get|key"),
                         ("INFO", "nosuch", "get"), ("DOCS", "nosuch"), ("DOCS", "nosuch", "get"),
                         ("GETKEYS",), ("COUNT", "x"), ("nosuchsub",)):
                self.assertEqual(ours.call("COMMAND", *args)[0], theirs.call("COMMAND", *args)[0],
                                 (resp3, args))


if __name__ == "__main__":
    unittest.main()
