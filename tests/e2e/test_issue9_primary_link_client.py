"""Issue 9: a replica's link to its primary is a client, as in Redis. One
shardnode primary with two replicas, a shardnode and a redis-server 7.0.15,
driven through the same steps and compared: CLIENT LIST shows the link with
flag M and the primary's address, INFO clients counts it, CLIENT KILL TYPE
master / ID / ADDR (and the old addr form) drop it, and the replica comes
back by partial resync (+CONTINUE: the primary's sync_partial_ok moves,
sync_full does not) with the key written meanwhile. Also: the link
authenticates as masteruser when it is set (AUTH <user> <pass>). Skipped
only when redis-server is missing."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import REDIS_SERVER as REDIS  # noqa: E402
from harness import Node, RedisServer, info, wait_until  # noqa: E402


def fields(line):
    return dict(kv.split("=", 1) for kv in line.split(" ") if "=" in kv)


def master_clients(replica):
    """CLIENT LIST TYPE master of `replica`, one dict per line."""
    out = replica.cli("CLIENT", "LIST", "TYPE", "master")
    return [fields(line) for line in out.splitlines() if line.strip()]


@unittest.skipIf(REDIS is None, "redis-server not installed")
class PrimaryLinkIsAClientTest(unittest.TestCase):
    def setUp(self):
        self.primary = Node().start()
        self.addCleanup(self.primary.cleanup)
        self.shardnode = Node().start()
        self.addCleanup(self.shardnode.cleanup)
        self.redis = RedisServer()
        self.addCleanup(self.redis.cleanup)
        self.replicas = {"shardnode": self.shardnode, "redis-server": self.redis}
        for replica in self.replicas.values():
            self.assertEqual(replica.cli("REPLICAOF", "127.0.0.1", self.primary.port), "OK")
        for name, replica in self.replicas.items():
            wait_until(lambda: self.caught_up(replica), timeout=20, what=f"{name} caught up")

    def caught_up(self, replica):
        ri = info(replica)
        return (ri.get("master_link_status") == "up" and
                ri.get("master_repl_offset") == info(self.primary).get("master_repl_offset"))

    def stats(self):
        s = info(self.primary, "stats")
        return int(s["sync_full"]), int(s["sync_partial_ok"])

    def kill_and_resync(self, name, kill, expected_reply, key):
        """Drops `name`'s link with `kill` (a CLIENT KILL argument list),
        writes `key` on the primary, and checks the replica continues."""
        replica = self.replicas[name]
        full, partial = self.stats()
        self.assertEqual(replica.cli("CLIENT", "KILL", *kill), expected_reply, f"{name} {kill}")
        self.primary.cli("SET", key, name)
        wait_until(lambda: replica.cli("GET", key) == name, timeout=20,
                   what=f"{key} on {name}")
        wait_until(lambda: self.caught_up(replica), timeout=20, what=f"{name} caught up")
        self.assertEqual(self.stats(), (full, partial + 1), f"{name} after {kill}")
        self.assertEqual(len(master_clients(replica)), 1, name)

    def test_client_list_and_info_show_the_link(self):
        shown = {}
        for name, replica in self.replicas.items():
            clients = master_clients(replica)
            self.assertEqual(len(clients), 1, f"{name}: {clients}")
            c = clients[0]
            self.assertEqual(c["flags"], "M", name)
            self.assertEqual(c["addr"], f"127.0.0.1:{self.primary.port}", name)
            self.assertTrue(c["laddr"].startswith("127.0.0.1:"), name)
            self.assertEqual(c["db"], "0", name)
            self.assertNotEqual(c["fd"], "-1", name)
            shown[name] = c
            # The link is a client of its own: listed with the others, not a
            # normal one, and counted by INFO clients (with redis-cli's).
            all_ids = [fields(line)["id"] for line in replica.cli("CLIENT", "LIST").splitlines()]
            self.assertIn(c["id"], all_ids, name)
            normal = [fields(line)["id"]
                      for line in replica.cli("CLIENT", "LIST", "TYPE", "normal").splitlines()]
            self.assertNotIn(c["id"], normal, name)
        self.assertEqual(set(shown["shardnode"]), set(shown["redis-server"]))
        # INFO clients counts the link and the asking connection (the
        # previous redis-cli connections may take a moment to be reaped).
        for name, replica in self.replicas.items():
            wait_until(lambda: info(replica, "clients")["connected_clients"] == "2",
                       timeout=5, what=f"connected_clients:2 on {name}")
        # The primary counts neither of its replicas as a connected client.
        wait_until(lambda: info(self.primary, "clients")["connected_clients"] == "1",
                   timeout=5, what="connected_clients:1 on the primary")

    def test_kill_type_master_then_partial_resync(self):
        for name in self.replicas:
            self.kill_and_resync(name, ["TYPE", "master"], "1", f"after:type:{name}")
        # Nothing left to kill on a primary.
        self.assertEqual(self.primary.cli("CLIENT", "KILL", "TYPE", "master"), "0")
        # Both continued links acknowledge what they applied (REPLCONF ACK).
        self.primary.cli("SET", "acked", "1")
        self.assertEqual(self.primary.cli("WAIT", "2", "5000"), "2")

    def test_kill_by_id_and_addr_then_partial_resync(self):
        for name, replica in self.replicas.items():
            link = master_clients(replica)[0]
            self.kill_and_resync(name, ["ID", link["id"]], "1", f"after:id:{name}")
            link = master_clients(replica)[0]
            self.kill_and_resync(name, ["ADDR", link["addr"]], "1", f"after:addr:{name}")
            self.kill_and_resync(name, [link["addr"]], "OK", f"after:old:{name}")
            # A partial resync keeps the client (Redis's cached master comes
            # back): same id as before the kills.
            self.assertEqual(master_clients(replica)[0]["id"], link["id"], name)


@unittest.skipIf(REDIS is None, "redis-server not installed")
class MasterUserTest(unittest.TestCase):
    def test_link_authenticates_as_masteruser(self):
        """masteruser + masterauth: the handshake sends AUTH <user> <pass>,
        as Redis 7.0 does, so an ACL user of a redis-server primary works."""
        primary = RedisServer(args=["--requirepass", "defaultpw"])
        self.addCleanup(primary.cleanup)
        self.assertEqual(primary.cli("-a", "defaultpw", "--no-auth-warning", "ACL", "SETUSER",
                                     "repl", "on", ">replpw", "~*", "+@all"), "OK")
        primary.cli("-a", "defaultpw", "--no-auth-warning", "SET", "k", "v")
        replica = Node(args=["--masteruser", "repl", "--masterauth", "replpw"]).start()
        self.addCleanup(replica.cleanup)
        self.assertEqual(replica.cli("REPLICAOF", "127.0.0.1", primary.port), "OK")
        wait_until(lambda: replica.cli("GET", "k") == "v", timeout=20, what="synced as repl")
        clients = primary.cli("-a", "defaultpw", "--no-auth-warning", "CLIENT", "LIST", "TYPE",
                              "replica")
        self.assertIn("user=repl", clients)


if __name__ == "__main__":
    unittest.main()
