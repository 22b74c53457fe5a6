"""Issue 14: shardnode as Sentinel. The failover walk-through of
test_sentinel_failover.py (one primary, two replicas, three sentinels with
quorum 2, the primary killed with SIGKILL, a replica promoted, the other
following it, the sentinels agreeing on the new address) with shardnode in
every role: the sentinels are shardnode started under the name
redis-sentinel (a symlink), so the mode is chosen from argv[0] as Redis
does. The mixed form (two shardnode sentinels and one Debian redis-sentinel
in one quorum) runs the same scenario.

Also: the start-up errors of Sentinel mode (no config file, an unwritable
one, a bad sentinel line), the unknown-command error for data commands, and
a sentinel restarted from its rewritten config file keeping its id.
SENTINEL_FULL=1 also runs the whole walk-through over redis-server nodes."""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import test_sentinel_failover as base  # noqa: E402
from harness import (BIN, REDIS_SERVER, Client, Node, RedisServerNode, TextClient,  # noqa: E402
                     free_port, info, wait_until)

REDIS_SENTINEL = base.SENTINEL
_link_dir = tempfile.mkdtemp(prefix="shardnode-sentinel-bin-")
SHARDNODE_SENTINEL = os.path.join(_link_dir, "redis-sentinel")
os.symlink(os.path.abspath(BIN), SHARDNODE_SENTINEL)


class ShardnodeSentinelFailoverTest(base.SentinelFailoverTest):
    """The walk-through with three shardnode sentinels."""
    kinds = ("shardnode", "shardnode", "shardnode")

    def setUp(self):
        kinds = iter(self.kinds)
        original = base.Sentinel.__init__

        def init(sentinel, primary_port):
            kind = next(kinds, "shardnode")
            base.SENTINEL = SHARDNODE_SENTINEL if kind == "shardnode" else REDIS_SENTINEL
            original(sentinel, primary_port)

        base.Sentinel.__init__ = init
        self.addCleanup(setattr, base.Sentinel, "__init__", original)
        self.addCleanup(setattr, base, "SENTINEL", REDIS_SENTINEL)


@unittest.skipIf(REDIS_SENTINEL is None, "redis-sentinel not found")
class MixedSentinelFailoverTest(ShardnodeSentinelFailoverTest):
    """Two shardnode sentinels and one redis-sentinel in one quorum."""
    kinds = ("shardnode", "redis", "shardnode")


@unittest.skipIf(REDIS_SERVER is None, "redis-server not found")
class RedisDataNodesTest(ShardnodeSentinelFailoverTest):
    """Three shardnode sentinels failing over redis-server 7.0.15 nodes."""

    def node(self, primary_port=None):
        args = ["--replica-priority", "100"]
        if primary_port is not None:
            args += ["--replicaof", "127.0.0.1", str(primary_port)]
        n = RedisServerNode(args=args).start()
        self.addCleanup(n.cleanup)
        return n


