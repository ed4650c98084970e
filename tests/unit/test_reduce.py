"""sb-dedupe | sb-reduce on hand-made records: exact totals, idempotency and the edge cases."""
import fcntl
import os

import pytest
from reduce_helpers import expected_totals, job, ndjson, reduce, rollup, snapshot, tool, user_totals

AUG = "2025-08-{:02d}T12:00:00Z"


def mixed_jobs():
    jobs = []
    for i in range(1, 41):
        user = ("alice", "bob", "carol")[i % 3]
        state = ("COMPLETED", "FAILED", "TIMEOUT", "CANCELLED", "OUT_OF_MEMORY")[i % 5]
        jobs.append(job(i, user, AUG.format(1 + i % 28), cpus=1 + i % 7, elapsed=60 * i,
                        gpus=i % 4 if user == "carol" else 0, state=state,
                        account="physics" if i % 2 else "chem"))
    jobs.append(job(99, "bob", "2025-09-03T00:00:00Z", start=None, elapsed=0, state="CANCELLED"))
    return jobs


def test_totals_equal_independent_sums(tmp_path):
    jobs = mixed_jobs()
    done, stats = reduce(tmp_path, jobs)
    assert done.returncode == 0, done.stderr
    assert stats["processed"] == 41 and stats["new_jobs"] == 41
    assert stats["months_changed"] == ["2025-08", "2025-09"]
    assert stats["users_changed"] == ["alice", "bob", "carol"]
    assert user_totals(tmp_path) == expected_totals(jobs)


def test_rollup_has_the_readme_schema_days_and_accounts(tmp_path):
    jobs = mixed_jobs()
    reduce(tmp_path, jobs)
    data = rollup(tmp_path, "2025-08")
    assert data["month"] == "2025-08" and data["asof"].endswith("Z")
    alice = next(u for u in data["users"] if u["username"] == "alice")
    truth = expected_totals([j for j in jobs if j["user"] == "alice"])["alice"]
    assert alice["total_clock_hours"] == truth[0] / 3600
    assert alice["count_failed_jobs"] == truth[4] and alice["jobs"] == truth[5]
    assert sum(v[0] for v in alice["accounts"].values()) == truth[0]
    day_sum = sum(row[3] for row in data["days"] if row[0] == "alice")
    assert day_sum == truth[0]
    chem = sum(j["cpu_seconds"] for j in jobs if j["user"] == "alice" and j["account"] == "chem")
    assert alice["accounts"]["chem"][0] == chem


def test_rerun_counts_nothing_and_changes_no_file(tmp_path):
    jobs = mixed_jobs()
    reduce(tmp_path, jobs)
    before = snapshot(tmp_path)
    done, stats = reduce(tmp_path, jobs)
    assert stats["new_jobs"] == 0 and stats["months_changed"] == [] and stats["users_changed"] == []
    assert stats["duplicates"] == 41
    assert snapshot(tmp_path) == before


def test_overlapping_windows_fed_twice_count_each_job_once(tmp_path):
    jobs = mixed_jobs()
    first, second = jobs[:25], jobs[15:]
    for batch in (first, second):
        dedupe = tool("sb_dedupe", ["--root", str(tmp_path)], ndjson(batch))
        done = tool("sb_reduce", ["--root", str(tmp_path)], dedupe.stdout)
        assert done.returncode == 0
    assert user_totals(tmp_path) == expected_totals(jobs)


def test_job_seen_running_then_completed_counts_once_with_final_numbers(tmp_path):
    running = job(7, "alice", AUG.format(5), state="RUNNING", elapsed=100, cpus=4)
    final = job(7, "alice", AUG.format(5), state="COMPLETED", elapsed=5000, cpus=4)
    for batch in ([running], [running, final], [final]):
        dedupe = tool("sb_dedupe", ["--root", str(tmp_path)], ndjson(batch))
        reduce_done = tool("sb_reduce", ["--root", str(tmp_path)], dedupe.stdout)
        assert reduce_done.returncode == 0
    assert user_totals(tmp_path) == {"alice": [20000, 5000, 0, 0, 0, 1]}
    assert b"not ended (held back)" in tool("sb_dedupe", ["--root", str(tmp_path)],
                                            ndjson([running])).stderr


def test_job_ending_on_the_first_second_of_a_month_belongs_to_that_month(tmp_path):
    reduce(tmp_path, [job(1, "alice", "2025-09-01T00:00:00Z"),
                      job(2, "alice", "2025-08-31T23:59:59Z")])
    september = rollup(tmp_path, "2025-09")
    assert september["users"][0]["jobs"] == 1
    assert [row[1] for row in september["days"]] == ["2025-09-01"]
    assert [row[1] for row in rollup(tmp_path, "2025-08")["days"]] == ["2025-08-31"]


