"""What a steady-state day of incremental polling costs slurmdbd, against fetching the whole
current month at every poll: sacct calls and rows, for one simulated day.

A stand-in sacct (tests/bats/fake-sacct) serves a month of synthetic jobs (default 10,000 ending
per day); sb-incremental runs every --interval minutes through day 15 with "now" pinned
(SLURM_SB_NOW), and the stand-in counts the rows each sacct call returns. The baseline is
computed on the same jobs: the rows a poll fetching [month start, now) would get.
Usage: python bench/poll_cost.py [--jobs-per-day N] [--interval MINUTES]
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DAY = 15


def stamp(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs-per-day", type=int, default=10000)
    parser.add_argument("--interval", type=int, default=10, help="minutes between polls")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="sb-poll-bench-")
    month_start = 1754006400                     # 2025-08-01T00:00:00Z
    try:
        rng = random.Random(5)
        ends = sorted(month_start + rng.randrange(31 * 86400) for _ in range(31 * args.jobs_per_day))
        jobs = os.path.join(work, "jobs.txt")
        with open(jobs, "w") as out:
            for index, end in enumerate(ends):
                out.write(f"{10 ** 6 + index}|{10 ** 6 + index}|bench|u{index % 300}|p|COMPLETED|"
                          f"600|4|1|4G|cpu=4,mem=4G,node=1|{stamp(end - 700)}|{stamp(end - 600)}|"
                          f"{stamp(end)}||\n")
        stubs = os.path.join(work, "stubs")
        os.makedirs(stubs)
        shutil.copy(os.path.join(TOP, "tests", "bats", "fake-sacct"), os.path.join(stubs, "sacct"))
        env = dict(os.environ, FAKE_SACCT_JOBS=jobs, FAKE_SACCT_LOG=os.path.join(work, "calls"),
                   SLURM_SB_SACCT_PER_MIN="100000",
                   PATH=os.pathsep.join([stubs, os.path.join(TOP, "pipelines"),
                                         os.path.dirname(sys.executable), os.environ["PATH"]]))
        root = os.path.join(work, "root")
        day_start = month_start + (DAY - 1) * 86400
        polls = 24 * 60 // args.interval
        first = day_start - args.interval * 60
        state = os.path.join(root, "clusters", "bench", "state")
        os.makedirs(state)
        with open(os.path.join(state, "poll_cursor.json"), "w") as handle:
            handle.write(json.dumps({"cluster": "bench", "backfill_start": "2025-08-01",
                                     "backfill_next": "2025-08", "caught_up": True,
                                     "incremental_since": stamp(first) + "Z"}) + "\n")
        for poll in range(polls):
            now = day_start + poll * args.interval * 60
            done = subprocess.run(["sb-incremental", "--cluster", "bench", "--root", root],
                                  env=dict(env, SLURM_SB_NOW=stamp(now) + "Z"),
                                  capture_output=True, text=True)
            if done.returncode != 0:
                sys.exit(f"sb-incremental failed: {done.stderr}")
        with open(os.path.join(work, "calls")) as handle:
            counts = [int(line.rsplit("=> ", 1)[1].split()[0]) for line in handle]
        calls, rows = len(counts), sum(counts)
        whole_month = sum(sum(1 for end in ends if end < day_start + p * args.interval * 60)
                          for p in range(polls))
        print(f"day {DAY} of a month, {args.jobs_per_day:,} jobs ending per day, a poll every "
              f"{args.interval} min (overlap 1 h):")
        print(f"  incremental : {calls:5d} sacct calls, {rows:>12,} rows")
        print(f"  whole month : {polls:5d} sacct calls, {whole_month:>12,} rows")
        print(f"  rows ratio  : {whole_month / rows:.0f}x fewer rows with incremental polling")
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
