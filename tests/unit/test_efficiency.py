"""Measured usage and the efficiency boards: GPU utilisation from step lines, the usage files
sb-reduce --usage keeps, and the boards sb-rank computes from them."""
import json
import os
import re
from datetime import datetime, timedelta

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reduce_helpers import ENV, job, ndjson, reduce, tool

from slurm_scoreboard import errors
from slurm_scoreboard.core import layout
from slurm_scoreboard.core.times import iso_seconds
from slurm_scoreboard.core.windows import Window
from slurm_scoreboard.ingest import records
from slurm_scoreboard.ingest.parser import SacctParser
from slurm_scoreboard.ingest.records import placement
from slurm_scoreboard.rank import efficiency
from slurm_scoreboard.store import usage

NOW = "2025-08-31T12:00:00Z"
ALLTIME = Window("alltime", None, None)


def measured(job_id, user, end, cpus=4, elapsed=3600, used=None, account="proj", mem=None,
             rss=None, gpus=0, util=None, nodes=1):
    """A step-poll record: cpu_used_s (default half the CPU time), memory, GPU utilisation."""
    record = job(job_id, user, end, cpus=cpus, elapsed=elapsed, gpus=gpus, account=account)
    record.update(nodes=nodes, mem_bytes=mem, max_rss_bytes=rss,
                  cpu_used_s=elapsed * cpus // 2 if used is None else used)
    if util is not None:
        record["gpu_util"] = util
    return record


def usage_only(root, records, *args):
    """The step poll's sb-reduce --usage alone."""
    done = tool("sb_reduce", ["--root", str(root), "--cluster", "hammer", "--usage", "-q"]
                + list(args), ndjson(records))
    return done, (json.loads(done.stdout) if done.returncode == 0 else None)


def usage_reduce(root, records, *args):
    """The jobs counted (as the allocation polls do before the step poll), then measured."""
    reduce(root, records, "--cluster", "hammer")
    return usage_only(root, records, *args)


def rank(root, *args):
    return tool("sb_rank", ["--root", str(root), "--now", NOW] + list(args))


def board(root, window, metric, kind="users", cluster=None):
    parts = [str(root), "leaderboards"] + (["clusters", cluster] if cluster else []) + \
        (["groups"] if kind == "groups" else []) + [f"{window}_{metric}.json"]
    with open(os.path.join(*parts), "rb") as handle:
        return orjson.loads(handle.read())


# -- GPU utilisation from step lines ----------------------------------------------------------

STEP_HDR = "JobID|User|State|ElapsedRaw|AllocCPUS|AllocTRES|End|Start|Submit|TotalCPU|TRESUsageInAve"
TIMES = "2025-08-04T00:01:40|2025-08-04T00:00:00|2025-08-04T00:00:00"


def parse(lines):
    problems = []
    parser = SacctParser(on_problem=lambda source, lineno, message: problems.append(message))
    return list(parser.parse(lines, "test")), problems


def test_gpu_util_is_the_steps_gpu_time_over_the_job_s():
    lines = [STEP_HDR,
             f"600|ann|COMPLETED|100|4|cpu=4,gres/gpu=4|{TIMES}|00:05:00|",
             f"600.batch||COMPLETED|100|4|cpu=4,gres/gpu=4|{TIMES}|00:01:00|"
             "cpu=00:01:00,gres/gpumem=0,gres/gpuutil=0,mem=1M",
             f"600.0||COMPLETED|100|4|cpu=4,gres/gpu=4|{TIMES}|00:04:00|"
             "cpu=00:04:00,gres/gpumem=20G,gres/gpuutil=300,mem=1G"]
    records, problems = parse(lines)
    assert problems == []
    assert records[0]["gpu_util"] == 75 and records[0]["cpu_used_s"] == 300
    # a day of 4 idle GPUs is not made busy by a 10-second step at 400
    day = "2025-08-05T00:00:00|2025-08-04T00:00:00|2025-08-04T00:00:00"
    short = "2025-08-04T00:00:10|2025-08-04T00:00:00|2025-08-04T00:00:00"
    idle = [STEP_HDR, f"604|ann|COMPLETED|86400|4|cpu=4,gres/gpu=4|{day}|00:05:00|",
            f"604.batch||COMPLETED|86400|4|cpu=4,gres/gpu=4|{day}|00:01:00|gres/gpuutil=0",
            f"604.0||COMPLETED|10|4|cpu=4,gres/gpu=4|{short}|00:00:40|gres/gpuutil=400"]
    records, problems = parse(idle)
    assert problems == [] and records[0]["gpu_util"] == 0


def test_gpu_util_is_absent_where_slurm_records_none_or_the_job_has_no_gpu():
    no_gpuutil = [STEP_HDR, f"601|ann|COMPLETED|100|4|cpu=4,gres/gpu=1|{TIMES}|00:05:00|",
                  f"601.batch||COMPLETED|100|4|cpu=4,gres/gpu=1|{TIMES}|00:05:00|cpu=00:05:00,mem=1M"]
    no_gpu = [STEP_HDR, f"602|ann|COMPLETED|100|4|cpu=4|{TIMES}|00:05:00|",
              f"602.batch||COMPLETED|100|4|cpu=4|{TIMES}|00:05:00|cpu=00:05:00,gres/gpuutil=0"]
    for lines in (no_gpuutil, no_gpu):
        records, problems = parse(lines)
        assert problems == [] and "gpu_util" not in records[0]


def test_a_broken_usage_string_loses_the_measure_not_the_job():
    lines = [STEP_HDR, f"603|ann|COMPLETED|100|4|cpu=4,gres/gpu=1|{TIMES}|00:05:00|",
             f"603.batch||COMPLETED|100|4|cpu=4,gres/gpu=1|{TIMES}|00:05:00|gres/gpuutil=lots"]
    records, problems = parse(lines)
    assert [r["job_id"] for r in records] == ["603"] and "gpu_util" not in records[0]
    assert any("TRESUsageInAve" in p for p in problems)


def test_gpu_util_of_real_gpu_jobs_is_their_step_s_gpuutil_over_their_gpus(samples_dir):
    """hb-jobinfo's real sacct text (SLURM 23, V100/A100 with NVML): its TRESUsageInTot column
    is read as TRESUsageInAve (every step there runs one task, so the two are equal)."""
    path = os.path.join(samples_dir, "hb-jobinfo__test_data_sacct_snowman.txt")
    fields = ("JobID,JobName,User,Partition,NodeList,NNodes,NCPUs,NTasks,State,Submit,Start,End,"
              "Timelimit,Elapsed,TotalCPU,CPUTime,UserCPU,SystemCPU,ReqMem,MaxRSS,MaxVMSize,"
              "ReqTRES,AllocTRES,TRESUsageInMax,TRESUsageInAve,TRESUsageOutTot,MaxDiskRead,"
              "MaxDiskWrite,MaxRSSNode,MaxRSSTask,MaxVMSizeNode,MaxVMSizeTask,MaxDiskReadNode,"
              "MaxDiskReadTask,MaxDiskWriteNode,MaxDiskWriteTask,Comment").lower().split(",")
    with open(path, encoding="utf-8") as handle:
        text = handle.read().splitlines()
    parser = SacctParser(fields=fields, delimiter="\u2603", latest="2030-01-01T00:00:00Z")
    records = {r["job_id"]: r for r in parser.parse(text, "sample")}
    busy = {}
    for line in text:
        columns = line.split("\u2603")
        step = re.fullmatch(r"(\d+(?:_\d+)?)\.(.+)", columns[0])
        found = re.search(r"gres/gpuutil=(\d+)", columns[24]) if step else None
        if found:
            days, _, clock = columns[13].rpartition("-")          # Elapsed: [D-]HH:MM:SS
            hours, minutes, seconds = (int(float(p)) for p in clock.split(":"))
            elapsed = int(days or 0) * 86400 + hours * 3600 + minutes * 60 + seconds
            busy[step.group(1)] = busy.get(step.group(1), 0) + int(found.group(1)) * elapsed
    assert len(busy) >= 5, "the sample has GPU jobs with gpuutil"
    for job_id, seconds in busy.items():
        record = records[job_id]
        assert record["gpus"] >= 1
        if record["elapsed_s"]:
            assert record["gpu_util"] == min(100, round(seconds / (record["gpus"] *
                                                                    record["elapsed_s"]))), job_id
    assert any(r["gpu_util"] == 90 for r in records.values() if "gpu_util" in r)


# -- the usage files --------------------------------------------------------------------------

def test_a_job_read_twice_is_kept_once_and_rerunning_changes_nothing(tmp_path):
    records = [measured(1, "ann", "2025-08-02T00:00:00Z"), measured(2, "bob", "2025-07-30T00:00:00Z")]
    done, stats = usage_reduce(tmp_path, records + records[:1])
    assert done.returncode == 0, done.stderr
    assert stats["measured"] == 3 and stats["new_measured"] == 2
    assert stats["days_changed"] == ["2025-07-30", "2025-08-02"]
    path = layout.usage_file(str(tmp_path), "hammer", "2025-08-02")
    before = open(path, "rb").read()
    _, again = usage_reduce(tmp_path, records)
    assert again["new_measured"] == 0
    assert orjson.loads(open(path, "rb").read())["jobs"] == orjson.loads(before)["jobs"]


def test_records_without_a_measure_or_not_ended_are_skipped_by_reason(tmp_path):
    plain = job(3, "ann", "2025-08-02T00:00:00Z")          # an allocation poll's record
    running = dict(measured(4, "ann", "2025-08-02T00:00:00Z"), state="RUNNING", terminal=False,
                   end=None)
    done, stats = usage_reduce(tmp_path, [plain, running])
    assert done.returncode == 0
    assert stats["measured"] == 0
    assert stats["skipped"] == {"not ended": 1, "not measured": 1}


def test_the_entry_keeps_numbers_and_the_username_only(tmp_path):
    record = measured(5, "ann", "2025-08-02T00:00:00Z", mem=8 << 30, rss=2 << 30, gpus=2, util=40)
    usage_reduce(tmp_path, [record])
    data = orjson.loads(open(layout.usage_file(str(tmp_path), "hammer", "2025-08-02"), "rb").read())
    assert data["fields"] == list(usage.FIELDS)
    end = iso_seconds("2025-08-02T00:00:00Z")
    assert data["jobs"] == {record["key"]: ["ann", "2025-08-02", "proj", 14400, 7200, 3600, 1,
                                            8 << 30, 2 << 30, 7200, 40, end - 3600, end]}


def stored_users(root):
    users = set()
    for day, path in usage.usage_days(str(root), "hammer"):
        users.update(entry[0] for entry in usage.load_day(path, day).values())
    return users


def test_opted_out_users_are_never_written_and_erased_from_every_day_at_the_next_poll(tmp_path):
    early = [measured(6, "ann", "2025-06-02T00:00:00Z"), measured(7, "bob", "2025-06-02T00:00:00Z")]
    usage_reduce(tmp_path, early)
    os.makedirs(tmp_path / "config", exist_ok=True)
    (tmp_path / "config" / "optout.txt").write_text("ann\n")
    _, stats = usage_only(tmp_path, [measured(8, "bob", "2025-08-03T00:00:00Z"),
                                     measured(9, "ann", "2025-08-03T00:00:00Z")])
    assert stats["skipped"] == {"opted out": 1}
    assert stored_users(tmp_path) == {"ann", "bob"}       # June is not the step poll's day
    _, stats = reduce(tmp_path, [job(10, "bob", "2025-08-04T00:00:00Z")], "--cluster", "hammer")
    assert stats["users_erased"] == 1
    assert stored_users(tmp_path) == {"bob"}


def test_a_damaged_usage_file_is_named_left_out_and_replaced_by_the_next_reading(tmp_path):
    usage_reduce(tmp_path, [measured(10, "ann", "2025-08-02T00:00:00Z"),
                            measured(11, "bob", "2025-08-03T00:00:00Z")])
    path = layout.usage_file(str(tmp_path), "hammer", "2025-08-02")
    with open(path, "w") as handle:
        handle.write('{"day": "2025-08-02", "jobs": {"x": ["../etc", "2025-08-02"]}}')
    done = rank(tmp_path)
    assert done.returncode == 4 and path.encode() in done.stderr
    assert b"Traceback" not in done.stderr
    assert [r["user"] for r in board(tmp_path, "alltime", "cpu_used_hours")["rows"]] == ["bob"]
    done, stats = usage_reduce(tmp_path, [measured(12, "ann", "2025-08-02T05:00:00Z")])
    assert done.returncode == 0 and stats["new_measured"] == 1
    assert b"replaced by the jobs of this input" in done.stderr
    assert rank(tmp_path).returncode == 0


def test_only_users_the_store_counts_are_measured(tmp_path):
    """So that erasing a user who opted out, which looks at the counted users, reaches every
    measured one."""
    usage_reduce(tmp_path, [measured(15, "ann", "2025-08-02T00:00:00Z")])
    done, stats = usage_only(tmp_path, [measured(16, "uma", "2025-08-02T00:00:00Z")])
    assert stats["skipped"] == {"not counted": 1} and stored_users(tmp_path) == {"ann"}


def test_a_day_that_cannot_be_written_is_named_and_the_others_are_kept(tmp_path):
    usage_reduce(tmp_path, [measured(17, "ann", "2025-08-02T00:00:00Z")])
    os.makedirs(layout.usage_file(str(tmp_path), "hammer", "2025-08-14"))
    done, stats = usage_reduce(tmp_path, [measured(18, "ann", "2025-08-14T00:00:00Z"),
                                          measured(19, "ann", "2025-08-15T00:00:00Z")])
    assert done.returncode == 0 and stats["days_not_written"] == ["2025-08-14"]
    assert stats["days_changed"] == ["2025-08-15"] and b"cannot be written" in done.stderr


def test_a_bad_user_name_is_skipped_never_stored(tmp_path):
    bad = dict(measured(13, "ann", "2025-08-02T00:00:00Z"), user="evil user\x1b[31m")
    done, stats = usage_reduce(tmp_path, [bad, measured(14, "bob", "2025-08-02T00:00:00Z")])
    assert stats["skipped"] == {"bad user name": 1} and stats["measured"] == 1
    assert rank(tmp_path).returncode == 0 and stored_users(tmp_path) == {"bob"}


def test_usage_and_counting_exclude_each_other_and_a_busy_cluster_exits_3(tmp_path):
    done = tool("sb_reduce", ["--root", str(tmp_path), "--cluster", "hammer", "--usage",
                              "--repair"])
    assert done.returncode == 2
    from slurm_scoreboard.core import layout
    from slurm_scoreboard.core.files import locked
    os.makedirs(layout.state_dir(str(tmp_path), "hammer"))
    with locked(layout.reduce_lock(str(tmp_path), "hammer")):
        done, _ = usage_reduce(tmp_path, [measured(12, "ann", "2025-08-02T00:00:00Z")])
    assert done.returncode == 3


ENDS = ["2025-07-31T23:00:00Z", "2025-08-01T00:00:00Z", "2025-08-15T10:00:00Z"]
USERS = ["ann", "bob", "cy", "dan"]


def reading(n):
    """The step poll's reading of job n: the same job gives the same record at every poll."""
    return measured(n, USERS[n % 4], ENDS[n % 3], used=n * 37 % 7200)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(0, 40), max_size=30), st.integers(1, 4), st.randoms())
