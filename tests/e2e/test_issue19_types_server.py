"""Issue 19, what Redis's unit/other, unit/lazyfree, unit/type/hash,
unit/type/set, unit/type/list and integration/convert-*-hash-on-load found,
each checked on shardnode and on redis-server 7.0.15 in the same test:

- RESET ends client-side caching (CLIENT LIST flags=N again) and CLIENT
  REPLY OFF;
- FLUSHALL with save points configured saves at once: the dirty counter
  (rdb_changes_since_last_save) is 0 afterwards and the file is written;
- a command of 100k arguments does not keep its argument vector: after
  UNLINK of what it built, used_memory falls back on the same connection;
- UNLINK (and DEL with lazyfree-lazy-user-del) frees a value of more than
  64 units of free effort in the background: lazyfreed_objects counts it
  (a small value is freed at once and not counted);
- hash-max-listpack-entries / -value are honoured when set at run time
  (HINCRBYFLOAT's longer result converts; a huge limit keeps listpack;
  RESTORE converts a payload over the limits);
- HRANDFIELD / SRANDMEMBER with a negative count on a small hashtable
  encoded key draw every member about equally often (chi-square, 9
  degrees of freedom, under 40 as Redis's tests require);
- an AOF rewrite without RDB preamble writes streams as commands (XADD,
  XSETID, XGROUP CREATE, XCLAIM, XGROUP CREATECONSUMER): DEBUG LOADAOF
  gives the same DEBUG DIGEST (integration/dismiss-mem);
- DEBUG SET-SKIP-CHECKSUM-VALIDATION lets RESTORE take a payload whose
  CRC is wrong (integration/corrupt-dump-fuzzer); DEBUG LOG writes to the
  log (integration/rdb);
- a client blocked on a key that a transaction filled but that expired
  while it ran (DEBUG SLEEP inside MULTI) stays blocked: blocked clients
  are served with the clock as it is after the command (unit/type/list);
- RESTORE of a payload whose ziplist does not decode logs why at verbose
  level ("... integrity check failed", integration/corrupt-dump);
- redis-cli --functions-rdb (REPLCONF rdb-filter-only functions) gets an
  image with the function libraries and no key; --rdb gets everything
  (integration/redis-cli);
- proc-title-template is what /proc/<pid>/cmdline shows after CONFIG SET
  (unit/other "Process title set as expected");
- CONFIG SET bind listens at the new addresses at once (an address that
  cannot be bound fails with "Failed to bind to specified addresses" and
  the old ones stay; "" refuses new connections); bind-source-addr is the
  replica link's local address, and protected mode refuses a client from
  127.0.0.2 (only 127.0.0.1 and ::1 are local to Redis; unit/networking);
- oom-score-adj / oom-score-adj-values set /proc/<pid>/oom_score_adj
  (relative to the score from before, absolute, the replica's class after
  REPLICAOF, the old score back when turned off; unit/oom-score-adj);
- a stop signal's shutdown happens in the cron (DEBUG PAUSE-CRON holds it
  back) and SHUTDOWN ABORT cancels it; a second SIGINT during the final
  save exits at once and removes temp-<pid>.rdb (unit/shutdown);
- DEBUG QUICKLIST-PACKED-THRESHOLD is accepted (and refused past 4 GB as
  Redis does) and lists keep their values with every element in a plain
  node.

Skipped (with a message) only when redis-server is missing."""
import os
import signal
import socket
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (REDIS_SERVER, Client, Error, Node, RedisServer,  # noqa: E402
                     info_int, start_diff_pair, wait_until)




def read_text(path):
    with open(path) as f:
        return f.read()


def chi_square(values):
    """Redis's chi_square_value (tests/support/util.tcl) over `values`."""
    counts = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    expected = len(values) / len(counts)
    return sum((c - expected) ** 2 / expected for c in counts.values())


