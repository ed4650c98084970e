"""Ingest speed: one month of N jobs with their steps, as `sacct -P` text in a file, through
sb-parse | sb-dedupe | sb-reduce into a fresh root, against ../shared/bench/baseline-ingest (the
one-process stdlib script) on the same file, in the same run. Each figure is the best of
--repeat runs (machines here are shared and noisy).
Usage: python bench/ingest.py [--jobs N] [--repeat R] [--markdown]
"""
import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BASELINE = os.environ.get("SB_BASELINE_INGEST") or \
    os.path.join(HERE, "..", "..", "shared", "bench", "baseline-ingest")
HEADER = ("JobID|JobIDRaw|Cluster|User|Account|State|ElapsedRaw|AllocCPUS|NNodes|ReqMem|"
          "AllocTRES|Submit|Start|End|MaxRSS|AveRSS")
STATES = ["COMPLETED"] * 7 + ["FAILED", "TIMEOUT", "CANCELLED by 1000", "OUT_OF_MEMORY"]


def stamp(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


def generate(path: str, jobs: int, seed: int = 11, month_start: int = 1754006400) -> int:
    """N jobs ending in 2025-08 (by default), each with a batch step and one in three with an
    extern step, like sacct -P with steps; returns the line count."""
    rng = random.Random(seed)
    lines = 0
    with open(path, "w") as out:
        out.write(HEADER + "\n")
        for i in range(jobs):
            user = f"user{rng.randrange(2000):04d}"
            account = f"grp{int(user[4:]) % 100:03d}"
            cpus = rng.choice((1, 1, 2, 4, 8, 16, 32, 64))
            gpus = rng.choice((0,) * 9 + (1, 2, 4))
            elapsed = rng.randrange(1, 86400)
            end = month_start + rng.randrange(31 * 86400)
            start = end - elapsed
            tres = f"billing={cpus},cpu={cpus},mem={cpus * 2}G,node=1" + \
                (f",gres/gpu={gpus}" if gpus else "")
            job = 2000000 + i
            times = f"{stamp(start - 60)}|{stamp(start)}|{stamp(end)}"
            out.write(f"{job}|{job}|bench|{user}|{account}|{rng.choice(STATES)}|{elapsed}|{cpus}|1|"
                      f"{cpus * 2}G|{tres}|{times}||\n")
            out.write(f"{job}.batch|{job}.batch|bench||{account}|COMPLETED|{elapsed}|{cpus}|1||"
                      f"cpu={cpus},mem={cpus * 2}G,node=1|{times}|{rng.randrange(1, 9000)}M|"
                      f"{rng.randrange(1, 900)}M\n")
            lines += 2
            if i % 3 == 0:
                out.write(f"{job}.extern|{job}.extern|bench||{account}|COMPLETED|{elapsed}|{cpus}|"
                          f"1||billing={cpus},cpu={cpus},node=1|{times}|0|0\n")
                lines += 1
    return lines


CPU = {}      # command -> least CPU seconds (user + system, every process of it) of its runs


def children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def timed(command: str, repeat: int, before=None) -> float:
    """Best wall time of a shell command over `repeat` runs (`before` runs untimed first); its
    least CPU time is kept in CPU (what the machine's other load changes least)."""
    best = float("inf")
    for _ in range(repeat):
        if before:
            before()
        start, cpu = time.perf_counter(), children_cpu()
        subprocess.run(command, shell=True, check=True, executable="/bin/bash")
        best = min(best, time.perf_counter() - start)
        CPU[command] = min(CPU.get(command, float("inf")), children_cpu() - cpu)
    return best


def peak_rss(command: str) -> float:
    """Peak RSS in MiB of the largest process of a shell command (GNU time per stage)."""
    with tempfile.NamedTemporaryFile("r") as report:
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", report.name, "bash", "-c", command],
                       check=True, stdout=subprocess.DEVNULL)
        return int(report.read().split()[-1]) / 1024


