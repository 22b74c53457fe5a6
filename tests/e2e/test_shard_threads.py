"""Client connections served by shard threads (`threads 4`: four shard
threads beside the control loop, connections spread round-robin; step A of
node/server/shard.h: sockets on the shard threads, commands on the control
loop while the word is off), against redis-server 7.0.15 in the same test: pipelined replies in
order on every connection, Pub/Sub between connections of different threads,
a blocked client served from another thread, big values in many reads, a
client far behind on its replies, QUIT and protocol errors (replies written,
then the close), CLIENT KILL, a Pub/Sub client over its output limit, and a
client that closes while blocked, a replica synced while writes go on
(the stream held during its transfer, released by its first REPLCONF ACK,
is no reply of the replica's own), and memory as Redis counts it (a big
argument's query buffer, used_memory around the first keys and eviction).
Skipped without redis-server."""
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import REDIS_SERVER as REDIS  # noqa: E402
from harness import (Client, Error, Node, RedisServer, client_list_field, closes,  # noqa: E402
                     info, info_int, log_text, resp_command, wait_until)

THREADS = 4


def shard_thread_count(pid):
    """How many threads of the process are named shard-N."""
    count = 0
    task_dir = f"/proc/{pid}/task"
    for tid in os.listdir(task_dir):
        try:
            with open(f"{task_dir}/{tid}/comm") as f:
                count += f.read().startswith("shard-")
        except OSError:
            continue
    return count


@unittest.skipUnless(REDIS, "redis-server not installed")
class ShardThreadsTest(unittest.TestCase):
    def setUp(self):
        self.node = Node(args=["--threads", str(THREADS)]).start()
        self.addCleanup(self.node.cleanup)
        self.redis = RedisServer()
        self.addCleanup(self.redis.cleanup)

    def both(self):
        return (self.node, self.redis)

    def clients(self, server, n):
        cs = [Client(server.port) for _ in range(n)]
        for c in cs:
            self.addCleanup(c.close)
        return cs

    def test_pipelines_on_every_thread_in_order(self):
        results = []
        for server in self.both():
            cs = self.clients(server, 12)
            # Every client pipelines its whole script before reading:
            # replies must come back in request order on each connection.
            scripts = []
            for i, c in enumerate(cs):
                cmds = []
                for k in range(150):
                    cmds.append(("SET", f"c{i}:k{k % 7}", f"v{i}:{k}"))
                    cmds.append(("INCR", "shared"))
                    cmds.append(("GET", f"c{i}:k{k % 7}"))
                    cmds.append(("RPUSH", f"c{i}:list", str(k)))
                    cmds.append(("LRANGE", f"c{i}:list", "-2", "-1"))
                    if k % 50 == 0:
                        cmds.append(("HSET", f"c{i}:h", "f", "x" * 40000))  # a big argument
                        cmds.append(("NOSUCHCOMMAND", "x"))
                scripts.append(cmds)
                c.sock.sendall(b"".join(resp_command(*cmd) for cmd in cmds))
            replies = []
            for c, cmds in zip(cs, scripts):
                got = [c.read() for _ in cmds]
                # INCR of the shared counter interleaves between clients:
                # only its growth on one connection is checked here.
                incrs = [r for r, cmd in zip(got, cmds) if cmd[0] == "INCR"]
                self.assertEqual(incrs, sorted(incrs))
                replies.append([r for r, cmd in zip(got, cmds) if cmd[0] != "INCR"])
            check = Client(server.port)
            self.addCleanup(check.close)
            results.append((replies, check.call("GET", "shared")))
        self.assertEqual(results[0], results[1])
        self.assertEqual(results[0][1], b"%d" % (12 * 150))
        # The node runs its shard threads.
        self.assertEqual(shard_thread_count(self.node.proc.pid), THREADS)

    def test_pubsub_between_threads(self):
        results = []
        for server in self.both():
            subs = self.clients(server, 6)
            for i, s in enumerate(subs):
                s.send("SUBSCRIBE", "news", f"own{i}")
                self.assertEqual(s.read(), [b"subscribe", b"news", 1])
                self.assertEqual(s.read(), [b"subscribe", f"own{i}".encode(), 2])
            pub = self.clients(server, 1)[0]
            counts = []
            for m in range(60):
                counts.append(pub.call("PUBLISH", "news", f"m{m}"))
                if m % 10 == 0:
                    counts.append(pub.call("PUBLISH", f"own{m % 6}", f"p{m}"))
            got = []
            for i, s in enumerate(subs):
                msgs = []
                want = 60 + sum(1 for m in range(60) if m % 10 == 0 and m % 6 == i)
                for _ in range(want):
                    msgs.append(s.read())
                got.append(msgs)
            results.append((counts, got))
        self.assertEqual(results[0], results[1])

    def test_blocked_client_served_from_another_connection(self):
        results = []
        for server in self.both():
            cs = self.clients(server, 5)
            waiters, pusher = cs[:4], cs[4]
            # One after the other: the order they block in is the order
            # they are served in.
            for i, w in enumerate(waiters):
                w.send("BLPOP", f"q{i % 2}", "10")
                wait_until(lambda: b"blocked_clients:%d" % (i + 1) in pusher.call("INFO", "clients"),
                           what=f"{i + 1} blocked clients")
            pushed = [pusher.call("RPUSH", "q0", "a", "b"), pusher.call("RPUSH", "q1", "c"),
                      pusher.call("RPUSH", "q1", "d")]
            got = [w.read() for w in waiters]
            # The clients blocked first are served first.
            results.append((pushed, got, waiters[0].call("PING")))
        self.assertEqual(results[0], results[1])

    def test_big_values_and_a_client_behind_on_its_replies(self):
        big = os.urandom(3 * 1024 * 1024 + 17)
        for server in self.both():
            setter, getter = self.clients(server, 2)
            self.assertEqual(setter.call("SET", "big", big), "OK")
            # 30 replies of 3 MB pipelined before reading any: the node reads
            # no further than about 64 MB ahead of the client, then goes on.
            n = 30
            getter.sock.sendall(resp_command("GET", "big") * n + resp_command("PING"))
            time.sleep(0.2)
            want = (b"$%d\r\n%s\r\n" % (len(big), big)) * n + b"+PONG\r\n"
            got = bytearray(len(want))
            view, have = memoryview(got), 0
            while have < len(want):
                k = getter.sock.recv_into(view[have:])
                self.assertGreater(k, 0, "closed")
                have += k
            self.assertTrue(got == want)
            self.assertEqual(setter.call("STRLEN", "big"), len(big))

    def test_quit_and_protocol_error_close_after_the_replies(self):
        for server in self.both():
            cs = self.clients(server, 4)
            for c in cs[:2]:
                c.sock.sendall(resp_command("SET", "a", "1") + resp_command("GET", "a") +
                               resp_command("QUIT") + resp_command("GET", "a"))
                self.assertEqual([c.read(), c.read(), c.read()], ["OK", b"1", "OK"])
                self.assertTrue(closes(c.sock))
            for c in cs[2:]:
                c.sock.sendall(resp_command("PING") + b"*1\r\n$x\r\n")
                self.assertEqual(c.read(), "PONG")
                reply = c.read()
                self.assertIsInstance(reply, Error)
                self.assertIn("Protocol error", reply)
                self.assertTrue(closes(c.sock))

    def test_client_kill_and_client_list(self):
        for server in self.both():
            cs = self.clients(server, 7)
            ids = [c.call("CLIENT", "ID") for c in cs]
            admin = cs[0]
            listed = admin.call("CLIENT", "LIST").decode()
            for i in ids:
                self.assertIn(f"id={i} ", listed)
            for victim_id, victim in zip(ids[1:4], cs[1:4]):
                self.assertEqual(admin.call("CLIENT", "KILL", "ID", str(victim_id)), 1)
                self.assertTrue(closes(victim.sock))
            listed = admin.call("CLIENT", "LIST").decode()
            self.assertEqual(listed.count("\n"), 4)
            for c in cs[4:]:
                self.assertEqual(c.call("PING"), "PONG")

    def test_pubsub_client_over_its_output_limit_is_closed(self):
        for server in self.both():
            admin, sub, pub = self.clients(server, 3)
            self.assertEqual(admin.call("CONFIG", "SET", "client-output-buffer-limit",
                                        "pubsub 256kb 0 0"), "OK")
            sub.send("SUBSCRIBE", "flood")
            self.assertEqual(sub.read(), [b"subscribe", b"flood", 1])
            payload = b"x" * 65536
            # The subscriber reads nothing: it is dropped once the socket
            # buffers are full and 256 KB more wait for it.
            for _ in range(2000):
                pub.call("PUBLISH", "flood", payload)
                if pub.call("PUBSUB", "NUMSUB", "flood")[1] == 0:
                    break
            self.assertEqual(pub.call("PUBSUB", "NUMSUB", "flood"), [b"flood", 0])
            self.assertTrue(closes(sub.sock, timeout=10))

    def test_client_closing_while_blocked_is_seen_gone(self):
        for server in self.both():
            admin = self.clients(server, 1)[0]
            blocked = [Client(server.port) for _ in range(4)]
            for b in blocked:
                b.send("BLPOP", "never", "0")
            wait_until(lambda: b"blocked_clients:4" in admin.call("INFO", "clients"),
                       what="four blocked clients")
            for b in blocked:
                b.close()
            wait_until(lambda: b"blocked_clients:0" in admin.call("INFO", "clients"),
                       timeout=10, what="the closed clients gone")
            wait_until(lambda: admin.call("CLIENT", "LIST").decode().count("\n") == 1,
                       timeout=10, what="only the admin client left")



