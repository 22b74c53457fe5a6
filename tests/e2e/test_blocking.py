"""Blocking commands (BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP BZPOPMIN BZPOPMAX
BZMPOP) end to end.

BlockingDiffTest runs each scenario, on several connections, against
shardnode and redis-server 7.0.15 and compares every reply, in every mode of
harness.DIFF_MODES (standalone, 4 shard threads, one-node cluster with 4
shard threads; in cluster mode every key gets the hash tag {t}, so that a
scenario's keys share a slot, and scenarios that SELECT are left out). A step either
calls a command and reads its reply, only sends it (a command that blocks),
reads a reply sent later, or waits until the server reports a number of
blocked clients (so that "who blocked first" is the same on both servers).

BlockedClusterTest checks spec 12.6 on shardnode: a client blocked on a key
whose slot moves to another node gets -MOVED, one whose slot is unassigned
gets -CLUSTERDOWN Hash slot not served, and one whose cluster goes down gets
-CLUSTERDOWN The cluster is down.
"""
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (DIFF_MODES, REDIS_SERVER, Client, Error, Node, free_port,  # noqa: E402
                     start_diff_pair, tag_keys, wait_until)
ADMIN = 9  # the connection that polls INFO and never blocks


def S(conn, *cmd):
    """Send only: the command blocks, its reply is read by R later."""
    return ("send", conn) + cmd


def R(conn):
    return ("read", conn)


def B(n):
    """Wait until the server has n blocked clients."""
    return ("blocked", n)


def U(target, *reason):
    """CLIENT UNBLOCK <id of connection target> [reason], from ADMIN."""
    return ("unblock", target) + reason


