"""Replication between shardnode and redis-server 7.0.15, both ways: a
shardnode replica of a redis-server primary and a redis-server replica of a
shardnode primary, with keys of every type, a load, matching DBSIZE and
values (every key read back over a pipeline), and a partial resync across the pair
after the link is killed. Skipped only when redis-server is missing."""
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import REDIS_SERVER as REDIS  # noqa: E402
from harness import Client, Node, RedisServer, info, wait_until  # noqa: E402


def caught_up(primary, replica):
    ri = info(replica)
    return (ri.get("master_link_status") == "up" and
            ri["master_repl_offset"] == info(primary)["master_repl_offset"])


def load(server, prefix):
    """Keys of every type, then a redis-benchmark load of mixed writes."""
    cmds = "".join(f"SET {prefix}s{i} {i}\n" for i in range(300))
    cmds += "".join(f"SET {prefix}big{i} {'x' * 3000}\n" for i in range(20))
    cmds += (f"RPUSH {prefix}list a b c 1 2 3\nHSET {prefix}hash f1 v1 f2 2\n"
             f"SADD {prefix}set x y z\nSADD {prefix}iset 1 2 3\n"
             f"ZADD {prefix}zset 1 one 2.5 two -3 three\n"
             f"SET {prefix}ttl v PX 900000\nINCRBYFLOAT {prefix}float 1.25\n"
             f"LPUSH {prefix}biglist " + " ".join(str(i) for i in range(700)) + "\n"
             f"DEL {prefix}s0\nEXPIRE {prefix}s1 1000\nAPPEND {prefix}s2 tail\n"
             f"SADD {prefix}pop " + " ".join(f"m{i}" for i in range(60)) + "\n"
             f"SPOP {prefix}pop\nSPOP {prefix}pop 7\nSPOP {prefix}pop 50\n")
    subprocess.run(["redis-cli", "-p", str(server.port)], input=cmds, capture_output=True,
                   text=True, timeout=60, check=True)
    subprocess.run(["redis-benchmark", "-p", str(server.port), "-q", "-n", "20000", "-r",
                    "5000", "-P", "16", "-t", "set,incr,lpush,rpush,sadd,hset,zadd,lpop,spop"],
                   capture_output=True, text=True, timeout=120, check=True)


def pipeline(port, commands):
    """Sends every command on one connection, then reads every reply. The
    connection is READONLY, so that cluster replicas serve their keys."""
    c = Client(port, timeout=30)
    try:
        c.call("READONLY")
        for i in range(0, len(commands), 1000):
            batch = commands[i:i + 1000]
            for cmd in batch:
                c.send(*cmd)
            yield from (c.read() for _ in batch)
    finally:
        c.close()


def contents(server):
    """Every key with its type, value (collections normalized) and whether it
    has a TTL, read over a pipeline."""
    keys = sorted(server.cli("--scan").splitlines())
    types = list(pipeline(server.port, [("TYPE", k) for k in keys]))
    reads = {"string": lambda k: ("GET", k), "list": lambda k: ("LRANGE", k, 0, -1),
             "set": lambda k: ("SMEMBERS", k), "hash": lambda k: ("HGETALL", k),
             "zset": lambda k: ("ZRANGE", k, 0, -1, "WITHSCORES")}
    values = list(pipeline(server.port, [reads[t](k) for k, t in zip(keys, types)]))
    ttls = list(pipeline(server.port, [("PTTL", k) for k in keys]))
    out = {}
    for k, t, v, ttl in zip(keys, types, values, ttls):
        if t in ("set", "hash"):
            v = sorted(zip(v[::2], v[1::2])) if t == "hash" else sorted(v)
        out[k] = (t, v, ttl > 0)
    return out


def same_data(a, b):
    """Same DBSIZE and the same keys, types, values and TTL presence."""
    if a.cli("DBSIZE") != b.cli("DBSIZE"):
        return False
    return contents(a) == contents(b)


