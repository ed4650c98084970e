"""sb-parse's core on inputs written from the sacct documentation (formats, steps, arrays, het
jobs, states, ReqMem forms, TRES), one behaviour a test."""

import os

import pytest

from slurm_scoreboard.ingest.parser import SacctParser
from slurm_scoreboard.ingest.records import Columns

G = 1024 ** 3
M = 1024 ** 2

SB_HEADERLESS = [
    # JobID|JobIDRaw|Cluster|User|Account|State|ElapsedRaw|AllocCPUS|NNodes|ReqMem|AllocTRES|Submit|Start|End|MaxRSS|AveRSS
    "100|100|hammer|alice|physics|COMPLETED|3600|4|1|16G|billing=4,cpu=4,mem=16G,node=1|"
    "2025-08-01T00:00:00|2025-08-01T01:00:00|2025-08-01T02:00:00||",
    "101|101|hammer|bob|chem|FAILED|60|2|1|4G|cpu=2,gres/gpu:a100=2,gres/gpu=2,mem=4G,node=1|"
    "2025-08-01T00:00:00|2025-08-01T00:10:00|2025-08-01T00:11:00||",
]


def parse(lines, **kwargs):
    problems = []
    parser = SacctParser(on_problem=lambda s, n, m: problems.append((n, m)), **kwargs)
    records = list(parser.parse(iter(lines), "test"))
    return records, problems, parser.stats


def test_the_columns_declared_are_the_columns_set():
    """Columns sets a position for each of its NAMES (-1 when absent, the fallbacks filled):
    the attributes it declares for the readers are exactly those."""
    assert set(Columns.__annotations__) == set(Columns.NAMES)
    cols = Columns(["jobidraw", "ncpus", "user"])
    positions = {name: getattr(cols, name) for name in Columns.NAMES}
    assert positions["jobid"] == 0 and positions["alloccpus"] == 1 and positions["user"] == 2
    assert positions["end"] == -1


def test_sb_sacct_order_is_recognised_by_field_count():
    records, problems, stats = parse(SB_HEADERLESS)
    assert problems == []
    assert [r["job_id"] for r in records] == ["100", "101"]
    alice = records[0]
    assert alice["cluster"] == "hammer" and alice["user"] == "alice"
    assert alice["account"] == "physics"
    assert alice["elapsed_s"] == 3600 and alice["cpus"] == 4 and alice["cpu_seconds"] == 14400
    assert alice["mem_bytes"] == 16 * G and alice["gpus"] == 0
    assert alice["terminal"] is True
    assert alice["end"] == "2025-08-01T02:00:00Z"
    assert records[1]["gpus"] == 2 and records[1]["gpu_seconds"] == 120
    assert stats.records == 2 and stats.lines == 2


def test_old_one_liner_order_has_no_account():
    line = ("200|carol|TIMEOUT|7200|8|2|4000Mc||| cpu=8,mem=32000M,node=2|"
            "2025-08-02T00:00:00|2025-08-02T00:00:05|2025-08-02T02:00:05").replace("| cpu", "|cpu")
    records, problems, _ = parse([line])
    assert problems == []
    (record,) = records
    assert record["account"] == "" and record["cluster"] == ""
    assert record["state"] == "TIMEOUT" and record["nodes"] == 2
    assert record["mem_bytes"] == 32000 * M


README_LINES = [
    # JobID|User|Account|State|ElapsedRaw|AllocCPUS|NNodes|ReqMem|MaxRSS|AveRSS|AllocTRES|Submit|Start|End
    "210|carol|chem|TIMEOUT|7200|8|2|4000Mc|||cpu=8,mem=32000M,node=2|"
    "2025-08-02T00:00:00|2025-08-02T00:00:05|2025-08-02T02:00:05",
    "210.batch|||CANCELLED|7200|8|1||1536K|1024K|cpu=8,mem=32000M,node=1|"
    "2025-08-02T00:00:05|2025-08-02T00:00:05|2025-08-02T02:00:05",
    "211|dave||COMPLETED|60|1|1|1G|||cpu=1,mem=1G,node=1|"
    "2025-08-02T00:00:00|2025-08-02T00:00:00|2025-08-02T00:01:00",
]


