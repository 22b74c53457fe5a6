"""The operators' tools of issue 16, compared with redis-server 7.0.15 where
the behaviour is shared: SLOWLOG entries, MONITOR lines, CLIENT REPLY,
LATENCY replies, the INFO field names of every section (and the metric
families prometheus-redis-exporter makes of them), MISCONF after a failed
BGSAVE, rename-command, and the binary's --version / --help /
--test-memory. Skipped (with a message) only when redis-server is missing;
the exporter comparison also when prometheus-redis-exporter is."""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import (BIN, REDIS_SERVER, Client, Error, Node, RedisServer,  # noqa: E402
                     RedisServerNode, free_port, wait_until)

# INFO fields owned by other parts of issue 16 (memory accounting and
# eviction; AOF), left out of the field-name comparison.
EXCLUDED_SECTIONS = ["Memory"]
EXCLUDED_FIELD_PREFIXES = {"Persistence": ["aof_"]}
# Sections whose field names depend on what ran (command names, error
# codes, databases): compared by what both servers report after the same
# commands instead of by order.
DATA_SECTIONS = ["Commandstats", "Errorstats", "Latencystats", "Keyspace"]
# prometheus-redis-exporter metric families made from INFO memory fields.
EXPORTER_MEMORY_FAMILIES = [
    "redis_active_defrag_running", "redis_allocator_active_bytes",
    "redis_allocator_allocated_bytes", "redis_allocator_frag_bytes",
    "redis_allocator_frag_ratio", "redis_allocator_resident_bytes", "redis_allocator_rss_bytes",
    "redis_allocator_rss_ratio", "redis_mem_clients_normal", "redis_mem_clients_slaves",
    "redis_mem_fragmentation_bytes", "redis_mem_not_counted_for_eviction_bytes",
    "redis_memory_used_dataset_bytes", "redis_memory_used_overhead_bytes",
    "redis_memory_used_startup_bytes"]


def info_sections(port, *sections):
    """{section title: [field names in order]} of INFO `sections`."""
    c = Client(port)
    try:
        text = c.call("INFO", *sections).decode()
    finally:
        c.close()
    out, cur = {}, None
    for line in text.splitlines():
        if line.startswith("# "):
            cur = line[2:]
            out[cur] = []
        elif ":" in line and cur is not None:
            out[cur].append(line.split(":", 1)[0])
    return out


def monitor_lines(mon, n, timeout=5.0):
    """The next `n` MONITOR lines on the connection `mon`."""
    mon.sock.settimeout(timeout)
    return [mon.read() for _ in range(n)]


def normalize_monitor(line, client_port):
    """A MONITOR line without its timestamp and with the client's port named."""
    m = re.match(r"^(\d+)\.(\d{6}) \[(\d+) ([^\]]+)\] (.*)$", line)
    assert m, f"not a MONITOR line: {line!r}"
    origin = m.group(4).replace(f":{client_port}", ":PORT")
    return f"[{m.group(3)} {origin}] {m.group(5)}"


