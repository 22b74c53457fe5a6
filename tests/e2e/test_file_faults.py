"""Crash-consistent files under injected faults (issue 17).

For nodes.conf, dump.rdb, the AOF (base, incr and manifest) and sentinel.conf,
a node is prepared with a known first state, then run again under the
file_faults LD_PRELOAD shim (tests/faults/file_faults.c) while it saves a
sequence of newer states. The shim first only counts the matching calls
(open, write, fsync, rename) of one clean run; then, for each of those
points and each action (SIGKILL before the call, with a torn half write;
SIGKILL just after it; ENOSPC; EIO; a short write then ENOSPC), the run is repeated with that one call
failing, the process is killed with -9 if it still runs, and the node is
restarted without the shim from the same directory. It must start, and what
it loaded must be exactly one of the states of the sequence (never a torn
file, never a good file replaced by a bad one); for the AOF with
appendfsync always, it must also hold every write that was acknowledged.

By default a bounded, evenly spread subset of the points runs (about
MAX_POINTS per file); SHARDNODE_FILE_FAULTS_ALL=1 runs every point with every
action. The shim is build/file_faults.so, next to the shardnode binary
(SHARDNODE_FILE_FAULTS_LIB overrides).
"""
import contextlib
import os
import shutil
import signal
import socket
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import BIN, Client, Error, Node, free_port, wait_until  # noqa: E402

ALL = os.environ.get("SHARDNODE_FILE_FAULTS_ALL") == "1"
MAX_POINTS = int(os.environ.get("SHARDNODE_FILE_FAULTS_POINTS", "6"))
SHIM = os.path.abspath(os.environ.get("SHARDNODE_FILE_FAULTS_LIB") or os.path.join(
    os.path.dirname(os.path.abspath(BIN)), "file_faults.so"))
ACTIONS = ("kill", "kill-after", "enospc", "eio", "short")
# Bounded runs: a kill on every chosen point and one error kind each, in
# turn, so that every kind is covered.
BOUNDED_ERRORS = ("enospc", "eio", "short")


@contextlib.contextmanager
def environment(values):
    """os.environ with `values` set (None: removed) for processes started
    inside the block (the harness's Popen inherits it)."""
    saved = {k: os.environ.get(k) for k in values}
    try:
        for k, v in values.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class ProgramNode(Node):
    """A harness Node with its own command line (sentinel mode, no --save)."""

    def __init__(self, cmd, port, dir):
        super().__init__(port=port, dir=dir)
        self.cmd = cmd

    def command_line(self):
        return self.cmd


def text(reply):
    """Bulk strings (bytes) as str, in nested replies too."""
    if isinstance(reply, bytes):
        return reply.decode(errors="replace")
    if isinstance(reply, list):
        return [text(r) for r in reply]
    return reply


def call(port, *args, timeout=10.0):
    """One command on a fresh connection; an Error, the reply, or the
    exception (a killed node)."""
    try:
        c = Client(port, timeout=timeout)
        try:
            return text(c.call(*args))
        finally:
            c.close()
    except (OSError, ValueError, socket.timeout) as e:
        return e


class Scenario:
    """One file family: how to start the node, the first state, the saves
    that lead to newer states, and how to read the state back."""
    name = ""
    pattern = ""
    extra_env = {}  # for the shim, in every run under it

    def command(self, port, dir):
        raise NotImplementedError

    def prepare(self, port, dir):
        raise NotImplementedError

    def mutate(self, port, progress):
        """Runs the saves; appends to `progress` what was acknowledged."""
        raise NotImplementedError

    def observe(self, port):
        raise NotImplementedError

    def valid(self, observed, progress):
        """None when `observed` is an allowed state, else why not."""
        raise NotImplementedError


def wait_reply(port, predicate, what, timeout=20.0):
    def check():
        r = call(port, "INFO", "persistence")
        if isinstance(r, Exception):
            raise AssertionError(f"node died while waiting for {what}: {r}")
        return predicate(r if isinstance(r, str) else "")
    wait_until(check, timeout=timeout, interval=0.05, what=what)


