"""MULTI / EXEC / DISCARD / WATCH, compared reply by reply with redis-server
7.0.15: each scenario runs the same steps, on several connections, against
both servers, in every mode of harness.DIFF_MODES (standalone, 4 shard
threads, one-node cluster with 4 shard threads; in cluster mode every key
gets the hash tag {t}, so that a scenario's keys share a slot, and scenarios
that SELECT are left out). Skipped (with a message)
only when redis-server is missing."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import DIFF_MODES, REDIS_SERVER, Client, start_diff_pair, tag_keys  # noqa: E402

# Each scenario: a list of (connection, command...) steps; "sleep:ms" waits.
# The keys a, b, c and d live in four different shards with 4 shard threads.
SCENARIOS = {
    "queue_and_exec": [
        (0, "MULTI"), (0, "SET", "a", "1"), (0, "INCR", "a"), (0, "GET", "a"), (0, "EXEC")],
    "runtime_error_inside_exec": [
        (0, "SET", "s", "x"), (0, "MULTI"), (0, "INCR", "s"), (0, "SET", "t", "1"),
        (0, "EXEC"), (0, "GET", "t")],
    "queue_error_aborts": [
        (0, "MULTI"), (0, "SET", "a", "1"), (0, "NOSUCHCMD"), (0, "GET"), (0, "EXEC"),
        (0, "GET", "a")],
    "discard": [
        (0, "MULTI"), (0, "SET", "d", "1"), (0, "DISCARD"), (0, "GET", "d"), (0, "DISCARD"),
        (0, "EXEC")],
    "nested_multi": [(0, "MULTI"), (0, "MULTI"), (0, "EXEC")],
    "watch_untouched": [
        (0, "SET", "w", "1"), (0, "WATCH", "w"), (0, "MULTI"), (0, "INCR", "w"), (0, "EXEC")],
    "watch_touched_by_other": [
        (0, "SET", "w", "1"), (0, "WATCH", "w"), (1, "SET", "w", "2"), (0, "MULTI"),
        (0, "INCR", "w"), (0, "EXEC"), (0, "GET", "w")],
    "watch_touched_by_self": [
        (0, "WATCH", "w"), (0, "SET", "w", "5"), (0, "MULTI"), (0, "GET", "w"), (0, "EXEC")],
    "watch_missing_key_created": [
        (0, "WATCH", "nx"), (1, "SET", "nx", "1"), (0, "MULTI"), (0, "GET", "nx"), (0, "EXEC")],
    "watch_missing_key_flushall": [
        (0, "WATCH", "nx"), (1, "FLUSHALL"), (0, "MULTI"), (0, "PING"), (0, "EXEC")],
    "watch_existing_key_flushall": [
        (0, "SET", "e", "1"), (0, "WATCH", "e"), (1, "FLUSHALL"), (0, "MULTI"), (0, "PING"),
        (0, "EXEC")],
    "watch_delete": [
        (0, "SET", "e", "1"), (0, "WATCH", "e"), (1, "DEL", "e"), (0, "MULTI"), (0, "PING"),
        (0, "EXEC")],
    "watch_expired_key": [
        (0, "SET", "x", "1", "PX", "50"), (0, "WATCH", "x"), ("sleep", 120), (0, "MULTI"),
        (0, "PING"), (0, "EXEC")],
    "unwatch": [
        (0, "SET", "w", "1"), (0, "WATCH", "w"), (1, "SET", "w", "2"), (0, "UNWATCH"),
        (0, "MULTI"), (0, "GET", "w"), (0, "EXEC")],
    "watch_inside_multi": [(0, "MULTI"), (0, "WATCH", "w"), (0, "EXEC")],
    "exec_clears_watch": [
        (0, "WATCH", "w"), (0, "MULTI"), (0, "EXEC"), (1, "SET", "w", "9"), (0, "MULTI"),
        (0, "GET", "w"), (0, "EXEC")],
    "watch_other_db_key": [
        (0, "WATCH", "k"), (1, "SELECT", "1"), (1, "SET", "k", "1"), (0, "MULTI"), (0, "PING"),
        (0, "EXEC")],
    "exec_without_multi": [(0, "EXEC"), (0, "DISCARD")],
    "reset_inside_multi": [(0, "MULTI"), (0, "SET", "r", "1"), (0, "RESET"), (0, "GET", "r")],
    "watch_keys_of_several_shards": [
        (0, "MSET", "a", "1", "b", "2"), (0, "WATCH", "a", "b", "c"), (1, "SADD", "c", "x"),
        (0, "MULTI"), (0, "GET", "a"), (0, "EXEC"), (0, "WATCH", "a", "d"), (0, "MULTI"),
        (0, "SADD", "d", "y"), (0, "SMOVE", "d", "c", "y"), (0, "RENAME", "a", "d"),
        (0, "MGET", "a", "b", "d"), (0, "EXEC"), (1, "SMISMEMBER", "c", "x", "y"), (1, "SCARD", "c"),
        (1, "DBSIZE"), (1, "EXISTS", "a", "b", "c", "d")],
    # A refused EXEC ends the transaction with EXECABORT and the refusal
    # (Redis's execCommandAbort): here BUSY while a script runs too long.
    "exec_refused_while_script_busy": [
        (1, "CONFIG", "SET", "lua-time-limit", "10"), (0, "MULTI"), (0, "INCR", "x"),
        ("send", 2, "EVAL", "while true do end", "0"), ("sleep", 200), (0, "EXEC"),
        (1, "SCRIPT", "KILL"), ("read", 2), (0, "PING", "asdf"), (0, "GET", "x")],
    # EXEC writes when a queued command does: min-replicas-to-write refuses it.
    "exec_of_writes_without_enough_replicas": [
        (0, "SET", "x", "1"), (0, "MULTI"), (0, "INCR", "x"),
        (1, "CONFIG", "SET", "min-replicas-to-write", "2"), (0, "EXEC"), (0, "GET", "x"),
        (0, "MULTI"), (0, "GET", "x"), (0, "EXEC"),
        (1, "CONFIG", "SET", "min-replicas-to-write", "0")],
}


def run(port, steps):
    conns = [Client(port), Client(port), Client(port)]
    conns[0].call("FLUSHALL")
    replies = []
    for step in steps:
        if step[0] == "sleep":
            time.sleep(step[1] / 1000)
            continue
        if step[0] == "send":  # no reply read yet
            conns[step[1]].send(*step[2:])
            continue
        if step[0] == "read":  # the reply of a "send", not compared
            conns[step[1]].read()
            continue
        replies.append(conns[step[0]].call(*step[1:]))
    for c in conns:
        c.close()
    return replies


@unittest.skipIf(REDIS_SERVER is None, "redis-server is not installed: no reference to compare with")
class TransactionsDiffTest(unittest.TestCase):
    THREADS = 1
    CLUSTER = False

    @classmethod
    def setUpClass(cls):
        cls.node, cls.redis = start_diff_pair(cls.THREADS, cls.CLUSTER)
        cls.redis_port = cls.redis.port

    @classmethod
    def tearDownClass(cls):
        cls.node.cleanup()
        cls.redis.cleanup()

    def scenarios(self):
        if not self.CLUSTER:
            return SCENARIOS
        out = {}
        for name, steps in SCENARIOS.items():
            if any(s[0] != "sleep" and s[1] == "SELECT" for s in steps):
                continue
            out[name] = [s if s[0] in ("sleep", "send", "read") else
                         (s[0],) + tuple(tag_keys(self.redis_port, list(s[1:])))
                         for s in steps]
        return out

    def test_scenarios_match_redis(self):
        for name, steps in self.scenarios().items():
            with self.subTest(scenario=name):
                self.assertEqual(run(self.node.port, steps), run(self.redis_port, steps))


# One subclass per sharded mode of DIFF_MODES (the base class is standalone).
for _name, _threads, _cluster in DIFF_MODES:
    if _threads == 1 and not _cluster:
        continue
    globals()["TransactionsDiff_" + _name] = type(
        "TransactionsDiff_" + _name, (TransactionsDiffTest,),
        {"THREADS": _threads, "CLUSTER": _cluster})


if __name__ == "__main__":
    unittest.main(verbosity=2)
