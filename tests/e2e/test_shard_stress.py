"""Stress at `threads 4` (standalone): pipelined clients, spread over the
control loop and the shard threads, write keys spread over every keyspace
shard, with multi-key commands across shards (MSET, MGET, SMOVE, LMOVE,
COPY, MULTI/EXEC); readers check meanwhile that the multi-key writes are
atomic (a pair written together is never seen half written). The final
state is checked against a model of the operations (each one commutes with
the other clients' or touches the client's own keys only, so the model
does not depend on the interleaving), and the same workload on
redis-server 7.0.15 must end in the same state. Skipped without
redis-server."""
import os
import random
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import REDIS_SERVER as REDIS  # noqa: E402
from harness import Client, Node, RedisServer  # noqa: E402

THREADS = 4
CLIENTS = 8
ROUNDS = 30
BATCH = 40  # commands pipelined per round
SHARED = 24  # shared counters, sets, hashes and lists


class Model:
    """The expected final state, built from the generated operations."""

    def __init__(self):
        self.counters = {}
        self.sets = {}
        self.hashes = {}
        self.lists = {}  # list key -> multiset (sorted list) of elements
        self.strings = {}

    def incr(self, key, d):
        self.counters[key] = self.counters.get(key, 0) + d

    def sadd(self, key, member):
        self.sets.setdefault(key, set()).add(member)

    def hincr(self, key, field, d):
        h = self.hashes.setdefault(key, {})
        h[field] = h.get(field, 0) + d

    def push(self, key, element):
        self.lists.setdefault(key, []).append(element)


def script(client, model):
    """Client `client`'s rounds: a list of batches, each a list of
    (command args, expected reply or None when only the type is checked).
    Applies the operations to `model`."""
    rng = random.Random(1000 + client)
    own = f"c{client}"
    rounds = []
    for r in range(ROUNDS):
        batch = []
        for n in range(BATCH):
            op = rng.randrange(8)
            j = rng.randrange(SHARED)
            d = rng.randrange(1, 100)
            tag = f"{own}-{r}-{n}"
            if op == 0:
                batch.append((["INCRBY", f"cnt:{j}", str(d)], int))
                model.incr(f"cnt:{j}", d)
            elif op == 1:
                batch.append((["SADD", f"set:{j}", tag], 1))
                model.sadd(f"set:{j}", tag)
            elif op == 2:
                batch.append((["HINCRBY", f"hash:{j}", f"f{d % 5}", str(d)], int))
                model.hincr(f"hash:{j}", f"f{d % 5}", d)
            elif op == 3:
                # A pair written together (its keys on different shards, as
                # the readers check), and a copy of one of them.
                batch.append((["MSET", f"pair:{own}:x", tag, f"pair:{own}:y", tag], "OK"))
                batch.append((["COPY", f"pair:{own}:x", f"copy:{own}", "REPLACE"], 1))
                model.strings[f"pair:{own}:x"] = model.strings[f"pair:{own}:y"] = tag
                model.strings[f"copy:{own}"] = tag
            elif op == 4:
                # Moved across shards: every member ends in the shared set.
                batch.append((["SADD", f"src:{own}", tag], 1))
                batch.append((["SMOVE", f"src:{own}", f"moved:{j}", tag], 1))
                model.sadd(f"moved:{j}", tag)
            elif op == 5:
                batch.append((["RPUSH", f"q:{own}", tag], int))
                batch.append((["LMOVE", f"q:{own}", f"list:{j}", "LEFT", "RIGHT"], tag.encode()))
                model.push(f"list:{j}", tag)
            elif op == 6:
                # Two counters of different shards moved together.
                batch += [(["MULTI"], "OK"), (["INCRBY", f"tx:{j}:a", str(d)], "QUEUED"),
                          (["INCRBY", f"tx:{j}:b", str(d)], "QUEUED"), (["EXEC"], list)]
                model.incr(f"tx:{j}:a", d)
                model.incr(f"tx:{j}:b", d)
            else:
                batch.append((["MGET", f"cnt:{j}", f"set:{j}", f"pair:{own}:x"], list))
        rounds.append(batch)
    return rounds


def run_client(port, rounds, failures):
    c = Client(port, timeout=30)
    try:
        for batch in rounds:
            for args, _ in batch:
                c.send(*args)
            for args, want in batch:
                got = c.read()
                ok = isinstance(got, want) if isinstance(want, type) else got == want
                if not ok:
                    failures.append(f"{args}: {got!r}, wanted {want!r}")
                    return
    finally:
        c.close()