class WalkThroughTest(unittest.TestCase):
    """The seeds' walk-through, to the end: after the failover the old primary
    is restarted and rejoins as a replica of the new one; a sentinel killed
    with SIGKILL restarts from its rewritten file with its id and the new
    address; SENTINEL FAILOVER then moves the primary again."""

    def setUp(self):
        base.SENTINEL = SHARDNODE_SENTINEL
        self.addCleanup(setattr, base, "SENTINEL", REDIS_SENTINEL)

    data_node = Node

    def node(self, primary_port=None):
        if self.data_node is Node:
            conf = "" if primary_port is None else f"replicaof 127.0.0.1 {primary_port}\n"
            n = Node(config_text=conf).start()
        else:
            args = [] if primary_port is None else ["--replicaof", "127.0.0.1", str(primary_port)]
            n = RedisServerNode(args=args).start()
        self.addCleanup(n.cleanup)
        return n

    def agreed_primary(self, sentinels):
        ports = {s.primary_port() for s in sentinels}
        return ports.pop() if len(ports) == 1 else None

    def test_walk_through(self):
        primary = self.node()
        replicas = [self.node(primary.port), self.node(primary.port)]
        for r in replicas:
            wait_until(lambda r=r: info(r).get("master_link_status") == "up", timeout=10,
                       what="replica link up")
        sentinels = [base.Sentinel(primary.port) for _ in range(3)]
        for s in sentinels:
            self.addCleanup(s.cleanup)

        def discovered():
            return all(s.master_fields().get("num-slaves") == "2" and
                       s.master_fields().get("num-other-sentinels") == "2" for s in sentinels)

        wait_until(discovered, timeout=30, interval=0.2, what="discovery")
        primary.stop(signal.SIGKILL)
        ports = {r.port for r in replicas}
        wait_until(lambda: self.agreed_primary(sentinels) in ports, timeout=60, interval=0.2,
                   what="a replica promoted")
        new_port = self.agreed_primary(sentinels)
        other = next(r for r in replicas if r.port != new_port)
        wait_until(lambda: info(other).get("master_port") == str(new_port) and
                   info(other).get("master_link_status") == "up", timeout=30, interval=0.2,
                   what="the other replica follows")

        # The old primary comes back: the sentinels turn it into a replica.
        # (Of the primary the sentinels agree on then: on a loaded machine a
        # first PONG of the promoted replica later than down-after (1 s
        # here) may make them fail over a second time, as Redis's would.)
        primary.start()
        wait_until(lambda: self.agreed_primary(sentinels) is not None and
                   info(primary).get("master_port") == str(self.agreed_primary(sentinels)) and
                   info(primary).get("master_link_status") == "up", timeout=60, interval=0.3,
                   what="old primary rejoins as a replica")
        new_port = self.agreed_primary(sentinels)

        # kill -9 and restart one sentinel: same id, same knowledge.
        s0 = sentinels[0]
        myid = s0.cli("SENTINEL", "MYID")
        s0.proc.kill()
        s0.proc.wait()
        with open(s0.conf) as f:
            conf = f.read()
        self.assertIn(f"sentinel myid {myid}", conf)
        self.assertIn(f"sentinel monitor mymaster 127.0.0.1 {new_port} 2", conf)
        self.assertRegex(conf, r"sentinel config-epoch mymaster [1-9]")
        with open(s0.err_path, "ab") as err:
            s0.proc = subprocess.Popen([SHARDNODE_SENTINEL, s0.conf], stdout=err,
                                       stderr=subprocess.STDOUT, cwd=s0.dir)
        wait_until(lambda: _pings(s0.port), timeout=10, what="sentinel restarted")
        self.assertEqual(s0.cli("SENTINEL", "MYID"), myid)
        self.assertEqual(s0.primary_port(), new_port)
        wait_until(lambda: s0.master_fields().get("num-other-sentinels") == "2" and
                   s0.master_fields().get("num-slaves") == "2", timeout=30, interval=0.2,
                   what="restarted sentinel knows the others")

        # A manual failover moves the primary again, once every sentinel has
        # seen the old primary as a replica (an observer that has not would
        # turn the promoted node back with +convert-to-slave, in Redis too).
        def all_replicas_seen():
            for s in sentinels:
                lines = s.cli("SENTINEL", "REPLICAS", "mymaster").splitlines()
                roles = [lines[i + 1] for i, l in enumerate(lines[:-1]) if l == "role-reported"]
                if roles != ["slave", "slave"]:
                    return False
            return True

        wait_until(all_replicas_seen, timeout=30, interval=0.2, what="replicas seen as replicas")
        self.assertEqual(sentinels[1].cli("SENTINEL", "FAILOVER", "mymaster"), "OK")
        wait_until(lambda: self.agreed_primary(sentinels) not in (None, new_port), timeout=60,
                   interval=0.2, what="manual failover")
        newest = self.agreed_primary(sentinels)
        node = next(n for n in [primary] + replicas if n.port == newest)
        wait_until(lambda: info(node).get("role") == "master", timeout=10, what="promoted")