def test_any_split_order_or_repetition_of_a_stream_gives_the_same_usage_files(
        tmp_path_factory, numbers, parts, rng):
    """The step poll reads a job again (a rerun day, a day read twice): each job is kept once,
    whatever the runs, their order and repetitions."""
    records = [reading(n) for n in numbers]
    one = tmp_path_factory.mktemp("one")
    usage_reduce(one, records)
    many = tmp_path_factory.mktemp("many")
    for part in range(parts):
        usage_reduce(many, records[part::parts][::-1])
    usage_reduce(many, rng.sample(records, len(records) // 2))
    stored = []
    for root in (one, many):
        found = {}
        for day, path in usage.usage_days(str(root), "hammer"):
            found.update(usage.load_day(path, day))
        stored.append(found)
    assert stored[0] == stored[1]
    assert sorted(stored[0]) == sorted({r["key"] for r in records})
    assert sum(e[4] for e in stored[0].values()) == sum(reading(n)["cpu_used_s"]
                                                       for n in set(numbers))


# -- the boards -------------------------------------------------------------------------------

def fleet():
    """ann: 10 h of 4 CPUs, a quarter used; bob: 20 CPU h, all used; cy: one tiny busy job."""
    return [measured(20, "ann", "2025-08-20T00:00:00Z", cpus=4, elapsed=36000, used=36000,
                     mem=16 << 30, rss=4 << 30),
            measured(21, "bob", "2025-08-21T00:00:00Z", cpus=2, elapsed=36000, used=72000,
                     mem=8 << 30, rss=8 << 30, account="lab"),
            measured(22, "cy", "2025-08-21T00:00:00Z", cpus=1, elapsed=60, used=60)]


def test_the_ratio_boards_are_exact_and_leave_out_users_below_the_minimum(tmp_path):
    usage_reduce(tmp_path, fleet())
    done = rank(tmp_path)
    assert done.returncode == 0, done.stderr
    rows = board(tmp_path, "alltime", "cpu_efficiency")["rows"]
    assert [(r["user"], r["value"], r["cpu_hours"]) for r in rows] == \
        [("bob", 100.0, 20.0), ("ann", 25.0, 40.0)]
    mem = board(tmp_path, "alltime", "mem_efficiency")["rows"]
    assert [(r["user"], r["value"]) for r in mem] == [("bob", 100.0), ("ann", 25.0)]
    used = board(tmp_path, "alltime", "cpu_used_hours")["rows"]
    assert [(r["user"], r["value"], r["level"]) for r in used] == \
        [("bob", 20.0, 3), ("ann", 10.0, 2), ("cy", 60 / 3600, 1)]
    groups = board(tmp_path, "alltime", "cpu_efficiency", "groups")["rows"]
    assert [(g["account"], g["value"], g["members"]) for g in groups] == \
        [("lab", 100.0, 1), ("proj", round(100 * 36060 / 144060, 2), 2)]
    index = orjson.loads((tmp_path / "leaderboards" / "index.json").read_bytes())
    assert index["efficiency"] == ["cpu_used_hours", "cpu_efficiency", "mem_efficiency"]
    assert index["min_cpu_hours"] == 10
    assert not (tmp_path / "leaderboards" / "alltime_gpu_utilization.json").exists()


def test_the_minimum_is_an_option_and_zero_lists_everyone_measured(tmp_path):
    usage_reduce(tmp_path, fleet())
    rank(tmp_path, "--min-cpu-hours", "0")
    rows = board(tmp_path, "alltime", "cpu_efficiency")["rows"]
    assert [r["user"] for r in rows] == ["bob", "cy", "ann"]
    assert [r["rank"] for r in rows] == [1, 1, 3]         # a tie shares its rank
    done = tool("sb_rank", ["--root", str(tmp_path), "--now", NOW, "-w", "alltime", "-m",
                            "cpu_efficiency", "-f", "csv"],
                env=dict(ENV, SLURM_SB_MIN_CPU_HOURS="30"))
    assert done.stdout.decode().splitlines() == ["rank,user,value,cpu_hours,jobs",
                                                 "1,ann,25.0,40.0,1"]
    for bad in ("-1", "nan", "inf"):
        assert rank(tmp_path, "--min-cpu-hours", bad).returncode == 2


def test_zero_efficiency_is_listed_last_not_dropped(tmp_path):
    idle = measured(30, "dan", "2025-08-20T00:00:00Z", cpus=8, elapsed=36000, used=0)
    usage_reduce(tmp_path, fleet() + [idle])
    rank(tmp_path)
    rows = board(tmp_path, "alltime", "cpu_efficiency")["rows"]
    assert rows[-1]["user"] == "dan" and rows[-1]["value"] == 0


def test_windows_scopes_and_opt_out_apply_to_the_efficiency_boards(tmp_path):
    old = measured(40, "eve", "2025-06-01T00:00:00Z", cpus=10, elapsed=36000, used=36000)
    usage_reduce(tmp_path, fleet() + [old])
    other = [measured(41, "ann", "2025-08-30T00:00:00Z", cpus=4, elapsed=36000, used=144000)]
    reduce(tmp_path, [dict(r, cluster="anvil") for r in other], "--cluster", "anvil")
    done = tool("sb_reduce", ["--root", str(tmp_path), "--cluster", "anvil", "--usage"],
                ndjson([dict(r, cluster="anvil") for r in other]))
    assert done.returncode == 0, done.stderr
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "optout.txt").write_text("bob\n")
    rank(tmp_path)
    month = board(tmp_path, "month", "cpu_efficiency")["rows"]
    assert [(r["user"], r["value"]) for r in month] == [("ann", 62.5)]     # (36000+144000)/288000
    alltime = {r["user"] for r in board(tmp_path, "alltime", "cpu_efficiency")["rows"]}
    assert alltime == {"ann", "eve"}
    hammer = board(tmp_path, "alltime", "cpu_efficiency", cluster="hammer")["rows"]
    assert [(r["user"], r["value"]) for r in hammer] == [("ann", 25.0), ("eve", 10.0)]


def test_gpu_utilisation_is_weighted_by_gpu_hours_and_written_only_where_recorded(tmp_path):
    gpu_jobs = [measured(50, "ann", "2025-08-20T00:00:00Z", cpus=8, elapsed=36000, gpus=1,
                         util=90),
                measured(51, "ann", "2025-08-21T00:00:00Z", cpus=8, elapsed=36000, gpus=3,
                         util=10)]
    usage_reduce(tmp_path, gpu_jobs)
    rank(tmp_path)
    rows = board(tmp_path, "alltime", "gpu_utilization")["rows"]
    assert [(r["user"], r["value"]) for r in rows] == [("ann", 30.0)]      # (90 + 3 x 10) / 4
    index = orjson.loads((tmp_path / "leaderboards" / "index.json").read_bytes())
    assert index["efficiency"][-1] == "gpu_utilization"


def test_no_efficiency_boards_before_the_step_poll_measured_a_job(tmp_path):
    reduce(tmp_path, [job(60, "ann", "2025-08-20T00:00:00Z")], "--cluster", "hammer")
    assert rank(tmp_path).returncode == 0
    index = orjson.loads((tmp_path / "leaderboards" / "index.json").read_bytes())
    assert index["efficiency"] == []
    assert not (tmp_path / "leaderboards" / "alltime_cpu_efficiency.json").exists()


def test_mem_efficiency_scores_over_use_below_100_and_weights_by_requested_memory_time():
    sums = {}
    over = ["ann", "2025-08-01", "p", 3600, 3600, 3600, 1, 1 << 30, 4 << 30, 0, None]
    half = ["ann", "2025-08-01", "p", 3600, 3600, 3600 * 3, 2, 4 << 30, 1 << 30, 0, None]
    for entry in (over, half):
        efficiency.add_entry(sums, entry)
    # over: 4 GiB used of 1 GiB x 1 h counts 1/4 (over-use is not rewarded); half: 2 GiB a
    # node x 3 h at 50% -> (1/4 + 3) / (1 + 6)
    assert efficiency.ratio(efficiency.user_sums(sums)["ann"], "mem_efficiency") == \
        round(100 * 3.25 / 7, 2)
    assert efficiency.fit(1, 2) == 0.5 and efficiency.fit(2, 1) == 0.5 and efficiency.fit(3, 3) == 1


def test_placement_gives_the_usage_month_and_day_of_the_end():
    record = measured(70, "ann", "2025-08-31T23:59:59Z")
    place = placement(record, "hammer")
    assert usage.entry_of(record, place)[1] == "2025-08-31" and place.month == "2025-08"
    assert usage.entry_of(job(71, "ann", "2025-08-31T23:59:59Z"), place) is None


@pytest.mark.parametrize("entry", [
    ["../x", "2025-08-01", "p", 1, 1, 1, 1, None, None, 0, None],
    ["ann", "2025-08-02", "p", 1, 1, 1, 1, None, None, 0, None],
    ["ann", "2025-08-01", "p", 1, 1, 1, 1, None, None, 0, 101],
    ["ann", "2025-08-01", "p", True, 1, 1, 1, None, None, 0, None],
    ["ann", "2025-08-01", "p", 1, 1, 1, 1, -5, None, 0, None],
    ["ann", "2025-08-01", "p", 1, 1, 1, 1, None, None, 0],
])
def test_an_entry_sb_reduce_could_not_have_written_is_refused(entry):
    assert not usage.is_entry(entry, "2025-08-01")
    assert usage.is_entry(["ann", "2025-08-01", "p", 1, 1, 1, 1, None, None, 0, None],
                          "2025-08-01")


def test_collect_leaves_out_opted_out_users_and_other_windows(tmp_path):
    usage_reduce(tmp_path, fleet())

    class Out:
        def __contains__(self, user):
            return user == "ann"

    window = Window("w", "2025-08-21", "2025-08-31")
    found = efficiency.collect_cluster(str(tmp_path), "hammer", [ALLTIME, window], Out(),
                                       lambda path, message: None)
    assert set(found["alltime"]) == {"bob", "cy"}
    assert set(found["w"]) == {"bob", "cy"}
    window = Window("w", "2025-08-01", "2025-08-19")
    found = efficiency.collect_cluster(str(tmp_path), "hammer", [window], Out(),
                                       lambda path, message: None)
    assert found["w"] == {}
    # bob's job ran the ten hours before midnight on the 20th: its hours count there, the job
    # itself on the 21st, the day it ended
    window = Window("w", "2025-08-01", "2025-08-20")
    found = efficiency.collect_cluster(str(tmp_path), "hammer", [window], Out(),
                                       lambda path, message: None)
    bob = found["w"]["bob"]["lab"]
    assert (bob[efficiency.JOBS], bob[efficiency.CPU], bob[efficiency.USED]) == (0, 72000, 72000)
    assert set(found["w"]) == {"bob", "cy"}


def test_a_personal_page_has_the_user_s_efficiency_for_writers_and_readers(tmp_path):
    usage_reduce(tmp_path, fleet())
    reduce(tmp_path, fleet(), "--cluster", "hammer")
    assert rank(tmp_path).returncode == 0
    page = orjson.loads(rank(tmp_path, "--user", "ann").stdout)
    assert page["efficiency"] == [
        {"metric": "cpu_used_hours", "rank": 2, "value": 10.0},
        {"metric": "cpu_efficiency", "rank": 2, "value": 25.0},
        {"metric": "mem_efficiency", "rank": 2, "value": 25.0}]
    from slurm_scoreboard.boardfiles import BoardFiles
    from slurm_scoreboard.rank import queries
    reader = queries.efficiency_from_files(BoardFiles(str(tmp_path)), "alltime", None, "cy")
    assert reader == [{"metric": "cpu_used_hours", "rank": 3, "value": 60 / 3600},
                      {"metric": "cpu_efficiency", "rank": None, "value": None},
                      {"metric": "mem_efficiency", "rank": None, "value": None}]


HOSTILE_ACCOUNT = '<img src=x onerror=alert(1)>\x1b[2J"\\\nx'


def test_a_hostile_account_on_the_efficiency_boards_is_text_in_every_output(tmp_path):
    records = [measured(80, "ann", "2025-08-20T00:00:00Z", cpus=4, elapsed=36000,
                        account=HOSTILE_ACCOUNT)]
    done, stats = usage_reduce(tmp_path, records)
    assert stats["measured"] == 1, done.stderr
    assert rank(tmp_path).returncode == 0
    groups = board(tmp_path, "alltime", "cpu_efficiency", "groups")["rows"]
    assert groups[0]["account"] == HOSTILE_ACCOUNT          # the data is kept as it is
    # but no reader shows an account that is not printable as it is (boardfiles.checked_row):
    # the group is left out of the site, OpenMetrics and the view, and nothing of it leaks
    site = tmp_path / "site"
    done = tool("sb_export", ["--root", str(tmp_path), "--format", "html", "--output", str(site)])
    assert done.returncode == 0, done.stderr
    page = (site / "boards" / "groups" / "alltime" / "cpu_efficiency.html").read_text()
    assert "onerror" not in page and "<img" not in page and "\x1b" not in page
    done = tool("sb_export", ["--root", str(tmp_path), "--format", "openmetrics"])
    text = done.stdout.decode()
    assert "onerror" not in text and "\x1b" not in text and 'user="ann"' in text
    done = tool("sb_view", ["--root", str(tmp_path), "--snapshot", "--groups", "--metric",
                            "cpu_efficiency"])
    assert done.returncode == 0 and b"\x1b[2J" not in done.stdout and b"onerror" not in done.stdout


def test_one_tiny_gpu_or_memory_job_cannot_top_its_board(tmp_path):
    """The bar is counted on the jobs each board measures: CPU hours of CPU-only jobs do not
    qualify a 60-second GPU job for the GPU board, nor a job without memory for the memory one."""
    gamer = [measured(90, "gamer", "2025-08-20T00:00:00Z", cpus=4, elapsed=36000, used=144000),
             measured(91, "gamer", "2025-08-20T00:00:00Z", cpus=1, elapsed=60, gpus=1, util=100,
                      mem=1 << 30, rss=1 << 30)]
    honest = [measured(92, "honest", "2025-08-20T00:00:00Z", cpus=8, elapsed=36000, gpus=2,
                       util=95, mem=64 << 30, rss=40 << 30)]
    usage_reduce(tmp_path, gamer + honest)
    rank(tmp_path)
    gpu = board(tmp_path, "alltime", "gpu_utilization")["rows"]
    assert [(r["user"], r["value"], r["gpu_hours"]) for r in gpu] == [("honest", 95.0, 20.0)]
    mem = board(tmp_path, "alltime", "mem_efficiency")["rows"]
    assert [r["user"] for r in mem] == ["honest"]
    cpu = board(tmp_path, "alltime", "cpu_efficiency")["rows"]
    assert [r["user"] for r in cpu] == ["gamer", "honest"]


def test_the_bar_comes_from_the_flag_the_environment_or_the_root_s_config(tmp_path):
    usage_reduce(tmp_path, fleet())
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "efficiency.json").write_text('{"min_cpu_hours": 30}')
    assert rank(tmp_path).returncode == 0
    document = board(tmp_path, "alltime", "cpu_efficiency")
    assert document["min_cpu_hours"] == 30 and [r["user"] for r in document["rows"]] == ["ann"]
    query = rank(tmp_path, "-w", "alltime", "-m", "cpu_efficiency", "-o", "user", "-f", "csv",
                 "-n")
    assert query.stdout == b"ann\n"                     # a query agrees with the rebuild
    done = tool("sb_rank", ["--root", str(tmp_path), "--now", NOW, "-w", "alltime", "-m",
                            "cpu_efficiency", "-o", "user", "-f", "csv", "-n"],
                env=dict(ENV, SLURM_SB_MIN_CPU_HOURS="50"))
    assert done.stdout == b"" and b"no one with 50 CPU hours" in done.stderr
    for bad in ('{"min_cpu_hours": -1}', '{"min_cpu_hours": true}', '[]', '{"min": 3}', '{',
                'null'):
        (tmp_path / "config" / "efficiency.json").write_text(bad)
        done = rank(tmp_path)
        assert done.returncode == 1 and b"efficiency.json" in done.stderr, bad
        assert b"Traceback" not in done.stderr
        # the boards are still written, with the default bar
        assert board(tmp_path, "alltime", "cpu_efficiency")["min_cpu_hours"] == 10


