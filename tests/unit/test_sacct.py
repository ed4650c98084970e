import io
import stat
from datetime import datetime, timezone

import pytest

from slurm_scoreboard import errors
from slurm_scoreboard.ingest import sacct
from slurm_scoreboard.ingest.fields import SB_SACCT_FIELDS


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


def test_command_selects_ended_jobs_in_a_half_open_window():
    command = sacct.build_command((utc(2025, 8, 1), utc(2025, 9, 1)))
    assert command[:5] == ["sacct", "-a", "-n", "-P", "-X"]
    assert "--format=" + ",".join(SB_SACCT_FIELDS) in command
    assert command[command.index("-S") + 1] == "2025-08-01T00:00:00"
    assert command[command.index("-E") + 1] == "2025-08-31T23:59:59"
    assert "--state=BF,CA,CD,DL,F,NF,OOM,PR,TO" in command


def test_command_never_asks_for_private_columns():
    command = " ".join(sacct.build_command((utc(2025, 8, 1), utc(2025, 9, 1)), steps=True))
    for private in ("JobName", "WorkDir", "SubmitLine", "Comment"):
        assert private not in command


def test_command_options():
    command = sacct.build_command((utc(2025, 8, 1), utc(2025, 8, 2)), steps=True, user="alice",
                                  cluster="hammer", all_states=True)
    assert "-X" not in command and not any(c.startswith("--state") for c in command)
    assert command[-4:] == ["-u", "alice", "-M", "hammer"]


def test_windows_split_at_day_week_and_month_boundaries():
    since, until = utc(2025, 1, 30, 12), utc(2025, 3, 2)
    months = list(sacct.split_window(since, until, "month"))
    assert months == [(since, utc(2025, 2, 1)), (utc(2025, 2, 1), utc(2025, 3, 1)),
                      (utc(2025, 3, 1), until)]
    weeks = list(sacct.split_window(utc(2025, 2, 1), utc(2025, 2, 12), "week"))
    assert weeks[0] == (utc(2025, 2, 1), utc(2025, 2, 3))   # 2025-02-03 is a Monday
    assert weeks[-1] == (utc(2025, 2, 10), utc(2025, 2, 12))
    days = list(sacct.split_window(utc(2025, 2, 1), utc(2025, 2, 4), "day"))
    assert len(days) == 3 and days[1] == (utc(2025, 2, 2), utc(2025, 2, 3))
    assert list(sacct.split_window(since, until, "none")) == [(since, until)]


def fake_sacct(tmp_path, script):
    path = tmp_path / "sacct"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_run_copies_output_and_sets_utc(tmp_path):
    tool = fake_sacct(tmp_path, 'echo "TZ=$TZ"; echo "args=$*"\n')
    out = io.BytesIO()
    sacct.run_to([tool, "-a"], out, timeout=10)
    assert out.getvalue() == b"TZ=UTC\nargs=-a\n"


def test_failed_call_prints_nothing_and_reports_its_stderr(tmp_path):
    tool = fake_sacct(tmp_path, 'echo "1|partial"; echo "sacct: error: Problem talking to the database" >&2; exit 1\n')
    out = io.BytesIO()
    with pytest.raises(errors.SacctFailed, match="Problem talking to the database"):
        sacct.run_to([tool], out, timeout=10)
    assert out.getvalue() == b""


def test_hanging_call_is_killed_and_prints_nothing(tmp_path):
    tool = fake_sacct(tmp_path, 'echo "1|partial"; exec sleep 30\n')
    out = io.BytesIO()
    with pytest.raises(errors.SacctTimeout):
        sacct.run_to([tool], out, timeout=0.5)
    assert out.getvalue() == b""


def test_missing_sacct(tmp_path):
    with pytest.raises(errors.SacctMissing):
        sacct.run_to([str(tmp_path / "nope")], io.BytesIO(), timeout=1)


def fake_sacctmgr(tmp_path, body):
    script = tmp_path / "sacctmgr"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(0o755)
    return [str(script)]


def test_an_unknown_cluster_is_refused_naming_the_known_ones(tmp_path):
    command = fake_sacctmgr(tmp_path, "printf 'hammer\\nanvil\\n\\033]0;x\\n'")
    assert sacct.known_clusters(command) == ["anvil", "hammer"]
    sacct.check_cluster_known("hammer", command)
    with pytest.raises(errors.UnknownCluster) as refused:
        sacct.check_cluster_known("hamer", command)
    assert str(refused.value) == \
        "slurmdbd knows no cluster hamer (it knows: anvil hammer); check --cluster"


def test_a_long_list_is_cut_in_the_message(tmp_path):
    command = fake_sacctmgr(tmp_path, "seq -f 'c%02g' 1 25")
    with pytest.raises(errors.UnknownCluster) as refused:
        sacct.check_cluster_known("hamer", command)
    assert str(refused.value).endswith("c19 c20 and 5 more); check --cluster")


@pytest.mark.parametrize("body", ["exit 1", "exit 0", "printf '../x\\n \\n'", "exec sleep 30"])
def test_a_sacctmgr_that_cannot_tell_refuses_nothing(tmp_path, body):
    command = fake_sacctmgr(tmp_path, body)
    assert sacct.known_clusters(command, timeout=0.5) is None
    sacct.check_cluster_known("anything", command, timeout=0.5)


def test_a_missing_sacctmgr_refuses_nothing(tmp_path):
    sacct.check_cluster_known("anything", [str(tmp_path / "nope")])
