"""What the real pipe adds to sacct on the real SLURM test cluster, and the peer: one month of
--jobs jobs (default 100,000, in 2025-03) fetched by sacct alone into /dev/null, by
`sb-sacct | sb-parse | sb-dedupe | sb-reduce` into a fresh root, and by slurm2sql (PyPI) into
SQLite. Issue 12's target: the pipe takes at most 5% longer than sacct alone.

How:
1. The private one-node test cluster that tests/slurm/with-cluster.sh brought up around the
   bench (make bench does; $SB_SLURM_ENV names its environment, default cluster sbtest).
2. The month is written straight into slurmdbd's job table (bench/seeding.py, the row format of
   tests/slurm/seed_history.py): --jobs jobs ending at random over the month, --users users
   sbpipe0000.. (Linux users made with useradd -M -N when missing) in 10 accounts. Job ids start
   at 70,000,000: above SLURM's MaxJobId, apart from poll_cost's 80,000,000.. and the
   integration tests' 9,100,000.. and 9,400,000.., so a rerun deletes and replaces exactly its
   own rows; they are deleted again at the end, also when the bench fails.
   No step rows: sb-sacct asks for allocations only (-X, as the pipelines call it), so sacct
   would not read them; it prints one line per job.
3. sacct alone: the very command(s) `sb-sacct --dry-run` prints for the window (its flags and
   environment: TZ=UTC, SLURM_TIME_FORMAT=%s), output to /dev/null. One untimed call first warms
   slurmdbd and MariaDB and counts the rows; they must be the seeded jobs.
4. The pipe, as pipelines/lib/common.sh's sb_ingest runs it (same options), into a fresh root
   each time; the store must then hold exactly the seeded jobs (its all-time totals).
5. The peer: slurm2sql installed from PyPI into a throwaway venv in the work folder, importing
   the month with the same sacct filter (-a -X -S -E --state -M, TZ=UTC) into a new SQLite file,
   which must then hold one row per seeded job. If it cannot be installed or run against this
   SLURM, the reason is recorded instead of its time.
Each round runs sacct alone, sb-sacct alone (> /dev/null: what its Python and spool add), the
pipe and slurm2sql once, in turn; a figure is the best of --repeat rounds.

Progress goes to stderr, the summary to stdout, the figures as one JSON object to --json FILE.
Needs root (useradd, sacctmgr, the mysql client as root).

Usage: tests/slurm/with-cluster.sh sbtest python bench/sacct_pipe.py [--jobs N] [--users N]
       [--repeat R] [--chunk none|day|week] [--smoke] [--cluster NAME] [--json FILE]
"""
import argparse
import calendar
import collections
import itertools
import json
import os
import platform
import random
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

import seeding

MONTH = (2025, 3)
FIRST_ID, LAST_ID = 70_000_000, 79_999_999
IDS = (FIRST_ID, LAST_ID)
USER_PREFIX = "sbpipe"
ACCOUNTS = 10
STATES = ["COMPLETED"] * 8 + ["FAILED", "TIMEOUT", "CANCELLED", "OUT_OF_MEMORY"]
PEER = "slurm2sql==0.9.9"
BINDIR = os.path.dirname(sys.executable)
Month = collections.namedtuple("Month", "since until calls whole jobs")
ASSIGNMENT = re.compile(r"[A-Z_][A-Z0-9_]*=")


def log(message):
    print(f"sacct_pipe: {message}", file=sys.stderr, flush=True)