def test_the_readme_one_liner_order_with_account_is_recognised_by_field_count():
    records, problems, _ = parse(README_LINES, cluster="hammer")
    assert problems == []
    carol, dave = records
    assert (carol["job_id"], carol["user"], carol["account"]) == ("210", "carol", "chem")
    assert carol["state"] == "TIMEOUT" and carol["nodes"] == 2 and carol["cpus"] == 8
    assert carol["mem_bytes"] == 32000 * M and carol["max_rss_bytes"] == 1536 * 1024
    assert carol["cluster"] == "hammer" and carol["end"] == "2025-08-02T02:00:05Z"
    assert dave["account"] == ""          # a job sacct shows without an account


def test_the_readme_one_liner_asks_for_what_its_headerless_order_reads():
    """The README's plain-sacct one-liner (-o ...) is one sb-parse recognises without a header,
    and it asks for Account, so its jobs count for their groups."""
    from slurm_scoreboard.ingest import fields
    readme = open(os.path.join(os.path.dirname(__file__), "..", "..", "README.md")).read()
    usage = readme.split("## Usage", 1)[1]
    listed = usage.split(" -o ", 1)[1].split()[0].split(",")
    assert "Account" in listed
    assert fields.by_count(len(listed)) == [name.lower() for name in listed]
    assert fields.preset("readme-account") == [name.lower() for name in listed]


def test_cluster_flag_fills_a_missing_cluster_column():
    line = "1|u|COMPLETED|10|1|1|1Gn|||cpu=1|2025-01-01T00:00:00|2025-01-01T00:00:00|2025-01-01T00:00:10"
    records, _, _ = parse([line], cluster="hammer")
    assert records[0]["cluster"] == "hammer"


def test_header_names_the_columns_in_any_order():
    lines = ["User|State|JobID|End|Start|NCPUS|Elapsed",
             "dave|COMPLETED|300|2025-08-03T10:00:00|2025-08-03T09:00:00|16|01:00:00"]
    records, problems, _ = parse(lines)
    assert problems == []
    assert records[0]["cpus"] == 16 and records[0]["elapsed_s"] == 3600
    assert records[0]["cpu_seconds"] == 57600


def test_steps_fold_into_their_job_with_peak_rss():
    lines = ["JobID|User|State|ElapsedRaw|AllocCPUS|End|Start|Submit|MaxRSS",
             "400|erin|COMPLETED|100|2|2025-08-04T00:01:40|2025-08-04T00:00:00|2025-08-04T00:00:00|",
             "400.batch||COMPLETED|100|2|2025-08-04T00:01:40|2025-08-04T00:00:00|2025-08-04T00:00:00|2048K",
             "400.extern||COMPLETED|100|2|2025-08-04T00:01:40|2025-08-04T00:00:00|2025-08-04T00:00:00|0",
             "400.0||COMPLETED|90|2|2025-08-04T00:01:35|2025-08-04T00:00:05|2025-08-04T00:00:05|72.50M",
             "401|erin|COMPLETED|5|1|2025-08-04T00:00:05|2025-08-04T00:00:00|2025-08-04T00:00:00|"]
    records, problems, stats = parse(lines)
    assert problems == []
    assert [r["job_id"] for r in records] == ["400", "401"]
    assert records[0]["max_rss_bytes"] == int(72.5 * M)
    assert records[0]["cpu_seconds"] == 200
    assert records[1]["max_rss_bytes"] is None


USAGE_HDR = "JobID|User|State|ElapsedRaw|AllocCPUS|End|Start|Submit|TotalCPU"
USAGE_TIMES = "2025-08-04T00:01:40|2025-08-04T00:00:00|2025-08-04T00:00:00"


def test_cpu_used_comes_from_the_steps_totalcpu_as_sacct_prints_it_without_x():
    # a 4-CPU job of 100 s keeping two CPUs busy: sacct sums the steps on the job line
    lines = [USAGE_HDR,
             f"500|erin|COMPLETED|100|4|{USAGE_TIMES}|03:20.400",
             f"500.batch||COMPLETED|100|4|{USAGE_TIMES}|03:20.399",
             f"500.extern||COMPLETED|100|4|{USAGE_TIMES}|00:00.001"]
    records, problems, _ = parse(lines)
    assert problems == [] and records[0]["cpu_used_s"] == 200
    assert records[0]["cpu_used_s"] / records[0]["cpu_seconds"] == 0.5