def primary_and_replica(test, kind):
    """A started primary (shardnode at threads 4, or redis-server) and a
    started server of the same kind to make its replica, stopped by the
    test's cleanup."""
    if kind == "shardnode":
        primary = Node(args=["--threads", str(THREADS)]).start()
        replica = Node().start()
    else:
        primary, replica = RedisServer(), RedisServer()
    test.addCleanup(primary.cleanup)
    test.addCleanup(replica.cleanup)
    return primary, replica


@unittest.skipUnless(REDIS, "redis-server not installed")
class ReplicaOnShardThreadTest(unittest.TestCase):
    def test_replica_synced_under_writes_keeps_its_link(self):
        """A replica's first REPLCONF ACK after the transfer releases the
        stream held meanwhile into its connection; at threads 4 that output
        was still queued when the ACK's command ended, taken for a reply of
        the replica's own, and the replica was dropped ("Replica generated a
        reply"), resyncing over and over while writes went on. One full
        sync, as Redis."""
        syncs = []
        for kind in ("shardnode", "redis"):
            primary, replica = primary_and_replica(self, kind)
            bench = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(primary.port), "-t", "set",
                     "-r", "1000000", "-d", "200", "-P", "16", "-q"]
            subprocess.run(bench + ["-n", "100000"], capture_output=True, timeout=120, check=True)
            load = subprocess.Popen(bench + ["-n", "400000"], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            try:
                self.assertEqual(replica.cli("REPLICAOF", "127.0.0.1", primary.port), "OK")
                wait_until(lambda: info(replica).get("master_link_status") == "up", timeout=60,
                           what=f"{kind}: link up")
                self.assertIsNone(load.wait(timeout=120) or None)
            finally:
                if load.poll() is None:
                    load.kill()
                    load.wait()
            wait_until(lambda: info(replica)["master_repl_offset"] ==
                       info(primary)["master_repl_offset"], timeout=60,
                       what=f"{kind}: replica caught up")
            self.assertEqual(replica.cli("DBSIZE"), primary.cli("DBSIZE"))
            if kind == "shardnode":
                self.assertNotIn("generated a reply", log_text(primary.log_path))
            syncs.append(info(primary, "stats")["sync_full"])
        self.assertEqual(syncs, ["1", "1"])


@unittest.skipUnless(REDIS, "redis-server not installed")
class MemoryOnShardThreadsTest(unittest.TestCase):
    """What a connection served by a shard thread costs is what it costs on
    the control loop, and what Redis shows (unit/client-eviction and
    unit/maxmemory of Redis's suite, at threads 4)."""

    def servers(self):
        node = Node(args=["--threads", str(THREADS)]).start()
        self.addCleanup(node.cleanup)
        redis = RedisServer()
        self.addCleanup(redis.cleanup)
        return node, redis

    def test_big_argument_query_buffer_as_on_the_control_loop(self):
        """A 300 KB argument arriving in the shard thread's 64 KB reads:
        the query buffer is exactly its size, as on the control loop (it
        was doubled past it, beyond Redis's room too, and maxmemory-clients
        evicted clients Redis keeps)."""
        node, redis = self.servers()
        local = Node(args=["--threads", "1"]).start()
        self.addCleanup(local.cleanup)
        fields = []
        for server in (node, local, redis):
            c = Client(server.port)
            self.addCleanup(c.close)
            size = 300 * 1024
            s = socket.create_connection(("127.0.0.1", server.port))
            self.addCleanup(s.close)
            s.sendall(resp_command("CLIENT", "SETNAME", "big"))
            s.recv(100)
            s.sendall(b"*2\r\n$%d\r\n" % size + b"v" * size)
            line = ""
            for _ in range(200):
                line = next((x for x in c.call("CLIENT", "LIST").decode().splitlines()
                             if " name=big " in x), "")
                if f"qbuf={size} " in line:
                    break
                time.sleep(0.02)
            fields.append([f for f in line.split() if f.startswith(("qbuf=", "qbuf-free="))])
        self.assertEqual(fields[0], fields[1])
        self.assertEqual(fields[0], [f"qbuf={300 * 1024}", "qbuf-free=2"])
        self.assertEqual(fields[2][0], f"qbuf={300 * 1024}")
        self.assertLessEqual(int(fields[0][1].split("=")[1]), int(fields[2][1].split("=")[1]))

    def test_client_list_sees_what_another_client_sent_before_it(self):
        """A client writes a 200 KB argument and reads nothing; CLIENT LIST
        sent on another connection right after counts that argument in the
        first client's memory, as Redis's one event loop reads the socket
        that became readable first (unit/client-eviction "client evicted due
        to percentage of maxmemory" at threads 4: here the other client's
        socket thread had often not read it yet)."""
        node, redis = self.servers()
        size = 200 * 1024
        for server in (node, redis):
            c = Client(server.port)
            self.addCleanup(c.close)
            for i in range(20):
                s = socket.create_connection(("127.0.0.1", server.port))
                self.addCleanup(s.close)
                s.sendall(resp_command("CLIENT", "SETNAME", f"big{i}"))
                self.assertEqual(s.recv(100), b"+OK\r\n")
                s.sendall(b"*1\r\n$%d\r\n" % size + b"v" * size)
                line = next(x for x in c.call("CLIENT", "LIST").decode().splitlines()
                            if f" name=big{i} " in x)
                tot_mem = int(line.split(" tot-mem=")[1].split(" ")[0])
                self.assertGreaterEqual(tot_mem, size, (server.port, i, line))
                s.close()

    def test_used_memory_holds_maxmemory_as_redis(self):
        """unit/maxmemory "is the memory limit honoured": in a db used
        before, 100 KB over used_memory hold more than 10 keys (the slot
        index of the other shards' db was allocated by their first key), and
        after as many more keys, with evictions, used_memory is under the
        limit plus 4 KB (INFO read its used_memory before its fan-out's
        per-shard figures)."""
        for server in self.servers():
            c = Client(server.port)
            self.addCleanup(c.close)

            def used():
                for line in c.call("INFO").decode().splitlines():
                    if line.startswith("used_memory:"):
                        return int(line.split(":")[1])

            c.call("SELECT", "9")
            c.call("SET", "a", "1")
            for policy in ("allkeys-random", "allkeys-lru", "volatile-ttl"):
                c.call("FLUSHALL")
                limit = used() + 100 * 1024
                c.call("CONFIG", "SET", "maxmemory", str(limit))
                c.call("CONFIG", "SET", "maxmemory-policy", policy)
                n = 0
                while used() + 4096 <= limit:
                    c.call("SETEX", f"key:{random.randrange(10**9)}", "10000", "x")
                    n += 1
                self.assertGreater(n, 10, f"port {server.port} {policy}")
                for _ in range(n):
                    c.call("SETEX", f"key:{random.randrange(10**9)}", "10000", "x")
                self.assertLess(used(), limit + 4096, f"port {server.port} {policy}")
                c.call("CONFIG", "SET", "maxmemory", "0")

    def test_output_figure_of_a_pipelining_client_after_it_read_its_replies(self):
        """unit/maxmemory "slave buffer are counted correctly": once a
        pipelining client has read every reply, its output counts nothing
        (CLIENT LIST omem, INFO mem_clients_normal), as in Redis. A shard
        thread sends and frees the output without telling the control loop:
        the figure kept counting what was pending after the client's last
        command until it sent another. (Polled: the socket's thread counts
        a write out a moment after the client may have read it, and
        Redis's INFO figure follows its client cron.)"""
        for server in self.servers():
            c = Client(server.port)
            self.addCleanup(c.close)
            c.call("SET", "big", "v" * 20000)
            s = socket.create_connection(("127.0.0.1", server.port))
            self.addCleanup(s.close)
            s.sendall(resp_command("CLIENT", "SETNAME", "pipe"))
            self.assertEqual(s.recv(100), b"+OK\r\n")
            n = 500
            s.sendall(resp_command("GET", "big") * n)
            want = n * len(b"$20000\r\n" + b"v" * 20000 + b"\r\n")
            got = 0
            s.settimeout(30)
            while got < want:
                chunk = s.recv(1 << 20)
                self.assertTrue(chunk, f"port {server.port}: closed after {got} bytes")
                got += len(chunk)
            self.assertEqual(got, want)

            wait_until(lambda: client_list_field(c, "pipe", "omem") == "0", timeout=10,
                       what=f"port {server.port}: omem=0")
            tot = int(client_list_field(c, "pipe", "tot-mem"))
            self.assertLess(tot, 128 * 1024, f"port {server.port}")
            wait_until(lambda: int(info(server, "memory")["mem_clients_normal"]) < 512 * 1024,
                       timeout=10, what=f"port {server.port}: mem_clients_normal")

    def test_invalidations_pushed_while_evicting_do_not_feed_the_eviction(self):
        """unit/maxmemory "client tracking don't cause eviction feedback
        loop": 10 RESP3 clients track 300 keys of 1 KB names; a maxmemory
        40 KB under used_memory evicts 10 to 50 keys, as Redis. Each key
        evicted pushes an invalidation to the 10 clients; with shard threads
        each push is a buffer of its own until the socket thread sends it,
        and the evictor took that for memory the key did not free."""
        for server in self.servers():
            c = Client(server.port)
            self.addCleanup(c.close)
            c.call("CONFIG", "SET", "latency-tracking", "no")
            c.call("CONFIG", "SET", "maxmemory", "0")
            c.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
            c.call("CONFIG", "SET", "maxmemory-eviction-tenacity", "100")
            keys = [f"{j}" + "x" * 1000 for j in range(300)]
            for k in keys:
                c.call("SET", k, "x")
            trackers = []
            for _ in range(10):
                t = socket.create_connection(("127.0.0.1", server.port), timeout=10)
                self.addCleanup(t.close)
                t.sendall(resp_command("HELLO", "3") + resp_command("CLIENT", "TRACKING", "on") +
                          b"".join(resp_command("GET", k) for k in keys) + resp_command("PING"))
                got = b""
                while not got.endswith(b"$1\r\nx\r\n+PONG\r\n"):
                    chunk = t.recv(65536)
                    self.assertTrue(chunk, f"port {server.port}: tracker closed")
                    got += chunk
                trackers.append(t)
            time.sleep(1.1)  # as the test: the cron trims the query buffers
            used = int(info(server, "memory")["used_memory"])
            c.call("CONFIG", "SET", "maxmemory", str(used - 40000))
            evicted = int(info(server, "stats")["evicted_keys"])
            self.assertGreaterEqual(c.call("DBSIZE"), 200, f"port {server.port}")
            self.assertGreaterEqual(evicted, 10, f"port {server.port}")
            self.assertLessEqual(evicted, 50, f"port {server.port}")
            for t in trackers:
                self.assertIn(b">2\r\n$10\r\ninvalidate\r\n", t.recv(65536))
            c.call("CONFIG", "SET", "maxmemory", "0")

    def test_clients_evicted_for_their_output_before_any_key(self):
        """unit/maxmemory "eviction due to output buffers of many MGET
        clients, client eviction: true": 20 clients that never read their
        100 KB replies get evicted (maxmemory-clients 3mb) before any key
        is (maxmemory 11mb). An evicted client's output was freed only
        when its connection went, or its write in flight ended, after the
        next command's key eviction had counted it."""
        for server in self.servers():
            c = Client(server.port)
            self.addCleanup(c.close)
            for a in (("maxmemory", "11mb"), ("maxmemory-policy", "allkeys-lru"),
                      ("maxmemory-clients", "3mb")):
                c.call("CONFIG", "SET", *a)
            c.call("CLIENT", "NO-EVICT", "on")
            for j in range(50):
                c.call("SETRANGE", str(j), "100000", "x")
            readers = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(20)]
            for r in readers:
                self.addCleanup(r.close)
            # As the test: rounds of MGET until clients were evicted, here
            # 20 more rounds after the first (the keys went then).
            deadline = time.monotonic() + 30
            rounds_after = 0
            while True:
                evicted_clients = info_int(c, "stats", "evicted_clients")
                evicted_keys = info_int(c, "stats", "evicted_keys")
                rounds_after += evicted_clients > 0
                if rounds_after > 20 or evicted_keys > 0 or time.monotonic() > deadline:
                    break
                for r in readers:
                    try:
                        r.sendall(resp_command("MGET", "1"))
                    except OSError:
                        pass
            self.assertGreater(evicted_clients, 0, f"port {server.port}")
            self.assertEqual(evicted_keys, 0, f"port {server.port}")
            self.assertEqual(c.call("DBSIZE"), 50, f"port {server.port}")
            c.call("CONFIG", "SET", "maxmemory", "0")

    def test_stopped_replica_stream_is_not_counted_for_eviction(self):
        """unit/maxmemory "replica buffer don't induce eviction": a replica
        that stops reading holds the stream in its output, which
        mem_not_counted_for_evict covers (else maxmemory evicts keys for
        it). A shard thread's replica connection queued a post, a string and
        a queue entry per command streamed, which no figure counted."""
        for kind in ("shardnode", "redis"):
            primary, replica = primary_and_replica(self, kind)
            for j in range(20):
                primary.cli("SETRANGE", f"key:{j}", "100000", "asdf")
            primary.cli("CONFIG", "SET", "client-output-buffer-limit",
                        "replica 100000000 100000000 300")
            primary.cli("CONFIG", "SET", "repl-backlog-size", str(10 * 1024))
            self.assertEqual(replica.cli("REPLICAOF", "127.0.0.1", primary.port), "OK")
            wait_until(lambda: info(replica).get("master_link_status") == "up", timeout=30,
                       what=f"{kind}: link up")
            wait_until(lambda: info(replica)["master_repl_offset"] ==
                       info(primary)["master_repl_offset"], timeout=30, what=f"{kind}: caught up")

            def counted():
                m = info(primary, "memory")
                return (int(m["used_memory"]) - int(m["mem_not_counted_for_evict"]) -
                        int(m["mem_clients_normal"])), int(m["used_memory"])

            before, used_before = counted()
            os.kill(replica.proc.pid, signal.SIGSTOP)
            try:
                cmds = "SETRANGE key:0 0 AAAAAAAAAA\n" * 300000
                r = subprocess.run(["redis-cli", "-p", str(primary.port), "--pipe"], input=cmds,
                                   text=True, capture_output=True, timeout=120)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                after, used_after = counted()
            finally:
                os.kill(replica.proc.pid, signal.SIGCONT)
            self.assertGreater(used_after - used_before, 2 * 1024 * 1024, kind)  # held
            self.assertLess(abs(after - before), 512 * 1024, kind)  # and not counted



