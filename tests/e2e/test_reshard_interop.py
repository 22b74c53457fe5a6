#!/usr/bin/env python3
"""Slot migration in a mixed cluster: a shardnode master S (slots 0-8191)
and a redis-server 7.0.15 master R (8192-16383), built by hand with
CLUSTER ADDSLOTSRANGE + MEET.

1. MIGRATE by hand (SETSLOT IMPORTING / MIGRATING / NODE) of one slot from S
   to R and back from R to S: strings (embstr, raw, int), small and big
   hashes, lists, sets and sorted sets (compact and non-compact
   encodings), keys with a TTL; the single-key form, the KEYS form, COPY,
   REPLACE, BUSYKEY passed through, NOKEY. Every key arrives with its value,
   its encoding and its expiry time.
2. `redis-cli --cluster reshard` of 300 slots holding about 3000 keys from
   S to R (redis-cli's defaults), then back from R to S (--cluster-pipeline
   37, --cluster-replace, --cluster-timeout); after each, `redis-cli --cluster check`
   is clean, every key is read back through its owner with the same
   value and expiry time, and a client that was blocked (BLPOP) on a key of
   a moved slot is unblocked by the source with MOVED."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import REDIS_SERVER, Client, Error  # noqa: E402
import reshardlib as rl  # noqa: E402

SLOT = 5000        # moved by hand
RESHARD_SLOTS = 300  # slots 0-299 move with redis-cli
TTL_SLACK_MS = 1500  # a migrated expiry is re-based on the target's clock


def typed_values(prefix):
    """{key: (type, value, ttl_ms or None)}: one key of each shape."""
    big = "x" * 3000
    return {
        f"{prefix}str": ("string", "small", None),
        f"{prefix}raw": ("string", big, None),
        f"{prefix}int": ("string", "123456", None),
        f"{prefix}ttl": ("string", "expiring", 900_000),
        f"{prefix}hsmall": ("hash", {"f1": "a", "f2": "b"}, None),
        f"{prefix}hbig": ("hash", {f"f{i}": f"value-{i}" * 3 for i in range(300)}, 800_000),
        f"{prefix}lsmall": ("list", ["1", "two", "3"], None),
        f"{prefix}lbig": ("list", [f"item-{i}-" + "y" * 80 for i in range(1500)], None),
        f"{prefix}sint": ("set", {str(i) for i in range(50)}, None),
        f"{prefix}sbig": ("set", {f"member-{i}" for i in range(600)}, 700_000),
        f"{prefix}zsmall": ("zset", {"a": 1.0, "b": 2.5}, None),
        f"{prefix}zbig": ("zset", {f"m{i}": i * 1.5 for i in range(400)}, None),
        # Payloads of several MB (sent in slices by shardnode).
        f"{prefix}huge": ("hash", {f"field:{i}": f"value:{i:08d}" * 8 for i in range(30000)},
                          None),
        f"{prefix}hugestr": ("string", "s" * (3 << 20), 600_000),
    }


def write_commands(key, kind, value, ttl):
    if kind == "string":
        cmds = [["SET", key, value]]
    elif kind == "hash":
        flat = [x for kv in value.items() for x in kv]
        cmds = [["HSET", key] + flat]
    elif kind == "list":
        cmds = [["RPUSH", key] + list(value)]
    elif kind == "set":
        cmds = [["SADD", key] + sorted(value)]
    else:
        flat = []
        for m, s in value.items():
            flat += [repr(s), m]
        cmds = [["ZADD", key] + flat]
    if ttl is not None:
        cmds.append(["PEXPIRE", key, str(ttl)])
    return cmds


def read_command(key, kind):
    return {"string": ["GET", key], "hash": ["HGETALL", key], "list": ["LRANGE", key, "0", "-1"],
            "set": ["SMEMBERS", key], "zset": ["ZRANGE", key, "0", "-1", "WITHSCORES"]}[kind]


def decode(kind, reply):
    if isinstance(reply, Error) or reply is None:
        return reply
    if kind == "string":
        return reply.decode()
    items = [x.decode() for x in reply]
    if kind == "hash":
        return dict(zip(items[0::2], items[1::2]))
    if kind == "list":
        return items
    if kind == "set":
        return set(items)
    return {m: float(s) for m, s in zip(items[0::2], items[1::2])}


class Expected:
    """The keys written and what each must read back as: type, value, and
    the absolute expiry time (ms) taken from the first node's PEXPIRETIME."""

    def __init__(self):
        self.keys = {}       # key -> (type, value)
        self.expire_at = {}  # key -> ms or -1
        self.encoding = {}   # key -> OBJECT ENCODING where first written

    def write(self, port, data, with_encoding=False):
        cmds = []
        for key, (kind, value, ttl) in data.items():
            self.keys[key] = (kind, value)
            cmds += write_commands(key, kind, value, ttl)
        for r in rl.pipeline(port, cmds):
            assert not isinstance(r, Error), r
        keys = list(data)
        times = rl.pipeline(port, [["PEXPIRETIME", k] for k in keys])
        for k, t in zip(keys, times):
            self.expire_at[k] = t
        if with_encoding:
            encs = rl.pipeline(port, [["OBJECT", "ENCODING", k] for k in keys])
            for k, e in zip(keys, encs):
                self.encoding[k] = e

    def mismatches(self, port, keys, asking=False):
        """The keys that `port` does not serve as expected (value, type,
        expiry time within TTL_SLACK_MS, encoding where recorded)."""
        cmds = []
        for k in keys:
            kind, _ = self.keys[k]
            pre = [["ASKING"]] if asking else []
            cmds += pre + [["TYPE", k]] + pre + [read_command(k, kind)] + pre + \
                [["PEXPIRETIME", k]] + pre + [["OBJECT", "ENCODING", k]]
        replies = rl.pipeline(port, cmds)
        if asking:
            replies = replies[1::2]
        bad = []
        for i, k in enumerate(keys):
            kind, value = self.keys[k]
            typ, val, exp, enc = replies[4 * i:4 * i + 4]
            want_exp = self.expire_at[k]
            exp_ok = (exp == -1 and want_exp == -1) or (
                isinstance(exp, int) and exp > 0 and want_exp > 0 and
                abs(exp - want_exp) <= TTL_SLACK_MS)
            enc_ok = k not in self.encoding or enc == self.encoding[k]
            if typ != kind or decode(kind, val) != value or not exp_ok or not enc_ok:
                bad.append((k, typ, str(decode(kind, val))[:60], exp, want_exp, enc,
                            self.encoding.get(k)))
        return bad


