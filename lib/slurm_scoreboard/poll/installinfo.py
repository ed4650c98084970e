"""Where this installation keeps what the Python tools cannot find by import: the pipelines,
their shell library, man pages, bash completion, systemd units and the OnDemand widget
(sb-probe --install-info). make install leaves install.json beside its copy of the code; a
wheel (pip, pipx, EasyBuild, Spack) lists its files in its RECORD; a source checkout has them
in its own folders."""
from __future__ import annotations

import json
import os
import shlex
import sys
from importlib import metadata
from typing import Dict, List, Optional

from .. import __version__

DISTRIBUTION = "slurm-scoreboard"
# what is reported, with the file that shows where it is and how many folders up from that file
PLACES = (
    ("tools", "bin/sb-rank", 1),
    ("pipelines", "bin/sb-poll", 1),
    ("pipeline_library", "lib/slurm-scoreboard/common.sh", 1),
    ("man_pages", "share/man/man1/sb-rank.1", 2),
    ("bash_completion", "share/bash-completion/completions/slurm-scoreboard.bash", 0),
    ("systemd_units", "share/slurm-scoreboard/systemd/install-units", 1),
    ("ondemand_widget", "share/slurm-scoreboard/ondemand/_slurm_scoreboard.html.erb", 1),
)
LABELS = {"code": "code", "tools": "tools", "pipelines": "pipelines",
          "pipeline_library": "pipeline library", "man_pages": "man pages",
          "bash_completion": "bash completion", "systemd_units": "systemd units",
          "ondemand_widget": "OnDemand widget"}
# a source checkout: the same things in the repository's folders
CHECKOUT = {"pipelines": "pipelines", "pipeline_library": "pipelines/lib", "man_pages": "man",
            "bash_completion": "completions/slurm-scoreboard.bash",
            "systemd_units": "packaging/systemd", "ondemand_widget": "packaging/ondemand"}


def code_folder() -> str:
    """The folder the package was imported from (site-packages, make install's python/)."""
    return up(os.path.abspath(__file__), 3)


def up(path: str, levels: int) -> str:
    for _ in range(levels):
        path = os.path.dirname(path)
    return path


def from_make_install(code: str) -> Optional[Dict[str, Optional[str]]]:
    """make install's own record (LIBDIR/install.json), when this code is its copy."""
    try:
        with open(os.path.join(os.path.dirname(code), "install.json"), "rb") as handle:
            recorded = json.loads(handle.read())
    except (OSError, ValueError):
        return None
    if not isinstance(recorded, dict):
        return None
    return {name: recorded.get(name) if isinstance(recorded.get(name), str) else None
            for name, _file, _up in PLACES}


def from_wheel(code: str) -> Optional[Dict[str, Optional[str]]]:
    """The places the installed wheel's RECORD names, where they exist."""
    try:
        distribution = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None
    if os.path.realpath(str(distribution.locate_file(""))) != os.path.realpath(code):
        return None
    found: Dict[str, Optional[str]] = {name: None for name, _file, _up in PLACES}
    for entry in distribution.files or []:
        path = os.path.normpath(str(distribution.locate_file(entry)))
        for name, ending, levels in PLACES:
            if found[name] is None and path.endswith("/" + ending) and os.path.exists(path):
                found[name] = up(path, levels)
    return found


def from_checkout(code: str) -> Dict[str, Optional[str]]:
    top = os.path.dirname(code)
    found = {name: os.path.join(top, folder) for name, folder in CHECKOUT.items()
             if os.path.exists(os.path.join(top, folder))}
    # the tools: where the running Python's scripts are (a development venv's bin)
    scripts = os.path.dirname(sys.executable)
    if found and os.path.exists(os.path.join(scripts, "sb-rank")):
        found["tools"] = scripts
    return {name: found.get(name) for name, _file, _up in PLACES}


def locate() -> Dict[str, Optional[str]]:
    """Every place, and how this copy was installed ("how")."""
    code = code_folder()
    places, how = from_make_install(code), "make install"
    if places is None:
        places, how = from_wheel(code), "a wheel (pip, pipx, EasyBuild, Spack)"
    checkout = from_checkout(code)
    if places is None or not any(places.values()):
        places, how = checkout, "a source checkout"
    elif checkout["pipelines"]:
        # an editable install in a checkout: what the wheel did not place is in the checkout
        places = {name: places[name] or checkout[name] for name in places}
        how += ", editable, in a source checkout"
    return {"version": __version__, "how": how, "code": code, **places}


def man_hint(pages: str, tools: Optional[str]) -> str:
    """man looks in <dir>/../share/man for every <dir> on $PATH: say whether that is enough."""
    beside = tools and os.path.realpath(os.path.join(tools, "..", "share", "man"))
    if beside == os.path.realpath(pages):
        return f"man pages: found by man while {tools} is on $PATH"
    return f"man pages: export MANPATH={shlex.quote(pages)}:\"$MANPATH\""


def render(places: Dict[str, Optional[str]]) -> List[str]:
    """The text sb-probe --install-info prints: a line a place, then how to use them."""
    lines = [f"slurm-scoreboard {places['version']}, installed from {places['how']}"]
    for name, label in LABELS.items():
        lines.append(f"  {label + ':':<18}{places.get(name) or 'not installed'}")
    pages = places.get("man_pages")
    if pages:
        lines.append(man_hint(pages, places.get("tools")))
    completion, units = places.get("bash_completion"), places.get("systemd_units")
    if completion:
        lines.append(f"bash completion: . {shlex.quote(completion)}   (in ~/.bashrc)")
    if units:
        command = shlex.quote(os.path.join(units, "install-units"))
        lines.append(f"systemd timers: {command} --help")
    return lines