def test_cpu_used_is_absent_without_step_lines_or_when_it_cannot_be_trusted():
    allocations_only = [USAGE_HDR, f"501|erin|COMPLETED|100|4|{USAGE_TIMES}|00:00:00"]
    records, _, _ = parse(allocations_only)                 # what sacct -X prints
    assert "cpu_used_s" not in records[0] and records[0]["cpu_seconds"] == 400
    too_much = [USAGE_HDR, f"502|erin|COMPLETED|100|4|{USAGE_TIMES}|1-00:00:00",
                f"502.batch||COMPLETED|100|4|{USAGE_TIMES}|1-00:00:00"]
    records, _, _ = parse(too_much)                          # a day of CPU in 400 CPU-seconds
    assert "cpu_used_s" not in records[0] and records[0]["job_id"] == "502"
    bad = [USAGE_HDR, f"503|erin|COMPLETED|100|4|{USAGE_TIMES}|soon",
           f"503.batch||COMPLETED|100|4|{USAGE_TIMES}|00:50"]
    records, problems, _ = parse(bad)                        # the job is kept, the measure lost
    assert [r["job_id"] for r in records] == ["503"] and "cpu_used_s" not in records[0]


def test_cpu_used_of_a_real_sample_stays_within_the_cpu_time_allocated(samples_dir):
    path = os.path.join(samples_dir, "slurm2sql__test-data1_pipe_with_header.txt")
    with open(path, encoding="utf-8") as handle:
        records, _, _ = parse(handle.read().splitlines())
    measured = [r for r in records if "cpu_used_s" in r]
    assert measured, "the sample has TotalCPU on step lines"
    first = next(r for r in measured if r["job_id"] == "43974388")
    assert first["cpu_used_s"] == 15                       # TotalCPU 00:15.057 on the job line
    assert all(r["cpu_used_s"] <= r["cpu_seconds"] * 1.05 + 60 for r in measured)


HDR = "JobID|JobIDRaw|User|State|ElapsedRaw|AllocCPUS|AllocTRES|Submit|Start|End"


def test_array_tasks_are_jobs_and_pending_arrays_are_not_terminal():
    lines = [HDR,
             "500_1|501|fay|COMPLETED|10|1|cpu=1|2025-08-05T00:00:00|2025-08-05T00:00:00|2025-08-05T00:00:10",
             "500_1.batch|501||COMPLETED|10|1|cpu=1|2025-08-05T00:00:00|2025-08-05T00:00:00|2025-08-05T00:00:10",
             "500_2|502|fay|FAILED|3|1|cpu=1|2025-08-05T00:00:00|2025-08-05T00:00:00|2025-08-05T00:00:03",
             "500_[3-5%2]|500|fay|PENDING|0|0||2025-08-05T00:00:00|Unknown|Unknown"]
    records, problems, _ = parse(lines)
    assert problems == []
    assert [r["job_id"] for r in records] == ["500_1", "500_2", "500_[3-5%2]"]
    assert [r["job_id_raw"] for r in records] == ["501", "502", "500"]
    pending = records[2]
    assert pending["terminal"] is False and pending["start"] is None and pending["end"] is None


# A heterogeneous job: two components of different lengths, so its CPU seconds (500) are not
# its elapsed x its CPUs (600). Shared with the store tests (test_reduce.py).
HET_LINES = [
    HDR,
    "600+0|600|gus|COMPLETED|100|4|cpu=4,gres/gpu=1|2025-08-06T00:00:00|2025-08-06T00:00:00|2025-08-06T00:01:40",
    "600+0.batch|600||COMPLETED|100|4||2025-08-06T00:00:00|2025-08-06T00:00:00|2025-08-06T00:01:40",
    "600+1|601|gus|COMPLETED|50|2|cpu=2,gres/gpu=2|2025-08-06T00:00:00|2025-08-06T00:00:00|2025-08-06T00:00:50",
    "600+1.0|601||COMPLETED|50|2||2025-08-06T00:00:00|2025-08-06T00:00:00|2025-08-06T00:00:50"]


def test_het_job_components_add_up_into_one_job():
    records, problems, _ = parse(HET_LINES)
    assert problems == []
    (job,) = records
    assert job["job_id"] == "600" and job["cpus"] == 6 and job["gpus"] == 3
    assert job["elapsed_s"] == 100
    assert job["cpu_seconds"] == 4 * 100 + 2 * 50
    assert job["gpu_seconds"] == 1 * 100 + 2 * 50


