"""Issue 19, Redis's unit/querybuf, unit/introspection and unit/pause, each
checked on shardnode and on redis-server 7.0.15 in the same test:

- the query buffer (CLIENT LIST qbuf + qbuf-free): 16 KB after a first
  small command, freed once the client idles more than 2 s, the size of a
  big argument after one, trimmed back by the cron once small commands
  follow;
- DEBUG CONFIG-REWRITE-FORCE-ALL writes every directive, defaults
  included, and the node restarts from that file with the same CONFIG GET *;
- a replica under CLIENT PAUSE WRITE reads its primary's stream
  (slave_read_repl_offset) but applies none of it (slave_repl_offset, the
  data) until the pause ends.

Skipped (with a message) only when redis-server is missing."""
import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (REDIS_SERVER, Client, Node, RedisServer, RedisServerNode,  # noqa: E402
                     client_list_field, info_int, start_diff_pair, wait_until)


def qbuf_total(c, name):
    return int(client_list_field(c, name, "qbuf")) + int(client_list_field(c, name, "qbuf-free"))



@unittest.skipUnless(REDIS_SERVER, "redis-server not installed")
class QueryBufferTest(unittest.TestCase):
    def test_idle_client_buffer_is_freed(self):
        node, redis = start_diff_pair()
        clients = []
        try:
            watched = {}
            for server in (node, redis):
                c, test_client = Client(server.port), Client(server.port)
                clients += [c, test_client]
                self.assertEqual(test_client.call("CLIENT", "SETNAME", "test_client"), "OK")
                watched[server.port] = c
                total = qbuf_total(c, "test_client")
                self.assertTrue(16384 <= total < 32768, f"{server.port}: {total}")
            for port, c in watched.items():
                wait_until(lambda: int(client_list_field(c, "test_client", "idle")) >= 3 and
                           qbuf_total(c, "test_client") == 0, timeout=10,
                           what=f"the idle query buffer freed on {port}")
        finally:
            for c in clients:
                c.close()
            node.cleanup()
            redis.cleanup()

    def test_silent_clients_have_no_buffer(self):
        # A client that has sent nothing yet has no query buffer: it is
        # made when its first bytes are read, and a read that finds no
        # bytes (the first one tries at once) makes none. 200 such clients
        # cost far less than 16 KB each. (Redis's own cost per client is
        # not comparable: it gives each a 16 KB reply buffer, shardnode
        # none until it replies.)
        node = Node().start()
        socks = []
        try:
            c = Client(node.port)
            socks.append(c.sock)
            before = info_int(c, "memory", "used_memory")
            socks += [socket.create_connection(("127.0.0.1", node.port)) for _ in range(200)]
            wait_until(lambda: info_int(c, "clients", "connected_clients") == 201, timeout=10,
                       what="200 silent clients accepted")
            per_client = (info_int(c, "memory", "used_memory") - before) / 200
            self.assertLess(per_client, 8192)
            # The first bytes get the client its 16 KB buffer, as in Redis.
            talker = Client(node.port)
            socks.append(talker.sock)
            self.assertEqual(talker.call("CLIENT", "SETNAME", "talker"), "OK")
            self.assertGreaterEqual(qbuf_total(c, "talker"), 16384)
        finally:
            for s in socks:
                s.close()
            node.cleanup()

    def test_big_argument_buffer_is_trimmed_to_the_peak(self):
        node, redis = start_diff_pair()
        clients = []
        try:
            for server in (node, redis):
                c, test_client = Client(server.port), Client(server.port)
                clients += [c, test_client]
                test_client.call("CLIENT", "SETNAME", "test_client")
                self.assertEqual(test_client.call("SET", "x", "A" * 400000), "OK")
                big = qbuf_total(c, "test_client")
                self.assertGreater(big, 32768, server.port)

                def shrunk():
                    test_client.call("SET", "x", "A" * 100)
                    return qbuf_total(c, "test_client") < big
                wait_until(shrunk, timeout=5, interval=0.01, what=f"a trimmed buffer on {server.port}")
                self.assertGreater(qbuf_total(c, "test_client"), 0)
        finally:
            for c in clients:
                c.close()
            node.cleanup()
            redis.cleanup()


@unittest.skipUnless(REDIS_SERVER, "redis-server not installed")
class ArgvMemTest(unittest.TestCase):
    def test_running_command_arguments_count(self):
        """CLIENT LIST shows the running command's argument bytes (argv-mem)
        for the client that runs it, none for an idle one."""
        node, redis = start_diff_pair()
        try:
            for server in (node, redis):
                c, idle = Client(server.port), Client(server.port)
                c.call("CLIENT", "SETNAME", "me")
                idle.call("CLIENT", "SETNAME", "idle")
                self.assertEqual(client_list_field(c, "me", "argv-mem"), "10")
                self.assertEqual(client_list_field(c, "idle", "argv-mem"), "0")
                c.close()
                idle.close()
        finally:
            node.cleanup()
            redis.cleanup()