def test_reused_job_ids_are_different_jobs(tmp_path):
    a = job(5, "alice", AUG.format(2), submit="2025-08-01T00:00:00Z")
    b = job(5, "bob", AUG.format(9), submit="2025-08-08T00:00:00Z")
    done, stats = reduce(tmp_path, [a, b])
    assert stats["new_jobs"] == 2
    assert set(user_totals(tmp_path)) == {"alice", "bob"}


def test_duplicates_inside_one_stream_are_dropped(tmp_path):
    a = job(5, "alice", AUG.format(2))
    dedupe = tool("sb_dedupe", ["--root", str(tmp_path)], ndjson([a, a, a]))
    assert dedupe.stdout.count(b"\n") == 1
    done, stats = reduce(tmp_path, [a, a])
    assert stats["new_jobs"] == 1 and user_totals(tmp_path)["alice"][5] == 1


def test_corrupted_bloom_is_reported_and_nothing_is_written(tmp_path):
    reduce(tmp_path, [job(1, "alice", AUG.format(2))])
    bloom = tmp_path / "clusters" / "hammer" / "state" / "seen" / "2025-08.bloom"
    data = bytearray(bloom.read_bytes())
    data[200] ^= 0xFF
    bloom.write_bytes(bytes(data))
    before = snapshot(tmp_path)
    done, _ = reduce(tmp_path, [job(2, "alice", AUG.format(3))])
    assert done.returncode == 1
    assert b"2025-08.bloom: checksum mismatch" in done.stderr and b"Traceback" not in done.stderr
    assert snapshot(tmp_path) == before
    dedupe = tool("sb_dedupe", ["--root", str(tmp_path)], ndjson([job(2, "alice", AUG.format(3))]))
    assert dedupe.returncode == 1 and b"checksum mismatch" in dedupe.stderr
    stats = tool("sb_dedupe", ["--root", str(tmp_path), "--stats"])
    assert stats.returncode == 1


def test_opted_out_users_are_not_stored(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "optout.txt").write_text("# privacy\nbob\n")
    jobs = mixed_jobs()
    done, stats = reduce(tmp_path, jobs)
    assert "bob" not in user_totals(tmp_path)
    assert stats["skipped"]["opted out"] == sum(1 for j in jobs if j["user"] == "bob")
    assert all(u["username"] != "bob" for u in rollup(tmp_path, "2025-08")["users"])
    assert not (tmp_path / "clusters" / "hammer" / "agg" / "users" / "bob.json").exists()


@pytest.mark.parametrize("name", ["../evil", "a/b", "..", ".", "x\x1b[31mred", "a" * 65, "",
                                  "tab\tname"])
def test_hostile_usernames_never_become_paths(tmp_path, name):
    done, stats = reduce(tmp_path, [job(1, name, AUG.format(2)), job(2, "ok", AUG.format(2))])
    assert done.returncode == 0
    assert list(user_totals(tmp_path)) == ["ok"]
    assert not (tmp_path / "evil.json").exists() and not (tmp_path / "clusters" / "evil.json").exists()
    assert b"\x1b" not in done.stderr
    assert sum(stats["skipped"].values()) == 1


def test_hostile_cluster_names_are_refused(tmp_path):
    done, stats = reduce(tmp_path, [job(1, "alice", AUG.format(2), cluster="../../etc")])
    assert done.returncode == 0 and stats["new_jobs"] == 0
    assert not (tmp_path.parent / "etc").exists() or not os.listdir(tmp_path)
    done = tool("sb_reduce", ["--root", str(tmp_path), "--cluster", "a/b"])
    assert done.returncode == 2


def test_since_until_restrict_what_is_counted(tmp_path):
    jobs = [job(1, "alice", "2025-07-31T23:59:59Z"), job(2, "alice", "2025-08-01T00:00:00Z"),
            job(3, "alice", "2025-08-31T23:59:59Z"), job(4, "alice", "2025-09-01T00:00:00Z")]
    done, stats = reduce(tmp_path, jobs, "--since", "2025-08-01", "--until", "2025-09-01")
    assert stats["new_jobs"] == 2 and stats["skipped"] == {"outside window": 2}


def test_records_of_another_cluster_are_refused_with_cluster_flag(tmp_path):
    done, stats = reduce(tmp_path, [job(1, "alice", AUG.format(2), cluster="other"),
                                    job(2, "alice", AUG.format(2), cluster="")],
                         "--cluster", "hammer")
    assert stats["new_jobs"] == 1 and stats["skipped"] == {"other cluster": 1}


def test_a_second_writer_gets_exit_3(tmp_path):
    lock = tmp_path / "clusters" / "hammer" / "state" / "reduce.lock"
    lock.parent.mkdir(parents=True)
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        done, _ = reduce(tmp_path, [job(1, "alice", AUG.format(2))], "--cluster", "hammer")
    assert done.returncode == 3 and b"another sb-reduce" in done.stderr
    assert user_totals(tmp_path) == {}


