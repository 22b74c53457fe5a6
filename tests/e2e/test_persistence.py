"""End-to-end persistence: SAVE/BGSAVE/SHUTDOWN write dump.rdb, a restart
loads it (every type, TTLs), a BGSAVE of 1M keys keeps the node serving and
its file is a point-in-time image that redis-server 7.0.15 loads, save points
trigger, a corrupt file stops start-up untouched, DUMP/RESTORE payloads
travel both ways between shardnode and redis-server, DEBUG RELOAD / DIGEST /
SET-ACTIVE-EXPIRE / POPULATE, and cluster mode's start-up reconciliation."""
import os
import shutil
import signal
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import REDIS_SERVER, Client, Error, Node, RedisServerNode, wait_until  # noqa: E402

def info(port, section="persistence"):
    c = Client(port)
    try:
        text = c.call("INFO", section).decode()
    finally:
        c.close()
    return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)


def fill_all_types(c):
    """One key of every type and encoding; returns nothing."""
    c.call("SET", "int", "12345")
    c.call("SET", "str", "hello")
    c.call("SET", "raw", "x" * 300)
    c.call("RPUSH", "list", *[f"e{i}" for i in range(10)])
    c.call("RPUSH", "biglist", *[f"element-{i}" for i in range(3000)])
    c.call("SADD", "intset", *range(20))
    c.call("SADD", "set", *[f"m{i}" for i in range(700)])
    c.call("HSET", "hash", "f1", "v1", "f2", "2")
    c.call("HSET", "bighash", *[x for i in range(600) for x in (f"f{i}", f"v{i}")])
    c.call("ZADD", "zset", "1.5", "a", "-3", "b", "inf", "c")
    c.call("ZADD", "bigzset", *[x for i in range(200) for x in (str(i * 0.25), f"m{i}")])
    c.call("SET", "bin", bytes(range(256)))