def memory_run(work: str, tool, jobs: int) -> dict:
    """Peak RSS (MiB) of each stage alone on one month of `jobs` jobs, and the Bloom file's
    size per million jobs."""
    month = os.path.join(work, f"mem-{jobs}.sacct")
    parsed = os.path.join(work, f"mem-{jobs}.ndjson")
    root = os.path.join(work, f"mem-root-{jobs}")
    os.makedirs(root)
    generate(month, jobs)
    where = f"--root {root} --cluster bench"
    result = {"parse": peak_rss(f"{tool('sb-parse')} --quiet < {month} > {parsed}"),
              "dedupe": peak_rss(f"{tool('sb-dedupe')} {where} --quiet < {parsed} > /dev/null"),
              "reduce": peak_rss(f"{tool('sb-reduce')} {where} --quiet < {parsed} > /dev/null")}
    seen = os.path.join(root, "clusters", "bench", "state", "seen")
    size = sum(os.path.getsize(os.path.join(seen, name)) for name in os.listdir(seen))
    result["bloom_mb_per_million"] = size / 1e6 * 1e6 / jobs
    for path in (month, parsed):
        os.remove(path)
    shutil.rmtree(root)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory-jobs", type=int, default=250_000,
                        help="peak memory at this many jobs and at 4x (default 250,000)")
    parser.add_argument("--json", help="also write the figures as JSON to this file")
    args = parser.parse_args()
    bindir = os.path.dirname(sys.executable)
    tool = lambda name: os.path.join(bindir, name)
    work = tempfile.mkdtemp(prefix="sb-bench-ingest-")
    try:
        month = os.path.join(work, "month.sacct")
        root = os.path.join(work, "root")
        parsed = os.path.join(work, "parsed.ndjson")
        lines = generate(month, args.jobs)

        def fresh_root():
            shutil.rmtree(root, ignore_errors=True)
            os.makedirs(root)

        where = f"--root {root} --cluster bench"
        if os.path.exists(BASELINE):
            baseline = timed(f"{sys.executable} {BASELINE} < {month}", args.repeat)
            baseline_cpu = CPU[f"{sys.executable} {BASELINE} < {month}"]
        else:
            print(f"ingest: no baseline script at {BASELINE} (set $SB_BASELINE_INGEST); "
                  "the figures are printed without it")
            baseline = baseline_cpu = float("nan")
        parse = timed(f"{tool('sb-parse')} --quiet < {month} > {parsed}", args.repeat)
        dedupe = timed(f"{tool('sb-dedupe')} {where} --quiet < {parsed} > /dev/null",
                       args.repeat, fresh_root)
        reduce = timed(f"{tool('sb-reduce')} {where} --quiet < {parsed} > /dev/null",
                       args.repeat, fresh_root)
        whole = (f"set -o pipefail; {tool('sb-parse')} --quiet < {month} | {tool('sb-dedupe')} "
                 f"{where} --quiet | {tool('sb-reduce')} {where} --quiet > /dev/null")
        pipe = timed(whole, args.repeat, fresh_root)
        pipe_cpu = CPU[whole]
        print(f"{args.jobs:,} jobs, {lines:,} sacct lines; best of {args.repeat}")
        for name, seconds in (("baseline-ingest", baseline), ("sb-parse", parse),
                              ("sb-dedupe", dedupe), ("sb-reduce", reduce), ("pipe", pipe)):
            print(f"  {name:<16} {seconds:6.2f} s  {baseline / seconds:5.2f}x the baseline's speed")
        print(f"  CPU time (user + system): the pipe {pipe_cpu:.2f} s, baseline-ingest "
              f"{baseline_cpu:.2f} s: {pipe_cpu / baseline_cpu:.2f}x")
        small = memory_run(work, tool, args.memory_jobs)
        large = memory_run(work, tool, 4 * args.memory_jobs)
        print(f"peak RSS at {args.memory_jobs:,} / {4 * args.memory_jobs:,} jobs in a month:")
        for stage in ("parse", "dedupe", "reduce"):
            print(f"  sb-{stage:<13} {small[stage]:6.0f} / {large[stage]:6.0f} MiB "
                  f"({large[stage] / small[stage]:.2f}x for 4x the jobs)")
        print(f"  Bloom file      {large['bloom_mb_per_million']:.2f} MB per million jobs")
        if args.json:
            with open(args.json, "w") as handle:
                json.dump({"jobs": args.jobs, "lines": lines, "repeat": args.repeat,
                           "seconds": {"baseline": baseline, "parse": parse, "dedupe": dedupe,
                                       "reduce": reduce, "pipe": pipe},
                           "cpu_seconds": {"baseline": baseline_cpu, "pipe": pipe_cpu},
                           "memory_jobs": args.memory_jobs, "rss_small": small,
                           "rss_large": large}, handle)
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
