"""EasyBuild for real (make test-packaging; CI runs it): EasyBuild from the package index in a
throwaway venv installs packaging/easybuild/SlurmScoreboard-<version>.eb, with this checkout's
wheel, into a temporary prefix with Lmod (Debian's lmod); then a clean login shell that loads
the module has every sb-* tool, `man sb-rank`, bash completion, and runs parse | dedupe | reduce
| rank over the demo's sample history to the same board as this checkout's tools. The tools in
the module's bin/ also run without the module, whatever PYTHONPATH says.

Needs lmod, the system's python3 with pip and venv, and the package index; without them the
test is skipped, except under CI=true."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from slurm_scoreboard import __version__

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

EASYCONFIG = os.path.join(TOP, "packaging", "easybuild", f"SlurmScoreboard-{__version__}.eb")
LMOD_INIT = "/usr/share/lmod/lmod/init/bash"
SYSTEM_PYTHON = "/usr/bin/python3"
COMMANDS = ["sb-sacct", "sb-parse", "sb-dedupe", "sb-reduce", "sb-rank", "sb-view", "sb-news",
            "sb-export", "sb-probe", "sb-backfill", "sb-incremental", "sb-discover",
            "sb-rebuild", "sb-poll", "sb-daemon", "sb-news-post"]


def need(ok, what):
    if ok:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what}; CI must have it (.ci/run installs it)")
    pytest.skip(what)


def run(command, env=None, cwd=None):
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, timeout=1200)


@pytest.fixture(scope="module")
def easybuild(tmp_path_factory):
    """(work folder, EasyBuild's venv, source folder with this checkout's wheel)."""
    need(os.path.exists(LMOD_INIT), "Lmod not found (apt-get install lmod)")
    need(run([SYSTEM_PYTHON, "-m", "pip", "--version"]).returncode == 0,
         "the system Python has no pip (apt-get install python3-pip)")
    work = tmp_path_factory.mktemp("easybuild")
    venv = work / "eb-venv"
    done = run([SYSTEM_PYTHON, "-m", "venv", str(venv)])
    need(done.returncode == 0, "python3 -m venv failed (apt-get install python3-venv)")
    done = run([str(venv / "bin" / "pip"), "install", "--quiet", "easybuild-framework",
                "easybuild-easyblocks"])
    need(done.returncode == 0, f"EasyBuild could not be installed: {done.stderr[-500:]}")
    sources = work / "sources"
    done = run([sys.executable, "-m", "build", "--wheel", "--outdir", str(sources), TOP])
    assert done.returncode == 0, done.stderr[-2000:]
    return work, venv, sources


def eb_install(easybuild, name, eb, **variables):
    """(prefix, install dir, eb's output) of the command eb in a new prefix, with variables set."""
    work, _, sources = easybuild
    prefix = work / name
    env = {**variables, "HOME": str(work), "TMPDIR": str(work),
           "EASYBUILD_PREFIX": str(prefix), "EASYBUILD_MODULES_TOOL": "Lmod",
           "EASYBUILD_SOURCEPATH": f"{prefix}/sources:{sources}"}
    if os.geteuid() == 0:
        env["EASYBUILD_ALLOW_USE_AS_ROOT_AND_ACCEPT_CONSEQUENCES"] = "1"
    done = run(["bash", "-c", f'. {LMOD_INIT} && exec "$0" "$@"', eb, EASYCONFIG], env=env)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert "COMPLETED: Installation ended successfully" in done.stdout
    return prefix, prefix / "software" / "SlurmScoreboard" / __version__, done.stdout + done.stderr


@pytest.fixture(scope="module")
def installed(easybuild):
    """(prefix, install dir): the README's way, the system's Python first on $PATH."""
    _, venv, _ = easybuild
    prefix, software, _ = eb_install(easybuild, "prefix", str(venv / "bin" / "eb"),
                                     PATH="/usr/bin:/bin", EB_PYTHON=str(venv / "bin" / "python"))
    return prefix, software


def login_shell(prefix, script, home):
    """A clean login shell (only /etc/profile's set-up) that loads the module, then runs script."""
    env = {"HOME": str(home), "TERM": "dumb", "LANG": "C.UTF-8", "USER": "sbtest",
           "LMOD_ALLOW_ROOT_USE": "yes"}
    body = (f". {LMOD_INIT}; module use {prefix}/modules/all && module load SlurmScoreboard "
            f"|| exit 99\n{script}")
    return run(["env", "-i", *[f"{k}={v}" for k, v in env.items()], "bash", "-lc", body])


def test_the_module_gives_every_tool_from_the_install(installed, tmp_path):
    prefix, software = installed
    script = "for c in " + " ".join(COMMANDS) + '; do printf "%s\\n" "$(command -v "$c")"; ' \
             '"$c" --version || exit 1; done'
    done = login_shell(prefix, script, tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for command in COMMANDS:
        where = lines[lines.index(f"{command} (slurm-scoreboard) {__version__}") - 1]
        assert os.path.realpath(where) == os.path.realpath(software / "bin" / command)


def test_man_and_bash_completion_work_after_module_load(installed, tmp_path):
    prefix, software = installed
    done = login_shell(prefix, "man -w sb-rank && man sb-rank | head -5 && "
                       ". /usr/share/bash-completion/bash_completion && "
                       "__load_completion sb-rank && complete -p sb-rank", tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    first, *rest = done.stdout.splitlines()
    assert os.path.realpath(first) == os.path.realpath(software / "share/man/man1/sb-rank.1")
    assert any("sb-rank" in line for line in rest[:5])
    assert rest[-1].startswith("complete ") and rest[-1].endswith(" sb-rank")


def test_the_sample_history_ranks_as_with_this_checkouts_tools(installed, tmp_path):
    prefix, _ = installed
    history = tmp_path / "history"
    done = run([sys.executable, os.path.join(TOP, "demo", "generate.py"), "--out", str(history)])
    assert done.returncode == 0, done.stderr
    sample = sorted(history.glob("*.txt"))[0]
    pipeline = (f"sb-probe --root {{root}} >/dev/null; sb-parse --quiet --tz UTC {sample} | "
                "sb-dedupe --root {root} --quiet | sb-reduce --root {root} --quiet >/dev/null && "
                "SLURM_SB_NOW=2030-01-01T00:00:00Z sb-rank --root {root} >/dev/null && "
                "sb-rank --root {root} -w alltime -m clock_hours -f tsv -o rank,user,value")
    done = login_shell(prefix, pipeline.format(root=tmp_path / "eb-root"), tmp_path)
    assert done.returncode == 0, done.stderr
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    here = run(["bash", "-c", pipeline.format(root=tmp_path / "checkout-root")], env=env)
    assert here.returncode == 0, here.stderr
    assert done.stdout == here.stdout and len(done.stdout.splitlines()) > 5


def test_the_tools_run_without_the_module_and_ignore_pythonpath(installed, tmp_path):
    _, software = installed
    planted = tmp_path / "planted" / "slurm_scoreboard_tools"
    planted.mkdir(parents=True)
    (planted / "__init__.py").write_text('raise SystemExit("planted module ran")\n')
    done = run([str(software / "bin" / "sb-probe"), "--install-info", "--json"],
               env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(planted.parent)})
    assert done.returncode == 0, done.stderr
    places = json.loads(done.stdout)
    assert os.path.realpath(places["pipelines"]) == os.path.realpath(software / "bin")
    assert os.path.isfile(os.path.join(places["pipeline_library"], "common.sh"))


def test_module_unload_takes_the_tools_away(installed, tmp_path):
    prefix, _ = installed
    done = login_shell(prefix, "module unload SlurmScoreboard; command -v sb-rank || echo gone",
                       tmp_path)
    assert done.stdout.strip().splitlines()[-1] == "gone"


def test_the_module_sets_path_manpath_and_the_completions_folder(installed):
    prefix, _ = installed
    module = (prefix / "modules" / "all" / "SlurmScoreboard" / f"{__version__}.lua").read_text()
    for variable in ("PATH", "MANPATH", "XDG_DATA_DIRS"):
        assert f'prepend_path("{variable}", ' in module


def test_the_module_sets_no_pythonpath_so_a_users_venv_keeps_its_own_packages(installed, tmp_path):
    prefix, software = installed
    venv = tmp_path / "user-venv"
    assert run([SYSTEM_PYTHON, "-m", "venv", str(venv)]).returncode == 0
    ask = [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]
    own = Path(run(ask).stdout.strip()) / "orjson.py"
    own.write_text("WHOSE = 'the user venv'\n")
    done = login_shell(prefix, f'echo "PYTHONPATH=${{PYTHONPATH-}}"; sb-rank --version && '
                       f'{venv}/bin/python -c "import orjson; print(orjson.__file__)"', tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert str(software) not in lines[0], lines[0]
    assert lines[-1] == str(own)


def test_eb_run_from_a_venv_first_on_path_ties_the_tools_to_the_system_python(easybuild, tmp_path):
    """The common way (pip install easybuild into a venv, its bin/ first on $PATH): pip then runs
    as the venv's python, and the tools must still run the system Python once the venv is gone."""
    work, venv, _ = easybuild
    _, software, _ = eb_install(easybuild, "prefix-venv-on-path", "eb",
                                          PATH=f"{venv / 'bin'}:/usr/bin:/bin")
    base = run([str(venv / "bin" / "python"), "-c", "import sys; print(sys.base_prefix)"])
    system = run([SYSTEM_PYTHON, "-c", "import os, sys; print(os.path.realpath(sys.executable))"])
    for tool in ("sb-rank", "sb-probe", "sb-parse"):
        first = (software / "bin" / tool).read_text().splitlines()[0]
        assert first.startswith(f"#!{base.stdout.strip()}/bin/python3"), first
        interpreter = first[2:].split()[0]
        assert os.path.realpath(interpreter) == system.stdout.strip()
    moved = work / "eb-venv-moved"
    venv.rename(moved)
    try:
        done = run([str(software / "bin" / "sb-rank"), "--version"], env={"PATH": "/usr/bin:/bin"})
    finally:
        moved.rename(venv)
    assert done.stdout.strip() == f"sb-rank (slurm-scoreboard) {__version__}", done.stderr