def month_window():
    """[start, end) of the benchmark's month as epoch seconds and as YYYY-MM-DD."""
    year, month = MONTH
    start = calendar.timegm((year, month, 1, 0, 0, 0))
    end = calendar.timegm((year + month // 12, month % 12 + 1, 1, 0, 0, 0))
    day = lambda seconds: time.strftime("%Y-%m-%d", time.gmtime(seconds))
    return start, end, day(start), day(end)


def user_names(count):
    return [f"{USER_PREFIX}{i:04d}" for i in range(count)]


def account_of(user):
    return f"{USER_PREFIX}acct{int(user[len(USER_PREFIX):]) % ACCOUNTS}"


# ---------------------------------------------------------------- the month

def make_jobs(count, users, rng):
    """Seed-format jobs ending at random over the month, in end order."""
    start, end, _, _ = month_window()
    jobs = []
    for stop in sorted(rng.randrange(start, end) for _ in range(count)):
        user = users[rng.randrange(len(users))]
        elapsed = rng.randrange(60, 8 * 3600)
        cpus = rng.choice((1, 1, 2, 4, 8, 16))
        jobs.append({"job_id": FIRST_ID + len(jobs), "user": user, "account": account_of(user),
                     "state": rng.choice(STATES), "submit": stop - elapsed - rng.randrange(600),
                     "start": stop - elapsed, "end": stop, "cpus": cpus,
                     "gpus": rng.choice((0,) * 9 + (1, 2, 4)), "mem_mb": 500 * cpus,
                     "nodes": 1})
    return jobs


def seed_month(cluster, jobs, users):
    seed = seeding.seed_module()
    log(f"{seeding.ensure_linux_users(users)} Linux users made, "
        f"{seeding.ensure_associations(seed, cluster, users, account_of)} associations added")
    began = time.perf_counter()
    seeding.seed_history(seed, cluster, jobs, IDS, USER_PREFIX)
    log(f"seeded {len(jobs):,} jobs in {time.perf_counter() - began:.0f} s")


# ---------------------------------------------------------------- the fetches

def sacct_calls(cluster, since, until, chunk):
    """sb-sacct's own sacct calls for the window: [(environment, argv)], from --dry-run."""
    printed = seeding.run([os.path.join(BINDIR, "sb-sacct"), "--cluster", cluster, "--since",
                           since, "--until", until, "--chunk", chunk, "--dry-run"])
    calls = []
    for line in printed.splitlines():
        words = shlex.split(line)
        assignments = list(itertools.takewhile(ASSIGNMENT.match, words))
        environment = dict(os.environ, **dict(word.split("=", 1) for word in assignments))
        calls.append((environment, words[len(assignments):]))
    return calls


def the_month(args, jobs):
    """The window, sb-sacct's calls for it (with --chunk, and as one call) and its job count."""
    _, _, since, until = month_window()
    return Month(since, until, sacct_calls(args.cluster, since, until, args.chunk),
                 sacct_calls(args.cluster, since, until, "none")[0], jobs)


def sacct_alone(calls, out=subprocess.DEVNULL):
    """Wall time of sb-sacct's sacct calls run one after the other, output to `out`."""
    began = time.perf_counter()
    for environment, argv in calls:
        subprocess.run(argv, env=environment, stdout=out, check=True)
    return time.perf_counter() - began


def count_rows(calls, work):
    with open(os.path.join(work, "month.sacct"), "w+") as spool:
        sacct_alone(calls, spool)
        spool.seek(0)
        return sum(1 for _ in spool)


def tool(name):
    return shlex.quote(os.path.join(BINDIR, name))


def sb_sacct_command(cluster, root, since, until, chunk):
    return (f"{tool('sb-sacct')} --root {shlex.quote(root)} --cluster {shlex.quote(cluster)}"
            f" --since {since} --until {until} --chunk {chunk}")


def pipe_command(cluster, root, since, until, chunk):
    """pipelines/lib/common.sh's sb_ingest, spelled out with this checkout's tools."""
    where = f"--root {shlex.quote(root)} --cluster {shlex.quote(cluster)}"
    window = f"--since {since} --until {until}"
    return (f"set -o pipefail; {sb_sacct_command(cluster, root, since, until, chunk)}"
            f" | {tool('sb-parse')} --cluster {shlex.quote(cluster)} --brief"
            f" | {tool('sb-dedupe')} {where} --brief"
            f" | {tool('sb-reduce')} {where} --quiet {window}")


def timed_shell(command, work, stdout=subprocess.PIPE):
    """Wall time and outcome of a bash command that must succeed (sb-sacct never rate-limited)."""
    environment = dict(os.environ, TMPDIR=work, SLURM_SB_SACCT_PER_MIN="1000000")
    began = time.perf_counter()
    done = subprocess.run(["bash", "-c", command], env=environment, stdout=stdout,
                          stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise RuntimeError(f"{command} failed ({done.returncode}): "
                           f"{done.stderr.strip()[-2000:]}")
    return seconds, done


def sb_sacct_alone(cluster, work, month, chunk):
    """Wall time of sb-sacct alone (sacct, its spool, Python), output to /dev/null."""
    root = tempfile.mkdtemp(prefix="root-", dir=work)
    seconds, _ = timed_shell(sb_sacct_command(cluster, root, month.since, month.until, chunk),
                             work, subprocess.DEVNULL)
    shutil.rmtree(root)
    return seconds


def the_pipe(cluster, work, month, chunk):
    """Wall time of the pipe into a fresh root, which must then hold the month's jobs."""
    root = tempfile.mkdtemp(prefix="root-", dir=work)
    seconds, done = timed_shell(pipe_command(cluster, root, month.since, month.until, chunk),
                                work)
    if done.stderr.strip():
        log(f"the pipe said: {done.stderr.strip()[-500:]}")
    stored = seeding.stored_jobs(root, cluster)
    if stored != month.jobs:
        raise RuntimeError(f"the store holds {stored:,} jobs, expected the {month.jobs:,} seeded; "
                           f"sb-reduce said {done.stdout.strip()}")
    shutil.rmtree(root)
    return seconds


def install_peer(work):
    """slurm2sql in a throwaway venv: its command, or RuntimeError saying why not."""
    venv = os.path.join(work, "peer-venv")
    seeding.run([sys.executable, "-m", "venv", venv])
    seeding.run([os.path.join(venv, "bin", "pip"), "install", "-q",
                 "--disable-pip-version-check", PEER], timeout=300)
    return os.path.join(venv, "bin", "slurm2sql")


def peer_filter(argv):
    """sb-sacct's selection (all users, window, states, cluster, allocations only) from its
    sacct call, as slurm2sql's sacct filter: slurm2sql asks for its own columns, with a header."""
    kept, words = [], iter(argv[1:])
    for word in words:
        if word in ("-S", "-E", "-M"):
            kept += [word, next(words)]
        elif word in ("-a", "-X") or word.startswith("--state="):
            kept.append(word)
    return kept


def the_peer(command, month, work):
    """Wall time of slurm2sql importing the month (with one sacct call) into a new SQLite file,
    which must then hold one row per seeded job; RuntimeError saying what went wrong otherwise."""
    database = os.path.join(work, "peer.sqlite3")
    if os.path.exists(database):
        os.remove(database)
    environment = {key: value for key, value in os.environ.items()
                   if key != "SLURM_TIME_FORMAT"}
    began = time.perf_counter()
    done = subprocess.run([command, database, "--"] + peer_filter(month.whole[1]),
                          env=dict(environment, TZ="UTC"), capture_output=True, text=True)
    seconds = time.perf_counter() - began
    said = done.stderr.strip()[-1000:]
    if done.returncode != 0:
        raise RuntimeError(f"slurm2sql exited {done.returncode}: {said}")
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT COUNT(*) FROM slurm").fetchone()[0]
    if rows != month.jobs:
        raise RuntimeError(f"slurm2sql imported {rows:,} rows, expected {month.jobs:,}"
                           f"{': ' + said if said else ''}")
    return seconds


# ---------------------------------------------------------------- the runs

def measure(args, work, month):
    """Every fetch's wall times over --repeat rounds; why the peer did not run, if it did not."""
    peer, peer_error = None, None
    try:
        log(f"installing {PEER} into a throwaway venv")
        peer = install_peer(work)
    except (RuntimeError, subprocess.TimeoutExpired) as err:
        peer_error = f"cannot install {PEER}: {err}"
    times = {"sacct": [], "sb_sacct": [], "pipe": [], "slurm2sql": []}
    for round_ in range(args.repeat):
        times["sacct"].append(sacct_alone(month.calls))
        times["sb_sacct"].append(sb_sacct_alone(args.cluster, work, month, args.chunk))
        times["pipe"].append(the_pipe(args.cluster, work, month, args.chunk))
        if peer and not peer_error:
            try:
                times["slurm2sql"].append(the_peer(peer, month, work))
            except RuntimeError as err:
                peer_error = str(err)
        log(f"round {round_ + 1}/{args.repeat}: " + ", ".join(
            f"{name} {values[-1]:.2f} s" for name, values in times.items() if values))
    if peer_error:
        log(f"the peer did not run: {peer_error}")
        times["slurm2sql"] = []
    return times, peer_error


def figures(args, jobs, rows, times, peer_error, version):
    best = {name: round(min(values), 3) if values else None for name, values in times.items()}
    overhead = best["pipe"] / best["sacct"] - 1
    return {
        "bench": "sacct_pipe", "cluster": args.cluster, "sacct": version,
        "cpus": os.cpu_count(), "python": platform.python_version(),
        "month": "%04d-%02d" % MONTH, "chunk": args.chunk, "jobs": jobs, "users": args.users,
        "rows": rows, "steps_seeded": False, "repeat": args.repeat,
        "seconds": best, "runs": {name: [round(v, 3) for v in values]
                                  for name, values in times.items()},
        "pipe_over_sacct": round(best["pipe"] / best["sacct"], 3),
        "overhead_pct": round(100 * overhead, 1),
        "sb_sacct_overhead_pct": round(100 * (best["sb_sacct"] / best["sacct"] - 1), 1),
        "peer": PEER, "peer_error": peer_error,
        "slurm2sql_over_pipe": (round(best["slurm2sql"] / best["pipe"], 2)
                                if best["slurm2sql"] else None),
    }


def report(result):
    seconds = result["seconds"]
    print(f"machine: {result['cpus']} CPUs, Python {result['python']}, {result['sacct']} "
          f"(cluster {result['cluster']})")
    print(f"month {result['month']}: {result['jobs']:,} seeded jobs of {result['users']:,} users "
          f"(no step rows: sb-sacct fetches allocations only), {result['rows']:,} sacct rows; "
          f"chunk {result['chunk']}, best of {result['repeat']}")
    print(f"  sacct alone > /dev/null  {seconds['sacct']:8.2f} s")
    print(f"  sb-sacct alone           {seconds['sb_sacct']:8.2f} s  "
          f"{result['sb_sacct_overhead_pct']:+.1f}% over sacct alone (Python, spool)")
    print(f"  the pipe into a new root {seconds['pipe']:8.2f} s  {result['overhead_pct']:+.1f}% "
          f"over sacct alone (target <= +5%)")
    if seconds["slurm2sql"]:
        print(f"  {result['peer']:<24} {seconds['slurm2sql']:8.2f} s  "
              f"{result['slurm2sql_over_pipe']:.2f}x the pipe's time")
    else:
        print(f"  {result['peer']:<24} did not run: {result['peer_error']}")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=None, help="jobs in the month (100,000)")
    parser.add_argument("--users", type=int, default=None, help="users (default 2,000)")
    parser.add_argument("--repeat", type=int, default=None, help="rounds (default 3)")
    parser.add_argument("--chunk", choices=("none", "day", "week"), default="none",
                        help="sb-sacct's --chunk, for both sides (default none: one sacct call)")
    parser.add_argument("--smoke", action="store_true",
                        help="small sizes for CI: 2,000 jobs of 50 users, one round")
    parser.add_argument("--cluster", default=os.environ.get("SB_TEST_CLUSTER", "sbtest"),
                        help="the test cluster around the bench (default $SB_TEST_CLUSTER or sbtest)")
    parser.add_argument("--json", help="write the figures as one JSON object to this file")
    args = parser.parse_args()
    defaults = (2000, 50, 1) if args.smoke else (100_000, 2000, 3)
    for name, default in zip(("jobs", "users", "repeat"), defaults):
        if getattr(args, name) is None:
            setattr(args, name, default)
    if min(args.jobs, args.users, args.repeat) < 1:
        parser.error("--jobs, --users and --repeat must be positive")
    if args.jobs > LAST_ID - FIRST_ID or args.users > 10_000:
        parser.error("at most 9,999,999 jobs (the bench's job-id range) and 10,000 users")
    return args


def main():
    args = parse_args()
    if os.geteuid() != 0:
        sys.exit("sacct_pipe: needs root (the SLURM test cluster, useradd, sacctmgr, mysql)")
    work = tempfile.mkdtemp(prefix="sb-sacct-pipe-bench-")
    seeded = False
    try:
        seeding.use_cluster(args.cluster)
        users = user_names(args.users)
        jobs = make_jobs(args.jobs, users, random.Random(7))
        seeded = True
        seed_month(args.cluster, jobs, users)
        month = the_month(args, len(jobs))
        rows = count_rows(month.calls, work)
        if rows != len(jobs):
            raise RuntimeError(f"sacct prints {rows:,} rows for the month, not the {len(jobs):,} "
                               f"seeded jobs: other jobs ended in it on {args.cluster}")
        times, peer_error = measure(args, work, month)
        version = seeding.run([month.whole[1][0], "--version"]).strip()
        result = figures(args, len(jobs), rows, times, peer_error, version)
        report(result)
        if args.json:
            with open(args.json, "w") as handle:
                json.dump(result, handle)
    except (RuntimeError, subprocess.CalledProcessError) as err:
        sys.exit(f"sacct_pipe: {err}")
    finally:
        if seeded:
            seeding.unseed(args.cluster, IDS)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
