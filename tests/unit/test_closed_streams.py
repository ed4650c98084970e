"""A tool started without a standard descriptor (`<&-`, `>&-`, `2>&-`, as a careless cron line
or wrapper does) never ends in a traceback: no stdin reads as empty, no stderr drops the
messages (and no file the tool opens takes descriptor 2), no stdout is refused before any work."""
import glob
import os
import re
import subprocess
import sys

import orjson
import pytest
from reduce_helpers import ENV, job, ndjson, user_totals

TOOLS = sorted(os.path.basename(path)[:-3] for path in glob.glob(
    os.path.join(os.path.dirname(__file__), "..", "..", "tools", "sb_*.py")))


def shell(command, stdin=b"", cwd=None):
    """`command` in bash, the tools run as `python -m` (so a closed descriptor stays closed)."""
    return subprocess.run(["bash", "-c", command], input=stdin, capture_output=True, env=ENV,
                          cwd=cwd)


def tool(name):
    return f"{sys.executable} -m slurm_scoreboard_tools.{name}"


def test_every_installed_tool_is_tried():
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "pyproject.toml")) as handle:
        installed = re.findall(r'"slurm_scoreboard_tools\.(sb_[a-z]+):main"', handle.read())
    assert sorted(installed) == TOOLS


@pytest.mark.parametrize("name", TOOLS)
def test_a_closed_stdout_is_refused_with_its_remedy_before_any_work(name, tmp_path):
    done = shell(f"{tool(name)} --root {tmp_path}/root --cluster c >&-")
    assert done.returncode == 2, done.stderr
    message = done.stderr.decode()
    assert message.startswith(name.replace("_", "-") + ": standard output is closed")
    assert "/dev/null" in message and "Traceback" not in message
    assert not os.path.exists(tmp_path / "root")


@pytest.mark.parametrize("name", ["sb_parse", "sb_dedupe", "sb_reduce"])
def test_a_closed_stdin_is_an_empty_input(name, tmp_path):
    root = tmp_path / "root"
    assert shell(f"{tool('sb_probe')} --root {root}").returncode in (0, 4)
    where = "" if name == "sb_parse" else f" --root {root} --cluster hammer"
    done = shell(f"{tool(name)}{where} <&-")
    assert done.returncode == 0, done.stderr
    assert b"Traceback" not in done.stderr
    if name == "sb_reduce":
        assert orjson.loads(done.stdout)["processed"] == 0


def test_a_closed_stderr_drops_the_messages_and_counts_the_rest(tmp_path):
    root = tmp_path / "root"
    assert shell(f"{tool('sb_probe')} --root {root}").returncode in (0, 4)
    good = job(1, "alice", "2025-08-02T10:00:00Z")
    stdin = b"not json\n" + ndjson([good])
    done = shell(f"{tool('sb_reduce')} --root {root} --cluster hammer 2>&-", stdin)
    assert done.returncode == 0 and done.stderr == b""
    stats = orjson.loads(done.stdout)
    assert stats["new_jobs"] == 1 and stats["skipped"] == {"bad line": 1}
    assert user_totals(root) == {"alice": [7200, 3600, 0, 0, 0, 1]}
    for path in glob.glob(f"{root}/clusters/hammer/**/*.json", recursive=True):
        with open(path, "rb") as handle:
            orjson.loads(handle.read())         # every store file whole JSON, nothing written in