class PersistenceTest(unittest.TestCase):
    def test_save_and_restart_keep_types_and_ttls(self):
        with Node() as n:
            c = Client(n.port)
            fill_all_types(c)
            c.call("PEXPIRE", "hash", 100000)
            c.call("PEXPIRE", "biglist", 200000)
            digest = c.call("DEBUG", "DIGEST")
            self.assertNotEqual(digest, "0" * 40)
            expire_at = c.call("PEXPIRETIME", "hash")
            c.call("SET", "short", "v", "PX", 200)
            encodings = {k: c.call("OBJECT", "ENCODING", k)
                         for k in ("int", "str", "raw", "list", "intset", "set", "hash",
                                   "bighash", "zset", "bigzset")}
            self.assertEqual(c.call("SAVE"), "OK")
            self.assertEqual(info(n.port)["rdb_changes_since_last_save"], "0")
            self.assertTrue(os.path.exists(os.path.join(n.dir, "dump.rdb")))
            c.close()
            time.sleep(0.3)  # "short" expires before the restart
            n.stop()
            self.assertEqual(n.proc.returncode, 0)
            n.start()
            c = Client(n.port)
            self.assertEqual(c.call("DEBUG", "DIGEST"), digest)
            self.assertEqual(c.call("PEXPIRETIME", "hash"), expire_at)
            self.assertEqual(c.call("EXISTS", "short"), 0)
            self.assertEqual(c.call("GET", "bin"), bytes(range(256)))
            self.assertEqual(c.call("ZSCORE", "zset", "c"), b"inf")
            for k, enc in encodings.items():
                self.assertEqual(c.call("OBJECT", "ENCODING", k), enc, k)
            inf = info(n.port)
            self.assertEqual(inf["rdb_last_load_keys_loaded"], "12")
            self.assertEqual(inf["rdb_last_load_keys_expired"], "1")
            self.assertIn("Done loading RDB, keys loaded: 12, keys expired: 1.", n.output())
            c.close()

    def test_bgsave_of_1m_keys_keeps_serving_and_is_a_point_in_time_image(self):
        with Node() as n:
            c = Client(n.port, timeout=60)
            self.assertEqual(c.call("DEBUG", "POPULATE", 1000000), "OK")
            fill_all_types(c)
            digest = c.call("DEBUG", "DIGEST")
            self.assertEqual(c.call("DBSIZE"), 1000012)

            # While the BGSAVE runs, one client pings and another one writes:
            # overwrites, deletes, new keys, in-place collection changes.
            stop = threading.Event()
            pings = []
            writes = [0]

            def pinger():
                p = Client(n.port)
                while not stop.is_set():
                    t0 = time.monotonic()
                    assert p.call("PING") == "PONG"
                    pings.append(time.monotonic() - t0)
                p.close()

            def writer():
                w = Client(n.port)
                i = 0
                while not stop.is_set():
                    w.call("SET", f"key:{(i * 7919) % 1000000}", "changed")
                    w.call("DEL", f"key:{(i * 104729 + 13) % 1000000}")
                    w.call("SET", f"new:{i}", "x")
                    w.call("HSET", "hash", f"new{i}", "v")
                    w.call("RPUSH", "list", "more")
                    writes[0] += 5
                    i += 1
                w.close()

            threads = [threading.Thread(target=pinger), threading.Thread(target=writer)]
            t0 = time.monotonic()
            self.assertEqual(c.call("BGSAVE"), "Background saving started")
            for t in threads:
                t.start()
            self.assertEqual(c.call("BGSAVE"), Error("ERR Background save already in progress"))
            self.assertEqual(c.call("SAVE"), Error("ERR Background save already in progress"))
            self.assertEqual(info(n.port)["rdb_bgsave_in_progress"], "1")
            wait_until(lambda: info(n.port)["rdb_bgsave_in_progress"] == "0", timeout=120,
                       what="BGSAVE to finish")
            elapsed = time.monotonic() - t0
            stop.set()
            for t in threads:
                t.join(10)
            inf = info(n.port)
            self.assertEqual(inf["rdb_last_bgsave_status"], "ok")
            self.assertIn("Background saving terminated with success", n.output())
            # The node kept serving the whole time.
            self.assertGreater(len(pings), 50)
            self.assertGreater(writes[0], 100)
            print(f"\nBGSAVE of 1M keys: {elapsed:.2f}s, {len(pings)} PINGs answered during it "
                  f"(max latency {max(pings) * 1000:.1f} ms), {writes[0]} writes applied",
                  file=sys.stderr)
            self.assertLess(max(pings), 1.0)
            # The writes happened after the snapshot's instant: only the
            # changes counted since then remain dirty.
            self.assertGreater(int(inf["rdb_changes_since_last_save"]), 0)
            c.close()

            copy = os.path.join(n.dir, "copy")
            os.mkdir(copy)
            shutil.copy(os.path.join(n.dir, "dump.rdb"), copy)
            # The file is the dataset as it was when BGSAVE began.
            with Node(dir=copy) as m:
                # Loading and digesting 1M keys takes seconds under ASan on
                # busy cores: a patient client.
                self.assertEqual(Client(m.port, timeout=120).call("DEBUG", "DIGEST"), digest)
            if REDIS_SERVER:
                with RedisServerNode(dir=copy) as r:
                    rc = Client(r.port, timeout=30)
                    wait_until(lambda: not isinstance(rc.call("DBSIZE"), Error), timeout=60,
                               what="redis-server to load the file")
                    self.assertEqual(rc.call("DBSIZE"), 1000012)
                    self.assertEqual(rc.call("GET", "key:0"), b"value:0")
                    self.assertEqual(rc.call("GET", "key:7919"), b"value:7919")
                    self.assertEqual(rc.call("GET", "key:999999"), b"value:999999")
                    self.assertEqual(rc.call("HLEN", "hash"), 2)
                    self.assertEqual(rc.call("LLEN", "biglist"), 3000)
                    self.assertEqual(rc.call("ZCARD", "bigzset"), 200)
                    self.assertEqual(rc.call("OBJECT", "ENCODING", "bighash"), b"hashtable")
                    self.assertEqual(rc.call("EXISTS", "new:0"), 0)
                    rc.close()

    def test_bgsave_slowed_down_reports_progress(self):
        with Node(args=["--rdb-key-save-delay", "300"]) as n:
            c = Client(n.port)
            c.call("DEBUG", "POPULATE", 2000)
            self.assertEqual(c.call("BGSAVE", "SCHEDULE"), "Background saving started")
            inf = info(n.port)
            self.assertEqual(inf["rdb_bgsave_in_progress"], "1")
            self.assertEqual(inf["current_save_keys_total"], "2000")
            self.assertEqual(c.call("BGSAVE", "foo"), Error("ERR syntax error"))
            # FLUSHALL mid-snapshot: the snapshot completes first.
            self.assertEqual(c.call("FLUSHALL"), "OK")
            wait_until(lambda: info(n.port)["rdb_bgsave_in_progress"] == "0", timeout=30,
                       what="BGSAVE to finish")
            self.assertEqual(c.call("DEBUG", "RELOAD", "NOSAVE"), "OK")
            self.assertEqual(c.call("DBSIZE"), 2000)
            c.close()

    def test_save_points_trigger_a_bgsave(self):
        with Node(args=["--save", "1 3"]) as n:
            c = Client(n.port)
            self.assertEqual(c.call("CONFIG", "GET", "save"), [b"save", b"1 3"])
            lastsave = c.call("LASTSAVE")
            c.call("SET", "a", 1)
            c.call("SET", "b", 2)
            time.sleep(1.5)
            self.assertEqual(info(n.port)["rdb_saves"], "0")  # 2 changes < 3
            c.call("SET", "c", 3)
            wait_until(lambda: info(n.port)["rdb_saves"] == "1", timeout=5, what="save point")
            wait_until(lambda: info(n.port)["rdb_bgsave_in_progress"] == "0", timeout=5)
            self.assertEqual(info(n.port)["rdb_changes_since_last_save"], "0")
            self.assertGreaterEqual(c.call("LASTSAVE"), lastsave)
            self.assertIn("3 changes in 1 seconds. Saving...", n.output())
            c.close()

    def test_shutdown_save_nosave_and_sigterm(self):
        with Node() as n:  # save "" : no save points
            c = Client(n.port)
            c.call("SET", "k1", "v1")
            c.send("SHUTDOWN", "SAVE")
            n.proc.wait(10)
            n.stop()
            n.start()
            c = Client(n.port)
            self.assertEqual(c.call("GET", "k1"), b"v1")
            c.call("SET", "k2", "v2")
            c.send("SHUTDOWN", "NOSAVE")
            n.proc.wait(10)
            n.stop()
            n.start()
            c = Client(n.port)
            self.assertEqual(c.call("EXISTS", "k2"), 0)
            self.assertEqual(c.call("SHUTDOWN", "SAVE", "NOSAVE"), Error("ERR syntax error"))
            # With save points configured, SIGTERM saves.
            c.call("CONFIG", "SET", "save", "3600 1")
            c.call("SET", "k3", "v3")
            c.close()
            self.assertEqual(n.stop(signal.SIGTERM), 0)
            self.assertIn("Saving the final RDB snapshot before exiting.", n.output())
            n.start()
            c = Client(n.port)
            self.assertEqual(c.call("GET", "k3"), b"v3")
            # A failing save keeps the node running (dump.rdb is a directory).
            c.call("CONFIG", "SET", "save", "3600 1")
            os.remove(os.path.join(n.dir, "dump.rdb"))
            os.mkdir(os.path.join(n.dir, "dump.rdb"))
            self.assertEqual(c.call("SAVE"), Error("ERR"))
            self.assertEqual(c.call("SHUTDOWN"), Error("ERR Errors trying to SHUTDOWN. Check logs."))
            self.assertEqual(c.call("PING"), "PONG")
            # As redis-server 7.0.15: a failed foreground SAVE leaves the
            # last BGSAVE status as it was (so no MISCONF follows).
            self.assertEqual(info(n.port)["rdb_last_bgsave_status"], "ok")
            n.proc.send_signal(signal.SIGTERM)
            # Redis 7.0's finishShutdown line (its cron logs nothing more).
            wait_until(lambda: "Errors trying to shut down the server" in n.output(), timeout=5)
            self.assertEqual(c.call("PING"), "PONG")
            self.assertFalse(any(f.startswith("temp-") for f in os.listdir(n.dir)))
            c.send("SHUTDOWN", "NOSAVE")
            n.proc.wait(10)
            c.close()

    def test_corrupt_dump_is_refused_and_kept(self):
        n2 = Node()
        try:
            n2.start()
            c = Client(n2.port)
            fill_all_types(c)
            c.call("SAVE")
            c.close()
            n2.stop()
            path = os.path.join(n2.dir, "dump.rdb")
            data = bytearray(open(path, "rb").read())
            data[len(data) // 2] ^= 0x5A
            open(path, "wb").write(data)
            n2.start(wait=False)
            n2.proc.wait(10)
            self.assertEqual(n2.proc.returncode, 1)
            self.assertIn("Fatal error loading the DB", n2.output())
            self.assertEqual(open(path, "rb").read(), bytes(data))
            # A truncated file too.
            open(path, "wb").write(bytes(data[:100]))
            n2.stop()
            n2.start(wait=False)
            n2.proc.wait(10)
            self.assertEqual(n2.proc.returncode, 1)
            self.assertEqual(len(open(path, "rb").read()), 100)
        finally:
            n2.cleanup()

    def test_debug_reload_digest_and_active_expire(self):
        with Node() as n:
            c = Client(n.port)
            fill_all_types(c)
            d = c.call("DEBUG", "DIGEST")
            self.assertEqual(c.call("DEBUG", "RELOAD"), "OK")
            self.assertEqual(c.call("DEBUG", "DIGEST"), d)
            self.assertEqual(c.call("DEBUG", "DIGEST-VALUE", "hash", "nokey"),
                             [c.call("DEBUG", "DIGEST-VALUE", "hash")[0], "0" * 40])
            self.assertEqual(c.call("DEBUG", "RELOAD", "BAD"),
                             Error("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and "
                                   "NOSAVE options."))
            c.call("FLUSHALL")
            self.assertEqual(c.call("DEBUG", "DIGEST"), "0" * 40)
            self.assertEqual(c.call("DEBUG", "POPULATE", 10, "p", 3), "OK")
            self.assertEqual(c.call("GET", "p:7"), b"val")
            self.assertEqual(c.call("DEBUG", "POPULATE", 10), "OK")
            self.assertEqual(c.call("GET", "key:7"), b"value:7")
            self.assertEqual(c.call("DEBUG", "POPULATE", -1),
                             Error("ERR value is out of range, must be positive"))
            self.assertEqual(c.call("DEBUG", "SET-ACTIVE-EXPIRE", 0), "OK")
            for i in range(20):
                c.call("SET", f"t{i}", "v", "PX", 50)
            time.sleep(0.5)
            self.assertEqual(c.call("DBSIZE"), 40)  # nothing reaped
            self.assertEqual(c.call("DEBUG", "SET-ACTIVE-EXPIRE", 1), "OK")
            wait_until(lambda: c.call("DBSIZE") == 20, timeout=5, what="active expiry")
            c.close()

    def test_cluster_start_claims_unassigned_slots_and_refuses_other_dbs(self):
        with Node(cluster=True, args=["--cluster-require-full-coverage", "no"]) as n:
            c = Client(n.port)
            c.call("DEBUG", "POPULATE", 50)
            self.assertEqual(c.call("SAVE"), "OK")
            c.close()
            n.stop()
            n.start()
            c = Client(n.port)
            self.assertIn("I have keys for unassigned slot", n.output())
            wait_until(lambda: c.call("GET", "key:1") == b"value:1", timeout=5,
                       what="the claimed slots to serve")
            assigned = c.call("CLUSTER", "INFO").decode()
            self.assertNotIn("cluster_slots_assigned:0\r\n", assigned)
            c.close()
        with Node() as s:
            c = Client(s.port)
            c.call("SELECT", 1)
            c.call("SET", "k", "v")
            c.call("SAVE")
            c.close()
            s.stop()
            s.cluster = True
            s.start(wait=False)
            s.proc.wait(10)
            self.assertEqual(s.proc.returncode, 1)
            self.assertIn("DB 0", s.output())


def crc64(data):
    """CRC-64/Jones as Redis computes it for DUMP payloads."""
    poly = 0x95AC9329AC4BC9B5
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
    return crc


@unittest.skipIf(REDIS_SERVER is None, "redis-server is not installed: interop test skipped")
class DumpRestoreInteropTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node().start()
        cls.redis = RedisServerNode().start()

    @classmethod
    def tearDownClass(cls):
        cls.node.cleanup()
        cls.redis.cleanup()

    def setUp(self):
        self.s = Client(self.node.port)
        self.r = Client(self.redis.port)
        self.s.call("FLUSHALL")
        self.r.call("FLUSHALL")

    def tearDown(self):
        self.s.close()
        self.r.close()

    def content(self, c, key):
        t = c.call("TYPE", key)
        if t == "string":
            return c.call("GET", key)
        if t == "list":
            return c.call("LRANGE", key, 0, -1)
        if t == "set":
            return sorted(c.call("SMEMBERS", key))
        if t == "hash":
            flat = c.call("HGETALL", key)
            return sorted(zip(flat[::2], flat[1::2]))
        if t == "zset":
            return c.call("ZRANGE", key, 0, -1, "WITHSCORES")
        return t

    def test_payloads_travel_both_ways(self):
        fill_all_types(self.r)
        keys = sorted(k.decode() for k in self.r.call("KEYS", "*"))
        self.assertEqual(len(keys), 12)
        for k in keys:
            payload = self.r.call("DUMP", k)
            self.assertEqual(self.s.call("RESTORE", k, 0, payload), "OK", k)
            self.assertEqual(self.content(self.s, k), self.content(self.r, k), k)
            self.assertEqual(self.s.call("OBJECT", "ENCODING", k),
                             self.r.call("OBJECT", "ENCODING", k), k)
        # And back: shardnode's payloads restore in redis-server.
        for k in keys:
            payload = self.s.call("DUMP", k)
            self.assertEqual(self.r.call("RESTORE", k + ":back", 0, payload), "OK", k)
            self.assertEqual(self.content(self.r, k + ":back"), self.content(self.r, k), k)
        self.assertIsNone(self.s.call("DUMP", "missing"))

    def test_replies_match_redis(self):
        self.r.call("RPUSH", "l", "a", "b")
        good = self.r.call("DUMP", "l")
        bad_crc = good[:-1] + bytes([good[-1] ^ 1])
        # Valid version and checksum around a value that does not decode.
        body = b"\x00\xff\xff\xff\xff\x0a\x00"
        bad_format = body + crc64(body).to_bytes(8, "little")
        future = good[:-10] + b"\x0b\x00"
        future += crc64(future).to_bytes(8, "little")
        now_ms = int(time.time() * 1000)
        cases = [
            ("RESTORE", "k", 0, good),
            ("RESTORE", "k", 0, good),  # BUSYKEY
            ("RESTORE", "k", 0, good, "REPLACE"),
            ("RESTORE", "k2", 0, bad_crc),
            ("RESTORE", "k2", 0, bad_format),
            ("RESTORE", "k2", 0, future),
            ("RESTORE", "k2", -5, good),
            ("RESTORE", "k2", "abc", good),
            ("RESTORE", "k2", 0, good, "IDLETIME", -1),
            ("RESTORE", "k2", 0, good, "FREQ", 256),
            ("RESTORE", "k2", 0, good, "FREQ", 5, "IDLETIME", 5),
            ("RESTORE", "k2", 0, good, "BOGUS"),
            ("RESTORE", "k3", 100000, good, "IDLETIME", 10),
            ("PTTL", "k3"),
            ("RESTORE", "k4", now_ms + 100000, good, "ABSTTL"),
            ("PEXPIRETIME", "k4"),
            ("RESTORE", "k", now_ms - 1000, good, "ABSTTL", "REPLACE"),
            ("EXISTS", "k"),
            ("RESTORE-ASKING", "k5", 0, good, "FREQ", 3),
            ("LRANGE", "k5", 0, -1),
            ("RESTORE", "k6"),
        ]
        for cmd in cases:
            got, want = self.s.call(*cmd), self.r.call(*cmd)
            if cmd[0] == "PTTL":
                self.assertAlmostEqual(got, want, delta=1000)
            else:
                self.assertEqual(got, want, cmd[:2])


if __name__ == "__main__":
    unittest.main(verbosity=2)