def test_an_empty_ratio_board_says_why_in_the_view_and_the_site(tmp_path):
    usage_reduce(tmp_path, [measured(95, "ann", "2025-08-20T00:00:00Z")])
    reduce(tmp_path, [job(95, "ann", "2025-08-20T00:00:00Z")], "--cluster", "hammer")
    assert rank(tmp_path).returncode == 0
    done = tool("sb_view", ["--root", str(tmp_path), "--snapshot", "--metric", "cpu_efficiency"])
    assert b"no one with 10 CPU hours of measured jobs yet" in done.stdout
    site = tmp_path / "site"
    tool("sb_export", ["--root", str(tmp_path), "--format", "html", "--output", str(site)])
    page = (site / "boards" / "users" / "alltime" / "cpu_efficiency.html").read_text()
    assert "No one with 10 CPU hours of measured jobs yet" in page
    empty = tmp_path / "empty"
    empty.mkdir()
    reduce(empty, [job(96, "ann", "2025-08-20T00:00:00Z")], "--cluster", "hammer")
    done = rank(empty, "-w", "alltime", "-m", "cpu_efficiency")
    assert done.returncode == 0 and b"no measured jobs here" in done.stderr


def test_openmetrics_on_a_terminal_shows_a_name_s_control_characters_escaped(tmp_path):
    import pty
    import subprocess
    import sys
    usage_reduce(tmp_path, [measured(81, "ann", "2025-08-20T00:00:00Z", cpus=4, elapsed=36000,
                                     account=HOSTILE_ACCOUNT)])
    assert rank(tmp_path).returncode == 0
    leader, follower = pty.openpty()
    child = subprocess.Popen([sys.executable, "-m", "slurm_scoreboard_tools.sb_export", "--root",
                              str(tmp_path), "--format", "openmetrics"], stdout=follower,
                             stderr=subprocess.DEVNULL, env=ENV)
    os.close(follower)
    shown = b""
    while True:                      # read as it comes: a full terminal buffer blocks the child
        try:
            chunk = os.read(leader, 65536)
        except OSError:              # EIO: the child closed its end
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert child.wait(timeout=60) == 0
    assert b"cpu_efficiency" in shown and b"\x1b" not in shown and b"onerror" not in shown


