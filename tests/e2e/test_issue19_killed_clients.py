"""Issue 19: a client that is gone (its process killed, its socket closed)
leaves CLIENT LIST within a bounded time, whatever it left behind: replies it
never read, output the server still had to write, a blocked command.

Redis's integration/replication.tcl ("Connect multiple replicas at the same
time") kills its load generators, which pipeline writes without reading a
reply, and waits for them to leave CLIENT LIST. shardnode once kept such a
client forever: a plain socket's read takes a short recv as emptying the
socket and waits for the next edge-triggered event, so a FIN or RST that
came with the client's last bytes was never seen, and a write that failed on
the reset did not wake the reader either.

Each scenario runs against shardnode and redis-server 7.0.15. The scenarios
that need the close to arrive together with the client's last command make
the server busy (DEBUG SLEEP) while the client sends and closes: the short
pause before the client sends only makes that overlap likely; the checks
themselves poll with deadlines."""
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Client, Node, REDIS_SERVER, RedisServer, client_list_field,  # noqa: E402
                     info_int, resp_command, wait_until)

GONE_WITHIN = 5.0  # seconds; Redis frees such a client on its next event loop pass
SLEEP = 1.0        # DEBUG SLEEP's length in the scenarios that overlap with it


def gone(c, name):
    return client_list_field(c, name, "id") is None


def named_client(port, name):
    b = Client(port)
    assert b.call("CLIENT", "SETNAME", name) == "OK"
    return b


def while_asleep(admin, port, act):
    """Runs `act` while the server sleeps in a DEBUG SLEEP sent by another
    connection; returns once the server answers `admin` again."""
    sleeper = Client(port, timeout=SLEEP + 10)
    sleeper.send("DEBUG", "SLEEP", str(SLEEP))
    # Let the server start sleeping before `act` sends (see the module text).
    time.sleep(0.2)
    act()
    assert sleeper.read() == "OK"
    sleeper.close()
    assert admin.call("PING") == "PONG"


def scenario_blocked_closed_with_its_command(port):
    """A BLPOP and the close arrive together: the client is unblocked and gone."""
    admin = Client(port)
    b = named_client(port, "blocked-closer")

    def act():
        b.send("BLPOP", "issue19-none", "0")
        b.close()

    while_asleep(admin, port, act)
    wait_until(lambda: gone(admin, "blocked-closer"), timeout=GONE_WITHIN,
               what="the closed blocked client to leave CLIENT LIST")
    wait_until(lambda: info_int(admin, "clients", "blocked_clients") == 0, timeout=GONE_WITHIN,
               what="blocked_clients to drop to 0")
    admin.close()


def scenario_unread_reply_then_reset(port):
    """A client with a reply it never read sends one more command and
    closes (the kernel resets the connection): the server's reply to that
    command fails, and the client is gone."""
    admin = Client(port)
    b = named_client(port, "unread-closer")
    b.send("PING")  # its +PONG is never read
    wait_until(lambda: client_list_field(admin, "unread-closer", "cmd") == "ping",
               timeout=GONE_WITHIN, what="the PING to run")

    def act():
        b.send("SET", "issue19-k", "v")
        b.close()

    while_asleep(admin, port, act)
    wait_until(lambda: gone(admin, "unread-closer"), timeout=GONE_WITHIN,
               what="the reset client to leave CLIENT LIST")
    admin.close()


def scenario_pending_output_then_reset(port):
    """A client that reads nothing while the server has megabytes of replies
    for it (pending output), then closes."""
    admin = Client(port)
    assert admin.call("SET", "issue19-big", "x" * (1 << 20)) == "OK"
    b = named_client(port, "pending-closer")
    b.sock.sendall(resp_command("GET", "issue19-big") * 16)
    wait_until(lambda: int(client_list_field(admin, "pending-closer", "omem") or 0) > 0,
               timeout=GONE_WITHIN, what="output to pend for the client")
    b.close()
    wait_until(lambda: gone(admin, "pending-closer"), timeout=GONE_WITHIN,
               what="the client with pending output to leave CLIENT LIST")
    admin.close()


LOADER = r"""
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$13\r\nkilled-loader\r\n")
cmd = (b"*3\r\n$3\r\nSET\r\n$9\r\nissue19-l\r\n$5\r\nvalue\r\n"
       b"*2\r\n$3\r\nGET\r\n$12\r\nissue19-lbig\r\n")  # big replies fill the buffers soon
while True:  # replies are never read, as Redis's gen_write_load.tcl
    s.sendall(cmd * 16)
"""


def scenario_killed_loader(port):
    """A process that pipelines writes without reading any reply, killed
    with SIGKILL while it writes."""
    admin = Client(port)
    assert admin.call("SET", "issue19-lbig", "y" * (64 << 10)) == "OK"
    proc = subprocess.Popen([sys.executable, "-c", LOADER, str(port)])
    try:
        # Its last command is SET or GET (GET's big replies fill the buffers,
        # after which the server reads no more from it).
        wait_until(lambda: client_list_field(admin, "killed-loader", "cmd") in ("set", "get"),
                   timeout=GONE_WITHIN, what="the loader to write")
        wait_until(lambda: int(client_list_field(admin, "killed-loader", "omem") or 0) > 0,
                   timeout=30, what="replies to pend for the loader")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    wait_until(lambda: gone(admin, "killed-loader"), timeout=GONE_WITHIN,
               what="the killed loader to leave CLIENT LIST")
    assert admin.call("PING") == "PONG"
    admin.close()


SCENARIOS = [scenario_blocked_closed_with_its_command, scenario_unread_reply_then_reset,
             scenario_pending_output_then_reset, scenario_killed_loader]


class KilledClientsLeave(unittest.TestCase):
    def run_all(self, port):
        for scenario in SCENARIOS:
            with self.subTest(scenario.__name__):
                scenario(port)

    def test_shardnode(self):
        with Node() as node:
            self.run_all(node.port)

    @unittest.skipUnless(REDIS_SERVER, "redis-server not installed")
    def test_redis_server(self):
        node = RedisServer()
        try:
            self.run_all(node.port)
        finally:
            node.stop()
            node.cleanup()


if __name__ == "__main__":
    unittest.main()
