"""The Spack package (packaging/spack): Spack cannot be fetched here (not on PyPI or in Debian,
and its repository host is out of reach), so its own audit cannot run. This loads package.py
with the directives recorded by a stand-in for spack.package and checks what can drift from the
project: the class name Spack derives from the package folder, the version, the dependencies
pyproject.toml declares, and that the completion hook links every command."""
import os
import re
import sys
import types

import pytest

from slurm_scoreboard import __version__

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGE = os.path.join(TOP, "packaging", "spack", "packages", "slurm-scoreboard", "package.py")


@pytest.fixture
def package(monkeypatch):
    recorded = {"version": [], "depends_on": [], "license": [], "run_after": []}

    def directive(name):
        def record(*args, **kwargs):
            recorded[name].append((args, kwargs))
            if name == "run_after":
                return lambda method: method
        return record

    stand_in = types.ModuleType("spack.package")
    stand_in.PythonPackage = type("PythonPackage", (), {})
    for name in recorded:
        setattr(stand_in, name, directive(name))
    stand_in.__all__ = ["PythonPackage", *recorded]
    monkeypatch.setitem(sys.modules, "spack", types.ModuleType("spack"))
    monkeypatch.setitem(sys.modules, "spack.package", stand_in)
    namespace = {"__name__": "slurm_scoreboard_spack"}
    with open(PACKAGE) as handle:
        exec(compile(handle.read(), PACKAGE, "exec"), namespace)
    return namespace["SlurmScoreboard"], recorded


def test_the_class_is_named_as_spack_names_the_package_folder(package):
    cls, _ = package
    folder = os.path.basename(os.path.dirname(PACKAGE))
    assert cls.__name__ == "".join(part.capitalize() for part in folder.split("-"))


def test_the_version_and_the_sdist_are_the_projects(package):
    cls, recorded = package
    assert [args[0] for args, _ in recorded["version"]] == [__version__]
    assert cls.pypi.endswith(f"/slurm_scoreboard-{__version__}.tar.gz")


def test_the_dependencies_are_pyprojects(package):
    _, recorded = package
    wanted = {args[0]: kwargs.get("type") for args, kwargs in recorded["depends_on"]}
    with open(os.path.join(TOP, "pyproject.toml")) as handle:
        pyproject = handle.read()
    python = re.search(r'requires-python = ">=([0-9.]+)"', pyproject).group(1)
    setuptools = re.search(r'"setuptools>=([0-9.]+)"', pyproject).group(1)
    assert wanted[f"python@{python}:"] == ("build", "run")
    assert wanted[f"py-setuptools@{setuptools}:"] == "build"
    for name, least in re.findall(r'"(orjson|mmh3)>=([0-9.]+)"', pyproject):
        assert wanted[f"py-{name}@{least}:"] == ("build", "run")


def test_the_completion_hook_links_every_command(package, tmp_path):
    cls, _ = package
    commands = sorted(name for name in os.listdir(os.path.join(TOP, "pipelines"))
                      if name.startswith("sb-"))
    with open(os.path.join(TOP, "pyproject.toml")) as handle:
        commands += re.findall(r'^(sb-[a-z-]+) = "slurm_scoreboard_tools', handle.read(), re.M)
    assert sorted(cls.commands) == sorted(commands)
    folder = tmp_path / "share" / "bash-completion" / "completions"
    folder.mkdir(parents=True)
    instance = cls()
    instance.prefix = types.SimpleNamespace(share=str(tmp_path / "share"))
    instance.link_completion()
    assert sorted(os.listdir(folder)) == sorted(commands)
    assert {os.readlink(folder / name) for name in commands} == {"slurm-scoreboard.bash"}
