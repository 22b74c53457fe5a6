"""Issue 19, what Redis's integration/shutdown and integration/corrupt-dump
found, each checked on shardnode and on redis-server 7.0.15 in the same
test:

- SHUTDOWN and SIGTERM on a primary whose replica is behind (stopped with
  SIGSTOP) wait for it: INFO shutdown_in_milliseconds counts down, the
  SHUTDOWN client is blocked (INFO blocked_clients), writes from other
  clients wait; once the replica is back and acknowledged the stream, the
  primary exits ("1 of 1 replicas are in sync") and the replica has the
  last write;
- shutdown-timeout bounds the wait ("Lagging replica ...", "0 of 1
  replicas are in sync"); SHUTDOWN NOW and shutdown-on-sigterm now do not
  wait; shutdown-on-sigterm nosave skips the final save;
- SHUTDOWN ABORT during the wait answers every blocked SHUTDOWN with
  "Errors trying to SHUTDOWN. Check logs.", logs "Shutdown manually
  aborted" and lets the held writes through; ABORT with another option, or
  SAVE with NOSAVE, is a syntax error;
- a final step that fails after the wait (the first AOF rewrite still
  running) answers the blocked clients with the same error ("Errors trying
  to shut down the server" in the log) and the node keeps serving;
- RESTORE refuses a stream whose consumer group names a consumer twice
  ("Duplicate stream consumer detected") and, with sanitize-dump-payload
  yes, a stream entry whose lp-count is wrong and a stream with two nodes
  of the same master id ("Listpack re-added with existing key"); the log
  names Redis's check
  for the encoding ("Zset ziplist integrity check failed", "Zipmap
  integrity check failed", "Stream listpack integrity check failed",
  "listpack with dup elements");
- an RDB file with empty collections loads without them, logging
  "skipping empty key: <key>" and "empty keys skipped: N"; a file whose
  ziplist is corrupt stops the node with "Terminating server after rdb file
  reading failure.".

Skipped (with a message) only when redis-server is missing."""
import os
import signal
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (REDIS_SERVER, Client, Error, Node, RedisServer,  # noqa: E402
                     RedisServerNode, info_int, wait_until)

SHUTDOWN_ERROR = "ERR Errors trying to SHUTDOWN. Check logs."


def log_path(server):
    return server.log_path if isinstance(server, Node) and not isinstance(
        server, RedisServerNode) else os.path.join(server.dir, "redis.log")


def read_log(server):
    try:
        with open(log_path(server), errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def start(kind, args=()):
    return Node(args=list(args)).start() if kind == "shardnode" else RedisServer(args=args)


def info_field(c, section, field):
    for line in c.call("INFO", section).decode().splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1]
    return None


def resume(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGCONT)


