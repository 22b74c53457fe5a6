"""GEOADD / GEOSEARCH throughput, shardnode next to redis-server (issue 15).

Loads 100k points (a 1x1 degree square around Sicily) into each server, then
runs redis-benchmark -P 16 -c 50 for each test, twice, alternating the order
of the servers; prints the best ops/s and the lowest server CPU per op.

    python3 bench/macro/geobench.py build/shardnode /usr/bin/redis-server 100000
"""
import os, random, subprocess, sys, tempfile, time
def cpu(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
def start(cmd, port):
    p = subprocess.Popen(cmd + ["--port", str(port), "--save", "", "--appendonly", "no"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout.strip() == b"PONG":
            return p
        time.sleep(0.1)
    p.kill(); raise SystemExit("no start")
def resp(args):
    return "*%d\r\n" % len(args) + "".join("$%d\r\n%s\r\n" % (len(a), a) for a in args)
LOAD = os.path.join(tempfile.mkdtemp(), "load.resp")
rng = random.Random(1)
with open(LOAD, "w") as f:
    for i in range(100000):
        f.write(resp(["GEOADD", "geo", "%.6f" % rng.uniform(13, 14), "%.6f" % rng.uniform(37.5, 38.5), "m:%d" % i]))
TESTS = {
  "geoadd": ["GEOADD", "geo2", "13.__rand_int__", "38.__rand_int__", "m:__rand_int__"],
  "geosearch radius 1km count 10": ["GEOSEARCH", "geo", "FROMLONLAT", "13.5", "38", "BYRADIUS", "1", "km", "ASC", "COUNT", "10"],
  "geosearch member box 2x2km withdist": ["GEOSEARCH", "geo", "FROMMEMBER", "m:1000", "BYBOX", "2", "2", "km", "WITHDIST"],
}
n = int(sys.argv[3])
servers = [("shardnode", [sys.argv[1]]), ("redis", [sys.argv[2]])]
res = {}
for rnd in range(2):
    for name, cmd in (servers if rnd == 0 else servers[::-1]):
        port = 17400 + rnd * 2 + (name == "redis")
        p = start(cmd, port)
        subprocess.run(["redis-cli", "-p", str(port), "--pipe"], stdin=open(LOAD), capture_output=True)
        for t, args in TESTS.items():
            c0 = cpu(p.pid); t0 = time.time()
            subprocess.run(["redis-benchmark", "-p", str(port), "-r", "100000", "-c", "50", "-n", str(n), "-P", "16", "-q"] + args,
                           capture_output=True, timeout=300)
            el = time.time() - t0; c1 = cpu(p.pid)
            res.setdefault((t, name), []).append((n / el, (c1 - c0) / n * 1e6))
            print(t, name, round(n / el), round((c1 - c0) / n * 1e6, 2), flush=True)
        subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True)
        p.wait()
print("| test | shardnode ops/s | redis ops/s | ratio | shardnode cpu us/op | redis cpu us/op |")
print("|---|---|---|---|---|---|")
for t in TESTS:
    a = res[(t, "shardnode")]; b = res[(t, "redis")]
    sa = max(x[0] for x in a); sb = max(x[0] for x in b)
    ca = min(x[1] for x in a); cb = min(x[1] for x in b)
    print(f"| {t} | {sa:.0f} | {sb:.0f} | {sa/sb:.2f} | {ca:.2f} | {cb:.2f} |")