def run_reader(port, stop, failures):
    """Reads the pairs and the transaction counters while they are written:
    a pair's two keys (and tx:j:a, tx:j:b) are always equal."""
    c = Client(port, timeout=30)
    try:
        while not stop.is_set():
            for i in range(CLIENTS):
                x, y = c.call("MGET", f"pair:c{i}:x", f"pair:c{i}:y")
                if x != y:
                    failures.append(f"pair c{i} seen half written: {x!r} {y!r}")
                    return
            j = random.randrange(SHARED)
            a, b = c.call("MGET", f"tx:{j}:a", f"tx:{j}:b")
            if a != b:
                failures.append(f"tx:{j} seen half applied: {a!r} {b!r}")
                return
    finally:
        c.close()


def final_state(port):
    """Everything the model predicts, read back (lists sorted: the order of
    pushes by different clients depends on the interleaving)."""
    c = Client(port, timeout=30)
    try:
        state = {}
        for j in range(SHARED):
            state[f"cnt:{j}"] = c.call("GET", f"cnt:{j}")
            state[f"set:{j}"] = sorted(c.call("SMEMBERS", f"set:{j}"))
            state[f"moved:{j}"] = sorted(c.call("SMEMBERS", f"moved:{j}"))
            h = c.call("HGETALL", f"hash:{j}")
            state[f"hash:{j}"] = dict(zip(h[::2], h[1::2]))
            state[f"list:{j}"] = sorted(c.call("LRANGE", f"list:{j}", "0", "-1"))
            state[f"tx:{j}"] = c.call("MGET", f"tx:{j}:a", f"tx:{j}:b")
        for i in range(CLIENTS):
            own = f"c{i}"
            state[own] = (c.call("MGET", f"pair:{own}:x", f"pair:{own}:y", f"copy:{own}"),
                          c.call("EXISTS", f"src:{own}", f"q:{own}"))
        state["dbsize"] = c.call("DBSIZE")
        return state
    finally:
        c.close()


def expected_state(model):
    def num(v):
        return str(v).encode() if v else None

    state = {}
    for j in range(SHARED):
        state[f"cnt:{j}"] = num(model.counters.get(f"cnt:{j}", 0))
        state[f"set:{j}"] = sorted(m.encode() for m in model.sets.get(f"set:{j}", ()))
        state[f"moved:{j}"] = sorted(m.encode() for m in model.sets.get(f"moved:{j}", ()))
        state[f"hash:{j}"] = {f.encode(): str(v).encode()
                              for f, v in model.hashes.get(f"hash:{j}", {}).items()}
        state[f"list:{j}"] = sorted(e.encode() for e in model.lists.get(f"list:{j}", ()))
        state[f"tx:{j}"] = [num(model.counters.get(f"tx:{j}:a", 0)),
                            num(model.counters.get(f"tx:{j}:b", 0))]
    for i in range(CLIENTS):
        own = f"c{i}"
        state[own] = ([model.strings.get(k, "").encode() or None
                       for k in (f"pair:{own}:x", f"pair:{own}:y", f"copy:{own}")], 0)
    keys = (len(model.counters) + len(model.sets) + len(model.hashes) + len(model.lists) +
            len(model.strings))
    state["dbsize"] = keys
    return state


@unittest.skipUnless(REDIS, "redis-server not installed")
class ShardStressTest(unittest.TestCase):
    def run_workload(self, server):
        model = Model()
        scripts = [script(i, model) for i in range(CLIENTS)]
        failures = []
        stop = threading.Event()
        readers = [threading.Thread(target=run_reader, args=(server.port, stop, failures))
                   for _ in range(2)]
        writers = [threading.Thread(target=run_client, args=(server.port, s, failures))
                   for s in scripts]
        for t in readers + writers:
            t.start()
        for t in writers:
            t.join(timeout=300)
        stop.set()
        for t in readers:
            t.join(timeout=60)
        self.assertFalse(any(t.is_alive() for t in readers + writers), "a client hung")
        self.assertEqual(failures, [])
        return final_state(server.port), expected_state(model)

    def test_pipelined_cross_shard_workload_matches_the_model(self):
        node = Node(args=["--threads", str(THREADS)]).start()
        self.addCleanup(node.cleanup)
        redis = RedisServer()
        self.addCleanup(redis.cleanup)
        got_node, want = self.run_workload(node)
        got_redis, want_redis = self.run_workload(redis)
        self.assertEqual(want, want_redis)  # the same generated workload
        self.assertEqual(got_redis, want)  # the model is Redis's behaviour
        self.assertEqual(got_node, want)


if __name__ == "__main__":
    unittest.main()