@unittest.skipUnless(REDIS_SERVER, "redis-server not installed")
class ShutdownWaitsForReplicasTest(unittest.TestCase):
    KINDS = ("shardnode", "redis")

    def pair(self, kind, primary_args=()):
        """A primary and its replica (both `kind`), in sync, with key k=1."""
        primary = start(kind, primary_args)
        self.addCleanup(primary.cleanup)
        replica = start(kind)
        self.addCleanup(replica.cleanup)
        self.addCleanup(resume, replica.proc)
        pc, rc = Client(primary.port, timeout=30), Client(replica.port, timeout=30)
        self.addCleanup(pc.close)
        self.addCleanup(rc.close)
        rc.call("REPLICAOF", "127.0.0.1", str(primary.port))
        wait_until(lambda: b"master_link_status:up" in rc.call("INFO", "replication"),
                   timeout=20, what=f"the link of {replica.port}")
        pc.call("SET", "k", "1")
        wait_until(lambda: rc.call("GET", "k") == b"1", timeout=10, what="k on the replica")
        return primary, replica, pc, rc

    def wait_for_shutdown_to_wait(self, primary, pc):
        wait_until(lambda: int(info_field(pc, "server", "shutdown_in_milliseconds") or 0) > 0,
                   timeout=10, what=f"{primary.port} waiting for its replica")

    def test_shutdown_and_sigterm_wait_for_a_lagging_replica(self):
        for kind in self.KINDS:
            for how in ("shutdown", "sigterm"):
                with self.subTest(kind=kind, how=how):
                    primary, replica, pc, rc = self.pair(kind, ["--shutdown-timeout", "60"])
                    replica.proc.send_signal(signal.SIGSTOP)
                    self.assertEqual(pc.call("INCR", "k"), 2)
                    if how == "shutdown":
                        sd = Client(primary.port, timeout=30)
                        self.addCleanup(sd.close)
                        sd.send("SHUTDOWN")
                    else:
                        primary.proc.send_signal(signal.SIGTERM)
                    self.wait_for_shutdown_to_wait(primary, pc)
                    self.assertIsNone(primary.proc.poll())
                    if how == "shutdown":
                        self.assertEqual(info_int(pc, "clients", "blocked_clients"), 1, kind)
                    # Writes wait while the shutdown does.
                    writer = Client(primary.port, timeout=30)
                    self.addCleanup(writer.close)
                    writer.send("SET", "other", "x")
                    writer.sock.settimeout(0.3)
                    with self.assertRaises(OSError):
                        writer.read()
                    replica.proc.send_signal(signal.SIGCONT)
                    primary.proc.wait(timeout=30)
                    self.assertEqual(primary.proc.returncode, 0, kind)
                    self.assertEqual(rc.call("GET", "k"), b"2", kind)
                    log = read_log(primary)
                    self.assertIn("1 of 1 replicas are in sync", log, kind)
                    self.assertNotIn("Lagging replica", log, kind)
                    self.assertIn("ready to exit, bye bye", log, kind)

    def test_timeout_now_and_signal_options(self):
        for kind in self.KINDS:
            with self.subTest(kind=kind, case="shutdown-timeout"):
                primary, replica, pc, _ = self.pair(kind, ["--shutdown-timeout", "1"])
                replica.proc.send_signal(signal.SIGSTOP)
                pc.call("INCR", "k")
                began = time.monotonic()
                primary.proc.send_signal(signal.SIGTERM)
                self.wait_for_shutdown_to_wait(primary, pc)
                primary.proc.wait(timeout=20)
                self.assertGreaterEqual(time.monotonic() - began, 0.8, kind)
                log = read_log(primary)
                self.assertIn("Lagging replica 127.0.0.1:", log, kind)
                self.assertIn("0 of 1 replicas are in sync", log, kind)
            with self.subTest(kind=kind, case="NOW"):
                primary, replica, pc, _ = self.pair(kind, ["--shutdown-timeout", "60"])
                replica.proc.send_signal(signal.SIGSTOP)
                pc.call("INCR", "k")
                pc.send("SHUTDOWN", "NOW")
                primary.proc.wait(timeout=10)
                self.assertIn("0 of 1 replicas are in sync", read_log(primary), kind)
            with self.subTest(kind=kind, case="shutdown-on-sigterm now nosave"):
                primary, replica, pc, _ = self.pair(
                    kind, ["--shutdown-timeout", "60", "--shutdown-on-sigterm", "nosave now",
                           "--save", "3600 1"])
                replica.proc.send_signal(signal.SIGSTOP)
                pc.call("INCR", "k")
                primary.proc.send_signal(signal.SIGTERM)
                primary.proc.wait(timeout=10)
                self.assertEqual(primary.proc.returncode, 0, kind)
                self.assertFalse(os.path.exists(os.path.join(primary.dir, "dump.rdb")), kind)
                self.assertNotIn("Saving the final RDB snapshot", read_log(primary), kind)

    def test_abort_answers_the_blocked_clients(self):
        for kind in self.KINDS:
            with self.subTest(kind=kind):
                primary, replica, pc, _ = self.pair(kind, ["--shutdown-timeout", "60"])
                self.assertEqual(pc.call("SHUTDOWN", "ABORT", "NOW"), Error("ERR syntax error"))
                self.assertEqual(pc.call("SHUTDOWN", "SAVE", "NOSAVE"), Error("ERR syntax error"))
                replica.proc.send_signal(signal.SIGSTOP)
                pc.call("INCR", "k")
                first, second = Client(primary.port, timeout=30), Client(primary.port, timeout=30)
                self.addCleanup(first.close)
                self.addCleanup(second.close)
                first.send("SHUTDOWN")
                self.wait_for_shutdown_to_wait(primary, pc)
                second.send("SHUTDOWN", "NOW")  # one shutdown at a time: this one waits too
                wait_until(lambda: info_int(pc, "clients", "blocked_clients") == 2, timeout=10,
                           what="two blocked SHUTDOWN clients")
                writer = Client(primary.port, timeout=30)
                self.addCleanup(writer.close)
                writer.send("SET", "other", "x")
                self.assertEqual(pc.call("SHUTDOWN", "ABORT"), "OK", kind)
                self.assertEqual(first.read(), Error(SHUTDOWN_ERROR), kind)
                self.assertEqual(second.read(), Error(SHUTDOWN_ERROR), kind)
                self.assertEqual(writer.read(), "OK", kind)
                self.assertIsNone(info_field(pc, "server", "shutdown_in_milliseconds"), kind)
                self.assertIn("Shutdown manually aborted", read_log(primary), kind)
                self.assertEqual(pc.call("SHUTDOWN", "ABORT"), Error("ERR No shutdown in progress."))
                replica.proc.send_signal(signal.SIGCONT)
                self.assertEqual(pc.call("PING"), "PONG")

    def test_failed_final_step_after_the_wait(self):
        for kind in self.KINDS:
            with self.subTest(kind=kind):
                primary, replica, pc, _ = self.pair(kind, ["--shutdown-timeout", "60"])
                replica.proc.send_signal(signal.SIGSTOP)
                pc.call("INCR", "k")
                sd = Client(primary.port, timeout=30)
                self.addCleanup(sd.close)
                sd.send("SHUTDOWN")
                self.wait_for_shutdown_to_wait(primary, pc)
                # A very slow first AOF rewrite: the node may not exit.
                pc.call("CONFIG", "SET", "rdb-key-save-delay", "30000000")
                self.assertEqual(pc.call("CONFIG", "SET", "appendonly", "yes"), "OK")
                replica.proc.send_signal(signal.SIGCONT)
                self.assertEqual(sd.read(), Error(SHUTDOWN_ERROR), kind)
                log = read_log(primary)
                self.assertIn("1 of 1 replicas are in sync", log, kind)
                self.assertIn("Writing initial AOF, can't exit", log, kind)
                self.assertIn("Errors trying to shut down the server", log, kind)
                self.assertEqual(pc.call("SET", "after", "1"), "OK", kind)
                pc.send("SHUTDOWN", "NOSAVE", "FORCE")
                primary.proc.wait(timeout=10)