@unittest.skipUnless(REDIS_SERVER, "redis-server not installed")
class ServerBehaviourTest(unittest.TestCase):
    def setUp(self):
        self.node, self.redis = start_diff_pair()
        self.servers = (self.node, self.redis)
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        self.node.cleanup()
        self.redis.cleanup()

    def client(self, server):
        c = Client(server.port, timeout=30)
        self.clients.append(c)
        return c

    def test_reset_ends_tracking_and_reply_off(self):
        for server in self.servers:
            c = self.client(server)
            self.assertEqual(c.call("CLIENT", "SETNAME", "test-client"), "OK")
            self.assertEqual(c.call("CLIENT", "TRACKING", "on"), "OK")
            self.assertEqual(c.call("RESET"), "RESET", server.port)
            line = c.call("CLIENT", "LIST").decode()
            self.assertIn(" flags=N ", line, server.port)
            self.assertIn(" name= ", line, server.port)
            self.assertEqual(c.call("CLIENT", "TRACKINGINFO")[1], [b"off"], server.port)
            # CLIENT REPLY OFF: RESET's own reply comes, and so do the next ones.
            c.send("CLIENT", "REPLY", "OFF")
            self.assertEqual(c.call("RESET"), "RESET", server.port)
            self.assertEqual(c.call("PING"), "PONG", server.port)

    def test_flushall_with_save_points_saves_and_resets_dirty(self):
        for server in self.servers:
            c = self.client(server)
            self.assertEqual(c.call("CONFIG", "SET", "save", "3600 1 300 100 60 10000"), "OK")
            saves = info_int(c, "persistence", "rdb_saves")
            c.call("SET", "key", "value")
            self.assertFalse(os.path.exists(os.path.join(server.dir, "dump.rdb")), server.port)
            self.assertEqual(c.call("FLUSHALL"), "OK")
            self.assertEqual(info_int(c, "persistence", "rdb_changes_since_last_save"), 0,
                             server.port)
            # A save, but not one INFO rdb_saves counts (only SAVE and BGSAVE are).
            self.assertEqual(info_int(c, "persistence", "rdb_saves"), saves, server.port)
            self.assertTrue(os.path.exists(os.path.join(server.dir, "dump.rdb")), server.port)
            # Without save points FLUSHALL only counts its change.
            self.assertEqual(c.call("CONFIG", "SET", "save", ""), "OK")
            c.call("SET", "key", "value")
            c.call("FLUSHALL")
            self.assertGreater(info_int(c, "persistence", "rdb_changes_since_last_save"), 0,
                               server.port)

    def test_big_command_arguments_are_freed(self):
        members = [str(i) for i in range(100000)]
        for server in self.servers:
            c = self.client(server)
            orig = info_int(c, "memory", "used_memory")
            self.assertEqual(c.call("SADD", "myset", *members), 100000)
            self.assertEqual(c.call("SCARD", "myset"), 100000)
            peak = info_int(c, "memory", "used_memory")
            self.assertGreater(peak, orig + 1000000, server.port)
            self.assertEqual(c.call("UNLINK", "myset"), 1)
            wait_until(lambda: info_int(c, "memory", "used_memory") < min(peak, orig * 2),
                       timeout=5, what=f"memory reclaimed on {server.port}")

    def test_unlink_frees_big_values_in_the_background(self):
        for server in self.servers:
            c = self.client(server)
            self.assertEqual(c.call("CONFIG", "RESETSTAT"), "OK")
            c.call("CONFIG", "SET", "stream-node-max-entries", "5")
            for j in range(1000):
                c.call("XADD", "stream", "*", "foo" if j % 10 else "bar", str(j))
            c.call("XGROUP", "CREATE", "stream", "mygroup", "0")
            c.call("XREADGROUP", "GROUP", "mygroup", "Alice", "COUNT", "2", "STREAMS", "stream",
                   ">")
            c.call("SADD", "small", "a", "b")
            self.assertEqual(c.call("UNLINK", "stream", "small"), 2)
            wait_until(lambda: info_int(c, "memory", "lazyfree_pending_objects") == 0,
                       timeout=5, what=f"lazyfree done on {server.port}")
            self.assertEqual(info_int(c, "memory", "lazyfreed_objects"), 1, server.port)
            # A small stream (a group created then destroyed) is freed at once.
            c.call("XADD", "s", "*", "a", "b")
            c.call("XGROUP", "CREATE", "s", "bla", "$")
            c.call("XGROUP", "DESTROY", "s", "bla")
            c.call("UNLINK", "s")
            # DEL frees where it runs unless lazyfree-lazy-user-del is set.
            c.call("RPUSH", "list", *[str(i) * 3000 for i in range(200)])
            c.call("DEL", "list")
            self.assertEqual(info_int(c, "memory", "lazyfreed_objects"), 1, server.port)
            c.call("CONFIG", "SET", "lazyfree-lazy-user-del", "yes")
            c.call("RPUSH", "list", *[str(i) * 3000 for i in range(200)])
            c.call("DEL", "list")
            wait_until(lambda: info_int(c, "memory", "lazyfreed_objects") == 2,
                       timeout=5, what=f"DEL freed lazily on {server.port}")
            self.assertEqual(c.call("CONFIG", "RESETSTAT"), "OK")
            self.assertEqual(info_int(c, "memory", "lazyfreed_objects"), 0, server.port)

    def test_aof_rewrite_without_preamble_keeps_streams(self):
        for server in self.servers:
            c = self.client(server)
            c.call("XADD", "st", "1-1", "a", "1", "b", "2")
            c.call("XADD", "st", "2-1", "a", "3")
            c.call("XADD", "st", "3-1", "c", "4")
            c.call("XDEL", "st", "3-1")
            c.call("XGROUP", "CREATE", "st", "g1", "0")
            c.call("XREADGROUP", "GROUP", "g1", "alice", "COUNT", "1", "STREAMS", "st", ">")
            c.call("XGROUP", "CREATECONSUMER", "st", "g1", "bob")
            c.call("XGROUP", "CREATE", "st", "g2", "$")
            c.call("XADD", "empty", "MAXLEN", "0", "5-5", "x", "y")
            c.call("SET", "plain", "v")
            digest = c.call("DEBUG", "DIGEST")
            self.assertEqual(c.call("CONFIG", "SET", "aof-use-rdb-preamble", "no"), "OK")
            self.assertIsInstance(c.call("BGREWRITEAOF"), str)
            wait_until(lambda: info_int(c, "persistence", "aof_rewrite_in_progress") == 0 and
                       info_int(c, "persistence", "aof_rewrite_scheduled") == 0,
                       timeout=10, what=f"the rewrite on {server.port}")
            self.assertEqual(c.call("DEBUG", "LOADAOF"), "OK")
            self.assertEqual(c.call("DEBUG", "DIGEST"), digest, server.port)
            self.assertEqual(c.call("XPENDING", "st", "g1")[0], 1)
            self.assertEqual(c.call("XINFO", "STREAM", "empty")[1], 0)

    def test_debug_skip_checksum_validation(self):
        for server in self.servers:
            c = self.client(server)
            c.call("RPUSH", "l", "a", "b", "c")
            dump = c.call("DUMP", "l")
            bad = dump[:-8] + bytes(8)  # a wrong CRC
            err = c.call("RESTORE", "l2", "0", bad)
            self.assertEqual(err, "ERR DUMP payload version or checksum are wrong", server.port)
            self.assertEqual(c.call("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "1"), "OK")
            self.assertEqual(c.call("RESTORE", "l2", "0", bad), "OK", server.port)
            self.assertEqual(c.call("LRANGE", "l2", "0", "-1"), [b"a", b"b", b"c"])
            self.assertEqual(c.call("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "0"), "OK")
            self.assertIsInstance(c.call("RESTORE", "l3", "0", bad), Error)
            self.assertEqual(c.call("DEBUG", "LOG", "hello"), "OK")
        for server in self.servers:
            self.assertIn("DEBUG LOG: hello",
                          read_text(server.log_path if server is self.node else
                                    os.path.join(server.dir, "redis.log")), server.port)

    def test_blocked_client_not_served_from_a_key_expired_during_exec(self):
        for server in self.servers:
            c = self.client(server)
            blocked = self.client(server)
            c.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")
            bid = blocked.call("CLIENT", "ID")
            blocked.send("BRPOP", "k", "0")
            wait_until(lambda: info_int(c, "clients", "blocked_clients") == 1, timeout=5,
                       what=f"a blocked client on {server.port}")
            c.call("MULTI")
            c.call("RPUSH", "k", "hello")
            c.call("PEXPIRE", "k", "100")
            c.call("DEBUG", "SLEEP", "0.2")
            self.assertEqual(c.call("EXEC"), [1, 1, "OK"])
            line = c.call("CLIENT", "LIST", "ID", str(bid)).decode()
            self.assertIn(" flags=b ", line, server.port)
            self.assertEqual(c.call("EXISTS", "k"), 0)
            self.assertEqual(c.call("CLIENT", "UNBLOCK", str(bid)), 1)
            self.assertIsNone(blocked.read())
            c.call("DEBUG", "SET-ACTIVE-EXPIRE", "1")

    def test_corrupt_restore_payload_is_logged(self):
        payload = (b"\x0D\x1B\x25\x00\x00\x00\x16\x00\x00\x00\x04\x00\x00\x02\x61\x00"
                   b"\x04\x02\x62\x00\x04\x02\x63\x00\x04\x02\x64\x00\xFF\x09\x00"
                   b"\xB7\xF7\x6E\x9F\x43\x43\x14\xC6")
        for server in self.servers:
            c = self.client(server)
            c.call("CONFIG", "SET", "loglevel", "verbose")
            self.assertEqual(c.call("RESTORE", "key", "0", payload), "ERR Bad data format",
                             server.port)
        for server, path in ((self.node, self.node.log_path),
                             (self.redis, os.path.join(self.redis.dir, "redis.log"))):
            wait_until(lambda: "integrity check failed" in read_text(path), timeout=5,
                       what=f"the reason in the log of {server.port}")

    def test_redis_cli_functions_rdb_holds_no_keys(self):
        for server in self.servers:
            c = self.client(server)
            self.assertEqual(c.call("DEBUG", "POPULATE", "1000", "key", "10"), "OK")
            self.assertEqual(c.call("FUNCTION", "LOAD", "#!lua name=lib1\n"
                                    "redis.register_function('func1', function() return 123 end)"),
                             b"lib1")
            out = os.path.join(server.dir, "cli.rdb")
            for args, keys in ((["--functions-rdb", out], 0), (["--rdb", out], 1000)):
                run = subprocess.run(["redis-cli", "-p", str(server.port)] + args,
                                     capture_output=True, text=True, timeout=60)
                self.assertIn("Transfer finished with success", run.stdout + run.stderr,
                              server.port)
                # Loaded by a fresh shardnode: the keys only in the full image.
                check = Node()
                os.makedirs(check.dir, exist_ok=True)
                os.replace(out, os.path.join(check.dir, "dump.rdb"))
                check.start()
                try:
                    cc = Client(check.port)
                    self.assertEqual(cc.call("DBSIZE"), keys, (server.port, args))
                    self.assertEqual(cc.call("FCALL", "func1", "0"), 123, (server.port, args))
                    cc.close()
                finally:
                    check.cleanup()

    def test_proc_title_template(self):
        for server in self.servers:
            c = self.client(server)
            self.assertEqual(c.call("CONFIG", "SET", "proc-title-template",
                                    "TEST {title} {listen-addr} {port} {tls-port} {{x}}"), "OK")
            with open(f"/proc/{server.proc.pid}/cmdline", "rb") as f:
                words = f.read().rstrip(b"\0").decode().split()
            self.assertEqual(words[0], "TEST", server.port)
            self.assertTrue(words[1].endswith(os.path.basename(server.command_line()[0])),
                            (server.port, words))
            self.assertEqual(words[2:], [f"127.0.0.1:{server.port}", str(server.port), "0", "{x}}"],
                             server.port)
            err = c.call("CONFIG", "SET", "proc-title-template", "{invalid-var}")
            self.assertIn("template format is invalid", err, server.port)

    def test_config_set_bind(self):
        for server in self.servers:
            c = self.client(server)
            err = c.call("CONFIG", "SET", "bind", "999.999.999.999")
            self.assertIsInstance(err, Error)
            self.assertIn("Failed to bind to specified addresses", err, server.port)
            self.assertEqual(c.call("CONFIG", "GET", "bind")[1], b"127.0.0.1")
            other = self.client(server)  # the old address still serves
            self.assertEqual(other.call("PING"), "PONG")
            self.assertEqual(c.call("CONFIG", "SET", "bind", ""), "OK")
            with self.assertRaises(ConnectionRefusedError, msg=server.port):
                Client(server.port, timeout=2)
            self.assertEqual(c.call("PING"), "PONG")  # connected clients stay
            self.assertEqual(c.call("CONFIG", "SET", "bind", "127.0.0.1"), "OK")
            self.assertEqual(self.client(server).call("PING"), "PONG")

    def test_oom_score_adj(self):
        def score(server):
            with open(f"/proc/{server.proc.pid}/oom_score_adj") as f:
                return int(f.read())

        def set_score(server, v):
            with open(f"/proc/{server.proc.pid}/oom_score_adj", "w") as f:
                f.write(f"{v}\n")

        for server in self.servers:
            c = self.client(server)
            set_score(server, 22)
            c.call("CONFIG", "SET", "oom-score-adj-values", "9 19 29")
            self.assertEqual(score(server), 22, server.port)  # off: left alone
            self.assertEqual(c.call("CONFIG", "SET", "oom-score-adj", "yes"), "OK")
            self.assertEqual(score(server), 31, server.port)
            c.call("CONFIG", "SET", "oom-score-adj", "absolute")
            self.assertEqual(score(server), 9, server.port)
            c.call("REPLICAOF", "127.0.0.1", "1")  # the replica's class
            self.assertEqual(score(server), 19, server.port)
            c.call("REPLICAOF", "NO", "ONE")
            self.assertEqual(score(server), 9, server.port)
            c.call("CONFIG", "SET", "oom-score-adj", "no")
            self.assertEqual(score(server), 22, server.port)  # the score from before

    def test_replica_link_from_bind_source_addr(self):
        for kind in (Node, None):
            primary = Node().start() if kind is Node else RedisServer()
            replica = Node().start() if kind is Node else RedisServer()
            try:
                pc, rc = Client(primary.port), Client(replica.port)
                # Protected mode lets in 127.0.0.1 and ::1 only.
                with socket.socket() as s:
                    s.settimeout(5)
                    s.bind(("127.0.0.2", 0))
                    s.connect(("127.0.0.1", primary.port))
                    s.sendall(b"PING\r\n")
                    self.assertTrue(s.recv(100).startswith(b"-DENIED"), primary.port)
                self.assertEqual(pc.call("CONFIG", "SET", "protected-mode", "no"), "OK")
                self.assertEqual(rc.call("CONFIG", "SET", "bind-source-addr", "127.0.0.2"), "OK")
                rc.call("REPLICAOF", "127.0.0.1", str(primary.port))
                wait_until(lambda: b"master_link_status:up" in rc.call("INFO", "replication"),
                           timeout=10, what=f"the link of {replica.port}")
                self.assertIn(b"slave0:ip=127.0.0.2,", pc.call("INFO", "replication"),
                              primary.port)
                pc.close()
                rc.close()
            finally:
                primary.cleanup()
                replica.cleanup()

    def test_signal_shutdown_waits_for_the_cron_and_can_be_aborted(self):
        for server in self.servers:
            c = self.client(server)
            log = (server.log_path if server is self.node else
                   os.path.join(server.dir, "redis.log"))
            self.assertEqual(c.call("SHUTDOWN", "ABORT"), "ERR No shutdown in progress.")
            self.assertEqual(c.call("DEBUG", "PAUSE-CRON", "1"), "OK")
            server.proc.send_signal(signal.SIGTERM)
            wait_until(lambda: "Received SIGTERM scheduling shutdown" in read_text(log),
                       timeout=5, what=f"the signal seen by {server.port}")
            self.assertIsNone(server.proc.poll(), server.port)  # the cron is paused
            self.assertEqual(c.call("SHUTDOWN", "ABORT"), "OK", server.port)
            self.assertIn("Shutdown manually aborted", read_text(log), server.port)
            self.assertEqual(c.call("DEBUG", "PAUSE-CRON", "0"), "OK")
            self.assertEqual(c.call("PING"), "PONG")
            # A second SIGINT while the final save runs exits at once and
            # removes the save's temporary file.
            for i in range(20):
                c.call("SET", str(i), str(i))
            c.call("CONFIG", "SET", "save", "3600 1")
            c.call("CONFIG", "SET", "rdb-key-save-delay", "100000")  # 2 s for 20 keys
            temp = os.path.join(server.dir, f"temp-{server.proc.pid}.rdb")
            server.proc.send_signal(signal.SIGINT)
            wait_until(lambda: os.path.exists(temp), timeout=5,
                       what=f"the final save's file of {server.port}")
            server.proc.send_signal(signal.SIGINT)
            server.proc.wait(timeout=5)
            self.assertNotEqual(server.proc.returncode, 0, server.port)
            self.assertFalse(os.path.exists(temp), server.port)

    def test_hash_listpack_limits_set_at_run_time(self):
        for server in self.servers:
            c = self.client(server)
            self.assertEqual(c.call("CONFIG", "SET", "hash-max-listpack-value", "8"), "OK")
            c.call("HSET", "smallhash", "tmp", "0")
            c.call("HSET", "bighash", "tmp", "0")
            c.call("HINCRBYFLOAT", "smallhash", "tmp", "0.000005")
            c.call("HINCRBYFLOAT", "bighash", "tmp", "0.0000005")
            self.assertEqual(c.call("OBJECT", "ENCODING", "smallhash"), b"listpack")
            self.assertEqual(c.call("OBJECT", "ENCODING", "bighash"), b"hashtable", server.port)
            c.call("CONFIG", "SET", "hash-max-listpack-value", "1000000000")
            c.call("CONFIG", "SET", "hash-max-listpack-entries", "1000000000")
            for i in range(600):
                c.call("HSET", "k", f"f{i}", "v")
            c.call("HSET", "k", "long", "x" * 65535)
            self.assertEqual(c.call("OBJECT", "ENCODING", "k"), b"listpack", server.port)
            self.assertEqual(c.call("HKEYS", "k")[:3], [b"f0", b"f1", b"f2"])
            dump = c.call("DUMP", "k")
            c.call("CONFIG", "SET", "hash-max-listpack-entries", "2")
            self.assertEqual(c.call("RESTORE", "kk", "0", dump), "OK")
            self.assertEqual(c.call("OBJECT", "ENCODING", "kk"), b"hashtable", server.port)
            self.assertEqual(c.call("HLEN", "kk"), 601)
            self.assertEqual(c.call("CONFIG", "GET", "hash-max-ziplist-entries"),
                             [b"hash-max-ziplist-entries", b"2"])

    def test_random_members_of_a_small_table_are_uniform(self):
        for server in self.servers:
            c = self.client(server)
            c.call("CONFIG", "SET", "hash-max-listpack-value", "10")
            fields = []
            for i in range(9):
                fields += [f"f{i}", str(i)]
            fields += ["x" * 80, "9"]
            c.call("HSET", "myhash", *fields)
            self.assertEqual(c.call("OBJECT", "ENCODING", "myhash"), b"hashtable")
            c.call("SADD", "myset", *[f"m{i}" for i in range(9)], "x" * 80)
            self.assertEqual(c.call("OBJECT", "ENCODING", "myset"), b"hashtable")
            for cmd in (("HRANDFIELD", "myhash", "-1000"), ("SRANDMEMBER", "myset", "-1000")):
                res = c.call(*cmd)
                self.assertEqual(len(res), 1000)
                self.assertEqual(len(set(res)), 10, (server.port, cmd))
                self.assertLess(chi_square(res), 40, (server.port, cmd))
            # Distinct members, two at a time (Redis's PATH 4).
            for cmd in (("HRANDFIELD", "myhash", "2"), ("SRANDMEMBER", "myset", "2")):
                res = []
                for _ in range(500):
                    pair = c.call(*cmd)
                    self.assertEqual(len(set(pair)), 2)
                    res += pair
                self.assertLess(chi_square(res), 40, (server.port, cmd))

    def test_debug_quicklist_packed_threshold(self):
        for server in self.servers:
            c = self.client(server)
            self.assertEqual(c.call("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1b"), "OK")
            for v in ("a" * 500, "9", "b" * 10):
                c.call("RPUSH", "lst", v)
            c.call("LINSERT", "lst", "BEFORE", "9", "8")
            c.call("LSET", "lst", 0, "d" * 50001)
            self.assertEqual(c.call("LRANGE", "lst", 0, -1),
                             [b"d" * 50001, b"8", b"9", b"b" * 10], server.port)
            self.assertEqual(c.call("RPOP", "lst"), b"b" * 10)
            err = c.call("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "5gb")
            self.assertIsInstance(err, Error)
            self.assertEqual(err, "ERR argument must be a memory value bigger than 1 and smaller "
                             "than 4gb", server.port)
            self.assertEqual(c.call("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "0"), "OK")


if __name__ == "__main__":
    unittest.main()
