"""Time and peak memory of `sb-rank` rebuilding every board for a large synthetic site
(default 20 clusters x 36 months x 20,000 users, every user active every month on two days),
against a baseline measured in the same run: parsing, with orjson, every store file sb-rank has
to read (the floor of any reader of this layout).

The store files are written directly in sb-reduce's format (one template month per cluster,
copied with its dates changed). Every user is a real account to the rebuild: nss_wrapper
(Debian package libnss-wrapper) serves a passwd file that gives each of them a home folder, one
in a hundred holding the opt-out marker, so the rebuild pays the home-marker checks a site with
that many users pays (on local disk; automounted homes cost more). Needs GNU time
(/usr/bin/time). With --history the rebuild runs the history pass too (from the first day: no checkpoint yet),
and then the pass after a simulated poll (a job for 200 users today, from the checkpoint the
first pass kept) is timed against the full pass, both in this run. Usage:
    python bench/rank_rebuild.py [--clusters N] [--months N] [--users N] [--keep DIR] [--history]
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
    chronicle.remember(root, datetime.strptime(NOW, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=timezone.utc))


POLLED = 200           # users a simulated poll gives a job


def poll(root, day, seed):
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
    poll(root, NOW[:10], 1)
    rebuilt, peak, _ = timed_rank(root, env, [])
    os.unlink(checkpoint.path(root))
    full, first = history_pass(root)
    poll(root, NOW[:10], 2)
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


def timed_rank(root, env, extra):
    """(seconds, peak RSS MiB, the finished process) of one sb-rank rebuild."""
    sb_rank = os.path.join(os.path.dirname(sys.executable), "sb-rank")
    with tempfile.NamedTemporaryFile("r") as report:
        start = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", report.name, sb_rank,
                               "--root", root, "--now", NOW] + extra, capture_output=True,
                              text=True, env=env)
        seconds = time.perf_counter() - start
        peak = int(report.read().split()[-1]) / 1024
    if done.returncode != 0:
        sys.exit(f"sb-rank failed: {done.stderr}")
    return seconds, peak, done


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
        floor = read_floor(root, month_names)
        print(f"baseline: orjson-parse the files sb-rank reads: {floor:6.1f} s")
        if not args.history:
            history_done(root)
        seconds, peak, done = timed_rank(root, env, ["--history-every", "0"] if args.history
                                         else [])
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