@unittest.skipIf(REDIS_SERVER is None, "redis-server is not installed: interop test skipped")
class ReshardInteropTest(unittest.TestCase):
    def setUp(self):
        self.s, self.r = rl.two_masters("shardnode", "redis")
        self.ids = {self.s.port: rl.node_id(self.s), self.r.port: rl.node_id(self.r)}

    def tearDown(self):
        self.s.cleanup()
        self.r.cleanup()

    def setslot(self, node, *args):
        self.assertEqual(rl.call(node.port, "CLUSTER", "SETSLOT", SLOT, *args), "OK")

    def migrate_slot_by_hand(self, src, dst, exp, keys):
        """Moves SLOT from src to dst with MIGRATE in each of its forms."""
        self.setslot(dst, "IMPORTING", self.ids[src.port])
        self.setslot(src, "MIGRATING", self.ids[dst.port])
        c = Client(src.port, timeout=30)
        p = str(dst.port)
        first, rest = keys[0], keys[1:]
        half = len(rest) // 2
        self.assertEqual(c.call("MIGRATE", "127.0.0.1", p, first, "0", "5000"), "OK")
        nokey = "{" + first.split("}")[0][1:] + "}nokey"
        self.assertEqual(c.call("MIGRATE", "127.0.0.1", p, nokey, "0", "5000"), "NOKEY")
        self.assertEqual(c.call("MIGRATE", "127.0.0.1", p, "", "0", "5000", "KEYS",
                                *rest[:half]), "OK")
        # COPY: the key stays on the source and is served there.
        copied = rest[half]
        self.assertEqual(c.call("MIGRATE", "127.0.0.1", p, "", "0", "5000", "COPY", "KEYS",
                                copied), "OK")
        self.assertEqual(c.call("EXISTS", copied), 1)
        self.assertEqual(exp.mismatches(dst.port, [copied], asking=True), [])
        # Without REPLACE the target refuses an existing key; the source
        # keeps it. With REPLACE it is overwritten and leaves the source.
        busy = c.call("MIGRATE", "127.0.0.1", p, copied, "0", "5000")
        self.assertIsInstance(busy, Error)
        self.assertEqual(busy, "ERR Target instance replied with error: "
                               "BUSYKEY Target key name already exists.")
        self.assertEqual(c.call("EXISTS", copied), 1)
        self.assertEqual(c.call("MIGRATE", "127.0.0.1", p, "", "0", "5000", "REPLACE", "KEYS",
                                *rest[half:]), "OK")
        self.assertEqual(c.call("CLUSTER", "COUNTKEYSINSLOT", SLOT), 0)
        self.assertEqual(c.call("EXISTS", copied), f"ASK {SLOT} 127.0.0.1:{dst.port}")
        c.close()
        self.setslot(dst, "NODE", self.ids[dst.port])
        self.setslot(src, "NODE", self.ids[dst.port])
        rl.wait_check_ok(self.s.port)

    def test_migrate_by_hand_both_ways(self):
        tag = rl.tag_for_slot(SLOT)
        exp = Expected()
        data = typed_values(tag)
        exp.write(self.s.port, data, with_encoding=True)
        keys = sorted(data)
        self.migrate_slot_by_hand(self.s, self.r, exp, keys)
        self.assertEqual(exp.mismatches(self.r.port, keys), [])
        self.assertEqual(rl.call(self.s.port, "GET", keys[0]), f"MOVED {SLOT} 127.0.0.1:{self.r.port}")
        self.migrate_slot_by_hand(self.r, self.s, exp, keys)
        self.assertEqual(exp.mismatches(self.s.port, keys), [])
        self.assertEqual(rl.call(self.r.port, "GET", keys[0]), f"MOVED {SLOT} 127.0.0.1:{self.s.port}")

    def test_redis_cli_reshard_both_ways(self):
        exp = Expected()
        per_slot = rl.keys_in_slots("key:", range(RESHARD_SLOTS), 10)
        data = {}
        n = 0
        for slot in sorted(per_slot):
            for k in per_slot[slot]:
                n += 1
                if n % 50 == 0:
                    data[k] = ("hash", {f"f{i}": f"v{n}-{i}" for i in range(200 if n % 100 == 0
                                                                         else 4)}, None)
                elif n % 50 == 1:
                    data[k] = ("list", [f"e{n}-{i}" for i in range(300)], None)
                elif n % 50 == 2:
                    data[k] = ("zset", {f"m{i}": float(i) for i in range(150)}, 600_000)
                elif n % 50 == 3:
                    data[k] = ("set", {str(i) for i in range(n % 700)} | {"s"}, None)
                elif n % 7 == 0:
                    data[k] = ("string", f"value-{n}-" + "z" * (n % 300), 500_000 + n)
                else:
                    data[k] = ("string", f"value-{n}", None)
        # Keys in slots that stay put, on both nodes.
        for k in ("stay:a", "stay:b", "stay:c", "stay:d"):
            data[k] = ("string", k, None)
        owners = rl.slot_owners(self.s.port)
        for port in (self.s.port, self.r.port):
            exp.write(port, {k: v for k, v in data.items() if owners[rl.key_slot(k)] == port})
        keys = sorted(data)
        self.assertEqual(exp.mismatches(self.s.port, [k for k in keys
                                                      if owners[rl.key_slot(k)] == self.s.port]),
                         [])

        blocked_key = rl.tag_for_slot(7) + "blocked"
        # There with redis-cli's defaults (pipeline 10), back with other
        # options.
        for src, dst, opts in ((self.s, self.r, []),
                               (self.r, self.s, ["--cluster-pipeline", "37", "--cluster-replace",
                                                 "--cluster-timeout", "20000"])):
            # A client blocked on a key of a slot that moves: the source
            # unblocks it with MOVED once the slot is given away.
            blocked = Client(src.port, timeout=20)
            blocked.send("BLPOP", blocked_key, "0")
            rl.wait_until(lambda: "blocked_clients:1" in rl.call(src.port, "INFO",
                                                                 "clients").decode(),
                          timeout=10, what="BLPOP blocked")
            t0 = time.monotonic()
            out = rl.reshard(src, dst, RESHARD_SLOTS, extra=opts)
            self.assertEqual(out.returncode, 0, out.stdout[-3000:] + out.stderr[-3000:])
            self.assertNotIn("ERR", out.stdout)
            rl.wait_check_ok(self.s.port)
            rl.wait_check_ok(self.r.port)
            owners = rl.slot_owners(self.s.port)
            self.assertEqual(owners, rl.slot_owners(self.r.port))
            for slot in range(RESHARD_SLOTS):
                self.assertEqual(owners[slot], dst.port, slot)
            for port in (self.s.port, self.r.port):
                mine = [k for k in keys if owners[rl.key_slot(k)] == port]
                self.assertEqual(exp.mismatches(port, mine), [], f"keys on {port}")
            self.assertEqual(rl.call(src.port, "DBSIZE") + rl.call(dst.port, "DBSIZE"), len(keys))
            self.assertEqual(blocked.read(), f"MOVED 7 127.0.0.1:{dst.port}")
            blocked.close()
            print(f"reshard {src.port}->{dst.port}: {time.monotonic() - t0:.1f} s",
                  file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
