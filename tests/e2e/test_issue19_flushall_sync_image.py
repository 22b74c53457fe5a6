"""Issue 19 (Redis's integration/replication.tcl, "diskless replication read
pipe cleanup"): FLUSHALL while an image for a diskless full sync is being
produced stops it, as Redis kills its RDB child there: the replicas of that
image are disconnected ("SYNC failed. BGSAVE child returned an error") and a
replica that asks again gets a new image ("Background RDB transfer started by
pid" once more). Checked against shardnode and redis-server 7.0.15, with a
raw connection playing the replica."""
import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Client, Node, REDIS_SERVER, RedisServer, closes, log_text,  # noqa: E402
                     read_line, resp_command, wait_until)

STARTED = "Background RDB transfer started by pid"


def start_diskless_sync(port, want_header=True):
    """A replica connection that asked for a full sync (and, with
    `want_header`, got the diskless payload's header); returns the socket
    and the payload's end mark (None without `want_header`). Redis's saving
    child buffers what it writes, so its header may come late."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(resp_command("REPLCONF", "capa", "eof", "capa", "psync2"))
    assert read_line(sock) == b"+OK"
    sock.sendall(resp_command("PSYNC", "?", "-1"))
    line = read_line(sock)
    while line in (b"", b"\n"):
        line = read_line(sock)
    assert line.startswith(b"+FULLRESYNC "), line
    if not want_header:
        return sock, None
    line = read_line(sock)
    while not line.startswith(b"$EOF:"):  # newlines while the image is prepared
        assert line.strip() == b"", line
        line = read_line(sock)
    return sock, line[5:]


def receives_mark(sock, mark, timeout=10.0):
    sock.settimeout(timeout)
    data = b""
    while not data.endswith(mark):
        chunk = sock.recv(65536)
        if not chunk:
            return False
        data += chunk
    return True


class FlushallStopsSyncImage(unittest.TestCase):
    def run_scenario(self, port, log_path):
        admin = Client(port)
        assert admin.call("CONFIG", "SET", "repl-diskless-sync", "yes") == "OK"
        assert admin.call("CONFIG", "SET", "repl-diskless-sync-delay", "0") == "OK"
        assert admin.call("DEBUG", "POPULATE", "1000", "k", "100") == "OK"
        # 0.1 s a key: the image is far from done when FLUSHALL comes.
        assert admin.call("CONFIG", "SET", "rdb-key-save-delay", "100000") == "OK"
        first, _ = start_diskless_sync(port, want_header=False)
        try:
            wait_until(lambda: log_text(log_path).count(STARTED) == 1, timeout=5,
                       what="the first image to start")
            self.assertEqual(admin.call("FLUSHALL"), "OK")
            self.assertTrue(closes(first), "the replica of the stopped image stays connected")
        finally:
            first.close()
        wait_until(lambda: "SYNC failed. BGSAVE child returned an error" in log_text(log_path),
                   timeout=5, what="the failed sync's log line")
        wait_until(lambda: "rdb_bgsave_in_progress:0" in admin.call("INFO",
                                                                      "persistence").decode(),
                   timeout=5, what="the image to be gone")
        second, mark = start_diskless_sync(port)
        try:
            self.assertTrue(receives_mark(second, mark), "the new image did not complete")
        finally:
            second.close()
        self.assertEqual(log_text(log_path).count(STARTED), 2)
        self.assertEqual(admin.call("PING"), "PONG")
        admin.close()

    def test_shardnode(self):
        with Node() as node:
            self.run_scenario(node.port, node.log_path)

    @unittest.skipUnless(REDIS_SERVER, "redis-server not installed")
    def test_redis_server(self):
        node = RedisServer()
        try:
            self.run_scenario(node.port, os.path.join(node.dir, "redis.log"))
        finally:
            node.stop()
            node.cleanup()


if __name__ == "__main__":
    unittest.main()
