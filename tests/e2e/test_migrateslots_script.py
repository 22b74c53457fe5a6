#!/usr/bin/env python3
"""scripts/migrateslots (what `scripts/cluster rebalance` and `reshard
--atomic` run): rebalancing with CLUSTER MIGRATESLOTS.

- The planner: equal shares (the remainder to the largest fractions),
  donors give contiguous ranges from the top of their slots, nothing to do
  when balanced, open-slot markers and failed masters ignored.
- The threshold and weights (0 drains a master), as redis-cli's rebalance.
- Three shardnode masters and an empty fourth: `rebalance` under a write
  load moves a quarter of the slots onto the fourth (exit 0, every master
  4096 slots, every key kept and every acknowledged write present, the
  writer saw no error, redis-cli --cluster check clean); run again it has
  nothing to move. `move` moves the lowest slots and refuses more slots
  than the source holds; `--weight host:port=0` drains the fourth again.
- A redis-server 7.0.15 master as the receiver: the script says so and
  exits 2 before anything moves (no job on the source); CLUSTER
  MIGRATESLOTS sent by hand fails at the handshake, the slots stay.

Every wait is bounded; every node is stopped by its pid."""
import importlib.machinery
import importlib.util
import os
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import REDIS_SERVER, wait_until  # noqa: E402
import reshardlib as rl  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "migrateslots")