def test_the_view_s_personal_page_lists_the_efficiency_boards(tmp_path):
    usage_reduce(tmp_path, fleet())
    reduce(tmp_path, fleet(), "--cluster", "hammer")
    assert rank(tmp_path).returncode == 0
    done = tool("sb_view", ["--root", str(tmp_path), "--snapshot", "--user", "ann", "--top", "0"],
                env=dict(ENV, COLUMNS="80"))
    text = done.stdout.decode()
    assert "Efficiency (measured jobs)" in text
    assert re.search(r"CPU efficiency +rank 2  25\.0%", text), text
    assert re.search(r"Memory efficiency +rank 2  25\.0%", text), text


def test_a_planted_huge_usage_file_is_refused_before_it_is_read(tmp_path):
    usage_reduce(tmp_path, [measured(97, "ann", "2025-08-02T00:00:00Z")])
    path = layout.usage_file(str(tmp_path), "hammer", "2025-08-02")
    with open(path, "r+b") as handle:
        handle.truncate(usage.DAY_LIMIT + 1)          # sparse: nothing is written
    from slurm_scoreboard.errors import StoreCorrupt
    with pytest.raises(StoreCorrupt, match="larger than"):
        usage.load_day(path, "2025-08-02")
    done = rank(tmp_path)
    assert done.returncode == 4 and b"larger than" in done.stderr