SCENARIOS = {
    "blpop_served_by_push": [
        S(0, "BLPOP", "k1", "k2", "0"), B(1), (1, "RPUSH", "k2", "a", "b"), R(0),
        (1, "LRANGE", "k2", "0", "-1"), B(0)],
    "brpop_served_at_once": [
        (1, "RPUSH", "k", "a", "b", "c"), (0, "BRPOP", "none", "k", "0"),
        (0, "BLPOP", "k", "0"), (0, "LRANGE", "k", "0", "-1")],
    "fifo_three_clients": [
        S(0, "BLPOP", "k", "0"), B(1), S(1, "BLPOP", "k", "0"), B(2),
        S(2, "BRPOP", "k", "0"), B(3), (3, "RPUSH", "k", "1", "2"), R(0), R(1), B(1),
        (3, "LLEN", "k"), (3, "LPUSH", "k", "3"), R(2), B(0), (3, "EXISTS", "k")],
    "fifo_order_not_connection_order": [
        S(2, "BLPOP", "k", "0"), B(1), S(0, "BLPOP", "k", "0"), B(2),
        (3, "RPUSH", "k", "first", "second"), R(2), R(0)],
    "timeouts_reply_null": [
        (0, "BLPOP", "k", "0.1"), (0, "BRPOP", "k", "0.05"), (0, "BLMOVE", "k", "d", "LEFT",
                                                              "RIGHT", "0.1"),
        (0, "BRPOPLPUSH", "k", "d", "0.1"), (0, "BLMPOP", "0.1", "1", "k", "LEFT"),
        (0, "BZPOPMIN", "k", "0.1"), (0, "BZPOPMAX", "k", "0.1"),
        (0, "BZMPOP", "0.1", "1", "k", "MIN"), (0, "EXISTS", "k", "d")],
    "timeout_errors": [
        (0, "BLPOP", "k", "-1"), (0, "BLPOP", "k", "abc"), (0, "BLPOP", "k", " 1"),
        (0, "BLPOP", "k", "nan"), (0, "BLPOP", "k", "inf"), (0, "BRPOPLPUSH", "k", "d", "-1"),
        (0, "BLMOVE", "k", "d", "UP", "LEFT", "-1"), (0, "BLMOVE", "k", "d", "LEFT", "LEFT", "x"),
        (0, "BZPOPMIN", "k", "x"), (0, "BLMPOP", "x", "1", "k", "LEFT"),
        (0, "BZMPOP", "-2", "1", "k", "MAX")],
    "mpop_argument_errors": [
        (0, "BLMPOP", "0", "0", "k", "LEFT"), (0, "BLMPOP", "0", "2", "k", "LEFT"),
        (0, "BLMPOP", "0", "1", "k", "UP"), (0, "BLMPOP", "0", "1", "k", "LEFT", "COUNT", "0"),
        (0, "BLMPOP", "0", "1", "k", "LEFT", "COUNT", "1", "COUNT", "1"),
        (0, "BZMPOP", "0", "1", "k", "LEFT"), (0, "BZMPOP", "0", "1", "k", "MIN", "COUNT", "-1"),
        (0, "BLPOP", "k"), (0, "BZMPOP", "0", "1", "k"), (0, "BLMOVE", "a", "b", "LEFT", "0")],
    "inside_multi_does_not_block": [
        (0, "MULTI"), (0, "BLPOP", "k", "0"), (0, "BRPOPLPUSH", "k", "d", "0"),
        (0, "BLMOVE", "k", "d", "LEFT", "LEFT", "0"), (0, "BLMPOP", "0", "1", "k", "RIGHT"),
        (0, "BZPOPMIN", "k", "0"), (0, "BZMPOP", "0", "1", "k", "MAX"), (0, "EXEC"),
        (0, "RPUSH", "k", "v"), (0, "MULTI"), (0, "BLPOP", "k", "0"), (0, "EXEC")],
    "wrongtype_at_call": [
        (1, "SET", "s", "x"), (0, "BLPOP", "none", "s", "0"), (0, "BZPOPMIN", "s", "0"),
        (0, "BLMOVE", "s", "d", "LEFT", "LEFT", "0"), (0, "BLMPOP", "0", "1", "s", "LEFT"),
        (1, "RPUSH", "l", "v"), (0, "BZMPOP", "0", "2", "none", "l", "MIN")],
    "wrong_type_created_later_does_not_wake": [
        S(0, "BLPOP", "k", "0"), B(1), (1, "SET", "k", "str"), (1, "DEL", "k"),
        (1, "ZADD", "k", "1", "m"), ("sleep", 150), B(1), (1, "DEL", "k"),
        (1, "RPUSH", "k", "v"), R(0), B(0)],
    "zset_client_ignores_list": [
        S(0, "BZPOPMIN", "k", "0"), B(1), (1, "RPUSH", "k", "v"), ("sleep", 100), B(1),
        (1, "DEL", "k"), (1, "ZADD", "k", "2", "b", "1", "a"), R(0), (1, "ZRANGE", "k", "0",
                                                                      "-1")],
    "del_and_flushall_do_not_wake": [
        S(0, "BLPOP", "k", "0"), B(1), (1, "DEL", "k"), (1, "FLUSHALL"), (1, "FLUSHDB"),
        ("sleep", 100), B(1), (1, "LPUSH", "k", "v"), R(0)],
    "push_inside_exec_serves_after": [
        S(0, "BLPOP", "a", "b", "0"), B(1), (1, "MULTI"), (1, "RPUSH", "b", "1"),
        (1, "RPUSH", "a", "2"), (1, "LPOP", "b"), (1, "RPUSH", "b", "3"), (1, "EXEC"), R(0),
        (1, "LRANGE", "a", "0", "-1"), (1, "LRANGE", "b", "0", "-1")],
    "push_then_pop_in_exec_serves_nothing": [
        S(0, "BLPOP", "k", "0"), B(1), (1, "MULTI"), (1, "RPUSH", "k", "1"), (1, "LPOP", "k"),
        (1, "EXEC"), B(1), (1, "RPUSH", "k", "2"), R(0)],
    "blmove_chain": [
        S(0, "BLMOVE", "a", "b", "LEFT", "RIGHT", "0"), B(1),
        S(1, "BLMOVE", "b", "c", "RIGHT", "LEFT", "0"), B(2), S(2, "BRPOPLPUSH", "c", "d", "0"),
        B(3), (3, "LPUSH", "a", "x"), R(0), R(1), R(2), (3, "LRANGE", "d", "0", "-1"),
        (3, "EXISTS", "a", "b", "c")],
    "blmove_same_key": [
        S(0, "BLMOVE", "r", "r", "LEFT", "RIGHT", "0"), B(1), (1, "RPUSH", "r", "1", "2"), R(0),
        (1, "LRANGE", "r", "0", "-1")],
    "blmove_destination_wrong_type": [
        (1, "SET", "dst", "v"), S(0, "BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"), B(1),
        S(2, "BLPOP", "src", "0"), B(2), (1, "RPUSH", "src", "x"), R(0), R(2),
        (1, "EXISTS", "src")],
    "blmove_served_at_once": [
        (1, "RPUSH", "src", "1", "2", "3"), (0, "BLMOVE", "src", "dst", "RIGHT", "LEFT", "0"),
        (0, "BRPOPLPUSH", "src", "dst", "0"), (0, "LRANGE", "dst", "0", "-1")],
    "blmpop_counts": [
        S(0, "BLMPOP", "0", "2", "a", "b", "RIGHT", "COUNT", "3"), B(1),
        S(1, "BLMPOP", "0", "1", "b", "LEFT"), B(2), (2, "RPUSH", "b", "1", "2", "3", "4"),
        R(0), R(1), (2, "RPUSH", "a", "x", "y"), (2, "BLMPOP", "0", "2", "a", "b", "LEFT",
                                                  "COUNT", "10")],
    "sorted_sets": [
        S(0, "BZPOPMIN", "z1", "z2", "0"), B(1), S(1, "BZMPOP", "0", "2", "z0", "z2", "MAX",
                                                   "COUNT", "2"), B(2),
        S(2, "BZPOPMAX", "z2", "0"), B(3), (3, "ZADD", "z2", "1", "a", "2.5", "b", "3", "c"),
        R(0), R(1), B(1), (3, "ZADD", "z2", "-1", "neg"), R(2), (3, "EXISTS", "z2"),
        (3, "ZADD", "z1", "5", "x", "6", "y"), (3, "BZPOPMAX", "z1", "0"),
        (3, "BZMPOP", "0", "1", "z1", "MIN", "COUNT", "9"), (3, "EXISTS", "z1")],
    "pipelined_commands_wait_for_the_blocked_one": [
        ("pipeline", 0, ("BLPOP", "k", "0"), ("SET", "after", "1"), ("INCR", "after")), B(1),
        (1, "GET", "after"), (1, "RPUSH", "k", "v"), R(0), R(0), R(0), (1, "GET", "after")],
    "client_unblock": [
        S(0, "BLPOP", "k", "0"), B(1), U(0), R(0), S(0, "BZPOPMIN", "k", "0"), B(1),
        U(0, "TIMEOUT"), R(0), S(0, "BLMOVE", "k", "d", "LEFT", "LEFT", "0"), B(1),
        U(0, "ERROR"), R(0), U(0), U(0, "BAD"), (0, "PING")],
    "debug_sleep_keeps_the_wait": [
        S(0, "BLPOP", "k", "0"), B(1), (1, "DEBUG", "SLEEP", "0.2"), B(1),
        (1, "RPUSH", "k", "v"), R(0)],
    "other_database": [
        (0, "SELECT", "3"), S(0, "BLPOP", "k", "0"), B(1), (1, "RPUSH", "k", "db0"),
        ("sleep", 100), B(1), (1, "SELECT", "3"), (1, "RPUSH", "k", "db3"), R(0),
        (1, "SELECT", "0"), (1, "LLEN", "k")],
    "disconnect_cleans_up": [
        S(0, "BLPOP", "k", "0"), B(1), ("close", 0), B(0), (1, "RPUSH", "k", "v"),
        (1, "LLEN", "k")],
    "timeout_then_more_commands": [
        ("pipeline", 0, ("BLPOP", "k", "0.1"), ("PING",)), R(0), R(0), (1, "LLEN", "k")],
}


