#!/usr/bin/env python3
"""TLS throughput of shardnode and redis-server 7.0.15, side by side.

Starts both standalone with a TLS port (throwaway certificates made with the
openssl CLI) and runs `redis-benchmark --tls -t set,get -P <p>` against each,
interleaved (shardnode, redis, redis, shardnode, ...), --repeat times;
prints the median ops/s of each, the ratio, and the median server CPU per
request (utime+stime over the run, handshakes included). Rows: set, get
(an empty keyspace: every GET misses) and get-hit (after a plain-port SET
run of 1M requests over the same 100k keys, as redis-benchmark's own
-t set,get order reads what SET wrote). With --baseline
OLD_BINARY the old shardnode joins the TLS runs (its own column) and
plain-port SET/GET runs against the new and the old shardnode (the plain
path must not slow down). Usage:

  bench/macro/tls.py [--requests N] [--clients C] [--pipeline 16] [--repeat 3]
                     [--shardnode build/shardnode] [--baseline OLD_BINARY]

Every process it starts is stopped by its pid.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

import benchlib as bl


def make_certs(d):
    def run(*args):
        subprocess.run(["openssl"] + list(args), cwd=d, check=True, capture_output=True)
    run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key")
    run("req", "-x509", "-new", "-sha256", "-key", "ca.key", "-days", "2", "-subj", "/CN=CA",
        "-out", "ca.crt")
    run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "redis.key")
    run("req", "-new", "-sha256", "-key", "redis.key", "-subj", "/CN=redis", "-out", "redis.csr")
    run("x509", "-req", "-sha256", "-in", "redis.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-out", "redis.crt")


def tls_benchmark(port, certs, test, requests, clients, pipeline):
    out = subprocess.run(
        ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "--tls", "--cacert",
         f"{certs}/ca.crt", "--cert", f"{certs}/redis.crt", "--key", f"{certs}/redis.key",
         "-r", "100000", "-P", str(pipeline), "-c", str(clients), "-n", str(requests), "-q",
         "-t", test], capture_output=True, text=True, timeout=900)
    m = re.search(r"([\d.]+) requests per second", out.stdout.replace("\r", "\n"))
    if not m:
        raise RuntimeError(f"no result for {test}:\n{out.stdout}\n{out.stderr}")
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=300000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--pipeline", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--shardnode", default=bl.DEFAULT_SHARDNODE)
    ap.add_argument("--redis", default=bl.DEFAULT_REDIS)
    ap.add_argument("--baseline", help="an older shardnode: its TLS column, and plain SET/GET new vs old")
    a = ap.parse_args()
    if not shutil.which("openssl"):
        sys.exit("needs the openssl CLI")
    tmp = tempfile.mkdtemp(prefix="bench-tls-")
    certs = os.path.join(tmp, "certs")
    os.makedirs(certs)
    make_certs(certs)
    servers = {}
    try:
        kinds = [("shardnode", a.shardnode), ("redis", a.redis)]
        if a.baseline:
            kinds.append(("old", a.baseline))
        for kind, binary in kinds:
            tls_port = bl.free_port()
            servers[kind] = bl.Server(kind, binary, os.path.join(tmp, kind), cluster=False, extra=[
                "--tls-port", str(tls_port), "--tls-cert-file", f"{certs}/redis.crt",
                "--tls-key-file", f"{certs}/redis.key", "--tls-ca-cert-file", f"{certs}/ca.crt"])
            servers[kind].tls_port = tls_port
        tls_kinds = [k for k, _ in kinds]
        print(f"load average before: {bl.load_average()}")
        head = (f"{'test':<12}{'shardnode':>12}{'redis':>12}{'ratio':>8}"
                f"{'sn us/req':>11}{'rd us/req':>11}")
        if a.baseline:
            head += f"{'old':>12}{'new/old':>9}{'old us/req':>12}"
        print(head)
        # "get" reads an empty keyspace (every GET a miss); "get-hit" reads
        # the keys a plain-port SET run wrote first (as redis-benchmark's own
        # -t set,get order does: nearly every GET a hit).
        for row in ("set", "get", "get-hit"):
            test = row.split("-")[0]
            res = {k: [] for k in tls_kinds}
            cpu = {k: [] for k in tls_kinds}
            for i in range(a.repeat):
                order = tls_kinds if i % 2 == 0 else tls_kinds[::-1]
                for kind in order:
                    s = servers[kind]
                    bl.cli(s.port, "flushall")
                    if row == "get-hit":
                        bl.redis_benchmark(s.port, ["-t", "set"], 1000000, a.clients, 16)
                    before = bl.cpu_seconds(s.pid)
                    res[kind].append(tls_benchmark(s.tls_port, certs, test, a.requests,
                                                   a.clients, a.pipeline))
                    cpu[kind].append((bl.cpu_seconds(s.pid) - before) * 1e6 / a.requests)
            med = {k: bl.median(v) for k, v in res.items()}
            us = {k: bl.median(v) for k, v in cpu.items()}
            sn, rd = med["shardnode"], med["redis"]
            line = (f"tls {row:<8}{sn:>12.0f}{rd:>12.0f}{sn / rd:>8.2f}"
                    f"{us['shardnode']:>11.2f}{us['redis']:>11.2f}")
            if a.baseline:
                line += f"{med['old']:>12.0f}{sn / med['old']:>9.2f}{us['old']:>12.2f}"
            print(line)
            for k in tls_kinds:
                print(f"    {k} runs: " + " ".join(f"{x:.0f}" for x in res[k]))
        if a.baseline:
            print(f"{'plain':<12}{'new':>12}{'old':>12}{'ratio':>8}")
            for test in ("set", "get"):
                res = {"shardnode": [], "old": []}
                for i in range(a.repeat):
                    order = ["shardnode", "old"] if i % 2 == 0 else ["old", "shardnode"]
                    for kind in order:
                        bl.cli(servers[kind].port, "flushall")
                        res[kind].append(bl.redis_benchmark(servers[kind].port, ["-t", test],
                                                            a.requests, a.clients, a.pipeline))
                new, old = bl.median(res["shardnode"]), bl.median(res["old"])
                print(f"plain {test:<6}{new:>12.0f}{old:>12.0f}{new / old:>8.2f}")
        print(f"load average after: {bl.load_average()}")
    finally:
        for s in servers.values():
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