# -- the bar: listed at exactly min_cpu_hours, not a second below -----------------------------

def basis_sums(board, seconds):
    """Sums whose basis for `board` (CPU, CPU of memory-measured jobs, GPU) is `seconds`, with
    the board's part at half of its whole (a 50% job)."""
    sums = [0] * 10
    sums[efficiency.JOBS] = sums[efficiency.JOBS_MEM] = sums[efficiency.JOBS_GPU] = 1
    sums[efficiency.CPU] = sums[efficiency.CPU_MEM] = sums[efficiency.GPU] = seconds
    sums[efficiency.USED] = sums[efficiency.GPU_BUSY] = seconds / 2
    sums[efficiency.MEM], sums[efficiency.RSS] = 2.0 * seconds, 1.0 * seconds
    return sums


@pytest.mark.parametrize("board", efficiency.RATIOS)
@pytest.mark.parametrize("bar", [10.0, 2.5, 0.1])
def test_a_user_exactly_at_the_bar_is_listed_and_a_second_below_is_not(board, bar):
    at = round(bar * 3600)                       # 36,000 s, 9,000 s, 360 s
    measured_usage = {"at": {"p": basis_sums(board, at)},
                      "under": {"q": basis_sums(board, at - 1)},
                      "over": {"r": basis_sums(board, at + 1)}}
    rows = efficiency.board_rows(measured_usage, "users", board, 10.0, bar)
    assert [row["user"] for row in rows] == ["at", "over"]
    assert all(row["value"] == 50.0 for row in rows)
    groups = efficiency.board_rows(measured_usage, "groups", board, 10.0, bar)
    assert [row["account"] for row in groups] == ["p", "r"]


