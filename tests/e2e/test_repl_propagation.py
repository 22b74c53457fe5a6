"""What a primary propagates to its replicas, compared with redis-server
7.0.15: the same command cases run on a shardnode and on a redis-server, each
read through a replication link (PSYNC ? -1, the RDB skipped, then the
command stream), and the streams compared case by case. Covers the rewrites
Redis 7.0 applies (relative expiries to absolute PXAT / PEXPIREAT, expiries in
the past to DEL, GETEX, GETDEL, GETSET, INCRBYFLOAT, HINCRBYFLOAT, RESTORE
ABSTTL, SPOP, blocking pops), MULTI/EXEC wrapping (only around more than one
write), commands that change nothing (not propagated) and the DELs of keys
found expired (the comparison is skipped only when redis-server is missing).
Also: a replica hides expired keys but waits for its primary's DEL."""
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import REDIS_SERVER, Client, Node, RedisServer, wait_until  # noqa: E402

FUTURE_S = 4102444800  # 2100-01-01, an absolute time that stays in the future
SLEEP = "sleep"

# Each case: commands (tuples) and pauses ((SLEEP, ms)). "$PAYLOAD" stands for
# a DUMP of the string "hello" made on the server under test.
CASES = {
    "set ex": [("SET", "s1", "v", "EX", "100")],
    "set px nx get": [("SET", "s2", "v", "PX", "100000", "NX", "GET")],
    "set nx existing": [("SET", "s3", "a"), ("SET", "s3", "b", "NX"), ("SETNX", "s3", "c")],
    "set xx missing": [("SET", "nokey", "b", "XX", "EX", "100")],
    "set exat pxat": [("SET", "s4", "v", "EXAT", str(FUTURE_S)),
                      ("SET", "s5", "v", "PXAT", str(FUTURE_S * 1000))],
    "set keepttl": [("SET", "s6", "v", "EX", "100"), ("SET", "s6", "w", "KEEPTTL")],
    "setex psetex": [("SETEX", "s7", "100", "v"), ("PSETEX", "s8", "100000", "v")],
    "expire family": [("SET", "e1", "v"), ("EXPIRE", "e1", "100"), ("PEXPIRE", "e1", "200000"),
                      ("EXPIREAT", "e1", str(FUTURE_S)),
                      ("PEXPIREAT", "e1", str(FUTURE_S * 1000))],
    "expire options": [("SET", "e2", "v"), ("EXPIRE", "e2", "100", "NX"),
                       ("EXPIRE", "e2", "300", "NX"), ("EXPIRE", "e2", "300", "GT"),
                       ("EXPIRE", "e2", "500", "LT"), ("PEXPIRE", "e2", "100000", "XX")],
    "expire in the past": [("SET", "e3", "v"), ("EXPIRE", "e3", "-1"), ("SET", "e4", "v"),
                           ("PEXPIREAT", "e4", "1000"), ("EXPIRE", "missing", "100")],
    "persist": [("SET", "p1", "v", "EX", "100"), ("PERSIST", "p1"), ("PERSIST", "p1")],
    "getex": [("SET", "g1", "v"), ("GETEX", "g1"), ("GETEX", "g1", "EX", "100"),
              ("GETEX", "g1", "PXAT", str(FUTURE_S * 1000)), ("GETEX", "g1", "PERSIST"),
              ("GETEX", "g1", "PERSIST"), ("GETEX", "g1", "EXAT", "1"),
              ("GETEX", "g1", "EX", "100")],
    "getdel getset": [("SET", "d1", "v"), ("GETDEL", "d1"), ("GETDEL", "d1"),
                      ("GETSET", "d2", "x"), ("GETSET", "d2", "y")],
    "incrbyfloat": [("INCRBYFLOAT", "f1", "1.5"), ("INCRBYFLOAT", "f1", "0.1"),
                    ("SET", "f2", "10", "EX", "100"), ("INCRBYFLOAT", "f2", "5.0e3"),
                    ("HINCRBYFLOAT", "h1", "x", "2.5"), ("HINCRBYFLOAT", "h1", "x", "-0.5")],
    "restore": [("RESTORE", "r1", "100000", "$PAYLOAD"), ("RESTORE", "r2", "0", "$PAYLOAD"),
                ("RESTORE", "r3", str(FUTURE_S * 1000), "$PAYLOAD", "ABSTTL"),
                ("RESTORE", "r4", "1", "$PAYLOAD", "ABSTTL"),
                ("RESTORE", "r1", "1", "$PAYLOAD", "ABSTTL", "REPLACE")],
    "no change": [("DEL", "missing"), ("SREM", "missing", "a"), ("HDEL", "missing", "f"),
                  ("SADD", "n1", "a"), ("SADD", "n1", "a"), ("SREM", "n1", "b"),
                  ("ZADD", "n2", "1", "a"), ("ZADD", "n2", "NX", "2", "a"), ("LPOP", "missing"),
                  ("MSETNX", "n3", "1", "s3", "2"), ("LREM", "missing", "0", "a"),
                  ("INCRBY", "n4", "0"), ("APPEND", "n5", "")],
    "multi two writes": [("MULTI",), ("SET", "m1", "1"), ("SET", "m2", "2"), ("EXEC",)],
    "multi one write": [("MULTI",), ("SET", "m3", "1"), ("GET", "m3"), ("EXEC",)],
    "multi no write": [("MULTI",), ("GET", "m3"), ("EXEC",)],
    "multi rewrites": [("MULTI",), ("SET", "m4", "1", "EX", "100"), ("INCRBYFLOAT", "m5", "1"),
                       ("EXPIRE", "m4", "-1"), ("EXEC",)],
    "multi discarded": [("MULTI",), ("SET", "m6", "1"), ("DISCARD",)],
    "lazy expiry on read": [("SET", "x1", "v", "PX", "1"), (SLEEP, 30), ("GET", "x1")],
    "lazy expiry on write": [("SET", "x2", "v", "PX", "1"), (SLEEP, 30), ("SET", "x2", "w")],
    "lazy expiry in exists": [("SET", "x3", "v", "PX", "1"), ("SET", "x4", "v", "PX", "1"),
                              (SLEEP, 30), ("EXISTS", "x3", "x4")],
    "spop": [("SADD", "sp", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j"), ("SPOP", "sp"),
             ("SPOP", "sp", "3"), ("SPOP", "sp", "5"), ("SPOP", "sp", "10")],
    "blocking pops served at once": [("RPUSH", "l1", "a", "b", "c"), ("BLPOP", "l1", "0"),
                                     ("BRPOP", "l1", "0"), ("BLMOVE", "l1", "l2", "LEFT",
                                                            "RIGHT", "0"),
                                     ("BRPOPLPUSH", "l2", "l3", "0"), ("LMPOP", "1", "l3",
                                                                       "LEFT", "COUNT", "5"),
                                     ("ZADD", "z1", "1", "a", "2", "b", "3", "c"),
                                     ("BZPOPMIN", "z1", "0"), ("BZPOPMAX", "z1", "0"),
                                     ("ZMPOP", "1", "z1", "MIN", "COUNT", "2")],
    "select": [("SELECT", "2"), ("SET", "db2", "v"), ("SELECT", "0"), ("SET", "db0", "v")],
    "lists": [("RPUSH", "q1", "a", "b", "c"), ("LSET", "q1", "0", "z"),
              ("LINSERT", "q1", "BEFORE", "b", "y"), ("LINSERT", "q1", "BEFORE", "nope", "y"),
              ("LTRIM", "q1", "0", "-1"), ("LTRIM", "q1", "1", "2"), ("LREM", "q1", "0", "b"),
              ("RPOPLPUSH", "missing", "q2"), ("LMOVE", "q1", "q1", "LEFT", "RIGHT"),
              ("LPUSHX", "missing", "a"), ("RPUSHX", "q1", "x"), ("LPOP", "q1", "0"),
              ("RPOP", "q1", "10")],
    "hashes": [("HSET", "hh", "a", "1", "b", "2"), ("HSETNX", "hh", "a", "3"),
               ("HSETNX", "hh", "c", "3"), ("HINCRBY", "hh", "a", "5"), ("HDEL", "hh", "x"),
               ("HDEL", "hh", "a", "b", "c"), ("HMSET", "hh", "f", "v")],
    "sets": [("SADD", "ss", "a", "b", "c"), ("SMOVE", "ss", "st", "a"), ("SMOVE", "ss", "st", "x"),
             ("SINTERSTORE", "su", "ss", "st"), ("SINTERSTORE", "su", "ss", "missing"),
             ("SUNIONSTORE", "sv", "ss", "st"), ("SDIFFSTORE", "sw", "missing", "ss"),
             ("SREM", "ss", "b", "c")],
    "sorted sets": [("ZADD", "zz", "1", "a", "2", "b"), ("ZADD", "zz", "GT", "0", "a"),
                    ("ZADD", "zz", "LT", "CH", "0", "a"), ("ZADD", "zz", "INCR", "5", "b"),
                    ("ZADD", "zz", "XX", "1", "nope"), ("ZINCRBY", "zz", "1.5", "a"),
                    ("ZREM", "zz", "nope"), ("ZREMRANGEBYSCORE", "zz", "100", "200"),
                    ("ZREMRANGEBYRANK", "zz", "0", "0"), ("ZREMRANGEBYLEX", "zz", "-", "+"),
                    ("ZUNIONSTORE", "zu", "1", "missing"), ("ZADD", "zy", "1", "a"),
                    ("ZRANGESTORE", "zx", "zy", "0", "-1"), ("ZPOPMIN", "missing")],
    # GEOADD goes out as the ZADD it becomes; the STORE forms, SORT STORE,
    # COPY and SWAPDB as they are (not when they change nothing).
    "geo sort copy": [("GEOADD", "geo", "13.361389", "38.115556", "Palermo", "15.087269",
                       "37.502669", "Catania"),
                      ("GEOADD", "geo", "NX", "CH", "13.361389", "38.115556", "Palermo"),
                      ("GEOADD", "geo", "XX", "CH", "13.4", "38.1", "Palermo"),
                      ("GEOSEARCHSTORE", "gs", "geo", "FROMLONLAT", "15", "37", "BYRADIUS",
                       "200", "km", "STOREDIST"),
                      ("GEORADIUS", "geo", "15", "37", "200", "km", "STORE", "gr"),
                      ("GEORADIUS", "nogeo", "15", "37", "200", "km", "STORE", "gr2"),
                      ("RPUSH", "sl", "3", "1", "2"), ("SORT", "sl", "STORE", "sd"),
                      ("SORT", "missing", "STORE", "sd2"), ("COPY", "sl", "sc"),
                      ("COPY", "sl", "sc"), ("COPY", "sl", "sc", "DB", "1", "REPLACE"),
                      ("SWAPDB", "0", "1"), ("SWAPDB", "0", "1")],
    "keys": [("SET", "k1", "v"), ("RENAMENX", "k1", "k2"), ("SET", "k3", "v"),
             ("RENAMENX", "k2", "k3"), ("MOVE", "k2", "1"), ("MOVE", "missing", "1"),
             ("SETRANGE", "k3", "1", "abc"), ("SETRANGE", "missing", "0", ""),
             ("MSETNX", "k4", "1", "k5", "2"), ("DECRBY", "k4", "3"), ("PSETEX", "k6", "1", "v"),
             (SLEEP, 30), ("EXPIRE", "k6", "100"), ("PERSIST", "k6"), ("FLUSHDB",),
             ("FLUSHALL",)],
    "blocked then served": [("BLOCK", "BLPOP", "bq", "0"), ("LPUSH", "bq", "a", "b"),
                            ("UNBLOCK",), ("BLOCK", "BLMOVE", "bq2", "bq3", "LEFT", "LEFT", "0"),
                            ("RPUSH", "bq2", "x"), ("UNBLOCK",),
                            ("BLOCK", "BZPOPMAX", "bz", "0"), ("MULTI",),
                            ("ZADD", "bz", "1", "a", "2", "b"), ("SET", "after", "1"), ("EXEC",),
                            ("UNBLOCK",)],
    # MIGRATE (to another redis-server, "$TARGET") propagates as DEL of the
    # keys it moved; with COPY, nothing; inside MULTI, the DEL inside it.
    "migrate": [("SET", "mg1", "v"), ("SET", "mg2", "v"),
                ("MIGRATE", "127.0.0.1", "$TARGET", "mg1", "0", "5000", "REPLACE"),
                ("MIGRATE", "127.0.0.1", "$TARGET", "mg2", "0", "5000", "COPY", "REPLACE"),
                ("MIGRATE", "127.0.0.1", "$TARGET", "nokey", "0", "5000")],
    "multi migrate": [("SET", "mg3", "v"), ("SET", "mg4", "v"), ("MULTI",), ("SET", "mg5", "1"),
                      ("MIGRATE", "127.0.0.1", "$TARGET", "", "0", "5000", "REPLACE", "KEYS",
                       "mg3", "mg4"), ("GET", "mg3"), ("EXEC",)],
    "multi migrate only": [("SET", "mg6", "v"), ("MULTI",),
                           ("MIGRATE", "127.0.0.1", "$TARGET", "mg6", "0", "5000", "REPLACE"),
                           ("EXEC",)],
    "scripts": [("EVAL", "return redis.call('set','sc1','v')", "0"),
                ("EVAL", "redis.call('set','sc2','v') redis.call('expire','sc2',100) "
                 "redis.call('incrbyfloat','sc3','1.5') return 1", "0"),
                ("EVAL", "return redis.call('get','sc1')", "0"),
                ("EVAL", "redis.call('set','sc4','v') error('x')", "0"),
                ("EVAL", "redis.set_repl(redis.REPL_NONE) redis.call('set','sc5','v') "
                 "redis.set_repl(redis.REPL_ALL) redis.call('set','sc6','v')", "0"),
                # Replicas get sa1, sa3, sa4 (sa2 goes to the AOF only).
                ("EVAL", "redis.call('set','sa1','1') redis.set_repl(redis.REPL_AOF) "
                 "redis.call('set','sa2','2') redis.set_repl(redis.REPL_REPLICA) "
                 "redis.call('set','sa3','3') redis.set_repl(redis.REPL_ALL) "
                 "redis.call('set','sa4','4')", "0"),
                ("EVAL", "#!lua flags=no-writes\nreturn redis.call('get','sc1')", "0"),
                ("MULTI",), ("EVAL", "return redis.call('set','sc7','v')", "0"),
                ("SET", "sc8", "v"), ("EXEC",),
                ("FUNCTION", "LOAD", "#!lua name=plib\nredis.register_function('pf', "
                 "function(k) redis.call('set', k[1], 'v') return redis.call('del', k[1]) end)"),
                ("FCALL", "pf", "1", "sc9"), ("FUNCTION", "DELETE", "plib")],
    "plain writes": [("MSET", "w1", "1", "w2", "2"), ("INCR", "w1"), ("APPEND", "w2", "x"),
                     ("HSET", "w3", "f", "v"), ("HSET", "w3", "f", "v"), ("LPUSH", "w4", "a"),
                     ("ZINCRBY", "w5", "2", "m"), ("RENAME", "w1", "w6"),
                     ("DEL", "w6", "w7", "missing"), ("UNLINK", "w2")],
    # Streams: XADD with its generated id and "~" made exact; consumer group
    # effects as XCLAIM ... FORCE JUSTID LASTID, XGROUP SETID / CREATECONSUMER.
    "streams": [("XADD", "xs", "1-1", "f", "v"), ("XADD", "xs", "2-*", "f", "v"),
                ("XADD", "xs", "MAXLEN", "~", "1", "3", "f", "v"),
                ("XTRIM", "xs", "MAXLEN", "~", "0"), ("XADD", "xs", "MINID", "=", "2", "4-*", "f", "v"),
                ("XADD", "xs", "MINID", "~", "4", "LIMIT", "5", "5-1", "f", "v"),
                ("XDEL", "xs", "4-0", "9-9"), ("XSETID", "xs", "10-0"),
                ("XADD", "xt", "NOMKSTREAM", "1-1", "f", "v"), ("XTRIM", "xs", "MAXLEN", "5"),
                ("XADD", "xs", "MAXLEN", "~", "1", "11-*", "f", "v"),
                ("XADD", "xs", "11-*", "a-field-name-longer-than-sixteen-bytes", "v")],
    "stream groups": [("XADD", "xg", "1-1", "f", "v"), ("XADD", "xg", "2-1", "f", "v"),
                      ("XADD", "xg", "3-1", "f", "v"), ("XGROUP", "CREATE", "xg", "g", "0"),
                      ("XGROUP", "CREATE", "xh", "g", "$", "MKSTREAM"),
                      ("XREADGROUP", "GROUP", "g", "c", "COUNT", "2", "STREAMS", "xg", ">"),
                      ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "xg", "0"),
                      ("XREADGROUP", "GROUP", "g", "n", "NOACK", "STREAMS", "xg", ">"),
                      ("XREADGROUP", "GROUP", "g", "n", "STREAMS", "xg", ">"),
                      ("XCLAIM", "xg", "g", "d", "0", "1-1"),
                      ("XCLAIM", "xg", "g", "d", "0", "9-9", "LASTID", "5-0"),
                      ("XCLAIM", "xg", "g", "d", "0", "3-1", "FORCE", "RETRYCOUNT", "7"),
                      ("XACK", "xg", "g", "1-1", "7-7"), ("XACK", "xg", "g", "1-1"),
                      ("XDEL", "xg", "2-1"), ("XAUTOCLAIM", "xg", "g", "e", "0", "0"),
                      ("XGROUP", "SETID", "xg", "g", "$"),
                      ("XGROUP", "CREATECONSUMER", "xg", "g", "z"),
                      ("XGROUP", "CREATECONSUMER", "xg", "g", "z"),
                      ("XGROUP", "DELCONSUMER", "xg", "g", "z"), ("XGROUP", "DESTROY", "xg", "g"),
                      ("XGROUP", "DESTROY", "xg", "g")],
    "stream blocked then served": [("XGROUP", "CREATE", "xb", "g", "$", "MKSTREAM"),
                                   ("BLOCK", "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0",
                                    "STREAMS", "xb", ">"),
                                   ("XADD", "xb", "1-1", "f", "v"), ("UNBLOCK",),
                                   ("BLOCK", "XREAD", "BLOCK", "0", "STREAMS", "xb", "$"),
                                   ("XADD", "xb", "2-1", "f", "v"), ("UNBLOCK",)],
}


