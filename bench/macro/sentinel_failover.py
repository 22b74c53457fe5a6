#!/usr/bin/env python3
"""Sentinel failover time: shardnode sentinels vs redis-sentinel 7.0.15.

For each down-after-milliseconds (default 1000 and 5000) and each repetition,
starts one primary, two replicas and three sentinels (quorum 2,
failover-timeout 60000), once with shardnode in every role and once with
redis-server + redis-sentinel (order alternating per repetition), waits until
every sentinel knows both replicas and both other sentinels, settles 2 s,
subscribes a client to +switch-master on one sentinel and kills the primary
with SIGKILL. Then polls every --poll-ms:

  to switch    time from the kill until the subscribed client receives
               +switch-master;
  to writes    time until one of the replicas answers SET with +OK (it was
               promoted: a replica answers -READONLY).

Prints the median (and min..max) of each, in ms, and the ratio
shardnode/redis. Usage:

  bench/macro/sentinel_failover.py [--down-after 1000,5000] [--repeat 3]
                                   [--poll-ms 10] [--shardnode build/shardnode]

Every process it starts is stopped by its pid.
"""
import argparse
import os
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REDIS_SERVER = shutil.which("redis-server")
REDIS_SENTINEL = shutil.which("redis-sentinel")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def encode(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def call(port, *args, timeout=1.0):
    """One command on a new connection; the reply's first line (bulk and
    array bodies are read and joined with newlines)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(encode(*args))
        f = s.makefile("rb")
        return read_reply(f)


def read_reply(f):
    line = f.readline().rstrip(b"\r\n").decode(errors="replace")
    if not line:
        raise OSError("closed")
    t, rest = line[0], line[1:]
    if t in "+-:":
        return line
    if t == "$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data.decode(errors="replace")
    if t == "*":
        n = int(rest)
        return [read_reply(f) for _ in range(max(n, 0))]
    return line


def wait(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if pred():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


class Setup:
    def __init__(self, kind, down_after, shardnode):
        # kind: "shardnode", "redis", or "<data>/<sentinel>" for a mixed
        # deployment ("redis/shardnode": redis-server data nodes watched by
        # shardnode sentinels).
        data_kind, _, sentinel_kind = kind.partition("/")
        sentinel_kind = sentinel_kind or data_kind
        self.dir = tempfile.mkdtemp(prefix="sentinel-bench-")
        self.procs = []
        server = shardnode if data_kind == "shardnode" else REDIS_SERVER
        self.data_ports = [free_port() for _ in range(3)]
        for i, port in enumerate(self.data_ports):
            d = os.path.join(self.dir, str(port))
            os.makedirs(d)
            conf = os.path.join(d, "node.conf")
            with open(conf, "w") as f:
                if i > 0:
                    f.write(f"replicaof 127.0.0.1 {self.data_ports[0]}\n")
            self.start([server, conf, "--port", str(port), "--bind", "127.0.0.1", "--dir", d,
                        "--save", "", "--repl-diskless-sync-delay", "0"], d)
        for port in self.data_ports:
            wait(lambda port=port: call(port, "PING") == "+PONG", 10, "data node up")
        for port in self.data_ports[1:]:
            wait(lambda port=port: "master_link_status:up" in call(port, "INFO", "replication"),
                 20, "replica link up")
        self.sentinel_ports = [free_port() for _ in range(3)]
        for port in self.sentinel_ports:
            d = os.path.join(self.dir, f"s{port}")
            os.makedirs(d)
            conf = os.path.join(d, "sentinel.conf")
            with open(conf, "w") as f:
                f.write(f"port {port}\nbind 127.0.0.1\ndir {d}\nlogfile {d}/log.txt\n"
                        f"sentinel monitor mymaster 127.0.0.1 {self.data_ports[0]} 2\n"
                        f"sentinel down-after-milliseconds mymaster {down_after}\n"
                        f"sentinel failover-timeout mymaster 60000\n")
            if sentinel_kind == "shardnode":
                self.start([shardnode, conf, "--sentinel"], d)
            else:
                self.start([REDIS_SENTINEL, conf], d)

        def discovered():
            for port in self.sentinel_ports:
                r = call(port, "SENTINEL", "MASTER", "mymaster")
                f = dict(zip(r[0::2], r[1::2]))
                if f.get("num-slaves") != "2" or f.get("num-other-sentinels") != "2":
                    return False
            return True

        wait(discovered, 60, "sentinel discovery")
        time.sleep(2)

    def start(self, cmd, cwd):
        log = open(os.path.join(cwd, "stdout.txt"), "wb")
        self.procs.append(subprocess.Popen(cmd, cwd=cwd, stdout=log, stderr=subprocess.STDOUT))

    def measure(self, poll_ms):
        sub = socket.create_connection(("127.0.0.1", self.sentinel_ports[0]))
        sub.sendall(encode("SUBSCRIBE", "+switch-master"))
        sub.recv(4096)  # the subscribe confirmation
        sub.setblocking(False)
        primary = self.procs[0]
        primary.send_signal(signal.SIGKILL)
        t0 = time.monotonic()
        with open(os.path.join(self.dir, "kill.txt"), "w") as f:
            f.write(time.strftime("%H:%M:%S", time.localtime()) + f".{int(time.time() * 1000) % 1000:03d}\n")
        primary.wait()
        switch = writes = None
        buf = b""
        while switch is None or writes is None:
            now = time.monotonic()
            if now - t0 > 120:
                raise RuntimeError("no failover within 120 s")
            if switch is None:
                r, _, _ = select.select([sub], [], [], 0)
                if r:
                    buf += sub.recv(4096)
                    if b"+switch-master" in buf and b"message" in buf:
                        switch = (time.monotonic() - t0) * 1000
            if writes is None:
                for port in self.data_ports[1:]:
                    try:
                        if call(port, "SET", "bench", "1", timeout=0.2) == "+OK":
                            writes = (time.monotonic() - t0) * 1000
                            break
                    except OSError:
                        pass
            time.sleep(poll_ms / 1000)
        sub.close()
        return switch, writes

    def stop(self, keep_logs=None):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if keep_logs:
            shutil.copytree(self.dir, keep_logs, dirs_exist_ok=True)
        shutil.rmtree(self.dir, ignore_errors=True)


def fmt(values):
    return f"{statistics.median(values):.0f} ({min(values):.0f}..{max(values):.0f})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--down-after", default="1000,5000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--poll-ms", type=int, default=10)
    ap.add_argument("--shardnode", default="build/shardnode")
    ap.add_argument("--kinds", default="shardnode,redis",
                    help="the two deployments compared (first vs second); besides "
                    "shardnode and redis, <data>/<sentinel> mixes them, e.g. "
                    "redis/shardnode for shardnode sentinels over redis-server")
    ap.add_argument("--keep-logs", default=None,
                    help="copy each run's directory (sentinel logs) under this one")
    a = ap.parse_args()
    kinds = a.kinds.split(",")
    shardnode = os.path.abspath(a.shardnode)
    if REDIS_SERVER is None or REDIS_SENTINEL is None:
        sys.exit("redis-server and redis-sentinel are needed")
    print(f"| down-after | event | {kinds[0]} ms | {kinds[1]} ms | ratio |")
    print("|---|---|---|---|---|")
    for down_after in [int(x) for x in a.down_after.split(",")]:
        results = {k: ([], []) for k in kinds}
        for i in range(a.repeat):
            order = kinds if i % 2 == 0 else kinds[::-1]
            for kind in order:
                setup = Setup(kind, down_after, shardnode)
                keep = None
                if a.keep_logs:
                    keep = os.path.join(a.keep_logs,
                                        f"{kind.replace('/', '-')}-{down_after}-{i}")
                try:
                    switch, writes = setup.measure(a.poll_ms)
                finally:
                    setup.stop(keep)
                results[kind][0].append(switch)
                results[kind][1].append(writes)
        for j, event in enumerate(["kill -9 -> +switch-master", "kill -9 -> writes accepted"]):
            s, r = results[kinds[0]][j], results[kinds[1]][j]
            print(f"| {down_after} | {event} | {fmt(s)} | {fmt(r)} | "
                  f"{statistics.median(s) / statistics.median(r):.2f} |", flush=True)


if __name__ == "__main__":
    main()