@settings(max_examples=300, deadline=None)
@given(hundredths=st.integers(0, 10 ** 7), offset=st.integers(-2, 2),
       board=st.sampled_from(efficiency.RATIOS))
def test_the_bar_lists_exactly_those_whose_seconds_reach_it(hundredths, offset, board):
    """A bar written with two decimals (as a site writes it) lists a name iff its basis in
    seconds reaches bar x 3600, counted exactly, whatever the floats do at the edge (nothing
    measured, no ratio: never listed)."""
    bar = float(f"{hundredths // 100}.{hundredths % 100:02d}")
    seconds = max(0, hundredths * 36 + offset)
    measured_usage = {"ann": {"p": basis_sums(board, seconds)}}
    listed = bool(efficiency.board_rows(measured_usage, "users", board, 10.0, bar))
    assert listed == (seconds > 0 and seconds * 100 >= hundredths * 3600)


def test_the_bar_of_the_root_s_config_lists_a_user_exactly_at_it(tmp_path):
    # eve: 4 CPUs x 9,000 s = 10 CPU hours exactly; fay: 4 CPUs x 8,999 s, a second of 4 CPUs
    # short (the bar is 10 by default)
    usage_reduce(tmp_path, [measured(1, "eve", "2025-08-20T00:00:00Z", cpus=4, elapsed=9000),
                            measured(2, "fay", "2025-08-20T00:00:00Z", cpus=4, elapsed=8999)])
    assert rank(tmp_path).returncode == 0
    rows = board(tmp_path, "alltime", "cpu_efficiency")["rows"]
    assert [(r["user"], r["value"], r["cpu_hours"]) for r in rows] == [("eve", 50.0, 10.0)]
    # 2.5 hours in the root's config: listed at 9,000 CPU-seconds, not at 8,996
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "efficiency.json").write_text('{"min_cpu_hours": 2.5}')
    usage_reduce(tmp_path, [measured(3, "gil", "2025-08-21T00:00:00Z", cpus=1, elapsed=9000),
                            measured(4, "hal", "2025-08-21T00:00:00Z", cpus=4, elapsed=2249)])
    assert rank(tmp_path).returncode == 0
    rows = board(tmp_path, "alltime", "cpu_efficiency")["rows"]
    assert [r["user"] for r in rows] == ["eve", "fay", "gil"]