class ReplicaStream:
    """A fake replica: PSYNC ? -1, skips the RDB, then reads the commands."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
        self.sock.sendall(b"*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n")
        line = self._line_skipping_newlines()
        assert line.startswith(b"+FULLRESYNC"), line
        line = self._line_skipping_newlines()
        assert line.startswith(b"$"), line
        self._take(int(line[1:]))

    def close(self):
        self.sock.close()

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("primary closed the link")
        self.buf += data

    def _line_skipping_newlines(self):
        while True:
            while b"\n" not in self.buf:
                self._fill()
            line, self.buf = self.buf.split(b"\n", 1)
            line = line.rstrip(b"\r")
            if line:
                return line

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def command(self):
        line = self._line_skipping_newlines()
        assert line.startswith(b"*"), line
        args = []
        for _ in range(int(line[1:])):
            head = self._line_skipping_newlines()
            assert head.startswith(b"$"), head
            args.append(self._take(int(head[1:]) + 2)[:-2].decode(errors="replace"))
        return args


def normalize(args, start_ms):
    """Makes a case's stream comparable across servers and runs: absolute
    times near now become their distance from the case start, in tens of
    seconds; members SPOP picked at random become '<m>'."""
    out = []
    now = int(time.time() * 1000)
    for a in args:
        if a.isdigit() and abs(int(a) - now) < 86400 * 1000:
            a = "now%+d0s" % round((int(a) - start_ms) / 10000)
        out.append(a)
    if out[:2] == ["SREM", "sp"]:
        out = out[:2] + ["<m>"] * (len(out) - 2)
    return out


def record(port, target_port):
    """Runs every case on the server at `port` (MIGRATE to `target_port`);
    returns {case: [commands]}."""
    stream = ReplicaStream(port)
    client = Client(port)
    marker = Client(port)
    blocker = Client(port)
    try:
        assert client.call("DEBUG", "SET-ACTIVE-EXPIRE", "0") == "OK"
        client.call("SET", "payload-src", "hello")
        payload = client.call("DUMP", "payload-src")
        client.call("DEL", "payload-src")
        streams = {}
        # Everything up to the first marker is setup.
        marker.call("SET", "__mark__", "setup")
        while stream.command() != ["SET", "__mark__", "setup"]:
            pass
        for name, steps in CASES.items():
            start = int(time.time() * 1000)
            for step in steps:
                if step[0] == SLEEP:
                    time.sleep(step[1] / 1000)
                    continue
                if step[0] == "BLOCK":  # another client blocks; UNBLOCK reads its reply
                    blocker.send(*step[1:])
                    wait_until(lambda: "cmd=" + step[1].lower() + " " in marker.call(
                        "CLIENT", "LIST").decode() and "flags=b" in marker.call(
                        "CLIENT", "LIST").decode(), timeout=5, what="client blocked")
                    continue
                if step[0] == "UNBLOCK":
                    blocker.read()
                    continue
                subst = {"$PAYLOAD": payload, "$TARGET": str(target_port)}
                client.call(*[subst.get(a, a) if isinstance(a, str) else a for a in step])
            marker.call("SET", "__mark__", name)
            got = []
            while True:
                cmd = stream.command()
                if cmd == ["SET", "__mark__", name]:
                    break
                if cmd[0].upper() != "PING":
                    got.append(normalize(cmd, start))
            # The marker's client works in db 0: drop the SELECT it causes.
            if got and got[-1] == ["SELECT", "0"]:
                got.pop()
            streams[name] = got
        return streams
    finally:
        stream.close()
        client.close()
        marker.close()
        blocker.close()


@unittest.skipIf(REDIS_SERVER is None, "redis-server not installed")
class PropagationDiffTest(unittest.TestCase):
    def test_streams_match_redis(self):
        redis = RedisServer()
        self.addCleanup(redis.cleanup)
        node = Node().start()
        self.addCleanup(node.cleanup)
        target = RedisServer()
        self.addCleanup(target.cleanup)
        want = record(redis.port, target.port)
        got = record(node.port, target.port)
        mismatches = [(name, want[name], got[name]) for name in CASES if want[name] != got[name]]
        report = "\n".join(f"{name}:\n  redis:     {w}\n  shardnode: {g}"
                           for name, w, g in mismatches)
        self.assertEqual(mismatches, [], "streams differ from redis-server:\n" + report)
        # The cases exercise what they claim (the comparison is not vacuous).
        self.assertEqual(got["multi two writes"],
                         [["MULTI"], ["SET", "m1", "1"], ["SET", "m2", "2"], ["EXEC"]])
        self.assertEqual(got["set ex"], [["SET", "s1", "v", "PXAT", "now+10" + "0s"]])
        self.assertEqual(got["no change"][:2], [["SADD", "n1", "a"], ["ZADD", "n2", "1", "a"]])
        self.assertEqual(got["multi migrate"][-2:], [["DEL", "mg3", "mg4"], ["EXEC"]])
        self.assertEqual(got["geo sort copy"][0][:3], ["zadd", "geo", "3479099956230698"])


@unittest.skipIf(REDIS_SERVER is None, "redis-server not installed")
class ScriptReplTargetsTest(unittest.TestCase):
    """redis.set_repl: REPL_AOF writes reach the AOF and not replicas (the
    stream comparison above covers replicas), REPL_NONE neither: after DEBUG
    LOADAOF only the AOF's keys are back, as on redis-server."""

    def test_aof_gets_what_set_repl_sends_it(self):
        script = ("redis.call('set','a','1') redis.set_repl(redis.REPL_NONE) "
                  "redis.call('set','b','2') redis.set_repl(redis.REPL_AOF) "
                  "redis.call('set','c','3') redis.set_repl(redis.REPL_REPLICA) "
                  "redis.call('set','d','4') redis.set_repl(redis.REPL_ALL) "
                  "redis.call('set','e','5')")
        results = []
        for server in (RedisServer(args=["--appendonly", "yes"]),
                       Node(args=["--appendonly", "yes"]).start()):
            self.addCleanup(server.cleanup)
            c = Client(server.port)
            self.addCleanup(c.close)
            c.call("EVAL", script, "0")
            before = c.call("MGET", "a", "b", "c", "d", "e")
            self.assertEqual(c.call("DEBUG", "LOADAOF"), "OK")
            results.append((before, c.call("MGET", "a", "b", "c", "d", "e")))
        self.assertEqual(results[1], results[0])
        self.assertEqual(results[1][1], [b"1", None, b"3", None, b"5"])