def test_requeued_duplicates_of_one_job_id_stay_separate_jobs():
    lines = [HDR,
             "700|700|hal|REQUEUED|30|1|cpu=1|2025-08-07T00:00:00|2025-08-07T00:00:00|2025-08-07T00:00:30",
             "700|700|hal|COMPLETED|60|1|cpu=1|2025-08-07T00:00:40|2025-08-07T00:01:00|2025-08-07T00:02:00"]
    records, _, _ = parse(lines)
    assert len(records) == 2
    assert records[0]["key"] != records[1]["key"]
    assert records[0]["terminal"] is False and records[1]["terminal"] is True


def test_reused_job_ids_get_different_keys_same_job_same_key():
    early = "800|800|ida|COMPLETED|1|1|cpu=1|2020-01-01T00:00:00|2020-01-01T00:00:00|2020-01-01T00:00:01"
    late = "800|800|ida|COMPLETED|1|1|cpu=1|2025-01-01T00:00:00|2025-01-01T00:00:00|2025-01-01T00:00:01"
    running = "800|800|ida|RUNNING|0|1|cpu=1|2025-01-01T00:00:00|2025-01-01T00:00:00|Unknown"
    keys = [parse([HDR, line])[0][0]["key"] for line in (early, late, running)]
    assert keys[0] != keys[1]
    assert keys[1] == keys[2]


def test_cancelled_by_uid_and_never_started_jobs():
    lines = [HDR,
             "900|900|jo|CANCELLED by 1000|0|0||2025-08-09T00:00:00|None|2025-08-09T00:05:00"]
    records, problems, _ = parse(lines)
    assert problems == []
    assert records[0]["state"] == "CANCELLED" and records[0]["start"] is None
    assert records[0]["elapsed_s"] == 0 and records[0]["cpus"] == 0


def test_trailing_delimiter_of_parsable_and_custom_delimiters():
    plain = ["JobID|User|State|ElapsedRaw|End|",
             "1|ann|COMPLETED|5|2025-08-10T00:00:05|"]
    caret = ["1^|^ann^|^COMPLETED^|^5^|^2025-08-10T00:00:05^|^"]
    snowman = ["1\u2603ann\u2603COMPLETED\u26035\u26032025-08-10T00:00:05\u2603"]
    fields = ["jobid", "user", "state", "elapsedraw", "end"]
    for records, problems, _ in (parse(plain), parse(caret, fields=fields),
                                 parse(snowman, fields=fields),
                                 parse(caret, fields=fields, delimiter="^|^")):
        assert problems == []
        assert records[0]["user"] == "ann" and records[0]["elapsed_s"] == 5


def test_plain_fixed_width_sacct_output():
    lines = ["JobID             User      State   Elapsed  AllocCPUS                 End ",
             "------------ --------- ---------- ---------- ---------- ------------------- ",
             "1000               kim  COMPLETED   00:10:00          4 2025-08-11T00:10:00 ",
             "1000.batch               COMPLETED   00:10:00          4 2025-08-11T00:10:00 ",
             "1001               kim CANCELLED+   00:00:00          0 2025-08-11T00:00:00 "]
    records, problems, _ = parse(lines)
    assert problems == []
    assert [(r["job_id"], r["state"], r["cpus"], r["elapsed_s"]) for r in records] == \
        [("1000", "COMPLETED", 4, 600), ("1001", "CANCELLED", 0, 0)]


def test_epoch_times():
    lines = ["JobIDRaw|Start|End|User|State|NCPUS",
             "42|1690000000|1690000600|lee|COMPLETED|2"]
    records, _, _ = parse(lines)
    assert records[0]["end"] == "2023-07-22T04:36:40Z"
    assert records[0]["elapsed_s"] == 600


def test_reqmem_scopes_resolve_to_job_bytes():
    lines = ["JobID|User|State|ElapsedRaw|AllocCPUS|NNodes|ReqMem|End",
             "1|a|COMPLETED|1|4|2|1000Mc|2025-01-01T00:00:01",
             "2|a|COMPLETED|1|4|2|4Gn|2025-01-01T00:00:01",
             "3|a|COMPLETED|1|4|2|0n|2025-01-01T00:00:01",
             "4|a|COMPLETED|1|4|2|12G|2025-01-01T00:00:01"]
    records, _, _ = parse(lines)
    assert [r["mem_bytes"] for r in records] == [4000 * M, 8 * G, 0, 12 * G]


