"""Issue 9 (a crash on network input): Debian's redis-sentinel 7.0.15 fails
over a standalone shardnode primary with two shardnode replicas.

Three sentinels monitor the primary (quorum 2); the primary is killed with
SIGKILL. The sentinels promote one replica in one pipelined transaction that
kills its clients (MULTI, SLAVEOF NO ONE, CONFIG REWRITE, CLIENT KILL TYPE
normal, CLIENT KILL TYPE pubsub, EXEC) and reconfigure the other replica the
same way. Every shardnode must survive it, the other replica must follow the
promoted one, the sentinels must agree on the new primary, and no sentinel
may abort (hiredis asserts when a reply arrives that nobody asked for).

SENTINEL_RUNS (default 1) repeats the scenario in one run; SENTINEL_KEEP_LOGS
names a folder where each sentinel's log is copied before its directory is
removed."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Client, Node, free_port, info, wait_until  # noqa: E402

SENTINEL = shutil.which("redis-sentinel") or (
    "/usr/bin/redis-sentinel" if os.path.exists("/usr/bin/redis-sentinel") else None)
MASTER = "mymaster"


class Sentinel:
    """One redis-sentinel process with its own directory, stopped by pid."""

    def __init__(self, primary_port, quorum=2, failover_timeout=10000, argv=None):
        """`argv(conf)`: the command line that starts it (default: the
        module's SENTINEL binary with the config file)."""
        self.port = free_port(bus_offset=False)
        self.dir = tempfile.mkdtemp(prefix="shardnode-sentinel-")
        self.log_path = os.path.join(self.dir, "sentinel.log")
        self.conf = os.path.join(self.dir, "sentinel.conf")
        with open(self.conf, "w") as f:
            f.write(f"port {self.port}\nbind 127.0.0.1\ndaemonize no\ndir {self.dir}\n"
                    f"logfile {self.log_path}\n"
                    f"sentinel monitor {MASTER} 127.0.0.1 {primary_port} {quorum}\n"
                    f"sentinel down-after-milliseconds {MASTER} 1000\n"
                    f"sentinel failover-timeout {MASTER} {failover_timeout}\n"
                    f"sentinel parallel-syncs {MASTER} 1\n")
        # hiredis's assertions go to stderr, not to the log file.
        self.err_path = os.path.join(self.dir, "stderr.log")
        command = argv(self.conf) if argv else [SENTINEL, self.conf]
        with open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(command, stdout=err, stderr=subprocess.STDOUT,
                                         cwd=self.dir)

    def cli(self, *args):
        out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.port)] +
                             [str(a) for a in args], capture_output=True, text=True, timeout=30)
        return out.stdout.strip()

    def master_fields(self):
        lines = self.cli("SENTINEL", "MASTER", MASTER).splitlines()
        return dict(zip(lines[0::2], lines[1::2]))

    def primary_port(self):
        lines = self.cli("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER).splitlines()
        return int(lines[1]) if len(lines) == 2 else None

    def log(self):
        """The log file, then what went to stdout/stderr."""
        text = ""
        for path in (self.log_path, self.err_path):
            try:
                with open(path, errors="replace") as f:
                    text += f.read()
            except OSError:
                pass
        return text

    def alive(self):
        return self.proc.poll() is None

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # a stopped one must run to exit
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        keep = os.environ.get("SENTINEL_KEEP_LOGS")  # a folder, to debug a failure
        if keep:
            os.makedirs(keep, exist_ok=True)
            with open(os.path.join(keep, f"sentinel-{self.port}.log"), "w") as f:
                f.write(self.log())
        shutil.rmtree(self.dir, ignore_errors=True)


def hold_port(port):
    """Takes the port of a killed node (a listener that never answers, so
    the node still looks down): the sentinels keep sending to that address,
    and no process started meanwhile (another test) may get their commands.
    Returns the socket, or None when the port is already taken."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
        s.listen(1)
        return s
    except OSError:
        s.close()
        return None


def role(node):
    return info(node).get("role")


def answers(node):
    try:
        c = Client(node.port, timeout=2)
        try:
            return c.call("PING") == "PONG"
        finally:
            c.close()
    except OSError:
        return False


@unittest.skipIf(SENTINEL is None,
                 "redis-sentinel not found (scripts/install-deps installs it)")
class SentinelFailoverTest(unittest.TestCase):
    def node(self, primary_port=None):
        conf = "replica-priority 100\n"
        if primary_port is not None:
            conf += f"replicaof 127.0.0.1 {primary_port}\n"
        n = Node(config_text=conf).start()
        self.addCleanup(n.cleanup)
        return n

    def wait(self, predicate, timeout, what, nodes, sentinels):
        """wait_until, and on a timeout the end of every log in the message."""
        try:
            wait_until(predicate, timeout=timeout, interval=0.2, what=what)
        except AssertionError as e:
            tails = [f"--- shardnode {n.port}:\n" + "\n".join(n.output().splitlines()[-15:])
                     for n in nodes]
            tails += [f"--- sentinel {s.port}:\n" + "\n".join(s.log().splitlines()[-25:])
                      for s in sentinels]
            raise AssertionError(f"{e}\n" + "\n".join(tails)) from None

    def run_failover_once(self):
        primary = self.node()
        replicas = [self.node(primary.port), self.node(primary.port)]
        for r in replicas:
            wait_until(lambda r=r: info(r).get("master_link_status") == "up", timeout=10,
                       what="replica link up")
        primary.cli("SET", "before", "failover")
        sentinels = []
        for _ in range(3):
            s = Sentinel(primary.port)
            self.addCleanup(s.cleanup)
            sentinels.append(s)

        def discovered():
            for s in sentinels:
                self.assertTrue(s.alive(), s.log())
                f = s.master_fields()
                if f.get("num-slaves") != "2" or f.get("num-other-sentinels") != "2":
                    return False
            return True

        self.wait(discovered, 30, "sentinels see both replicas and each other",
                  [primary] + replicas, sentinels)

        primary.stop(signal.SIGKILL)
        held = hold_port(primary.port)
        if held is not None:
            self.addCleanup(held.close)
        ports = {r.port for r in replicas}
        shardnodes_ok = lambda: all(r.proc.poll() is None for r in replicas)

        def promoted():
            self.assertTrue(shardnodes_ok(), "a shardnode died:\n" +
                            "\n".join(r.output()[-4000:] for r in replicas))
            for s in sentinels:
                self.assertTrue(s.alive(), "sentinel died:\n" + s.log()[-4000:])
            new = sentinels[0].primary_port()
            return new in ports and all(s.primary_port() == new for s in sentinels)

        self.wait(promoted, 60, "sentinels agree on a new primary", replicas, sentinels)
        new_port = sentinels[0].primary_port()
        new_primary = next(r for r in replicas if r.port == new_port)
        other = next(r for r in replicas if r.port != new_port)

        def reconfigured():
            self.assertTrue(shardnodes_ok(), "a shardnode died:\n" +
                            "\n".join(r.output()[-4000:] for r in replicas))
            for s in sentinels:
                self.assertTrue(s.alive(), "sentinel died:\n" + s.log()[-4000:])
            if role(new_primary) != "master":
                return False
            i = info(other)
            if i.get("master_port") != str(new_port) or i.get("master_link_status") != "up":
                return False
            # The failover ends when the leader saw the other replica follow.
            return any("+failover-end" in s.log() for s in sentinels)

        self.wait(reconfigured, 60, "other replica follows the new primary, failover ends",
                  replicas, sentinels)
        new_primary.cli("SET", "after", "failover")
        wait_until(lambda: other.cli("GET", "after") == "failover", timeout=10,
                   what="write reaches the other replica")
        self.assertEqual(other.cli("GET", "before"), "failover")

        # The sentinels keep talking to both nodes (hello messages, INFO,
        # PING) for a while after the failover: everybody stays up.
        def settled():
            for s in sentinels:
                self.assertTrue(s.alive(), "sentinel died:\n" + s.log()[-4000:])
                f = s.master_fields()
                if f.get("num-slaves") != "2" or f.get("port") != str(new_port):
                    return False
            return True

        self.wait(settled, 30, "sentinels settle on the new primary", replicas, sentinels)
        for r in replicas:
            self.assertIsNone(r.proc.poll(), r.output()[-4000:])
            self.assertTrue(answers(r), f"node {r.port} does not answer PING")
        for s in sentinels:
            self.assertTrue(s.alive(), s.log()[-4000:])
            self.assertNotIn("Assertion", s.log())
            self.assertEqual(s.primary_port(), new_port)
        for r in replicas:
            self.assertNotIn("BUG REPORT", r.output())

    def test_failover_after_primary_killed(self):
        runs = int(os.environ.get("SENTINEL_RUNS", "1"))
        for i in range(runs):
            with self.subTest(run=i):
                self.run_failover_once()
                self.doCleanups()


if __name__ == "__main__":
    unittest.main(verbosity=2)
