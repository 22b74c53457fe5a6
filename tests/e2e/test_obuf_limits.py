"""client-output-buffer-limit for normal and Pub/Sub clients, against
shardnode and redis-server 7.0.15 in the same test: a subscriber that does
not read is closed once its pending output passes the hard limit, or once it
stayed over the soft limit for the soft seconds (also when nothing more is
published); a command whose reply passes a normal client's hard limit
(HRANDFIELD with a huge negative count) is stopped, the client closed
without a byte of it, and the server's memory stays small.
Skipped for redis-server only when it is missing."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (REDIS_SERVER, Client, Node, RedisServer, client_list_field,  # noqa: E402
                     info_int, wait_until)


def used_memory(c):
    return info_int(c, "memory", "used_memory")


def subscriber(port, name):
    c = Client(port)
    assert c.call("CLIENT", "SETNAME", name) == "OK"
    assert c.call("SUBSCRIBE", "foo") == [b"subscribe", b"foo", 1]
    return c


def publish_batch(admin, message, n):
    admin.sock.sendall(b"".join(
        b"*3\r\n$7\r\nPUBLISH\r\n$3\r\nfoo\r\n$%d\r\n%s\r\n" % (len(message), message)
        for _ in range(n)))
    for _ in range(n):
        admin.read()


def scenario(port):
    admin = Client(port, timeout=10)
    result = {}
    try:
        # Hard limit: the subscriber goes as soon as it passes 100000 bytes.
        result["set_hard"] = admin.call("CONFIG", "SET", "client-output-buffer-limit",
                                        "pubsub 100000 0 0")
        sub = subscriber(port, "hardsub")
        max_omem = 0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            publish_batch(admin, b"bar", 200)
            omem = client_list_field(admin, "hardsub", "omem")
            if omem is None:
                break
            max_omem = max(max_omem, int(omem))
        result["hard_dropped"] = client_list_field(admin, "hardsub", "omem") is None
        result["hard_omem_bounded"] = max_omem < 200000
        sub.close()

        # Soft limit: over 100000 bytes for more than 2 seconds, with no
        # traffic after the limit was passed.
        result["set_soft"] = admin.call("CONFIG", "SET", "client-output-buffer-limit",
                                        "pubsub 0 100000 2")
        sub = subscriber(port, "softsub")
        over_at = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            publish_batch(admin, b"x" * 1000, 20)
            omem = client_list_field(admin, "softsub", "omem")
            if omem is None or int(omem) > 100000:
                over_at = time.monotonic()
                break
        # Still there for a while after passing the soft limit...
        time.sleep(0.5)
        result["soft_alive_early"] = client_list_field(admin, "softsub", "omem") is not None
        # ...then closed by the cron, nothing more being published.
        wait_until(lambda: client_list_field(admin, "softsub", "omem") is None, timeout=10,
                   what="the soft-limited subscriber to be closed")
        result["soft_waited_enough"] = over_at is not None and time.monotonic() - over_at >= 1.0
        sub.close()

        # A single command's reply is stopped at a normal client's limit.
        result["set_normal"] = admin.call("CONFIG", "SET", "client-output-buffer-limit",
                                          "normal 1000000 0 0")
        admin.call("HSET", "myhash", "a", "b")
        before = used_memory(admin)
        big = Client(port, timeout=20)
        assert big.call("CLIENT", "SETNAME", "bigreply") == "OK"
        big.send("HRANDFIELD", "myhash", "-20000000")
        try:
            got = big.read()
            result["hrandfield"] = "replied %d" % len(got)
        except ConnectionError:
            result["hrandfield"] = "closed"
        except OSError as e:  # a timeout: still building its reply
            result["hrandfield"] = "error %s" % type(e).__name__
        big.close()
        result["big_gone"] = client_list_field(admin, "bigreply", "omem") is None
        result["memory_small"] = used_memory(admin) < before + 10_000_000
        result["still_serves"] = admin.call("PING")
        result["reset"] = admin.call("CONFIG", "SET", "client-output-buffer-limit",
                                     "normal 0 0 0 pubsub 33554432 8388608 60")
    finally:
        admin.close()
    return result


EXPECTED = {
    "set_hard": "OK", "hard_dropped": True, "hard_omem_bounded": True,
    "set_soft": "OK", "soft_alive_early": True, "soft_waited_enough": True,
    "set_normal": "OK", "hrandfield": "closed", "big_gone": True, "memory_small": True,
    "still_serves": "PONG", "reset": "OK",
}


class ObufLimitsTest(unittest.TestCase):
    def test_shardnode(self):
        with Node() as node:
            r = scenario(node.port)
            log = node.output()
        self.maxDiff = None
        self.assertEqual(r, EXPECTED)
        self.assertIn("scheduled to be closed ASAP for overcoming of output buffer limits", log)
        self.assertIn("closed for overcoming of output buffer limits", log)

    @unittest.skipUnless(REDIS_SERVER, "redis-server not installed")
    def test_same_as_redis(self):
        redis = RedisServer()
        try:
            theirs = scenario(redis.port)
        finally:
            redis.cleanup()
        self.maxDiff = None
        self.assertEqual(theirs, EXPECTED)


if __name__ == "__main__":
    unittest.main()