# RESTORE payloads of Redis's integration/corrupt-dump (its checksums are
# right, but the tests skip them anyway).
DUP_CONSUMERS = (
    b"\x0F\x00\x00\x00\x00\x01\x07\x6D\x79\x67\x72\x6F\x75\x70\x00\x00\x00\x02\x04\x6E"
    b"\x61\x6D\x65\x2A\x4C\xAA\x9A\x7D\x01\x00\x00\x00\x04\x6E\x61\x6D\x65\x2B\x4C\xAA"
    b"\x9A\x7D\x01\x00\x00\x00\x0A\x00\xCC\xED\x8C\xA7\x62\xEE\xC7\xC8")
BAD_LP_COUNT = (
    b"\x0F\x01\x10\x00\x00\x01\x73\xDE\xDF\x7D\x9B\x00\x00\x00\x00\x00\x00\x00\x00\x40"
    b"\x42\x42\x00\x00\x00\x18\x00\x03\x01\x00\x01\x02\x01\x84\x69\x74\x65\x6D\x05\x85"
    b"\x76\x61\x6C\x75\x65\x06\x00\x01\x02\x01\x00\x01\x00\x01\x01\x01\x00\x01\x56\x01"
    b"\x02\x01\x22\x01\x00\x01\x01\x01\x82\x5F\x31\x03\x05\x01\x02\x01\x2C\x01\x00\x01"
    b"\x01\x01\x02\x01\x05\x01\xFF\x03\x81\x00\x00\x01\x73\xDE\xDF\x7D\xC7\x00\x01\x07"
    b"\x6D\x79\x67\x72\x6F\x75\x70\x81\x00\x00\x01\x73\xDE\xDF\x7D\x9B\x00\x01\x00\x00"
    b"\x01\x73\xDE\xDF\x7D\x9B\x00\x00\x00\x00\x00\x00\x00\x00\xF9\x7D\xDF\xDE\x73\x01"
    b"\x00\x00\x01\x01\x05\x41\x6C\x69\x63\x65\xEB\x7D\xDF\xDE\x73\x01\x00\x00\x01\x00"
    b"\x00\x01\x73\xDE\xDF\x7D\x9B\x00\x00\x00\x00\x00\x00\x00\x00\x09\x00\xB2\xA8\xA7"
    b"\x5F\x1B\x61\x72\xD5")
EMPTY_ZIPMAP = (
    b"\x09\x02\x00\xFF\x09\x00\xC0\xF1\xB8\x67\x4C\x16\xAC\xE3")
