"""Issue 9 (a crash on network input): CLIENT KILL inside MULTI/EXEC, as
Redis Sentinel sends it when it promotes a replica (MULTI, SLAVEOF, CONFIG
REWRITE, CLIENT KILL TYPE normal, CLIENT KILL TYPE pubsub, EXEC, pipelined).

Each scenario runs against shardnode and redis-server 7.0.15 and compares
the bytes every connection receives: the EXEC reply arrives in full, then a
connection that killed itself closes (CLOSE_AFTER_REPLY); killed clients
are gone at once (a second CLIENT KILL does not count them again, PUBSUB
NUMSUB and CLIENT LIST no longer show them) and their connections close;
the node survives and keeps serving."""
import os
import shutil
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Client, Node, RedisServer, wait_until  # noqa: E402

REDIS = shutil.which("redis-server")


def encode(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def read_until_closed(sock, timeout=5.0):
    """Every byte the server sends until it closes the connection; None when
    it is still open after `timeout`."""
    sock.settimeout(timeout)
    chunks = []
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return b"".join(chunks)
            chunks.append(data)
    except socket.timeout:
        return None
    except ConnectionResetError:
        return b"".join(chunks)


def subscriber(port, *subscribe):
    c = Client(port)
    c.send(*subscribe)
    c.read()
    return c


def client_id(c):
    return c.call("CLIENT", "ID")


def scenario_sentinel_promotion(port):
    """The sentinel's pipeline, from a connection that is not killed
    (skipme), with other normal and Pub/Sub clients around."""
    normal = [Client(port), Client(port)]
    for c in normal:
        c.call("PING")
    subs = [subscriber(port, "SUBSCRIBE", "__sentinel__:hello"),
            subscriber(port, "PSUBSCRIBE", "*")]
    killer = socket.create_connection(("127.0.0.1", port), timeout=5)
    killer.sendall(b"".join([
        encode("MULTI"), encode("CONFIG", "REWRITE"), encode("CLIENT", "KILL", "TYPE", "normal"),
        encode("CLIENT", "KILL", "TYPE", "pubsub"), encode("CLIENT", "KILL", "TYPE", "normal"),
        encode("CLIENT", "KILL", "TYPE", "pubsub"), encode("EXEC"),
        encode("PUBLISH", "__sentinel__:hello", "x"), encode("PING")]))
    results = {"others": [read_until_closed(c.sock) for c in normal + subs]}
    killer.shutdown(socket.SHUT_WR)
    results["killer"] = read_until_closed(killer)
    killer.close()
    check = Client(port)
    results["numsub"] = check.call("PUBSUB", "NUMSUB", "__sentinel__:hello")
    results["numpat"] = check.call("PUBSUB", "NUMPAT")
    results["clients"] = len(check.call("CLIENT", "LIST").splitlines())
    check.close()
    for c in normal + subs:
        c.close()
    return results


def scenario_kill_self_inside_exec(port):
    """CLIENT KILL ID <own id> SKIPME no inside EXEC: the EXEC reply comes
    whole, the command after EXEC is not answered, the connection closes."""
    c = Client(port)
    me = client_id(c)
    c.sock.sendall(b"".join([
        encode("MULTI"), encode("SET", "k", "v"),
        encode("CLIENT", "KILL", "ID", me, "SKIPME", "no"), encode("GET", "k"), encode("EXEC"),
        encode("PING")]))
    out = read_until_closed(c.sock)
    c.close()
    return out


def scenario_kill_everyone_inside_exec(port):
    """TYPE normal SKIPME no kills the other clients and this one: the others
    close at once, this one after its EXEC reply."""
    others = [Client(port), subscriber(port, "SUBSCRIBE", "ch")]
    c = Client(port)
    c.sock.sendall(b"".join([
        encode("MULTI"), encode("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "no"),
        encode("CLIENT", "KILL", "TYPE", "pubsub"), encode("EXEC"), encode("PING")]))
    out = {"self": read_until_closed(c.sock),
           "others": [read_until_closed(o.sock) for o in others]}
    for o in others + [c]:
        o.close()
    return out


def scenario_kill_blocked_and_watching(port):
    """Killed clients that were blocked (BLPOP) or WATCHing leave no trace:
    a later push to the list and a write to the watched key reach nobody."""
    blocked = Client(port)
    blocked.send("BLPOP", "list", "0")
    watching = Client(port)
    watching.call("WATCH", "w")
    killer = Client(port)
    wait_until(lambda: "flags=b" in killer.call("CLIENT", "LIST").decode(), timeout=5,
               what="client blocked")
    killer.call("MULTI")
    killer.call("CLIENT", "KILL", "TYPE", "normal")
    replies = [killer.call("EXEC")]
    replies.append(read_until_closed(blocked.sock))
    replies.append(read_until_closed(watching.sock))
    replies.append(killer.call("RPUSH", "list", "a"))
    replies.append(killer.call("SET", "w", "1"))
    replies.append(killer.call("LLEN", "list"))
    replies.append(len(killer.call("CLIENT", "LIST").splitlines()))
    for c in (blocked, watching, killer):
        c.close()
    return replies


SCENARIOS = [scenario_sentinel_promotion, scenario_kill_self_inside_exec,
             scenario_kill_everyone_inside_exec, scenario_kill_blocked_and_watching]


@unittest.skipIf(REDIS is None, "redis-server is not installed: no reference to compare with")
class ClientKillInsideExecTest(unittest.TestCase):
    def test_matches_redis_and_node_survives(self):
        node = Node().start()
        self.addCleanup(node.cleanup)
        redis = RedisServer()
        self.addCleanup(redis.cleanup)
        for scenario in SCENARIOS:
            with self.subTest(scenario=scenario.__name__):
                node.cli("FLUSHALL")
                redis.cli("FLUSHALL")
                self.assertEqual(scenario(node.port), scenario(redis.port))
                self.assertIsNone(node.proc.poll(), node.output()[-4000:])
                self.assertEqual(node.cli("PING"), "PONG")

    def test_repeated_promotion_pipelines_with_publishers(self):
        """Many rounds of the sentinel's pipeline while other connections
        subscribe and publish: the node stays up and never sends a reply
        nobody asked for (each connection gets exactly its replies)."""
        node = Node().start()
        self.addCleanup(node.cleanup)
        for _ in range(30):
            subs = [subscriber(node.port, "SUBSCRIBE", "__sentinel__:hello") for _ in range(3)]
            cmd = Client(node.port)
            cmd.call("CLIENT", "SETNAME", "sentinel-cmd")
            publisher = Client(node.port)
            killer = Client(node.port)
            killer.sock.sendall(b"".join([
                encode("MULTI"), encode("CLIENT", "KILL", "TYPE", "normal"),
                encode("CLIENT", "KILL", "TYPE", "pubsub"), encode("EXEC")]))
            for s in subs:
                self.assertIsNotNone(read_until_closed(s.sock))
            # A new command connection and subscriber right after the kill:
            # they must only ever see their own replies and messages.
            fresh_sub = subscriber(node.port, "SUBSCRIBE", "__sentinel__:hello")
            fresh_cmd = Client(node.port)
            self.assertEqual(fresh_cmd.call("PUBLISH", "__sentinel__:hello", "m"), 1)
            self.assertEqual(fresh_cmd.call("PING"), "PONG")
            self.assertEqual(fresh_sub.read(), [b"message", b"__sentinel__:hello", b"m"])
            replies = [killer.read() for _ in range(4)]
            self.assertEqual(replies[:3], ["OK", "QUEUED", "QUEUED"])
            self.assertEqual(replies[3], [2, 3])
            self.assertEqual(killer.call("PING"), "PONG")
            for c in subs + [cmd, publisher, killer, fresh_sub, fresh_cmd]:
                c.close()
            self.assertIsNone(node.proc.poll(), node.output()[-4000:])


if __name__ == "__main__":
    unittest.main(verbosity=2)