# -- CPU time reported above the allocation, within sacct's slack -----------------------------

def sacct_clock(seconds):
    """A duration as sacct prints TotalCPU: [D-]HH:MM:SS."""
    days, rest = divmod(seconds, 86400)
    text = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    return f"{days}-{text}" if days else text


def step_poll_record(cpus, elapsed, total_cpu):
    """sb-parse's record of a one-step job whose job and step lines report `total_cpu` s."""
    end = datetime(2025, 8, 4)
    start = (end - timedelta(seconds=elapsed)).strftime("%Y-%m-%dT%H:%M:%S")
    times = f"{end:%Y-%m-%dT%H:%M:%S}|{start}|{start}"
    used = sacct_clock(total_cpu)
    lines = [STEP_HDR, f"700|ann|COMPLETED|{elapsed}|{cpus}|cpu={cpus}|{times}|{used}|",
             f"700.batch||COMPLETED|{elapsed}|{cpus}|cpu={cpus}|{times}|{used}|cpu={used}"]
    records, problems = parse(lines)
    assert problems == [] and len(records) == 1
    return records[0]


def test_cpu_time_up_to_5_percent_and_a_minute_over_the_allocation_is_kept_and_no_more():
    # 4 CPUs for 100 s: 400 CPU-seconds allocated; sacct's slack lets TotalCPU reach
    # 400 x 1.05 + 60 = 480 s
    kept = step_poll_record(4, 100, 480)
    assert kept["cpu_seconds"] == 400 and kept["cpu_used_s"] == 480
    records.check(kept, "2030-01-01T00:00:00Z")
    dropped = step_poll_record(4, 100, 481)
    assert "cpu_used_s" not in dropped and dropped["cpu_seconds"] == 400      # the job is kept
    with pytest.raises(errors.SkipRecord, match="cpu_used_s 481"):
        records.check(dict(kept, cpu_used_s=481), "2030-01-01T00:00:00Z")


