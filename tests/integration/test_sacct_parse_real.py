"""Real jobs from three users on the real test cluster, read back through sb-sacct | sb-parse run
by an unprivileged user, and compared with what was submitted."""
import os
import shutil
import subprocess
from collections import Counter
from datetime import datetime, timedelta, timezone

import orjson
import pytest
from slurm_jobs import USERS_BIN, as_user, shared_folder, stamp


def iso_seconds(text):
    return datetime.fromisoformat(text[:-1]).replace(tzinfo=timezone.utc)


def pipeline(cluster, root, since, until, *extra):
    """sb-sacct | sb-parse as the unprivileged user sbalice; returns the records."""
    script = (f"{USERS_BIN}/sb-sacct --root {root} --cluster {cluster} --since {stamp(since)} "
              f"--until {stamp(until)} {' '.join(extra)} | {USERS_BIN}/sb-parse --quiet")
    done = as_user("sbalice", ["bash", "-o", "pipefail", "-c", script])
    return [orjson.loads(line) for line in done.stdout.splitlines()]


@pytest.fixture(scope="module")
def found(submitted, cluster):
    """Every record the pipeline gave, in order (duplicates kept, so they can be seen)."""
    root = shared_folder()
    try:
        return pipeline(cluster, root, submitted["since"], submitted["until"])
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def records(found):
    return {r["job_id"]: r for r in found}


def expected_ids(jobs):
    return {jobs[k] for k in jobs if k != "array"} | {f"{jobs['array']}_{i}" for i in (1, 2, 3)}


def test_every_submitted_job_comes_back_once(submitted, found):
    counts = Counter(r["job_id"] for r in found)
    assert {job_id: counts[job_id] for job_id in expected_ids(submitted["jobs"])} == \
        {job_id: 1 for job_id in expected_ids(submitted["jobs"])}
    assert len({r["key"] for r in found}) == len(found)


def test_users_states_cpus_gpus(submitted, records, cluster):
    jobs = submitted["jobs"]
    want = {
        "multicpu": ("sbalice", "sbphys", "COMPLETED", 4, 0),
        "gpu": ("sbalice", "sbphys", "COMPLETED", 1, 2),
        "typed_gpu": ("sbcarol", "sbchem", "COMPLETED", 2, 1),
        "failing": ("sbbob", "sbphys", "FAILED", 1, 0),
        "cancelled": ("sbcarol", "sbchem", "CANCELLED", 1, 0),
        "timeout": ("sbcarol", "sbchem", "TIMEOUT", 1, 0),
    }
    for name, (user, account, state, cpus, gpus) in want.items():
        record = records[jobs[name]]
        got = (record["user"], record["account"], record["state"], record["cpus"], record["gpus"])
        assert got == (user, account, state, cpus, gpus), name
        assert record["cluster"] == cluster and record["terminal"] is True
        assert record["cpu_seconds"] == record["elapsed_s"] * cpus
        assert record["gpu_seconds"] == record["elapsed_s"] * gpus
    for task in (1, 2, 3):
        record = records[f"{jobs['array']}_{task}"]
        assert (record["user"], record["state"]) == ("sbbob", "COMPLETED")


def test_elapsed_matches_what_the_jobs_slept(submitted, records):
    jobs = submitted["jobs"]
    for name, slept in (("multicpu", 3), ("gpu", 2), ("typed_gpu", 2), ("failing", 1)):
        record = records[jobs[name]]
        assert abs(record["elapsed_s"] - slept) <= 1, (name, record["elapsed_s"])
    for task in (1, 2, 3):
        assert abs(records[f"{jobs['array']}_{task}"]["elapsed_s"] - 1) <= 1
    assert records[jobs["timeout"]]["elapsed_s"] >= 60
    for record in records.values():
        if record["start"] and record["end"]:
            span = (iso_seconds(record["end"]) - iso_seconds(record["start"])).total_seconds()
            assert abs(record["elapsed_s"] - span) <= 1


