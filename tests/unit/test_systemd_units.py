"""The systemd units (packaging/systemd, written by its install-units): user and system units
that systemd-analyze verify finds clean (their ExecStart's tools exist, their man pages are
found), hardened with the root as the one writable path, templated per cluster; paths a unit
file cannot name plainly are refused. Without systemd-analyze the tests are skipped, except
under CI=true."""
import os
import shutil
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slurm_scoreboard.core.names import check_name

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INSTALL_UNITS = os.path.join(TOP, "packaging", "systemd", "install-units")
BINDIR = os.path.dirname(sys.executable)
HARDENING = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes",
             "ProtectHome": "read-only"}


@pytest.fixture(scope="module")
def analyze():
    found = shutil.which("systemd-analyze")
    if not found:
        if os.environ.get("CI") == "true":
            pytest.fail("systemd-analyze not found; CI must have it (.ci/run installs systemd)")
        pytest.skip("systemd-analyze not found (apt-get install systemd)")
    return found


def install(tmp_path, *args):
    return subprocess.run([INSTALL_UNITS, *args], capture_output=True, text=True,
                          env=dict(os.environ, PATH=BINDIR + os.pathsep + os.environ["PATH"]))


def settings_of(path):
    """Key -> values of a unit file's lines (comments left out)."""
    found = {}
    with open(path) as handle:
        for line in handle:
            if "=" in line and not line.startswith("#"):
                key, value = line.rstrip("\n").split("=", 1)
                found.setdefault(key, []).append(value)
    return found


def verify(analyze, dest, mode, tmp_path, *units):
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = dict(os.environ, MANPATH=os.path.join(TOP, "man"), XDG_RUNTIME_DIR=str(runtime),
               SYSTEMD_LOG_COLOR="0")
    command = [analyze] + (["--user"] if mode == "user" else []) + ["verify"]
    return subprocess.run(command + list(units), cwd=dest, capture_output=True, text=True,
                          env=env)


@pytest.fixture(params=["user", "system"])
def units(request, tmp_path):
    root, site, dest = tmp_path / "sb" / "root", tmp_path / "www" / "hiscores", tmp_path / "units"
    mode = ["--user"] if request.param == "user" else ["--system", "sbpoll"]
    done = install(tmp_path, *mode, "--root", str(root), "--bindir", BINDIR, "--site", str(site),
                   "--dest", str(dest))
    assert done.returncode == 0, done.stderr
    return request.param, dest, root, site, done.stdout


def test_systemd_analyze_verify_finds_the_units_clean(analyze, units, tmp_path):
    mode, dest, *_ = units
    done = verify(analyze, dest, mode, tmp_path, "sb-poll@hammer.service", "sb-poll@hammer.timer",
                  "sb-export.service", "sb-export.timer")
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_verify_would_catch_a_tool_that_is_not_there(analyze, units, tmp_path):
    mode, dest, *_ = units
    unit = dest / "sb-poll@.service"
    unit.write_text(unit.read_text().replace("/sb-poll ", "/sb-pol "))
    done = verify(analyze, dest, mode, tmp_path, "sb-poll@hammer.service")
    assert done.returncode != 0 and "sb-pol " in done.stdout + done.stderr


def test_the_poll_is_hardened_with_the_root_its_one_writable_path(units):
    mode, dest, root, _site, _out = units
    poll = settings_of(dest / "sb-poll@.service")
    for key, value in HARDENING.items():
        assert poll[key] == [value]
    assert poll["ReadWritePaths"] == [str(root)]
    assert poll["ExecStart"] == [f"{BINDIR}/sb-poll --cluster %i --root {root}"]
    assert poll["SuccessExitStatus"] == ["3"]
    assert poll.get("User") == (["sbpoll"] if mode == "system" else None)
    assert settings_of(dest / "sb-poll@.timer")["WantedBy"] == ["timers.target"]


def test_the_export_writes_the_root_and_the_sites_folder_only(units):
    mode, dest, root, site, _out = units
    export = settings_of(dest / "sb-export.service")
    for key, value in HARDENING.items():
        assert export[key] == [value]
    assert export["ReadWritePaths"] == [f"{root} {site.parent}"]
    assert export["ExecStart"] == [
        f"{BINDIR}/sb-export --root {root} --format html --output {site}"]
    assert export.get("User") == (["sbpoll"] if mode == "system" else None)


