#!/usr/bin/env python3
"""Atomic slot migration (Valkey 9.0's CLUSTER MIGRATESLOTS) between
shardnode nodes.

- The command surface: Valkey's errors, GETSLOTMIGRATIONS's 11-field maps
  on both sides, CANCELSLOTMIGRATIONS with nothing to cancel.
- A move under a write load: checker threads INCR counter pairs and MGET
  them through a cluster-aware client while 200 slots (with filler keys)
  move from A to B, whose replica must hold every moved key. Asserted: the
  clients saw MOVED only (no ASK, TRYAGAIN or any other error), no
  acknowledged INCR is lost, no read goes backwards, every key arrived, the
  source keeps none, the target's replica has them, and redis-cli --cluster
  check is clean.
- The snapshot travels in CLUSTER SYNCSLOTS LOAD batches (INFO
  commandstats on the target: no RESTORE, far fewer commands than keys);
  keys of every type and their TTLs arrive equal (DEBUG DIGEST-VALUE) on the
  target and its replica. A LOAD batch is checked whole: a key outside the
  job's slots, or a cut batch, fails the import and applies nothing. Big
  values (a 5 MB string, collections of 5000 elements) are rebuilt with
  bounded APPEND/HSET/RPUSH/SADD/ZADD commands, equal on both sides.
- Importing keys are hidden on the target (DBSIZE, KEYS, SCAN, RANDOMKEY,
  COUNTKEYSINSLOT, GETKEYSINSLOT, INFO keyspace) and on its replica, and
  dropped when the source goes away (driven by a hand-made source
  connection, so the state is deterministic). CLUSTER SETSLOT is refused
  with Valkey's errors on both sides while a job runs.
- A replica of the target promoted mid-import (CLUSTER FAILOVER TAKEOVER)
  drops the staged keys it received and hides nothing more.
- Cancel while the target is stopped (SIGSTOP), and the target killed
  (SIGKILL) mid-transfer: the job ends cancelled / failed with a message
  (after its bounded retries, shown in GETSLOTMIGRATIONS and the log), the
  source still owns the slots and keeps every key, the target keeps none.
  A target killed and restarted mid-transfer: a retry completes the job.
  A new attempt under the same name supersedes an import whose link died
  unseen, and ESTABLISH waits (a retried error) for its keys to be gone.

Every wait is bounded; every node is stopped by its pid."""
import os
import signal
import struct
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (REDIS_SERVER, TEST_THREADS, Client, Error, info, key_slot,  # noqa: E402
                     wait_until)
import reshardlib as rl  # noqa: E402

CLEANING = "ERR Slots are being cleaned up on the target after a previous attempt"
FIELDS = ["name", "operation", "slot_ranges", "target_node", "source_node", "create_time",
          "last_update_time", "last_ack_time", "state", "message", "cow_size"]
MOVE_SLOTS = 200
FILLER_PER_SLOT = 25
PAIRS = 60
THREADS = 2


def shard_thread_commands(node):
    """The commands the node's shard threads ran (INFO threads; 0 at
    threads 1)."""
    return int(info(node, "threads").get("shard_thread_commands", 0))


def migrations(port):
    out = []
    for row in rl.call(port, "CLUSTER", "GETSLOTMIGRATIONS"):
        assert len(row) == 22, row
        keys = [k.decode() for k in row[0::2]]
        assert keys == FIELDS, keys
        vals = [v.decode() if isinstance(v, bytes) else v for v in row[1::2]]
        out.append(dict(zip(keys, vals)))
    return out


def wait_job(port, name, states, timeout=60):
    found = {}

    def done():
        for j in migrations(port):
            if j["name"] == name and j["state"] in states:
                found.update(j)
                return True
        return False

    wait_until(done, timeout=timeout, what=f"job {name} in {states} on {port}")
    return found


def offset(port):
    for line in rl.call(port, "INFO", "replication").decode().splitlines():
        if line.startswith("master_repl_offset:"):
            return int(line.split(":")[1])
    return -1


def load_record(key, payload, expire=0):
    """One record of a CLUSTER SYNCSLOTS LOAD batch: a DUMP payload without
    its footer."""
    kb, pb = key.encode(), payload[:-10]
    return (struct.pack("<I", len(kb)) + kb + struct.pack("<q", expire) +
            struct.pack("<I", len(pb)) + pb)


def only_job(port):
    jobs = migrations(port)
    assert len(jobs) >= 1, jobs
    return jobs[0]


class Checker(threading.Thread):
    """INCRs one counter of a pair, then MGETs the pair, through a
    cluster-aware client, until stopped."""

    def __init__(self, seed_port, pairs, stop):
        super().__init__(daemon=True)
        self.client = rl.ClusterClient(seed_port)
        self.pairs = pairs
        self.stop_event = stop
        self.acked = {k: 0 for p in pairs for k in p}
        self.sent = {k: 0 for p in pairs for k in p}
        self.seen = {k: 0 for p in pairs for k in p}
        self.violations = []
        self.failures = []
        self.ops = 0

    def run(self):
        i = 0
        while not self.stop_event.is_set():
            pair = self.pairs[i % len(self.pairs)]
            key = pair[i % 2]
            i += 1
            try:
                self.sent[key] += 1
                v = int(self.client.call(key, "INCR", key))
                self.acked[key] += 1
                if v < self.seen[key] or v > self.sent[key]:
                    self.violations.append(f"{key}: INCR gave {v}")
                self.seen[key] = v
                vals = self.client.call(key, "MGET", *pair)
                for k, raw in zip(pair, vals):
                    got = int(raw) if raw is not None else 0
                    if got < self.seen[k]:
                        self.violations.append(f"{k}: MGET gave {got} after {self.seen[k]}")
                    self.seen[k] = max(self.seen[k], got)
                self.ops += 1
            except rl.ClusterClientError as e:
                self.failures.append(str(e))
                return
            except OSError as e:
                self.failures.append(f"connection: {e}")
                return
        self.client.close()


