"""Time and peak memory of `sb-rank` rebuilding every board for a large synthetic site
(default 20 clusters x 36 months x 20,000 users, every user active every month on two days),
against a baseline measured in the same run: parsing, with orjson, every store file sb-rank has
to read (the floor of any reader of this layout).

With --poll N it times instead what each poll pays: a full rebuild, then N jobs added to one
cluster by the real sb-reduce (as a poll adds them), then the poll's rebuild (sb-rank
--if-changed), and the bytes each wrote; the ratio of the two times is the figure (target <=
0.2). --usage-days D gives every cluster D days of measured usage (the step poll's files), so
the efficiency boards are part of both.

The store files are written directly in sb-reduce's format (one template month per cluster,
copied with its dates changed). Every user is a real account to the rebuild: nss_wrapper
(Debian package libnss-wrapper) serves a passwd file that gives each of them a home folder, one
in a hundred holding the opt-out marker, so the rebuild pays the home-marker checks a site with
that many users pays (on local disk; automounted homes cost more). Needs GNU time
(/usr/bin/time). With --history the rebuild runs the history pass too (from the first day: no checkpoint yet),
and then the pass after a simulated poll (a job for 200 users today, from the checkpoint the
first pass kept) is timed against the full pass, both in this run. With --poll the rebuild after
a poll of one cluster is timed against a full rebuild of the same root. Usage:
    python bench/rank_rebuild.py [--clusters N] [--months N] [--users N] [--keep DIR]
                                 [--history | --poll JOBS [--usage-days D]]
"""
import argparse
import glob
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "lib"))

import orjson  # noqa: E402

from slurm_scoreboard.core import layout
from slurm_scoreboard.store import metrics  # noqa: E402

NOW = "2026-11-15T12:00:00Z"


def months_back(count):
    year, month, result = 2026, 11, []
    for _ in range(count):
        result.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return sorted(result)


