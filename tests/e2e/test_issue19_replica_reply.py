"""Issue 19 (Redis's integration/replication.tcl, "replica do not write the
reply to the replication link"): a replica of ours (a connection that sent
SYNC or PSYNC) that sends a command that replies is disconnected, its reply
dropped, and the primary logs "Replica generated a reply to command '<name>',
disconnecting it: <client info>"; a keyspace command is refused first
("Replica can't interact with the keyspace"), which is logged as an error
sent to a replica. Checked against shardnode and redis-server 7.0.15."""
import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Client, Node, REDIS_SERVER, RedisServer, closes, log_text,  # noqa: E402
                     read_line, resp_command, wait_until)


SCENARIOS = [
    # (sync command, the command sent after it, its name in the log, extra log lines)
    (("SYNC",), ("PING",), "ping", []),
    (("SYNC",), ("XINFO", "HELP"), "xinfo|help", []),
    (("PSYNC", "replicationid", "-1"), ("GET", "foo"), "get",
     ["== CRITICAL == This master is sending an error to its replica: ",
      "Replica can't interact with the keyspace"]),
    (("PSYNC", "replicationid", "-1"), ("SLOWLOG", "GET"), "slowlog|get", []),
]


class ReplicaReplies(unittest.TestCase):
    def run_all(self, port, log_path):
        admin = Client(port)
        for sync, command, name, extra in SCENARIOS:
            with self.subTest(command=command):
                sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                try:
                    sock.sendall(resp_command(*sync))
                    if sync[0] == "PSYNC":
                        self.assertTrue(read_line(sock).startswith(b"+FULLRESYNC "))
                    sock.sendall(resp_command(*command))
                    self.assertTrue(closes(sock), "the replica was not disconnected")
                finally:
                    sock.close()
                wanted = [f"Replica generated a reply to command '{name}', disconnecting it: id="]
                wanted += extra
                wait_until(lambda: all(w in log_text(log_path) for w in wanted), timeout=5,
                           what=f"the log lines about {command}")
                self.assertEqual(admin.call("PING"), "PONG")
        admin.close()

    def test_shardnode(self):
        with Node(args=["--loglevel", "verbose"]) as node:
            self.run_all(node.port, node.log_path)

    @unittest.skipUnless(REDIS_SERVER, "redis-server not installed")
    def test_redis_server(self):
        node = RedisServer()
        try:
            self.run_all(node.port, os.path.join(node.dir, "redis.log"))
        finally:
            node.stop()
            node.cleanup()


if __name__ == "__main__":
    unittest.main()
