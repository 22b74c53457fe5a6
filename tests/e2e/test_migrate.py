#!/usr/bin/env python3
"""MIGRATE: the same calls against shardnode and redis-server 7.0.15 as
sources (each migrating to a redis-server target and to a shardnode target),
every reply compared; keys leave the source only when the target took them;
a command on a key in flight waits and then sees the key gone; the node
keeps answering other clients while a big value is serialized; MIGRATE to a
closed port or a silent target leaves the keys intact."""
import os
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import Client, Node, RedisServer, wait_until  # noqa: E402


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MigrateDiffTest(unittest.TestCase):
    """One scenario run with each source kind and each target kind."""

    def scenario(self, src, dst):
        s = Client(src.port)
        d = Client(dst.port)
        for c in (s, d):
            c.call("FLUSHALL")
        out = []
        p = str(dst.port)
        s.call("SET", "k1", "v1")
        s.call("HSET", "h", "f1", "a", "f2", "b")
        s.call("SET", "e", "x", "PX", "100000")
        s.call("RPUSH", "l", *[str(i) for i in range(300)])
        s.call("ZADD", "z", "1", "a", "2", "b")
        out.append(s.call("MIGRATE", "127.0.0.1", p, "k1", "0", "5000"))
        out.append(s.call("MIGRATE", "127.0.0.1", p, "", "0", "5000", "KEYS", "h", "e", "nokey"))
        out.append(s.call("EXISTS", "k1", "h", "e"))
        out.append(d.call("GET", "k1"))
        out.append(sorted(d.call("HGETALL", "h")))
        ttl = d.call("PTTL", "e")
        out.append(90000 < ttl <= 100000)
        out.append(s.call("MIGRATE", "127.0.0.1", p, "nokey", "0", "5000"))
        # BUSYKEY from the target passes through; the key stays.
        s.call("SET", "k1", "again")
        out.append(s.call("MIGRATE", "127.0.0.1", p, "k1", "0", "5000"))
        out.append(s.call("GET", "k1"))
        out.append(s.call("MIGRATE", "127.0.0.1", p, "k1", "0", "5000", "COPY", "REPLACE"))
        out.append((s.call("GET", "k1"), d.call("GET", "k1")))
        out.append(s.call("MIGRATE", "127.0.0.1", p, "", "0", "5000", "REPLACE", "KEYS", "l", "z"))
        out.append((d.call("LLEN", "l"), d.call("ZRANGE", "z", "0", "-1", "WITHSCORES")))
        # Another database on the target, then back to 0.
        s.call("SET", "db3", "x")
        out.append(s.call("MIGRATE", "127.0.0.1", p, "db3", "3", "5000"))
        d.call("SELECT", "3")
        out.append(d.call("GET", "db3"))
        d.call("SELECT", "0")
        s.call("SET", "db0", "y")
        out.append(s.call("MIGRATE", "127.0.0.1", p, "db0", "0", "5000"))
        out.append(d.call("GET", "db0"))
        # The cached connection closed by the target: the next MIGRATE finds
        # it broken when it uses it and connects again once (the write or
        # the first read fails), the key moved all the same.
        d.call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
        s.call("SET", "killed", "z")
        out.append(s.call("MIGRATE", "127.0.0.1", p, "", "0", "5000", "KEYS", "killed"))
        out.append((s.call("EXISTS", "killed"), d.call("GET", "killed")))
        # Errors.
        s.call("SET", "k2", "v2")
        out.append(s.call("MIGRATE", "127.0.0.1", str(closed_port()), "k2", "0", "500"))
        out.append(s.call("MIGRATE", "127.0.0.1", p, "k2", "x", "1000"))
        out.append(s.call("MIGRATE", "127.0.0.1", p, "k2", "0", "1.5"))
        out.append(s.call("MIGRATE", "127.0.0.1", p, "k2", "0", "1000", "KEYS", "a"))
        out.append(s.call("MIGRATE", "127.0.0.1", p, "k2", "0", "1000", "AUTH"))
        out.append(s.call("MIGRATE", "127.0.0.1", p, "k2", "0", "1000", "BOGUS"))
        out.append(s.call("MIGRATE", "127.0.0.1", p, "k2", "0", "1000", "AUTH", "pw"))
        out.append(s.call("MIGRATE", "127.0.0.1", p, "k2", "99", "1000"))
        out.append(s.call("GET", "k2"))
        out.append(s.call("MIGRATE", "127.0.0.1", p))
        # Inside MULTI/EXEC: each MIGRATE's reply in EXEC's array, in order,
        # the commands around it seeing the key before and after.
        s.call("SET", "t1", "v1")
        s.call("RPUSH", "t2", *[str(i) for i in range(2000)])
        s.call("SET", "t3", "busy")
        d.call("SET", "t3", "there")
        out.append(s.call("MULTI"))
        queued = [
            ("GET", "t1"),
            ("MIGRATE", "127.0.0.1", p, "t1", "0", "5000"),
            ("EXISTS", "t1"),
            ("MIGRATE", "127.0.0.1", p, "", "0", "5000", "KEYS", "t2", "nokey"),
            ("MIGRATE", "127.0.0.1", p, "nokey", "0", "5000"),
            ("MIGRATE", "127.0.0.1", p, "t3", "0", "5000"),
            ("MIGRATE", "127.0.0.1", str(closed_port()), "t3", "0", "500"),
            ("MIGRATE", "127.0.0.1", p, "t3", "x", "5000"),
            ("SET", "t1", "after"),
        ]
        for q in queued:
            out.append(s.call(*q))
        out.append(s.call("EXEC"))
        out.append((s.call("GET", "t1"), s.call("EXISTS", "t2", "t3")))
        out.append((d.call("GET", "t1"), d.call("LLEN", "t2"), d.call("GET", "t3")))
        s.close()
        d.close()
        return out

    def test_same_replies_as_redis(self):
        nodes = []
        try:
            sn_src = Node().start()
            nodes.append(sn_src)
            sn_dst = Node().start()
            nodes.append(sn_dst)
            r_src = RedisServer()
            nodes.append(r_src)
            r_dst = RedisServer()
            nodes.append(r_dst)
            for dst in (r_dst, sn_dst):
                ours = self.scenario(sn_src, dst)
                theirs = self.scenario(r_src, dst)
                self.assertEqual(ours, theirs)
            # And redis-server migrating into shardnode gives what it gives
            # into itself.
            self.assertEqual(self.scenario(r_src, sn_dst), self.scenario(r_src, r_dst))
        finally:
            for n in nodes:
                n.cleanup()