@unittest.skipIf(REDIS_SERVER is None, "redis-server not found")
@unittest.skipUnless(os.environ.get("SENTINEL_FULL"), "SENTINEL_FULL=1 runs it (about 25 s)")
class WalkThroughRedisDataNodesTest(WalkThroughTest):
    data_node = RedisServerNode




def run_sentinel(args, cwd):
    return subprocess.run([BIN] + args, capture_output=True, text=True, timeout=30, cwd=cwd)


class SentinelModeTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="shardnode-sentinel-mode-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def test_config_file_required(self):
        out = run_sentinel(["--sentinel", "--port", str(free_port(bus_offset=False))], self.dir)
        self.assertEqual(out.returncode, 1)
        self.assertIn("Sentinel needs config file on disk to save state. Exiting...",
                      out.stdout + out.stderr)

    @unittest.skipIf(os.geteuid() == 0, "root may write any file")
    def test_config_file_writable(self):
        conf = os.path.join(self.dir, "s.conf")
        with open(conf, "w") as f:
            f.write("port 0\n")
        os.chmod(conf, 0o444)
        out = run_sentinel([conf, "--sentinel"], self.dir)
        self.assertEqual(out.returncode, 1)
        self.assertIn(f"Sentinel config file {conf} is not writable", out.stdout + out.stderr)

    def test_bad_sentinel_line(self):
        conf = os.path.join(self.dir, "s.conf")
        with open(conf, "w") as f:
            f.write("port 0\nsentinel foo bar\n")
        out = run_sentinel([conf, "--sentinel"], self.dir)
        self.assertEqual(out.returncode, 1)
        self.assertIn("Reading the configuration file, at line 2\n>>> 'sentinel foo bar'\n"
                      "Unrecognized sentinel configuration statement.", out.stderr)

    def test_commands_and_restart_keep_id(self):
        port = free_port(bus_offset=False)
        conf = os.path.join(self.dir, "s.conf")
        dead = free_port(bus_offset=False)
        with open(conf, "w") as f:
            f.write(f"port {port}\nbind 127.0.0.1\n"
                    f"sentinel down-after-milliseconds m1 1000\n"
                    f"sentinel monitor m1 127.0.0.1 {dead} 2\n")

        def start():
            p = subprocess.Popen([BIN, conf, "--sentinel"], cwd=self.dir,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.addCleanup(lambda: (p.poll() is None and p.kill(), p.wait()))
            wait_until(lambda: _pings(port), timeout=10, what="sentinel up")
            return p

        p = start()
        c = TextClient(port)
        myid = c.call("SENTINEL", "MYID")
        self.assertEqual(len(myid), 40)
        self.assertTrue(str(c.call("GET", "x")).startswith(
            "ERR unknown command 'GET', with args beginning with: 'x'"))
        self.assertEqual(c.call("COMMAND", "COUNT"), 15)
        self.assertEqual(len(c.call("COMMAND", "LIST")), 72)
        self.assertEqual(c.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "m1"),
                         ["127.0.0.1", str(dead)])
        self.assertIsNone(c.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "nope"))
        self.assertEqual(c.call("ROLE"), ["sentinel", ["m1"]])
        fields = c.call("SENTINEL", "MASTER", "m1")
        self.assertEqual(fields[:6], ["name", "m1", "ip", "127.0.0.1", "port", str(dead)])
        self.assertEqual(fields[32:34], ["num-other-sentinels", "0"])
        wait_until(lambda: "s_down" in dict(zip(*[iter(c.call("SENTINEL", "MASTER", "m1"))] * 2))
                   ["flags"], timeout=10, what="unreachable master goes SDOWN")
        self.assertEqual(c.call("SENTINEL", "SET", "m1", "quorum", "1"), "OK")
        self.assertTrue(str(c.call("SENTINEL", "SET", "m1", "down-after-milliseconds", "-20"))
                        .startswith("ERR Invalid argument '-20' for SENTINEL SET "
                                    "'down-after-milliseconds'"))
        self.assertTrue(str(c.call("SENTINEL", "CKQUORUM", "m1")).startswith("OK 1 usable"))
        c.close()
        with open(conf) as f:
            text = f.read()
        self.assertIn(f"sentinel myid {myid}\n", text)
        self.assertIn("# Generated by CONFIG REWRITE\n", text)
        # The user's lines stay in place, with updated values.
        self.assertTrue(text.startswith(f"port {port}\nbind 127.0.0.1\n"
                                        "sentinel down-after-milliseconds m1 1000\n"
                                        f"sentinel monitor m1 127.0.0.1 {dead} 1\n"), text)
        p.kill()
        p.wait()
        start()
        c = TextClient(port)
        self.assertEqual(c.call("SENTINEL", "MYID"), myid)
        c.close()