ZSET_ZIPLIST_LENSIZE_0 = (
    b"\x0C\x3D\x3D\x00\x00\x00\x3A\x00\x00\x00\x14\x00\x00\xF1\x02\xF1\x02\x02\x5F\x31"
    b"\x04\xF2\x02\xF3\x02\xF3\x02\x02\x5F\x33\x04\xF4\x02\xEE\x02\xF5\x02\x02\x5F\x35"
    b"\x04\xF6\x02\xF7\x02\xF7\x02\x02\x5F\x37\x04\xF8\x02\xF9\x02\xF9\x02\x02\x5F\x39"
    b"\x04\xFA\xFF\x09\x00\xAE\xF9\x77\x2A\x47\x24\x33\xF6")
STREAM_LP_SIZE_HEADER = (
    b"\x0F\x01\x10\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x02\x40"
    b"\x55\x5F\x00\x00\x00\x0F\x00\x01\x01\x00\x01\x02\x01\x88\x31\x00\x00\x00\x00\x00"
    b"\x00\x00\x09\x88\x32\x00\x00\x00\x00\x00\x00\x00\x09\x00\x01\x00\x01\x00\x01\x00"
    b"\x01\x02\x02\x88\x31\x00\x00\x00\x00\x00\x00\x00\x09\x88\x61\x00\x00\x00\x00\x00"
    b"\x00\x00\x09\x88\x32\x00\x00\x00\x00\x00\x00\x00\x09\x88\x62\x00\x00\x00\x00\x00"
    b"\x00\x00\x09\x08\x01\xFF\x0A\x01\x00\x00\x09\x00\x45\x91\x0A\x87\x2F\xA5\xF9\x2E")
HASH_LISTPACK_DUPS = (
    b"\x10\x17\x17\x00\x00\x00\x04\x00\x82\x61\x00\x03\x82\x62\x00\x03\x82\x61\x00\x03"
    b"\x82\x64\x00\x03\xff\x0a\x00\xc0\xcf\xa6\x87\xe5\xa7\xc5\xbe")

STREAM_DUP_NODES = (
    b"\x0F\x03\x10\x00\x00\x01\x7B\x60\x5A\x23\x79\x00\x00\x00\x00\x00\x00\x00\x00\xC3"
    b"\x40\x4F\x40\x5C\x18\x5C\x00\x00\x00\x24\x00\x05\x01\x00\x01\x02\x01\x84\x69\x74"
    b"\x65\x6D\x05\x85\x76\x61\x6C\x75\x65\x06\x40\x10\x00\x00\x20\x01\x00\x01\x20\x03"
    b"\x00\x05\x20\x1C\x40\x09\x05\x01\x01\x82\x5F\x31\x03\x80\x0D\x00\x02\x20\x0D\x00"
    b"\x02\xA0\x19\x00\x03\x20\x0B\x02\x82\x5F\x33\xA0\x19\x00\x04\x20\x0D\x00\x04\x20"
    b"\x19\x00\xFF\x10\x00\x00\x01\x7B\x60\x5A\x23\x79\x00\x00\x00\x00\x00\x00\x00\x05"
    b"\xC3\x40\x51\x40\x5E\x18\x5E\x00\x00\x00\x24\x00\x05\x01\x00\x01\x02\x01\x84\x69"
    b"\x74\x65\x6D\x05\x85\x76\x61\x6C\x75\x65\x06\x40\x10\x00\x00\x20\x01\x06\x01\x01"
    b"\x82\x5F\x35\x03\x05\x20\x1E\x40\x0B\x03\x01\x01\x06\x01\x80\x0B\x00\x02\x20\x0B"
    b"\x02\x82\x5F\x37\xA0\x19\x00\x03\x20\x0D\x00\x08\xA0\x19\x00\x04\x20\x0B\x02\x82"
    b"\x5F\x39\x20\x19\x00\xFF\x10\x00\x00\x01\x7B\x60\x5A\x23\x79\x00\x00\x00\x00\x00"
    b"\x00\x00\x00\xC3\x3B\x40\x49\x18\x49\x00\x00\x00\x15\x00\x02\x01\x00\x01\x02\x01"
    b"\x84\x69\x74\x65\x6D\x05\x85\x76\x61\x6C\x75\x65\x06\x40\x10\x00\x00\x20\x01\x40"
    b"\x00\x00\x05\x20\x07\x40\x09\xC0\x22\x09\x01\x01\x86\x75\x6E\x69\x71\x75\x65\x07"
    b"\xA0\x2C\x02\x08\x01\xFF\x0C\x81\x00\x00\x01\x7B\x60\x5A\x23\x7A\x01\x00\x0A\x00"
    b"\x9C\x8F\x1E\xBF\x2E\x05\x59\x09")


