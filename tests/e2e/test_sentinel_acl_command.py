"""Issue 14: COMMAND and ACL in Sentinel mode, side by side with
redis-sentinel 7.0.15. One shardnode sentinel and one redis-sentinel, each
from its own config file (with the same `user` lines), get the same
commands and must give the same replies: COMMAND COUNT / LIST / INFO / DOCS
/ GETKEYS / HELP over the sentinel's 15 commands (the subcommands of a
container come in dict order in Redis, so they are compared as sets),
Redis's lookup errors (unknown subcommand, arity), ACL SETUSER / GETUSER /
LIST / USERS / CAT / DRYRUN / DELUSER, AUTH with an ACL user, NOPERM and its
ACL LOG entry, users from the config file, and the `user` lines that
SENTINEL FLUSHCONFIG writes back. SentinelClientCommandTest: CLIENT PAUSE /
UNPAUSE / REPLY / TRACKING / TRACKINGINFO / CACHING / HELP and CLIENT INFO's
buffer figures, the same way."""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import BIN, Client, Error, TextClient, free_port, text_reply, wait_until  # noqa: E402

REDIS_SENTINEL = shutil.which("redis-sentinel") or (
    "/usr/bin/redis-sentinel" if os.path.exists("/usr/bin/redis-sentinel") else None)

USER_LINES = ("user default on nopass ~* &* +@all\n"
              "user alice on >alicepw resetchannels -@all +ping +sentinel|myid +acl|whoami\n")




def norm_info(entry):
    """A COMMAND INFO entry with its subcommands sorted by name."""
    if not isinstance(entry, list):
        return entry
    out = list(entry)
    out[2] = sorted(out[2])  # flags: a set
    out[6] = sorted(out[6])  # ACL categories: a set
    out[9] = sorted((norm_info(s) for s in out[9]), key=lambda e: e[0])
    return out


def norm_docs(flat):
    """COMMAND DOCS (RESP2: name, fields, ...) as a dict; the subcommands
    map of each entry as a dict too."""
    out = {}
    for name, fields in zip(flat[0::2], flat[1::2]):
        pairs = []
        for k, v in zip(fields[0::2], fields[1::2]):
            pairs.append((k, norm_docs(v) if k == "subcommands" else v))
        out[name] = pairs
    return out


def norm_rules(text):
    """An ACL rule string with its single-command rules sorted: Redis lists
    them in its command dict's order, which its random hash seed decides."""
    return sorted(text.split())


def norm_acl_list(lines):
    return [norm_rules(line) for line in lines]


def norm_getuser(flat):
    if not isinstance(flat, list):
        return flat
    out = []
    for k, v in zip(flat[0::2], flat[1::2]):
        if k == "commands":
            v = norm_rules(v)
        elif k == "selectors":
            v = [norm_getuser(sel) for sel in v]
        out.append((k, v))
    return out


def pings(port):
    try:
        c = Client(port, timeout=1)
        try:
            r = c.call("PING")
            return r == "PONG" or r.startswith("NOAUTH")
        finally:
            c.close()
    except OSError:
        return False