@unittest.skipUnless(REDIS_SERVER, "redis-server is not installed")
class OperatorToolsDiffTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Protected configs: the MISCONF test moves `dir`.
        cls.node = Node(args=["--enable-protected-configs", "yes"]).start()
        try:
            cls.redis = RedisServer(args=["--enable-protected-configs", "yes"])
        except BaseException:
            cls.node.cleanup()
            raise
        cls.servers = [cls.node, cls.redis]

    @classmethod
    def tearDownClass(cls):
        cls.node.cleanup()
        cls.redis.cleanup()

    def both(self, fn):
        """fn(port) on shardnode and on redis-server: (ours, theirs)."""
        return fn(self.node.port), fn(self.redis.port)

    def test_info_field_names_match_redis(self):
        print(f"\nINFO comparison leaves out sections {EXCLUDED_SECTIONS} and fields "
              f"{EXCLUDED_FIELD_PREFIXES} (owned by memory/eviction and AOF)", file=sys.stderr)

        def run(port):
            c = Client(port)
            try:
                c.call("CONFIG", "RESETSTAT")
                c.call("SET", "k", "v")
                c.call("MULTI")
                c.call("INCR", "k")
                c.call("EXEC")
                c.call("NOSUCHCOMMAND")
                c.call("CLIENT", "ID")
            finally:
                c.close()
            return info_sections(port, "everything")

        ours, theirs = self.both(run)
        self.assertEqual(list(ours), list(theirs), "sections differ")
        for section, fields in theirs.items():
            if section in EXCLUDED_SECTIONS:
                continue
            prefixes = EXCLUDED_FIELD_PREFIXES.get(section, [])
            keep = [f for f in fields if not any(f.startswith(p) for p in prefixes)]
            got = [f for f in ours[section] if not any(f.startswith(p) for p in prefixes)]
            if section in DATA_SECTIONS:
                self.assertEqual(sorted(got), sorted(keep), section)
            else:
                self.assertEqual(got, keep, section)
        # MULTI and EXEC count as commands; so do subcommands, each its own.
        for name in ("cmdstat_multi", "cmdstat_exec", "cmdstat_client|id"):
            self.assertIn(name, ours["Commandstats"])
        self.assertIn("latency_percentiles_usec_exec", ours["Latencystats"])

    def test_commandstats_and_latencystats_lines(self):
        def run(port):
            c = Client(port)
            try:
                c.call("CONFIG", "RESETSTAT")
                c.call("MULTI")
                c.call("EXEC")
                c.call("EXEC")  # without MULTI: a failed call
                c.call("GET")  # arity: a rejected call
                text = c.call("INFO", "commandstats", "latencystats").decode()
            finally:
                c.close()
            out = {}
            for line in text.splitlines():
                if line.startswith(("cmdstat_", "latency_percentiles")):
                    k, v = line.split(":", 1)
                    out[k] = re.sub(r"(usec|usec_per_call|p[0-9.]+)=[0-9.]+", r"\1=N", v)
            return out

        ours, theirs = self.both(run)
        self.assertEqual(ours, theirs)
        self.assertEqual(ours["cmdstat_exec"],
                         "calls=2,usec=N,usec_per_call=N,rejected_calls=0,failed_calls=1")

    def test_slowlog_entries_match_redis(self):
        def run(port):
            c = Client(port)
            try:
                c.call("CLIENT", "SETNAME", "slowpoke")
                c.call("CONFIG", "SET", "slowlog-log-slower-than", "0")
                c.call("SLOWLOG", "RESET")
                c.call("SET", "key", "x" * 200)  # argument cut at 128 bytes
                c.call("SADD", "set", *[str(i) for i in range(40)])  # 32 arguments kept
                c.call("AUTH", "secret")  # redacted (refused: no password set)
                c.call("CONFIG", "SET", "masterauth", "pw")  # redacted value
                c.call("EXEC")  # skip-slowlog, even when it fails
                entries = c.call("SLOWLOG", "GET", "-1")
                length = c.call("SLOWLOG", "LEN")
                bad = [c.call("SLOWLOG", "GET", "-2"), c.call("SLOWLOG", "GET", "x"),
                       c.call("SLOWLOG", "LEN", "x"), c.call("SLOWLOG", "NOPE")]
                help_lines = c.call("SLOWLOG", "HELP")
                c.call("CONFIG", "SET", "slowlog-max-len", "2")
                after_trim = c.call("SLOWLOG", "LEN")
                c.call("CONFIG", "SET", "slowlog-log-slower-than", "10000")
                c.call("CONFIG", "SET", "slowlog-max-len", "128")
                c.call("CONFIG", "SET", "masterauth", "")
            finally:
                c.close()
            base = entries[-1][0]
            shaped = []
            for e in entries:
                self.assertEqual(len(e), 6)
                self.assertIsInstance(e[1], int)
                self.assertGreaterEqual(e[2], 0)
                self.assertRegex(e[4].decode(), r"^127\.0\.0\.1:\d+$")
                shaped.append((e[0] - base, e[3], e[5]))
            return shaped, length, bad, help_lines, after_trim

        ours, theirs = self.both(run)
        self.assertEqual(ours, theirs)
        args = {a[0].lower(): a for _, a, _ in ours[0]}
        self.assertEqual(args[b"set"][2], b"x" * 128 + b"... (72 more bytes)")
        self.assertEqual(len(args[b"sadd"]), 32)
        self.assertEqual(args[b"sadd"][-1], b"... (11 more arguments)")
        self.assertEqual(args[b"auth"], [b"AUTH", b"(redacted)"])
        self.assertEqual(ours[0][0][2], b"slowpoke")

    def test_monitor_lines_match_redis(self):
        def run(port):
            mon = Client(port)
            c = Client(port)
            try:
                self.assertEqual(mon.call("MONITOR"), "OK")
                client_port = c.sock.getsockname()[1]
                c.call("SET", "quo\"te", "a b\n\x01")
                c.call("SELECT", "1")
                c.call("GET", "x")
                c.call("SELECT", "0")
                c.call("MULTI")
                c.call("INCR", "n")
                c.call("EXEC")
                c.call("EVAL", "return redis.call('incr', KEYS[1])", "1", "n")
                c.call("AUTH", "user", "pass")
                c.call("CONFIG", "GET", "port")  # admin: not shown
                c.call("PING")
                lines = monitor_lines(mon, 11)  # EVAL shows before its commands
                # A MONITOR client may not touch the keyspace.
                refused = mon.call("GET", "x")
            finally:
                mon.close()
                c.close()
            return [normalize_monitor(line, client_port) for line in lines], refused

        ours, theirs = self.both(run)
        self.assertEqual(ours, theirs)
        self.assertEqual(ours[0][0], '[0 127.0.0.1:PORT] "SET" "quo\\"te" "a b\\n\\x01"')
        self.assertIn('[0 lua] "incr" "n"', ours[0])

    def test_client_reply_matches_redis(self):
        def run(port):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                payload = (b"CLIENT REPLY OFF\r\nSET a 1\r\nGET a\r\nCLIENT REPLY ON\r\n"
                           b"CLIENT REPLY SKIP\r\nINCR a\r\nGET a\r\n"
                           b"CLIENT REPLY BAD\r\nCLIENT REPLY\r\nPING\r\n")
                s.sendall(payload)
                want = b"+PONG\r\n"
                got = b""
                deadline = time.monotonic() + 5
                while not got.endswith(want) and time.monotonic() < deadline:
                    got += s.recv(4096)
                return got

        ours, theirs = self.both(run)
        self.assertEqual(ours, theirs)
        self.assertTrue(ours.startswith(b"+OK\r\n$1\r\n2\r\n-ERR syntax error"), ours)

    def test_latency_replies_match_redis(self):
        def run(port):
            c = Client(port)
            try:
                c.call("CONFIG", "SET", "latency-monitor-threshold", "0")
                out = {"reset_all": c.call("LATENCY", "RESET")}
                out["doctor_off"] = isinstance(c.call("LATENCY", "DOCTOR"), bytes)
                out["latest_empty"] = c.call("LATENCY", "LATEST")
                c.call("CONFIG", "SET", "latency-monitor-threshold", "20")
                c.call("DEBUG", "SLEEP", "0.05")
                latest = c.call("LATENCY", "LATEST")
                history = c.call("LATENCY", "HISTORY", "command")
                out["latest_shape"] = [(e[0], e[2] >= 50, e[3] >= 50) for e in latest]
                out["history_shape"] = [(len(h), h[1] >= 50) for h in history]
                out["graph_ok"] = c.call("LATENCY", "GRAPH", "command").startswith(b"command - ")
                out["graph_none"] = c.call("LATENCY", "GRAPH", "nosuch")
                out["history_none"] = c.call("LATENCY", "HISTORY", "nosuch")
                out["reset_none"] = c.call("LATENCY", "RESET", "nosuch")
                out["reset_one"] = c.call("LATENCY", "RESET", "command")
                out["help"] = c.call("LATENCY", "HELP")
                out["help_arity"] = c.call("LATENCY", "HELP", "x")
                c.call("CONFIG", "RESETSTAT")
                c.call("SET", "a", "b")
                c.call("CLIENT", "ID")
                hist = c.call("LATENCY", "HISTOGRAM", "set", "client", "nosuch")
                out["histogram_shape"] = [
                    (hist[i], hist[i + 1][0], hist[i + 1][1], hist[i + 1][2])
                    for i in range(0, len(hist), 2)]
                buckets = dict(zip(hist[1][3][::2], hist[1][3][1::2]))
                out["buckets_cumulative"] = sorted(buckets.values()) == list(
                    v for _, v in sorted(buckets.items()))
                c.call("CONFIG", "SET", "latency-monitor-threshold", "0")
            finally:
                c.close()
            return out

        ours, theirs = self.both(run)
        self.assertEqual(ours, theirs)
        self.assertEqual(ours["latest_shape"], [(b"command", True, True)])

    def test_misconf_after_a_failed_bgsave(self):
        def run(port):
            gone = tempfile.mkdtemp(prefix="shardnode-misconf-")
            c = Client(port)
            old_dir = c.call("CONFIG", "GET", "dir")[1]
            try:
                c.call("CONFIG", "SET", "save", "3600 1")
                c.call("CONFIG", "SET", "dir", gone)
                os.rmdir(gone)  # the snapshot cannot be written
                c.call("BGSAVE")
                wait_until(lambda: b"rdb_last_bgsave_status:err" in c.call("INFO", "persistence"),
                           timeout=10, what="a failed BGSAVE")
                out = [c.call("SET", "a", "1"), c.call("PING"), c.call("GET", "a"),
                       c.call("MULTI"), c.call("SET", "a", "2"), c.call("EXEC")]
                c.call("CONFIG", "SET", "stop-writes-on-bgsave-error", "no")
                out.append(c.call("SET", "a", "3"))
                c.call("CONFIG", "SET", "stop-writes-on-bgsave-error", "yes")
                c.call("CONFIG", "SET", "save", "")
                out.append(c.call("SET", "a", "4"))  # no save points: no MISCONF
            finally:
                c.call("CONFIG", "SET", "dir", old_dir)
                c.close()
            return out

        ours, theirs = self.both(run)
        self.assertEqual(ours, theirs)
        self.assertTrue(ours[0].startswith("MISCONF "), ours[0])

    def test_exporter_metric_families_match_redis(self):
        exporter = shutil.which("prometheus-redis-exporter")
        if not exporter:
            self.skipTest("prometheus-redis-exporter is not installed (scripts/install-deps)")
        print(f"\nexporter comparison leaves out the memory families "
              f"{EXPORTER_MEMORY_FAMILIES}", file=sys.stderr)

        def scrape(port):
            web = free_port(bus_offset=False)
            proc = subprocess.Popen(
                [exporter, "-redis.addr", f"redis://127.0.0.1:{port}",
                 "-web.listen-address", f"127.0.0.1:{web}"],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            body = ""
            try:
                def fetched():
                    nonlocal body
                    try:
                        body = urllib.request.urlopen(f"http://127.0.0.1:{web}/metrics",
                                                      timeout=5).read().decode()
                        return True
                    except OSError:
                        return False
                wait_until(fetched, timeout=20, what="the exporter's /metrics")
            finally:
                proc.terminate()
                err = proc.communicate(timeout=10)[1].decode()
            families = {line.split()[2] for line in body.splitlines()
                        if line.startswith("# TYPE ")}
            return families, err, body

        (ours, our_err, body), (theirs, _, _) = self.both(scrape)
        self.assertIn('redis_exporter_last_scrape_error{err=""} 0', body)
        self.assertNotIn("unknown command", our_err)
        self.assertEqual(sorted(ours - theirs), [])
        self.assertEqual(sorted(theirs - ours - set(EXPORTER_MEMORY_FAMILIES)), [])
        for family in ("redis_slowlog_length", "redis_latency_percentiles_usec",
                       "redis_commands_total"):
            self.assertIn(family, ours)


def role(port):
    c = Client(port)
    try:
        return c.call("ROLE")
    finally:
        c.close()


def get(port, key):
    c = Client(port)
    try:
        return c.call("GET", key)
    finally:
        c.close()


def replica_online(primary_port):
    c = Client(primary_port)
    try:
        return b"state=online" in c.call("INFO", "replication")
    finally:
        c.close()


@unittest.skipUnless(REDIS_SERVER, "redis-server is not installed")
class FailoverTest(unittest.TestCase):
    def test_errors_match_redis(self):
        def run(port):
            c = Client(port)
            try:
                return [c.call("FAILOVER", "ABORT"), c.call("FAILOVER", "TIMEOUT", "0"),
                         c.call("FAILOVER", "TIMEOUT", "x"), c.call("FAILOVER", "BOGUS"),
                         c.call("FAILOVER", "TO", "127.0.0.1"), c.call("FAILOVER"),
                         c.call("FAILOVER", "TO", "127.0.0.1", "1", "FORCE")]
            finally:
                c.close()

        with Node() as node:
            ours = run(node.port)
        redis = RedisServer()
        try:
            theirs = run(redis.port)
        finally:
            redis.cleanup()
        self.assertEqual(ours, theirs)
        self.assertEqual(ours[5], "ERR FAILOVER requires connected replicas.")

    def failover(self, primary, replica):
        """FAILOVER on `primary` (its one replica `replica`): the roles swap and
        the data written before survives; checks the errors of a replica."""
        c = Client(primary.port)
        try:
            self.assertEqual(c.call("SET", "before", "1"), "OK")
            wait_until(lambda: replica_online(primary.port), timeout=20, what="replica online")
            self.assertEqual(c.call("FAILOVER", "TO", "127.0.0.1", str(free_port()), "TIMEOUT",
                                    "100"), "ERR FAILOVER target HOST and PORT is not a replica.")
            self.assertEqual(c.call("FAILOVER", "TO", "127.0.0.1", str(replica.port)), "OK")
            wait_until(lambda: role(replica.port)[0] == b"master", timeout=20,
                       what="the replica to become primary")
            wait_until(lambda: role(primary.port)[0] == b"slave" and
                       role(primary.port)[3] == b"connected", timeout=20,
                       what="the old primary to follow the new one")
            self.assertEqual(c.call("FAILOVER"), "ERR FAILOVER is not valid when server is a replica.")
            self.assertIn(b"master_failover_state:no-failover", c.call("INFO", "replication"))
        finally:
            c.close()
        n = Client(replica.port)
        try:
            self.assertEqual(n.call("GET", "before"), b"1")
            self.assertEqual(n.call("SET", "after", "2"), "OK")
        finally:
            n.close()
        wait_until(lambda: get(primary.port, "after") == b"2", timeout=10,
                   what="the write to reach the old primary")

    def test_failover_between_shardnodes(self):
        with Node() as primary:
            with Node(args=["--replicaof", "127.0.0.1", str(primary.port)]) as replica:
                self.failover(primary, replica)

    def test_failover_from_shardnode_to_redis_server(self):
        with Node() as primary:
            redis = RedisServer(args=["--replicaof", "127.0.0.1", str(primary.port)])
            try:
                self.failover(primary, redis)
            finally:
                redis.cleanup()

    def test_failover_from_redis_server_to_shardnode(self):
        redis = RedisServer()
        try:
            with Node(args=["--replicaof", "127.0.0.1", str(redis.port)]) as replica:
                self.failover(redis, replica)
        finally:
            redis.cleanup()

    def test_abort_and_timeout_resume_writers(self):
        with Node() as primary:
            with Node(args=["--replicaof", "127.0.0.1", str(primary.port)]) as replica:
                wait_until(lambda: replica_online(primary.port), timeout=20,
                           what="replica online")
                c = Client(primary.port)
                try:
                    # The replica stops acknowledging: the failover waits.
                    replica.proc.send_signal(signal.SIGSTOP)
                    c.call("SET", "k", "1")
                    self.assertEqual(c.call("FAILOVER", "TIMEOUT", "300"), "OK")
                    self.assertIn(b"master_failover_state:waiting-for-sync",
                                  c.call("INFO", "replication"))
                    wait_until(lambda: b"no-failover" in c.call("INFO", "replication"),
                               timeout=10, what="the failover to time out")
                    self.assertEqual(c.call("SET", "k", "2"), "OK")
                    self.assertEqual(c.call("FAILOVER"), "OK")
                    self.assertEqual(c.call("REPLICAOF", "NO", "ONE"),
                                     "ERR REPLICAOF not allowed while failing over.")
                    self.assertEqual(c.call("FAILOVER", "ABORT"), "OK")
                    self.assertEqual(c.call("SET", "k", "3"), "OK")
                    self.assertEqual(role(primary.port)[0], b"master")
                finally:
                    c.close()
                    replica.proc.send_signal(signal.SIGCONT)


class RenameCommandTest(unittest.TestCase):
    CONFIG = 'rename-command get myget\nrename-command flushall ""\n'

    def replies(self, port):
        c = Client(port)
        try:
            return [c.call("SET", "k", "v"), c.call("MYGET", "k"), c.call("GET", "k"),
                    c.call("FLUSHALL"), c.call("INFO", "commandstats").count(b"cmdstat_get:")]
        finally:
            c.close()

    def test_rename_command_in_the_config_file(self):
        with Node(config_text=self.CONFIG) as node:
            ours = self.replies(node.port)
        self.assertEqual(ours[1], b"v")
        self.assertTrue(ours[2].startswith("ERR unknown command 'GET'"), ours[2])
        self.assertEqual(ours[4], 1)  # counted under its own name, as Redis
        if REDIS_SERVER:
            class ConfiguredRedis(RedisServerNode):
                def command_line(inner):
                    path = os.path.join(inner.dir, "redis.conf")
                    with open(path, "w") as f:
                        f.write(self.CONFIG)
                    return [REDIS_SERVER, path] + super().command_line()[1:]
            with ConfiguredRedis() as redis:
                self.assertEqual(ours, self.replies(redis.port))

    def test_rename_of_an_unknown_command_stops_startup(self):
        node = Node(config_text="rename-command nosuch other\n")
        try:
            node.start(wait=False)
            self.assertEqual(node.proc.wait(20), 1)
            self.assertIn("No such command in rename-command", node.output())
        finally:
            node.cleanup()


class BinaryTest(unittest.TestCase):
    def run_bin(self, *args):
        return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=20)

    def test_version(self):
        for flag in ("--version", "-v"):
            out = self.run_bin(flag)
            self.assertEqual(out.returncode, 0)
            self.assertRegex(out.stdout, r"^shardnode v=\S+ .*compatible with Redis 7\.0\.15")

    def test_help(self):
        for flag in ("--help", "-h"):
            out = self.run_bin(flag)
            self.assertEqual(out.returncode, 1)  # as redis-server
            self.assertIn("[/path/to/redis.conf] [options] [-]", out.stderr)
            self.assertIn("--port 7777", out.stderr)

    def test_test_memory_fails_clearly(self):
        out = self.run_bin("--test-memory", "16")
        self.assertEqual(out.returncode, 1)
        self.assertIn("no memory tester", out.stderr)


if __name__ == "__main__":
    unittest.main()