def rdb_file(*entries):
    """A version 10 RDB file with `entries` (type byte + key + value bytes,
    already encoded) in db 0, with a zero checksum (not checked)."""
    def string(s):
        assert len(s) < 64
        return bytes([len(s)]) + s
    body = b"REDIS0010\xfe\x00"
    for type_byte, key, value in entries:
        body += bytes([type_byte]) + string(key) + value
    return body + b"\xff" + struct.pack("<Q", 0)


@unittest.skipUnless(REDIS_SERVER, "redis-server not installed")
class CorruptDumpTest(unittest.TestCase):
    def server(self, kind, args=()):
        s = start(kind, ["--loglevel", "verbose"] + list(args))
        self.addCleanup(s.cleanup)
        c = Client(s.port, timeout=30)
        self.addCleanup(c.close)
        self.assertEqual(c.call("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "1"), "OK")
        return s, c

    def test_restore_refusals_and_their_log_lines(self):
        cases = [
            ("no", DUP_CONSUMERS, "Duplicate stream consumer detected"),
            ("yes", BAD_LP_COUNT, "Stream listpack integrity check failed"),
            ("no", EMPTY_ZIPMAP, "Zipmap integrity check failed"),
            ("no", ZSET_ZIPLIST_LENSIZE_0, "Zset ziplist integrity check failed"),
            ("no", STREAM_LP_SIZE_HEADER, "Stream listpack integrity check failed"),
            ("yes", HASH_LISTPACK_DUPS, "Hash listpack integrity check failed"),
            ("yes", STREAM_DUP_NODES, "Listpack re-added with existing key"),
        ]
        for kind in ("shardnode", "redis"):
            s, c = self.server(kind)
            for sanitize, payload, logged in cases:
                with self.subTest(kind=kind, logged=logged):
                    c.call("CONFIG", "SET", "sanitize-dump-payload", sanitize)
                    c.call("DEL", "key")
                    self.assertEqual(c.call("RESTORE", "key", "0", payload),
                                     Error("ERR Bad data format"))
                    self.assertIn(logged, read_log(s))
                    self.assertEqual(c.call("EXISTS", "key"), 0)

    def test_hash_listpack_duplicates_when_converted(self):
        # Redis converts a listpack over hash-max-listpack-entries at once
        # and panics on the duplicate ("listpack with dup elements");
        # shardnode refuses the payload, with the same words in its log.
        s, c = self.server("shardnode")
        c.call("CONFIG", "SET", "sanitize-dump-payload", "no")
        c.call("CONFIG", "SET", "hash-max-listpack-entries", "1")
        self.assertEqual(c.call("RESTORE", "key", "0", HASH_LISTPACK_DUPS),
                         Error("ERR Bad data format"))
        self.assertEqual(read_log(s).count("listpack with dup elements"), 1)
        self.assertEqual(c.call("PING"), "PONG")

    def test_rdb_with_empty_keys_and_corrupt_rdb(self):
        empty = rdb_file((2, b"set", b"\x00"), (4, b"hash", b"\x00"),
                         (0, b"str", b"\x01v"))
        # A list ziplist (type 10) whose header promises more than it holds.
        corrupt = rdb_file((10, b"list", b"\x0b" + struct.pack("<IIH", 40, 10, 1) + b"\x00"))
        for kind in ("shardnode", "redis"):
            with self.subTest(kind=kind, file="empty keys"):
                node = (Node(args=["--dbfilename", "e.rdb"]) if kind == "shardnode" else
                        RedisServerNode(args=["--dbfilename", "e.rdb", "--logfile", "redis.log"]))
                self.addCleanup(node.cleanup)
                with open(os.path.join(node.dir, "e.rdb"), "wb") as f:
                    f.write(empty)
                node.start()
                c = Client(node.port)
                self.addCleanup(c.close)
                self.assertEqual(c.call("DBSIZE"), 1)
                log = read_log(node)
                self.assertIn("skipping empty key: set", log)
                self.assertIn("skipping empty key: hash", log)
                self.assertIn("empty keys skipped: 2", log)
            with self.subTest(kind=kind, file="corrupt"):
                node = (Node(args=["--dbfilename", "c.rdb"]) if kind == "shardnode" else
                        RedisServerNode(args=["--dbfilename", "c.rdb", "--logfile", "redis.log"]))
                self.addCleanup(node.cleanup)
                with open(os.path.join(node.dir, "c.rdb"), "wb") as f:
                    f.write(corrupt)
                node.start(wait=False)
                node.proc.wait(timeout=20)
                self.assertNotEqual(node.proc.returncode, 0)
                log = read_log(node)
                self.assertIn("List ziplist integrity check failed", log)
                self.assertEqual(log.count("Terminating server after rdb file reading failure."),
                                 1)


if __name__ == "__main__":
    unittest.main()