class RdbScenario(Scenario):
    name = "dump.rdb"
    pattern = "*.rdb"

    def command(self, port, dir):
        return [BIN, "--port", str(port), "--bind", "127.0.0.1", "--dir", dir, "--save", ""]

    def prepare(self, port, dir):
        for i in range(5):
            assert call(port, "SET", f"k{i}", "v1") == "OK"
        assert call(port, "SAVE") == "OK"

    def states(self):
        s1 = {f"k{i}": "v1" for i in range(5)}
        s2 = dict(s1, k0="v2", **{f"n{i}": "x" * 1000 for i in range(20)})
        s3 = dict(s2, k1="v3", big="y" * 200000)
        return [s1, s2, s3]

    def mutate(self, port, progress):
        s1, s2, s3 = self.states()
        for k, v in s2.items():
            if s1.get(k) != v:
                call(port, "SET", k, v)
        if call(port, "SAVE") != "OK":
            return
        progress.append("save")
        for k, v in s3.items():
            if s2.get(k) != v:
                call(port, "SET", k, v)
        if call(port, "BGSAVE") == "Background saving started":
            try:
                wait_reply(port, lambda info: "rdb_bgsave_in_progress:0" in info, "BGSAVE")
            except AssertionError:
                return
            if "rdb_last_bgsave_status:ok" in str(call(port, "INFO", "persistence")):
                progress.append("bgsave")

    def observe(self, port):
        keys = call(port, "KEYS", "*")
        return {k: call(port, "GET", k) for k in sorted(keys)}

    def valid(self, observed, progress):
        states = self.states()
        if observed not in states:
            return f"not one of the saved states: {sorted(observed)[:8]}..."
        # A save that was acknowledged is never lost by a later fault.
        if len(progress) == 2 and observed != states[2]:
            return "BGSAVE reported ok, yet the older file was loaded"
        if len(progress) >= 1 and observed == states[0]:
            return "SAVE replied OK, yet the older file was loaded"
        return None