@unittest.skipUnless(REDIS_SERVER, "redis-server not installed")
class ReplyBufferTest(unittest.TestCase):
    """unit/client-eviction "verify reply buffer limits": the reply buffer
    (CLIENT LIST rbs) of an idle client shrinks to 1 KB, a client fetching
    a 32 KB value makes it grow back to 16 KB (DEBUG REPLYBUFFER)."""

    def test_reply_buffer_follows_the_peak(self):
        node, redis = start_diff_pair()
        clients = []
        try:
            for server in (node, redis):
                c, tc = Client(server.port), Client(server.port)
                clients += [c, tc]
                self.assertEqual(c.call("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "100"), "OK")
                tc.call("CLIENT", "SETNAME", "test_client")

                def rbs():
                    return int(client_list_field(c, "test_client", "rbs"))
                wait_until(lambda: 1024 <= rbs() < 2046, timeout=5,
                           what=f"an idle reply buffer shrunk on {server.port}")
                c.call("SET", "bigval", "x" * 32768)
                self.assertEqual(c.call("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "NEVER"), "OK")

                def grown():
                    tc.call("GET", "bigval")
                    return 16384 <= rbs() < 32768
                wait_until(grown, timeout=5, interval=0.1, what=f"a grown buffer on {server.port}")
                self.assertEqual(c.call("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "RESET"), "OK")
                self.assertEqual(c.call("DEBUG", "REPLYBUFFER", "RESIZING", "0"), "OK")
                self.assertGreater(info_int(c, "stats", "reply_buffer_shrinks"), 0)
                self.assertGreater(info_int(c, "stats", "reply_buffer_expands"), 0)
        finally:
            for c in clients:
                c.close()
            node.cleanup()
            redis.cleanup()


@unittest.skipUnless(REDIS_SERVER, "redis-server not installed")
class ConfigRewriteForceAllTest(unittest.TestCase):
    def test_every_directive_written_and_read_back(self):
        node = Node(config_text="hz 10\n").start()
        try:
            c = Client(node.port)
            before = c.call("CONFIG", "GET", "*")
            self.assertEqual(c.call("DEBUG", "CONFIG-REWRITE-FORCE-ALL"), "OK")
            c.close()
            with open(os.path.join(node.dir, "shardnode.conf")) as f:
                text = f.read()
            # Defaults too, not only what differs from them.
            for line in ("appendonly no", "maxmemory-policy noeviction", "lazyfree-lazy-expire no"):
                self.assertIn("\n" + line + "\n", text)
            node.stop()
            node.config_text = text
            node.start()
            c = Client(node.port)
            self.assertEqual(dict(zip(*[iter(c.call("CONFIG", "GET", "*"))] * 2)),
                             dict(zip(*[iter(before)] * 2)))
            c.close()
        finally:
            node.cleanup()
        # redis-server writes the same default lines.
        redis = RedisWithConfig(args=["--enable-debug-command", "local"]).start()
        try:
            c = Client(redis.port)
            self.assertEqual(c.call("DEBUG", "CONFIG-REWRITE-FORCE-ALL"), "OK")
            c.close()
            with open(os.path.join(redis.dir, "redis.conf")) as f:
                text = f.read()
            for line in ("appendonly no", "maxmemory-policy noeviction", "lazyfree-lazy-expire no"):
                self.assertIn("\n" + line + "\n", text)
        finally:
            redis.cleanup()


class RedisWithConfig(RedisServerNode):
    """A redis-server started from a config file (redis.conf in its dir)."""

    def command_line(self):
        cmd = super().command_line()
        path = os.path.join(self.dir, "redis.conf")
        with open(path, "w") as f:
            f.write("hz 10\n")
        return [cmd[0], path] + cmd[1:]


@unittest.skipUnless(REDIS_SERVER, "redis-server not installed")
class ConfigSetRollbackTest(unittest.TestCase):
    """unit/introspection "CONFIG SET rollback on apply error" and "config
    during loading"."""

    def test_failed_apply_rolls_every_value_back(self):
        node, redis = start_diff_pair()
        busy = socket.socket()
        try:
            busy.bind(("127.0.0.1", 0))
            busy.listen(1)
            used = busy.getsockname()[1]
            for server in (node, redis):
                c = Client(server.port)
                before = [c.call("CONFIG", "GET", n)[1] for n in ("maxmemory", "appendfsync")]
                reply = c.call("CONFIG", "SET", "maxmemory", "10000001", "port", str(used),
                               "appendfsync", "always")
                self.assertTrue(reply.startswith("ERR CONFIG SET failed (possibly related to "
                                                 "argument 'port') - Unable to listen on this port"),
                                reply)
                after = [c.call("CONFIG", "GET", n)[1] for n in ("maxmemory", "appendfsync")]
                self.assertEqual(after, before, server.port)
                self.assertEqual(c.call("PING"), "PONG")
                c.close()
        finally:
            busy.close()
            node.cleanup()
            redis.cleanup()

    def test_dir_refused_while_loading(self):
        for make in (lambda a: Node(args=a).start(), lambda a: RedisServer(args=a)):
            server = make(["--enable-protected-configs", "yes", "--key-load-delay", "100",
                           "--loading-process-events-interval-bytes",
                           "1024", "--rdbcompression", "no"])
            try:
                c = Client(server.port)
                c.call("DEBUG", "POPULATE", "20000", "key", "100")
                self.assertEqual(c.call("SAVE"), "OK")
                c.close()
                server.stop()
                server.start(wait=False)
                c = None

                def loading():
                    nonlocal c
                    try:
                        c = c or Client(server.port)
                        return info_int(c, "persistence", "loading") == 1
                    except OSError:
                        c = None
                        return False
                wait_until(loading, timeout=10, what="the load under way")
                self.assertEqual(c.call("CONFIG", "SET", "loglevel", "debug"), "OK")
                reply = c.call("CONFIG", "SET", "dir", "asdf")
                self.assertTrue(reply.startswith("LOADING"), (server.port, reply))
                c.close()
            finally:
                server.cleanup()


@unittest.skipUnless(REDIS_SERVER, "redis-server not installed")
class ReplicaPauseTest(unittest.TestCase):
    def check(self, primary, replica):
        p, r = Client(primary.port), Client(replica.port)
        try:
            self.assertEqual(r.call("REPLICAOF", "127.0.0.1", str(primary.port)), "OK")
            wait_until(lambda: b"master_link_status:up" in r.call("INFO", "replication"),
                       timeout=20, what="the replica's link")
            p.call("SET", "foo", "bar")
            old = info_int(p, "replication", "master_repl_offset")
            wait_until(lambda: info_int(r, "replication", "slave_repl_offset") == old,
                       what="the replica caught up")
            self.assertEqual(r.call("CLIENT", "PAUSE", "100000", "WRITE"), "OK")
            p.call("SET", "foo2", "bar2")
            wait_until(lambda: info_int(r, "replication", "slave_read_repl_offset") ==
                       info_int(p, "replication", "master_repl_offset"), what="the stream read")
            self.assertEqual(info_int(r, "replication", "slave_repl_offset"), old)
            self.assertIsNone(r.call("GET", "foo2"))
            self.assertEqual(r.call("CLIENT", "UNPAUSE"), "OK")
            wait_until(lambda: info_int(r, "replication", "slave_repl_offset") ==
                       info_int(p, "replication", "master_repl_offset"), what="the stream applied")
            self.assertEqual(r.call("GET", "foo2"), b"bar2")
        finally:
            p.close()
            r.close()

    def test_paused_replica_reads_but_does_not_apply(self):
        for make in (lambda: Node().start(), RedisServer):
            primary, replica = make(), None
            try:
                replica = make()
                name = "redis" if isinstance(primary, RedisServerNode) else "shardnode"
                with self.subTest(server=name):
                    self.check(primary, replica)
            finally:
                primary.cleanup()
                if replica is not None:
                    replica.cleanup()


@unittest.skipUnless(REDIS_SERVER, "redis-server not installed")
class SubscriptionCountsTest(unittest.TestCase):
    def test_client_list_counts_subscriptions(self):
        # CLIENT LIST sub= / psub= count the client's channels and patterns.
        node, redis = start_diff_pair()
        clients = []
        try:
            for server in (node, redis):
                c, sub = Client(server.port), Client(server.port)
                clients += [c, sub]
                self.assertEqual(sub.call("CLIENT", "SETNAME", "subber"), "OK")
                sub.send("SUBSCRIBE", "a", "b")
                sub.read()
                sub.read()
                sub.send("PSUBSCRIBE", "p*")
                sub.read()
                self.assertEqual(client_list_field(c, "subber", "sub"), "2", server.port)
                self.assertEqual(client_list_field(c, "subber", "psub"), "1", server.port)
                self.assertEqual(client_list_field(c, "subber", "flags"), "P", server.port)
        finally:
            for c in clients:
                c.close()
            node.cleanup()
            redis.cleanup()


if __name__ == "__main__":
    unittest.main()