class ReplicaExpiryTest(unittest.TestCase):
    """A replica answers reads of keys whose TTL passed as missing but keeps
    them (its own active expiry does not run either) until its primary's DEL,
    as Redis does."""

    def test_replica_waits_for_the_primary_del(self):
        primary = Node().start()
        self.addCleanup(primary.cleanup)
        replica = Node().start()
        self.addCleanup(replica.cleanup)
        self.assertEqual(primary.cli("DEBUG", "SET-ACTIVE-EXPIRE", "0"), "OK")
        self.assertEqual(replica.cli("REPLICAOF", "127.0.0.1", primary.port), "OK")
        primary.cli("SET", "k", "v", "PX", "300")
        primary.cli("SET", "keep", "v")
        wait_until(lambda: replica.cli("GET", "keep") == "v", timeout=10, what="replica synced")
        wait_until(lambda: replica.cli("GET", "k") == "", timeout=5, what="k expired")
        self.assertEqual(replica.cli("EXISTS", "k"), "0")
        self.assertEqual(replica.cli("TTL", "k"), "-2")
        time.sleep(0.3)  # a few cron cycles
        self.assertEqual(replica.cli("DBSIZE"), "2")
        # The primary's lazy expiry sends the DEL; only then is k gone.
        self.assertEqual(primary.cli("GET", "k"), "")
        wait_until(lambda: replica.cli("DBSIZE") == "1", timeout=5, what="the primary's DEL")


if __name__ == "__main__":
    unittest.main()
