"""Issue 9: a node that dies of a fatal signal writes Redis's bug report to
its log (the log file, or stdout without one): the START banner, the
signal, the stack trace, INFO basics, the END banner; then it dies of that
same signal. DEBUG SEGFAULT triggers it, as in Redis, and redis-server
7.0.15 writes the same landmarks in the same order."""
import os
import signal
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import REDIS_SERVER, Client, Node, RedisServer, wait_until  # noqa: E402

START = "=== REDIS BUG REPORT START: Cut & paste starting from here ==="
END = "=== REDIS BUG REPORT END. Make sure to include from START to END. ==="


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


def debug_segfault(port):
    c = Client(port)
    c.send("DEBUG", "SEGFAULT")
    try:
        c.read()  # no reply: the connection drops
    except (ConnectionError, OSError):
        pass
    finally:
        c.close()


def died(node):
    wait_until(lambda: node.proc.poll() is not None, timeout=10, what="the node to die")
    return node.proc.returncode


class CrashReportTest(unittest.TestCase):
    def landmarks_in_order(self, log, *landmarks):
        pos = 0
        for mark in landmarks:
            found = log.find(mark, pos)
            self.assertGreaterEqual(found, 0, f"{mark!r} missing (after offset {pos}):\n{log}")
            pos = found + len(mark)

    def test_debug_segfault_writes_the_report_to_the_log_file(self):
        node = Node(args=["--logfile", "crash.log"]).start()
        self.addCleanup(node.cleanup)
        pid = node.proc.pid
        debug_segfault(node.port)
        self.assertEqual(died(node), -signal.SIGSEGV)
        log = read(os.path.join(node.dir, "crash.log"))
        self.landmarks_in_order(
            log, START, f"{pid}:signal-handler (", "crashed by signal: 11", "Accessing address:",
            "------ STACK TRACE ------", "Backtrace:", "Dispatcher", "------ INFO OUTPUT ------",
            f"process_id:{pid}", f"tcp_port:{node.port}", "uptime_in_seconds:", END)
        self.assertNotIn(START, node.output())

    def test_report_goes_to_stdout_without_a_log_file(self):
        node = Node().start()
        self.addCleanup(node.cleanup)
        os.kill(node.proc.pid, signal.SIGABRT)
        self.assertEqual(died(node), -signal.SIGABRT)
        self.landmarks_in_order(node.output(), START, "crashed by signal: 6",
                                f"Killed by PID: {os.getpid()}", "------ STACK TRACE ------",
                                "redis_mode:standalone", END)

    @unittest.skipIf(REDIS_SERVER is None, "redis-server is not installed")
    def test_same_landmarks_as_redis(self):
        redis = RedisServer()
        self.addCleanup(redis.cleanup)
        debug_segfault(redis.port)
        self.assertEqual(died(redis), -signal.SIGSEGV)
        node = Node(args=["--logfile", "crash.log"]).start()
        self.addCleanup(node.cleanup)
        debug_segfault(node.port)
        self.assertEqual(died(node), -signal.SIGSEGV)
        marks = [START, "crashed by signal: 11", "Accessing address:", "------ STACK TRACE ------",
                 "Backtrace:", "------ INFO OUTPUT ------", "redis_version:7.0.15", END]
        self.landmarks_in_order(read(os.path.join(redis.dir, "redis.log")), *marks)
        self.landmarks_in_order(read(os.path.join(node.dir, "crash.log")), *marks)

    def test_watchdog_logs_where_the_loop_is_stuck_as_redis(self):
        """watchdog-period (hidden, as Redis's): a loop blocked for longer
        than the period logs the watchdog banner and a stack trace naming
        the DEBUG handler (debugCommand, as Redis's: integration/logging
        looks for it), then goes on serving. Armed by CONFIG SET at once,
        not at the next cron tick."""
        servers = [(Node(args=["--logfile", "node.log"]).start(), "node.log")]
        self.addCleanup(servers[0][0].cleanup)
        if REDIS_SERVER is not None:
            servers.append((RedisServer(), "redis.log"))
            self.addCleanup(servers[1][0].cleanup)
        for server, log_name in servers:
            c = Client(server.port)
            self.addCleanup(c.close)
            self.assertEqual(c.call("CONFIG", "SET", "watchdog-period", "200"), "OK")
            self.assertEqual(c.call("DEBUG", "SLEEP", "1"), "OK")
            path = os.path.join(server.dir, log_name)
            wait_until(lambda: "debugCommand" in read(path), timeout=10,
                       what=f"the watchdog's stack trace in {log_name}")
            self.landmarks_in_order(read(path), "--- WATCHDOG TIMER EXPIRED ---",
                                    "------ STACK TRACE ------", "Backtrace:", "debugCommand",
                                    "--------")
            self.assertEqual(c.call("PING"), "PONG")
            # Off again: a stall logs nothing more.
            self.assertEqual(c.call("CONFIG", "SET", "watchdog-period", "0"), "OK")
            before = read(path).count("WATCHDOG TIMER EXPIRED")
            self.assertEqual(c.call("DEBUG", "SLEEP", "0.5"), "OK")
            self.assertEqual(c.call("PING"), "PONG")
            self.assertEqual(read(path).count("WATCHDOG TIMER EXPIRED"), before)


if __name__ == "__main__":
    unittest.main(verbosity=2)