def test_incomplete_records_are_skipped_with_reasons():
    lines = [HDR,
             "1|1||COMPLETED|1|1|cpu=1|2025-01-01T00:00:00|2025-01-01T00:00:00|2025-01-01T00:00:01",
             "2|2|mo|COMPLETED|1|1|cpu=1|2025-01-01T00:00:00|2025-01-01T00:00:00|Unknown",
             "3|3|mo|FOO|1|1|cpu=1|2025-01-01T00:00:00|2025-01-01T00:00:00|2025-01-01T00:00:01",
             "4.batch|4||COMPLETED|1|1|cpu=1|2025-01-01T00:00:00|2025-01-01T00:00:00|2025-01-01T00:00:01",
             "5|5|mo|RUNNING|1|1|cpu=1|2025-01-01T00:00:00|2025-01-01T00:00:00|Unknown"]
    records, problems, stats = parse(lines)
    assert [r["job_id"] for r in records] == ["5"]
    assert dict(stats.skipped) == {"missing User": 1, "missing End": 1, "unknown state": 1,
                                   "step lines without their job line": 1}
    assert [n for n, _ in problems] == [2, 3, 4, 5]


def test_malformed_lines_are_reported_with_line_numbers():
    lines = [HDR, "oops|1|a", "x.y|1|a|COMPLETED|1|1|cpu=1|||",
             "7|7|a|COMPLETED|1|1|cpu=1|2025-01-01T00:00:00|2025-01-01T00:00:00|2025-01-01T00:00:01"]
    records, problems, stats = parse(lines)
    assert [r["job_id"] for r in records] == ["7"]
    assert problems[0][0] == 2 and "expected 10 fields, got 3" in problems[0][1]
    assert problems[1][0] == 3 and "bad JobID" in problems[1][1]
    assert stats.skipped["wrong field count"] == 1 and stats.skipped["bad JobID"] == 1


def test_unknown_headerless_layout_stops_with_one_message():
    import pytest

    from slurm_scoreboard.errors import LayoutUnknown
    with pytest.raises(LayoutUnknown, match="cannot tell the columns of a 3-field line"):
        parse(["1|COMPLETED|0:0"] * 200)


def test_a_layout_guessed_from_the_count_that_does_not_fit_stops_after_five_lines():
    """13 fields with ^|^ look like the README one-liner's order; if the first lines do not fit
    it (no JobID where it should be), stop with one message instead of one per line."""
    import pytest

    from slurm_scoreboard.errors import LayoutUnknown
    line = "^|^".join(["", "sbatch", "x", "COMPLETED", "1", "2", "3", "4", "5", "6", "7", "8",
                       "9"])
    problems = []
    parser = SacctParser(on_problem=lambda s, n, m: problems.append(m))
    with pytest.raises(LayoutUnknown, match="first 5 lines do not fit the 13 columns"):
        list(parser.parse(iter([line] * 300), "guess"))
    assert len(problems) == 4


def test_values_cut_by_fixed_width_output_are_never_numbers():
    lines = ["JobID             User      State   Elapsed  AllocCPUS    AllocTRES                End ",
             "------------ --------- ---------- ---------- ---------- ---------- ------------------- ",
             "1000               kim  COMPLETED   00:10:00          4 billing=6+ 2025-08-11T00:10:00 ",
             "1001               kim  COMPLETED   00:10:00          4 cpu=4,nod+ 2025-08-11T00:10:00 ",
             "1002               kim  COMPLETED   00:10:00          4   cpu=4    2025-08-11T00:10:00 "]
    records, problems, stats = parse(lines)
    assert [r["job_id"] for r in records] == ["1002"]
    assert stats.skipped["truncated value"] == 2
    assert len(problems) == 1 and "alloctres cut" in problems[0][1] and "-P" in problems[0][1]


def test_free_text_last_column_may_contain_the_delimiter():
    lines = ["JobID|User|State|ElapsedRaw|End|JobName",
             "1|ann|COMPLETED|5|2025-08-10T00:00:05|a|b|c"]
    records, problems, _ = parse(lines)
    assert problems == [] and records[0]["user"] == "ann"
    assert "a|b|c" not in str(records[0])