def test_memory_comes_from_alloctres(submitted, records):
    # DefMemPerCPU=500 on the test cluster: 4 CPUs get 2000 MiB.
    assert records[submitted["jobs"]["multicpu"]]["mem_bytes"] == 2000 * 1024 ** 2


def test_window_selects_jobs_by_end_time(submitted, records, cluster, user_root):
    """A window that closes after every job started but before the timed-out one ended: the
    jobs that ended inside it come back, the one still running at its end does not."""
    jobs = submitted["jobs"]
    timeout_end = iso_seconds(records[jobs["timeout"]]["end"])
    others = [r for job_id, r in records.items()
              if job_id in expected_ids(jobs) and job_id != jobs["timeout"]]
    cut = max(iso_seconds(r["end"]) for r in others) + timedelta(seconds=1)
    assert cut < timeout_end and iso_seconds(records[jobs["timeout"]]["start"]) < cut
    inside = {r["job_id"] for r in pipeline(cluster, user_root, submitted["since"], cut)}
    assert {r["job_id"] for r in others} <= inside
    assert jobs["timeout"] not in inside
    before = pipeline(cluster, user_root, submitted["since"] - timedelta(hours=1),
                      submitted["since"])
    assert not expected_ids(jobs) & {r["job_id"] for r in before}


def test_steps_give_peak_memory_and_the_same_jobs(submitted, records, cluster, user_root):
    with_steps = {r["job_id"]: r for r in pipeline(cluster, user_root, submitted["since"],
                                                   submitted["until"], "--steps")}
    assert set(with_steps) == set(records)
    for job_id, record in records.items():
        assert with_steps[job_id]["cpu_seconds"] == record["cpu_seconds"]
    assert any(r["max_rss_bytes"] for r in with_steps.values())
    assert with_steps[submitted["jobs"]["multicpu"]]["cpu_used_s"] >= 0
    assert not any("cpu_used_s" in r for r in records.values())     # -X: not measured