class MigrateInFlightTest(unittest.TestCase):
    FIELDS = 300_000

    def test_other_clients_are_served_and_keys_in_flight_wait(self):
        with Node() as src, Node() as dst:
            s = Client(src.port, timeout=60)
            # One big hash (sliced serialization), loaded in batches.
            for start in range(0, self.FIELDS, 10_000):
                args = []
                for i in range(start, start + 10_000):
                    args += [f"field:{i}", f"value:{i:08d}" * 4]
                s.call("HSET", "big", *args)
            s.call("SET", "other", "1")
            migrate_reply = {}

            def run_migrate():
                c = Client(src.port, timeout=60)
                migrate_reply["r"] = c.call("MIGRATE", "127.0.0.1", str(dst.port), "big", "0",
                                            "20000")
                migrate_reply["t"] = time.monotonic()
                c.close()

            t = threading.Thread(target=run_migrate)
            t.start()
            # Wait until the MIGRATE is in progress (its client shows it).
            wait_until(lambda: "cmd=migrate" in src.cli("CLIENT", "LIST") or "r" in migrate_reply,
                       timeout=20, what="MIGRATE running")
            caught_in_progress = "r" not in migrate_reply
            # Other clients are served meanwhile; a command on the key in
            # flight waits and then sees it gone (had it run at once, it
            # would have counted the fields still here).
            probe = Client(src.port, timeout=60)
            self.assertEqual(probe.call("GET", "other"), b"1")
            hlen = probe.call("HLEN", "big")
            t.join(60)
            self.assertEqual(migrate_reply.get("r"), "OK")
            self.assertTrue(caught_in_progress, "the MIGRATE ended before the probe")
            self.assertEqual(hlen, 0)
            self.assertEqual(Client(dst.port).call("HLEN", "big"), self.FIELDS)
            probe.close()
            s.close()

    def test_pings_are_answered_during_a_big_migrate(self):
        # A hash of 200k fields (about 25 MB of payload, a few hundred
        # slices): while the MIGRATE runs, another client's PINGs keep being
        # answered (Redis answers none until its MIGRATE is over).
        fields = 200_000
        with Node() as src, Node() as dst:
            s = Client(src.port, timeout=60)
            for start in range(0, fields, 10_000):
                args = []
                for i in range(start, start + 10_000):
                    args += [f"field:{i}", f"{i:012d}" * 8]
                s.call("HSET", "bighash", *args)
            pings = {"n": 0, "stop": False, "error": None}

            def ping_loop():
                try:
                    c = Client(src.port, timeout=60)
                    while not pings["stop"]:
                        if c.call("PING") != "PONG":
                            raise AssertionError("PING not answered with PONG")
                        pings["n"] += 1
                    c.close()
                except Exception as e:  # reported by the main thread
                    pings["error"] = e

            t = threading.Thread(target=ping_loop)
            t.start()
            try:
                wait_until(lambda: pings["n"] > 0 or pings["error"], timeout=10,
                           what="the PING client running")
                m = Client(src.port, timeout=60)
                before = pings["n"]
                reply = m.call("MIGRATE", "127.0.0.1", str(dst.port), "bighash", "0", "30000")
                during = pings["n"] - before
                m.close()
            finally:
                pings["stop"] = True
                t.join(30)
            self.assertIsNone(pings["error"])
            self.assertEqual(reply, "OK")
            self.assertEqual(Client(dst.port).call("HLEN", "bighash"), fields)
            self.assertEqual(s.call("EXISTS", "bighash"), 0)
            # Answered while the MIGRATE was in progress, not queued behind it.
            self.assertGreaterEqual(during, 20, f"{during} PINGs answered during the MIGRATE")
            s.close()

    def test_target_serves_while_a_big_restore_decodes(self):
        # The target of a big MIGRATE decodes the RESTORE payload off its
        # loop: after the RESTORE has been read (CLIENT LIST names it), other
        # clients are still answered before the key lands (DBSIZE 0). A
        # RESTORE run in one go would answer nobody until the key is there.
        fields = 200_000
        with Node() as src, Node() as dst:
            s = Client(src.port, timeout=60)
            for start in range(0, fields, 10_000):
                args = []
                for i in range(start, start + 10_000):
                    args += [f"field:{i}", f"{i:012d}" * 8]
                s.call("HSET", "bighash", *args)
            result = {}

            def run_migrate():
                c = Client(src.port, timeout=60)
                result["r"] = c.call("MIGRATE", "127.0.0.1", str(dst.port), "bighash", "0",
                                     "30000")
                c.close()

            t = threading.Thread(target=run_migrate)
            t.start()
            probe = Client(dst.port, timeout=60)
            caught = False
            deadline = time.monotonic() + 60
            while "r" not in result and time.monotonic() < deadline:
                clients = probe.call("CLIENT", "LIST").decode()
                if "cmd=restore" in clients and probe.call("DBSIZE") == 0:
                    caught = True
                    break
            t.join(60)
            self.assertEqual(result.get("r"), "OK")
            self.assertTrue(caught, "never served while the RESTORE was in progress")
            self.assertEqual(probe.call("HLEN", "bighash"), fields)
            probe.close()
            s.close()

    def test_big_restore_reaches_the_targets_replica(self):
        # A RESTORE decoded off the loop still propagates, payload and all:
        # the target's replica gets the hash; the source's replica loses it.
        fields = 50_000
        with Node() as src, Node() as dst, Node() as dst_replica, Node() as src_replica:
            for replica, primary in ((dst_replica, dst), (src_replica, src)):
                self.assertEqual(replica.cli("REPLICAOF", "127.0.0.1", primary.port), "OK")
                wait_until(lambda r=replica: harness.info(r).get("master_link_status") == "up",
                           timeout=30, what="replica linked")
            s = Client(src.port, timeout=60)
            for start in range(0, fields, 10_000):
                args = []
                for i in range(start, start + 10_000):
                    args += [f"field:{i}", f"{i:012d}" * 8]
                s.call("HSET", "bighash", *args)
            wait_until(lambda: Client(src_replica.port).call("HLEN", "bighash") == fields,
                       timeout=30, what="the source's replica loaded")
            self.assertEqual(
                s.call("MIGRATE", "127.0.0.1", str(dst.port), "bighash", "0", "30000"), "OK")
            wait_until(lambda: Client(dst_replica.port).call("HLEN", "bighash") == fields,
                       timeout=30, what="the hash on the target's replica")
            wait_until(lambda: Client(src_replica.port).call("EXISTS", "bighash") == 0,
                       timeout=30, what="the DEL on the source's replica")
            self.assertEqual(Client(dst_replica.port).call("HGET", "bighash", "field:777"),
                             b"000000000777" * 8)
            s.close()

    def test_silent_target_times_out_and_keys_stay(self):
        # A listener that accepts and never answers.
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        try:
            with Node() as src:
                s = Client(src.port, timeout=10)
                s.call("SET", "a", "1")
                s.call("SET", "b", "2")
                reply = s.call("MIGRATE", "127.0.0.1", str(silent.getsockname()[1]), "", "0",
                               "300", "KEYS", "a", "b")
                self.assertIsInstance(reply, harness.Error)
                self.assertTrue(str(reply).startswith("IOERR error or timeout reading"), reply)
                self.assertEqual(s.call("MGET", "a", "b"), [b"1", b"2"])
                # The node still serves, and the keys are writable again.
                self.assertEqual(s.call("INCR", "a"), 2)
                s.close()
        finally:
            silent.close()


if __name__ == "__main__":
    unittest.main()
