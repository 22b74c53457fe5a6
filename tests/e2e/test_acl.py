"""ACL users against redis-server 7.0.15: the same sequence of commands (ACL
SETUSER variants, GETUSER, LIST, USERS, CAT, DRYRUN, DELUSER, AUTH and HELLO
AUTH, NOPERM refusals at top level, in MULTI/EXEC and inside scripts, ACL
LOG) is sent to shardnode and to redis-server, and the replies are compared
one by one. What Redis itself leaves to chance or the clock is normalized:
ACL LOG's age-seconds and the client-info fields that name the connection
(id, addr, laddr, fd, age, idle...), the order of single-command rules after
the categories in a rules text (Redis walks a hash table), and the order of
ACL CAT's commands.

The security test: a restricted user tries a command of every ACL category,
keys and channels outside its rights, and gets NOPERM for each, with the
dataset unchanged (DEBUG DIGEST, key by key).

    python3 tests/e2e/test_acl.py
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import REDIS_SERVER, Client, Error, Node, start_diff_pair  # noqa: E402

KEEP_CINFO = ("name", "db", "multi", "user", "cmd", "resp", "flags", "sub", "psub")


def norm_rules(text):
    """A rules text with its single-command rules (after the categories)
    sorted, since Redis emits them in hash-table order."""
    if "@all" not in text:
        return text
    out, head, singles = [], [], []
    for part in text.split(" ("):
        toks = part.rstrip(")").split(" ")
        head, singles = [], []
        for t in toks:
            if t[:1] in "+-" and "@" not in t:
                singles.append(t)
            else:
                head.append(t)
        out.append(" ".join(head + sorted(singles)))
    return " (".join(out)


def norm(reply, ctx):
    if isinstance(reply, bytes):
        s = reply.decode("latin-1")
        return norm_rules(s)
    if isinstance(reply, Error):
        return Error(reply)
    if isinstance(reply, list):
        if ctx == "log":
            return [norm_log_entry(e) for e in reply]
        if ctx == "cat":
            return sorted(norm(x, None) for x in reply)
        return [norm(x, None) for x in reply]
    return reply


def norm_log_entry(entry):
    d = {}
    for k, v in zip(entry[::2], entry[1::2]):
        k = k.decode()
        if k == "age-seconds":
            continue
        if k == "client-info":
            fields = dict(f.split("=", 1) for f in v.decode().split(" ") if "=" in f)
            v = " ".join(f"{f}={fields.get(f)}" for f in KEEP_CINFO)
        elif isinstance(v, bytes):
            v = v.decode()
        d[k] = v
    return d


# (client, command..., context): the clients are "admin" (the default user)
# and "u1", "u2" (connections that authenticate as ACL users).
SCRIPT = [
    ("admin", "ACL", "WHOAMI"),
    ("admin", "ACL", "USERS"),
    ("admin", "ACL", "SETUSER", "alice"),
    ("admin", "ACL", "GETUSER", "alice"),
    ("admin", "ACL", "LIST"),
    ("admin", "ACL", "SETUSER", "alice", "on", ">p1", ">p2", "~cached:*", "+get", "+set",
     "+@hash"),
    ("admin", "ACL", "GETUSER", "alice"),
    ("admin", "ACL", "SETUSER", "alice", "<p2", "#" + "a" * 64),
    ("admin", "ACL", "GETUSER", "alice"),
    ("admin", "ACL", "SETUSER", "alice", "!" + "a" * 64, "%R~r:*", "%W~w:*", "&news.*"),
    ("admin", "ACL", "LIST"),
    ("admin", "ACL", "SETUSER", "alice", "<nope"),
    ("admin", "ACL", "SETUSER", "alice", "#xyz"),
    ("admin", "ACL", "SETUSER", "alice", "+nosuchcommand"),
    ("admin", "ACL", "SETUSER", "alice", "+@nosuchcat"),
    ("admin", "ACL", "SETUSER", "alice", "+config|get|x"),
    ("admin", "ACL", "SETUSER", "alice", "badrule"),
    ("admin", "ACL", "SETUSER", "alice", "(+get", "~x"),
    ("admin", "ACL", "SETUSER", "bad user"),
    ("admin", "ACL", "SETUSER", "bob", "on", "nopass", "allkeys", "~x"),
    ("admin", "ACL", "SETUSER", "bob", "on", "nopass", "allchannels", "&x"),
    ("admin", "ACL", "SETUSER", "bob", "on", "nopass", "+@all", "-@dangerous", "allkeys",
     "resetchannels", "&chan"),
    ("admin", "ACL", "SETUSER", "bob", "(+get ~sel:*)", "(", "+set", "%W~w2:*", ")"),
    ("admin", "ACL", "GETUSER", "bob"),
    ("admin", "ACL", "LIST"),
    ("admin", "ACL", "SETUSER", "carol", "on", ">pw", "+@read", "-@admin", "+select|0",
     "+config|get", "~*", "resetchannels"),
    ("admin", "ACL", "GETUSER", "carol"),
    ("admin", "ACL", "SETUSER", "dave", "on", "nopass", "allcommands", "-debug", "-flushall",
     "allkeys", "allchannels"),
    ("admin", "ACL", "GETUSER", "dave"),
    ("admin", "ACL", "SETUSER", "dave", "reset"),
    ("admin", "ACL", "GETUSER", "dave"),
    ("admin", "ACL", "SETUSER", "dave", "on", "nopass", "+@all", "~*", "clearselectors"),
    ("admin", "ACL", "USERS"),
    ("admin", "ACL", "CAT"),
    ("admin", "ACL", "CAT", "geo", "cat"),
    ("admin", "ACL", "CAT", "hyperloglog", "cat"),
    ("admin", "ACL", "CAT", "nosuch"),
    ("admin", "ACL", "DRYRUN", "alice", "get", "cached:1"),
    ("admin", "ACL", "DRYRUN", "alice", "get", "other"),
    ("admin", "ACL", "DRYRUN", "alice", "set", "r:1", "v"),
    ("admin", "ACL", "DRYRUN", "alice", "set", "w:1", "v"),
    ("admin", "ACL", "DRYRUN", "alice", "get", "r:1"),
    ("admin", "ACL", "DRYRUN", "alice", "del", "x"),
    ("admin", "ACL", "DRYRUN", "alice", "publish", "news.x", "m"),
    ("admin", "ACL", "DRYRUN", "alice", "publish", "other", "m"),
    ("admin", "ACL", "DRYRUN", "alice", "get"),
    ("admin", "ACL", "DRYRUN", "alice", "nosuchcmd", "x"),
    ("admin", "ACL", "DRYRUN", "nobody", "get", "x"),
    ("admin", "ACL", "DRYRUN", "carol", "select", "0"),
    ("admin", "ACL", "DRYRUN", "carol", "select", "1"),
    ("admin", "ACL", "DRYRUN", "carol", "config", "get", "maxmemory"),
    ("admin", "ACL", "DRYRUN", "carol", "config", "set", "maxmemory", "1"),
    ("admin", "ACL", "DRYRUN", "bob", "get", "sel:1"),
    ("admin", "ACL", "DRYRUN", "bob", "set", "w2:1", "x"),
    ("admin", "ACL", "DRYRUN", "bob", "set", "sel:1", "x"),
    ("admin", "ACL", "GENPASS", "0"),
    ("admin", "ACL", "GENPASS", "5000"),
    ("admin", "ACL", "GENPASS", "x"),
    ("admin", "ACL", "LOG", "RESET"),
    # u1 authenticates as alice.
    ("u1", "AUTH", "alice", "wrong"),
    ("u1", "AUTH", "nosuchuser", "x"),
    ("u1", "AUTH", "alice", "p1"),
    ("u1", "ACL", "WHOAMI"),
    ("u1", "GET", "cached:1"),
    ("u1", "SET", "cached:1", "v"),
    ("u1", "GET", "cached:1"),
    ("u1", "GET", "other"),
    ("u1", "SET", "other", "v"),
    ("u1", "DEL", "cached:1"),
    ("u1", "HSET", "cached:h", "f", "v"),
    ("u1", "HSET", "secret:h", "f", "v"),
    ("u1", "SET", "w:1", "v"),
    ("u1", "GET", "w:1"),
    ("u1", "SET", "r:1", "v"),
    ("u1", "CONFIG", "GET", "maxmemory"),
    ("u1", "MULTI"),
    ("u1", "SET", "cached:2", "v"),
    ("u1", "SET", "other:2", "v"),
    ("u1", "EXEC"),
    ("u1", "GET", "cached:2"),
    ("admin", "ACL", "LOG"),
    ("admin", "ACL", "LOG", "2"),
    # Rules that change between MULTI's queueing and EXEC.
    ("u1", "MULTI"),
    ("u1", "SET", "cached:3", "v"),
    ("u1", "GET", "cached:3"),
    ("admin", "ACL", "SETUSER", "alice", "-set"),
    ("u1", "EXEC"),
    ("admin", "ACL", "SETUSER", "alice", "+set"),
    # Scripts run with the caller's rules.
    ("admin", "ACL", "SETUSER", "alice", "+eval"),
    ("u1", "EVAL", "return redis.call('set', 'cached:4', 'v')", "0"),
    ("u1", "EVAL", "return redis.call('set', 'other:4', 'v')", "0"),
    ("u1", "EVAL", "return redis.call('del', 'cached:4')", "0"),
    ("u1", "EVAL", "return redis.acl_check_cmd('set', 'cached:5', 'v')", "0"),
    ("u1", "EVAL", "return redis.acl_check_cmd('set', 'other:5', 'v')", "0"),
    ("u1", "EVAL", "return redis.acl_check_cmd('nosuch')", "0"),
    ("u1", "GET", "other:4"),
    ("admin", "ACL", "LOG", "3"),
    # Channels.
    ("u1", "PUBLISH", "news.a", "m"),
    ("admin", "ACL", "SETUSER", "alice", "+publish", "+subscribe"),
    ("u1", "PUBLISH", "news.a", "m"),
    ("u1", "PUBLISH", "sports", "m"),
    ("admin", "ACL", "LOG", "1"),
    # HELLO AUTH.
    ("u2", "HELLO", "2", "AUTH", "alice", "bad"),
    ("u2", "HELLO", "2", "AUTH", "alice", "p1", "SETNAME", "c2"),
    ("u2", "ACL", "WHOAMI"),
    ("u2", "AUTH", "onlypass"),
    ("admin", "ACL", "LOG", "2"),
    # Disabled users cannot authenticate.
    ("admin", "ACL", "SETUSER", "carol", "off"),
    ("u2", "AUTH", "carol", "pw"),
    ("admin", "ACL", "SETUSER", "carol", "on"),
    ("u2", "AUTH", "carol", "pw"),
    ("u2", "SELECT", "0"),
    ("u2", "SELECT", "1"),
    ("u2", "ACL", "WHOAMI"),
    ("admin", "ACL", "DELUSER", "default"),
    ("admin", "ACL", "DELUSER", "nosuch", "dave"),
    ("admin", "ACL", "USERS"),
    ("admin", "ACL", "LOAD"),
    ("admin", "ACL", "SAVE"),
    ("admin", "ACL", "NOSUCH"),
    ("admin", "ACL", "LOG", "1", "2"),
    ("admin", "ACL", "LOG", "x"),
    ("admin", "ACL", "HELP"),
    ("admin", "CONFIG", "SET", "requirepass", "sekret"),
    ("u2", "AUTH", "sekret"),
    ("u2", "ACL", "WHOAMI"),
    ("admin", "ACL", "GETUSER", "default"),
    ("admin", "CONFIG", "SET", "requirepass", ""),
    ("admin", "ACL", "GETUSER", "default"),
    ("u2", "AUTH", "x"),
]


def run_script(port):
    clients = {name: Client(port) for name in ("admin", "u1", "u2")}
    out = []
    try:
        for step in SCRIPT:
            who, cmd = step[0], list(step[1:])
            ctx = None
            if cmd[-1] in ("cat",) and cmd[0] == "ACL":
                cmd, ctx = cmd[:-1], "cat"
            if cmd[:2] == ["ACL", "LOG"] and (len(cmd) == 2 or cmd[2] != "RESET"):
                ctx = "log"
            reply = clients[who].call(*cmd)
            if cmd[:2] == ["ACL", "GENPASS"] and isinstance(reply, bytes):
                reply = len(reply)
            if cmd[0] == "HELLO" and isinstance(reply, list):
                reply[7] = "<id>"  # client ids differ
            out.append((step, norm(reply, ctx)))
    finally:
        for c in clients.values():
            c.close()
    return out


@unittest.skipUnless(REDIS_SERVER, "needs redis-server")
class AclDiffTest(unittest.TestCase):
    def test_same_replies_as_redis(self):
        node, redis = start_diff_pair()
        try:
            ours = run_script(node.port)
            theirs = run_script(redis.port)
        finally:
            node.cleanup()
            redis.cleanup()
        for (step, a), (_, b) in zip(ours, theirs):
            self.assertEqual(a, b, f"step {step}")

    def test_deleted_user_clients_are_closed(self):
        node, redis = start_diff_pair()
        try:
            for server in (node, redis):
                admin, c = Client(server.port), Client(server.port)
                self.assertEqual(admin.call("ACL", "SETUSER", "gone", "on", "nopass", "+@all"),
                                 "OK")
                self.assertEqual(c.call("AUTH", "gone", "x"), "OK")
                self.assertEqual(admin.call("ACL", "DELUSER", "gone"), 1)
                with self.assertRaises((ConnectionError, OSError)):
                    c.call("PING")
                admin.close()
                c.close()
        finally:
            node.cleanup()
            redis.cleanup()


# One command per ACL category (and some more), each touching keys and
# channels the restricted user has no right to.
ATTEMPTS = [
    ["SET", "secret", "x"], ["GET", "secret"], ["DEL", "secret"], ["FLUSHALL"], ["FLUSHDB"],
    ["SADD", "s", "m"], ["ZADD", "z", "1", "m"], ["LPUSH", "l", "x"], ["HSET", "h", "f", "v"],
    ["APPEND", "secret", "x"], ["SETBIT", "b", "1", "1"], ["PFADD", "hll", "a"],
    ["GEOADD", "g", "1", "1", "m"], ["XADD", "st", "*", "f", "v"], ["PUBLISH", "chan", "m"],
    ["SUBSCRIBE", "chan"], ["CONFIG", "SET", "maxmemory", "1"], ["DEBUG", "SLEEP", "0"],
    ["BLPOP", "l", "0.01"], ["CLIENT", "KILL", "ID", "1"], ["MULTI"],
    ["EVAL", "return redis.call('set', 'secret', 'y')", "0"], ["EXPIRE", "secret", "1"],
    ["RENAME", "secret", "other"], ["SWAPDB", "0", "1"], ["MOVE", "secret", "1"],
    ["COPY", "secret", "mine:copy"], ["SORT", "l", "STORE", "mine:s"],
    ["SET", "other:1", "x", "GET"], ["LMOVE", "mine:l", "l", "LEFT", "LEFT"],
    ["SUNIONSTORE", "mine:u", "s"], ["PSUBSCRIBE", "c*"], ["SPUBLISH", "chan", "m"],
    ["ACL", "SETUSER", "x"], ["SHUTDOWN", "NOSAVE"], ["SAVE"], ["FUNCTION", "FLUSH"],
    ["SCRIPT", "FLUSH"], ["OBJECT", "ENCODING", "secret"], ["RESTORE", "k", "0", "x"],
]


@unittest.skipUnless(REDIS_SERVER, "needs redis-server")
class AclSecurityTest(unittest.TestCase):
    def test_restricted_user_is_refused_and_nothing_changes(self):
        node, redis = start_diff_pair()
        try:
            replies = {}
            for server in (node, redis):
                admin = Client(server.port)
                for cmd in (["SET", "secret", "s"], ["SADD", "s", "a"], ["LPUSH", "l", "a"],
                            ["HSET", "h", "f", "v"], ["SET", "mine:l", "x"]):
                    admin.call(*cmd)
                # Reads of mine:* only; writes of mine:* only; no channel but
                # "ok"; commands: strings, lists and sets but nothing admin.
                self.assertEqual(admin.call("ACL", "SETUSER", "eve", "on", ">pw", "%R~mine:*",
                                            "%W~mine:*", "&ok", "+@string", "+@list", "+@set",
                                            "+@keyspace", "+@pubsub", "-@dangerous", "+eval"),
                                 "OK")
                before = admin.call("DEBUG", "DIGEST")
                eve = Client(server.port)
                self.assertEqual(eve.call("AUTH", "eve", "pw"), "OK")
                out = []
                for cmd in ATTEMPTS:
                    r = eve.call(*cmd)
                    if isinstance(r, list) and cmd[0] in ("SUBSCRIBE", "PSUBSCRIBE"):
                        eve.close()
                        eve = Client(server.port)
                        eve.call("AUTH", "eve", "pw")
                    out.append(r)
                    if isinstance(r, Error):
                        self.assertTrue(r.startswith("NOPERM") or "The user executing" in r,
                                        f"{server.port} {cmd}: {r}")
                    else:
                        self.fail(f"{cmd} was not refused: {r!r}")
                self.assertEqual(admin.call("DEBUG", "DIGEST"), before, "the data changed")
                self.assertEqual(admin.call("GET", "secret"), b"s")
                replies[server is node] = out
                eve.close()
                admin.close()
            self.assertEqual(replies[True], replies[False])
        finally:
            node.cleanup()
            redis.cleanup()

    def test_requirepass_and_wrong_passwords(self):
        node = Node(args=["--requirepass", "pw"]).start()
        try:
            c = Client(node.port)
            self.assertEqual(c.call("GET", "x"), Error("NOAUTH Authentication required."))
            self.assertEqual(c.call("AUTH", "bad"),
                             Error("WRONGPASS invalid username-password pair or user is "
                                   "disabled."))
            self.assertEqual(c.call("AUTH", "default", "pw"), "OK")
            self.assertEqual(c.call("ACL", "WHOAMI"), b"default")
            c.close()
        finally:
            node.cleanup()

    def test_config_user_lines_and_aclfile(self):
        node = Node(config_text="user alice on >pw ~a* +get +set\n").start()
        try:
            c = Client(node.port)
            self.assertEqual(c.call("AUTH", "alice", "pw"), "OK")
            self.assertEqual(c.call("SET", "a1", "v"), "OK")
            self.assertTrue(c.call("SET", "b1", "v").startswith("NOPERM"))
            c.close()
        finally:
            node.cleanup()
        bad = Node(config_text="user alice on %X~x\n")
        try:
            bad.start(wait=False)
            bad.proc.wait(timeout=10)
            self.assertNotEqual(bad.proc.returncode, 0)
            self.assertIn("Error in user declaration 'alice': Syntax error", bad.output())
        finally:
            bad.cleanup()


if __name__ == "__main__":
    unittest.main()
