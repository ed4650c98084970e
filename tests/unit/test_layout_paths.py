"""One owner for every path under a root: core/layout.py's table, and the pipelines' paths.sh
generated from it, give the same path for every name (tests run the shell's sb_path)."""
import os
import re
import subprocess
import sys

import pytest

from slurm_scoreboard.core import layout

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PATHS_SH = os.path.join(TOP, "pipelines", "lib", "paths.sh")
GENERATOR = os.path.join(TOP, "pipelines", "lib", "generate_paths.py")


def test_the_committed_paths_sh_is_what_the_generator_writes():
    written = subprocess.run([sys.executable, GENERATOR], capture_output=True, text=True,
                             check=True).stdout
    with open(PATHS_SH, encoding="utf-8") as handle:
        assert handle.read() == written, "run .venv/bin/python pipelines/lib/generate_paths.py --write"


def shell_path(name, value=""):
    script = f'. "{PATHS_SH}"; SB_ROOT=/r SB_CLUSTER=hammer sb_path {name} "{value}"'
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                          check=True).stdout


@pytest.mark.parametrize("name", sorted(layout.PATHS))
def test_the_shell_and_the_tools_name_the_same_path(name):
    fields = {field: "x2025-08" for field in re.findall(r"\{(\w+)\}", layout.PATHS[name])
              if field != "cluster"}
    if "{cluster}" in layout.PATHS[name]:
        fields["cluster"] = "hammer"
    value = next((v for k, v in fields.items() if k != "cluster"), "")
    assert shell_path(name, value) == layout.path("/r", name, **fields)


def test_an_unknown_path_name_fails_on_both_sides():
    done = subprocess.run(["bash", "-c", f'. "{PATHS_SH}"; sb_path nosuch'], capture_output=True,
                          text=True)
    assert done.returncode == 1 and "no path nosuch" in done.stderr
    with pytest.raises(KeyError):
        layout.path("/r", "nosuch")


def test_names_that_become_paths_are_checked():
    with pytest.raises(ValueError):
        layout.path("/r", "poll_lock", cluster="../etc")
    with pytest.raises(ValueError):
        layout.path("/r", "news_outbox", cursor="a/b")


def test_no_pipeline_builds_a_path_under_the_root_by_hand():
    """Bash owns the flow: every path under the root comes from sb_path."""
    for name in os.listdir(os.path.join(TOP, "pipelines")):
        path = os.path.join(TOP, "pipelines", name)
        if not name.startswith("sb-"):
            continue
        with open(path, encoding="utf-8") as handle:
            code = [line for line in handle if not line.lstrip().startswith("#")]
        built = [line for line in code if re.search(r'\$SB_ROOT/|\$\{SB_ROOT\}/', line)]
        assert not built, f"{name}: {built}"
