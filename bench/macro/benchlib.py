"""Shared helpers of the side-by-side benchmark scripts in bench/macro/.

Starts shardnode and redis-server processes on free loopback ports (each in
its own temporary folder), talks RESP to them over a plain socket, reads a
process's CPU time and RSS from /proc, runs redis-benchmark, and stops every
process it started by its pid. Nothing here asserts timings: the scripts
print tables of ratios.
"""
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_SHARDNODE = os.path.join(ROOT, "build", "shardnode")
DEFAULT_REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"

_used_ports = set()


def free_port(bus=False):
    """A free loopback port; with bus=True, port + 10000 is free as well."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port > 55535 or port in _used_ports or port + 10000 in _used_ports:
            continue
        if bus:
            try:
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        _used_ports.update((port, port + 10000))
        return port


class Conn:
    """A minimal blocking RESP2 client (enough for polling and loading)."""

    def __init__(self, port, timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def close(self):
        self.sock.close()

    @staticmethod
    def encode(*args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if not isinstance(a, bytes):
                a = str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b":"):
            return rest.decode() if kind == b"+" else int(rest)
        if kind == b"-":
            return RuntimeError(rest.decode())
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n).decode(errors="replace")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise ValueError(f"unexpected reply line {line!r}")

    def call(self, *args):
        self.sock.sendall(self.encode(*args))
        return self.read()


def cli(port, *args, timeout=30):
    return subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args],
                          capture_output=True, text=True, timeout=timeout).stdout


def info_field(text, name):
    m = re.search(rf"^{name}:(.*?)\r?$", text, re.M)
    return m.group(1) if m else None


def cpu_seconds(pid):
    """utime + stime of a process, in seconds (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


class Server:
    """One shardnode or redis-server process started on a free port."""

    def __init__(self, kind, binary, workdir, extra=(), cluster=True, cpu=None):
        """cpu: a taskset -c list to pin the server to (None: not pinned)."""
        self.kind = kind
        self.port = free_port(bus=cluster)
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", workdir,
                "--save", "", "--appendonly", "no", "--logfile",
                os.path.join(workdir, "log.txt")]
        if cluster:
            args += ["--cluster-enabled", "yes"]
        args += list(extra)
        if cpu is not None:
            args = ["taskset", "-c", str(cpu)] + args
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.pid = self.proc.pid
        deadline = time.monotonic() + 10
        while True:
            try:
                c = Conn(self.port, timeout=1)
                if c.call("PING") == "PONG":
                    c.close()
                    break
                c.close()
            except OSError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"{binary} did not start; see {workdir}/log.txt")
            time.sleep(0.05)

    def addr(self):
        return f"127.0.0.1:{self.port}"

    def alive(self):
        return self.proc.poll() is None

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self):
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def start_kinds(servers, tmp, args, extra=(), cluster=True, cpu=None):
    """Starts shardnode (args.shardnode), redis-server (args.redis) and, when
    args.baseline is set, that older shardnode as "baseline", each in its
    folder under `tmp`, appending each to `servers` as it starts (the
    caller's cleanup stops those that did)."""
    kinds = [("shardnode", args.shardnode), ("redis", args.redis)]
    if args.baseline:
        kinds.append(("baseline", args.baseline))
    for kind, binary in kinds:
        servers.append(Server(kind, binary, os.path.join(tmp, kind), extra=extra,
                              cluster=cluster, cpu=cpu))
    return servers


def single_node_cluster(server):
    """Makes `server` a one-node cluster owning all 16384 slots."""
    cli(server.port, "cluster", "addslotsrange", "0", "16383")
    wait_cluster_ok([server])


def wait_cluster_ok(servers, known=None, timeout=60):
    deadline = time.monotonic() + timeout
    for s in servers:
        while True:
            info = cli(s.port, "cluster", "info")
            ok = "cluster_state:ok" in info
            if ok and known is not None:
                ok = info_field(info, "cluster_known_nodes") == str(known)
            if ok:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{s.kind} :{s.port} never reached cluster_state:ok "
                                   f"(known={known}):\n{info}")
            time.sleep(0.1)


def create_cluster(servers, timeout=120, replicas=0):
    """Joins `servers` with redis-cli --cluster create: masters with the slots
    split evenly and, with `replicas`, that many replicas per master."""
    out = subprocess.run(["redis-cli", "--cluster", "create", *[s.addr() for s in servers],
                          "--cluster-replicas", str(replicas), "--cluster-yes"],
                         capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"cluster create failed:\n{out.stdout}\n{out.stderr}")
    wait_cluster_ok(servers, known=len(servers), timeout=timeout)


def redis_benchmark(port, load, requests, clients, pipeline, keyspace=100000, cpu=None):
    """Runs redis-benchmark -q (pinned by taskset -c `cpu` when given);
    returns requests per second."""
    pin = ["taskset", "-c", str(cpu)] if cpu is not None else []
    out = subprocess.run([*pin, "redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-r",
                          str(keyspace), "-P", str(pipeline), "-c", str(clients), "-n",
                          str(requests), "-q", *load], capture_output=True, text=True,
                         timeout=900)
    m = re.search(r"([\d.]+) requests per second", out.stdout.replace("\r", "\n"))
    if not m:
        raise RuntimeError(f"no result for {load}:\n{out.stdout}\n{out.stderr}")
    return float(m.group(1))


def measured_benchmark(server, load, requests, clients, pipeline, keyspace=100000, cpu=None):
    """redis_benchmark against `server`, with the server's CPU it cost:
    returns (requests per second, server CPU microseconds per request)."""
    before = cpu_seconds(server.pid)
    ops = redis_benchmark(server.port, load, requests, clients, pipeline, keyspace=keyspace,
                          cpu=cpu)
    return ops, (cpu_seconds(server.pid) - before) * 1e6 / requests


def interleaved_medians(servers, repeat, run):
    """Runs `run(server)` -> (ops, us) `repeat` times per server, the order
    of the servers alternating between rounds (so that neither always runs
    first on a busy machine); returns ({kind: median ops}, {kind: median us})."""
    ops = {s.kind: [] for s in servers}
    cpu = {s.kind: [] for s in servers}
    for rep in range(repeat):
        for s in (servers if rep % 2 == 0 else servers[::-1]):
            o, c = run(s)
            ops[s.kind].append(o)
            cpu[s.kind].append(c)
    return ({k: median(v) for k, v in ops.items()}, {k: median(v) for k, v in cpu.items()})


def median(xs):
    return statistics.median(xs)


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])