def blocked_clients(conn):
    text = conn.call("INFO", "clients").decode()
    for line in text.split("\r\n"):
        if line.startswith("blocked_clients:"):
            return int(line.split(":")[1])
    raise AssertionError("no blocked_clients in INFO")


def encode(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def run(port, steps):
    conns = {i: Client(port) for i in list(range(5)) + [ADMIN]}
    ids = {i: c.call("CLIENT", "ID") for i, c in conns.items()}
    conns[ADMIN].call("FLUSHALL")
    replies = []
    try:
        for step in steps:
            kind = step[0]
            if kind == "send":
                conns[step[1]].send(*step[2:])
            elif kind == "pipeline":
                conns[step[1]].sock.sendall(b"".join(encode(*cmd) for cmd in step[2:]))
            elif kind == "read":
                replies.append(conns[step[1]].read())
            elif kind == "blocked":
                wait_until(lambda: blocked_clients(conns[ADMIN]) == step[1], timeout=5,
                           what=f"{step[1]} blocked clients")
            elif kind == "unblock":
                replies.append(conns[ADMIN].call("CLIENT", "UNBLOCK", ids[step[1]], *step[2:]))
            elif kind == "sleep":
                time.sleep(step[1] / 1000)
            elif kind == "close":
                conns.pop(step[1]).close()
            else:
                replies.append(conns[kind].call(*step[1:]))
    finally:
        for c in conns.values():
            c.close()
    return replies


@unittest.skipIf(REDIS_SERVER is None, "redis-server is not installed: no reference to compare with")
class BlockingDiffTest(unittest.TestCase):
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
            if any(isinstance(s[0], int) and s[1] == "SELECT" for s in steps):
                continue
            out[name] = tag_scenario(self.redis_port, steps)
        return out

    def test_scenarios_match_redis(self):
        for name, steps in self.scenarios().items():
            with self.subTest(scenario=name):
                ours = run(self.node.port, steps)
                theirs = run(self.redis_port, steps)
                self.assertEqual(ours, theirs)

    def test_blocked_client_flags_and_info(self):
        a, b = Client(self.node.port), Client(self.node.port)
        try:
            a_id = a.call("CLIENT", "ID")
            a.send("BZPOPMIN", "zk", "30")
            wait_until(lambda: blocked_clients(b) == 1, timeout=5, what="one blocked client")
            info = b.call("INFO", "clients").decode()
            self.assertIn("clients_in_timeout_table:1\r\n", info)
            line = [x for x in b.call("CLIENT", "LIST").decode().splitlines()
                    if x.startswith(f"id={a_id} ")][0]
            self.assertIn(" flags=b ", line)
            self.assertIn(" cmd=bzpopmin ", line)
            self.assertEqual(b.call("CLIENT", "UNBLOCK", a_id), 1)
            self.assertIsNone(a.read())
            self.assertIn("clients_in_timeout_table:0\r\n", b.call("INFO", "clients").decode())
        finally:
            a.close()
            b.close()

    def test_quit_after_a_blocked_command_closes_once_served(self):
        def bytes_until_close(port):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(b"BLPOP qk 0\r\nQUIT\r\nPING\r\n")
                admin = Client(port)
                wait_until(lambda: blocked_clients(admin) == 1, timeout=5, what="blocked")
                admin.call("RPUSH", "qk", "v")
                admin.close()
                data = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        return data
                    data += chunk

        ours = bytes_until_close(self.node.port)
        self.assertEqual(ours, b"*2\r\n$2\r\nqk\r\n$1\r\nv\r\n+OK\r\n")
        self.assertEqual(ours, bytes_until_close(self.redis_port))

    def test_role_change_unblocks_with_an_error_then_closes(self):
        """A primary turned replica answers its blocked clients Redis's
        UNBLOCKED error and closes them once that reply is written (the
        reply waits for the end of the loop's pass, the close for it)."""
        if self.CLUSTER:
            self.skipTest("REPLICAOF is refused in cluster mode")
        nowhere = free_port()  # nothing listens: the link stays down

        def bytes_until_close(port):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(b"BLPOP rk 0\r\n")
                admin = Client(port)
                try:
                    wait_until(lambda: blocked_clients(admin) == 1, timeout=5, what="blocked")
                    self.assertEqual(admin.call("REPLICAOF", "127.0.0.1", str(nowhere)), "OK")
                    data = b""
                    while True:
                        chunk = s.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    self.assertEqual(admin.call("REPLICAOF", "NO", "ONE"), "OK")
                    return data
                finally:
                    admin.close()

        ours = bytes_until_close(self.node.port)
        self.assertTrue(ours.startswith(b"-UNBLOCKED force unblock"), ours)
        self.assertEqual(ours, bytes_until_close(self.redis_port))

    def test_timeout_is_timely(self):
        c = Client(self.node.port)
        try:
            start = time.monotonic()
            self.assertIsNone(c.call("BLPOP", "k", "0.3"))
            elapsed = time.monotonic() - start
            self.assertGreaterEqual(elapsed, 0.29)
            self.assertLess(elapsed, 1.0)
        finally:
            c.close()


def tag_scenario(port, steps):
    """The scenario with the hash tag {t} on every key of every command."""
    out = []
    for step in steps:
        if step[0] in ("send", "pipeline"):
            head = step[:2]
            cmds = step[2:] if step[0] == "pipeline" else [step[2:]]
            tagged = [tuple(tag_keys(port, list(c))) for c in cmds]
            out.append(head + (tuple(tagged) if step[0] == "pipeline" else tagged[0]))
        elif isinstance(step[0], int):
            out.append((step[0],) + tuple(tag_keys(port, list(step[1:]))))
        else:
            out.append(step)
    return out


# One subclass per sharded mode of DIFF_MODES (the base class is standalone).
for _name, _threads, _cluster in DIFF_MODES:
    if _threads == 1 and not _cluster:
        continue
    globals()["BlockingDiff_" + _name] = type("BlockingDiff_" + _name, (BlockingDiffTest,),
                                              {"THREADS": _threads, "CLUSTER": _cluster})


class BlockedClusterTest(unittest.TestCase):
    def setUp(self):
        # Full coverage is off at first, so that one unassigned slot leaves
        # the cluster up; the test turns it on to bring the cluster down.
        args = ["--cluster-node-timeout", "2000", "--cluster-require-full-coverage", "no"]
        self.a = Node(cluster=True, args=args).start()
        self.b = Node(cluster=True, args=args).start()
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        self.a.cleanup()
        self.b.cleanup()

    def client(self, node):
        c = Client(node.port)
        self.clients.append(c)
        return c

    def slot_of(self, key):
        return self.client(self.a).call("CLUSTER", "KEYSLOT", key)

    def test_blocked_clients_are_redirected(self):
        admin = self.client(self.a)
        self.assertEqual(admin.call("CLUSTER", "ADDSLOTSRANGE", "0", "16383"), "OK")
        self.assertEqual(admin.call("CLUSTER", "MEET", "127.0.0.1", str(self.b.port)), "OK")
        b_id = self.client(self.b).call("CLUSTER", "MYID").decode()
        wait_until(lambda: admin.call("CLUSTER", "INFO").decode().find("cluster_state:ok") >= 0
                   and b_id.encode() in admin.call("CLUSTER", "NODES"), timeout=15,
                   what="two-node cluster ok")

        # The slot moves to B: MOVED to B's address.
        moved = self.client(self.a)
        moved.send("BLPOP", "{m}k", "0")
        # A client on a slot that stays keeps waiting, and is served later.
        stays = self.client(self.a)
        stays.send("BZPOPMIN", "{s}k", "0")
        wait_until(lambda: blocked_clients(admin) == 2, timeout=5, what="two blocked clients")
        slot = self.slot_of("{m}k")
        self.assertEqual(admin.call("CLUSTER", "SETSLOT", slot, "NODE", b_id), "OK")
        self.assertEqual(moved.read(), Error(f"MOVED {slot} 127.0.0.1:{self.b.port}"))
        self.assertEqual(moved.call("PING"), "PONG")  # the connection goes on
        self.assertEqual(blocked_clients(admin), 1)

        # The slot is unassigned while the cluster stays up.
        unbound = self.client(self.a)
        unbound.send("BRPOPLPUSH", "{u}src", "{u}dst", "0")
        wait_until(lambda: blocked_clients(admin) == 2, timeout=5, what="two blocked clients")
        self.assertEqual(admin.call("CLUSTER", "DELSLOTS", self.slot_of("{u}src")), "OK")
        self.assertEqual(unbound.read(), Error("CLUSTERDOWN Hash slot not served"))

        # The cluster goes down (full coverage required, a slot is missing).
        self.assertEqual(admin.call("ZADD", "{s}k", "1", "m"), 1)
        self.assertEqual(stays.read(), [b"{s}k", b"m", b"1"])
        down = self.client(self.a)
        down.send("BLMPOP", "0", "1", "{s}k", "LEFT")
        wait_until(lambda: blocked_clients(admin) == 1, timeout=5, what="one blocked client")
        self.assertEqual(admin.call("CONFIG", "SET", "cluster-require-full-coverage", "yes"), "OK")
        start = time.monotonic()
        # One more unassigned slot makes the node re-evaluate its state.
        self.assertEqual(admin.call("CLUSTER", "DELSLOTS", self.slot_of("{d}x")), "OK")
        self.assertEqual(down.read(), Error("CLUSTERDOWN The cluster is down"))
        self.assertLess(time.monotonic() - start, 3)
        self.assertEqual(blocked_clients(admin), 0)

    def test_blocked_stream_readers_are_redirected(self):
        """XREAD blocked on a key whose slot moves gets MOVED and XREADGROUP
        on a slot that becomes unassigned CLUSTERDOWN, as the blocking pops
        do; a reader on a slot that stays is served."""
        admin = self.client(self.a)
        self.assertEqual(admin.call("CLUSTER", "ADDSLOTSRANGE", "0", "16383"), "OK")
        self.assertEqual(admin.call("CLUSTER", "MEET", "127.0.0.1", str(self.b.port)), "OK")
        b_id = self.client(self.b).call("CLUSTER", "MYID").decode()
        wait_until(lambda: admin.call("CLUSTER", "INFO").decode().find("cluster_state:ok") >= 0
                   and b_id.encode() in admin.call("CLUSTER", "NODES"), timeout=15,
                   what="two-node cluster ok")
        self.assertEqual(admin.call("XGROUP", "CREATE", "{u}x", "g", "$", "MKSTREAM"), "OK")
        reader = self.client(self.a)
        reader.send("XREAD", "BLOCK", "0", "STREAMS", "{m}x", "$")
        group_reader = self.client(self.a)
        group_reader.send("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "{u}x", ">")
        stays = self.client(self.a)
        stays.send("XREAD", "BLOCK", "0", "STREAMS", "{s}y", "$")
        wait_until(lambda: blocked_clients(admin) == 3, timeout=5, what="three blocked clients")
        slot = self.slot_of("{m}x")
        self.assertEqual(admin.call("CLUSTER", "SETSLOT", slot, "NODE", b_id), "OK")
        self.assertEqual(reader.read(), Error(f"MOVED {slot} 127.0.0.1:{self.b.port}"))
        self.assertEqual(admin.call("CLUSTER", "DELSLOTS", self.slot_of("{u}x")), "OK")
        self.assertEqual(group_reader.read(), Error("CLUSTERDOWN Hash slot not served"))
        self.assertEqual(blocked_clients(admin), 1)
        self.assertEqual(admin.call("XADD", "{s}y", "5-1", "f", "v"), b"5-1")
        self.assertEqual(stays.read(), [[b"{s}y", [[b"5-1", [b"f", b"v"]]]]])

if __name__ == "__main__":
    unittest.main(verbosity=2)