def test_probe_on_the_real_cluster(submitted, cluster, user_root):
    done = as_user("sbalice", [f"{USERS_BIN}/sb-probe", "--root", os.path.join(user_root, "sb")],
                   check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Visibility: OK" in done.stdout
    assert "GPU TRES: OK" in done.stdout


def test_the_same_jobs_read_in_new_york_and_in_utc_give_identical_records(submitted, records,
                                                                          cluster):
    """Plain sacct prints local times; sb-parse reads them in the same local zone. With
    TZ=America/New_York on both sides of the pipe, and with TZ=UTC, the records are the same;
    sb-sacct's epochs give them too whatever the zone."""
    ids = ",".join(submitted["jobs"].values())
    fields = "JobID,JobIDRaw,Cluster,User,Account,State,ElapsedRaw,AllocCPUS,NNodes,ReqMem," \
             "AllocTRES,Submit,Start,End,MaxRSS,AveRSS"

    def read(zone, command):
        done = as_user("sbalice", ["bash", "-o", "pipefail", "-c",
                                   f"export TZ={zone}; {command} | {USERS_BIN}/sb-parse --quiet"])
        return sorted((orjson.loads(line) for line in done.stdout.splitlines()),
                      key=lambda r: r["key"])

    plain = f"sacct -a -X -n -P -j {ids} -o {fields}"
    new_york, utc = read("America/New_York", plain), read("UTC", plain)
    assert new_york == utc and len(utc) >= len(submitted["jobs"])
    for record in utc:                             # sb-sacct's epochs read the same
        assert record == records[record["job_id"]], record["job_id"]
    shifted = read("UTC", f"TZ=America/New_York {plain}")
    assert shifted != utc                          # the zones really differ for these jobs


def test_plain_fixed_width_sacct_gives_the_same_records_or_says_what_it_cut(submitted, records):
    """Plain sacct (no -P) pads columns to a width and cuts longer values with '+'. With widths
    wide enough (AllocTRES%80) the records are the ones sb-sacct gives; with sacct's default
    widths every cut AllocTRES is skipped (never read as a number: GPU hours would be lost),
    counted, and the message names the fix."""
    ids = ",".join(submitted["jobs"].values())
    fields = "JobID,JobIDRaw,Cluster%20,User%20,Account%20,State%20,ElapsedRaw,AllocCPUS," \
             "NNodes,ReqMem,AllocTRES{},Submit,Start,End"

    def read(width):
        done = as_user("sbalice", ["bash", "-o", "pipefail", "-c",
                                   f"export TZ=UTC; sacct -a -X -j {ids} -o "
                                   f"{fields.format(width)} | {USERS_BIN}/sb-parse"],
                       check=False)
        return done, [orjson.loads(line) for line in done.stdout.splitlines()]

    done, wide = read("%80")
    assert done.returncode == 0, done.stderr
    assert len(wide) >= len(submitted["jobs"]) and " cut: " not in done.stderr
    assert any(record["gpus"] for record in wide)
    for record in wide:
        assert record == records[record["job_id"]], record["job_id"]

    done, cut = read("")
    assert len(cut) < len(wide)
    assert all(record == records[record["job_id"]] for record in cut)
    assert not any(record["gpus"] for record in cut)          # no GPU job got through as 0 GPUs
    explained = [line for line in done.stderr.splitlines() if " cut: " in line]
    assert len(explained) == 1 and "sacct -P" in explained[0], done.stderr
    assert f"truncated value: {len(wide) - len(cut)}" in done.stderr, done.stderr


def test_cpu_used_of_a_job_keeping_two_of_its_four_cpus_busy(cluster):
    """The CPU time a job used, from its step lines (sacct without -X, piped by hand), against
    TotalCPU / (ElapsedRaw x AllocCPUS) read straight from sacct."""
    from slurm_jobs import submit, wait_until_ended
    burn = 'timeout 12 sh -c "while :; do :; done"'
    job = submit("sbcarol", "-c", "4", "--wrap", f"{burn} & {burn} & wait")
    wait_until_ended([job], 1)
    fields = "JobID,JobIDRaw,Cluster,User,Account,State,ElapsedRaw,AllocCPUS,AllocTRES," \
             "Submit,Start,End,MaxRSS,TotalCPU"
    raw = subprocess.run(["sacct", "-P", "-n", "-o", "JobID,ElapsedRaw,AllocCPUS,TotalCPU",
                          "-j", job], capture_output=True, text=True, check=True,
                         env=dict(os.environ, TZ="UTC")).stdout.splitlines()
    def clock(text):
        minutes, seconds = text.split(":")[-2:]
        hours = int(text.split(":")[0]) if text.count(":") == 2 else 0
        return hours * 3600 + int(minutes) * 60 + float(seconds)

    line = next(l for l in raw if l.split("|")[0] == job).split("|")
    steps = sum(clock(l.split("|")[3]) for l in raw if l.split("|")[0].startswith(job + "."))
    total_cpu = round(max(clock(line[3]), steps))      # milliseconds as sacct prints them
    elapsed, cpus = int(line[1]), int(line[2])
    script = (f"TZ=UTC sacct -P -o {fields} -j {job} | {USERS_BIN}/sb-parse --quiet")
    done = as_user("sbcarol", ["bash", "-o", "pipefail", "-c", script])
    record = orjson.loads(done.stdout.splitlines()[0])
    assert record["cpu_used_s"] == total_cpu
    assert record["cpu_seconds"] == elapsed * cpus
    # two busy loops on four CPUs: at most half, less when the machine's two cores are shared
    assert 0.1 <= record["cpu_used_s"] / record["cpu_seconds"] <= 0.55
    x_only = as_user("sbcarol", ["bash", "-o", "pipefail", "-c",
                                 f"TZ=UTC sacct -X -P -o {fields} -j {job} | "
                                 f"{USERS_BIN}/sb-parse --quiet"])
    assert "cpu_used_s" not in orjson.loads(x_only.stdout.splitlines()[0])