def test_comments_blank_lines_and_repeated_headers_are_ignored():
    lines = ["# produced by hand", "", HDR,
             "1|1|a|COMPLETED|1|1|cpu=1|2025-01-01T00:00:00|2025-01-01T00:00:00|2025-01-01T00:00:01",
             HDR,
             "2|2|a|COMPLETED|1|1|cpu=1|2025-01-01T00:00:00|2025-01-01T00:00:00|2025-01-01T00:00:01"]
    records, problems, _ = parse(lines)
    assert problems == [] and len(records) == 2


def test_record_never_carries_job_names_or_paths():
    lines = ["JobID|JobName|User|State|ElapsedRaw|End|WorkDir|SubmitLine",
             "1|secret_name|ann|COMPLETED|5|2025-08-10T00:00:05|/home/ann/x|sbatch x.sh"]
    records, _, _ = parse(lines)
    text = str(records[0])
    for private in ("secret_name", "/home/ann", "sbatch"):
        assert private not in text


FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")


def test_own_xdmod_fixture_gives_the_hand_checked_records():
    """--format xdmod on the project's own shredder log (tests/fixtures/README.md)."""
    from slurm_scoreboard.ingest import fields
    with open(os.path.join(FIXTURES, "xdmod-shredder.log"), "rb") as handle:
        records, problems, stats = parse(handle, fields=fields.preset("xdmod"))
    assert problems == [] and stats.records == 5
    by_id = {r["job_id"]: r for r in records}
    array = by_id["7001_1"]
    assert (array["cluster"], array["job_id_raw"], array["user"], array["account"]) == \
        ("forge", "7002", "ann", "physics")
    assert (array["state"], array["elapsed_s"], array["cpus"], array["nodes"], array["gpus"]) == \
        ("COMPLETED", 3600, 8, 1, 0)
    assert array["mem_bytes"] == 32000 * M and array["cpu_seconds"] == 8 * 3600
    assert (array["start"], array["end"]) == ("2024-05-01T09:05:00Z", "2024-05-01T10:05:00Z")
    assert array["key"] == "7001_1@2024-05-01T09:00:00Z"
    gpu = by_id["7010"]
    assert (gpu["user"], gpu["state"], gpu["elapsed_s"], gpu["cpus"], gpu["nodes"]) == \
        ("bea", "TIMEOUT", 26 * 3600, 16, 2)
    assert gpu["gpus"] == 4 and gpu["gpu_seconds"] == 4 * 26 * 3600 and gpu["mem_bytes"] == 64 * G
    cancelled = by_id["7011"]
    assert (cancelled["state"], cancelled["elapsed_s"], cancelled["mem_bytes"]) == \
        ("CANCELLED", 60, 2000 * M)
    never = by_id["7012"]
    assert never["start"] is None and never["elapsed_s"] == 0 and never["terminal"] is True
    assert never["mem_bytes"] == 1000 * M
    running = by_id["7013"]
    assert running["terminal"] is False and running["end"] is None


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st

FIELD = st.one_of(st.text(max_size=12), st.sampled_from(
    ["", "Unknown", "COMPLETED", "99999999999999999999", "-5", "1e400K", "inf",
     "9999-12-31T23:59:59", "cpu=2,gres/gpu=-1", "12:00:00", "1-", "101.batch", "101+1"]))


@settings(max_examples=500, deadline=None)
@given(st.lists(st.lists(FIELD, min_size=1, max_size=18).map("|".join), max_size=6))
def test_any_lines_after_a_good_job_give_records_or_reasons(lines):
    """Whatever follows, the parser reports or skips; every record it gives passes the checks."""
    from slurm_scoreboard.ingest.records import check
    problems = []
    parser = SacctParser(on_problem=lambda s, n, m: problems.append(m),
                         latest="2100-01-01T00:00:00Z")
    for record in parser.parse(iter(SB_HEADERLESS[:1] + lines), "prop"):
        check(record, "2100-01-01T00:00:00Z")
    assert parser.stats.lines == 1 + len(lines)
    assert parser.fitting >= 1


