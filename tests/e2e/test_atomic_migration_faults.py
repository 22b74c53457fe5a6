#!/usr/bin/env python3
"""Atomic slot migration under faults: a bounded matrix.

Three shardnode nodes with the AOF on (appendfsync always, so a node killed
with SIGKILL comes back with what it acknowledged): A owns 0-8191 and
moves slots 0-99 (filler keys of 8 KB) to B, which has a replica R. While
the job runs, a writer sets unique increasing values on keys of the moving
slots through a cluster-aware client. When the source's job reaches a
phase, one node (the source A, the target B or the target's replica R) is
killed (SIGKILL, restarted a second later) or stopped (SIGSTOP, continued
a second later) (also the source's replica AR, a fourth node started for
those cases), or a primary fails over: CLUSTER FAILOVER on the target's
replica R, or on the source's replica AR (a fourth node, started for that
case only). Checked afterwards, whatever the job's outcome:
  - the job ended `success` or `failed` (with a message) where it is still
    known; every slot 0-99 has one owner, the same on A and B; the target
    killed at the snapshot ends `success` after a retry (a broken link is
    retried, and the restarted target is back within the retries' window);
  - no acknowledged write is lost: each key holds at least the last value
    its SET was acknowledged for;
  - the owner holds every filler key; the other shard's primary keeps no
    key of slots 0-99 (a failed job leaves the source's shard owning and
    serving them);
  - B and R (and A and AR) end with the same DEBUG DIGEST, and the cluster
    is ok;
  - where no node was killed, no full resync happened during the job
    (INFO stats sync_full of every node unchanged).

The bounded form (scripts/test) injects at the snapshot phase (the two
failovers at the tail, where the target holds the whole snapshot); with
SHARDNODE_ASM_FAULTS_FULL=1 the tail (`replicating`) and handoff phases
are added, the known failing cases (KNOWN_FAILING, none now) run as
expected failures, and the source killed (FULL_ONLY) runs too. A fault
lands at the phase the job was in when the poll saw it (printed), or later
if the job was faster. Every wait is bounded; every node is stopped by its pid."""
import os
import signal
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import wait_until  # noqa: E402
import reshardlib as rl  # noqa: E402

MOVE = range(0, 100)
FILLER_PER_SLOT = 15
VALUE = "v" * 8192
WRITER_KEYS = 40
PHASES = {"snapshot": ("snapshotting",),
          "tail": ("replicating",),
          "handoff": ("failover-paused", "failover-granted")}
FULL = os.environ.get("SHARDNODE_ASM_FAULTS_FULL") == "1"
AOF = ["--appendonly", "yes", "--appendfsync", "always"]


def jobs(port):
    try:
        rows = rl.call(port, "CLUSTER", "GETSLOTMIGRATIONS")
    except OSError:
        return []
    out = []
    for row in rows:
        d = {}
        for k, v in zip(row[0::2], row[1::2]):
            d[k.decode()] = v.decode() if isinstance(v, bytes) else v
        out.append(d)
    return out


def knows_replica(port, primary_id, replica_id):
    """Whether the node at `port` lists `replica_id` among the replicas of
    `primary_id` (CLUSTER REPLICAS)."""
    lines = rl.call(port, "CLUSTER", "REPLICAS", primary_id)
    return isinstance(lines, list) and any(replica_id.encode() in line for line in lines)


class Writer(threading.Thread):
    """SETs key i to 1, 2, 3... in turn; remembers the last acknowledged
    value of each key."""

    def __init__(self, node, keys):
        super().__init__(daemon=True)
        self.node = node  # its port may change when it restarts
        self.keys = keys
        self.acked = {k: 0 for k in keys}
        self.stop_event = threading.Event()
        self.ops = 0
        self.last_error = ""

    def run(self):
        client = None
        n = 0
        while not self.stop_event.is_set():
            key = self.keys[n % len(self.keys)]
            value = self.acked[key] + 1
            n += 1
            try:
                if client is None:
                    client = rl.ClusterClient(self.node.port)
                if client.call(key, "SET", key, str(value)) == "OK":
                    self.acked[key] = value
                    self.ops += 1
            except (rl.ClusterClientError, OSError, ValueError) as e:
                # The node is down or the slot moves: try again (a value
                # not acknowledged is not counted).
                self.last_error = repr(e)
                if client is not None:
                    client.close()
                client = None
                time.sleep(0.05)
            except Exception as e:
                # Anything else ends the thread: say so (the check that
                # waits for writes reports last_error).
                self.last_error = f"writer thread ended: {e!r}"
                raise
        if client is not None:
            client.close()


