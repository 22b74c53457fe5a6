"""maxmemory and eviction, side by side with redis-server 7.0.15: allkeys-lru
holds used_memory under the limit while a replica follows with the same keys,
noeviction and empty volatile-* pools answer the same OOM error (MULTI/EXEC
and scripts included), volatile-* evicts only keys with a TTL, a lower
CONFIG SET maxmemory evicts at once, and OBJECT FREQ / IDLETIME follow the
policy with Redis's errors and LFU counter."""
import os
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (REDIS_SERVER, Client, Error, Node, RedisServer, info,  # noqa: E402
                     wait_until)

MB = 1024 * 1024
OOM = "OOM command not allowed when used memory > 'maxmemory'."


# What INFO itself allocates while it measures (its reply, the client's
# buffers): used_memory may pass the limit by that much.
SLACK = 64 * 1024


def load(node, n=200000, size=200):
    """n SETs of `size` bytes on random keys, pipelined (redis-benchmark)."""
    r = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(node.port), "-t", "set",
                        "-n", str(n), "-r", "100000000", "-d", str(size), "-P", "16", "-q"],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError(f"redis-benchmark on {node.port}: {r.stdout[-500:]} {r.stderr}")


def used_memory(node):
    """used_memory as maxmemory counts it: less the replicas' output buffers
    (mem_not_counted_for_evict), as Redis's getMaxmemoryState."""
    mem = info(node, "memory")
    return int(mem["used_memory"]) - int(mem["mem_not_counted_for_evict"])