def template(users, rng):
    """One month's rollup with the month written as MMMM-MM, and each user's vector."""
    entries, days, per_user = [], [], {}
    for index in range(users):
        name = f"user{index:05d}"
        account = f"grp{index % 400:03d}"
        vector = [rng.randrange(10 ** 7), rng.randrange(10 ** 6), rng.randrange(10 ** 5),
                  rng.randrange(10 ** 5), rng.randrange(20), rng.randrange(200)]
        half = [v // 2 for v in vector]
        rest = [v - h for v, h in zip(vector, half)]
        entry = {"username": name}
        entry.update(metrics.hour_fields(vector))
        entry.update({"jobs": vector[5], "totals": vector, "accounts": {account: vector}})
        entries.append(entry)
        for day, part in ((1 + index % 14, half), (15 + index % 14, rest)):
            days.append([name, f"MMMM-MM-{day:02d}", account] + part)
        per_user[name] = (account, vector)
    doc = {"asof": NOW, "month": "MMMM-MM", "cluster": "CLUSTER", "metrics": list(metrics.NAMES),
           "users": entries, "days": days}
    return orjson.dumps(doc), per_user


def build(root, clusters, months, users):
    rng = random.Random(11)
    month_names = months_back(months)
    for c in range(clusters):
        cluster = f"clu{c:02d}"
        data, per_user = template(users, rng)
        data = data.replace(b"CLUSTER", cluster.encode())
        folder = os.path.join(root, "clusters", cluster, "agg", "rollups", "monthly")
        os.makedirs(folder)
        for month in month_names:
            with open(os.path.join(folder, month + ".json"), "wb") as out:
                out.write(data.replace(b"MMMM-MM", month.encode()))
        alltime = {"asof": NOW, "cluster": cluster, "metrics": list(metrics.NAMES), "users": [
            {"username": name, "totals": [v * months for v in vector],
             "accounts": {account: [v * months for v in vector]},
             "first_end": month_names[0] + "-01T00:00:00Z", "last_end": NOW}
            for name, (account, vector) in per_user.items()]}
        with open(os.path.join(root, "clusters", cluster, "agg", "alltime.json"), "wb") as out:
            out.write(orjson.dumps(alltime))
    return month_names


NSS_WRAPPER = "/usr/lib/x86_64-linux-gnu/libnss_wrapper.so"
MARKER = ".slurm_scoreboard_optout"


def passwd_environment(work, users):
    """Environment in which getpwnam knows every user, with a home under `work`."""
    library = next((path for path in (NSS_WRAPPER, "/usr/lib/libnss_wrapper.so")
                    if os.path.exists(path)), None)
    if library is None:
        sys.exit("rank_rebuild: needs nss_wrapper (apt-get install libnss-wrapper)")
    homes = os.path.join(work, "homes")
    os.makedirs(homes)
    passwd, group = os.path.join(work, "passwd"), os.path.join(work, "group")
    with open(passwd, "w") as out:
        for index in range(users):
            name = f"user{index:05d}"
            home = os.path.join(homes, name)
            os.makedirs(home)
            if index % 100 == 0:
                open(os.path.join(home, MARKER), "w").close()
            out.write(f"{name}:x:{20000 + index}:20000::{home}:/bin/sh\n")
    with open(group, "w") as out:
        out.write("users:x:20000:\n")
    return dict(os.environ, LD_PRELOAD=library, NSS_WRAPPER_PASSWD=passwd,
                NSS_WRAPPER_GROUP=group)


def look_at_homes(root, users, env):
    """What the pollers do before any rebuild: look for the opt-out marker in every user's home
    (the real code, under nss_wrapper) and keep the answers in the root's opt-out cache, which
    sb-rank reads."""
    script = ("import sys; from slurm_scoreboard.core.optout import OptOut\n"
              "out = OptOut(sys.argv[1], 'clu00', check_homes=True)\n"
              f"out.refresh([f'user{{i:05d}}' for i in range({users})], budget=600)\n"
              "out.save()\n")
    subprocess.run([sys.executable, "-c", script, root], check=True, env=env)


def read_floor(root, month_names):
    """Seconds to parse every file sb-rank reads (all-time index + the last 13 months)."""
    wanted = set(month_names[-13:])
    start = time.perf_counter()
    for path in glob.glob(os.path.join(root, "clusters", "*", "agg", "alltime.json")):
        with open(path, "rb") as handle:
            orjson.loads(handle.read())
    for path in glob.glob(os.path.join(root, "clusters", "*", "agg", "rollups", "monthly", "*.json")):
        if os.path.basename(path)[:7] in wanted:
            with open(path, "rb") as handle:
                orjson.loads(handle.read())
    return time.perf_counter() - start


def history_done(root):
    """Mark the history pass done (empty files, a fresh record): the rebuild then times the
    boards alone, as every poll between two passes does."""
    from datetime import datetime, timezone

    from slurm_scoreboard.history import chronicle
    os.makedirs(os.path.join(root, "leaderboards"), exist_ok=True)
    for path in (layout.achievements_file(root), layout.records_file(root),
                 layout.competitions_file(root)):
        with open(path, "wb") as handle:
            handle.write(b"{}\n" if path.endswith(".json") else b"")
    from slurm_scoreboard import boardfiles
    progress = layout.progress_file(root, "all", "users")
    os.makedirs(os.path.dirname(progress), exist_ok=True)
    with open(progress, "wb") as handle:       # the pass's files are there: it is not due
        handle.write(orjson.dumps({"asof": NOW, "format": boardfiles.PROGRESS_FORMAT,
                                   "version": boardfiles.PROGRESS_VERSION, "scope": "all",
                                   "kind": "users", "skills": list(boardfiles.SKILLS)}) + b"\n")
    chronicle.remember(root, datetime.strptime(NOW, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=timezone.utc))


POLLED = 200           # users a simulated poll gives a job
# sb-rank runs the history pass at every rebuild unless told otherwise (--history-every 0 by
# default): the boards' figures say so, so it is marked done and not due for a week
BOARDS_ALONE = ["--history-every", "10080"]


def poll_rollup(root, day, seed):
    """What a poll adds to the store: a job for each of POLLED users of cluster clu00, ending on
    `day`, in its month's rollup (day rows and user totals alike), the file replaced as sb-reduce
    replaces it."""
    path = layout.rollup_file(root, "clu00", day[:7])
    with open(path, "rb") as handle:
        doc = orjson.loads(handle.read())
    rng = random.Random(seed)
    for entry in doc["users"][:POLLED]:
        account = next(iter(entry["accounts"]))
        vector = [rng.randrange(3600, 36000), 3600, 0, 0, 0, 1]
        doc["days"].append([entry["username"], day, account] + vector)
        for total in (entry["totals"], entry["accounts"][account]):
            for index, value in enumerate(vector):
                total[index] += value
        entry.update(metrics.hour_fields(entry["totals"]))
        entry["jobs"] = entry["totals"][5]
    with open(path + ".poll", "wb") as handle:
        handle.write(orjson.dumps(doc))
    os.replace(path + ".poll", path)


def history_pass(root):
    """(seconds, outcome) of the history pass alone, as sb-rank's rebuild runs it."""
    from slurm_scoreboard.core import xp
    from slurm_scoreboard.core.optout import OptOut
    from slurm_scoreboard.history import chronicle, competitions
    rates = xp.load_rates(layout.path(root, "xp_config"))
    contests = competitions.load(layout.competitions_config(root), NOW[:10])
    start = time.perf_counter()
    outcome = chronicle.run(root, layout.clusters(root), rates, OptOut(root), contests, NOW, 60.0,
                            lambda path, message: sys.exit(f"damage: {path}: {message}"))
    return time.perf_counter() - start, outcome


def history_after_poll(root, env):
    """The history pass after a poll against the full pass, both timed here, in this run: a
    poll, then sb-rank (its history pass resumed from the checkpoint the first rebuild kept);
    the pass alone from the first day (the checkpoint removed); another poll, and the pass
    alone again, from the checkpoint."""
    from slurm_scoreboard.history import checkpoint
    poll_rollup(root, NOW[:10], 1)
    rebuilt, peak, _ = timed_rank(root, env, [])
    os.unlink(checkpoint.path(root))
    full, first = history_pass(root)
    poll_rollup(root, NOW[:10], 2)
    after, resumed = history_pass(root)
    if first.resumed is not None or resumed.resumed != checkpoint.target_month(NOW[:10]):
        sys.exit(f"rank_rebuild: the passes were not what they claim: {first}, {resumed}")
    print(f"history pass after a poll (from its checkpoint at {resumed.resumed}): {after:6.2f} s; "
          f"the full pass: {full:6.2f} s; {after / full:.3f} of it (target <= 0.2)")
    print(f"sb-rank rebuild after a poll (the history pass from its checkpoint): {rebuilt:6.1f} s, "
          f"peak RSS {peak:.0f} MiB")
    return {"history_full_seconds": full, "history_after_poll_seconds": after,
            "history_ratio": after / full, "resumed_from": resumed.resumed,
            "rebuild_after_poll_seconds": rebuilt, "rebuild_after_poll_peak_mib": peak}


def add_usage(root, clusters, users, days):
    """`days` days of measured usage per cluster, up to the day before NOW (what the daily step
    poll keeps): each user's one job a month, on the day of the month their index gives."""
    from datetime import datetime, timedelta, timezone

    from slurm_scoreboard.store import usage
    today = datetime.strptime(NOW[:10], "%Y-%m-%d").replace(tzinfo=timezone.utc)
    for c in range(clusters):
        cluster = f"clu{c:02d}"
        for back in range(1, days + 1):
            moment = today - timedelta(days=back)
            day = moment.strftime("%Y-%m-%d")
            last = int(moment.timestamp()) + 3600 * (1 + back % 20)
            jobs = {}
            for index in range(back % 30, users, 30):
                elapsed, cpus = 600 * (1 + index % 50), 1 + index % 16
                jobs[f"{index}@{day}"] = [
                    f"user{index:05d}", day, f"grp{index % 400:03d}", elapsed * cpus,
                    elapsed * cpus * (1 + index % 9) // 10, elapsed, 1, 2 ** 30 * (1 + index % 8),
                    2 ** 28 * (1 + index % 11), elapsed * (index % 3 == 0),
                    (index * 7) % 101 if index % 3 == 0 else None, last - elapsed, last]
            usage.write_day(layout.usage_file(root, cluster, day), day, cluster, jobs, NOW)


def poll_records(count, users, cluster):
    """What one poll of `cluster` brings: `count` jobs of random users, ended today before NOW
    (as sb-parse writes them)."""
    from datetime import datetime, timedelta
    rng = random.Random(5)
    records = []
    for number in range(count):
        index = rng.randrange(users)
        while index % 100 == 0:          # opted out (passwd_environment)
            index = rng.randrange(users)
        elapsed, cpus = 60 * rng.randrange(1, 600), rng.randrange(1, 33)
        end = f"{NOW[:11]}{rng.randrange(12):02d}:{rng.randrange(60):02d}:00Z"
        start = (datetime.strptime(end, "%Y-%m-%dT%H:%M:%SZ") -
                 timedelta(seconds=elapsed)).strftime("%Y-%m-%dT%H:%M:%SZ")
        records.append({
            "cluster": cluster, "job_id": str(9000000 + number),
            "job_id_raw": str(9000000 + number), "key": f"{9000000 + number}@{start}",
            "user": f"user{index:05d}", "account": f"grp{index % 400:03d}",
            "state": "COMPLETED", "terminal": True, "submit": start,
            "start": start, "end": end, "elapsed_s": elapsed, "cpus": cpus, "nodes": 1,
            "gpus": 0, "mem_bytes": None, "max_rss_bytes": None,
            "cpu_seconds": elapsed * cpus, "gpu_seconds": 0})
    return b"".join(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
                    for record in records)


def poll(root, cluster, count, users, env):
    """`count` new jobs into `cluster`'s store through the real sb-reduce, as a poll adds them
    (none: the first poll, which erases the opted-out users the store still holds)."""
    sb_reduce = os.path.join(os.path.dirname(sys.executable), "sb-reduce")
    done = subprocess.run([sb_reduce, "--root", root, "--cluster", cluster],
                          input=poll_records(count, users, cluster), capture_output=True,
                          env=dict(env, SLURM_SB_NOW=NOW))
    if done.returncode != 0 or orjson.loads(done.stdout)["new_jobs"] != count:
        sys.exit(f"sb-reduce failed: {done.stdout.decode()} {done.stderr.decode()}")
    return orjson.loads(done.stdout)


def leaderboard_files(root):
    """path -> (identity, size) of every file under leaderboards/."""
    found = {}
    for folder, _, names in os.walk(os.path.join(root, "leaderboards")):
        for name in names:
            path = os.path.join(folder, name)
            info = os.stat(path)
            found[path] = ((info.st_ino, info.st_mtime_ns), info.st_size)
    return found


def written_since(before, after, kept=None):
    """(files, bytes) written: the files under leaderboards/ that are new or replaced (only
    the summaries kept in .cache/ with `kept` True, only the others with False)."""
    changed = [size for path, (who, size) in after.items()
               if (path not in before or before[path][0] != who) and
               (kept is None or ("/.cache/" in path) == kept)]
    return len(changed), sum(changed)


def poll_figure(root, env, args):
    """A full rebuild, a poll of one cluster, the poll's rebuild: their times and bytes (the
    boards alone: the history pass after a poll is timed by --history)."""
    if poll(root, "clu00", 0, args.users, env)["users_erased"]:
        print("the first poll erased the opted-out users from clu00's store")
    history_done(root)
    first = leaderboard_files(root)
    cpu = []
    full, full_peak, done = timed_rank(root, env, BOARDS_ALONE, cpu)
    boards = orjson.loads(done.stdout)["boards"]
    built = leaderboard_files(root)
    full_files, full_bytes = written_since(first, built)
    if poll(root, "clu00", args.poll, args.users, env)["users_erased"]:
        sys.exit("rank_rebuild: the poll erased users: it changed more than its jobs")
    seconds, peak, done = timed_rank(root, env, BOARDS_ALONE + ["--if-changed"], cpu)
    summary = orjson.loads(done.stdout)
    if summary.get("skipped"):
        sys.exit(f"rank_rebuild: the poll's rebuild was skipped: {summary}")
    after = leaderboard_files(root)
    files, written = written_since(built, after)
    kept_bytes = written_since(built, after, kept=True)[1]
    full_kept = written_since(first, built, kept=True)[1]
    print(f"full rebuild: {full:6.1f} s ({cpu[0]:.1f} s CPU), peak RSS {full_peak:.0f} MiB, "
          f"{boards} boards, {full_files} files ({full_bytes / 1e6:.1f} MB) written")
    print(f"rebuild after a poll of one cluster of {args.clusters} ({args.poll} jobs): "
          f"{seconds:6.1f} s ({cpu[1]:.1f} s CPU), peak RSS {peak:.0f} MiB, {files} files "
          f"({written / 1e6:.1f} MB) written; {seconds / full:.3f} of the full rebuild "
          f"({cpu[1] / cpu[0]:.3f} of its CPU time; target <= 0.2), "
          f"{written / full_bytes:.3f} of its bytes (summaries: {kept_bytes / 1e6:.1f} MB, "
          f"{full_kept / 1e6:.1f} MB in the full rebuild)")
    return {"clusters": args.clusters, "months": args.months, "users": args.users,
            "poll_jobs": args.poll, "usage_days": args.usage_days, "boards": boards,
            "full_seconds": full, "full_peak_mib": full_peak, "full_files": full_files,
            "full_bytes": full_bytes, "full_cpu_seconds": cpu[0], "seconds": seconds,
            "cpu_seconds": cpu[1], "peak_mib": peak, "summary_bytes": kept_bytes,
            "full_summary_bytes": full_kept,
            "files_written": files, "bytes_written": written}


def timed_rank(root, env, extra, cpu=None):
    """(seconds, peak RSS MiB, the finished process) of one sb-rank rebuild; its CPU seconds
    (user + system) are appended to `cpu` when given."""
    sb_rank = os.path.join(os.path.dirname(sys.executable), "sb-rank")
    with tempfile.NamedTemporaryFile("r") as report:
        start = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", "-o", report.name, sb_rank,
                               "--root", root, "--now", NOW] + extra, capture_output=True,
                              text=True, env=env)
        seconds = time.perf_counter() - start
        peak, user, system = report.read().split()[-3:]
    if done.returncode != 0:
        sys.exit(f"sb-rank failed: {done.stderr}")
    if cpu is not None:
        cpu.append(float(user) + float(system))
    return seconds, int(peak) / 1024, done


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clusters", type=int, default=20)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--users", type=int, default=20000)
    parser.add_argument("--keep", help="build the store in DIR and keep it")
    parser.add_argument("--history", action="store_true",
                        help="time the history pass too (achievements, records, competitions: "
                             "sb-rank --history-every 0); without it the pass is marked done so "
                             "the boards alone are timed")
    parser.add_argument("--poll", type=int, metavar="JOBS",
                        help="time the rebuild after a poll that added JOBS jobs to one "
                             "cluster, against a full rebuild in the same run")
    parser.add_argument("--usage-days", type=int, default=0,
                        help="days of measured usage per cluster (the efficiency boards)")
    parser.add_argument("--json", help="also write the figures as JSON to this file")
    args = parser.parse_args()
    root = args.keep or tempfile.mkdtemp(prefix="sb-rank-bench-")
    site = None
    try:
        start = time.perf_counter()
        month_names = build(root, args.clusters, args.months, args.users)
        size = sum(os.path.getsize(p) for p in glob.glob(os.path.join(root, "clusters", "**", "*.json"),
                                                          recursive=True))
        print(f"store: {args.clusters} clusters x {args.months} months x {args.users:,} users, "
              f"{size / 1e9:.1f} GB, built in {time.perf_counter() - start:.0f} s")
        site = tempfile.mkdtemp(prefix="sb-rank-bench-site-")
        env = passwd_environment(site, args.users)
        look_at_homes(root, args.users, env)
        if args.usage_days:
            add_usage(root, args.clusters, args.users, args.usage_days)
        if args.poll:
            figures = poll_figure(root, env, args)
            if args.json:
                with open(args.json, "w") as handle:
                    json.dump(figures, handle)
            return
        floor = read_floor(root, month_names)
        print(f"baseline: orjson-parse the files sb-rank reads: {floor:6.1f} s")
        if not args.history:
            history_done(root)
        seconds, peak, done = timed_rank(root, env, ["--history-every", "0"] if args.history
                                         else BOARDS_ALONE)
        boards = orjson.loads(done.stdout)["boards"]
        out = sum(os.path.getsize(p) for p in glob.glob(os.path.join(root, "leaderboards", "**", "*.json"),
                                                         recursive=True))
        with open(os.path.join(root, "leaderboards", "alltime_jobs.json"), "rb") as handle:
            shown = {row["user"] for row in orjson.loads(handle.read())["rows"]}
        if "user00000" in shown or len(shown) != args.users - len(range(0, args.users, 100)):
            sys.exit("rank_rebuild: the opt-out markers were not seen; is nss_wrapper working?")
        what = "with the history pass" if args.history else "boards only"
        print(f"sb-rank rebuild ({what}): {seconds:6.1f} s, peak RSS {peak:.0f} MiB, {boards} boards "
              f"({out / 1e9:.2f} GB written); {seconds / floor:.1f}x the parse floor; "
              f"{args.users:,} users with passwd entries and homes ({args.users // 100} opted out)")
        figures = {"clusters": args.clusters, "months": args.months, "users": args.users,
                   "seconds": seconds, "floor_seconds": floor, "peak_mib": peak,
                   "boards": boards, "bytes_written": out, "history": args.history}
        if args.history:
            figures.update(history_after_poll(root, env))
        if args.json:
            with open(args.json, "w") as handle:
                json.dump(figures, handle)
    finally:
        if not args.keep:
            shutil.rmtree(root)
        if site:
            shutil.rmtree(site)


if __name__ == "__main__":
    main()