def shard_commands_on(node):
    return info(node, "threads").get("shard_commands") == "1"


def shard_thread_commands(node):
    """How many commands the node's shard threads ran (INFO threads)."""
    return int(info(node, "threads")["shard_thread_commands"])


def plain_script(rng, i, n):
    """A pipeline of client i's own keys (spread over every shard, so its
    commands hop between threads), with commands that stay on the control
    loop mixed in: multi-key commands across shards, a transaction, SELECT,
    errors."""
    cmds = []
    for k in range(n):
        key = f"c{i}:k{rng.randrange(40)}"
        pick = rng.randrange(16)
        if pick == 0:
            cmds.append(("SET", key, f"v{k}"))
        elif pick == 1:
            cmds.append(("GET", key))
        elif pick == 2:
            cmds.append(("INCR", f"c{i}:n{rng.randrange(8)}"))
        elif pick == 3:
            cmds.append(("RPUSH", f"c{i}:l{rng.randrange(4)}", str(k)))
        elif pick == 4:
            cmds.append(("LRANGE", f"c{i}:l{rng.randrange(4)}", "0", "-1"))
        elif pick == 5:
            cmds.append(("HSET", f"c{i}:h{rng.randrange(4)}", f"f{k % 5}", str(k)))
        elif pick == 6:
            cmds.append(("HGETALL", f"c{i}:h{rng.randrange(4)}"))
        elif pick == 7:
            cmds.append(("ZADD", f"c{i}:z", str(k % 13), f"m{k % 9}"))
        elif pick == 8:
            cmds.append(("ZRANGE", f"c{i}:z", "0", "-1", "WITHSCORES"))
        elif pick == 9:
            cmds.append(("DEL", key))
        elif pick == 10:
            cmds.append(("EXPIRE", key, "1000"))
        elif pick == 11:
            cmds.append(("MSET", f"c{i}:a{k}", "1", f"c{i}:b{k}", "2"))  # across shards
        elif pick == 12:
            cmds += [("MULTI",), ("INCR", f"c{i}:n0"), ("GET", key), ("EXEC",)]
        elif pick == 13:
            cmds += [("SELECT", "1"), ("SET", key, "db1"), ("GET", key), ("SELECT", "0")]
        elif pick == 14:
            cmds += [("PING",), ("ECHO", f"e{k}"), ("INCR", key), ("NOSUCH", key)]
        else:
            cmds += [("SADD", f"c{i}:s", str(k % 11)), ("SCARD", f"c{i}:s"), ("TYPE", key)]
    return cmds


