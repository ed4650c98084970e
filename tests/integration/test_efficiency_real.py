"""The efficiency boards end to end on the real test cluster: real jobs that burn known CPU (one
keeps 2 of its 4 CPUs busy, one its only CPU), measured by sb-poll's daily step poll as the
unprivileged user sbalice, ranked by its rebuild; every value is compared with sums computed
here straight from raw sacct step lines (no project code)."""
import os
import re
import subprocess
from datetime import date, timedelta

import orjson
import pytest
from slurm_jobs import submit, wait_until_ended
from test_pipelines_real import pipeline

BURN = 'timeout 12 sh -c "while :; do :; done"'
UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def seconds(text):
    """sacct's TotalCPU: [D-][HH:]MM:SS[.mmm], with the milliseconds."""
    days, _, clock = text.rpartition("-")
    parts = [float(p) for p in clock.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0.0)
    return int(days or 0) * 86400 + parts[0] * 3600 + parts[1] * 60 + parts[2]


def size(text):
    found = re.fullmatch(r"([0-9.]+)([KMGT]?)", text)
    return int(float(found.group(1)) * UNITS[found.group(2)]) if found else None


def raw_day(cluster, day):
    """user -> [CPU s allocated, CPU s used, requested memory x elapsed, peak RSS share x the
    same, jobs] over the jobs that ended on `day` and have step lines, from sacct itself."""
    out = subprocess.run(
        ["sacct", "-a", "-n", "-P", "-M", cluster, "-S", f"{day}T00:00:00", "-E",
         f"{day}T23:59:59", "--state=CD,F,CA,TO,OOM,NF,PR,BF,DL",
         "-o", "JobID,User,ElapsedRaw,AllocCPUS,NNodes,AllocTRES,End,TotalCPU,MaxRSS"],
        capture_output=True, text=True, check=True, env=dict(os.environ, TZ="UTC")).stdout
    jobs, steps, step_cpu = {}, {}, {}
    for line in out.splitlines():
        job_id, user, elapsed, cpus, nodes, tres, end, total, rss = line.split("|")
        base = job_id.split(".")[0]
        if "." in job_id:
            peak, known = size(rss), steps.get(base)
            steps[base] = known if peak is None else max(known or 0, peak)
            step_cpu[base] = step_cpu.get(base, 0.0) + seconds(total)
        elif end.startswith(day):
            mem = re.search(r"(?:^|,)mem=([0-9.]+[KMGT]?)", tres)
            jobs[base] = (user, int(elapsed), int(cpus), int(nodes),
                          size(mem.group(1)) if mem else None, seconds(total))
    sums = {}
    for base, (user, elapsed, cpus, nodes, mem, used) in jobs.items():
        if base not in steps:
            continue                              # no step line: nothing measured
        used = round(max(used, step_cpu[base]))   # sacct prints milliseconds; whole seconds kept
        total = sums.setdefault(user, [0, 0, 0.0, 0.0, 0])
        total[0] += elapsed * cpus
        total[1] += min(used, elapsed * cpus)
        if mem and steps[base] is not None:       # no step printed a MaxRSS: not measured
            per_node = mem / max(nodes, 1)
            total[2] += per_node * elapsed
            share = steps[base] / per_node
            total[3] += per_node * elapsed * (share if share <= 1 else 1 / share)
        total[4] += 1
    return sums


def rows(root, metric):
    with open(os.path.join(root, "leaderboards", f"alltime_{metric}.json"), "rb") as handle:
        return {row["user"]: row for row in orjson.loads(handle.read())["rows"]}


def test_efficiency_boards_of_real_jobs_match_sacct_step_lines(cluster, user_root):
    half = submit("sbcarol", "-c", "4", "--mem=400M", "--wrap", f"{BURN} & {BURN} & wait")
    full = submit("sbbob", "-c", "1", "--mem=200M", "--wrap", BURN)
    wait_until_ended([half, full], 2)
    ends = subprocess.run(["sacct", "-X", "-n", "-P", "-o", "End", "-j", f"{half},{full}"],
                          capture_output=True, text=True, check=True,
                          env=dict(os.environ, TZ="UTC")).stdout.split()
    day = max(ends)[:10]
    now = f"{date.fromisoformat(day) + timedelta(days=1)}T00:10:00Z"
    done = pipeline("sb-poll", "--cluster", cluster, "--root", user_root, "--backfill-start", day,
                    env={"SLURM_SB_NOW": now, "SLURM_SB_MIN_CPU_HOURS": "0"})
    assert f"{cluster}: steps: 1 day measured: " in done.stdout, done.stdout + done.stderr

    truth = raw_day(cluster, day)
    assert {"sbcarol", "sbbob"} <= set(truth)
    cpu = rows(user_root, "cpu_efficiency")
    mem = rows(user_root, "mem_efficiency")
    used = rows(user_root, "cpu_used_hours")
    assert set(cpu) == set(truth)
    for user, (allocated, burnt, mem_time, rss_time, jobs) in truth.items():
        assert cpu[user]["value"] == round(100 * burnt / allocated, 2), user
        assert cpu[user]["jobs"] == jobs and cpu[user]["cpu_hours"] == round(allocated / 3600, 2)
        assert used.get(user, {"value": 0})["value"] == burnt / 3600     # zeros not listed
        if mem_time:
            assert mem[user]["value"] == pytest.approx(100 * rss_time / mem_time, abs=0.006), user
    # the job keeping 2 of 4 CPUs busy used at most half of them, the one keeping its CPU busy
    # some of it: how much depends on what else the machine runs (the exact figures are sacct's,
    # checked above), so only what no load can change is asserted here
    with open(os.path.join(user_root, "clusters", cluster, "agg", "usage", f"{day}.json"),
              "rb") as handle:
        entries = orjson.loads(handle.read())["jobs"]
    mine = next(entry for key, entry in entries.items() if key.split("@")[0] == half)
    assert mine[0] == "sbcarol" and 0 < mine[4] / mine[3] <= 0.55
    alone = next(entry for key, entry in entries.items() if key.split("@")[0] == full)
    assert alone[0] == "sbbob" and 0 < alone[4] <= alone[3]
    assert set(entries[key][0] for key in entries) <= set(truth)

    # the next poll of the same day measures nothing again
    again = pipeline("sb-poll", "--cluster", cluster, "--root", user_root,
                     env={"SLURM_SB_NOW": now.replace("00:10", "00:20")})
    assert "steps:" not in again.stdout
