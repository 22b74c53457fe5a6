"""Pub/Sub under CLIENT REPLY OFF / SKIP (issue 19, Redis's unit/pubsub
"PubSub messages with CLIENT REPLY OFF" and the keyspace notification tests):
subscribe / unsubscribe confirmations and messages are pushes, which Redis
7.0.15 writes even to a client whose replies are silenced (CLIENT_PUSHING),
in RESP2 and RESP3; the other replies stay silent. Each scenario runs on
shardnode and on redis-server 7.0.15 and the bytes the subscriber received
are compared; a scenario ends with CLIENT REPLY ON, whose +OK closes what
the subscriber is to receive.

Skipped (with a message) only when redis-server is missing."""
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (REDIS_SERVER, Client, resp_command, start_diff_pair,  # noqa: E402
                     wait_until)


def received_until_ok(sock, timeout=5.0):
    """Every byte `sock` receives until a reply ends in +OK (bounded)."""
    deadline = time.monotonic() + timeout
    buf = b""
    while not buf.endswith(b"+OK\r\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no +OK within {timeout}s; got {buf!r}")
        sock.settimeout(left)
        data = sock.recv(65536)
        if not data:
            raise ConnectionError(f"closed; got {buf!r}")
        buf += data
    return buf


def run(port, protocol, steps):
    """Runs `steps` on a subscriber connection (a step ("PUB", channel,
    message, subscriptions) publishes from a second connection once the
    subscriber holds that many); returns the subscriber's bytes, ended by the
    +OK of a final CLIENT REPLY ON."""
    sub = socket.create_connection(("127.0.0.1", port), timeout=5)
    pub = Client(port)
    try:
        if protocol == 3:
            sub.sendall(resp_command("HELLO", "3"))
            # The HELLO map: read until its last field (modules, an empty array).
            buf = b""
            while not buf.endswith(b"$7\r\nmodules\r\n*0\r\n"):
                buf += sub.recv(65536)
        for step in steps:
            if step[0] == "PUB":
                # The subscriber's commands (unanswered) have run once the
                # node counts its `subs` subscriptions.
                _, channel, message, subs = step
                wait_until(lambda: pub.call("PUBSUB", "NUMSUB", channel)[1] +
                           pub.call("PUBSUB", "NUMPAT") >= subs, what="the subscriptions")
                pub.call("PUBLISH", channel, message)
            else:
                sub.sendall(resp_command(*step))
        sub.sendall(resp_command("CLIENT", "REPLY", "ON"))
        return received_until_ok(sub)
    finally:
        sub.close()
        pub.close()


SCENARIOS = {
    # unit/pubsub "PubSub messages with CLIENT REPLY OFF" (RESP3).
    "resp3_reply_off": (3, [
        ("CLIENT", "REPLY", "OFF"), ("SUBSCRIBE", "channel"), ("PSUBSCRIBE", "ch*"),
        ("GET", "silenced"), ("PUB", "channel", "hello", 2),
        ("UNSUBSCRIBE", "channel"), ("PUNSUBSCRIBE", "ch*"), ("PING",)]),
    # unit/pubsub keyspace notifications: RESP2 under OFF, then SKIP.
    "resp2_reply_off": (2, [
        ("CLIENT", "REPLY", "OFF"), ("PSUBSCRIBE", "*"), ("PUB", "chan", "msg", 1),
        ("PUNSUBSCRIBE",), ("SET", "k", "v")]),
    "resp2_reply_skip": (2, [
        ("CLIENT", "REPLY", "SKIP"), ("SUBSCRIBE", "a"), ("PUB", "a", "m", 1),
        ("UNSUBSCRIBE",), ("PING", "heard")]),
    # A silenced transaction: its replies go, the pushes inside it stay.
    "resp3_multi_reply_off": (3, [
        ("CLIENT", "REPLY", "OFF"), ("MULTI",), ("SET", "k", "v"), ("SUBSCRIBE", "x"),
        ("EXEC",), ("PUB", "x", "y", 1), ("UNSUBSCRIBE", "x")]),
}


@unittest.skipUnless(REDIS_SERVER, "redis-server not installed")
class PubSubReplyOffTest(unittest.TestCase):
    def test_pushes_reach_a_silenced_client_as_in_redis(self):
        node, redis = start_diff_pair()
        try:
            for name, (protocol, steps) in SCENARIOS.items():
                with self.subTest(scenario=name):
                    theirs = run(redis.port, protocol, steps)
                    ours = run(node.port, protocol, steps)
                    self.assertEqual(ours, theirs)
                    # The pushes did arrive (not only the final +OK).
                    self.assertIn(b"subscribe", ours)
        finally:
            node.cleanup()
            redis.cleanup()


if __name__ == "__main__":
    unittest.main()