@unittest.skipIf(REDIS_SENTINEL is None, "redis-sentinel not found")
class SentinelCommandAclTest(unittest.TestCase):
    def start(self, binary, extra="", users=USER_LINES):
        d = tempfile.mkdtemp(prefix="shardnode-sentinel-acl-")
        self.addCleanup(shutil.rmtree, d, True)
        port = free_port(bus_offset=False)
        conf = os.path.join(d, "sentinel.conf")
        with open(conf, "w") as f:
            f.write(f"port {port}\nbind 127.0.0.1\ndir {d}\nlogfile {d}/log\n{users}{extra}")
        p = subprocess.Popen([binary, conf, "--sentinel"], cwd=d, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: (p.poll() is None and p.kill(), p.wait()))
        wait_until(lambda: pings(port), timeout=10, what="sentinel up")
        c = TextClient(port)
        self.addCleanup(c.close)
        return c, conf

    def setUp(self):
        self.ours, self.ours_conf = self.start(BIN)
        self.ref, self.ref_conf = self.start(REDIS_SENTINEL)

    def same(self, *args, norm=lambda x: x):
        a = norm(self.ours.call(*args))
        b = norm(self.ref.call(*args))
        self.assertEqual(a, b, args)
        return a

    def test_command(self):
        self.assertEqual(self.same("COMMAND", "COUNT"), 15)
        names = self.same("COMMAND", "LIST", norm=sorted)
        self.assertIn("sentinel|is-master-down-by-addr", names)
        self.assertIn("acl|dryrun", names)
        for f in (("ACLCAT", "admin"), ("ACLCAT", "connection"), ("PATTERN", "s*"),
                  ("MODULE", "x")):
            self.same("COMMAND", "LIST", "FILTERBY", *f, norm=sorted)
        self.same("COMMAND", norm=lambda r: sorted((norm_info(e) for e in r), key=lambda e: e[0]))
        self.same("COMMAND", "INFO", "sentinel", "acl|setuser", "get", "PING", "client",
                  norm=lambda r: [norm_info(e) for e in r])
        self.same("COMMAND", "DOCS", norm=norm_docs)
        self.same("COMMAND", "DOCS", "sentinel", "hello", "set", "sentinel|monitor",
                  norm=norm_docs)
        self.same("COMMAND", "HELP")
        for args in (("CLIENT", "GETREDIR"), ("CLIENT", "UNBLOCK", "1"),
                     ("CLIENT", "UNBLOCK", "x"), ("CLIENT", "UNBLOCK", "x", "nope"),
                     ("CLIENT", "UNBLOCK", "1", "error", "x"),
                     ("CLIENT", "NO-EVICT", "on"), ("CLIENT", "NO-EVICT", "x"),
                     ("CLIENT", "UNPAUSE")):
            self.same(*args)
        for args in (("COMMAND", "GETKEYS", "ping"), ("COMMAND", "GETKEYS", "get", "k"),
                     ("COMMAND", "GETKEYSANDFLAGS", "sentinel", "masters"),
                     ("COMMAND", "COUNT", "x"), ("COMMAND", "NOPE"),
                     ("COMMAND", "LIST", "FILTERBY"),
                     ("SENTINEL",), ("SENTINEL", "MASTER"), ("SENTINEL", "NOPE", "x"),
                     ("CLIENT", "NOPE"), ("ACL", "SETUSER"), ("GET", "k"), ("PING", "a", "b")):
            r = self.same(*args)
            self.assertIsInstance(r, Error, args)

    def test_acl(self):
        self.same("ACL", "LIST", norm=norm_acl_list)
        self.same("ACL", "USERS")
        self.same("ACL", "GETUSER", "alice", norm=norm_getuser)
        self.same("ACL", "CAT")
        self.same("ACL", "CAT", "admin", norm=sorted)
        self.same("ACL", "CAT", "pubsub", norm=sorted)
        self.same("ACL", "CAT", "nope")
        self.assertEqual(self.same("ACL", "SETUSER", "bob", "on", ">bobpw", "+@all",
                                   "-sentinel|masters", "&chan*"), "OK")
        self.same("ACL", "GETUSER", "bob", norm=norm_getuser)
        self.same("ACL", "LIST", norm=norm_acl_list)
        self.same("ACL", "SETUSER", "bad", "+nosuchcommand")
        self.same("ACL", "DRYRUN", "bob", "sentinel", "masters")
        self.same("ACL", "DRYRUN", "bob", "sentinel", "myid")
        self.same("ACL", "DRYRUN", "bob", "publish", "other", "x")
        self.same("ACL", "DRYRUN", "bob", "nosuch")
        self.same("ACL", "DRYRUN", "nobody", "ping")
        self.same("ACL", "LOG", "RESET")
        for c in (self.ours, self.ref):
            c2 = TextClient(c.sock.getpeername()[1])
            self.addCleanup(c2.close)
            self.assertEqual(c2.call("AUTH", "bob", "wrong"),
                             "WRONGPASS invalid username-password pair or user is disabled.")
            self.assertEqual(c2.call("AUTH", "bob", "bobpw"), "OK")
            self.assertEqual(c2.call("ACL", "WHOAMI"), "bob")
            self.assertEqual(c2.call("SENTINEL", "MASTERS"),
                             "NOPERM this user has no permissions to run the 'sentinel|masters' "
                             "command")
            self.assertEqual(len(c2.call("SENTINEL", "MYID")), 40)
            self.assertEqual(c2.call("SUBSCRIBE", "other"),
                             "NOPERM this user has no permissions to access one of the channels "
                             "used as arguments")
            # alice, from the config file: PING and SENTINEL MYID only.
            self.assertEqual(c2.call("AUTH", "alice", "alicepw"), "OK")
            self.assertEqual(c2.call("PING"), "PONG")
            self.assertEqual(len(c2.call("SENTINEL", "MYID")), 40)
            self.assertTrue(c2.call("SENTINEL", "MASTERS").startswith("NOPERM"))
        log = [self.ours.call("ACL", "LOG"), self.ref.call("ACL", "LOG")]
        fields = [[dict(zip(e[0::2], e[1::2])) for e in entries] for entries in log]
        keep = ("count", "reason", "context", "object", "username")
        self.assertEqual([{k: e[k] for k in keep} for e in fields[0]],
                         [{k: e[k] for k in keep} for e in fields[1]])
        self.assertEqual(len(fields[0]), 4)
        # A client deleting its own user gets the reply, then nothing more
        # of what it pipelined runs.
        for c in (self.ours, self.ref):
            c2 = TextClient(c.sock.getpeername()[1])
            self.addCleanup(c2.close)
            self.assertEqual(c2.call("ACL", "SETUSER", "dave", "on", ">d", "+@all"), "OK")
            self.assertEqual(c2.call("AUTH", "dave", "d"), "OK")
            c2.send("ACL", "DELUSER", "dave")
            c2.send("ACL", "SETUSER", "eve", "on")
            self.assertEqual(c2.read(), 1)
            with self.assertRaises((ConnectionError, OSError)):
                c2.read()
            self.assertIsNone(c.call("ACL", "GETUSER", "eve"))
        self.assertEqual(self.same("ACL", "DELUSER", "bob", "nobody"), 1)
        self.same("ACL", "DELUSER", "default")
        self.same("ACL", "USERS")

    def test_flushconfig_writes_users(self):
        for c in (self.ours, self.ref):
            self.assertEqual(c.call("ACL", "SETUSER", "carol", "on", ">c", "+ping"), "OK")
            self.assertEqual(c.call("ACL", "DELUSER", "alice"), 1)
            self.assertEqual(c.call("SENTINEL", "FLUSHCONFIG"), "OK")
        users, keys = [], []
        for path in (self.ours_conf, self.ref_conf):
            with open(path) as f:
                lines = f.read().splitlines()
            users.append([norm_rules(line) for line in lines if line.startswith("user ")])
            # The directives written (Redis's order among them follows its
            # config dict): no save lines in a sentinel's file.
            keys.append(sorted(" ".join(line.split()[:2 if line.startswith("sentinel") else 1])
                               for line in lines if line and not line.startswith("#")))
        self.assertEqual(users[0], users[1])
        self.assertEqual(len(users[0]), 2)
        self.assertEqual(keys[0], keys[1])
        self.assertNotIn("save", keys[0])

    def test_requirepass(self):
        # (A `user default ... nopass` line would win over requirepass, in
        # both.)
        ours, _ = self.start(BIN, "requirepass sekret\n", users="")
        ref, _ = self.start(REDIS_SENTINEL, "requirepass sekret\n", users="")
        for c in (ours, ref):
            self.assertEqual(c.call("SENTINEL", "MYID"), "NOAUTH Authentication required.")
            self.assertEqual(c.call("HELLO", "2", "AUTH", "default", "bad"),
                             "WRONGPASS invalid username-password pair or user is disabled.")
            self.assertEqual(c.call("CLIENT", "GETNAME"), "NOAUTH Authentication required.")
        hello = []
        for c in (ours, ref):
            r = c.call("HELLO", "2", "AUTH", "default", "sekret", "SETNAME", "me")
            r[r.index("id") + 1] = 0
            hello.append(r)
            self.assertEqual(c.call("CLIENT", "GETNAME"), "me")
            info = c.call("CLIENT", "INFO")
            self.assertIn(" name=me ", info)
            hello.append([f.split("=")[0] for f in info.split()])
        self.assertEqual(hello[0], hello[2])  # no "role" in a sentinel's HELLO
        self.assertEqual(hello[1], hello[3])  # CLIENT INFO's fields
        self.assertEqual(ours.call("HELLO", "2", "NOPE"), ref.call("HELLO", "2", "NOPE"))



