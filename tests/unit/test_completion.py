"""Bash completion: the committed file is what completions/generate.py writes from every
command's options (so it cannot fall behind), and it completes in a real bash."""
import os
import subprocess
import sys

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(TOP, "completions", "slurm-scoreboard.bash")


def test_the_committed_file_is_what_the_generator_writes():
    done = subprocess.run([sys.executable, os.path.join(TOP, "completions", "generate.py")],
                          capture_output=True, text=True, check=True)
    with open(SCRIPT) as handle:
        assert handle.read() == done.stdout, \
            "regenerate: python3 completions/generate.py > completions/slurm-scoreboard.bash"


def complete(*words, env=None):
    """What bash offers for the last (partial) word of `words`."""
    line = " ".join(words)
    script = (f"source {SCRIPT}; COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; "
              "_sb_complete; printf '%s\\n' \"${COMPREPLY[@]}\"")
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                          env=dict(os.environ, **(env or {})), check=True)
    return done.stdout.split()


@pytest.mark.parametrize("words,expected", [
    (("sb-rank", "--win"), ["--window"]),
    (("sb-rank", "--window", "rolling-3"), ["rolling-30d", "rolling-365d"]),
    (("sb-rank", "--format", "c"), ["csv"]),
    (("sb-parse", "--format", "x"), ["xdmod"]),
    (("sb-poll", "--ti"), []),
    (("sb-daemon", "--ti"), ["--tick-timeout"]),
    (("sb-probe", "--readers", ""), ["all", "group"]),
    (("sb-export", "--format", "o"), ["openmetrics"]),
])
def test_completion_offers_options_and_their_values(words, expected):
    assert complete(*words) == expected


def test_clusters_are_completed_from_the_root(tmp_path):
    for name in ("anvil", "hammer"):
        (tmp_path / "clusters" / name).mkdir(parents=True)
    assert complete("sb-rank", "--cluster", "ha", env={"SLURM_SB_ROOT": str(tmp_path)}) == \
        ["hammer"]
