"""MULTI / EXEC / DISCARD / WATCH, compared reply by reply with redis-server
7.0.15: each scenario runs the same steps, on several connections, against
both servers. Skipped (with a message) only when redis-server is missing."""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Client, Node, free_port, wait_until  # noqa: E402

REDIS = shutil.which("redis-server")

# Each scenario: a list of (connection, command...) steps; "sleep:ms" waits.
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
}


def run(port, steps):
    conns = [Client(port), Client(port)]
    conns[0].call("FLUSHALL")
    replies = []
    for step in steps:
        if step[0] == "sleep":
            time.sleep(step[1] / 1000)
            continue
        replies.append(conns[step[0]].call(*step[1:]))
    for c in conns:
        c.close()
    return replies


@unittest.skipIf(REDIS is None, "redis-server is not installed: no reference to compare with")
class TransactionsDiffTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node().start()
        cls.redis_dir = tempfile.mkdtemp(prefix="redis-ref-")
        cls.redis_port = free_port()
        cls.redis = subprocess.Popen(
            [REDIS, "--port", str(cls.redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", cls.redis_dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: cls.ping(cls.redis_port), timeout=10, what="redis-server PING")

    @staticmethod
    def ping(port):
        try:
            c = Client(port)
            ok = c.call("PING") == "PONG"
            c.close()
            return ok
        except OSError:
            return False

    @classmethod
    def tearDownClass(cls):
        cls.node.cleanup()
        cls.redis.terminate()
        try:
            cls.redis.wait(10)
        except subprocess.TimeoutExpired:
            cls.redis.kill()
        shutil.rmtree(cls.redis_dir, ignore_errors=True)

    def test_scenarios_match_redis(self):
        for name, steps in SCENARIOS.items():
            with self.subTest(scenario=name):
                self.assertEqual(run(self.node.port, steps), run(self.redis_port, steps))


if __name__ == "__main__":
    unittest.main(verbosity=2)