class AtomicMigrationTest(unittest.TestCase):
    def setUp(self):
        self.nodes = []
        self.a, self.b = rl.two_masters("shardnode", "shardnode")
        self.nodes += [self.a, self.b]
        self.a_id = rl.node_id(self.a)
        self.b_id = rl.node_id(self.b)

    def tearDown(self):
        for n in self.nodes:
            try:
                os.kill(n.proc.pid, signal.SIGCONT)
            except (OSError, AttributeError):
                pass
            n.cleanup()

    def add_replica_of_b(self):
        r = rl.make_node("shardnode")
        self.nodes.append(r)
        r.start()
        rl.call(r.port, "CLUSTER", "MEET", "127.0.0.1", str(self.a.port))
        wait_until(lambda: rl.known_nodes(r.port) == 3, timeout=30, what="replica meets")
        wait_until(lambda: rl.call(r.port, "CLUSTER", "REPLICATE", self.b_id) == "OK",
                   timeout=30, what="CLUSTER REPLICATE")
        wait_until(lambda: b"master_link_status:up" in rl.call(r.port, "INFO", "replication"),
                   timeout=30, what="replica link up")
        return r

    def wait_replica_offset(self, r):
        wait_until(lambda: offset(r.port) == offset(self.b.port), timeout=30,
                   what="replica at its primary's offset")

    def fill(self, slots, per_slot, prefix="f"):
        keys = rl.keys_in_slots(prefix, slots, per_slot)
        cmds = [["SET", k, f"v-{k}"] for ks in keys.values() for k in ks]
        for port_cmds in [cmds]:
            replies = rl.pipeline(self.a.port, port_cmds)
            assert all(r == "OK" for r in replies), replies[:3]
        return [k for ks in keys.values() for k in ks]

    def test_command_interface(self):
        a, b = self.a.port, self.b.port

        def err(port, *args):
            r = rl.call(port, "CLUSTER", *args)
            self.assertIsInstance(r, Error, (args, r))
            return str(r)

        self.assertEqual(err(a, "MIGRATESLOTS", "INVALID", "0", "1"), "ERR syntax error")
        self.assertEqual(err(a, "MIGRATESLOTS", "SLOTSRANGE", "0"),
                         "ERR No end slot for final slot range")
        self.assertEqual(err(a, "MIGRATESLOTS", "SLOTSRANGE", "16385", "16388"),
                         "ERR Invalid or out of range slot")
        self.assertEqual(err(a, "MIGRATESLOTS", "SLOTSRANGE", "1", "0"),
                         "ERR Start slot number 1 is greater than end slot number 0.")
        self.assertEqual(err(a, "MIGRATESLOTS", "SLOTSRANGE", "0", "16383"),
                         "ERR Requested slots span multiple shards")
        self.assertEqual(err(a, "MIGRATESLOTS", "SLOTSRANGE", "0", "5", "3", "6"),
                         "ERR Slot range 3-6 overlaps with previous range 0-5.")
        self.assertEqual(err(a, "MIGRATESLOTS", "SLOTSRANGE", "0", "0", "NODE"),
                         "ERR syntax error")
        self.assertEqual(err(a, "MIGRATESLOTS", "SLOTSRANGE", "0", "0", "NODE", "blah"),
                         "ERR Invalid node name: blah")
        self.assertEqual(err(a, "MIGRATESLOTS", "SLOTSRANGE", "0", "0", "NODE", "a" * 40),
                         "ERR Unknown node name: " + "a" * 40)
        self.assertEqual(err(b, "MIGRATESLOTS", "SLOTSRANGE", "0", "0", "NODE", self.a_id),
                         "ERR Slots are not served by this node.")
        self.assertEqual(err(a, "MIGRATESLOTS", "SLOTSRANGE", "0", "0", "NODE", self.a_id),
                         "ERR Target node can not be this node.")
        self.assertTrue(err(a, "MIGRATESLOTS").startswith("ERR wrong number of arguments"))
        self.assertTrue(err(a, "CANCELSLOTMIGRATIONS", "X").startswith(
            "ERR wrong number of arguments"))
        self.assertEqual(err(a, "CANCELSLOTMIGRATIONS"), "ERR No migrations ongoing")
        self.assertEqual(rl.call(a, "CLUSTER", "GETSLOTMIGRATIONS"), [])
        # SYNCSLOTS steps are refused outside a migration link.
        self.assertTrue(err(b, "SYNCSLOTS", "FINISH").endswith(
            "should only be used by slot migration clients"))
        # A one-slot move, then the record on both sides.
        key = rl.tag_for_slot(5) + "k"
        rl.call(a, "SET", key, "v")
        slot = 5
        self.assertEqual(rl.call(a, "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", str(slot), str(slot),
                                 "NODE", self.b_id), "OK")
        name = only_job(a)["name"]
        self.assertEqual(len(name), 40)
        src = wait_job(a, name, {"success"})
        dst = wait_job(b, name, {"success"})
        self.assertEqual(src["operation"], "EXPORT")
        self.assertEqual(dst["operation"], "IMPORT")
        for j in (src, dst):
            self.assertEqual(j["slot_ranges"], f"{slot}-{slot}")
            self.assertEqual(j["source_node"], self.a_id)
            self.assertEqual(j["target_node"], self.b_id)
            self.assertEqual(j["message"], "")
            self.assertEqual(j["cow_size"], 0)
            self.assertLessEqual(abs(j["create_time"] - time.time()), 60)
        self.assertEqual(rl.call(b, "GET", key), b"v")
        moved = rl.call(a, "GET", key)
        self.assertIsInstance(moved, Error)
        self.assertTrue(str(moved).startswith(f"MOVED {slot} "), moved)

    def test_move_under_write_load(self):
        # B gets a replica: the moved keys must reach it before the handoff.
        r = self.add_replica_of_b()

        slots = range(0, MOVE_SLOTS)
        filler = self.fill(slots, FILLER_PER_SLOT)
        pairs = []
        for i in range(PAIRS):
            tag = rl.tag_for_slot(i * MOVE_SLOTS // PAIRS)
            pairs.append((f"{tag}x", f"{tag}y"))
        wait_until(lambda: rl.cluster_info(r.port)["cluster_state"] == "ok", timeout=30,
                   what="replica sees the cluster ok")
        stop = threading.Event()
        checkers = [Checker(self.a.port, pairs[i::THREADS], stop) for i in range(THREADS)]
        for c in checkers:
            c.start()
        wait_until(lambda: all(c.ops > 20 for c in checkers), timeout=30, what="load running")
        t0 = time.monotonic()
        on_shards_before = shard_thread_commands(self.a)
        self.assertEqual(rl.call(self.a.port, "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", "0",
                                 str(MOVE_SLOTS - 1), "NODE", self.b_id), "OK")
        name = only_job(self.a.port)["name"]
        job = wait_job(self.a.port, name, {"success", "failed", "cancelled"}, timeout=120)
        elapsed = time.monotonic() - t0
        self.assertEqual(job["state"], "success", job)
        if TEST_THREADS and int(TEST_THREADS) > 1:
            # At threads N the load's commands ran on the source's shard
            # threads while the slots moved (only writes to the slots whose
            # handoff paused them went to the control loop).
            self.assertGreater(shard_thread_commands(self.a) - on_shards_before, 20)
        ops_at_flip = sum(c.ops for c in checkers)
        wait_until(lambda: sum(c.ops for c in checkers) > ops_at_flip + 50 or
                   any(c.failures for c in checkers), timeout=30, what="load after the flip")
        stop.set()
        for c in checkers:
            c.join(timeout=30)
        stats = {"MOVED": 0, "ASK": 0, "TRYAGAIN": 0, "other": 0}
        for c in checkers:
            self.assertEqual(c.failures, [])
            self.assertEqual(c.violations, [])
            for k, v in c.client.stats.items():
                stats[k] += v
        print(f"\n  moved {MOVE_SLOTS} slots ({len(filler)} keys) under load in "
              f"{elapsed:.2f}s; client redirections {stats}", file=sys.stderr)
        self.assertEqual(stats["ASK"], 0)
        self.assertEqual(stats["TRYAGAIN"], 0)
        self.assertEqual(stats["other"], 0)
        self.assertGreater(stats["MOVED"], 0)
        wait_job(self.b.port, name, {"success"})
        # Every acknowledged INCR is there.
        for c in checkers:
            for key, acked in c.acked.items():
                v = rl.call(self.b.port, "GET", key)
                got = int(v) if v is not None else 0
                self.assertGreaterEqual(got, acked, key)
                self.assertLessEqual(got, c.sent[key], key)
        # Every filler key arrived, the source keeps none.
        got = rl.pipeline(self.b.port, [["GET", k] for k in filler])
        self.assertEqual(got, [f"v-{k}".encode() for k in filler])
        wait_until(lambda: all(rl.call(self.a.port, "CLUSTER", "COUNTKEYSINSLOT", str(s)) == 0
                               for s in slots), timeout=30, what="source copies deleted")
        # The replica holds what its primary holds.
        expected = rl.call(self.b.port, "DBSIZE")
        wait_until(lambda: rl.call(r.port, "DBSIZE") == expected, timeout=30,
                   what="replica caught up")
        rc = Client(r.port)
        try:
            self.assertEqual(rc.call("READONLY"), "OK")
            # The replica learns that its primary owns the slots from the
            # bus, which may come after the stream's keys (MOVED to the
            # source until then, as in Redis).
            wait_until(lambda: rc.call("GET", filler[0]) == f"v-{filler[0]}".encode(),
                       timeout=30, what="the replica serves a moved key")
        finally:
            rc.close()
        rl.wait_check_ok(self.a.port)

    def test_snapshot_goes_in_batches_and_reaches_the_replica(self):
        # Keys of every type, some with a TTL: the target receives them in
        # CLUSTER SYNCSLOTS LOAD batches (not one RESTORE per key), and its
        # replica gets each as a RESTORE (same value digests, same TTLs).
        r = self.add_replica_of_b()
        lo, hi = 300, 339
        a = self.a.port
        keys = [k for ks in rl.keys_in_slots("t", range(lo, hi + 1), 30).values() for k in ks]
        cmds, ttl_keys = [], []
        for i, k in enumerate(keys):
            kind = i % 5
            if kind == 0:
                # Short strings travel in a direct form: its edges (empty,
                # integers, 20 and 21 bytes, 64 bytes: a 14-bit length).
                edge = ["", "12345", "-7", "x" * 20, "y" * 21, "z" * 64, "\x00\xff"]
                cmds.append(["SET", k, edge[i // 5] if i // 5 < len(edge) else f"v{i}" * (1 + i % 7)])
            elif kind == 1:
                cmds.append(["HSET", k, "f1", str(i), "f2", "x" * (i % 50)])
            elif kind == 2:
                cmds.append(["RPUSH", k, *[str(j) for j in range(i % 9 + 1)]])
            elif kind == 3:
                cmds.append(["SADD", k, *[f"m{j}" for j in range(i % 11 + 1)]])
            else:
                cmds.append(["ZADD", k, "1", "a", str(i), "b"])
            if i % 7 == 0:
                cmds.append(["PEXPIRE", k, "600000"])
                ttl_keys.append(k)
        self.assertNotIn(None, rl.pipeline(a, cmds))
        digests = rl.pipeline(a, [["DEBUG", "DIGEST-VALUE", k] for k in keys])
        self.assertEqual(rl.call(self.b.port, "CONFIG", "RESETSTAT"), "OK")
        self.assertEqual(rl.call(a, "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", str(lo), str(hi),
                                 "NODE", self.b_id), "OK")
        name = only_job(a)["name"]
        self.assertEqual(wait_job(a, name, {"success", "failed", "cancelled"})["state"],
                         "success")
        wait_job(self.b.port, name, {"success"})
        stats = rl.call(self.b.port, "INFO", "commandstats").decode()
        self.assertNotIn("cmdstat_restore:", stats)
        calls = 0
        for line in stats.splitlines():
            if line.startswith("cmdstat_cluster|syncslots:"):
                calls = int(line.split("calls=")[1].split(",")[0])
        # ESTABLISH, SNAPSHOT-EOF, FINISH, a few ACKs, and one LOAD per slot
        # (its keys fit one batch): far fewer commands than keys.
        self.assertGreater(calls, 0)
        self.assertLess(calls, len(keys) // 10, stats)
        self.assertEqual(rl.pipeline(self.b.port, [["DEBUG", "DIGEST-VALUE", k] for k in keys]),
                         digests)
        for k in ttl_keys:
            self.assertGreater(rl.call(self.b.port, "PTTL", k), 500000, k)
        self.wait_replica_offset(r)
        self.assertEqual(rl.pipeline(r.port, [["DEBUG", "DIGEST-VALUE", k] for k in keys]),
                         digests)
        rc = Client(r.port)
        try:
            self.assertEqual(rc.call("READONLY"), "OK")
            # The replica serves the keys once gossip showed it its primary's
            # claim (a MOVED to the source before that).
            wait_until(lambda: isinstance(rc.call("PTTL", ttl_keys[0]), int), timeout=30,
                       what="the replica seeing its primary own the moved slots")
            for k in ttl_keys:
                self.assertGreater(rc.call("PTTL", k), 500000, k)
        finally:
            rc.close()
        wait_until(lambda: all(rl.call(a, "CLUSTER", "COUNTKEYSINSLOT", str(s)) == 0
                               for s in range(lo, hi + 1)), timeout=30,
                   what="source copies deleted")

    def test_big_values_go_in_slices(self):
        # Values over the batch bounds (a 5 MB string, collections of 5000
        # elements) are rebuilt on the target with bounded ordinary commands
        # (APPEND, HSET, RPUSH, SADD, ZADD), not one RESTORE of the whole
        # payload; they arrive equal on the target and its replica, and the
        # target keeps answering PING meanwhile. A writer to the big hash
        # waits while it is in flight: no acknowledged write is lost.
        r = self.add_replica_of_b()
        a = self.a.port
        keys = {t: rl.keys_in_slots(t, [400], 1)[400][0] for t in ("s", "h", "l", "e", "z")}
        n = 5000
        c = Client(a, timeout=60)
        try:
            self.assertEqual(c.call("SET", keys["s"], b"".join(
                b"%07d" % i for i in range(5 * 1024 * 1024 // 7))), "OK")
            self.assertEqual(c.call("HSET", keys["h"], *[x for i in range(n)
                                                        for x in (f"f{i}", f"v{i}" * (i % 5))]),
                             n)
            self.assertEqual(c.call("RPUSH", keys["l"], *[f"e{i}" for i in range(n)]), n)
            self.assertEqual(c.call("SADD", keys["e"], *[f"m{i}" for i in range(n)]), n)
            scores = ["-inf", "inf", "0.1", "-3.0000000000000004", "1e300"]
            zargs = []
            for i in range(n):
                zargs += [scores[i] if i < len(scores) else str(i / 7), f"z{i}"]
            self.assertEqual(c.call("ZADD", keys["z"], *zargs), n)
            self.assertEqual(c.call("PEXPIRE", keys["h"], "600000"), 1)
            digests = {k: c.call("DEBUG", "DIGEST-VALUE", k) for k in keys.values()
                       if k != keys["h"]}
        finally:
            c.close()
        self.assertEqual(rl.call(self.b.port, "CONFIG", "RESETSTAT"), "OK")
        stop = threading.Event()
        worst = [0.0]

        def probe():
            pc = Client(self.b.port)
            try:
                while not stop.is_set():
                    t = time.monotonic()
                    pc.call("PING")
                    worst[0] = max(worst[0], time.monotonic() - t)
                    time.sleep(0.002)
            finally:
                pc.close()

        counts = {"sent": 0, "acked": 0, "errors": []}

        def writer():
            # Writes to the big hash wait while it is in flight, then run.
            wc = rl.ClusterClient(a)
            try:
                while not stop.is_set():
                    counts["sent"] += 1
                    wc.call(keys["h"], "HINCRBY", keys["h"], "cnt", "1")
                    counts["acked"] += 1
            except (rl.ClusterClientError, OSError) as e:
                counts["errors"].append(str(e))
            finally:
                wc.close()

        prober = threading.Thread(target=probe, daemon=True)
        prober.start()
        writing = threading.Thread(target=writer, daemon=True)
        writing.start()
        try:
            self.assertEqual(rl.call(a, "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", "400", "400",
                                     "NODE", self.b_id), "OK")
            name = only_job(a)["name"]
            self.assertEqual(wait_job(a, name, {"success", "failed", "cancelled"},
                                      timeout=120)["state"], "success")
            acked_at_flip = counts["acked"]
            wait_until(lambda: counts["acked"] > acked_at_flip + 20 or counts["errors"],
                       timeout=30, what="writes after the flip")
        finally:
            stop.set()
            prober.join(timeout=30)
            writing.join(timeout=30)
        self.assertEqual(counts["errors"], [])
        stats = rl.call(self.b.port, "INFO", "commandstats").decode()
        self.assertNotIn("cmdstat_restore:", stats)
        for cmd in ("append", "hset", "rpush", "sadd", "zadd"):
            self.assertRegex(stats, rf"cmdstat_{cmd}:calls=([4-9]|\d\d+),", cmd)
        bc = Client(self.b.port, timeout=60)
        try:
            for k, d in digests.items():
                self.assertEqual(bc.call("DEBUG", "DIGEST-VALUE", k), d, k)
            self.assertGreater(bc.call("PTTL", keys["h"]), 500000)
            cnt = int(bc.call("HGET", keys["h"], "cnt"))
            self.assertGreaterEqual(cnt, counts["acked"])
            self.assertLessEqual(cnt, counts["sent"])
            self.assertEqual(bc.call("HLEN", keys["h"]), n + 1)
            self.assertEqual(bc.call("HGET", keys["h"], "f4999"), b"v4999" * 4)
            h_digest = bc.call("DEBUG", "DIGEST-VALUE", keys["h"])
            self.assertEqual(bc.call("PTTL", keys["l"]), -1)
        finally:
            bc.close()
        self.wait_replica_offset(r)
        rc = Client(r.port, timeout=60)
        try:
            for k, d in list(digests.items()) + [(keys["h"], h_digest)]:
                self.assertEqual(rc.call("DEBUG", "DIGEST-VALUE", k), d, k)
        finally:
            rc.close()
        print(f"\n  big values moved; longest PING on the target {worst[0] * 1000:.0f} ms",
              file=sys.stderr)
        # Loose (two busy cores): a whole-payload RESTORE would be one stall.
        self.assertLess(worst[0], 2.0)
        wait_until(lambda: rl.call(a, "CLUSTER", "COUNTKEYSINSLOT", "400") == 0, timeout=30,
                   what="source copies deleted")

    def test_load_batch_is_checked_whole(self):
        # A hand-made source: a well-formed LOAD applies silently (the next
        # reply read is SNAPSHOT-EOF's); one naming a key outside the job's
        # slots, or cut short, fails the import and applies nothing.
        b = self.b.port
        lo, hi = 100, 110
        in_keys = [k for ks in rl.keys_in_slots("l", [lo, hi], 1).values() for k in ks]
        out_key = rl.keys_in_slots("o", [5000], 1)[5000][0]
        # The payloads come from DUMP on A, which owns these slots.
        for k in in_keys + [out_key]:
            self.assertEqual(rl.call(self.a.port, "SET", k, "val-" + k), "OK")
        payload = {k: rl.call(self.a.port, "DUMP", k) for k in in_keys + [out_key]}

        def record(k, expire=0):
            return load_record(k, payload[k], expire)

        def establish(fake, name):
            # Refused while a failed import's keys are being deleted: a
            # source tries again later (the retry's error), so does this one.
            wait_until(lambda: fake.call("CLUSTER", "SYNCSLOTS", "ESTABLISH", "SOURCE", self.a_id,
                                         "NAME", name, "SLOTSRANGE", str(lo), str(hi)) != CLEANING,
                       timeout=30, what="ESTABLISH accepted")
            self.assertEqual(only_job(b)["name"], name)
            self.assertEqual(only_job(b)["state"], "receiving-snapshot")

        fake = Client(b)
        try:
            establish(fake, "c" * 40)
            fake.send("CLUSTER", "SYNCSLOTS", "LOAD", b"\x01" + b"".join(record(k) for k in in_keys))
            fake.send("CLUSTER", "SYNCSLOTS", "SNAPSHOT-EOF")
            self.assertEqual(fake.read(), 0)  # no reply came for LOAD
            self.assertEqual(rl.call(b, "DBSIZE"), 0)  # imported keys hidden
            fake.send("CLUSTER", "SYNCSLOTS", "LOAD",
                      b"\x01" + record(in_keys[0]) + record(out_key))
            job = wait_job(b, "c" * 40, {"failed"})
            self.assertIn("Malformed snapshot batch", job["message"])
        finally:
            fake.close()
        wait_until(lambda: all(rl.call(b, "CLUSTER", "COUNTKEYSINSLOT", str(s)) == 0
                               for s in (lo, hi)), timeout=30, what="staged keys dropped")
        self.assertEqual(rl.call(b, "CLUSTER", "COUNTKEYSINSLOT", "5000"), 0)
        fake = Client(b)
        try:
            establish(fake, "d" * 40)
            fake.send("CLUSTER", "SYNCSLOTS", "LOAD", b"\x01" + record(in_keys[0])[:-3])
            job = wait_job(b, "d" * 40, {"failed"})
            self.assertIn("Malformed snapshot batch", job["message"])
        finally:
            fake.close()
        # A value that does not decode (an unknown RDB type) fails it too.
        fake = Client(b)
        try:
            establish(fake, "f" * 40)
            kb = in_keys[0].encode()
            bad = (struct.pack("<I", len(kb)) + kb + struct.pack("<q", 0) +
                   struct.pack("<I", 3) + b"\x63ab")
            fake.send("CLUSTER", "SYNCSLOTS", "LOAD", b"\x01" + bad)
            job = wait_job(b, "f" * 40, {"failed"})
            self.assertIn("Bad value in a snapshot batch", job["message"])
        finally:
            fake.close()
        self.assertEqual(rl.call(b, "CLUSTER", "COUNTKEYSINSLOT", str(lo)), 0)

    def test_nothing_moves_while_writes_are_paused(self):
        # A failed import's staged keys are not deleted while writes are
        # paused (a manual failover's replica waits for an offset that must
        # stay put), and no import starts then: ESTABLISH is refused with an
        # error the source retries on.
        r = self.add_replica_of_b()
        b = self.b.port
        lo, hi = 120, 125
        keys = [k for ks in rl.keys_in_slots("p", range(lo, hi + 1), 4).values() for k in ks]
        for k in keys:
            self.assertEqual(rl.call(self.a.port, "SET", k, "val-" + k), "OK")
        batch = b"\x01" + b"".join(load_record(k, rl.call(self.a.port, "DUMP", k))
                                   for k in keys)
        args = ["CLUSTER", "SYNCSLOTS", "ESTABLISH", "SOURCE", self.a_id, "NAME", "9" * 40,
                "SLOTSRANGE", str(lo), str(hi)]
        fake, other = Client(b), Client(b)
        try:
            self.assertEqual(fake.call(*args), "OK")
            fake.send("CLUSTER", "SYNCSLOTS", "LOAD", batch)
            self.assertEqual(fake.call("CLUSTER", "SYNCSLOTS", "SNAPSHOT-EOF"), 1)
            self.wait_replica_offset(r)
            self.assertEqual(rl.call(b, "CLIENT", "PAUSE", "60000", "WRITE"), "OK")
            before = offset(b)
            fake.close()
            self.assertIn("Connection lost to source", wait_job(b, "9" * 40, {"failed"})["message"])
            self.assertEqual(other.call(*args), "ERR Writes are paused on the target")
            time.sleep(0.5)  # the length of the check, not a synchronization
            self.assertEqual(offset(b), before)
            self.assertEqual(rl.call(b, "CLIENT", "UNPAUSE"), "OK")
            wait_until(lambda: offset(b) > before, timeout=20, what="the DELs after the pause")
            wait_until(lambda: other.call(*args) == "OK", timeout=30,
                       what="ESTABLISH accepted once the keys are gone")
            self.wait_replica_offset(r)
        finally:
            fake.close()
            other.close()
        self.assertEqual(rl.call(r.port, "DBSIZE"), 0)

    def test_importing_keys_hidden_then_dropped_when_source_goes(self):
        b = self.b.port
        lo, hi = 100, 110
        r = self.add_replica_of_b()
        fake = Client(b)
        try:
            reply = fake.call("CLUSTER", "SYNCSLOTS", "ESTABLISH", "SOURCE", self.a_id, "NAME",
                              "e" * 40, "SLOTSRANGE", str(lo), str(hi))
            self.assertEqual(reply, "OK")
            keys = rl.keys_in_slots("h", range(lo, hi + 1), 3)
            flat = [k for ks in keys.values() for k in ks]
            for k in flat:
                fake.send("SET", k, "1")  # applied without a reply
            fake.send("PEXPIREAT", flat[1], str(int(time.time() * 1000) + 10**7))
            fake.send("CLUSTER", "SYNCSLOTS", "SNAPSHOT-EOF")
            self.assertEqual(fake.read(), 1)  # online replicas of the target
            job = only_job(b)
            self.assertEqual(job["operation"], "IMPORT")
            self.assertEqual(job["state"], "waiting-for-paused")
            self.assertEqual(job["slot_ranges"], f"{lo}-{hi}")
            self.assertEqual(rl.call(b, "DBSIZE"), 0)
            self.assertEqual(rl.call(b, "KEYS", "*"), [])
            self.assertEqual(rl.call(b, "SCAN", "0", "COUNT", "1000")[1], [])
            self.assertIsNone(rl.call(b, "RANDOMKEY"))
            s = key_slot(flat[0])
            self.assertEqual(rl.call(b, "CLUSTER", "COUNTKEYSINSLOT", str(s)), 0)
            self.assertEqual(rl.call(b, "CLUSTER", "GETKEYSINSLOT", str(s), "10"), [])
            # INFO keyspace leaves them out too (as Valkey): no keys, no expires.
            self.assertNotIn(b"db0:", rl.call(b, "INFO", "keyspace"))
            # The job owns its slots' states: SETSLOT is refused on the target,
            # whatever the slot and action (Valkey's error).
            for args in (["SETSLOT", str(lo), "IMPORTING", self.a_id],
                         ["SETSLOT", "9000", "STABLE"],
                         ["SETSLOT", str(hi), "NODE", self.b_id]):
                res = rl.call(b, "CLUSTER", *args)
                self.assertIsInstance(res, Error, (args, res))
                self.assertEqual(str(res), "ERR Slot import in progress.")
            # Clients are still sent to the source.
            moved = rl.call(b, "GET", flat[0])
            self.assertTrue(str(moved).startswith(f"MOVED {s} "), moved)
            # The target's replica received the keys, and hides them too
            # (its primary tells it which slots it imports).
            self.wait_replica_offset(r)
            self.assertEqual(rl.call(r.port, "DBSIZE"), 0)
            self.assertEqual(rl.call(r.port, "KEYS", "*"), [])
            self.assertEqual(rl.call(r.port, "SCAN", "0", "COUNT", "1000")[1], [])
            self.assertIsNone(rl.call(r.port, "RANDOMKEY"))
            self.assertEqual(rl.call(r.port, "CLUSTER", "COUNTKEYSINSLOT", str(s)), 0)
            self.assertNotIn(b"db0:", rl.call(r.port, "INFO", "keyspace"))
        finally:
            fake.close()
        job = wait_job(b, "e" * 40, {"failed"})
        self.assertTrue(job["message"].startswith("Connection lost to source."), job)
        wait_until(lambda: all(rl.call(b, "CLUSTER", "COUNTKEYSINSLOT", str(s)) == 0
                               for s in range(lo, hi + 1)), timeout=10, what="staged keys gone")
        self.assertEqual(rl.call(b, "DBSIZE"), 0)
        self.assertNotIn(b"db0:", rl.call(b, "INFO", "keyspace"))
        # The replica dropped them too and hides nothing now: a key written
        # to the target shows there.
        self.wait_replica_offset(r)
        self.assertEqual(rl.call(r.port, "DBSIZE"), 0)
        own = rl.tag_for_slot(9000) + "own"
        self.assertEqual(rl.call(b, "SET", own, "1"), "OK")
        wait_until(lambda: rl.call(r.port, "DBSIZE") == 1, timeout=10, what="replica shows keys")
        # The job ended: SETSLOT is accepted again.
        self.assertEqual(rl.call(b, "CLUSTER", "SETSLOT", "9000", "STABLE"), "OK")

    def test_promoted_replica_drops_its_primarys_staged_keys(self):
        # The target's replica holds the staged (hidden) keys of an import;
        # promoted (CLUSTER FAILOVER TAKEOVER) it has no import job for them:
        # it drops them and hides nothing more, while the old target, now
        # its replica, ends its job failed.
        b = self.b.port
        lo, hi = 120, 125
        r = self.add_replica_of_b()
        zero = "0" * 40
        fake = Client(b)
        try:
            self.assertEqual(fake.call("CLUSTER", "SYNCSLOTS", "ESTABLISH", "SOURCE", self.a_id,
                                       "NAME", "9" * 40, "SLOTSRANGE", str(lo), str(hi)), "OK")
            for k in [k for ks in rl.keys_in_slots("p", range(lo, hi + 1), 4).values()
                      for k in ks]:
                fake.send("SET", k, "staged")
            fake.send("CLUSTER", "SYNCSLOTS", "SNAPSHOT-EOF")
            self.assertEqual(fake.read(), 1)
            self.wait_replica_offset(r)
            # Hidden on the replica, but there (DEBUG DIGEST covers them).
            self.assertEqual(rl.call(r.port, "DBSIZE"), 0)
            self.assertNotEqual(rl.call(r.port, "DEBUG", "DIGEST"), zero)
            self.assertEqual(rl.call(r.port, "CLUSTER", "FAILOVER", "TAKEOVER"), "OK")
            wait_until(lambda: b"role:master" in rl.call(r.port, "INFO", "replication"),
                       timeout=30, what="replica promoted")
            wait_until(lambda: rl.call(r.port, "DEBUG", "DIGEST") == zero, timeout=30,
                       what="staged keys dropped on the promoted replica")
            job = wait_job(b, "9" * 40, {"failed"})
            self.assertTrue(job["message"], job)
        finally:
            fake.close()
        # It hides nothing now: a key it owns shows.
        own = rl.tag_for_slot(9000) + "own"
        wait_until(lambda: rl.call(r.port, "SET", own, "1") == "OK", timeout=30,
                   what="promoted replica serves its slots")
        self.assertEqual(rl.call(r.port, "DBSIZE"), 1)
        for s in range(lo, hi + 1):
            self.assertEqual(rl.call(r.port, "CLUSTER", "COUNTKEYSINSLOT", str(s)), 0)

    def test_importing_keys_neither_refused_nor_evicted_under_maxmemory(self):
        b = self.b.port
        used = int(dict(line.split(":", 1) for line in rl.call(b, "INFO", "memory").decode()
                        .split("\r\n") if ":" in line)["used_memory"])
        self.assertEqual(rl.call(b, "CONFIG", "SET", "maxmemory-policy", "allkeys-lru"), "OK")
        self.assertEqual(rl.call(b, "CONFIG", "SET", "maxmemory", str(used + 300_000)), "OK")
        lo, hi = 100, 110
        tags = [rl.tag_for_slot(s) for s in range(lo, hi + 1)]
        keys = [f"{tag}m{i}" for tag in tags for i in range(200)]
        fake, other = Client(b), Client(b)
        try:
            self.assertEqual(fake.call("CLUSTER", "SYNCSLOTS", "ESTABLISH", "SOURCE", self.a_id,
                                       "NAME", "d" * 40, "SLOTSRANGE", str(lo), str(hi)), "OK")
            for i, k in enumerate(keys):
                fake.send("SET", k, "x" * 1000)
                if i % 20 == 0:  # another client's commands run (and evict when over)
                    self.assertEqual(other.call("PING"), "PONG")
            fake.send("CLUSTER", "SYNCSLOTS", "SNAPSHOT-EOF")
            self.assertEqual(fake.read(), 0)
            stats = rl.call(b, "INFO", "stats").decode()
            self.assertIn("evicted_keys:0\r\n", stats)
            self.assertEqual(rl.call(b, "CONFIG", "SET", "maxmemory", "0"), "OK")
            fake.send("CLUSTER", "SYNCSLOTS", "FINISH")
            self.assertIsInstance(fake.read(), int)  # the target's new config epoch
        finally:
            fake.close()
            other.close()
        self.assertEqual(rl.call(b, "DBSIZE"), len(keys))
        self.assertEqual(rl.call(b, "GET", keys[0]), b"x" * 1000)
        self.assertEqual(only_job(b)["state"], "success")

    def _start_stalled(self, slots):
        keys = self.fill(slots, 5, prefix="s")
        os.kill(self.b.proc.pid, signal.SIGSTOP)
        self.assertEqual(rl.call(self.a.port, "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE",
                                 str(slots[0]), str(slots[-1]), "NODE", self.b_id), "OK")
        name = only_job(self.a.port)["name"]
        wait_job(self.a.port, name, {"reading-establish-response", "snapshotting"}, timeout=20)
        return name, keys

    def _source_still_owns(self, slots, keys):
        owners = rl.slot_owners(self.a.port)
        for s in slots:
            self.assertEqual(owners[s], self.a.port)
        got = rl.pipeline(self.a.port, [["GET", k] for k in keys])
        self.assertEqual(got, [f"v-{k}".encode() for k in keys])
        self.assertEqual(rl.call(self.a.port, "SET", keys[0], f"v-{keys[0]}"), "OK")

    def test_claim_goes_above_a_source_epoch_gossip_has_not_shown(self):
        # The source moved to a newer configEpoch a moment before FINISH
        # (here CLUSTER BUMPEPOCH in the same pipeline as MIGRATESLOTS; in
        # life a collision with a node that just joined), and gossip has not
        # told the target yet. The target's claim must still go above it:
        # one at or below it would be taken back by the source (an UPDATE)
        # and the target would drop the keys, after the source dropped its
        # own on FINISH's reply (sessions 21-22: now and then all keys lost).
        a, b = self.a.port, self.b.port
        self.assertTrue(str(rl.call(b, "CLUSTER", "BUMPEPOCH")).startswith(("BUMPED", "STILL")))
        b_epoch = int(rl.cluster_info(b)["cluster_my_epoch"])

        def a_knows_b():
            for line in rl.call(a, "CLUSTER", "NODES").decode().splitlines():
                f = line.split()
                if f[0] == self.b_id:
                    return int(f[6]) == b_epoch
            return False

        # So that A's bump is to a new maximum, which B can only learn later.
        wait_until(a_knows_b, timeout=30, what="the source seeing the target's epoch")
        slot = 77
        keys = [rl.tag_for_slot(slot) + f"k{i}" for i in range(20)]
        self.assertNotIn(None, rl.pipeline(a, [["SET", k, k] for k in keys]))
        bump, started = rl.pipeline(a, [["CLUSTER", "BUMPEPOCH"],
                                        ["CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", str(slot),
                                         str(slot), "NODE", self.b_id]])
        self.assertEqual(started, "OK")
        a_epoch = int(str(bump).split()[1])
        self.assertGreater(a_epoch, b_epoch)
        name = only_job(a)["name"]
        self.assertEqual(wait_job(a, name, {"success", "failed", "cancelled"})["state"],
                         "success")
        wait_job(b, name, {"success"})
        self.assertGreater(int(rl.cluster_info(b)["cluster_my_epoch"]), a_epoch)
        # Both keep seeing the target as the owner once gossip settled, and
        # it has every key.
        wait_until(lambda: rl.call(a, "DBSIZE") == 0, timeout=20, what="source dropped its copy")
        wait_until(lambda: rl.slot_owners(a)[slot] == b and rl.slot_owners(b)[slot] == b,
                   timeout=30, what="both nodes binding the slot to the target")
        self.assertEqual(rl.pipeline(b, [["GET", k] for k in keys]), [k.encode() for k in keys])

    def test_cancel(self):
        slots = list(range(300, 320))
        name, keys = self._start_stalled(slots)
        # While the export runs, SETSLOT is refused on the source (Valkey's error).
        for args in (["SETSLOT", str(slots[0]), "MIGRATING", self.b_id],
                     ["SETSLOT", str(slots[0]), "NODE", self.b_id],
                     ["SETSLOT", "16000", "IMPORTING", self.b_id]):
            r = rl.call(self.a.port, "CLUSTER", *args)
            self.assertIsInstance(r, Error, (args, r))
            self.assertEqual(str(r), "ERR Slot export in progress.")
        self.assertEqual(rl.call(self.a.port, "CLUSTER", "CANCELSLOTMIGRATIONS"), "OK")
        job = wait_job(self.a.port, name, {"cancelled"})
        self.assertEqual(rl.call(self.a.port, "CLUSTER", "SETSLOT", str(slots[0]), "STABLE"), "OK")
        self.assertEqual(job["operation"], "EXPORT")
        os.kill(self.b.proc.pid, signal.SIGCONT)
        self._source_still_owns(slots, keys)
        # The target took the ESTABLISH after waking (or never saw it): no
        # job of its own is left running and none of the keys stay there.
        wait_until(lambda: all(j["state"] in ("failed", "cancelled")
                               for j in migrations(self.b.port)), timeout=20,
                   what="target job ended")
        wait_until(lambda: rl.call(self.b.port, "DBSIZE") == 0, timeout=20, what="target empty")

    def test_target_killed_mid_transfer(self):
        # The link breaks: the source retries, visibly (GETSLOTMIGRATIONS,
        # the log), 3 times after 1, 2 and 4 s, then fails the job; the
        # slots and keys stay where they were.
        slots = list(range(400, 420))
        name, keys = self._start_stalled(slots)
        self.b.proc.kill()  # SIGKILL: the connection resets
        self.b.proc.wait(timeout=10)
        job = wait_job(self.a.port, name, {"connecting"}, timeout=30)
        self.assertTrue(job["message"].startswith(
            "Retry 1 of 3 in 1000 ms after: Connection lost to target."), job)
        job = wait_job(self.a.port, name, {"failed"}, timeout=60)
        self.assertEqual(job["message"], "Unable to connect to target node: Connection refused "
                                         "(gave up after 3 retries)")
        self._source_still_owns(slots, keys)
        log = self.a.output()
        for n in (1, 2, 3):
            self.assertIn(f"Retry {n} of 3 in {1000 << (n - 1)} ms after:", log)

    def test_target_restarted_mid_transfer_is_retried_to_success(self):
        slots = list(range(500, 520))
        name, keys = self._start_stalled(slots)
        self.b.stop(signal.SIGKILL)
        self.b.start()  # empty (no AOF), the same nodes.conf
        job = wait_job(self.a.port, name, {"success", "failed", "cancelled"}, timeout=60)
        self.assertEqual(job["state"], "success", job)
        self.assertTrue(job["message"].startswith("Succeeded after "), job)
        self.assertIn("; the last failure: ", job["message"])
        # The target's first import died with it; the attempt that
        # succeeded is its only record, under the same job name.
        self.assertEqual(wait_job(self.b.port, name, {"success"})["operation"], "IMPORT")
        wait_until(lambda: rl.slot_owners(self.a.port)[slots[0]] == self.b.port, timeout=30,
                   what="the source binding the slots to the target")
        # The restarted target serves once it sees the cluster whole again.
        wait_until(lambda: rl.cluster_info(self.b.port)["cluster_state"] == "ok", timeout=30,
                   what="cluster ok on the restarted target")
        self.assertEqual(rl.pipeline(self.b.port, [["GET", k] for k in keys]),
                         [f"v-{k}".encode() for k in keys])
        wait_until(lambda: rl.call(self.a.port, "DBSIZE") == 0, timeout=30,
                   what="the source dropped its copies")

    def test_new_attempt_supersedes_an_import_whose_link_died_unseen(self):
        # A hand-made source: its first link is still open when the "retry"
        # arrives under the same job name. The old import fails (its
        # connection is closed), and until its staged keys are gone every
        # ESTABLISH of those slots is refused with an error the source
        # retries on.
        b = self.b.port
        name = "e" * 40
        args = ["CLUSTER", "SYNCSLOTS", "ESTABLISH", "SOURCE", self.a_id, "NAME", name,
                "SLOTSRANGE", "200", "210"]
        first, second = Client(b), Client(b)
        try:
            self.assertEqual(first.call(*args), "OK")
            self.assertEqual(second.call(*args), CLEANING)
            old = wait_job(b, name, {"failed"})
            self.assertEqual(old["message"], "Superseded by a new attempt of the same migration")
            self.assertRaises((ConnectionError, OSError), first.read)
            wait_until(lambda: second.call(*args) == "OK", timeout=30,
                       what="the new attempt accepted once the slots are clean")
            rows = [j for j in migrations(b) if j["name"] == name]
            self.assertEqual([j["state"] for j in rows], ["receiving-snapshot", "failed"])
        finally:
            first.close()
            second.close()


class LegacyTargetTest(unittest.TestCase):
    """A redis-server 7.0.15 target does not know CLUSTER SYNCSLOTS: the job
    fails at the handshake, before anything moves."""

    def setUp(self):
        if not REDIS_SERVER:
            raise unittest.SkipTest("redis-server not installed")
        self.a, self.b = rl.two_masters("shardnode", "redis")

    def tearDown(self):
        self.a.cleanup()
        self.b.cleanup()

    def test_redis_target_fails_cleanly(self):
        key = rl.tag_for_slot(5) + "k"
        rl.call(self.a.port, "SET", key, "v")
        slot = 5
        self.assertEqual(rl.call(self.a.port, "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", str(slot),
                                 str(slot), "NODE", rl.node_id(self.b)), "OK")
        job = wait_job(self.a.port, only_job(self.a.port)["name"], {"failed"})
        self.assertTrue(job["message"].startswith(
            "Received error during handshake to target: ERR unknown subcommand"), job)
        self.assertEqual(rl.slot_owners(self.a.port)[slot], self.a.port)
        self.assertEqual(rl.call(self.a.port, "GET", key), b"v")


if __name__ == "__main__":
    unittest.main(verbosity=2)