def client_fields(line):
    """A CLIENT INFO / CLIENT LIST line as a dict."""
    return dict(f.split("=", 1) for f in line.split())


@unittest.skipIf(REDIS_SENTINEL is None, "redis-sentinel not found")
class SentinelClientCommandTest(unittest.TestCase):
    """CLIENT PAUSE / UNPAUSE / REPLY / TRACKING / TRACKINGINFO / CACHING /
    HELP in Sentinel mode, and CLIENT INFO's buffer and memory figures, side
    by side with redis-sentinel."""
    start = SentinelCommandAclTest.start
    same = SentinelCommandAclTest.same

    def setUp(self):
        self.ours, _ = self.start(BIN, users="")
        self.ref, _ = self.start(REDIS_SENTINEL, users="")

    def test_subcommands(self):
        for args in [
            ("CLIENT", "HELP"),
            ("CLIENT", "TRACKINGINFO"),
            ("CLIENT", "GETREDIR"),
            ("CLIENT", "CACHING", "YES"),
            ("CLIENT", "TRACKING", "MAYBE"),
            ("CLIENT", "TRACKING", "ON", "PREFIX", "a"),
            ("CLIENT", "TRACKING", "ON", "REDIRECT", "999999"),
            ("CLIENT", "TRACKING", "ON", "OPTIN"),
            ("CLIENT", "TRACKINGINFO"),
            ("CLIENT", "CACHING", "NO"),
            ("CLIENT", "CACHING", "YES"),
            ("CLIENT", "TRACKINGINFO"),
            ("PING",),
            ("CLIENT", "TRACKINGINFO"),
            ("CLIENT", "TRACKING", "ON", "OPTOUT"),
            ("CLIENT", "TRACKING", "OFF"),
            ("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "a", "PREFIX", "b"),
            ("CLIENT", "TRACKINGINFO"),
            ("CLIENT", "GETREDIR"),
            ("CLIENT", "TRACKING", "OFF"),
            ("CLIENT", "REPLY", "MAYBE"),
            ("CLIENT", "REPLY", "ON"),
            ("CLIENT", "PAUSE", "abc"),
            ("CLIENT", "PAUSE", "-1"),
            ("CLIENT", "PAUSE", "10", "SOME"),
            ("CLIENT", "PAUSE", "10", "WRITE", "x"),
            ("CLIENT", "PAUSE", "0"),
            ("CLIENT", "UNPAUSE"),
            ("CLIENT", "NO-EVICT", "ON"),
        ]:
            self.same(*args)
        flags = [client_fields(c.call("CLIENT", "INFO"))["flags"] for c in (self.ours, self.ref)]
        self.assertEqual(flags[0], flags[1])
        self.assertEqual(flags[0], "e")

    def test_reply_off_and_skip(self):
        for c in (self.ours, self.ref):
            c.send("CLIENT", "REPLY", "OFF")
            c.send("PING", "a")
            c.send("CLIENT", "REPLY", "SKIP")
            c.send("CLIENT", "REPLY", "ON")
            self.assertEqual(text_reply(c.read()), "OK")
            c.send("CLIENT", "REPLY", "SKIP")
            c.send("PING", "b")
            c.send("PING", "c")
            self.assertEqual(text_reply(c.read()), "c")

    def test_pause(self):
        # Under CLIENT PAUSE ALL every command waits, CLIENT UNPAUSE of the
        # pausing client included, until the pause ends; under WRITE, PUBLISH
        # waits and PING does not. CLIENT UNPAUSE ends a pause at once.
        for main in (self.ours, self.ref):
            port = main.sock.getpeername()[1]
            other = TextClient(port)
            self.addCleanup(other.close)
            self.assertEqual(main.call("CLIENT", "PAUSE", "300", "WRITE"), "OK")
            self.assertEqual(other.call("PING"), "PONG")
            t0 = time.monotonic()
            self.assertIn("Only HELLO", str(other.call("PUBLISH", "ch", "m")))
            self.assertGreater(time.monotonic() - t0, 0.15)
            self.assertEqual(main.call("CLIENT", "PAUSE", "300"), "OK")
            t0 = time.monotonic()
            self.assertEqual(other.call("PING"), "PONG")
            self.assertGreater(time.monotonic() - t0, 0.15)
            self.assertEqual(main.call("CLIENT", "PAUSE", "20000", "WRITE"), "OK")
            other.send("PUBLISH", "ch", "m")
            time.sleep(0.1)
            t0 = time.monotonic()
            self.assertEqual(main.call("CLIENT", "UNPAUSE"), "OK")
            self.assertIn("Only HELLO", str(text_reply(other.read())))
            self.assertLess(time.monotonic() - t0, 5)

    def test_client_info_buffers(self):
        # A fresh connection's CLIENT INFO: its own command in the query
        # buffer, its arguments, the reply buffer, and the memory figure.
        infos = []
        for c in (self.ours, self.ref):
            port = c.sock.getpeername()[1]
            fresh = TextClient(port)
            self.addCleanup(fresh.close)
            infos.append(client_fields(fresh.call("CLIENT", "INFO")))
        ours, ref = infos
        # qbuf-free and tot-mem follow the allocator (jemalloc's size
        # classes in Redis): the data node's figures, checked for being set.
        self.assertGreater(int(ours["qbuf-free"]), 16000)
        for k in ("flags", "db", "sub", "psub", "ssub", "multi", "qbuf", "argv-mem",
                  "multi-mem", "rbs", "rbp", "obl", "oll", "omem", "events", "cmd", "user",
                  "redir", "resp"):
            self.assertEqual(ours[k], ref[k], k)
        self.assertEqual(ours["qbuf"], "26")
        self.assertEqual(ours["argv-mem"], "10")
        self.assertGreater(int(ours["tot-mem"]), 16384)
        self.assertEqual(list(ours), list(ref))
        # A subscriber as CLIENT LIST shows it from another connection.
        lines = []
        for c in (self.ours, self.ref):
            port = c.sock.getpeername()[1]
            sub = Client(port)
            self.addCleanup(sub.close)
            sub.call("CLIENT", "SETNAME", "subber")
            sub.send("SUBSCRIBE", "a", "b")
            sub.read()
            sub.read()
            sub.send("PSUBSCRIBE", "p*")
            sub.read()
            line = [ln for ln in c.call("CLIENT", "LIST").splitlines() if "name=subber" in ln]
            lines.append(client_fields(line[0]))
        for k in ("flags", "sub", "psub", "qbuf", "argv-mem", "rbs", "omem", "cmd"):
            self.assertEqual(lines[0][k], lines[1][k], k)


if __name__ == "__main__":
    unittest.main(verbosity=2)