class FaultMatrixTest(unittest.TestCase):
    def run_case(self, victim, fault, phase):
        a, b = rl.two_masters("shardnode", "shardnode", extra=AOF)
        r = rl.make_node("shardnode", AOF)
        # The source's replica: for a failover of the source, and as a victim.
        ar = (rl.make_node("shardnode", AOF)
              if (victim, fault) == ("source", "failover") or victim == "source_replica" else None)
        nodes = {"source": a, "target": b, "replica": r, "source_replica": ar}
        everyone = [n for n in (a, b, r, ar) if n is not None]
        writer = None
        try:
            b_id = rl.node_id(b)
            for count, (replica, primary) in enumerate(((r, b), (ar, a)), start=3):
                if replica is None:
                    continue
                replica.start()
                rl.call(replica.port, "CLUSTER", "MEET", "127.0.0.1", str(a.port))
                wait_until(lambda: rl.known_nodes(replica.port) == count, timeout=30,
                           what="replica meets")
                pid = rl.node_id(primary)
                wait_until(lambda: rl.call(replica.port, "CLUSTER", "REPLICATE", pid) == "OK",
                           timeout=30, what="CLUSTER REPLICATE")
                wait_until(lambda: b"master_link_status:up" in
                           rl.call(replica.port, "INFO", "replication"),
                           timeout=30, what="replica link up")
                # Every primary must know it as its primary's replica (gossip)
                # before a CLUSTER FAILOVER: its own primary ignores MFSTART
                # from a stranger, and a primary that does not know it yet
                # drops its vote request unanswered (the election then times
                # out: seen 2 in about 40 failover runs before this wait).
                rid = rl.node_id(replica)
                for voter in (a, b):
                    wait_until(lambda: knows_replica(voter.port, pid, rid), timeout=30,
                               what="every primary knows the replica")
            filler = [k for ks in rl.keys_in_slots("f", MOVE, FILLER_PER_SLOT).values()
                      for k in ks]
            replies = rl.pipeline(a.port, [["SET", k, VALUE] for k in filler])
            self.assertTrue(all(x == "OK" for x in replies))
            wkeys = [rl.tag_for_slot(MOVE[0] + i * len(MOVE) // WRITER_KEYS) + "w"
                     for i in range(WRITER_KEYS)]
            writer = Writer(a, wkeys)
            writer.start()
            wait_until(lambda: writer.ops > 50, timeout=30, what="writer running")
            full_syncs = sum(int(rl.info_field(n.port, "stats", "sync_full")) for n in everyone)
            self.assertEqual(rl.call(a.port, "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE",
                                     str(MOVE[0]), str(MOVE[-1]), "NODE", b_id), "OK")
            name = jobs(a.port)[0]["name"]
            wanted = PHASES[phase]
            seen = []

            def at_phase():
                st = [j["state"] for j in jobs(a.port) if j["name"] == name]
                seen[:] = st
                return bool(st) and (st[0] in wanted or
                                     st[0] in ("success", "failed", "cancelled"))

            wait_until(at_phase, timeout=60, interval=0.001, what=f"job at {phase}")
            victim_node = nodes[victim]
            if fault == "failover":
                promoted = r if victim == "target" else ar
                self.assertEqual(rl.call(promoted.port, "CLUSTER", "FAILOVER"), "OK")
                wait_until(lambda: b"role:master" in rl.call(promoted.port, "INFO", "replication"),
                           timeout=30, what="the replica promoted")
            elif fault == "kill":
                victim_node.stop(signal.SIGKILL)
                time.sleep(1.0)  # the fault's length, not a synchronization
                victim_node.start()
            else:
                os.kill(victim_node.proc.pid, signal.SIGSTOP)
                time.sleep(1.0)  # the fault's length, not a synchronization
                os.kill(victim_node.proc.pid, signal.SIGCONT)
            print(f"\n  {victim} {fault} at {seen}", file=sys.stderr)

            def ended(port):
                st = [j for j in jobs(port) if j["name"] == name]
                return not st or st[0]["state"] in ("success", "failed", "cancelled")

            wait_until(lambda: ended(a.port) and ended(b.port), timeout=90,
                       what="the job ended on both sides")
            for port in (a.port, b.port):
                for j in jobs(port):
                    if j["name"] == name:
                        self.assertIn(j["state"], ("success", "failed"), j)
                        if j["state"] == "failed":
                            self.assertTrue(j["message"], j)
            outcome = next((j for j in jobs(a.port) if j["name"] == name), None)
            if outcome is not None:
                print(f"  source's job: {outcome['state']} {outcome['message']!r}",
                      file=sys.stderr)
            if (victim, fault, phase) == ("target", "kill", "snapshot"):
                # The link broke before the handoff and the target came back
                # within the retries' window: a retry completes the job.
                self.assertEqual(outcome["state"], "success", outcome)
                self.assertTrue(outcome["message"].startswith("Succeeded after "), outcome)
            # Let the writer see the outcome, then stop it.
            ops = writer.ops
            try:
                wait_until(lambda: writer.ops > ops + 50, timeout=60,
                           what="writes after the job")
            except AssertionError:
                raise AssertionError(f"writer stuck: {writer.last_error}; A ({a.port}): "
                                     f"{rl.cluster_info(a.port)}; B: {rl.cluster_info(b.port)}")
            writer.stop_event.set()
            writer.join(timeout=30)
            for n in everyone:
                wait_until(lambda: rl.cluster_info(n.port)["cluster_state"] == "ok",
                           timeout=60, what=f"cluster ok on {n.port}")

            def primary_of(pair):
                return next(n for n in pair if n is not None and b"role:master" in
                            rl.call(n.port, "INFO", "replication"))

            source_primary, target_primary = primary_of((a, ar)), primary_of((b, r))

            def owners():
                oa, ob = rl.slot_owners(a.port), rl.slot_owners(b.port)
                return oa, ob

            wait_until(lambda: all(owners()[0].get(s) == owners()[1].get(s) for s in MOVE),
                       timeout=60, what="A and B agree on the owners")
            oa = rl.slot_owners(a.port)
            owner_ports = {oa.get(s) for s in MOVE}
            self.assertEqual(len(owner_ports), 1, owner_ports)
            owner_port = owner_ports.pop()
            self.assertIn(owner_port, (source_primary.port, target_primary.port))
            other = (target_primary.port if owner_port == source_primary.port
                     else source_primary.port)
            # No acknowledged write lost.
            got = rl.pipeline(owner_port, [["GET", k] for k in wkeys])
            for k, v in zip(wkeys, got):
                self.assertIsNotNone(v, k)
                self.assertGreaterEqual(int(v), writer.acked[k], k)
            # The owner holds every filler key, the other primary none.
            got = rl.pipeline(owner_port, [["EXISTS", k] for k in filler])
            self.assertEqual(sum(got), len(filler))
            wait_until(lambda: all(rl.call(other, "CLUSTER", "COUNTKEYSINSLOT", str(s)) == 0
                                   for s in MOVE), timeout=60, what="no copies on the other")
            # B and its replica agree.
            def digests_equal():
                return rl.call(b.port, "DEBUG", "DIGEST") == rl.call(r.port, "DEBUG", "DIGEST")

            wait_until(digests_equal, timeout=60, what="B and R have the same digest")
            # The move itself triggers no full resync: where no node restarted
            # (a restarted node's replica needs one, as in Redis), the
            # primaries served none since the job began (a failover's new
            # primary serves its old one a partial resync).
            if fault != "kill":
                now = sum(int(rl.info_field(n.port, "stats", "sync_full")) for n in everyone)
                self.assertEqual(now, full_syncs, "a full resync happened during the move")
            if ar is not None:
                wait_until(lambda: rl.call(a.port, "DEBUG", "DIGEST") ==
                           rl.call(ar.port, "DEBUG", "DIGEST"), timeout=60,
                           what="A and AR have the same digest")
            rl.wait_check_ok(a.port, timeout=60)
        finally:
            if writer is not None:
                writer.stop_event.set()
                writer.join(timeout=30)
            for n in everyone:
                try:
                    os.kill(n.proc.pid, signal.SIGCONT)
                except (OSError, AttributeError):
                    pass
                n.cleanup()


# Known failing, kept in the full form as expected failures until fixed:
# none now. A target killed mid-import loads the staged keys back from its
# AOF (the LOAD batches went there as RESTOREs; nothing in the AOF may say
# they were an unfinished import, as it stays loadable by redis-server 7.0);
# the drop record beside nodes.conf (node/server/nodes_conf_file.h) tells
# them from a legacy import's keys at startup, and they are hidden, then
# deleted, instead of setting the slots importing as Redis 7.0 does.
KNOWN_FAILING = set()
# Only in the full form (time): after the source was killed and restarted,
# the writer sometimes got "Connection refused" for a minute while every
# node answered (2026-12-05: 2 runs in 3 at the snapshot, 1 in 1 at the
# handoff). This test's client: the writer reconnected while the restarted
# source still answered CLUSTER SLOTS with an error (it was loading), and
# reshardlib.slot_owners iterated the error's text: IndexError, not caught,
# so the thread ended with its last error, the refused connection, shown
# (seen with a writer that recorded every exception, 2026-12-05).
# slot_owners now raises ClusterClientError, which the writer retries, and
# the writer reports any exception that ends it.
FULL_ONLY = {("source", "kill")}


# A failover of either primary (CLUSTER FAILOVER on its replica).
FAILOVERS = [("source", "failover"), ("target", "failover")]


def bounded_case(victim, fault, phase):
    """The cases scripts/test runs: kills and stops at the snapshot, the
    failovers at the tail."""
    if (victim, fault) in FAILOVERS:
        return phase == "tail"
    return phase == "snapshot" and (victim, fault) not in KNOWN_FAILING | FULL_ONLY


def add_cases():
    for phase in ("snapshot", "tail", "handoff"):
        faults = [(v, f) for v in ("source", "target", "replica", "source_replica")
                  for f in ("kill", "stop")]
        for victim, fault in faults + FAILOVERS:
            if not FULL and not bounded_case(victim, fault, phase):
                continue
            known = (victim, fault) in KNOWN_FAILING

            def case(self, victim=victim, fault=fault, phase=phase):
                self.run_case(victim, fault, phase)
            if known:
                case = unittest.expectedFailure(case)
            setattr(FaultMatrixTest, f"test_{victim}_{fault}_at_{phase}", case)


add_cases()

if __name__ == "__main__":
    unittest.main(verbosity=2)
