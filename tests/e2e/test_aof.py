"""End-to-end AOF (appendonly yes): Redis 7.0.15's multi-part folder
(manifest, base, incr), appendfsync always with kill -9 under pipelined
writes (every acknowledged write survives), torn and corrupt tails at
start-up, BGREWRITEAOF and CONFIG SET appendonly at run time, DEBUG LOADAOF,
timestamps, INFO persistence, a full disk (MISCONF, then recovery), and the
folder round trip with redis-server 7.0.15 both ways plus redis-check-aof.

AOF_CRASH_ITERATIONS (default 3) sets how many kill -9 rounds run."""
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import REDIS_SERVER, Client, Error, Node, RedisServerNode, wait_until  # noqa: E402

CHECK_AOF = shutil.which("redis-check-aof")
AOF = ["--appendonly", "yes", "--enable-debug-command", "yes"]


def info(port, section="persistence"):
    c = Client(port)
    try:
        text = c.call("INFO", section).decode()
    finally:
        c.close()
    return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)


def manifest(node):
    with open(os.path.join(node.dir, "appendonlydir", "appendonly.aof.manifest")) as f:
        return f.read()


def folder(node):
    return sorted(os.listdir(os.path.join(node.dir, "appendonlydir")))


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def incr_path(node, seq=1):
    return os.path.join(node.dir, "appendonlydir", f"appendonly.aof.{seq}.incr.aof")


LIB = "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return 42 end)"


def fill(c):
    """Every type we hold, TTLs, a function library, two databases."""
    c.call("SET", "str", "hello")
    c.call("SET", "int", "12345")
    c.call("RPUSH", "list", *[f"e{i}" for i in range(150)])
    c.call("SADD", "set", *[f"m{i}" for i in range(100)])
    c.call("SADD", "intset", 1, 2, 3)
    c.call("HSET", "hash", *[x for i in range(80) for x in (f"f{i}", f"v{i}")])
    c.call("ZADD", "zset", *[x for i in range(70) for x in (str(i * 0.5), f"z{i}")])
    c.call("ZADD", "zset", "inf", "top", "-inf", "bottom")
    c.call("SET", "ttl", "v", "EX", 1000)
    c.call("PEXPIRE", "hash", 500000)
    c.call("INCRBYFLOAT", "float", "1.5")
    c.call("FUNCTION", "LOAD", LIB)
    c.call("SELECT", 3)
    c.call("SET", "indb3", "x")
    c.call("SELECT", 0)


def dump_state(c):
    """A comparable view of the dataset (db 0 and 3) and the libraries."""
    out = {}
    for db in (0, 3):
        c.call("SELECT", db)
        for k in sorted(c.call("KEYS", "*")):
            t = c.call("TYPE", k)
            if t == "string":
                v = c.call("GET", k)
            elif t == "list":
                v = c.call("LRANGE", k, 0, -1)
            elif t == "set":
                v = sorted(c.call("SMEMBERS", k))
            elif t == "hash":
                v = sorted(c.call("HGETALL", k))
            elif t == "zset":
                v = c.call("ZRANGE", k, 0, -1, "WITHSCORES")
            else:
                v = t
            ttl = c.call("PTTL", k)
            out[(db, k)] = (t, v, ttl > 0 if ttl != -1 else -1)
    c.call("SELECT", 0)
    out["functions"] = c.call("FUNCTION", "LIST", "WITHCODE")
    return out