def load_script():
    loader = importlib.machinery.SourceFileLoader("migrateslots", SCRIPT)
    spec = importlib.util.spec_from_loader("migrateslots", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


ms = load_script()


def run_script(*args, timeout=300):
    return subprocess.run([sys.executable, SCRIPT, *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)


class PlannerTest(unittest.TestCase):
    def test_nodes_text(self):
        text = ("a" * 40 + " 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-2 5 "
                "[6->-" + "b" * 40 + "]\n" +
                "b" * 40 + " 127.0.0.1:7001@17001 master - 0 0 2 connected 6-9\n" +
                "c" * 40 + " 127.0.0.1:7002@17002 slave " + "a" * 40 + " 0 0 1 connected\n" +
                "d" * 40 + " 127.0.0.1:7003@17003 master,fail - 0 0 3 connected 10\n")
        masters = ms.parse_nodes(text)
        self.assertEqual([(m["port"], m["slots"]) for m in masters],
                         [(7000, [0, 1, 2, 5]), (7001, [6, 7, 8, 9])])
        self.assertEqual(ms.ranges([5, 0, 1, 2, 9]), [(0, 2), (5, 5), (9, 9)])

    def test_plan(self):
        def m(name, lo, hi):
            return {"id": name * 40, "host": "h", "port": 0, "slots": list(range(lo, hi))}
        # 3 -> 4 masters: each full one gives its top quarter to the empty one.
        masters = [m("a", 0, 5462), m("b", 5462, 10924), m("c", 10924, 16384), m("d", 0, 0)]
        plan = ms.plan_rebalance(masters)
        got = {d[0]: {r[0]: ms.ranges(s) for r, s in v.items()} for d, v in plan.items()}
        self.assertEqual(got, {"a": {"d": [(4096, 5461)]}, "b": {"d": [(9558, 10923)]},
                               "c": {"d": [(15020, 16383)]}})
        after = {x["id"]: len(x["slots"]) for x in masters}
        for donor, moves in plan.items():
            for receiver, slots in moves.items():
                after[donor] -= len(slots)
                after[receiver] += len(slots)
        self.assertEqual(sorted(after.values()), [4096] * 4)
        # Balanced already (a remainder of one slot is not a reason to move).
        self.assertEqual(ms.plan_rebalance([m("a", 0, 3), m("b", 3, 5)]), {})
        # The threshold: 4100 / 4092 is within 2%, not within 0.05%.
        near = [m("a", 0, 4100), m("b", 4100, 8192)]
        self.assertEqual(ms.plan_rebalance(near, threshold=2), {})
        self.assertEqual(ms.plan_rebalance(near, threshold=0.05), {"a" * 40: {"b" * 40: [4096,
                                                                4097, 4098, 4099]}})
        # Weights: 0 drains a master (whatever the threshold), 2 takes twice
        # the share; the remainder goes to the largest fractions.
        plan = ms.plan_rebalance([m("a", 0, 10), m("b", 10, 20), m("c", 0, 0)],
                                 weights={"a" * 40: 0, "c" * 40: 2}, threshold=50)
        # (shares: a 0, b 6.67 -> 7 with the remainder, c 13.33 -> 13)
        self.assertEqual(plan, {"a" * 40: {"c" * 40: list(range(10))},
                                "b" * 40: {"c" * 40: [17, 18, 19]}})
        self.assertEqual(ms.shares([m("a", 0, 10), m("b", 0, 0), m("c", 0, 0)], {}),
                         {"a" * 40: 4, "b" * 40: 3, "c" * 40: 3})
        self.assertRaises(ValueError, ms.shares, [m("a", 0, 1)], {"a" * 40: 0})
        # Two receivers take from one donor; the command has one block each.
        plan = ms.plan_rebalance([m("a", 0, 9), m("b", 0, 0), m("c", 0, 0)])
        self.assertEqual(plan, {"a" * 40: {"b" * 40: [6, 7, 8], "c" * 40: [3, 4, 5]}})
        self.assertEqual(ms.command(plan["a" * 40]),
                         ["CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", "6", "8", "NODE", "b" * 40,
                          "SLOTSRANGE", "3", "5", "NODE", "c" * 40])


def start_cluster(kinds, owned):
    """Started nodes of `kinds`; the first `owned` share the slots, the
    others are empty masters; all in one cluster, check clean."""
    nodes = []
    try:
        for kind in kinds:
            n = rl.make_node(kind)
            nodes.append(n)
            n.start()
        step = 16384 // owned
        for i in range(owned):
            hi = 16383 if i == owned - 1 else (i + 1) * step - 1
            assert rl.call(nodes[i].port, "CLUSTER", "ADDSLOTSRANGE", str(i * step),
                           str(hi)) == "OK"
        for n in nodes[1:]:
            assert rl.call(nodes[0].port, "CLUSTER", "MEET", "127.0.0.1", str(n.port)) == "OK"
        for n in nodes:
            wait_until(lambda: rl.known_nodes(n.port) == len(nodes) and
                       rl.cluster_info(n.port)["cluster_state"] == "ok",
                       timeout=30, what=f"cluster ok on {n.port}")
        rl.wait_check_ok(nodes[0].port)
        return nodes
    except BaseException:
        for n in nodes:
            n.cleanup()
        raise


def slot_counts(port):
    counts = {}
    for owner in rl.slot_owners(port).values():
        counts[owner] = counts.get(owner, 0) + 1
    return counts


class Writer(threading.Thread):
    def __init__(self, port, keys):
        super().__init__(daemon=True)
        self.client = rl.ClusterClient(port)
        self.keys = keys
        self.acked = {}
        self.errors = []
        self.stop_event = threading.Event()

    def run(self):
        i = 0
        while not self.stop_event.is_set():
            k = self.keys[i % len(self.keys)]
            i += 1
            try:
                if self.client.call(k, "SET", k, str(i)) == "OK":
                    self.acked[k] = i
            except (rl.ClusterClientError, OSError) as e:
                self.errors.append(repr(e))
                return
        self.client.close()


class RebalanceTest(unittest.TestCase):
    def setUp(self):
        self.nodes = []

    def tearDown(self):
        for n in self.nodes:
            n.cleanup()

    def test_rebalance_onto_an_empty_master_under_writes(self):
        self.nodes = start_cluster(["shardnode"] * 4, owned=3)
        a = self.nodes[0].port
        keys = [f"key:{i}" for i in range(3000)]
        client = rl.ClusterClient(a)
        for k in keys:
            self.assertEqual(client.call(k, "SET", k, "v-" + k), "OK")
        client.close()
        writer = Writer(a, [f"w:{i}" for i in range(200)])
        writer.start()
        wait_until(lambda: len(writer.acked) > 50, timeout=30, what="writer running")
        out = run_script("rebalance", "--port", a)
        writer.stop_event.set()
        writer.join(timeout=30)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("3 of 3 job(s) succeeded", out.stdout)
        self.assertEqual(out.stdout.count("CLUSTER MIGRATESLOTS SLOTSRANGE"), 3)
        self.assertEqual(writer.errors, [])
        wait_until(lambda: sorted(slot_counts(a).values()) == [4096] * 4, timeout=30,
                   what="every master holding 4096 slots")
        self.assertEqual(slot_counts(a)[self.nodes[3].port], 4096)
        rl.wait_check_ok(a)
        client = rl.ClusterClient(a)
        try:
            for k in keys:
                self.assertEqual(client.call(k, "GET", k), b"v-" + k.encode())
            for k, v in writer.acked.items():
                self.assertGreaterEqual(int(client.call(k, "GET", k)), v)
        finally:
            client.close()
        total = sum(rl.call(n.port, "DBSIZE") for n in self.nodes)
        self.assertEqual(total, len(keys) + len(writer.acked))
        # Balanced now: nothing to do.
        again = run_script("rebalance", "--port", a)
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("nothing to move", again.stdout)
        # move: the lowest slots of the source; more than it holds is refused.
        d = self.nodes[3].port
        low = min(s for s, p in rl.slot_owners(a).items() if p == d)
        out = run_script("move", d, a, 10)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        wait_until(lambda: all(rl.slot_owners(a)[s] == a for s in range(low, low + 10)),
                   timeout=30, what="the moved slots on the receiver")
        bad = run_script("move", d, a, 5000)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("holds 4086 slot(s)", bad.stderr)
        # Drain the fourth master (weight 0, by host:port), as before del-node.
        out = run_script("rebalance", "--port", a, "--weight", f"127.0.0.1:{d}=0")
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        wait_until(lambda: d not in slot_counts(a), timeout=30, what="the fourth master drained")
        self.assertEqual(rl.call(d, "DBSIZE"), 0)
        rl.wait_check_ok(a)

    def test_redis_receiver_fails_and_slots_stay(self):
        if not REDIS_SERVER:
            self.skipTest("redis-server not installed")
        self.nodes = start_cluster(["shardnode", "redis"], owned=1)
        a, r = self.nodes[0].port, self.nodes[1].port
        out = run_script("rebalance", "--port", a)
        self.assertEqual(out.returncode, 2, out.stdout + out.stderr)
        self.assertIn(f"127.0.0.1:{r} does not speak CLUSTER MIGRATESLOTS", out.stderr)
        self.assertIn("nothing was moved", out.stderr)
        self.assertEqual(rl.call(a, "CLUSTER", "GETSLOTMIGRATIONS"), [])
        self.assertEqual(slot_counts(a), {a: 16384})
        # By hand: the job fails at the handshake and nothing moves.
        self.assertEqual(rl.call(a, "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", "0", "99", "NODE",
                                 rl.node_id(self.nodes[1])), "OK")
        wait_until(lambda: b"failed" in rl.call(a, "CLUSTER", "GETSLOTMIGRATIONS")[0],
                   timeout=30, what="the job failed")
        self.assertEqual(slot_counts(a), {a: 16384})


if __name__ == "__main__":
    unittest.main(verbosity=2)