@unittest.skipUnless(REDIS_SERVER, "needs redis-server")
class MaxmemoryTest(unittest.TestCase):
    def start_pair(self, *args):
        node = Node(args=list(args)).start()
        self.addCleanup(node.cleanup)
        redis = RedisServer(args=list(args))
        self.addCleanup(redis.cleanup)
        return node, redis

    def test_allkeys_lru_holds_the_limit_and_the_replica_follows(self):
        args = ("--maxmemory", "10mb", "--maxmemory-policy", "allkeys-lru")
        node, redis = self.start_pair(*args)
        replica = Node().start()
        self.addCleanup(replica.cleanup)
        self.assertEqual(replica.cli("REPLICAOF", "127.0.0.1", node.port), "OK")
        wait_until(lambda: info(replica).get("master_link_status") == "up", what="link up")
        for server in (node, redis):
            load(server)
            if server is node:
                # The replica's pending stream is not counted against the
                # limit (mem_not_counted_for_evict): measure once it is sent.
                wait_until(lambda: info(replica)["master_repl_offset"] ==
                           info(node)["master_repl_offset"], timeout=60,
                           what="replica caught up")
            mem = info(server, "memory")
            self.assertEqual(mem["maxmemory_policy"], "allkeys-lru")
            self.assertEqual(mem["maxmemory"], str(10 * MB))
            self.assertLessEqual(int(mem["used_memory"]), 10 * MB + SLACK)
            self.assertGreater(int(info(server, "stats")["evicted_keys"]), 0)
        # As many keys kept as Redis keeps, within a margin.
        kept, ref = int(node.cli("DBSIZE")), int(redis.cli("DBSIZE"))
        self.assertGreater(kept, ref * 0.7)
        self.assertLess(kept, ref * 1.3)
        # The replica got the DELs: the same keys, and it evicted nothing.
        self.assertEqual(sorted(replica.cli("KEYS", "*").split()),
                         sorted(node.cli("KEYS", "*").split()))
        self.assertEqual(info(replica, "stats")["evicted_keys"], "0")
        # A lower limit evicts at once, without writes to trigger it (a run
        # longer than maxmemory-eviction-tenacity allows goes on in the loop).
        self.assertEqual(node.cli("CONFIG", "SET", "maxmemory", "5mb"), "OK")
        wait_until(lambda: used_memory(node) <= 5 * MB + SLACK, timeout=10,
                   what="used_memory under the new maxmemory")
        self.assertLess(int(node.cli("DBSIZE")), kept)

    def script(self, c):
        return [c.call("EVAL", "return redis.call('SET', KEYS[1], 'x')", "1", "s"),
                c.call("EVAL", "return redis.call('GET', KEYS[1])", "1", "a"),
                c.call("EVAL", "#!lua\nreturn redis.call('SET', KEYS[1], 'x')", "1", "s"),
                c.call("EVAL", "#!lua flags=no-writes\nreturn redis.call('GET', KEYS[1])",
                       "1", "a")]

    def test_noeviction_answers_oom_as_redis(self):
        node, redis = self.start_pair("--maxmemory-policy", "noeviction")
        replies = []
        for server in (node, redis):
            c = Client(server.port)
            self.addCleanup(c.close)
            out = [c.call("SET", "a", "1"), c.call("MULTI"), c.call("SET", "q", "1")]
            out += [c.call("CONFIG", "SET", "maxmemory", "1")]
            out += [c.call("EXEC")]  # queued before: SET is deny-oom
            out += [c.call("SET", "b", "2"), c.call("GET", "a"), c.call("DEL", "a"),
                    c.call("MULTI"), c.call("GET", "a"), c.call("DISCARD")]
            out += self.script(c)
            out += [c.call("CONFIG", "SET", "maxmemory", "0"), c.call("SET", "b", "2")]
            replies.append(out)
        self.assertEqual(replies[0], replies[1])
        self.assertEqual(replies[0][5],
                         Error("OOM command not allowed when used memory > 'maxmemory'."))
        stats = info(node, "stats")
        self.assertEqual(stats["evicted_keys"], "0")

    def test_volatile_policies_evict_only_keys_with_a_ttl(self):
        for policy in ("volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"):
            with self.subTest(policy=policy):
                node, redis = self.start_pair("--maxmemory-policy", policy)
                for server in (node, redis):
                    cmds = "".join(f"SET p{i} {'x' * 200}\n" for i in range(3000))
                    cmds += "".join(f"SET t{i} {'x' * 200} EX 1000\n" for i in range(3000))
                    subprocess.run(["redis-cli", "-p", str(server.port)], input=cmds,
                                   capture_output=True, text=True, timeout=60, check=True)
                    limit = used_memory(server) - 300 * 1024
                    self.assertEqual(server.cli("CONFIG", "SET", "maxmemory", str(limit)), "OK")
                    # Each write evicts within a time budget (see below):
                    # a slow build may need a few to get under the limit.
                    for _ in range(200):
                        server.cli("SET", "trigger", "1")
                        if used_memory(server) <= limit + SLACK:
                            break
                    self.assertLessEqual(used_memory(server), limit + SLACK)
                    self.assertEqual(int(server.cli("EXISTS", *[f"p{i}" for i in range(3000)])),
                                     3000)
                    self.assertGreater(int(info(server, "stats")["evicted_keys"]), 0)
                    ttl_left = int(server.cli("EXISTS", *[f"t{i}" for i in range(3000)]))
                    self.assertLess(ttl_left, 3000)
                    # With no key with a TTL left, writes fail. Eviction works
                    # within a time budget per command (eviction-tenacity), on
                    # both servers: a write that comes while keys with a TTL
                    # are still being evicted may pass (a slow build takes
                    # several), then writes fail.
                    server.cli("CONFIG", "SET", "maxmemory", "1")
                    for _ in range(200):
                        reply = server.cli("SET", "x", "1")
                        if reply == OOM:
                            break
                    self.assertEqual(reply, OOM, msg=f"{type(server).__name__} "
                                     f"dbsize {server.cli('DBSIZE')}")
                    self.assertEqual(server.cli("EXISTS", *[f"t{i}" for i in range(3000)]), "0")
                node.cleanup()
                redis.cleanup()

    def test_tracking_invalidations_do_not_drain_the_dataset(self):
        """Redis's "client tracking don't cause eviction feedback loop": the
        invalidations an eviction run pushes to tracking clients wait in
        their output buffers until the end of the loop's pass, and are not
        taken for memory the run still has to free (nor is anything else
        allocated between the evictor's measures). A lower maxmemory evicts
        a few dozen keys of 1 KB names, not the whole dataset."""

        def encode(*args):
            out = [b"*%d\r\n" % len(args)]
            for a in args:
                a = a.encode() if isinstance(a, str) else a
                out.append(b"$%d\r\n%s\r\n" % (len(a), a))
            return b"".join(out)

        def run(server):
            r = Client(server.port)
            self.addCleanup(r.close)
            for name, value in (("latency-tracking", "no"), ("maxmemory-policy", "allkeys-lru"),
                                ("maxmemory-eviction-tenacity", "100")):
                self.assertEqual(r.call("CONFIG", "SET", name, value), "OK")
            trackers = []
            for _ in range(10):
                s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
                self.addCleanup(s.close)
                s.sendall(encode("HELLO", "3") + encode("CLIENT", "TRACKING", "on"))
                trackers.append(s)
            for j in range(300):
                key = str(j) + "x" * 1000
                r.call("SET", key, "x")
                for s in trackers:
                    s.sendall(encode("GET", key))
            for s in trackers:  # every GET ran: each key is tracked
                s.sendall(encode("ECHO", "synced"))
                got = b""
                while not got.endswith(b"$6\r\nsynced\r\n"):
                    got += s.recv(1 << 20)
            time.sleep(1.1)  # the cron trims the query buffers, as the Tcl test waits
            used = int(info(server, "memory")["used_memory"])
            self.assertEqual(r.call("CONFIG", "SET", "maxmemory", str(used - 40000)), "OK")
            evicted = int(info(server, "stats")["evicted_keys"])
            return evicted, r.call("DBSIZE")

        node, redis = self.start_pair()
        for server in (node, redis):
            evicted, dbsize = run(server)
            self.assertTrue(10 <= evicted <= 50, f"{type(server).__name__} evicted {evicted}")
            self.assertTrue(200 <= dbsize <= 300, f"{type(server).__name__} dbsize {dbsize}")

    def test_object_freq_and_idletime_follow_the_policy(self):
        node, redis = self.start_pair()
        replies = []
        for server in (node, redis):
            c = Client(server.port)
            self.addCleanup(c.close)
            out = [c.call("SET", "k", "v"), c.call("OBJECT", "FREQ", "k"),
                   c.call("OBJECT", "IDLETIME", "k"), c.call("OBJECT", "FREQ", "nokey")]
            out += [c.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"),
                    c.call("CONFIG", "SET", "lfu-log-factor", "0"), c.call("SET", "f", "v"),
                    c.call("OBJECT", "FREQ", "f")]
            for _ in range(10):
                c.call("GET", "f")
            # OBJECT and TYPE do not touch; each GET counted one (factor 0).
            out += [c.call("TYPE", "f"), c.call("OBJECT", "FREQ", "f"),
                    c.call("OBJECT", "IDLETIME", "f")]
            # An overwrite touches the key once (its lookup), as Redis's
            # lookupKeyWrite; the new value keeps the counter.
            out += [c.call("SET", "f", "w"), c.call("SET", "f", "v", "XX"),
                    c.call("OBJECT", "FREQ", "f"), c.call("INFO", "memory")]
            replies.append(out)
        mem = replies[0].pop()
        replies[1].pop()
        self.assertEqual(replies[0], replies[1])
        self.assertIsInstance(replies[0][1], Error)
        self.assertEqual(replies[0][2], 0)
        self.assertEqual(replies[0][7], 5)
        self.assertEqual(replies[0][9], 15)
        self.assertIsInstance(replies[0][10], Error)
        self.assertEqual(replies[0][13], 17)
        self.assertIn(b"maxmemory_policy:allkeys-lfu", mem)


if __name__ == "__main__":
    unittest.main()
