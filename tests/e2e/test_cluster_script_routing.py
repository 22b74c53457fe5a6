"""Scripts routed from a replica in cluster mode (issue 12), as Redis 7.0.15
routes them: a script with a shebang or a function is a write command unless
it declares no-writes, so a READONLY replica answers MOVED to its primary for
it (cluster/tests/16-transactions-on-replica), and serves the read-only ones.
EVAL without a shebang keeps EVAL's own flags (not a write): the replica runs
it, and its write then fails inside the script.

    python3 tests/e2e/test_cluster_script_routing.py
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Client, Error, create_three_pairs, key_slot, wait_until  # noqa: E402

LIB = ("#!lua name=rlib\n"
       "redis.register_function('rw', function(keys) return redis.call('del', keys[1]) end)\n"
       "redis.register_function{function_name='ro', callback=function(keys) "
       "return redis.call('get', keys[1]) end, flags={'no-writes'}}")


class ScriptRoutingFromReplicaTest(unittest.TestCase):
    def test_write_scripts_are_moved_and_read_only_ones_served(self):
        nodes, pairs = create_three_pairs(self, [])
        key = "a"
        slot = key_slot(key)
        primary = replica = None
        for p, r in pairs:  # the pair whose primary owns the key's slot
            c = Client(p.port)
            try:
                if not isinstance(c.call("GET", key), Error):
                    primary, replica = p, r
            finally:
                c.close()
        self.assertIsNotNone(primary)
        c = Client(primary.port)
        try:
            self.assertEqual(c.call("SET", key, "v"), "OK")
            self.assertEqual(c.call("FUNCTION", "LOAD", LIB), b"rlib")
            sha = c.call("SCRIPT", "LOAD", "#!lua\nreturn redis.call('del', KEYS[1])")
            c.call("WAIT", "1", "5000")
        finally:
            c.close()
        r = Client(replica.port)
        try:
            self.assertEqual(r.call("READONLY"), "OK")
            wait_until(lambda: r.call("FCALL_RO", "ro", "1", key) == b"v", timeout=10,
                       what="the replica to have the key and the library")
            # SCRIPT LOAD is not replicated: the replica learns the sha itself.
            self.assertEqual(r.call("SCRIPT", "LOAD", "#!lua\nreturn redis.call('del', KEYS[1])"),
                             sha)
            moved = f"MOVED {slot} 127.0.0.1:{primary.port}"
            for cmd in (["EVAL", "#!lua\nreturn redis.call('del', KEYS[1])", "1", key],
                        ["EVALSHA", sha, "1", key],
                        ["EVAL_RO", "#!lua\nreturn redis.call('get', KEYS[1])", "1", key],
                        ["FCALL", "rw", "1", key]):
                reply = r.call(*cmd)
                self.assertIsInstance(reply, Error, cmd)
                self.assertEqual(str(reply), moved, cmd)
            self.assertEqual(r.call("EVAL", "#!lua flags=no-writes\nreturn redis.call('get', "
                                    "KEYS[1])", "1", key), b"v")
            self.assertEqual(r.call("FCALL", "ro", "1", key), b"v")
            self.assertEqual(r.call("EVAL", "return redis.call('get', KEYS[1])", "1", key), b"v")
            reply = r.call("EVAL", "return redis.call('del', KEYS[1])", "1", key)
            self.assertIsInstance(reply, Error)
            self.assertTrue(str(reply).startswith("READONLY"), reply)
        finally:
            r.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
