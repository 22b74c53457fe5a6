#!/usr/bin/env python3
"""What a first touch of memory costs on this machine (bench/README.md
section 11: where the atomic move's target spends its time).

Allocates --mb MB in 1 KB objects (malloc, as the server's values) in a
fresh child process, --repeat times in a row, and prints per run the wall
time, the child's system time, its minor faults and the system time per
fault. The first run mostly gets memory the machine has not touched lately;
the later ones reuse what the previous child freed a moment before. With
--huge the children run with GLIBC_TUNABLES=glibc.malloc.hugetlb=1 (glibc
2.35+ asks for transparent huge pages for its heap).

Usage: bench/macro/fault_cost.py [--mb 600] [--repeat 3] [--huge]
"""
import argparse
import os
import subprocess
import sys

CHILD = r"""
import resource, sys, time
n = int(sys.argv[1])
t = time.perf_counter()
xs = [bytearray(1024) for _ in range(n)]
r = resource.getrusage(resource.RUSAGE_SELF)
print(time.perf_counter() - t, r.ru_stime, r.ru_minflt)
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=600)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--huge", action="store_true")
    a = ap.parse_args()
    env = dict(os.environ)
    if a.huge:
        env["GLIBC_TUNABLES"] = "glibc.malloc.hugetlb=1"
    print(f"{a.mb} MB in 1 KB objects per run{' (glibc.malloc.hugetlb=1)' if a.huge else ''}")
    for i in range(a.repeat):
        out = subprocess.run([sys.executable, "-c", CHILD, str(a.mb * 1024)], env=env,
                             capture_output=True, text=True, check=True).stdout.split()
        wall, stime, faults = float(out[0]), float(out[1]), int(out[2])
        print(f"run {i + 1}: {wall:.2f} s wall, {stime:.2f} s system, {faults} minor faults, "
              f"{stime / faults * 1e6:.1f} us system per fault, "
              f"{stime / (a.mb / 1024):.2f} s system per GB")


if __name__ == "__main__":
    main()