def test_malformed_input_lines_are_reported_and_skipped(tmp_path):
    data = b'{"oops"\n' + ndjson([job(1, "alice", AUG.format(2))]) + b"[1,2]\n"
    done = tool("sb_reduce", ["--root", str(tmp_path)], data)
    assert done.returncode == 0
    assert b"stdin:1: not JSON" in done.stderr and b"stdin:3:" in done.stderr
    assert user_totals(tmp_path)["alice"][5] == 1


def test_a_het_job_from_the_parser_counts_once_with_its_own_cpu_seconds(tmp_path):
    from test_parser import HET_LINES

    from slurm_scoreboard.ingest.parser import SacctParser
    (het,) = SacctParser(cluster="hammer").parse(iter(HET_LINES), "het")
    assert het["cpu_seconds"] != het["elapsed_s"] * het["cpus"]
    done, stats = reduce(tmp_path, [het, job(1, "gus", "2025-08-07T00:01:00Z", cpus=3, elapsed=60)])
    assert done.returncode == 0, done.stderr
    assert stats["new_jobs"] == 2
    gus = user_totals(tmp_path)["gus"]
    assert gus == [500 + 180, 100 + 60, 200, 100, 0, 2]
    assert rollup(tmp_path, "2025-08")["days"] == [
        ["gus", "2025-08-06", "", 500, 100, 200, 100, 0, 1],
        ["gus", "2025-08-07", "proj", 180, 60, 0, 0, 0, 1]]
    ranked = tool("sb_rank", ["--root", str(tmp_path), "--now", "2025-08-31T00:00:00Z",
                              "--window", "rolling-30d", "--metric", "gpu_clock_hours"])
    assert ranked.stdout.startswith(b'{"rank":1,"user":"gus","value":0.05555555555555555,')


def test_stats_count_the_new_jobs_without_an_account(tmp_path):
    jobs = mixed_jobs()
    for index in (3, 7, 11):
        jobs[index]["account"] = ""
    done, stats = reduce(tmp_path, jobs)
    assert done.returncode == 0, done.stderr
    assert stats["no_account"] == 3 and stats["new_jobs"] == 41
    # jobs read again are not counted again, so not again as without an account
    done, stats = reduce(tmp_path, jobs + [job(500, "dave", AUG.format(2), account="")])
    assert (stats["new_jobs"], stats["no_account"], stats["duplicates"]) == (1, 1, 41)
    done, stats = reduce(tmp_path, [job(501, "dave", AUG.format(2))])
    assert stats["no_account"] == 0
    # they count for their users all the same
    assert user_totals(tmp_path)["dave"][5] == 2


def test_summarize_sums_many_runs_stats_lines_and_counts_each_user_once():
    import io

    import orjson
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from slurm_scoreboard.store import runs

    names = st.sampled_from(["alice", "bob", "carol", "dave"])
    count_runs = st.lists(st.fixed_dictionaries({
        "new_jobs": st.integers(0, 10**6), "no_account": st.integers(0, 50),
        "users_changed": st.lists(names, unique=True)}), max_size=6)
    usage_runs = st.lists(st.fixed_dictionaries({
        "processed": st.integers(0, 100), "measured": st.integers(0, 100)}), max_size=4)

    @settings(max_examples=80, deadline=None)
    @given(count_runs, usage_runs, st.lists(st.sampled_from([b"", b"oops", b"[1]", b"null"])))
    def check(counted, measured, junk):
        lines = [orjson.dumps(s) for s in counted + measured] + junk
        totals = runs.summarize(io.BytesIO(b"\n".join(lines) + b"\n"))
        assert totals == {
            "new_jobs": sum(s["new_jobs"] for s in counted),
            "users": len({u for s in counted for u in s["users_changed"]}),
            "no_account": sum(s["no_account"] for s in counted),
            "measured": sum(s["measured"] for s in measured),
            "days": len(measured)}
        words = runs.summary_line(totals).split()
        assert words[0::2] == list(runs.SUMMARY) and all(w.isdigit() for w in words[1::2])

    check()


def test_summarize_reads_what_real_runs_print(tmp_path):
    """The fields sb-poll reports come from real runs' stats lines, through the tool."""
    first, _ = reduce(tmp_path, [job(1, "alice", "2025-08-02T00:00:00Z", account=""),
                                 job(2, "bob", "2025-08-02T00:00:00Z")], "--cluster", "hammer")
    again, _ = reduce(tmp_path, [job(3, "bob", "2025-08-03T00:00:00Z"),
                                 job(1, "alice", "2025-08-02T00:00:00Z", account="")],
                      "--cluster", "hammer")
    done = tool("sb_reduce", ["--summarize"], first.stdout + again.stdout)
    assert done.returncode == 0
    assert done.stdout == b"new_jobs 3 users 2 no_account 1 measured 0 days 0\n"