class AofScenario(Scenario):
    name = "appendonly"
    pattern = "*.aof*"

    def command(self, port, dir):
        return [BIN, "--port", str(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "",
                "--appendonly", "yes", "--appendfsync", "always"]

    def writes(self):
        w = [("a%d" % i, "1") for i in range(4)]
        w.append(("rewrite", None))
        w += [("b%d" % i, "2" * (i * 500 + 1)) for i in range(4)]
        w.append(("rewrite", None))
        w += [("c%d" % i, "3") for i in range(2)]
        return w

    def prepare(self, port, dir):
        for i in range(3):
            assert call(port, "SET", f"p{i}", "0") == "OK"

    def mutate(self, port, progress):
        for key, value in self.writes():
            if key == "rewrite":
                r = call(port, "BGREWRITEAOF")
                if isinstance(r, Exception):
                    return
                try:
                    wait_reply(port, lambda info: "aof_rewrite_in_progress:0" in info and
                               "aof_rewrite_scheduled:0" in info, "BGREWRITEAOF")
                except AssertionError:
                    return
                continue
            r = call(port, "SET", key, value)
            if isinstance(r, Exception):
                progress.append(("unknown", key))  # may or may not have run
                return
            # A refused write (-MISCONF after a failed fsync) did not run.
            progress.append(("ok" if r == "OK" else "refused", key))

    def observe(self, port):
        keys = call(port, "KEYS", "*")
        return {k: call(port, "GET", k) for k in sorted(keys)}

    def valid(self, observed, progress):
        values = {k: v for k, v in self.writes() if k != "rewrite"}
        expected = {f"p{i}": "0" for i in range(3)}
        expected.update({k: values[k] for what, k in progress if what == "ok"})
        unknown = [k for what, k in progress if what == "unknown"]
        allowed = [expected] + [dict(expected, **{k: values[k]}) for k in unknown]
        if observed not in allowed:
            lost = sorted(k for k in expected if k not in observed)
            extra = sorted(k for k in observed if k not in expected)
            return (f"loaded data is not what was acknowledged: lost {lost}, not acknowledged "
                    f"{extra}")
        return None


class NodesConfScenario(Scenario):
    name = "nodes.conf"
    pattern = "nodes*.conf*"

    def command(self, port, dir):
        return [BIN, "--port", str(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "",
                "--cluster-enabled", "yes"]

    def prepare(self, port, dir):
        assert call(port, "CLUSTER", "ADDSLOTSRANGE", "0", "99") == "OK"
        assert call(port, "CLUSTER", "SAVECONFIG") == "OK"
        self.myid = call(port, "CLUSTER", "MYID")

    def steps(self):
        return [("CLUSTER", "ADDSLOTSRANGE", "100", "199"), ("CLUSTER", "BUMPEPOCH"),
                ("CLUSTER", "SAVECONFIG"), ("CLUSTER", "ADDSLOTSRANGE", "200", "299"),
                ("CLUSTER", "SET-CONFIG-EPOCH", "7")]

    def mutate(self, port, progress):
        for step in self.steps():
            r = call(port, *step)
            if isinstance(r, Exception) or isinstance(r, Error):
                return
            progress.append(step)

    def observe(self, port):
        myid = call(port, "CLUSTER", "MYID")
        slots = call(port, "CLUSTER", "SLOTS")
        ranges = sorted((int(s[0]), int(s[1])) for s in slots) if isinstance(slots, list) else slots
        info = call(port, "CLUSTER", "INFO")
        epoch = None
        if isinstance(info, str):
            for line in info.splitlines():
                if line.startswith("cluster_current_epoch:"):
                    epoch = int(line.split(":")[1])
        return (myid, ranges, epoch)

    def valid(self, observed, progress):
        myid, ranges, epoch = observed
        if myid != self.myid:
            return f"node id changed: {myid} != {self.myid}"
        allowed = [([(0, 99)], 0), ([(0, 199)], 0), ([(0, 199)], 1), ([(0, 299)], 1)]
        if (ranges, epoch) not in allowed:
            return f"not a saved state: slots {ranges} epoch {epoch}"
        # ADDSLOTS / BUMPEPOCH / SAVECONFIG reply after the file is saved
        # (fsynced): a later fault cannot take them back.
        done = len(progress)
        if done >= 1 and ranges == [(0, 99)]:
            return "ADDSLOTSRANGE 100 199 replied OK, yet the older config was loaded"
        if done >= 2 and epoch == 0:
            return "BUMPEPOCH replied, yet the older epoch was loaded"
        if done >= 4 and ranges != [(0, 299)]:
            return "ADDSLOTSRANGE 200 299 replied OK, yet the older config was loaded"
        return None


class NodesConfRenameScenario(NodesConfScenario):
    """nodes.conf where the file system cannot exchange two names: each save
    renames the spare over the file (the fallback path)."""
    name = "nodes.conf (rename)"
    extra_env = {"FILE_FAULTS_NO_EXCHANGE": "1"}


class SentinelConfScenario(Scenario):
    name = "sentinel.conf"
    pattern = "sentinel.conf*"

    def command(self, port, dir):
        return [BIN, os.path.join(dir, "sentinel.conf"), "--sentinel"]

    def write_config(self, port, dir):
        self.dead_port = free_port(bus_offset=False)
        with open(os.path.join(dir, "sentinel.conf"), "w") as f:
            f.write(f"port {port}\nbind 127.0.0.1\n"
                    f"sentinel monitor m1 127.0.0.1 {self.dead_port} 2\n"
                    "sentinel down-after-milliseconds m1 60000\n")

    def prepare(self, port, dir):
        # A password with a blank: every rewrite must quote it, or the
        # sentinel refuses its own file at the next start.
        assert call(port, "SENTINEL", "SET", "m1", "auth-pass", "s3cr et") == "OK"
        assert call(port, "SENTINEL", "FLUSHCONFIG") == "OK"
        self.myid = call(port, "SENTINEL", "MYID")

    def steps(self):
        return [("SENTINEL", "SET", "m1", "down-after-milliseconds", "61000"),
                ("SENTINEL", "MONITOR", "m2", "127.0.0.1", str(self.dead_port + 1), "2"),
                ("SENTINEL", "REMOVE", "m1")]

    def mutate(self, port, progress):
        for step in self.steps():
            r = call(port, *step)
            if isinstance(r, Exception) or isinstance(r, Error):
                return
            progress.append(step)

    def observe(self, port):
        myid = call(port, "SENTINEL", "MYID")
        masters = call(port, "SENTINEL", "MASTERS")
        out = []
        if isinstance(masters, list):
            for m in masters:
                fields = dict(zip(m[0::2], m[1::2]))
                out.append((fields.get("name"), fields.get("down-after-milliseconds")))
        return (myid, sorted(out))

    def valid(self, observed, progress):
        myid, masters = observed
        if myid != self.myid:
            return f"sentinel id changed: {myid} != {self.myid}"
        allowed = [[("m1", "60000")], [("m1", "61000")], [("m1", "61000"), ("m2", "30000")],
                   [("m2", "30000")]]
        if masters not in allowed:
            return f"not a saved state: {masters}"
        # SENTINEL SET/MONITOR/REMOVE reply after the config is rewritten.
        if allowed.index(masters) < len(progress):
            return f"{len(progress)} changes acknowledged, state {masters} is older"
        return None


def parse_log(path):
    """(op, n) of every counted call, in order, and the 'fire' lines."""
    points, fired = [], []
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and parts[0] == "fire":
                    fired.append((parts[1], int(parts[2])))
                elif len(parts) >= 2 and parts[0] in ("open", "write", "fsync", "rename"):
                    points.append((parts[0], int(parts[1])))
    except OSError:
        pass
    return points, fired


def spread(items, n):
    """At most n items of `items`, evenly spaced, first and last included."""
    if len(items) <= n:
        return list(items)
    step = (len(items) - 1) / (n - 1)
    return [items[round(i * step)] for i in range(n)]


@unittest.skipUnless(os.path.exists(SHIM), f"file fault shim not built: {SHIM}")
class FileFaultsTest(unittest.TestCase):
    def run_node(self, scenario, dir, shim_env=None, log_name="stdout.log"):
        port = free_port()
        if isinstance(scenario, SentinelConfScenario) and not os.path.exists(
                os.path.join(dir, "sentinel.conf")):
            scenario.write_config(port, dir)
        if isinstance(scenario, SentinelConfScenario):
            # The port is in the config file.
            port = self.sentinel_port(dir)
        node = ProgramNode(scenario.command(port, dir), port, dir)
        node.log_path = os.path.join(dir, log_name)
        env = {"LD_PRELOAD": None, "FILE_FAULTS_PATTERN": None}
        if shim_env:
            env = dict(shim_env, LD_PRELOAD=SHIM)
            # A sanitizer build's runtime must otherwise come first.
            env["ASAN_OPTIONS"] = (os.environ.get("ASAN_OPTIONS", "") +
                                   ":verify_asan_link_order=0").lstrip(":")
        with environment(env):
            node.start(wait=False)
        return node

    @staticmethod
    def sentinel_port(dir):
        with open(os.path.join(dir, "sentinel.conf")) as f:
            for line in f:
                if line.startswith("port "):
                    return int(line.split()[1])
        raise AssertionError("no port line in sentinel.conf")

    def wait_up(self, node, timeout=15):
        """True once the node answers PING; False when it exited first."""
        def up():
            if node.proc.poll() is not None:
                return True
            return node.answers_ping()
        wait_until(up, timeout=timeout, what=f"node on {node.port} to answer or exit")
        return node.proc.poll() is None

    def prepared_dir(self, scenario):
        base = tempfile.mkdtemp(prefix="shardnode-faults-%s-" % scenario.name.split()[0])
        self.addCleanup(shutil.rmtree, base, True)
        prep = os.path.join(base, "prep")
        os.mkdir(prep)
        node = self.run_node(scenario, prep)
        try:
            self.assertTrue(self.wait_up(node), node.output())
            scenario.prepare(node.port, prep)
        finally:
            node.stop(sig=signal.SIGKILL)
        return base, prep

    def fresh_copy(self, base, prep, name):
        d = os.path.join(base, name)
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(prep, d)
        for f in ("stdout.log", "restart.log"):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(d, f))
        return d

    def one_run(self, scenario, base, prep, name, shim_env):
        """A run under the shim, then a restart without it. Returns
        (observed, progress, log path, why invalid or None)."""
        d = self.fresh_copy(base, prep, name)
        log = os.path.join(base, name + ".faults.log")
        with contextlib.suppress(OSError):
            os.unlink(log)
        env = dict(shim_env, FILE_FAULTS_LOG=log, FILE_FAULTS_PATTERN=scenario.pattern,
                   **scenario.extra_env)
        node = self.run_node(scenario, d, env)
        progress = []
        try:
            if self.wait_up(node):
                scenario.mutate(node.port, progress)
        finally:
            node.stop(sig=signal.SIGKILL)
        out = node.output()
        again = self.run_node(scenario, d, log_name="restart.log")
        try:
            if not self.wait_up(again):
                return None, progress, log, (f"the node did not start again:\n{again.output()}"
                                             f"\n--- faulty run:\n{out[-2000:]}")
            observed = scenario.observe(again.port)
            why = scenario.valid(observed, progress)
            if why:
                why += f"\n--- faulty run:\n{out[-2000:]}\n--- restart:\n{again.output()[-2000:]}"
            return observed, progress, log, why
        finally:
            again.stop(sig=signal.SIGKILL)

    def check_scenario(self, scenario):
        base, prep = self.prepared_dir(scenario)
        # A clean run under the shim counts the points and must be valid.
        observed, progress, log, why = self.one_run(scenario, base, prep, "count", {})
        self.assertIsNone(why, why)
        points, _ = parse_log(log)
        self.assertTrue(points, f"no {scenario.pattern} call seen under the shim")
        chosen = points if ALL else spread(points, MAX_POINTS)
        failures, fired_count, runs = [], 0, 0
        for i, (op, n) in enumerate(chosen):
            if ALL:
                actions = ACTIONS
            else:
                actions = ("kill", BOUNDED_ERRORS[i % len(BOUNDED_ERRORS)])
            for action in actions:
                runs += 1
                env = {"FILE_FAULTS_OP": op, "FILE_FAULTS_NTH": str(n),
                       "FILE_FAULTS_ACTION": action}
                name = f"{op}{n}-{action}"
                _, _, log, why = self.one_run(scenario, base, prep, name, env)
                _, fired = parse_log(log)
                fired_count += bool(fired)
                if why:
                    failures.append(f"{scenario.name} {op} #{n} {action}: {why}")
        print(f"{scenario.name}: {len(points)} points, {len(chosen)} tried, {runs} runs, "
              f"{fired_count} faults fired, {len(failures)} failures", file=sys.stderr)
        self.assertEqual(failures, [], "\n\n".join(failures))

    def test_nodes_conf(self):
        self.check_scenario(NodesConfScenario())

    def test_nodes_conf_without_exchange(self):
        self.check_scenario(NodesConfRenameScenario())

    def test_dump_rdb(self):
        self.check_scenario(RdbScenario())

    def test_aof(self):
        self.check_scenario(AofScenario())

    def test_sentinel_conf(self):
        self.check_scenario(SentinelConfScenario())


if __name__ == "__main__":
    unittest.main()
