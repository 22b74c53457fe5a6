"""Issue 19 (Redis's integration/replication-buffer.tcl): one shared
replication buffer. While a replica waits for its full sync's image, the
stream after the image is kept for it in the buffer the backlog is made of,
not copied per replica: the history outgrows repl-backlog-size
(repl_backlog_histlen, mem_total_replication_buffers; the part above the
size is left out of maxmemory), a PSYNC is continued
from anywhere in it, and when the holder goes the buffer is trimmed back to
about the configured size. Checked against shardnode and redis-server
7.0.15, with raw connections playing the replicas."""
import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Client, Node, REDIS_SERVER, RedisServer, read_line,  # noqa: E402
                     resp_command, wait_until)

BACKLOG = 16384
WRITES = 2000
VALUE = "v" * 1000


def info_fields(c, section):
    out = {}
    for line in c.call("INFO", section).decode().splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = v
    return out


def replica_socket(port, *psync):
    """A connection that sent REPLCONF capa and PSYNC `psync`; returns it
    and the first reply line."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(resp_command("REPLCONF", "capa", "eof", "capa", "psync2"))
    assert read_line(sock) == b"+OK"
    sock.sendall(resp_command("PSYNC", *psync))
    line = read_line(sock)
    while line in (b"", b"\n"):
        line = read_line(sock)
    return sock, line


class SharedReplicationBuffer(unittest.TestCase):
    def run_scenario(self, port):
        admin = Client(port)
        for k, v in (("save", ""), ("repl-backlog-size", str(BACKLOG)),
                     ("repl-diskless-sync", "yes"), ("repl-diskless-sync-delay", "0"),
                     ("client-output-buffer-limit", "replica 0 0 0")):
            self.assertEqual(admin.call("CONFIG", "SET", k, v), "OK", k)
        self.assertEqual(admin.call("DEBUG", "POPULATE", "20", "old", "10"), "OK")
        # A second a key: the image is far from done for the whole test.
        self.assertEqual(admin.call("CONFIG", "SET", "rdb-key-save-delay", "1000000"), "OK")
        held, line = replica_socket(port, "?", "-1")
        self.assertTrue(line.startswith(b"+FULLRESYNC "), line)
        replid = line.split()[1].decode()
        try:
            wait_until(lambda: info_fields(admin, "persistence")["rdb_bgsave_in_progress"] == "1",
                       timeout=5, what="the image to start")
            before = info_fields(admin, "replication")
            for i in range(WRITES):
                admin.send("SET", f"new:{i}", VALUE)
            for _ in range(WRITES):
                self.assertEqual(admin.read(), "OK")
            repl = info_fields(admin, "replication")
            mem = info_fields(admin, "memory")
            grown = int(repl["master_repl_offset"]) - int(before["master_repl_offset"])
            self.assertGreater(grown, WRITES * len(VALUE))
            # Everything since the image is kept: far beyond the backlog size.
            self.assertGreaterEqual(int(repl["repl_backlog_histlen"]), grown)
            self.assertGreater(int(mem["mem_total_replication_buffers"]), WRITES * len(VALUE))
            # What is above repl-backlog-size is the replica's, not the
            # dataset's: left out of maxmemory.
            self.assertGreater(int(mem["mem_not_counted_for_evict"]), grown - 2 * BACKLOG)
            self.assertEqual(repl["connected_slaves"], "1")

            # A replica continues from the oldest byte held, 2 MB back.
            first = int(repl["repl_backlog_first_byte_offset"])
            self.assertLess(first, int(repl["master_repl_offset"]) - 100 * BACKLOG)
            cont, line = replica_socket(port, replid, str(first))
            self.assertTrue(line.startswith(b"+CONTINUE"), line)
            cont.close()
            wait_until(lambda: info_fields(admin, "stats")["sync_partial_ok"] == "1", timeout=5,
                       what="the partial resync to count")
        finally:
            held.close()
        # The holder is gone: the buffer goes back to about the backlog size.
        wait_until(lambda: int(info_fields(admin, "replication")["repl_backlog_histlen"])
                   < 4 * BACKLOG, timeout=10, what="the history to be trimmed")
        wait_until(lambda: int(info_fields(admin, "memory")["mem_total_replication_buffers"])
                   < 8 * BACKLOG, timeout=10, what="the buffer's memory to be freed")
        self.assertEqual(admin.call("CONFIG", "SET", "rdb-key-save-delay", "0"), "OK")
        self.assertEqual(admin.call("PING"), "PONG")
        admin.close()

    def test_shardnode(self):
        with Node() as node:
            self.run_scenario(node.port)

    @unittest.skipUnless(REDIS_SERVER, "redis-server not installed")
    def test_redis_server(self):
        node = RedisServer()
        try:
            self.run_scenario(node.port)
        finally:
            node.stop()
            node.cleanup()


if __name__ == "__main__":
    unittest.main()
