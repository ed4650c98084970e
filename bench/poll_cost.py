"""What steady-state polling costs slurmdbd on the real SLURM test cluster, against fetching the
whole current month at every poll: sacct calls, rows and wall time for a simulated day.

How:
1. The private one-node test cluster that tests/slurm/with-cluster.sh brought up around the
   bench (make bench does; $SB_SLURM_ENV names its environment, default cluster sbtest).
2. A synthetic history is written straight into slurmdbd's job table with the row format of
   tests/slurm/seed_history.py (imported; its CLI checks every association with one sacctmgr
   call each, too slow for 300 users): --jobs-per-day jobs ending every day for the 31 days
   before the simulated day (2025-08-15) and through the simulated --days, 300 users
   sbpoll000..sbpoll299 (Linux users made with useradd -M -N when missing, since sacct -u
   resolves names through passwd) in 5 accounts. Job ids start at 80,000,000, above SLURM's
   MaxJobId and far from the integration tests' 9,100,000 and 9,200,000, so a rerun deletes
   and replaces exactly its own rows; they are deleted again at the end.
3. A wrapper named sacct goes first on PATH: it runs /usr/bin/sacct, passes its output and
   exit status through unchanged and logs the arguments, the rows printed, the wall time of the
   real call and its kind (discovery when -u is given, else incremental).
4. A temporary root gets a poll cursor that says the backfill (from the 1st of the month) is
   caught up and incremental polling reached the start of the simulated day, and the list of
   users already known (all who ran jobs since the backfill start). The newest 30 users show up
   for the first time during the first 20 hours of the simulated day (half of them with earlier
   history, before the backfill start), so sb-discover fetches it. The real sb-poll then runs every
   --interval minutes (SLURM_SB_NOW pinned to the tick, SLURM_SB_SACCT_PER_MIN high enough
   that the rate limiter never sleeps), from a copy of pipelines/ taken at the start (bash reads
   a script while it runs it: an edit during the bench would break a poll); at every tick the
   baseline follows: one real sacct call fetching the current month so far, with sb-sacct's
   flags (what a naive poller would do).
5. The store must then hold exactly the jobs of the polled windows plus the discovered history,
   and the usage files every job that ended the day before each simulated day: every seeded job
   that started has step rows (batch and extern, as sbatch leaves them; the batch step used 1 to
   99 % of the job's CPUs), so the first poll of each day runs the daily step poll (sb-sacct
   --steps, logged as kind "steps": sacct without -X), whose rows and sacct time are reported
   against the day's allocation polls.
   The report ends with one JSON object on the last line (for a `make bench` table); progress
   goes to stderr. Needs root (useradd, sacctmgr, the mysql client as root).

Usage: tests/slurm/with-cluster.sh sbtest python bench/poll_cost.py [--jobs-per-day N]
       [--interval MINUTES] [--days D] [--smoke] [--cluster NAME]
"""
import argparse
import calendar
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

import seeding
from seeding import run, stored_jobs

from slurm_scoreboard.ingest import sacct as sb_sacct

TOP = seeding.TOP
DAY = 86400
DAY_START = calendar.timegm((2025, 8, 15, 0, 0, 0))
HISTORY_DAYS = 31
OVERLAP = 300                       # sb-incremental's default --overlap
FIRST_ID, LAST_ID = 80_000_000, 89_999_999
IDS = (FIRST_ID, LAST_ID)
USERS = [f"sbpoll{i:03d}" for i in range(300)]
NEWCOMERS = 30                      # the last 30 users: first seen during the simulated day,
ARRIVALS = 20 * 3600                # arriving evenly over its first 20 hours
ACCOUNTS = 5
STATES = ["COMPLETED"] * 8 + ["FAILED", "TIMEOUT", "CANCELLED", "OUT_OF_MEMORY"]
WRAPPER = r"""#!/usr/bin/env bash
# sacct, counted: the real sacct, its output and exit status passed through, every call logged.
out="$(mktemp)"
start=$EPOCHREALTIME
"$SB_BENCH_REAL_SACCT" "$@" > "$out"
status=$?
end=$EPOCHREALTIME
rows=$(wc -l < "$out")
cat "$out"
rm -f "$out"
kind="${SB_BENCH_KIND:-steps}"
for arg in "$@"; do
  [[ "$arg" == -X && "$kind" == steps ]] && kind=incremental
done
for arg in "$@"; do
  [[ "$arg" == -u || "$arg" == --user=* || "$arg" == --uid=* ]] && kind=discovery
done
printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$rows" "$start" "$end" "$status" "$*" \
  >> "$SB_BENCH_SACCT_LOG"
exit "$status"
"""