class AofFilesTest(unittest.TestCase):
    def test_start_creates_folder_and_restart_loads_it(self):
        with Node(AOF) as n:
            self.assertEqual(folder(n), ["appendonly.aof.1.base.rdb", "appendonly.aof.1.incr.aof",
                                         "appendonly.aof.manifest"])
            self.assertEqual(manifest(n), "file appendonly.aof.1.base.rdb seq 1 type b\n"
                                          "file appendonly.aof.1.incr.aof seq 1 type i\n")
            c = Client(n.port)
            fill(c)
            c.call("SET", "x", "1", "PX", 100000)
            # With everysec a write waits while the background fsync of an
            # earlier one runs (up to 2 s), and the reply does not wait for
            # it, as in Redis: poll for the last record.
            wait_until(lambda: b"PXAT" in read_file(incr_path(n)), what="the SET PX record")
            data = read_file(incr_path(n))
            # Absolute expiry as replicas get it; SELECT before the first write.
            self.assertTrue(data.startswith(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"))
            self.assertIn(b"PXAT", data)
            self.assertIn(b"PEXPIREAT", data)
            before = dump_state(c)
            st = info(n.port)
            self.assertEqual(st["aof_enabled"], "1")
            self.assertEqual(st["aof_last_write_status"], "ok")
            self.assertEqual(int(st["aof_current_size"]),
                             os.path.getsize(incr_path(n)) +
                             os.path.getsize(os.path.join(n.dir, "appendonlydir",
                                                          "appendonly.aof.1.base.rdb")))
            c.close()
            n.stop()
            # dump.rdb is never read with appendonly yes.
            n.start()
            c = Client(n.port)
            self.assertEqual(dump_state(c), before)
            self.assertIn("Opening AOF incr file appendonly.aof.1.incr.aof on server start",
                          n.output())
            # MULTI/EXEC units are kept whole.
            c.call("MULTI")
            c.call("INCR", "ctr")
            c.call("INCR", "ctr")
            c.call("EXEC")
            c.close()
            if CHECK_AOF:
                out = subprocess.run([CHECK_AOF, os.path.join(n.dir, "appendonlydir",
                                                              "appendonly.aof.manifest")],
                                     capture_output=True, text=True, timeout=30)
                self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
                self.assertIn("All AOF files and manifest are valid", out.stdout)

    def test_debug_loadaof_and_timestamps(self):
        with Node(AOF + ["--aof-timestamp-enabled", "yes"]) as n:
            c = Client(n.port)
            c.call("SET", "a", "1")
            c.call("RPUSH", "l", "x", "y")
            with open(incr_path(n), "rb") as f:
                self.assertTrue(f.read().startswith(b"#TS:"))
            c.call("FLUSHALL")
            c.call("SET", "b", "2")
            self.assertEqual(c.call("DEBUG", "LOADAOF"), "OK")
            self.assertEqual(sorted(c.call("KEYS", "*")), [b"b"])
            c.close()
            n.stop()
            n.start()
            self.assertEqual(Client(n.port).call("GET", "b"), b"2")


class AofCrashTest(unittest.TestCase):
    def one_round(self, seed):
        rnd = random.Random(seed)
        with Node(AOF + ["--appendfsync", "always"]) as n:
            acked = []
            lock = threading.Lock()
            stop = threading.Event()

            def writer(wid):
                c = Client(n.port)
                i = 0
                try:
                    while not stop.is_set():
                        batch = list(range(i, i + 16))
                        for j in batch:
                            c.send("SET", f"w{wid}:{j}", j)
                            c.send("RPUSH", f"list{wid}", j)
                        for j in batch:
                            if c.read() != "OK":
                                return
                            c.read()
                            with lock:
                                acked.append((wid, j))
                        i += 16
                except (OSError, ConnectionError, ValueError):
                    pass

            threads = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
            for t in threads:
                t.start()
            time.sleep(0.2 + rnd.random() * 0.8)
            n.proc.send_signal(signal.SIGKILL)
            n.proc.wait(10)
            stop.set()
            for t in threads:
                t.join(10)
            n.log.close()
            self.assertGreater(len(acked), 0)
            n.start()
            c = Client(n.port)
            for wid in range(3):
                mine = sorted(j for w, j in acked if w == wid)
                if not mine:
                    continue
                lst = [int(x) for x in c.call("LRANGE", f"list{wid}", 0, -1)]
                # Every acknowledged write is there, in order, and nothing
                # after it is half applied: the list is a prefix 0..n-1.
                self.assertEqual(lst, list(range(len(lst))))
                self.assertGreaterEqual(len(lst), mine[-1] + 1)
                for j in mine[-20:]:
                    self.assertEqual(c.call("GET", f"w{wid}:{j}"), str(j).encode())
            c.close()

    def test_kill9_under_pipelined_writes_loses_nothing_acknowledged(self):
        rounds = int(os.environ.get("AOF_CRASH_ITERATIONS", "3"))
        for r in range(rounds):
            with self.subTest(round=r):
                self.one_round(r)


class AofLoadTest(unittest.TestCase):
    def make_folder(self):
        n = Node(AOF)
        n.start()
        c = Client(n.port)
        for i in range(50):
            c.call("SET", f"k{i}", i)
        c.close()
        n.stop()
        with open(incr_path(n), "rb") as f:
            return n, f.read()

    def test_truncated_tail_at_random_offsets(self):
        n, data = self.make_folder()
        try:
            rnd = random.Random(7)
            select = len(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n")
            for cut in sorted(rnd.sample(range(select + 1, len(data) - 1), 8)):
                with open(incr_path(n), "wb") as f:
                    f.write(data[:cut])
                n.start()
                c = Client(n.port)
                got = c.call("DBSIZE")
                # A prefix of the writes, and the torn record cut off.
                for i in range(got):
                    self.assertEqual(c.call("GET", f"k{i}"), str(i).encode())
                self.assertIsNone(c.call("GET", f"k{got}"))
                c.close()
                n.stop()
                self.assertIn("AOF appendonly.aof.1.incr.aof loaded anyway because "
                              "aof-load-truncated is enabled", n.output())
                self.assertLessEqual(os.path.getsize(incr_path(n)), cut)
            # aof-load-truncated no refuses the torn file, untouched.
            with open(incr_path(n), "wb") as f:
                f.write(data[:-3])
            n.args += ["--aof-load-truncated", "no"]
            n.start(wait=False)
            self.assertEqual(n.proc.wait(10), 1)
            n.log.close()
            self.assertIn("Unexpected end of file reading the append only file "
                          "appendonly.aof.1.incr.aof", n.output())
            self.assertEqual(os.path.getsize(incr_path(n)), len(data) - 3)
        finally:
            n.cleanup()

    def test_corrupt_record_and_unknown_command_stop_startup(self):
        n, data = self.make_folder()
        try:
            for tail, message in ((b"!!garbage\r\n", "Bad file format reading the append only "
                                   "file appendonly.aof.1.incr.aof"),
                                  (b"*1\r\n$3\r\nbla\r\n", "Unknown command 'bla' reading the "
                                   "append only file appendonly.aof.1.incr.aof")):
                with open(incr_path(n), "wb") as f:
                    f.write(data + tail)
                n.start(wait=False)
                self.assertEqual(n.proc.wait(10), 1)
                n.log.close()
                self.assertIn(message, n.output())
                self.assertEqual(os.path.getsize(incr_path(n)), len(data) + len(tail))
        finally:
            n.cleanup()

    def test_bad_manifest_stops_startup(self):
        n, _ = self.make_folder()
        try:
            path = os.path.join(n.dir, "appendonlydir", "appendonly.aof.manifest")
            with open(path, "w") as f:
                f.write("file appendonly.aof.1.base.rdb seq 1 type b\nfile x seq 1 type q\n")
            n.start(wait=False)
            self.assertEqual(n.proc.wait(10), 1)
            n.log.close()
            out = n.output()
            self.assertIn("*** FATAL AOF MANIFEST FILE ERROR ***", out)
            self.assertIn("Reading the manifest file, at line 2", out)
            self.assertIn("Unknown AOF file type", out)
        finally:
            n.cleanup()


class AofRewriteTest(unittest.TestCase):
    def test_bgrewriteaof_under_writes_keeps_every_increment(self):
        with Node(AOF + ["--rdb-key-save-delay", "2000"]) as n:
            c = Client(n.port)
            for i in range(200):
                c.call("SET", f"k{i}", i)
            self.assertEqual(c.call("BGREWRITEAOF"),
                             "Background append only file rewriting started")
            self.assertEqual(c.call("BGREWRITEAOF"),
                             Error("ERR Background append only file rewriting already in "
                                   "progress"))
            self.assertEqual(info(n.port)["aof_rewrite_in_progress"], "1")
            for i in range(300):
                c.call("INCR", "foo")
                c.call("SET", f"k{i % 200}", f"new{i}")
            wait_until(lambda: info(n.port)["aof_rewrite_in_progress"] == "0", timeout=30,
                       what="rewrite end")
            self.assertEqual(manifest(n), "file appendonly.aof.2.base.rdb seq 2 type b\n"
                                          "file appendonly.aof.2.incr.aof seq 2 type i\n")
            self.assertEqual(folder(n), ["appendonly.aof.2.base.rdb", "appendonly.aof.2.incr.aof",
                                         "appendonly.aof.manifest"])
            self.assertEqual(info(n.port)["aof_last_bgrewrite_status"], "ok")
            self.assertFalse(any(f.startswith("temp-rewriteaof") for f in os.listdir(n.dir)))
            before = dump_state(c)
            self.assertEqual(c.call("DEBUG", "LOADAOF"), "OK")
            self.assertEqual(dump_state(c), before)
            self.assertEqual(c.call("GET", "foo"), b"300")
            c.close()
            n.stop()
            n.start()
            c = Client(n.port)
            self.assertEqual(dump_state(c), before)
            c.close()

    def test_manifest_sequence_off_on_and_auto_gc(self):
        """The manifests Redis's aof-multi-part.tcl expects along the same steps."""
        def rewrite(c, n):
            c.call("BGREWRITEAOF")
            wait_until(lambda: info(n.port)["aof_rewrite_in_progress"] == "0" and
                       info(n.port)["aof_rewrite_scheduled"] == "0", timeout=30, what="rewrite")

        with Node(AOF) as n:
            c = Client(n.port)
            c.call("SET", "a", "1")
            self.assertEqual(c.call("CONFIG", "SET", "appendonly", "no"), "OK")
            rewrite(c, n)
            # AOF off: the rewrite makes a base alone.
            self.assertEqual(manifest(n), "file appendonly.aof.2.base.rdb seq 2 type b\n")
            self.assertEqual(folder(n), ["appendonly.aof.2.base.rdb", "appendonly.aof.manifest"])
            self.assertEqual(c.call("DEBUG", "LOADAOF"), "OK")
            self.assertEqual(c.call("GET", "a"), b"1")
            self.assertEqual(c.call("CONFIG", "SET", "appendonly", "yes"), "OK")
            wait_until(lambda: "type i" in manifest(n), timeout=30, what="enable")
            self.assertEqual(manifest(n), "file appendonly.aof.3.base.rdb seq 3 type b\n"
                                          "file appendonly.aof.1.incr.aof seq 1 type i\n")
            c.call("CONFIG", "SET", "aof-disable-auto-gc", "yes")
            rewrite(c, n)
            rewrite(c, n)
            self.assertEqual(manifest(n), "file appendonly.aof.5.base.rdb seq 5 type b\n"
                                          "file appendonly.aof.2.incr.aof seq 2 type h\n"
                                          "file appendonly.aof.4.base.rdb seq 4 type h\n"
                                          "file appendonly.aof.1.incr.aof seq 1 type h\n"
                                          "file appendonly.aof.3.base.rdb seq 3 type h\n"
                                          "file appendonly.aof.3.incr.aof seq 3 type i\n")
            c.call("CONFIG", "SET", "aof-disable-auto-gc", "no")
            self.assertEqual(manifest(n), "file appendonly.aof.5.base.rdb seq 5 type b\n"
                                          "file appendonly.aof.3.incr.aof seq 3 type i\n")
            self.assertEqual(folder(n), ["appendonly.aof.3.incr.aof", "appendonly.aof.5.base.rdb",
                                         "appendonly.aof.manifest"])
            c.close()

    def test_kill9_during_rewrite_keeps_every_write(self):
        with Node(AOF + ["--rdb-key-save-delay", "50000", "--appendfsync", "always"]) as n:
            c = Client(n.port)
            for i in range(100):
                c.call("SET", f"k{i}", i)
            c.call("BGREWRITEAOF")
            for i in range(200):
                c.call("INCR", "ctr")
            self.assertEqual(info(n.port)["aof_rewrite_in_progress"], "1")
            n.proc.send_signal(signal.SIGKILL)
            n.proc.wait(10)
            n.log.close()
            # The rewrite's incr file is in the manifest; the base never was.
            self.assertEqual(manifest(n), "file appendonly.aof.1.base.rdb seq 1 type b\n"
                                          "file appendonly.aof.1.incr.aof seq 1 type i\n"
                                          "file appendonly.aof.2.incr.aof seq 2 type i\n")
            n.start()
            c = Client(n.port)
            self.assertEqual(c.call("GET", "ctr"), b"200")
            self.assertEqual(c.call("DBSIZE"), 101)
            c.close()

    def test_rewrite_without_preamble_and_runtime_enable(self):
        with Node(["--enable-debug-command", "yes", "--aof-use-rdb-preamble", "no"]) as n:
            c = Client(n.port)
            fill(c)
            before = dump_state(c)
            self.assertEqual(c.call("CONFIG", "SET", "appendonly", "yes"), "OK")
            wait_until(lambda: info(n.port)["aof_rewrite_in_progress"] == "0" and
                       os.path.exists(os.path.join(n.dir, "appendonlydir")) and
                       "type i" in manifest(n), timeout=30, what="first rewrite")
            self.assertEqual(manifest(n), "file appendonly.aof.1.base.aof seq 1 type b\n"
                                          "file appendonly.aof.1.incr.aof seq 1 type i\n")
            with open(os.path.join(n.dir, "appendonlydir", "appendonly.aof.1.base.aof"),
                      "rb") as f:
                base = f.read()
            self.assertTrue(base.startswith(b"*3\r\n$8\r\nFUNCTION\r\n$4\r\nLOAD\r\n"))
            c.call("SET", "after", "1")
            before["after"] = None
            before = dump_state(c)
            if CHECK_AOF:
                out = subprocess.run([CHECK_AOF, os.path.join(n.dir, "appendonlydir",
                                                              "appendonly.aof.manifest")],
                                     capture_output=True, text=True, timeout=30)
                self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
            c.close()
            n.stop()
            n.args += ["--appendonly", "yes"]
            n.start()
            c = Client(n.port)
            self.assertEqual(dump_state(c), before)
            self.assertEqual(c.call("CONFIG", "SET", "appendonly", "no"), "OK")
            self.assertEqual(info(n.port)["aof_enabled"], "0")
            c.close()


class AofReplicaTest(unittest.TestCase):
    def test_full_sync_rewrites_the_replicas_aof(self):
        with Node() as primary:
            p = Client(primary.port)
            for i in range(50):
                p.call("SET", f"old{i}", i)
            with Node(AOF) as replica:
                r = Client(replica.port)
                r.call("SET", "local", "gone after the sync")
                self.assertEqual(r.call("REPLICAOF", "127.0.0.1", primary.port), "OK")
                wait_until(lambda: info(replica.port, "replication").get(
                    "master_link_status") == "up", timeout=20, what="sync")
                p.call("SET", "after", "1")
                wait_until(lambda: r.call("GET", "after") == b"1", timeout=10, what="stream")
                wait_until(lambda: info(replica.port)["aof_rewrite_in_progress"] == "0" and
                           info(replica.port)["aof_enabled"] == "1", timeout=20,
                           what="rewrite after sync")
                r.close()
                replica.stop()
                # Restarted alone, it holds the primary's data, not its own.
                replica.start()
                r = Client(replica.port)
                self.assertEqual(r.call("REPLICAOF", "NO", "ONE"), "OK")
                self.assertIsNone(r.call("GET", "local"))
                self.assertEqual(r.call("GET", "after"), b"1")
                self.assertEqual(r.call("DBSIZE"), 51)
                r.close()


class AofInteropTest(unittest.TestCase):
    @unittest.skipUnless(REDIS_SERVER, "redis-server not installed")
    def test_folder_round_trip_with_redis_server(self):
        d = tempfile.mkdtemp(prefix="shardnode-aof-interop-")
        try:
            # shardnode writes, redis-server 7.0.15 loads.
            n = Node(AOF, dir=d)
            n.start()
            c = Client(n.port)
            fill(c)
            c.call("BGREWRITEAOF")
            wait_until(lambda: info(n.port)["aof_rewrite_in_progress"] == "0", timeout=30,
                       what="rewrite")
            c.call("SET", "after-rewrite", "yes")
            c.call("LPUSH", "list", "front")
            ours = dump_state(c)
            c.close()
            n.stop()
            r = RedisServerNode(["--appendonly", "yes"], dir=d)
            r.start()
            c = Client(r.port)
            self.assertEqual(dump_state(c), ours, r.output())
            # redis-server writes more, then shardnode loads its folder.
            c.call("SADD", "set", "from-redis")
            c.call("HSET", "newhash", "a", "1")
            c.call("EXPIRE", "str", 10000)
            c.call("BGREWRITEAOF")
            wait_until(lambda: info(r.port)["aof_rewrite_in_progress"] == "0", timeout=30,
                       what="redis rewrite")
            c.call("ZADD", "zset", "7", "late")
            theirs = dump_state(c)
            c.close()
            r.stop()
            n = Node(AOF, dir=d)
            n.start()
            c = Client(n.port)
            self.assertEqual(dump_state(c), theirs, n.output())
            c.close()
            n.stop()
        finally:
            shutil.rmtree(d, ignore_errors=True)


class AofDiskFullTest(unittest.TestCase):
    def test_full_disk_gives_misconf_then_recovers(self):
        mnt = tempfile.mkdtemp(prefix="shardnode-aof-tmpfs-")
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt],
                                 capture_output=True).returncode == 0
        if not mounted:
            os.rmdir(mnt)
            self.skipTest("cannot mount a small tmpfs here")
        try:
            with Node(AOF + ["--appendfsync", "everysec"], dir=mnt) as n:
                c = Client(n.port)
                filler = os.path.join(mnt, "filler")
                # Fill the file system, leaving the AOF no room.
                fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
                try:
                    while True:
                        os.write(fd, b"x" * 4096)
                except OSError:
                    pass
                finally:
                    os.close(fd)
                acked = 0
                reply = None
                for i in range(2000):
                    reply = c.call("SET", f"key{i}", "v" * 100)
                    if isinstance(reply, Error):
                        break
                    acked = i + 1
                self.assertTrue(reply.startswith("MISCONF Errors writing to the AOF file: No "
                                                 "space left on device"), reply)
                self.assertTrue(c.call("PING").startswith("MISCONF"))
                self.assertEqual(c.call("GET", "key0"), b"v" * 100)
                self.assertEqual(info(n.port)["aof_last_write_status"], "err")
                os.unlink(filler)
                wait_until(lambda: c.call("PING") == "PONG", timeout=10, what="recovery")
                self.assertEqual(c.call("SET", "after", "1"), "OK")
                c.close()
                n.stop()
                n.start()
                c = Client(n.port)
                for i in range(acked):
                    self.assertEqual(c.call("GET", f"key{i}"), b"v" * 100)
                self.assertEqual(c.call("GET", "after"), b"1")
                c.close()
        finally:
            subprocess.run(["umount", mnt], capture_output=True)
            os.rmdir(mnt)


if __name__ == "__main__":
    unittest.main()
