"""Client-side caching (CLIENT TRACKING), compared byte for byte with
redis-server 7.0.15: each scenario runs the same steps on several
connections against both servers, in every mode of harness.DIFF_MODES
(every key carries the hash tag {t}, so the cluster mode routes them all to
one slot). After each step every connection is synchronized with a
`PING sync` and all it received until that PING's reply is compared: the
step's reply, RESP3 `invalidate` pushes, RESP2 messages on
__redis__:invalidate (REDIRECT), tracking-redir-broken. Client ids differ
between the servers: a step refers to connection n's id as "@n", and ids in
the received bytes are replaced by "@n" before the comparison.

Skipped (with a message) only when redis-server is missing."""
import os
import re
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (DIFF_MODES, REDIS_SERVER, Client, resp_command,  # noqa: E402
                     start_diff_pair, wait_until)


class RawConn:
    """One connection that returns whole RESP2/RESP3 messages as raw bytes."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.closed = False

    def send(self, *args):
        self.sock.sendall(resp_command(*args))

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("closed")
        self.buf += data

    def _end_of(self, pos):
        """The end offset of the message starting at `pos`, or None."""
        eol = self.buf.find(b"\r\n", pos)
        if eol < 0:
            return None
        t, head = self.buf[pos:pos + 1], self.buf[pos + 1:eol]
        end = eol + 2
        if t in (b"$", b"=", b"!"):
            n = int(head)
            if n < 0:
                return end
            return end + n + 2 if len(self.buf) >= end + n + 2 else None
        if t in (b"*", b">", b"~", b"%", b"|"):
            n = int(head)
            if n < 0:
                return end
            if t in (b"%", b"|"):
                n *= 2
            for _ in range(n):
                end = self._end_of(end)
                if end is None:
                    return None
            return end
        return end  # + - : _ , # (

    def read_raw(self):
        while True:
            end = self._end_of(0) if self.buf else None
            if end is not None:
                msg, self.buf = self.buf[:end], self.buf[end:]
                return msg
            self._fill()

    def close(self):
        self.sock.close()
        self.closed = True


SYNC_REPLIES = (b"$4\r\nsync\r\n", b"*2\r\n$4\r\npong\r\n$4\r\nsync\r\n",
                b">2\r\n$4\r\npong\r\n$4\r\nsync\r\n")

# Each scenario: steps (connection, command...). Special steps:
#   ("quit", n): QUIT on n, then wait until the server forgot the client;
#   ("await", n): wait (bounded) for one more message on n (active expiry);
#   ("sleep", ms): let time pass (a TTL expire), not a synchronization.
# Connection 9 is the RESP2 redirect target subscribed to
# __redis__:invalidate in most scenarios.
REDIR = [(9, "SUBSCRIBE", "__redis__:invalidate")]
SCENARIOS = {
    "resp2_redirect_basic": REDIR + [
        (0, "CLIENT", "TRACKING", "on", "REDIRECT", "@9"),
        (1, "SET", "a{t}", "1"), (1, "SET", "b{t}", "1"), (0, "GET", "a{t}"),
        (1, "INCR", "b{t}"), (1, "INCR", "a{t}"), (1, "INCR", "a{t}"),
        (0, "CLIENT", "GETREDIR"), (0, "CLIENT", "TRACKINGINFO"), (0, "CLIENT", "TRACKING", "off"),
        (0, "CLIENT", "GETREDIR"), (0, "CLIENT", "TRACKINGINFO")],
    "resp3_push_basic": [
        (0, "HELLO", "3"), (0, "CLIENT", "TRACKING", "on"), (1, "SET", "k{t}", "1"),
        (0, "GET", "k{t}"), (1, "SET", "k{t}", "2"), (0, "MGET", "k{t}", "x{t}", "y{t}"),
        (1, "DEL", "x{t}", "k{t}"), (1, "SET", "y{t}", "1"), (0, "GET", "y{t}"),
        (0, "SET", "y{t}", "self"), (0, "CLIENT", "TRACKINGINFO")],
    "resp3_self_invalidation_after_reply": [
        (0, "HELLO", "3"), (0, "CLIENT", "TRACKING", "on"), (0, "HSET", "h{t}", "f", "1"),
        (0, "HGET", "h{t}", "f"), (0, "HDEL", "h{t}", "f"), (0, "MSET", "a{t}", "1", "b{t}", "2"),
        (0, "GET", "a{t}"), (0, "MULTI"), (0, "INCR", "a{t}"), (0, "GET", "b{t}"), (0, "EXEC"),
        (0, "SET", "c{t}", "1"), (0, "GET", "c{t}"), (0, "MULTI"), (0, "FLUSHDB"), (0, "EXEC")],
    "bcast_prefixes": REDIR + [
        (0, "CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", "@9"),
        (1, "MSET", "a{t}", "1", "b{t}", "2", "c{t}", "3"), (0, "CLIENT", "TRACKING", "off"),
        (0, "CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", "@9", "PREFIX", "a:", "PREFIX", "b:"),
        (0, "MULTI"), (0, "INCR", "a:1{t}"), (0, "INCR", "a:2{t}"), (0, "INCR", "b:1{t}"),
        (0, "INCR", "b:2{t}"), (0, "INCR", "c:1{t}"), (0, "EXEC"),
        (0, "CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", "@9", "PREFIX", "c:"),
        (1, "INCR", "c:1234{t}"), (0, "CLIENT", "TRACKINGINFO"), (0, "CLIENT", "LIST", "ID", "@0")],
    "bcast_resp3_noloop": [
        (0, "HELLO", "3"), (0, "CLIENT", "TRACKING", "on", "BCAST", "NOLOOP"),
        (1, "SET", "other1{t}", "1"), (0, "SET", "loop{t}", "1"), (1, "SET", "other2{t}", "1"),
        (0, "MSET", "loop{t}", "2", "other1{t}", "3")],
    "noloop_default_mode": REDIR + [
        (0, "CLIENT", "TRACKING", "on", "REDIRECT", "@9", "NOLOOP"),
        (0, "MGET", "o1{t}", "loop{t}", "o2{t}"), (1, "SET", "o1{t}", "1"),
        (0, "SET", "loop{t}", "1"), (1, "SET", "o2{t}", "1"), (1, "SET", "loop{t}", "2")],
    "optin_optout": REDIR + [
        (0, "CLIENT", "TRACKING", "on", "OPTIN", "REDIRECT", "@9"), (1, "SET", "k1{t}", "1"),
        (0, "GET", "k1{t}"), (1, "SET", "k1{t}", "2"), (0, "CLIENT", "CACHING", "yes"),
        (0, "CLIENT", "TRACKINGINFO"), (0, "GET", "k1{t}"), (1, "SET", "k1{t}", "3"),
        (0, "CLIENT", "CACHING", "yes"), (0, "PING"), (0, "GET", "k1{t}"),
        (1, "SET", "k1{t}", "4"), (0, "CLIENT", "CACHING", "no"),
        (0, "CLIENT", "TRACKING", "on", "OPTOUT"), (0, "CLIENT", "TRACKING", "off"),
        (0, "CLIENT", "TRACKING", "on", "OPTOUT", "REDIRECT", "@9"), (0, "GET", "k2{t}"),
        (1, "SET", "k2{t}", "1"), (0, "CLIENT", "CACHING", "no"), (0, "GET", "k2{t}"),
        (1, "SET", "k2{t}", "2"), (0, "CLIENT", "CACHING", "yes"), (0, "CLIENT", "TRACKINGINFO")],
    "argument_errors": [
        (0, "CLIENT", "TRACKING", "maybe"), (0, "CLIENT", "TRACKING", "on", "REDIRECT"),
        (0, "CLIENT", "TRACKING", "on", "REDIRECT", "x"),
        (0, "CLIENT", "TRACKING", "on", "REDIRECT", "999999"),
        (0, "CLIENT", "TRACKING", "on", "REDIRECT", "@1", "REDIRECT", "@1"),
        (0, "CLIENT", "TRACKING", "on", "PREFIX", "a"),
        (0, "CLIENT", "TRACKING", "on", "BCAST", "OPTIN"),
        (0, "CLIENT", "TRACKING", "on", "OPTIN", "OPTOUT"),
        (0, "CLIENT", "TRACKING", "on", "BOGUS"), (0, "CLIENT", "CACHING", "yes"),
        (0, "CLIENT", "TRACKING", "on"), (0, "CLIENT", "CACHING", "yes"),
        (0, "CLIENT", "CACHING", "no"), (0, "CLIENT", "CACHING", "maybe"),
        (0, "CLIENT", "TRACKING", "on", "BCAST"), (0, "CLIENT", "TRACKING", "on", "OPTIN"),
        (0, "CLIENT", "TRACKING", "off"), (0, "CLIENT", "TRACKING", "on", "OPTOUT"),
        (0, "CLIENT", "TRACKING", "on", "OPTIN"), (0, "CLIENT", "TRACKING", "off"),
        (0, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "FOOBAR", "PREFIX", "FOO"),
        (0, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "FOO", "PREFIX", "BAR"),
        (0, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "FO"),
        (0, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "BARB"),
        (0, "CLIENT", "TRACKING", "on"), (0, "CLIENT", "TRACKING", "off"),
        (0, "CLIENT", "TRACKING", "on", "BCAST"),
        (0, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "x"), (0, "CLIENT", "TRACKINGINFO"),
        (0, "CLIENT", "TRACKING"), (0, "CLIENT", "GETREDIR", "x"), (0, "CLIENT", "HELP")],
    "flush_null_invalidation": REDIR + [
        (0, "CLIENT", "TRACKING", "on", "REDIRECT", "@9"), (2, "HELLO", "3"),
        (2, "CLIENT", "TRACKING", "on"), (1, "SET", "k{t}", "1"), (0, "GET", "k{t}"),
        (2, "GET", "k{t}"), (1, "FLUSHALL"), (1, "FLUSHDB"), (0, "GET", "k{t}"),
        (1, "FLUSHALL", "ASYNC"), (2, "FLUSHDB")],
    "redirect_broken": [
        (3, "HELLO", "3"), (0, "HELLO", "3"), (0, "CLIENT", "TRACKING", "on", "REDIRECT", "@3"),
        (1, "SET", "k{t}", "1"), (0, "GET", "k{t}"), (1, "SET", "k{t}", "2"),
        (0, "GET", "k{t}"), ("quit", 3), (1, "SET", "k{t}", "3"), (0, "CLIENT", "TRACKINGINFO"),
        (0, "CLIENT", "LIST", "ID", "@0"), (0, "GET", "k{t}"), (1, "SET", "k{t}", "4")],
    "redirect_to_resp3_subscriber": [
        (9, "HELLO", "3"), (9, "SUBSCRIBE", "__redis__:invalidate"),
        (0, "CLIENT", "TRACKING", "on", "REDIRECT", "@9"), (1, "SET", "k{t}", "1"),
        (0, "GET", "k{t}"), (1, "INCR", "k{t}")],
    "redirect_to_unsubscribed_resp2": [
        (0, "CLIENT", "TRACKING", "on", "REDIRECT", "@9"), (1, "SET", "k{t}", "1"),
        (0, "GET", "k{t}"), (1, "INCR", "k{t}"), (0, "HELLO", "3"), (0, "GET", "k{t}"),
        (1, "INCR", "k{t}")],
    "scripts": [
        (0, "HELLO", "3"), (0, "CLIENT", "TRACKING", "on"),
        (0, "EVAL", "redis.call('set', 'key3{t}', 'bar')", "2", "key1{t}", "key2{t}"),
        (1, "MSET", "key2{t}", "2", "key1{t}", "2"),
        (0, "EVAL", "redis.call('get', 'key3{t}')", "2", "key1{t}", "key2{t}"),
        (1, "MSET", "key2{t}", "2", "key1{t}", "2"),
        (0, "EVAL_RO", "redis.call('ping')", "2", "key1{t}", "key2{t}"),
        (1, "MSET", "key2{t}", "2", "key1{t}", "2"),
        (0, "EVAL_RO", "redis.call('get', 'key1{t}')", "2", "key1{t}", "key2{t}"),
        (1, "MSET", "key2{t}", "3", "key1{t}", "3"), (2, "HELLO", "3"),
        (2, "CLIENT", "TRACKING", "on", "NOLOOP"), (2, "GET", "key1{t}"),
        (2, "EVAL", "return redis.call('set', KEYS[1], '2')", "1", "key1{t}"),
        (2, "GET", "key1{t}")],
    "switch_to_bcast_drops_old_keys": [
        (0, "HELLO", "3"), (0, "CLIENT", "TRACKING", "on"), (1, "SET", "k{t}", "1"),
        (0, "GET", "k{t}"), (0, "CLIENT", "TRACKING", "off"),
        (0, "CLIENT", "TRACKING", "on", "BCAST"), (1, "INCR", "k{t}"), ("sleep", 100),
        (0, "PING")],
    "lazy_expiry_bcast_noloop": REDIR + [
        (0, "CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", "@9", "NOLOOP"),
        (0, "DEBUG", "SET-ACTIVE-EXPIRE", "0"), (0, "MULTI"),
        (0, "SET", "mykey{t}", "v", "PX", "1"), (0, "SET", "mykeyother{t}", "v"), (0, "EXEC"),
        (0, "DEBUG", "SLEEP", "0.05"), (0, "GET", "mykey{t}"),
        (0, "DEBUG", "SET-ACTIVE-EXPIRE", "1")],
    "lazy_expiry_resp3": [
        (0, "HELLO", "3"), (0, "CLIENT", "TRACKING", "on"), (0, "DEBUG", "SET-ACTIVE-EXPIRE", "0"),
        (0, "MULTI"), (0, "MSET", "x{t}", "1", "y{t}", "2"), (0, "PEXPIRE", "y{t}", "50"),
        (0, "GET", "y{t}"), (0, "EXEC"), ("sleep", 120), (0, "MGET", "x{t}", "y{t}"),
        (0, "DEBUG", "SET-ACTIVE-EXPIRE", "1")],
    # The key outlives the steps before the await (a key of PX 1 could be
    # expired, and its invalidation read by a step's sync, on a loaded
    # machine: the await then waited for a second one).
    "active_expiry_bcast": REDIR + [
        (0, "CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", "@9", "NOLOOP"),
        (0, "SET", "mykey{t}", "v", "PX", "1000"), (0, "SET", "mykeyother{t}", "v"),
        ("await", 9)],
    "client_reply_off_still_pushes": [
        (0, "HELLO", "3"), (0, "CLIENT", "TRACKING", "on"), (1, "SET", "foo{t}", "bar"),
        (0, "GET", "foo{t}"), ("noreply", 0, "CLIENT", "REPLY", "OFF"),
        (1, "SET", "foo{t}", "bar2"), ("await", 0), (0, "CLIENT", "REPLY", "ON")],
    "tracking_table_max_keys": REDIR + [
        (0, "CLIENT", "TRACKING", "on", "REDIRECT", "@9"), (0, "MGET", "a{t}", "b{t}", "c{t}"),
        (0, "CONFIG", "SET", "tracking-table-max-keys", "3"), (0, "PING"),
        (0, "CONFIG", "SET", "tracking-table-max-keys", "1000000")],
}

# Scenarios whose result Redis leaves to chance (a random key is evicted):
# only the number of messages is compared.
COUNT_ONLY = {"tracking_table_max_keys"}
# BCAST messages leave Redis in its beforeSleep, which a loaded machine
# sometimes reaches after the next step's PING: what each connection got
# over the whole scenario is compared, in order, not step by step.
WHOLE_SCENARIO = {"bcast_resp3_noloop", "bcast_prefixes", "lazy_expiry_bcast_noloop",
                  "active_expiry_bcast", "switch_to_bcast_drops_old_keys"}


def info_field(conn_port, field):
    c = Client(conn_port)
    try:
        for line in c.call("INFO", "all").decode().splitlines():
            if line.startswith(field + ":"):
                return line.split(":", 1)[1]
    finally:
        c.close()
    return None


def run(port, steps):
    """Runs the steps; returns, per step, what each connection received."""
    conns = {}
    ids = {}
    in_multi = set()
    reply_off = set()

    def conn(n):
        if n not in conns:
            conns[n] = RawConn(port)
            conns[n].send("CLIENT", "ID")
            ids[n] = int(conns[n].read_raw()[1:-2])
        return conns[n]

    for s in steps:
        if s[0] in (0, 1, 2, 3, 9) or s[0] in ("quit", "await", "noreply"):
            conn(s[1] if isinstance(s[0], str) else s[0])
    # Every connection a scenario names exists before its first step.
    for s in steps:
        for a in s[1:]:
            if isinstance(a, str) and a.startswith("@"):
                conn(int(a[1:]))

    def normalize(raw, about_clients=False):
        # Client ids (GETREDIR, TRACKINGINFO, tracking-redir-broken) become
        # "@n"; of a CLIENT LIST line only the fields tracking sets are kept.
        if b"id=" in raw:
            raw = b" ".join(re.findall(rb"(?:flags|redir)=\S+", raw))
            about_clients = True
        if about_clients or raw.startswith(b">2\r\n$21\r\ntracking-redir-broken"):
            for n, i in ids.items():
                raw = raw.replace(b":%d\r\n" % i, b":@%d\r\n" % n)
                raw = re.sub(rb"redir=%d(?![0-9])" % i, b"redir=@%d" % n, raw)
        return raw

    def sync(received, about_clients, first=None):
        # The step's own connection first: once it replied, its command ran
        # (commands of different connections run in the order they reach
        # the node, with shard threads not the order they were sent in),
        # and what it pushed to the others comes before their PING replies.
        for n, c in sorted(conns.items(), key=lambda nc: (nc[0] != first, nc[0])):
            if c.closed or n in in_multi or n in reply_off:
                continue
            c.send("PING", "sync")
            while True:
                raw = c.read_raw()
                if raw in SYNC_REPLIES:
                    break
                received.setdefault(n, []).append(normalize(raw, about_clients))

    results = []
    for step in steps:
        received = {}
        about_clients = (len(step) > 2 and step[1] == "CLIENT" and step[2] in (
            "GETREDIR", "TRACKINGINFO")) or (len(step) > 1 and step[1] == "HELLO")
        if step[0] == "sleep":
            time.sleep(step[1] / 1000.0)
        elif step[0] == "quit":
            n = step[1]
            conns[n].send("QUIT")
            received.setdefault(n, []).append(conns[n].read_raw())
            conns[n].close()
            c = Client(port)
            try:
                wait_until(lambda: c.call("CLIENT", "LIST", "ID", str(ids[n])) == b"",
                           what="the client to be gone")
            finally:
                c.close()
        elif step[0] == "await":
            n = step[1]
            received.setdefault(n, []).append(normalize(conns[n].read_raw()))
        elif step[0] == "noreply":
            n, args = step[1], [str(ids[int(a[1:])]) if a.startswith("@") else a
                                for a in step[2:]]
            conns[n].send(*args)
            reply_off.add(n)
        else:
            n, args = step[0], [str(ids[int(a[1:])]) if a.startswith("@") else a
                                for a in step[1:]]
            c = conns[n]
            c.send(*args)
            if n in reply_off and args[:3] == ["CLIENT", "REPLY", "ON"]:
                reply_off.discard(n)
            if args[0].upper() == "MULTI":
                in_multi.add(n)
            elif args[0].upper() in ("EXEC", "DISCARD"):
                in_multi.discard(n)
            if n in in_multi:
                received.setdefault(n, []).append(normalize(c.read_raw()))
        sync(received, about_clients, step[0] if isinstance(step[0], int) else None)
        results.append((step, received))
    stats = {f: info_field(port, f) for f in
             ("tracking_clients", "tracking_total_keys", "tracking_total_items",
              "tracking_total_prefixes")}
    for c in conns.values():
        if not c.closed:
            c.close()
    return results, stats


@unittest.skipUnless(REDIS_SERVER, "redis-server not installed")
class TrackingDiffTest(unittest.TestCase):
    def test_scenarios_match_redis(self):
        for mode, threads, cluster in DIFF_MODES:
            node, redis = start_diff_pair(threads=threads, cluster=cluster,
                                          node_args=["--enable-debug-command", "yes"])
            try:
                for name, steps in SCENARIOS.items():
                    with self.subTest(mode=mode, scenario=name):
                        for p in (node.port, redis.port):
                            c = Client(p)
                            c.call("FLUSHALL")
                            # The last scenario's clients are gone.
                            wait_until(lambda: b"connected_clients:1\r\n" in c.call("INFO"),
                                       what="the previous clients to leave")
                            c.close()
                        ours, our_stats = run(node.port, steps)
                        theirs, their_stats = run(redis.port, steps)
                        if name in COUNT_ONLY:
                            def count(r):
                                return [sum(len(v) for v in rec.values()) for _, rec in r]
                            self.assertEqual(count(ours), count(theirs))
                            continue
                        if name in WHOLE_SCENARIO:
                            def per_conn(r):
                                out = {}
                                for _, rec in r:
                                    for n, msgs in rec.items():
                                        out.setdefault(n, []).extend(msgs)
                                return out
                            self.assertEqual(per_conn(ours), per_conn(theirs), name)
                            self.assertEqual(our_stats, their_stats, name)
                            continue
                        for (step, got), (_, want) in zip(ours, theirs):
                            self.assertEqual(got, want, f"{name}: after {step}")
                        self.assertEqual(our_stats, their_stats, name)
            finally:
                node.cleanup()
                redis.cleanup()


if __name__ == "__main__":
    unittest.main()