@unittest.skipIf(REDIS is None, "redis-server not installed")
class ReplicationInteropTest(unittest.TestCase):
    def setUp(self):
        self.redis = RedisServer()
        self.node = Node().start()
        self.addCleanup(self.redis.cleanup)
        self.addCleanup(self.node.cleanup)

    def test_shardnode_replica_of_redis_primary(self):
        load(self.redis, "pre:")
        self.assertEqual(self.node.cli("REPLICAOF", "127.0.0.1", self.redis.port), "OK")
        wait_until(lambda: info(self.node).get("master_link_status") == "up", timeout=20,
                   what="link up")
        load(self.redis, "post:")
        wait_until(lambda: caught_up(self.redis, self.node), timeout=20, what="catch up")
        self.assertTrue(same_data(self.redis, self.node))
        self.assertEqual(self.node.cli("LRANGE", "pre:list", "0", "-1"), "a\nb\nc\n1\n2\n3")
        self.assertGreater(int(self.node.cli("PTTL", "post:ttl")), 800000)
        self.assertEqual(info(self.redis)["slave0"].split(",")[2], "state=online")

        # Partial resync: redis-server drops its replica; shardnode continues.
        self.assertEqual(self.redis.cli("CLIENT", "KILL", "TYPE", "replica"), "1")
        self.redis.cli("SET", "after:kill", "1")
        wait_until(lambda: info(self.redis, "stats")["sync_partial_ok"] == "1", timeout=20,
                   what="partial resync")
        wait_until(lambda: self.node.cli("GET", "after:kill") == "1", timeout=10, what="stream")
        self.assertEqual(info(self.redis, "stats")["sync_full"], "1")
        wait_until(lambda: caught_up(self.redis, self.node), timeout=20, what="catch up")
        self.assertTrue(same_data(self.redis, self.node))

    def test_redis_replica_of_shardnode_primary(self):
        load(self.node, "pre:")
        self.assertEqual(self.redis.cli("REPLICAOF", "127.0.0.1", self.node.port), "OK")
        wait_until(lambda: info(self.redis).get("master_link_status") == "up", timeout=20,
                   what="link up")
        load(self.node, "post:")
        wait_until(lambda: caught_up(self.node, self.redis), timeout=20, what="catch up")
        self.assertTrue(same_data(self.node, self.redis))
        self.assertEqual(self.redis.cli("ZSCORE", "post:zset", "two"), "2.5")

        # Partial resync: redis-server drops its primary link and continues.
        self.assertEqual(self.redis.cli("CLIENT", "KILL", "TYPE", "master"), "1")
        self.node.cli("SET", "after:kill", "1")
        wait_until(lambda: info(self.node, "stats")["sync_partial_ok"] == "1", timeout=20,
                   what="partial resync")
        wait_until(lambda: self.redis.cli("GET", "after:kill") == "1", timeout=10, what="stream")
        self.assertEqual(info(self.node, "stats")["sync_full"], "1")
        self.assertTrue(same_data(self.node, self.redis))

        # WAIT counts the redis-server replica's acknowledgement.
        self.node.cli("SET", "waited", "1")
        self.assertEqual(self.node.cli("WAIT", "1", "5000"), "1")


@unittest.skipIf(REDIS is None, "redis-server not installed")
class MixedClusterReplicationTest(unittest.TestCase):
    """Masters: redis-server, shardnode, shardnode. A shardnode replica of
    the redis-server master and a redis-server replica of a shardnode
    master, added with redis-cli --cluster add-node --cluster-slave."""

    def test_replicas_across_implementations(self):
        redis_primary, redis_replica = RedisServer(cluster=True), RedisServer(cluster=True)
        self.addCleanup(redis_primary.cleanup)
        self.addCleanup(redis_replica.cleanup)
        shard_primary, other, shard_replica = (Node(cluster=True).start() for _ in range(3))
        for n in (shard_primary, other, shard_replica):
            self.addCleanup(n.cleanup)
        run = lambda *a: subprocess.run(["redis-cli", "--cluster"] + [str(x) for x in a],  # noqa
                                        capture_output=True, text=True, timeout=120)
        out = run("create", f"127.0.0.1:{redis_primary.port}", f"127.0.0.1:{shard_primary.port}",
                  f"127.0.0.1:{other.port}", "--cluster-yes")
        self.assertIn("All 16384 slots covered", out.stdout, out.stdout + out.stderr)
        entry = f"127.0.0.1:{redis_primary.port}"
        for replica, primary in ((shard_replica, redis_primary), (redis_replica, shard_primary)):
            out = run("add-node", f"127.0.0.1:{replica.port}", entry, "--cluster-slave",
                      "--cluster-master-id", primary.cli("CLUSTER", "MYID"))
            self.assertIn("New node added correctly", out.stdout, out.stdout + out.stderr)
        for replica in (shard_replica, redis_replica):
            wait_until(lambda: info(replica).get("master_link_status") == "up", timeout=30,
                       what="replica link up")
        subprocess.run(["redis-benchmark", "-p", str(redis_primary.port), "--cluster", "-q",
                        "-n", "20000", "-r", "10000", "-P", "8", "-t",
                        "set,incr,lpush,sadd,hset,zadd,spop"],
                       capture_output=True, text=True, timeout=120, check=True)
        for primary, replica in ((redis_primary, shard_replica), (shard_primary, redis_replica)):
            wait_until(lambda: caught_up(primary, replica), timeout=30, what="catch up")
            self.assertGreater(int(primary.cli("DBSIZE")), 1000)
            self.assertTrue(same_data(primary, replica))
            self.assertEqual(replica.cli("ROLE").splitlines()[0], "slave")


if __name__ == "__main__":
    unittest.main(verbosity=2)