def stamp(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def month_start(seconds):
    moment = datetime.fromtimestamp(seconds, timezone.utc)
    return calendar.timegm((moment.year, moment.month, 1, 0, 0, 0))


def account_of(user):
    return f"sbpollacct{int(user[6:]) % ACCOUNTS}"


def log(message):
    print(f"poll_cost: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the history

def make_jobs(jobs_per_day, days, backfill_start, rng):
    """Seed-format jobs: jobs_per_day ending each day from HISTORY_DAYS before the simulated day
    to its end. Newcomers have no jobs between the backfill start and their arrival during the
    first simulated day; half of them (the returning ones) have jobs before the backfill start."""
    regulars = USERS[:-NEWCOMERS]
    newcomers = USERS[-NEWCOMERS:]
    returning = set(newcomers[:NEWCOMERS // 2])
    arrival = {user: DAY_START + (2 * i + 1) * ARRIVALS // (2 * NEWCOMERS)
               for i, user in enumerate(newcomers)}
    first = DAY_START - HISTORY_DAYS * DAY
    jobs = []
    for day in range(HISTORY_DAYS + days):
        for end in sorted(first + day * DAY + rng.randrange(DAY) for _ in range(jobs_per_day)):
            user = USERS[rng.randrange(len(USERS))]
            if user in arrival and not (end < backfill_start and user in returning
                                        or end >= arrival[user]):
                user = regulars[rng.randrange(len(regulars))]
            elapsed = rng.randrange(60, 8 * 3600)
            cpus = rng.choice((1, 1, 2, 4, 8, 16))
            jobs.append({"job_id": FIRST_ID + len(jobs), "user": user,
                         "account": account_of(user), "state": rng.choice(STATES),
                         "submit": end - elapsed - rng.randrange(600), "start": end - elapsed,
                         "end": end, "cpus": cpus, "gpus": rng.choice((0,) * 9 + (1, 2, 4)),
                         "mem_mb": 500 * cpus, "nodes": 1})
    return jobs


# ---------------------------------------------------------------- the polls

def write_wrapper(folder):
    os.makedirs(folder)
    path = os.path.join(folder, "sacct")
    with open(path, "w") as handle:
        handle.write(WRAPPER)
    os.chmod(path, 0o755)
    return path


def prepare_root(root, cluster, backfill_start, known):
    """A root that is caught up: the cursor at the start of the simulated day, `known` users."""
    state = os.path.join(root, "clusters", cluster, "state")
    os.makedirs(state)
    with open(os.path.join(state, "poll_cursor.json"), "w") as handle:
        handle.write(json.dumps({"cluster": cluster, "backfill_start": stamp(backfill_start)[:10],
                                 "backfill_next": stamp(DAY_START)[:7], "caught_up": True,
                                 "incremental_since": stamp(DAY_START),
                                 "updated": stamp(DAY_START)}, separators=(",", ":")) + "\n")
    with open(os.path.join(state, "known_users.txt"), "w") as handle:
        handle.write("".join(f"{user}\n" for user in sorted(known)))


def poll(env, cluster, root, now):
    # discovery reaches the history seeded before the backfill start (by default it stops there)
    done = subprocess.run(["sb-poll", "--cluster", cluster, "--root", root,
                           "--history-start", "2000-01-01"],
                          env=dict(env, SLURM_SB_NOW=stamp(now)), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"sb-poll at {stamp(now)} failed ({done.returncode}): "
                           f"{done.stderr.strip()[-2000:]}")


def whole_month_call(env, wrapper, cluster, now):
    """The naive poller: every job that ended this month so far, with sb-sacct's flags."""
    since = datetime.fromtimestamp(month_start(now - 1), timezone.utc)
    command = sb_sacct.build_command((since, datetime.fromtimestamp(now, timezone.utc)),
                                     cluster=cluster, sacct=wrapper)
    subprocess.run(command, env=dict(env, SB_BENCH_KIND="baseline", TZ="UTC",
                                     SLURM_TIME_FORMAT="standard"),
                   stdout=subprocess.DEVNULL, check=True)


def read_calls(path):
    """kind -> [calls, rows, wall seconds of the real sacct]; a failed call is an error."""
    totals = {kind: [0, 0, 0.0] for kind in ("incremental", "discovery", "steps", "baseline")}
    with open(path) as handle:
        for line in handle:
            kind, rows, start, end, status, args = line.rstrip("\n").split("\t", 5)
            if status != "0":
                raise RuntimeError(f"sacct {args} exited {status}")
            total = totals[kind]
            total[0] += 1
            total[1] += int(rows)
            total[2] += float(end.replace(",", ".")) - float(start.replace(",", "."))
    return totals


def check_store(root, cluster, jobs, known, windows, last):
    """The store holds, each once, the jobs of the polled windows (the polls' and the daily
    sweeps') and the whole history (to the last poll) of the users discovered on the way."""
    with open(os.path.join(root, "clusters", cluster, "state", "known_users.txt")) as handle:
        discovered = set(handle.read().split()) - known
    expected = sum(1 for job in jobs
                   if any(a <= job["end"] < b for a, b in windows)
                   or (job["user"] in discovered and job["end"] < last))
    if stored_jobs(root, cluster) != expected:
        raise RuntimeError(f"the store holds {stored_jobs(root, cluster)} jobs, expected "
                           f"{expected} (polled windows and discovered histories)")
    return discovered


# ---------------------------------------------------------------- the report

def counted_before(jobs, day):
    """The users the store counted when the step poll of simulated day `day` ran (its first
    poll, after the fetch): those with a job in the first poll's sweep (the day before
    yesterday) or in any window polled until then."""
    first, last = DAY_START - OVERLAP, DAY_START + day * DAY
    swept = (DAY_START - 2 * DAY, DAY_START - DAY)
    return {job["user"] for job in jobs
            if first <= job["end"] < last or swept[0] <= job["end"] < swept[1]}


def check_measured(root, cluster, jobs, days):
    """The daily step polls measured, each once, every job that ended on the day before each
    simulated day (what the first poll of a day asks for) of a user the store counted by then
    (only those are measured); returns how many."""
    measured = {}
    folder = os.path.join(root, "clusters", cluster, "agg", "usage")
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        with open(os.path.join(folder, name)) as handle:
            measured.update(json.load(handle)["jobs"])
    expected = 0
    for day in range(days):
        counted = counted_before(jobs, day)
        expected += sum(1 for job in jobs if job["user"] in counted and
                        DAY_START + (day - 1) * DAY <= job["end"] < DAY_START + day * DAY)
    if len(measured) != expected:
        raise RuntimeError(f"the step polls measured {len(measured)} jobs, expected {expected}")
    return expected


def report(args, polls, ended, totals, discovered, seeded):
    inc, disc, base = totals["incremental"], totals["discovery"], totals["baseline"]
    steps = totals["steps"]
    rows, seconds = inc[1] + disc[1], inc[2] + disc[2]
    result = {
        "bench": "poll_cost", "cluster": args.cluster, "sacct": seeded["sacct_version"],
        "cpus": os.cpu_count(), "python": platform.python_version(),
        "jobs_per_day": args.jobs_per_day, "interval_min": args.interval, "days": args.days,
        "polls": polls, "seeded_jobs": seeded["jobs"], "jobs_ended": ended,
        "incremental": {"calls": inc[0], "rows": inc[1], "sacct_s": round(inc[2], 3)},
        "discovery": {"calls": disc[0], "rows": disc[1], "sacct_s": round(disc[2], 3),
                      "new_users": len(discovered)},
        "rows_per_job_ended": round(rows / ended, 3) if ended else None,
        "sacct_s_per_day": round(seconds / args.days, 3),
        "step_poll": {"calls": steps[0], "rows": steps[1], "sacct_s": round(steps[2], 3),
                      "jobs_measured": seeded["measured"], "step_rows_seeded": seeded["steps"],
                      "rows_vs_allocation_polls": round(steps[1] / rows, 3) if rows else None,
                      "seconds_vs_allocation_polls":
                          round(steps[2] / seconds, 3) if seconds else None},
        "baseline": {"calls": base[0], "rows": base[1], "sacct_s": round(base[2], 3),
                     "sacct_s_per_day": round(base[2] / args.days, 3)},
        "rows_ratio": round(base[1] / rows, 1) if rows else None,
        "seconds_ratio": round(base[2] / seconds, 1) if seconds else None,
        "bench_s": round(seeded["bench_s"], 1),
    }
    print(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"{seeded['sacct_version']} (cluster {args.cluster})")
    print(f"history: {seeded['jobs']:,} seeded jobs, {len(USERS)} users in {ACCOUNTS} accounts, "
          f"{args.jobs_per_day:,} ending per day; simulated {stamp(DAY_START)[:10]} "
          f"for {args.days} day(s), a poll every {args.interval} min ({polls} polls, overlap "
          f"{OVERLAP} s, a daily sweep)")
    print(f"  jobs ended    : {ended:>12,}")
    print(f"  incremental   : {inc[0]:6,} sacct calls, {inc[1]:>12,} rows, {inc[2]:8.2f} s")
    print(f"  discovery     : {disc[0]:6,} sacct calls, {disc[1]:>12,} rows, {disc[2]:8.2f} s "
          f"({len(discovered)} new users)")
    print(f"  rows per job  : {result['rows_per_job_ended']}")
    print(f"  step poll     : {steps[0]:6,} sacct calls, {steps[1]:>12,} rows, {steps[2]:8.2f} s "
          f"({seeded['measured']:,} jobs measured; "
          f"{result['step_poll']['rows_vs_allocation_polls']}x the rows and "
          f"{result['step_poll']['seconds_vs_allocation_polls']}x the sacct time of the day's "
          f"allocation polls)")
    print(f"  sacct per day : {result['sacct_s_per_day']:.2f} s of real sacct wall time")
    print(f"  whole month   : {base[0]:6,} sacct calls, {base[1]:>12,} rows, {base[2]:8.2f} s "
          f"(baseline: the month so far at every tick)")
    print(f"  ratio         : {result['rows_ratio']}x fewer rows, {result['seconds_ratio']}x less "
          f"sacct time with incremental polling")
    print(json.dumps(result, separators=(",", ":")))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs-per-day", type=int, default=None, help="default 10,000")
    parser.add_argument("--interval", type=int, default=None,
                        help="minutes between polls (default 10); must divide a day")
    parser.add_argument("--days", type=int, default=1, help="simulated days (default 1)")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes for CI: 200 jobs a day, a poll every 60 min")
    parser.add_argument("--cluster", default=os.environ.get("SB_TEST_CLUSTER", "sbtest"),
                        help="the test cluster around the bench (default $SB_TEST_CLUSTER or sbtest)")
    args = parser.parse_args()
    if args.jobs_per_day is None:
        args.jobs_per_day = 200 if args.smoke else 10000
    if args.interval is None:
        args.interval = 60 if args.smoke else 10
    if not 1 <= args.interval <= 1440 or 1440 % args.interval:
        parser.error("--interval must divide a day (1440 minutes)")
    if args.days < 1 or args.jobs_per_day < 1:
        parser.error("--days and --jobs-per-day must be positive")
    if (HISTORY_DAYS + args.days) * args.jobs_per_day > LAST_ID - FIRST_ID:
        parser.error("too many jobs for the bench's job-id range")
    return args


def main():
    args = parse_args()
    if os.geteuid() != 0:
        sys.exit("poll_cost: needs root (the SLURM test cluster, useradd, sacctmgr, mysql)")
    began = time.perf_counter()
    real_sacct = shutil.which("sacct") or "/usr/bin/sacct"
    work = tempfile.mkdtemp(prefix="sb-poll-bench-")
    seeded_rows = False
    try:
        seeding.use_cluster(args.cluster)
        seed = seeding.seed_module()
        backfill_start = month_start(DAY_START)
        jobs = make_jobs(args.jobs_per_day, args.days, backfill_start, random.Random(5))
        log(f"{seeding.ensure_linux_users(USERS)} Linux users made, "
            f"{seeding.ensure_associations(seed, args.cluster, USERS, account_of)} "
            f"associations added")
        start = time.perf_counter()
        seeded_rows = True
        seeding.seed_history(seed, args.cluster, jobs, IDS, "sbpoll")
        steps = seeding.seed_steps(args.cluster, IDS)
        log(f"seeded {len(jobs):,} jobs and {steps:,} step rows in "
            f"{time.perf_counter() - start:.0f} s")

        wrapper = write_wrapper(os.path.join(work, "bin"))
        pipelines = os.path.join(work, "pipelines")
        shutil.copytree(os.path.join(TOP, "pipelines"), pipelines)
        calls = os.path.join(work, "sacct_calls.tsv")
        env = dict(os.environ, SB_BENCH_REAL_SACCT=real_sacct, SB_BENCH_SACCT_LOG=calls,
                   SLURM_SB_SACCT_PER_MIN="1000000", TMPDIR=work,
                   PATH=os.pathsep.join([os.path.dirname(wrapper), pipelines,
                                         os.path.dirname(sys.executable), os.environ["PATH"]]))
        root = os.path.join(work, "root")
        known = {job["user"] for job in jobs if backfill_start <= job["end"] < DAY_START}
        prepare_root(root, args.cluster, backfill_start, known)
        polls = args.days * 1440 // args.interval
        for tick in range(polls):          # from 00:00 of the first day, each day's sweep first
            now = DAY_START + tick * args.interval * 60
            poll(env, args.cluster, root, now)
            whole_month_call(env, wrapper, args.cluster, now)
            if tick % max(1, polls // 8) == 0:
                log(f"poll {tick}/{polls} at {stamp(now)}")
        last = DAY_START + (polls - 1) * args.interval * 60
        totals = read_calls(calls)
        swept = [(DAY_START + (day - 2) * DAY, DAY_START + (day - 1) * DAY)
                 for day in range(args.days)]
        discovered = check_store(root, args.cluster, jobs, known,
                                 [(DAY_START - OVERLAP, last)] + swept, last)
        ended = sum(1 for job in jobs if DAY_START <= job["end"] < last)
        measured = check_measured(root, args.cluster, jobs, args.days)
        version = run([real_sacct, "--version"]).strip()
        report(args, polls, ended, totals, discovered,
               {"jobs": len(jobs), "sacct_version": version, "measured": measured,
                "steps": steps,
                "bench_s": time.perf_counter() - began})
    except (RuntimeError, subprocess.CalledProcessError) as err:
        sys.exit(f"poll_cost: {err}")
    finally:
        if seeded_rows:
            seeding.unseed(args.cluster, IDS)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
