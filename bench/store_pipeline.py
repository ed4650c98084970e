"""Throughput of sb-parse | sb-dedupe | sb-reduce on one month of N jobs (default 1,000,000),
peak memory of each stage, and the Bloom file's size, against a baseline measured in the same run
(a Python loop copying the same lines, the I/O floor of a pipe stage). Needs GNU time
(/usr/bin/time, Debian package `time`).

The input is sb-sacct's 16-field format, generated here: 4,000 users in 200 accounts, a mix of
states, CPU counts and GPU jobs, unique job ids, ends spread over 2025-08. The stages are timed
in the steady state of a poller: the first half of the jobs is already in the store (its Bloom
file and rollup exist and must be loaded), so sb-dedupe drops that half and passes the rest, and
sb-reduce adds the new half to an existing month.
Usage: python bench/store_pipeline.py [--jobs N]
"""
import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

STATES = ["COMPLETED"] * 7 + ["FAILED", "TIMEOUT", "CANCELLED by 1000", "OUT_OF_MEMORY"]
COPY = "import sys\nw=sys.stdout.buffer.write\nfor line in sys.stdin.buffer:\n    w(line)\n"


def generate(path, jobs, seed=7):
    rng = random.Random(seed)
    with open(path, "w") as out:
        for i in range(jobs):
            user = f"user{rng.randrange(4000):04d}"
            account = f"grp{int(user[4:]) % 200:03d}"
            cpus = rng.choice((1, 1, 2, 4, 8, 16, 32, 64))
            gpus = rng.choice((0,) * 9 + (1, 2, 4))
            elapsed = rng.randrange(1, 86400)
            end = 1754006400 + rng.randrange(31 * 86400)            # 2025-08-01 .. 08-31
            start = end - elapsed
            stamp = lambda t: time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t))
            tres = f"billing={cpus},cpu={cpus},mem={cpus * 2}G,node=1" + (f",gres/gpu={gpus}" if gpus else "")
            out.write(f"{1000000 + i}|{1000000 + i}|bench|{user}|{account}|{rng.choice(STATES)}|"
                      f"{elapsed}|{cpus}|1|{cpus * 2}G|{tres}|{stamp(start - 60)}|{stamp(start)}|"
                      f"{stamp(end)}||\n")


def measure(command, stdin_path, stdout_path):
    """(seconds, peak RSS in MiB) of one stage run alone, RSS from GNU time's %M."""
    with tempfile.NamedTemporaryFile("r") as report:
        with open(stdin_path, "rb") as stdin, open(stdout_path, "wb") as stdout:
            start = time.perf_counter()
            subprocess.run(["/usr/bin/time", "-f", "%M", "-o", report.name] + command,
                           stdin=stdin, stdout=stdout, stderr=subprocess.DEVNULL, check=True)
            seconds = time.perf_counter() - start
        peak_kib = int(report.read().split()[-1])
    return seconds, peak_kib / 1024


def cores() -> str:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{usable} usable of {os.cpu_count()} cores"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    args = parser.parse_args()
    bindir = os.path.dirname(sys.executable)
    tool = lambda name: os.path.join(bindir, name)
    work = tempfile.mkdtemp(prefix="sb-bench-")
    try:
        raw, parsed, fresh = (os.path.join(work, n) for n in ("raw.txt", "parsed.ndjson", "new.ndjson"))
        earlier = os.path.join(work, "earlier.ndjson")
        root = os.path.join(work, "root")
        generate(raw, args.jobs)
        copy_s, copy_mb = measure([sys.executable, "-c", COPY], raw, os.devnull)
        print(f"{args.jobs:,} jobs, one month, {cores()}, Python {sys.version.split()[0]}; each "
              "stage alone (peak RSS is the stage's own):")
        print(f"  baseline copy : {copy_s:6.1f} s  {args.jobs / copy_s:>10,.0f} lines/s  {copy_mb:6.0f} MiB")
        parse_s, parse_mb = measure([tool("sb-parse"), "--quiet"], raw, parsed)
        report("sb-parse", args.jobs, parse_s, parse_mb, copy_s)
        with open(parsed, "rb") as source, open(earlier, "wb") as target:
            for index, line in enumerate(source):
                if index % 2 == 0:
                    target.write(line)
        with open(earlier, "rb") as stdin:
            subprocess.run([tool("sb-reduce"), "--root", root, "--quiet"], stdin=stdin,
                           stdout=subprocess.DEVNULL, check=True)
        dedupe_s, dedupe_mb = measure([tool("sb-dedupe"), "--root", root, "--quiet"], parsed, fresh)
        report("sb-dedupe", args.jobs, dedupe_s, dedupe_mb, copy_s,
               "Bloom file of the earlier half loaded; half the jobs dropped")
        reduce_s, reduce_mb = measure([tool("sb-reduce"), "--root", root, "--quiet"], fresh,
                                      os.devnull)
        report("sb-reduce", args.jobs // 2, reduce_s, reduce_mb, copy_s,
               "the new half, into a month already stored")
        shutil.rmtree(root)
        start = time.perf_counter()
        subprocess.run(f"{tool('sb-parse')} --quiet < {raw} | {tool('sb-dedupe')} --root {root} --quiet"
                       f" | {tool('sb-reduce')} --root {root} --quiet > /dev/null", shell=True, check=True)
        piped = time.perf_counter() - start
        print(f"  pipeline      : {piped:6.1f} s  {args.jobs / piped:>10,.0f} lines/s  "
              f"({piped / copy_s:.0f}x copy; a fresh root, the stages side by side on {cores()})")
        seen = os.path.join(root, "clusters", "bench", "state", "seen")
        for name in sorted(os.listdir(seen)):
            print(f"  Bloom file {name}: {os.path.getsize(os.path.join(seen, name)) / 1e6:.1f} MB")
        rollups = os.path.join(root, "clusters", "bench", "agg", "rollups", "monthly")
        for name in sorted(os.listdir(rollups)):
            print(f"  rollup {name}: {os.path.getsize(os.path.join(rollups, name)) / 1e6:.1f} MB")
    finally:
        shutil.rmtree(work)


def report(name, lines, seconds, peak, copy_s, note=""):
    print(f"  {name:<13} : {seconds:6.1f} s  {lines / seconds:>10,.0f} lines/s  {peak:6.0f} MiB  "
          f"({seconds / copy_s:.0f}x copy){'; ' + note if note else ''}")


if __name__ == "__main__":
    main()