def test_a_job_with_any_line_cut_by_a_width_is_not_counted_at_all():
    """A heterogeneous job's cut component, or a cut step, would leave a record that misses it
    (64 CPUs read as 1): the whole job is skipped, the jobs around it are not."""
    lines = ["JobID             User      State  AllocCPUS    AllocTRES                End ",
             "------------ --------- ---------- ---------- ---------- ------------------- ",
             "1999               kim  COMPLETED          2   cpu=2    2025-08-11T00:10:00 ",
             "2000+0             kim  COMPLETED         64 cpu=64,no+ 2025-08-11T00:10:00 ",
             "2000+1             kim  COMPLETED          1   cpu=1    2025-08-11T00:10:00 ",
             "2001               kim  COMPLETED          4   cpu=4    2025-08-11T00:10:00 ",
             "2001.batch              COMPLETED          4 cpu=4,me+  2025-08-11T00:10:00 ",
             "2002               kim OUT_OF_ME+          8   cpu=8    2025-08-11T00:10:00 "]
    records, problems, stats = parse(lines)
    assert [(r["job_id"], r["state"]) for r in records] == [("1999", "COMPLETED"),
                                                            ("2002", "OUT_OF_MEMORY")]
    assert stats.skipped["truncated value"] == 2


def test_a_cut_state_is_read_when_it_can_only_be_one_state():
    from slurm_scoreboard.ingest.states import normalize_state
    assert normalize_state("OUT_OF_ME+") == "OUT_OF_MEMORY"
    assert normalize_state("SPECIAL_E+") == "SPECIAL_EXIT"
    assert normalize_state("CANCELLED+") == "CANCELLED"
    for ambiguous in ("RES+", "C+", "+", "REQUEUE_+"):
        with pytest.raises(ValueError):
            normalize_state(ambiguous)


def test_a_headerless_fixed_width_table_is_named_as_such_with_the_fix():
    from slurm_scoreboard.errors import LayoutUnknown
    lines = ["1000               kim  COMPLETED   00:10:00          4   cpu=4 ",
             "1001               kim  COMPLETED   00:10:00          4   cpu=4 "]
    with pytest.raises(LayoutUnknown, match="fixed-width table without its header: run sacct -P"):
        parse(lines)
    widths = (12, 9, 10, 10, 10, 19)
    row = lambda *values: " ".join(f"{v:>{w}}" for v, w in zip(values, widths)) + " "
    records, problems, stats = parse(
        [row("JobID", "User", "State", "AllocCPUS", "AllocTRES", "End"),
         " ".join("-" * w for w in widths) + " ",
         row("1002", "kimberl+", "COMPLETED", "2", "cpu=2", "2025-08-11T00:10:00")])
    assert records == [] and "user cut" in problems[0][1] and "user%80 here" in problems[0][1]


ORDER_A = ["JobID", "User", "Account", "Cluster", "State", "ElapsedRaw", "AllocCPUS", "NNodes",
           "Submit", "Start", "End"]


def section(order, jobs):
    """A header in `order` and one line per (job, user, account, cluster) in it."""
    lines = ["|".join(order)]
    for job, user, account, cluster in jobs:
        values = {"JobID": job, "User": user, "Account": account, "Cluster": cluster,
                  "State": "COMPLETED", "ElapsedRaw": "60", "AllocCPUS": "1", "NNodes": "1",
                  "Submit": "2025-08-01T00:00:00", "Start": "2025-08-01T00:00:00",
                  "End": "2025-08-01T00:01:00"}
        lines.append("|".join(values[name] for name in order))
    return lines


@pytest.mark.parametrize("seed", range(20))
def test_a_new_header_mid_stream_never_reads_the_job_before_it_in_the_new_columns(seed):
    """Files with their headers cat'ed together: each job is read in its own section's columns
    (the last job before a header in another order came out with user, account and cluster
    swapped)."""
    import random
    rng = random.Random(seed)
    lines, truth = [], {}
    for part in range(3):
        order = ORDER_A[:]
        rng.shuffle(order)
        jobs = [(str(100 * part + i), f"u{part}{i}", f"a{part}{i}", "hammer")
                for i in range(rng.randint(1, 3))]
        truth.update({job: (user, account) for job, user, account, _ in jobs})
        lines += section(order, jobs)
    records, problems, _ = parse(lines)
    assert {r["job_id"]: (r["user"], r["account"]) for r in records} == truth, problems