@unittest.skipUnless(REDIS, "redis-server not installed")
class ShardThreadCommandsTest(unittest.TestCase):
    """Plain data commands run on the shard threads themselves (shard.h:
    Server::shard_commands, the global step): the replies and the data are
    Redis's, whichever thread ran each command."""

    def node_and_redis(self):
        """A shardnode at threads 4 and a redis-server, both stopped by the
        test's cleanup."""
        node = Node(args=["--threads", str(THREADS)]).start()
        self.addCleanup(node.cleanup)
        redis = RedisServer()
        self.addCleanup(redis.cleanup)
        return node, redis

    def test_maxmemory_clients_leaves_commands_on_shard_threads(self):
        """maxmemory-clients keeps a running total of the clients' memory:
        plain commands stay on the shard threads while it is under the
        limit (they ran all on the control loop while the limit was set),
        and a client over it is still evicted first, as in Redis."""
        node, redis = self.node_and_redis()
        for server in (node, redis):
            admin = Client(server.port)
            self.addCleanup(admin.close)
            self.assertEqual(admin.call("CLIENT", "NO-EVICT", "on"), "OK")
            self.assertEqual(admin.call("CONFIG", "SET", "maxmemory-clients", "2mb"), "OK")
            if server is node:
                wait_until(lambda: shard_commands_on(node), what="shard threads run commands")
                before = shard_thread_commands(node)
            writer = Client(server.port)
            self.addCleanup(writer.close)
            cmds = [("SET", f"k{i}", f"v{i}") for i in range(200)] + [("GET", "k7")]
            writer.sock.sendall(b"".join(resp_command(*c) for c in cmds))
            replies = [writer.read() for _ in cmds]
            self.assertEqual(replies[-1], b"v7")
            if server is node:
                self.assertGreater(shard_thread_commands(node) - before, 100)
            # A client whose argument (3 MB announced, 2.5 MB sent) passes the
            # limit goes; the writer stays and is served.
            big = Client(server.port)
            self.addCleanup(big.close)
            self.assertEqual(big.call("CLIENT", "SETNAME", "big"), "OK")
            try:
                big.sock.sendall(b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$3000000\r\n" +
                                 b"x" * 2500000)
            except OSError:
                pass
            wait_until(lambda: "name=big " not in admin.call("CLIENT", "LIST").decode(),
                       what=f"the big client evicted on {server.port}")
            self.assertEqual(info_int(admin, "stats", "evicted_clients"), 1)
            self.assertEqual(writer.call("GET", "k9"), b"v9")

    def test_pipelined_commands_hop_between_threads_as_redis_replies(self):
        node, redis = self.node_and_redis()
        wait_until(lambda: shard_commands_on(node), what="shard threads run commands")
        results = []
        total = 0
        for server in (node, redis):
            cs = [Client(server.port) for _ in range(12)]
            for c in cs:
                self.addCleanup(c.close)
            scripts = [plain_script(random.Random(i), i, 400) for i in range(len(cs))]
            total = sum(len(s) for s in scripts)
            for c, cmds in zip(cs, scripts):
                c.sock.sendall(b"".join(resp_command(*cmd) for cmd in cmds))
            replies = [[c.read() for _ in cmds] for c, cmds in zip(cs, scripts)]
            check = Client(server.port)
            self.addCleanup(check.close)
            state = []
            for i in range(len(cs)):
                for k in range(40):
                    state.append(check.call("GET", f"c{i}:k{k}"))
                for j in range(8):
                    state.append(check.call("GET", f"c{i}:n{j}"))
                state.append(check.call("LRANGE", f"c{i}:l0", "0", "-1"))
                state.append(check.call("ZRANGE", f"c{i}:z", "0", "-1", "WITHSCORES"))
                state.append(sorted(check.call("SMEMBERS", f"c{i}:s")))
            state.append(check.call("DBSIZE"))
            results.append((replies, state))
        self.assertEqual(results[0][0], results[1][0])
        self.assertEqual(results[0][1], results[1][1])
        # Most ran on the shard threads (a pipeline goes from thread to
        # thread with its keys; every keyspace shard has one).
        ran = shard_thread_commands(node)
        self.assertGreater(ran, total // 2)

    def test_keyspace_events_in_command_order(self):
        """notify-keyspace-events keeps commands on the shard threads: the
        events they raise are queued and published by the control loop in
        the order the commands ran, whichever shards their keys are in, as
        Redis publishes them (one client's pipeline and its single calls
        over keys of every shard)."""
        node, redis = self.node_and_redis()
        results = []
        for server in (node, redis):
            sub, writer = Client(server.port), Client(server.port)
            self.addCleanup(sub.close)
            self.addCleanup(writer.close)
            self.assertEqual(writer.call("CONFIG", "SET", "notify-keyspace-events", "KEA"), "OK")
            self.assertEqual(sub.call("PSUBSCRIBE", "__key*__:*")[0], b"psubscribe")
            if server is node:
                wait_until(lambda: shard_commands_on(node), what="shard threads run commands")
                before = shard_thread_commands(node)
            cmds = []
            for i in range(40):
                cmds += [("SET", f"k{i}", "v"), ("LPUSH", f"l{i % 7}", i), ("INCR", f"n{i % 5}"),
                         ("HSET", f"h{i % 3}", f"f{i}", i), ("EXPIRE", f"k{i}", 100)]
                if i % 4 == 0:
                    cmds.append(("DEL", f"k{i}"))
            writer.sock.sendall(b"".join(resp_command(*cmd) for cmd in cmds))
            for _ in cmds:
                self.assertNotIsInstance(writer.read(), Error)
            for i in range(20):
                self.assertEqual(writer.call("SADD", f"s{i}", "m"), 1)
                self.assertEqual(writer.call("RENAME", f"s{i}", f"t{i}"), "OK")
            events = []
            while len(events) < 2 * (len(cmds) + 20 * 3):
                msg = sub.read()
                self.assertEqual(msg[0], b"pmessage")
                events.append((msg[2], msg[3]))
            results.append(events)
            if server is node:
                self.assertTrue(shard_commands_on(node))
                ran = shard_thread_commands(node) - before
                self.assertGreater(ran, len(cmds) // 2)
        self.assertEqual(results[0], results[1])

    def test_tracking_clients_invalidated_as_redis_with_commands_on_shard_threads(self):
        """Client-side caching leaves commands on the shard threads: a
        command on a key a tracking client may cache (or under a BCAST
        prefix) runs on the control loop, which sends the invalidations;
        the other keys' commands run on the shard threads. The
        invalidations are Redis's."""
        node, redis = self.node_and_redis()
        results = []
        for server in (node, redis):
            sub, tracker, bsub, btracker = (Client(server.port) for _ in range(4))
            writers = [Client(server.port) for _ in range(8)]
            for c in [sub, tracker, bsub, btracker] + writers:
                self.addCleanup(c.close)
            sub_id, bsub_id = sub.call("CLIENT", "ID"), bsub.call("CLIENT", "ID")
            self.assertEqual(sub.call("SUBSCRIBE", "__redis__:invalidate")[0], b"subscribe")
            self.assertEqual(bsub.call("SUBSCRIBE", "__redis__:invalidate")[0], b"subscribe")
            self.assertEqual(tracker.call("CLIENT", "TRACKING", "on", "REDIRECT", str(sub_id)),
                             "OK")
            self.assertEqual(btracker.call("CLIENT", "TRACKING", "on", "REDIRECT", str(bsub_id),
                                           "BCAST", "PREFIX", "bc:"), "OK")
            keys = [f"tracked:{k}" for k in range(16)]
            for key in keys:
                self.assertIsNone(tracker.call("GET", key))
            if server is node:
                wait_until(lambda: shard_commands_on(node), what="shard threads run commands")
                before = shard_thread_commands(node)
            # Every write from any connection invalidates its key, once;
            # writes to other keys invalidate nothing.
            for n, key in enumerate(keys):
                w = writers[n % len(writers)]
                cmds = [("SET", f"other:{n}:{j}", j) for j in range(20)]
                cmds += [("SET", key, "x"), ("SET", f"bc:{n}", "y"), ("INCR", f"n:{n}")]
                w.sock.sendall(b"".join(resp_command(*cmd) for cmd in cmds))
                for _ in cmds:
                    self.assertNotIsInstance(w.read(), Error)
            got = []
            while len(got) < len(keys):
                msg = sub.read()
                self.assertEqual(msg[:2], [b"message", b"__redis__:invalidate"])
                got.extend(k.decode() for k in msg[2])
            bgot = set()
            while len(bgot) < len(keys):
                msg = bsub.read()
                self.assertEqual(msg[:2], [b"message", b"__redis__:invalidate"])
                bgot.update(k.decode() for k in msg[2])
            # Nothing more: the tracked keys are forgotten once invalidated.
            self.assertEqual(writers[0].call("SET", keys[0], "again"), "OK")
            sub.send("PING")
            self.assertEqual(sub.read(), [b"pong", b""])
            results.append((sorted(got), sorted(bgot)))
            if server is node:
                self.assertTrue(shard_commands_on(node))
                ran = shard_thread_commands(node) - before
                self.assertGreater(ran, 16 * 20 // 2)
                self.assertEqual(info(node, "stats")["tracking_total_keys"], "0")
        self.assertEqual(results[0], results[1])
        self.assertEqual(results[0][0], sorted(keys))

    def test_replica_reads_on_shard_threads_writes_refused_as_redis(self):
        """A replica at threads 4 keeps commands on its shard threads: its
        clients' reads run there (the primary's stream is applied on the
        control loop), a write gets Redis's READONLY error."""
        results = []
        for kind in ("shardnode", "redis"):
            if kind == "shardnode":
                primary = Node().start()
                replica = Node(args=["--threads", str(THREADS)]).start()
            else:
                primary, replica = RedisServer(), RedisServer()
            self.addCleanup(primary.cleanup)
            self.addCleanup(replica.cleanup)
            self.assertEqual(replica.cli("REPLICAOF", "127.0.0.1", primary.port), "OK")
            wait_until(lambda: info(replica).get("master_link_status") == "up", timeout=30,
                       what=f"{kind}: link up")
            p = Client(primary.port)
            self.addCleanup(p.close)
            for i in range(100):
                p.call("SET", f"k{i}", i)
                p.call("RPUSH", f"l{i % 9}", i)
            self.assertEqual(p.call("WAIT", "1", "10000"), 1)
            if kind == "shardnode":
                wait_until(lambda: shard_commands_on(replica), what="replica's shard threads on")
                before = shard_thread_commands(replica)
            r = Client(replica.port)
            self.addCleanup(r.close)
            cmds = [("GET", f"k{i}") for i in range(100)]
            cmds += [("LRANGE", f"l{i}", "0", "-1") for i in range(9)]
            cmds += [("SET", "k1", "x"), ("INCR", "n"), ("GET", "k1"), ("EXISTS", "n")]
            r.sock.sendall(b"".join(resp_command(*cmd) for cmd in cmds))
            results.append([r.read() for _ in cmds])
            if kind == "shardnode":
                ran = shard_thread_commands(replica) - before
                self.assertGreater(ran, 50)
        self.assertEqual(results[0], results[1])
        self.assertTrue(str(results[0][-4]).startswith("READONLY"))

    def test_maxmemory_keeps_commands_on_shard_threads_until_over(self):
        """With maxmemory set, commands run on the shard threads while the
        node is under it; over it they run on the control loop, which
        evicts first or refuses (noeviction) with Redis's OOM error."""
        node, redis = self.node_and_redis()
        errors = []
        for server in (node, redis):
            c = Client(server.port)
            self.addCleanup(c.close)
            self.assertEqual(c.call("CONFIG", "SET", "maxmemory", "1gb"), "OK")
            if server is node:
                wait_until(lambda: shard_commands_on(node), what="shard threads run commands")
                before = shard_thread_commands(node)
            for i in range(200):
                c.call("SET", f"k{i}", "x" * 100)
            if server is node:
                self.assertTrue(shard_commands_on(node))
                ran = shard_thread_commands(node) - before
                self.assertGreater(ran, 100)
            used = int(info(server, "memory")["used_memory"])
            self.assertEqual(c.call("CONFIG", "SET", "maxmemory-policy", "noeviction"), "OK")
            self.assertEqual(c.call("CONFIG", "SET", "maxmemory", str(used + 200 * 1024)), "OK")
            got = None
            for i in range(20000):
                got = c.call("SET", f"big{i}", "y" * 1000)
                if isinstance(got, Error):
                    break
            errors.append(got)
            # Reads still run (and are not refused) over the limit.
            self.assertEqual(c.call("GET", "k1"), b"x" * 100)
            self.assertEqual(c.call("CONFIG", "SET", "maxmemory", "0"), "OK")
        self.assertIsInstance(errors[0], Error)
        self.assertEqual(errors[0], errors[1])

    def test_normal_output_limit_closes_on_shard_threads_as_redis(self):
        """With an output limit for normal clients set, commands still run
        on the shard threads; a reply under the hard limit arrives whole, a
        GET whose reply passes it closes the client without a byte of it
        (as Redis's), and the other clients go on."""
        node, redis = self.node_and_redis()
        got = []
        for server in (node, redis):
            c = Client(server.port)
            self.addCleanup(c.close)
            self.assertEqual(c.call("CONFIG", "SET", "client-output-buffer-limit",
                                    "normal 1mb 0 0"), "OK")
            if server is node:
                wait_until(lambda: shard_commands_on(node), what="shard threads run commands")
                before = shard_thread_commands(node)
            for i in range(8):
                c.call("SET", f"small{i}", "s" * 100_000)
                c.call("SET", f"big{i}", "b" * 2_000_000)
            outcome = []
            for i in range(8):
                reader = Client(server.port, timeout=10)
                self.addCleanup(reader.close)
                outcome.append(len(reader.call("GET", f"small{i}")))
                reader.send("GET", f"big{i}")
                try:
                    outcome.append("replied %d" % len(reader.read()))
                except (ConnectionError, OSError):
                    outcome.append("closed")
                reader.close()
            if server is node:
                self.assertTrue(shard_commands_on(node))
                self.assertGreater(shard_thread_commands(node) - before, 16)
            outcome.append(c.call("PING"))
            self.assertEqual(c.call("CONFIG", "SET", "client-output-buffer-limit",
                                    "normal 0 0 0"), "OK")
            got.append(outcome)
        self.assertEqual(got[0], got[1])
        self.assertEqual(got[0][:2], [100_000, "closed"])

    def test_blocked_clients_keep_other_keys_on_shard_threads(self):
        """A client blocked on a key leaves commands on the shard threads;
        a command on the waited key runs on the control loop, which serves
        the waiter before the next command, as Redis: a pipelined
        `LPUSH q x` then `LLEN q` sees the element already popped."""
        node, redis = self.node_and_redis()
        results = []
        for server in (node, redis):
            waiters = [Client(server.port) for _ in range(3)]
            c = Client(server.port)
            for w in waiters + [c]:
                self.addCleanup(w.close)
            for i, w in enumerate(waiters):
                w.send("BLPOP", f"q{i}", "0")
            wait_until(lambda: info(server, "clients")["blocked_clients"] == "3",
                       what="three clients blocked")
            if server is node:
                wait_until(lambda: shard_commands_on(node), what="shard threads run commands")
                before = shard_thread_commands(node)
            cmds = []
            for k in range(60):
                cmds += [("SET", f"k{k}", k), ("INCR", f"n{k % 7}"), ("RPUSH", f"l{k % 5}", k)]
            for i in range(3):
                cmds += [("LPUSH", f"q{i}", "a", "b"), ("LLEN", f"q{i}"), ("LRANGE", f"q{i}", "0", "-1")]
            c.sock.sendall(b"".join(resp_command(*cmd) for cmd in cmds))
            replies = [c.read() for _ in cmds]
            popped = [w.read() for w in waiters]
            results.append((replies, popped))
            if server is node:
                ran = shard_thread_commands(node) - before
                self.assertGreater(ran, 100)
                self.assertTrue(shard_commands_on(node))
        self.assertEqual(results[0], results[1])

    def test_client_info_counts_its_own_bytes_in_qbuf_as_redis(self):
        """CLIENT INFO / LIST run on the control loop, handed over by the
        connection's shard thread: the query buffer figure still holds the
        command's own bytes (and what follows it), as Redis's does."""
        node, redis = self.node_and_redis()
        wait_until(lambda: shard_commands_on(node), what="shard threads run commands")
        got = []
        for server in (node, redis):
            c = Client(server.port)
            self.addCleanup(c.close)
            qbufs = []
            for cmd in (("CLIENT", "INFO"), ("CLIENT", "LIST")):
                qbufs.append(c.call(*cmd).decode().split(" qbuf=")[1].split(" ")[0])
            # Pipelined behind a plain command, with one after it.
            c.sock.sendall(resp_command("SET", "k", "v") + resp_command("CLIENT", "INFO") +
                           resp_command("GET", "k"))
            self.assertEqual(c.read(), "OK")
            qbufs.append(c.read().decode().split(" qbuf=")[1].split(" ")[0])
            self.assertEqual(c.read(), b"v")
            got.append(qbufs)
        self.assertEqual(got[0], got[1])
        self.assertEqual(got[1][:2], ["26", "26"])

    def test_client_pause_holds_what_redis_holds_and_reads_go_on(self):
        """CLIENT PAUSE WRITE keeps reads on the shard threads while the
        writes wait for its end, and PAUSE ALL holds every command, as
        Redis does (same replies, writes answered only after the pause)."""
        node, redis = self.node_and_redis()
        wait_until(lambda: shard_commands_on(node), what="shard threads run commands")
        for server in (node, redis):
            admin, c = Client(server.port), Client(server.port)
            self.addCleanup(admin.close)
            self.addCleanup(c.close)
            for k in range(20):
                self.assertEqual(c.call("SET", f"k{k}", k), "OK")
            before = shard_thread_commands(node) if server is node else 0
            t0 = time.monotonic()
            self.assertEqual(admin.call("CLIENT", "PAUSE", "1000", "WRITE"), "OK")
            for k in range(20):
                self.assertEqual(c.call("GET", f"k{k}"), str(k).encode())
            self.assertLess(time.monotonic() - t0, 0.9, "reads waited for the pause")
            if server is node:
                # The reads ran on the shard threads during the pause (the
                # INFO calls themselves run on the control loop).
                self.assertGreaterEqual(shard_thread_commands(node) - before, 20)
            c.sock.sendall(resp_command("SET", "k0", "w") + resp_command("GET", "k0"))
            self.assertEqual(c.read(), "OK")
            self.assertGreaterEqual(time.monotonic() - t0, 0.95, "a write ran during the pause")
            self.assertEqual(c.read(), b"w")
            t1 = time.monotonic()
            self.assertEqual(admin.call("CLIENT", "PAUSE", "500", "ALL"), "OK")
            self.assertEqual(c.call("GET", "k1"), b"1")
            self.assertGreaterEqual(time.monotonic() - t1, 0.45, "a read ran during PAUSE ALL")

    def test_monitor_sees_shard_thread_commands_in_order(self):
        """A MONITOR client keeps commands on the shard threads: their lines
        reach it through the control loop in the order the commands ran, as
        Redis's (timestamps and client addresses aside)."""
        node, redis = self.node_and_redis()
        results = []
        for server in (node, redis):
            mon, writer = Client(server.port), Client(server.port)
            self.addCleanup(mon.close)
            self.addCleanup(writer.close)
            if server is node:  # (INFO, before MONITOR: it would show)
                wait_until(lambda: shard_commands_on(node), what="shard threads run commands")
                before = shard_thread_commands(node)
            self.assertEqual(mon.call("MONITOR"), "OK")
            cmds = []
            for i in range(60):
                cmds += [("SET", f"k{i}", f"v{i}"), ("INCR", f"n{i % 7}"),
                         ("HSET", f"h{i % 5}", "f", i), ("GET", f"k{(i * 7) % 60}")]
            writer.sock.sendall(b"".join(resp_command(*cmd) for cmd in cmds))
            for _ in cmds:
                self.assertNotIsInstance(writer.read(), Error)
            for i in range(10):
                self.assertEqual(writer.call("SET", f"single{i}", "x"), "OK")
            lines = []
            while len(lines) < len(cmds) + 10:
                line = mon.read()
                text = line if isinstance(line, str) else line.decode()
                lines.append(text.split("] ", 1)[1])
            if server is node:
                ran = shard_thread_commands(node) - before
            results.append(lines)
        self.assertEqual(results[0], results[1])
        self.assertGreater(ran, len(cmds) // 2)

    def test_latency_monitor_records_commands_of_shard_threads(self):
        """latency-monitor-threshold keeps commands on the shard threads,
        which record their slow commands in the node's latency monitor."""
        node = Node(args=["--threads", str(THREADS)]).start()
        self.addCleanup(node.cleanup)
        c = Client(node.port)
        self.addCleanup(c.close)
        self.assertEqual(c.call("CONFIG", "SET", "latency-monitor-threshold", "1"), "OK")
        wait_until(lambda: shard_commands_on(node), what="shard threads run commands")
        before = shard_thread_commands(node)
        for start in range(0, 300000, 10000):
            c.call("RPUSH", "big", *range(start, start + 10000))
        deadline = time.time() + 30
        while time.time() < deadline:
            self.assertEqual(len(c.call("LRANGE", "big", "0", "-1")), 300000)
            if any(e[0] == b"command" for e in c.call("LATENCY", "LATEST")):
                break
        events = c.call("LATENCY", "LATEST")
        self.assertIn(b"command", [e[0] for e in events])
        self.assertTrue(shard_commands_on(node))
        self.assertGreater(shard_thread_commands(node) - before, 20)

    def test_replica_gets_the_writes_of_every_thread_in_order(self):
        """Writes that shard threads ran reach the write stream whole, in
        order, before anything the control loop does next (WAIT counts
        them): a redis-server replica ends with the primary's data."""
        primary = Node(args=["--threads", str(THREADS)]).start()
        self.addCleanup(primary.cleanup)
        replica = RedisServer()
        self.addCleanup(replica.cleanup)
        self.assertEqual(replica.cli("REPLICAOF", "127.0.0.1", primary.port), "OK")
        wait_until(lambda: info(replica).get("master_link_status") == "up", timeout=30,
                   what="link up")
        wait_until(lambda: shard_commands_on(primary), what="shard threads run commands")
        cs = [Client(primary.port) for _ in range(8)]
        for c in cs:
            self.addCleanup(c.close)
        for rnd in range(3):
            for i, c in enumerate(cs):
                cmds = []
                for k in range(300):
                    cmds.append(("INCR", f"n:{i}:{k % 17}"))
                    cmds.append(("RPUSH", f"l:{i}:{k % 5}", f"{rnd}:{k}"))
                c.sock.sendall(b"".join(resp_command(*cmd) for cmd in cmds))
            for c in cs:
                for _ in range(600):
                    self.assertNotIsInstance(c.read(), Error)
            self.assertEqual(cs[0].call("WAIT", "1", "10000"), 1)
        wait_until(lambda: info(replica)["master_repl_offset"] ==
                   info(primary)["master_repl_offset"], timeout=30, what="replica caught up")
        p, r = Client(primary.port), Client(replica.port)
        self.addCleanup(p.close)
        self.addCleanup(r.close)
        for i in range(len(cs)):
            for k in range(17):
                self.assertEqual(p.call("GET", f"n:{i}:{k}"), r.call("GET", f"n:{i}:{k}"))
            for k in range(5):
                self.assertEqual(p.call("LRANGE", f"l:{i}:{k}", "0", "-1"),
                                 r.call("LRANGE", f"l:{i}:{k}", "0", "-1"))
        self.assertEqual(p.call("DBSIZE"), r.call("DBSIZE"))
        self.assertGreater(shard_thread_commands(primary), 0)


def aof_incr_bytes(server):
    """The first incr file of `server`'s AOF folder (Redis 7.0's names)."""
    path = os.path.join(server.dir, "appendonlydir", "appendonly.aof.1.incr.aof")
    with open(path, "rb") as f:
        return f.read()


@unittest.skipUnless(REDIS, "redis-server not installed")
class AofOnShardThreadsTest(unittest.TestCase):
    """appendonly yes keeps the plain data commands on the shard threads,
    and with appendfsync always no reply leaves before the AOF wrote (and
    fsynced) the write it acknowledges, as Redis writes the AOF before it
    sends the replies of a pass: each reply is checked against the incr
    file as soon as it arrives, shardnode's AOF writing slowly (DEBUG
    AOF-FLUSH-SLEEP: a reply sent before its write would be read before the
    file has it). (With everysec Redis may send replies before the write,
    postponed while a background fsync runs; only the file's end state is
    checked then.) Against redis-server in the same test, and the file
    loads back to the same data."""

    def check_replies_follow_the_file(self, server, tag, each_reply):
        cs = [Client(server.port) for _ in range(6)]
        for c in cs:
            self.addCleanup(c.close)
        for rnd in range(12):
            for i, c in enumerate(cs):
                # One call: its reply is read at once.
                value = f"{tag}:one:{rnd}:{i}"
                self.assertEqual(c.call("SET", f"k:{i}:{rnd % 5}", value), "OK")
                if each_reply:
                    self.assertTrue(value.encode() in aof_incr_bytes(server), value)
            # Pipelines over keys of every shard, with writes of other kinds.
            batch = []
            for i, c in enumerate(cs):
                cmds = []
                for k in range(10):
                    cmds.append(("RPUSH", f"l:{i}:{k % 3}", f"{tag}:p:{rnd}:{i}:{k}"))
                    cmds.append(("GET", f"k:{i}:{k % 5}"))
                c.sock.sendall(b"".join(resp_command(*cmd) for cmd in cmds))
                batch.append((c, cmds))
            for c, cmds in batch:
                for cmd in cmds:
                    reply = c.read()
                    self.assertNotIsInstance(reply, Error)
                    if each_reply and cmd[0] == "RPUSH":
                        self.assertTrue(cmd[2].encode() in aof_incr_bytes(server), cmd)
        state = Client(server.port)
        self.addCleanup(state.close)
        keys = sorted(state.call("KEYS", "*"))
        return keys, [state.call("DUMP", k) for k in keys]

    def test_replies_wait_for_the_aof_writes(self):
        for fsync in ("always", "everysec"):
            with self.subTest(fsync):
                args = ["--appendonly", "yes", "--appendfsync", fsync]
                node = Node(args=["--threads", str(THREADS)] + args).start()
                self.addCleanup(node.cleanup)
                redis = RedisServer(args=args)
                self.addCleanup(redis.cleanup)
                admin = Client(node.port)
                self.addCleanup(admin.close)
                self.assertEqual(admin.call("DEBUG", "AOF-FLUSH-SLEEP", "3000"), "OK")
                wait_until(lambda: shard_commands_on(node), what="shard threads run commands")
                before = shard_thread_commands(node)
                each_reply = fsync == "always"
                got = self.check_replies_follow_the_file(node, "v", each_reply)
                want = self.check_replies_follow_the_file(redis, "v", each_reply)
                self.assertEqual(got[0], want[0])
                # The writes ran on the shard threads (12 rounds of 6 single
                # SETs and 6 pipelines of 20).
                self.assertGreater(shard_thread_commands(node) - before, 12 * 6 * 21 // 2)
                # The file holds them all, in an order that loads back.
                self.assertEqual(admin.call("DEBUG", "LOADAOF"), "OK")
                keys = sorted(admin.call("KEYS", "*"))
                self.assertEqual(keys, got[0])
                self.assertEqual([admin.call("DUMP", k) for k in keys], got[1])

    def test_replies_wait_for_the_aof_writes_at_threads_1(self):
        """The same at threads 1, where the AOF's pass ends once a turn of
        the loop brought no more writes (Aof::FlushAtPassEnd): no reply
        leaves before its write is in the file."""
        args = ["--appendonly", "yes", "--appendfsync", "always"]
        node = Node(args=["--threads", "1"] + args).start()
        self.addCleanup(node.cleanup)
        admin = Client(node.port)
        self.addCleanup(admin.close)
        self.assertEqual(admin.call("DEBUG", "AOF-FLUSH-SLEEP", "3000"), "OK")
        keys, dumps = self.check_replies_follow_the_file(node, "t1", True)
        self.assertEqual(len(keys), 6 * 5 + 6 * 3)
        self.assertEqual(admin.call("DEBUG", "LOADAOF"), "OK")
        self.assertEqual(sorted(admin.call("KEYS", "*")), keys)
        self.assertEqual([admin.call("DUMP", k) for k in keys], dumps)


@unittest.skipUnless(REDIS, "redis-server not installed")
class SnapshotOnShardThreadsTest(unittest.TestCase):
    """A live snapshot (BGSAVE walking slowly: rdb-key-save-delay) keeps the
    plain data commands on the shard threads; their writes save the old
    values first (copy-on-write), so the file holds the dataset at the
    BGSAVE's instant: redis-server loads it with every old value and
    without the keys created since."""

    def test_bgsave_under_shard_thread_writes_saves_its_instant(self):
        node = Node(args=["--threads", str(THREADS)]).start()
        self.addCleanup(node.cleanup)
        c = Client(node.port)
        self.addCleanup(c.close)
        n = 400
        cmds = []
        for k in range(n):
            cmds.append(("SET", f"s:{k}", f"old{k}"))
            cmds.append(("RPUSH", f"l:{k % 40}", f"old{k}"))
        c.sock.sendall(b"".join(resp_command(*cmd) for cmd in cmds))
        for _ in cmds:
            self.assertNotIsInstance(c.read(), Error)
        self.assertEqual(c.call("CONFIG", "SET", "rdb-key-save-delay", "5000"), "OK")
        self.assertEqual(c.call("BGSAVE"), "Background saving started")
        wait_until(lambda: shard_commands_on(node), what="shard threads run commands")
        before = shard_thread_commands(node)
        writers = [Client(node.port) for _ in range(4)]
        for w in writers:
            self.addCleanup(w.close)
        for i, w in enumerate(writers):
            batch = []
            for k in range(i, n, len(writers)):
                batch += [("SET", f"s:{k}", f"new{k}"), ("RPUSH", f"l:{k % 40}", f"new{k}"),
                          ("SET", f"fresh:{k}", "x"), ("DEL", f"l:{(k + 7) % 40}")]
            w.sock.sendall(b"".join(resp_command(*cmd) for cmd in batch))
            w.batch = batch
        for w in writers:
            for _ in w.batch:
                self.assertNotIsInstance(w.read(), Error)
        # The writes ran on the shard threads while the save went on.
        self.assertEqual(info(node, "persistence")["rdb_bgsave_in_progress"], "1")
        self.assertGreater(shard_thread_commands(node) - before, n)
        self.assertEqual(c.call("CONFIG", "SET", "rdb-key-save-delay", "0"), "OK")
        wait_until(lambda: info(node, "persistence")["rdb_bgsave_in_progress"] == "0",
                   timeout=60, what="BGSAVE done")
        self.assertEqual(info(node, "persistence")["rdb_last_bgsave_status"], "ok")
        redis = RedisServer(args=["--dbfilename", "dump.rdb"])
        self.addCleanup(redis.cleanup)
        redis.stop()
        with open(os.path.join(node.dir, "dump.rdb"), "rb") as src, \
                open(os.path.join(redis.dir, "dump.rdb"), "wb") as dst:
            dst.write(src.read())
        redis.start()
        r = Client(redis.port)
        self.addCleanup(r.close)
        self.assertEqual(r.call("DBSIZE"), n + 40)
        for k in range(n):
            self.assertEqual(r.call("GET", f"s:{k}"), f"old{k}".encode())
        for j in range(40):
            self.assertEqual(r.call("LRANGE", f"l:{j}", "0", "-1"),
                             [f"old{k}".encode() for k in range(j, n, 40)])


@unittest.skipUnless(REDIS, "redis-server not installed")
class MigrateOnShardThreadsTest(unittest.TestCase):
    """While a MIGRATE moves a big key (sliced, to a redis-server target),
    the commands on other keys keep running on the shard threads; a command
    on the key in flight goes to the control loop, waits for the MIGRATE
    and then finds the key gone, as in test_migrate.py at threads 1."""

    def test_migrate_keeps_other_keys_on_shard_threads(self):
        node = Node(args=["--threads", str(THREADS)]).start()
        self.addCleanup(node.cleanup)
        redis = RedisServer()
        self.addCleanup(redis.cleanup)
        s = Client(node.port, timeout=60)
        self.addCleanup(s.close)
        fields = 300_000
        for start in range(0, fields, 10_000):
            args = []
            for i in range(start, start + 10_000):
                args += [f"field:{i}", f"value:{i:08d}" * 4]
            s.call("HSET", "big", *args)
        wait_until(lambda: shard_commands_on(node), what="shard threads run commands")
        reply = {}

        def run_migrate():
            c = Client(node.port, timeout=60)
            reply["r"] = c.call("MIGRATE", "127.0.0.1", str(redis.port), "big", "0", "30000")
            c.close()

        t = threading.Thread(target=run_migrate)
        t.start()
        self.addCleanup(t.join, 60)
        wait_until(lambda: "cmd=migrate" in node.cli("CLIENT", "LIST") or "r" in reply,
                   timeout=20, what="MIGRATE running")
        before = shard_thread_commands(node)
        probe = Client(node.port, timeout=60)
        self.addCleanup(probe.close)
        cmds = []
        for k in range(100):
            cmds += [("SET", f"k{k}", k), ("GET", f"k{k}")]
        probe.sock.sendall(b"".join(resp_command(*cmd) for cmd in cmds))
        for k in range(100):
            self.assertEqual(probe.read(), "OK")
            self.assertEqual(probe.read(), str(k).encode())
        ran = shard_thread_commands(node) - before
        in_progress = "r" not in reply
        hlen = probe.call("HLEN", "big")  # waits for the MIGRATE
        t.join(60)
        self.assertEqual(reply.get("r"), "OK")
        self.assertTrue(in_progress, "the MIGRATE ended before the probe's commands")
        self.assertGreaterEqual(ran, 150)
        self.assertEqual(hlen, 0)
        r = Client(redis.port)
        self.addCleanup(r.close)
        self.assertEqual(r.call("HLEN", "big"), fields)


if __name__ == "__main__":
    unittest.main()