@unittest.skipIf(REDIS_SENTINEL is None, "redis-sentinel not found")
class LinkSharingTest(unittest.TestCase):
    """One shardnode sentinel and one redis-sentinel, both monitoring two
    primaries: each meets the other under both masters and, as Redis does,
    keeps one shared link to it (link-refcount 2, one command connection)."""

    def start(self, binary, primaries):
        d = tempfile.mkdtemp(prefix="shardnode-sentinel-share-")
        self.addCleanup(shutil.rmtree, d, True)
        port = free_port(bus_offset=False)
        conf = os.path.join(d, "sentinel.conf")
        with open(conf, "w") as f:
            f.write(f"port {port}\nbind 127.0.0.1\ndir {d}\nlogfile {d}/log\n")
            for i, p in enumerate(primaries):
                f.write(f"sentinel monitor m{i} 127.0.0.1 {p.port} 2\n")
        proc = subprocess.Popen([binary, conf, "--sentinel"], cwd=d, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: (proc.poll() is None and proc.kill(), proc.wait()))
        wait_until(lambda: _pings(port), timeout=10, what="sentinel up")
        c = TextClient(port)
        self.addCleanup(c.close)
        return c

    def test_shared_link(self):
        primaries = []
        for _ in range(2):
            n = Node().start()
            self.addCleanup(n.cleanup)
            primaries.append(n)
        sentinels = [self.start(BIN, primaries), self.start(REDIS_SENTINEL, primaries)]

        def fields(c, master):
            return [dict(zip(e[0::2], e[1::2])) for e in c.call("SENTINEL", "SENTINELS", master)]

        def shared():
            return all(len(f) == 1 and f[0]["link-refcount"] == "2"
                       for c in sentinels for f in (fields(c, "m0"), fields(c, "m1")))

        wait_until(shared, timeout=30, interval=0.2, what="each sentinel shares one link")
        ids = [c.call("SENTINEL", "MYID") for c in sentinels]

        def cmd_links(c, other):
            names = [line.split(" name=")[1].split(" ")[0]
                     for line in c.call("CLIENT", "LIST").splitlines()]
            return names.count(f"sentinel-{other[:8]}-cmd")

        # A sentinel connects to one it discovered at its next timer run
        # (Redis's sentinelReconnectInstance): the link may come just after
        # the discovery that `shared` saw.
        for c, other in ((sentinels[0], ids[1]), (sentinels[1], ids[0])):
            wait_until(lambda: cmd_links(c, other) >= 1, timeout=10, interval=0.1,
                       what="the other sentinel's command link")
            self.assertEqual(cmd_links(c, other), 1)