@settings(max_examples=200, deadline=None)
@given(cpus=st.integers(1, 256), elapsed=st.integers(1, 400000), extra=st.integers(-3, 3),
       scale=st.sampled_from([0, 50, 100, 105]))
def test_cpu_time_is_kept_iff_within_5_percent_and_a_minute_and_sb_parse_and_check_agree(
        cpus, elapsed, extra, scale):
    allocated = cpus * elapsed
    total_cpu = max(0, allocated * scale // 100 + (60 if scale == 105 else 0) + extra)
    record = step_poll_record(cpus, elapsed, total_cpu)
    within = total_cpu * 100 <= allocated * 105 + 6000           # exact integers
    assert ("cpu_used_s" in record) is within
    probe = dict(record, cpu_used_s=total_cpu)
    if within:
        records.check(probe, "2030-01-01T00:00:00Z")
    else:
        with pytest.raises(errors.SkipRecord):
            records.check(probe, "2030-01-01T00:00:00Z")


def test_cpu_time_over_the_allocation_scores_100_and_counts_as_the_allocation(tmp_path):
    # 4 CPUs x 10 h = 40 CPU hours allocated; TotalCPU at the slack's edge, 42 h + 60 s
    over = measured(1, "ann", "2025-08-20T00:00:00Z", cpus=4, elapsed=36000,
                    used=144000 * 105 // 100 + 60)
    exact = measured(2, "bob", "2025-08-20T00:00:00Z", cpus=4, elapsed=36000, used=144000)
    usage_reduce(tmp_path, [over, exact])
    assert rank(tmp_path).returncode == 0
    rows = board(tmp_path, "alltime", "cpu_efficiency")["rows"]
    assert [(r["rank"], r["user"], r["value"], r["cpu_hours"]) for r in rows] == \
        [(1, "ann", 100.0, 40.0), (1, "bob", 100.0, 40.0)]
    used = board(tmp_path, "alltime", "cpu_used_hours")["rows"]
    assert [(r["user"], r["value"], r["xp"]) for r in used] == [("ann", 40.0, 400),
                                                                 ("bob", 40.0, 400)]
    groups = board(tmp_path, "alltime", "cpu_efficiency", "groups")["rows"]
    assert [(g["account"], g["value"]) for g in groups] == [("proj", 100.0)]
    sums = efficiency.sums_of(usage.entry_of(over, placement(over, "hammer")))
    assert sums[efficiency.USED] == sums[efficiency.CPU] == 144000


def test_a_measured_window_counts_a_job_ending_at_its_start_and_not_one_at_its_end(tmp_path):
    """--since and --until bound --usage as they bound counting: [since, until)."""
    edge = [measured(1, "ann", "2025-08-01T00:00:00Z"), measured(2, "bob", "2025-08-02T00:00:00Z"),
            measured(3, "cy", "2025-08-01T23:59:59Z")]
    reduce(tmp_path, edge, "--cluster", "hammer")
    done, stats = usage_only(tmp_path, edge, "--since", "2025-08-01T00:00:00Z",
                             "--until", "2025-08-02T00:00:00Z")
    assert done.returncode == 0, done.stderr
    assert stats["measured"] == 2 and stats["skipped"] == {"outside window": 1}


def test_erasing_a_user_rewrites_only_the_usage_days_that_held_them(tmp_path):
    usage_reduce(tmp_path, [measured(1, "ann", "2025-08-02T00:00:00Z"),
                            measured(2, "bob", "2025-08-03T00:00:00Z")])
    paths = {day: layout.usage_file(str(tmp_path), "hammer", day)
             for day in ("2025-08-02", "2025-08-03")}
    before = {day: os.stat(path).st_ino for day, path in paths.items()}
    assert usage.erase_users(str(tmp_path), "hammer", ["nobody"], NOW) == 0
    assert usage.erase_users(str(tmp_path), "hammer", ["bob"], NOW) == 1
    assert os.stat(paths["2025-08-02"]).st_ino == before["2025-08-02"]
    assert os.stat(paths["2025-08-03"]).st_ino != before["2025-08-03"]
    assert orjson.loads(open(paths["2025-08-03"], "rb").read())["jobs"] == {}


def test_a_measured_span_may_end_at_the_end_of_its_day_and_no_later():
    """A usage entry's span ends on its day: at the next midnight at the latest (the end of
    the day), and lasts no longer than a job may."""
    from slurm_scoreboard.core.times import iso_seconds
    start = iso_seconds("2025-08-02T00:00:00Z")
    assert usage._is_span([start + 3600 - 600, start + 3600], "2025-08-02")
    assert usage._is_span([start + 86400 - 60, start + 86400], "2025-08-02")
    assert not usage._is_span([start + 86400 - 60, start + 86401], "2025-08-02")
    assert not usage._is_span([start - 120, start - 60], "2025-08-02")
    assert not usage._is_span([start + 60, start], "2025-08-02")
