"""INFO statistics over keyspace shards (issue 18).

Each keyspace shard counts the commands granted to it on its own shard view;
INFO sums every view and CONFIG RESETSTAT clears them all. The same commands,
on keys spread over every shard (and multi-key commands across shards), run on
shardnode (threads 1 and 4) and on redis-server 7.0.15, and the counters INFO
reports must be equal, before and after CONFIG RESETSTAT.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import REDIS_SERVER, Client, start_diff_pair  # noqa: E402

# a, b, c and d hash to slots in four different shards at threads 4.
COMMANDS = [
    ["SET", "a", "1"], ["SET", "b", "2"], ["SET", "c", "3"], ["SET", "d", "4"],
    ["GET", "a"], ["GET", "b"], ["GET", "nope"], ["EXISTS", "c", "nope"],
    ["MSET", "a", "5", "c", "6"], ["MGET", "a", "b", "c", "d", "nope"],
    ["INCR", "d"], ["LPUSH", "a", "x"], ["INCR", "b"], ["HSET", "c", "f", "v"],
    ["SADD", "s", "m"], ["DEL", "b", "d"], ["FOOBAR"],
]

FIELDS = [("stats", "total_commands_processed"), ("stats", "keyspace_hits"),
          ("stats", "keyspace_misses"), ("stats", "total_error_replies"),
          ("persistence", "rdb_changes_since_last_save")]


def figures(c):
    out = {}
    for section, field in FIELDS:
        text = c.call("INFO", section).decode()
        for line in text.split("\r\n"):
            if line.startswith(field + ":"):
                out[field] = int(line.split(":", 1)[1])
    errors = c.call("INFO", "errorstats").decode()
    out["errorstats"] = sorted(line for line in errors.split("\r\n")
                               if line.startswith("errorstat_"))
    return out


@unittest.skipUnless(REDIS_SERVER, "redis-server not installed")
class ShardStatsTest(unittest.TestCase):
    def run_mode(self, threads):
        node, redis = start_diff_pair(threads=threads)
        try:
            results = []
            for port in (node.port, redis.port):
                c = Client(port)
                try:
                    c.call("CONFIG", "RESETSTAT")
                    for cmd in COMMANDS:
                        c.call(*cmd)
                    before = figures(c)
                    c.call("CONFIG", "RESETSTAT")
                    after = figures(c)
                finally:
                    c.close()
                results.append((before, after))
            self.assertEqual(results[0][0], results[1][0], "before CONFIG RESETSTAT")
            self.assertEqual(results[0][1], results[1][1], "after CONFIG RESETSTAT")
            # The scenario did count something on every figure.
            self.assertGreater(results[0][0]["keyspace_hits"], 0)
            self.assertGreater(results[0][0]["total_error_replies"], 0)
        finally:
            node.cleanup()
            redis.cleanup()

    def test_threads1(self):
        self.run_mode(1)

    def test_threads4(self):
        self.run_mode(4)


if __name__ == "__main__":
    unittest.main()