SYSTEM_PYTHON = "/usr/bin/python3"
REDIS_PY_SCRIPT = r"""
import sys, time
from redis.sentinel import Sentinel
ports = [int(p) for p in sys.argv[1].split(",")]
old = int(sys.argv[2])
s = Sentinel([("127.0.0.1", p) for p in ports], socket_timeout=1)
end = time.time() + 60
while time.time() < end:
    try:
        host, port = s.discover_master("mymaster")
        if port != old:
            break
    except Exception:
        pass
    time.sleep(0.2)
else:
    sys.exit("no new master")
m = s.master_for("mymaster", socket_timeout=2)
m.set("via", "redis-py")
# The killed primary stays listed as a replica until the sentinels flag it
# s_down; its port is held by the test (a listener that never accepts), so
# redis-py must not pick it for slave_for: wait until it leaves the list.
end = time.time() + 30
while True:
    replicas = s.discover_slaves("mymaster")
    if all(p != old for _, p in replicas) or time.time() > end:
        break
    time.sleep(0.2)
r = s.slave_for("mymaster", socket_timeout=2)
end = time.time() + 20
while time.time() < end and r.get("via") != b"redis-py":
    time.sleep(0.2)
print(port, ",".join(str(p) for _, p in replicas), r.get("via").decode())
"""


def _has_redis_py():
    if not os.path.exists(SYSTEM_PYTHON):
        return False
    return subprocess.run([SYSTEM_PYTHON, "-c", "import redis.sentinel"],
                          capture_output=True).returncode == 0


@unittest.skipUnless(_has_redis_py(), "needs /usr/bin/python3 with python3-redis")
class RedisPySentinelClientTest(ShardnodeSentinelFailoverTest):
    """redis-py 4.3.4's Sentinel client (SENTINEL MASTERS, SENTINEL SLAVES,
    master_for / slave_for) follows the failover done by shardnode
    sentinels."""

    def run_failover_once(self):
        seen = []
        original = base.Sentinel.__init__

        def init(sentinel, primary_port):
            original(sentinel, primary_port)
            seen.append((sentinel, primary_port))

        base.Sentinel.__init__ = init
        self.addCleanup(setattr, base.Sentinel, "__init__", original)
        super().run_failover_once()
        ports = ",".join(str(s.port) for s, _ in seen)
        out = subprocess.run([SYSTEM_PYTHON, "-c", REDIS_PY_SCRIPT, ports, str(seen[0][1])],
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)
        new_port, replicas, value = out.stdout.split()
        self.assertNotEqual(int(new_port), seen[0][1])
        self.assertEqual(value, "redis-py")
        # Only the other replica is listed: the killed primary, now a replica
        # entry, is dropped by discover_slaves once flagged s_down.
        listed = {int(p) for p in replicas.split(",")}
        self.assertNotIn(seen[0][1], listed)
        self.assertEqual(len(listed), 1, replicas)
        self.assertNotIn(int(new_port), listed)


class ReplicaInfoForSentinelTest(unittest.TestCase):
    """The INFO fields a sentinel reads from a replica follow its config, as
    redis-server's do: slave_priority (replica-priority 0 is never promoted)
    and replica_announced (no hides it from SENTINEL REPLICAS)."""

    def test_priority_and_announced(self):
        for kind in (Node, RedisServerNode):
            primary = kind().start()
            self.addCleanup(primary.cleanup)
            args = ["--replicaof", "127.0.0.1", str(primary.port), "--replica-priority", "0",
                    "--replica-announced", "no"]
            replica = kind(args=args).start()
            self.addCleanup(replica.cleanup)
            fields = info(replica)
            self.assertEqual(fields.get("slave_priority"), "0", kind.__name__)
            self.assertEqual(fields.get("replica_announced"), "0", kind.__name__)
            replica.cli("CONFIG", "SET", "replica-priority", "7")
            replica.cli("CONFIG", "SET", "replica-announced", "yes")
            fields = info(replica)
            self.assertEqual(fields.get("slave_priority"), "7", kind.__name__)
            self.assertEqual(fields.get("replica_announced"), "1", kind.__name__)


def _pings(port):
    try:
        c = Client(port, timeout=1)
        try:
            return c.call("PING") == "PONG"
        finally:
            c.close()
    except OSError:
        return False


def tearDownModule():
    shutil.rmtree(_link_dir, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