def test_it_says_how_to_start_the_timers(units):
    mode, _dest, _root, _site, out = units
    systemctl = "systemctl --user" if mode == "user" else "systemctl"
    assert f"  {systemctl} enable --now sb-poll@CLUSTER.timer sb-export.timer\n" in out
    assert ("loginctl enable-linger" in out) == (mode == "user")


def test_without_a_site_only_the_poll_units_are_written(tmp_path):
    done = install(tmp_path, "--user", "--root", str(tmp_path / "root"), "--bindir", BINDIR,
                   "--dest", str(tmp_path / "units"))
    assert done.returncode == 0, done.stderr
    assert sorted(os.listdir(tmp_path / "units")) == ["sb-poll@.service", "sb-poll@.timer"]


@pytest.mark.parametrize("args, message", [
    (["--root", "relative/root"], "--root must be an absolute path"),
    (["--root", "/depot/my root"], "--root must be an absolute path"),
    (["--root", "/depot/100%"], "--root must be an absolute path"),
    (["--root", "/depot/sb", "--site", "/depot/sb/www"], "--site must be outside the root"),
    (["--root", "/depot/sb", "--bindir", "/nonexistent"], "/nonexistent/sb-poll is not there"),
    ([], "--root DIR"),
])
def test_paths_a_unit_cannot_name_plainly_are_refused(tmp_path, args, message):
    done = install(tmp_path, "--user", "--dest", str(tmp_path / "units"), *args)
    assert done.returncode == 2
    assert message in done.stderr and done.stderr.startswith("install-units: ")
    assert not (tmp_path / "units").exists()


def test_system_units_need_a_plain_account_name(tmp_path):
    done = install(tmp_path, "--system", "Bad Name", "--root", "/depot/sb",
                   "--dest", str(tmp_path / "units"))
    assert done.returncode == 2 and "account name" in done.stderr


# Any argument bash can pass (no NUL), mostly near the rule's edges: plain names, dots, @.
CLUSTER_TEXT = st.text(st.sampled_from("ab9_.-@/ \n\u202e") | st.characters(
    exclude_categories=("Cs",), exclude_characters="\x00"), max_size=70)


@settings(max_examples=150, deadline=None)
@given(name=CLUSTER_TEXT)
def test_a_cluster_name_is_taken_as_sb_poll_takes_one_without_systemd_s_at(tmp_path_factory,
                                                                          name):
    """The project's cluster rule (names.check_name, sb_check_name), and no @: systemd escapes
    it in an instance name, so %i would hand sb-poll another name."""
    folder = tmp_path_factory.mktemp("units")
    done = install(folder, "--user", "--root", str(folder / "root"), "--bindir", BINDIR,
                   "--dest", str(folder / "units"), "--cluster", name)
    try:
        check_name("cluster", name)
        plain = "@" not in name
    except ValueError:
        plain = False
    if plain:
        assert done.returncode == 0, done.stderr
        assert f" enable --now sb-poll@{name}.timer\n" in done.stdout
    else:
        assert done.returncode == 2 and not (folder / "units").exists()
        assert done.stderr.startswith("install-units: refusing cluster name ")
        assert done.stderr.endswith("\n") and done.stderr[:-1].isprintable()    # one line


@pytest.mark.parametrize("root, site, message", [
    ("/depot/sb", "/hiscores", "--site's folder (/) holds the root"),
    ("/depot/sb", "/depot/hiscores", "--site's folder (/depot) holds the root"),
    ("/depot/sb/root", "/depot/www/hiscores", None),
    ("/depot/sb/root", "/depot/hiscores", "--site's folder (/depot) holds the root"),
    ("/depot/sb", "/depot/sb/www/hiscores", "--site must be outside the root"),
    ("/depot/sb", "/depot/sb/hiscores", "--site must be outside the root"),
    ("/depot/sb", "/depot/sb", "--site must be outside the root"),
    ("/depot/../etc", "/srv/www/hiscores", "--root must not have a . or .. part"),
    ("/depot/sb", "/srv/www/../../depot/sb/x", "--site must not have a . or .. part"),
])
def test_the_export_is_never_given_the_root_s_neighbours_or_the_whole_file_system(
        tmp_path, root, site, message):
    done = install(tmp_path, "--user", "--root", root, "--bindir", BINDIR, "--site", site,
                   "--dest", str(tmp_path / "units"))
    if message is None:
        assert done.returncode == 0, done.stderr
        export = settings_of(tmp_path / "units" / "sb-export.service")
        assert export["ReadWritePaths"] == [f"{root} /depot/www"]
    else:
        assert done.returncode == 2 and message in done.stderr, done.stderr
        assert not (tmp_path / "units").exists()
