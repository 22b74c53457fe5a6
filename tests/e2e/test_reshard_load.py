#!/usr/bin/env python3
"""Resharding under a live write load, with a checker client.

Two masters A (slots 0-8191) and B (the rest); the lowest SLOTS slots of A
hold a pair of counters each ({c<i>}a and {c<i>}b, one hash tag) and some
filler keys. Checker threads, each owning a share of the counter pairs and
talking through a cluster-aware client (MOVED: update the slot map and
retry; ASK: ASKING + the command on the named node; TRYAGAIN: a short
sleep and retry, bounded), send INCR to either counter of a pair and MGET
of the pair, while `redis-cli --cluster reshard` moves those slots from A
to B and then back from B to A.

Asserted: every acknowledged INCR is kept (final value >= INCRs
acknowledged), no counter is above the INCRs sent, no read (INCR reply or
MGET) goes backwards, every reply is either served or a MOVED / ASK /
TRYAGAIN that the client resolved (any other error fails the test; the
redirections are counted and printed), `redis-cli --cluster check` is clean
after each reshard. Run with shardnode nodes (one shard thread, and four),
with a shardnode A and a redis-server B, and with redis-server 7.0.15
nodes as the control."""
import os
import random
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import REDIS_SERVER  # noqa: E402
import reshardlib as rl  # noqa: E402

SLOTS = 300
FILLER_PER_SLOT = 12
THREADS = 2


class CounterPair:
    def __init__(self, tag):
        self.keys = (f"{tag}a", f"{tag}b")
        self.sent = [0, 0]   # INCRs sent (acknowledged or not)
        self.acked = [0, 0]  # INCRs acknowledged
        self.seen = [0, 0]   # the highest value read


class Checker(threading.Thread):
    def __init__(self, seed_port, pairs, stop, seed):
        super().__init__(daemon=True)
        self.client = rl.ClusterClient(seed_port)
        self.pairs = pairs
        self.stop_event = stop
        self.rng = random.Random(seed)
        self.violations = []
        self.failures = []  # (op, error) of replies the client could not resolve
        self.ops = 0

    def check(self, pair, i, value, what):
        if value < pair.seen[i]:
            self.violations.append(f"{pair.keys[i]}: {what} {value} after {pair.seen[i]}")
        if value > pair.sent[i]:
            self.violations.append(f"{pair.keys[i]}: {what} {value} > {pair.sent[i]} sent")
        pair.seen[i] = max(pair.seen[i], value)

    def one(self):
        pair = self.rng.choice(self.pairs)
        if self.rng.random() < 0.7:
            i = self.rng.randrange(2)
            pair.sent[i] += 1
            value = self.client.call(pair.keys[i], "INCR", pair.keys[i])
            if not isinstance(value, int):
                raise rl.ClusterClientError(f"INCR replied {value!r}")
            pair.acked[i] += 1
            self.check(pair, i, value, "INCR")
        else:
            values = self.client.call(pair.keys[0], "MGET", *pair.keys)
            if not isinstance(values, list) or len(values) != 2:
                raise rl.ClusterClientError(f"MGET replied {values!r}")
            for i, v in enumerate(values):
                self.check(pair, i, int(v or 0), "MGET")

    def run(self):
        while not self.stop_event.is_set():
            try:
                self.one()
                self.ops += 1
            except (rl.ClusterClientError, OSError, ConnectionError) as e:
                self.failures.append(repr(e))
                self.client.close()
                if len(self.failures) > 50:
                    return
        self.client.close()


@unittest.skipIf(REDIS_SERVER is None, "redis-server is not installed")
class ReshardUnderLoadTest(unittest.TestCase):
    def scenario(self, kind, extra=(), kind_b=None):
        a, b = rl.two_masters(kind, kind_b or kind, extra=extra)
        label = kind if kind_b is None else f"{kind}+{kind_b}"
        try:
            tags = rl.keys_in_slots("c", range(SLOTS), 1)
            pairs = [CounterPair("{" + tags[s][0] + "}") for s in range(SLOTS)]
            cmds = [["SET", k, "0"] for p in pairs for k in p.keys]
            filler = rl.keys_in_slots("fill:", range(SLOTS), FILLER_PER_SLOT)
            cmds += [["SET", k, "f" * 200] for ks in filler.values() for k in ks]
            for r in rl.pipeline(a.port, cmds):
                self.assertEqual(r, "OK")

            stop = threading.Event()
            checkers = [Checker(a.port, pairs[i::THREADS], stop, i) for i in range(THREADS)]
            for c in checkers:
                c.start()
            try:
                for src, dst in ((a, b), (b, a)):
                    # Some load before the reshard starts.
                    base = sum(c.ops for c in checkers)
                    rl.wait_until(lambda: sum(c.ops for c in checkers) >= base + 200, timeout=30,
                                  what="checker progress")
                    t0 = time.monotonic()
                    out = rl.reshard(src, dst, SLOTS, timeout=150)
                    took = time.monotonic() - t0
                    self.assertEqual(out.returncode, 0, out.stdout[-3000:] + out.stderr[-3000:])
                    rl.wait_check_ok(a.port)
                    owners = rl.slot_owners(a.port)
                    self.assertTrue(all(owners[s] == dst.port for s in range(SLOTS)))
                    # The load goes on a while on the new owner.
                    base = sum(c.ops for c in checkers)
                    rl.wait_until(lambda: sum(c.ops for c in checkers) >= base + 200, timeout=30,
                                  what="checker progress after the reshard")
                    print(f"{label}: reshard {src.port}->{dst.port} {took:.1f} s", file=sys.stderr)
            finally:
                stop.set()
                for c in checkers:
                    c.join(30)

            # Final values, read straight from the owner (B holds none of them).
            self.assertEqual(rl.call(b.port, "DBSIZE"), 0)
            finals = rl.pipeline(a.port, [["MGET", *p.keys] for p in pairs])
            lost, over = [], []
            for p, vals in zip(pairs, finals):
                for i in range(2):
                    v = int(vals[i])
                    if v < p.acked[i]:
                        lost.append((p.keys[i], v, p.acked[i]))
                    if v > p.sent[i]:
                        over.append((p.keys[i], v, p.sent[i]))
            stats = {k: sum(c.client.stats[k] for c in checkers) for k in checkers[0].client.stats}
            failures = [f for c in checkers for f in c.failures]
            violations = [v for c in checkers for v in c.violations]
            ops = sum(c.ops for c in checkers)
            acked = sum(sum(p.acked) for p in pairs)
            print(f"{label}: {ops} ops ({acked} INCRs acked), redirections {stats}, "
                  f"unresolved {len(failures)}", file=sys.stderr)
            self.assertEqual(lost, [], "acknowledged INCRs lost")
            self.assertEqual(over, [], "counters above the INCRs sent")
            self.assertEqual(violations, [], "reads that went backwards")
            self.assertEqual(failures, [], "replies the client could not resolve")
            self.assertGreater(stats["MOVED"] + stats["ASK"], 0, "the load never met the reshard")
        finally:
            a.cleanup()
            b.cleanup()

    def test_shardnode(self):
        self.scenario("shardnode")

    def test_shardnode_four_shard_threads(self):
        # The counters' slots spread over four shards of each node.
        self.scenario("shardnode", extra=["--threads", "4"])

    def test_mixed_shardnode_and_redis_server(self):
        self.scenario("shardnode", kind_b="redis")

    def test_redis_server_control(self):
        self.scenario("redis")


if __name__ == "__main__":
    unittest.main()
