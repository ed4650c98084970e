"""The sdist and wheel as a site gets them: `python -m build` makes both, `twine check` accepts
them, and the wheel installed in a clean venv (and by pipx) gives every console script, the
pipelines (which find their library), the man pages where man looks, and sb-probe
--install-info naming each place. pip fetches the build backend and orjson and mmh3 from the
package index: without it the tests are skipped, except under CI=true."""
import ast
import json
import os
import subprocess
import sys
import tarfile
import zipfile

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
TOOLS = ["sb-sacct", "sb-parse", "sb-dedupe", "sb-reduce", "sb-rank", "sb-view", "sb-news",
         "sb-export", "sb-probe"]
PIPELINES = sorted(name for name in os.listdir(os.path.join(TOP, "pipelines"))
                   if name.startswith("sb-"))
MANPAGES = sorted(os.listdir(os.path.join(TOP, "man", "man1")))


def run(*command, env=None, cwd=None):
    return subprocess.run([str(part) for part in command], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=900)


def network_failure(done, what):
    """Skip (fail under CI) when pip could not reach the package index."""
    text = done.stdout + done.stderr
    if done.returncode != 0 and any(sign in text for sign in (
            "NewConnectionError", "Could not find a version", "No matching distribution",
            "Temporary failure in name resolution", "Network is unreachable")):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{what}: the package index is unreachable\n{text[-2000:]}")
        pytest.skip(f"{what}: the package index is unreachable")


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    done = run(sys.executable, "-m", "build", "--outdir", out, TOP)
    network_failure(done, "python -m build")
    assert done.returncode == 0, done.stderr[-3000:]
    wheels = list(out.glob("*.whl"))
    sdists = list(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1
    return wheels[0], sdists[0]


@pytest.fixture(scope="module")
def venv(tmp_path_factory, dist):
    """A clean venv of the base Python with only the wheel (and what it depends on)."""
    folder = tmp_path_factory.mktemp("venv")
    base = getattr(sys, "_base_executable", sys.executable)
    done = run(base, "-m", "venv", folder)
    assert done.returncode == 0, done.stderr
    done = run(folder / "bin" / "pip", "install", "--quiet", dist[0])
    network_failure(done, "pip install")
    assert done.returncode == 0, done.stderr[-3000:]
    return folder


def bare(venv, *command):
    """A command with an environment of the venv's bin and the system's only."""
    env = {"PATH": f"{venv}/bin:/usr/bin:/bin", "HOME": str(venv), "LC_ALL": "C.UTF-8"}
    return run(*command, env=env)


def test_every_package_of_lib_is_listed_for_the_wheel():
    """A new package folder (export/site/ ...) the wheel would leave out breaks every tool that
    imports it, and only once installed: pyproject.toml names each one."""
    with open(os.path.join(TOP, "pyproject.toml"), encoding="utf-8") as handle:
        text = handle.read()          # tomllib is Python 3.11's; the list is a Python literal
    start = text.index("\npackages = [") + len("\npackages = ")
    listed = set(ast.literal_eval(text[start:text.index("]", start) + 1]))
    lib = os.path.join(TOP, "lib")
    found = {os.path.relpath(folder, lib).replace(os.sep, ".")
             for folder, _, names in os.walk(os.path.join(lib, "slurm_scoreboard"))
             if "__init__.py" in names}
    assert found and found <= listed, sorted(found - listed)


def test_twine_accepts_the_sdist_and_the_wheel(dist):
    done = run(sys.executable, "-m", "twine", "check", "--strict", *dist)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASSED") == 2


def test_the_wheel_carries_the_pipelines_man_pages_completion_units_and_widget(dist):
    names = zipfile.ZipFile(dist[0]).namelist()
    data = [name.split(".data/", 1)[1] for name in names if ".data/" in name]
    assert sorted(n[len("scripts/"):] for n in data if n.startswith("scripts/")) == PIPELINES
    assert sorted(n.rsplit("/", 1)[1] for n in data if "/man/man1/" in n) == MANPAGES
    for wanted in ("data/lib/slurm-scoreboard/common.sh", "data/lib/slurm-scoreboard/paths.sh",
                   "data/share/bash-completion/completions/slurm-scoreboard.bash",
                   "data/share/slurm-scoreboard/systemd/install-units",
                   "data/share/slurm-scoreboard/systemd/sb-poll@.service.in",
                   "data/share/slurm-scoreboard/ondemand/_slurm_scoreboard.html.erb"):
        assert wanted in data


def test_the_sdist_carries_what_make_install_and_the_packages_build_from(dist):
    names = {name.split("/", 1)[1] for name in tarfile.open(dist[1]).getnames() if "/" in name}
    for wanted in ("Makefile", "packaging/install.sh", "pipelines/sb-poll", "man/man1/sb-rank.1",
                   "packaging/easybuild/SlurmScoreboard-0.3.0.eb",
                   "packaging/spack/packages/slurm-scoreboard/package.py",
                   "completions/generate.py", "demo/run.sh"):
        assert wanted in names


def test_every_console_script_and_pipeline_runs_from_the_clean_venv(venv):
    for command in TOOLS + PIPELINES:
        done = bare(venv, command, "--version")
        assert done.returncode == 0, (command, done.stderr)
        assert done.stdout.startswith(f"{command} (slurm-scoreboard) ")
    done = bare(venv, "sb-poll", "--help")
    assert done.returncode == 0 and "Usage:" in done.stdout


def test_man_finds_the_pages_through_path(venv):
    done = bare(venv, "man", "-w", "sb-rank")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{venv}/share/man/man1/sb-rank.1"


def test_install_info_names_every_place_of_the_wheel_install(venv):
    done = bare(venv, "sb-probe", "--install-info", "--json")
    assert done.returncode == 0, done.stderr
    places = json.loads(done.stdout)
    assert places["how"].startswith("a wheel")
    assert places["pipelines"] == f"{venv}/bin"
    assert places["man_pages"] == f"{venv}/share/man"
    assert os.path.isfile(os.path.join(places["pipeline_library"], "common.sh"))
    assert os.path.isfile(places["bash_completion"])
    assert os.access(os.path.join(places["systemd_units"], "install-units"), os.X_OK)
    assert os.path.isfile(os.path.join(places["ondemand_widget"], "_slurm_scoreboard.html.erb"))


def test_pipx_exposes_the_tools_pipelines_and_man_pages(dist, tmp_path):
    pipx = os.path.join(BIN, "pipx")
    if not os.path.exists(pipx):
        pytest.fail("pipx not in the test venv (pyproject.toml's test extra has it)")
    env = {"PATH": f"{tmp_path}/bin:{BIN}:/usr/bin:/bin", "HOME": str(tmp_path),
           "PIPX_HOME": str(tmp_path / "pipx"), "PIPX_BIN_DIR": str(tmp_path / "bin"),
           "PIPX_MAN_DIR": str(tmp_path / "man")}
    done = run(pipx, "install", "--python", getattr(sys, "_base_executable", sys.executable),
               dist[0], env=env)
    network_failure(done, "pipx install")
    assert done.returncode == 0, done.stdout + done.stderr
    for command in TOOLS + PIPELINES:
        assert os.access(tmp_path / "bin" / command, os.X_OK), command
    done = run(tmp_path / "bin" / "sb-poll", "--version", env=env)
    assert done.returncode == 0, done.stderr
    assert sorted(os.listdir(tmp_path / "man" / "man1")) == MANPAGES
