"""sb-probe's checks: the root folder, the SLURM client commands, whether sacct -a really shows
other users' jobs (PrivateData), and whether GPU TRES are recorded."""
from __future__ import annotations

import getpass
import grp
import os
import shutil
import socket
import stat
import subprocess
import sys
from datetime import timedelta
from typing import Dict, List, NamedTuple, Optional, Sequence, Set, Tuple

import orjson

from .. import errors
from ..core import files, layout, sharing
from ..core.layout import TOP_FOLDERS, sacct_rate_file
from ..core.times import now, sacct_stamp, to_iso
from ..ingest.ratelimit import RateLimiter
from ..ingest.sacct import sacct_environment
from ..ingest.states import TERMINAL_CODES


class RootCheck(NamedTuple):
    path: str
    exists: bool
    writable: bool
    created: List[str]
    error: str


OPTOUT_HEADER = b"""# Users who opted out: one name a line (# comments). They are never stored, and what was
# stored of them is erased at the next poll. Edit in place, keeping the file's mode.
"""


def check_root(root: str) -> RootCheck:
    """Create the root's top folders if missing (with the root's modes), and an empty opt-out
    list, and test that a file can be written there."""
    created: List[str] = []
    try:
        for name in TOP_FOLDERS:
            folder = os.path.join(root, name)
            if not os.path.isdir(folder):
                files.makedirs(folder)
                created.append(name)
        optout_list = layout.optout_file(root)
        if not files.lexists(optout_list):
            files.atomic_write(optout_list, OPTOUT_HEADER)
            created.append("config/optout.txt")
        probe_file = os.path.join(root, ".probe-write-test")
        files.atomic_write(probe_file, b"ok")
        files.unlink_synced(probe_file)
    except (OSError, errors.UnsafePath) as err:
        return RootCheck(root, os.path.isdir(root), False, created,
                         getattr(err, "strerror", None) or str(err))
    return RootCheck(root, True, True, created, "")


def configure_sharing(root: str, group: Optional[str], single_owner: bool,
                      readers: Optional[str]) -> Tuple[sharing.Sharing, List[str]]:
    """The root's sharing mode, changed when asked (only by the root's owner): the config is
    written and every existing file and folder given the new modes. Returns notes to report."""
    current = sharing.load(root) if os.path.isdir(root) else sharing.Sharing()
    if group:
        wanted = sharing.Sharing("group", group, _gid(group), readers or current.readers)
    elif single_owner:
        wanted = sharing.Sharing(readers=readers or current.readers)
    elif readers:
        wanted = current._replace(readers=readers)
    else:
        return current, []
    os.makedirs(root, exist_ok=True)
    owner = os.stat(root).st_uid
    if os.geteuid() not in (owner, 0):
        if wanted == current:
            return current, ["  Sharing: already so (only the root's owner re-applies it)"]
        raise errors.SharingError(f"only the owner of {root} may change how it is shared")
    if wanted.gid is not None and os.geteuid() != 0 and wanted.gid not in os.getgroups():
        raise errors.SharingError(f"you are not a member of group {group}")
    files.use_root(root, wanted.modes())
    config = {"mode": wanted.mode, "readers": wanted.readers}
    if wanted.group:
        config["group"] = wanted.group
    files.atomic_write(sharing.config_path(root),
                       orjson.dumps(config, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE))
    problems = sharing.apply(root, wanted)
    notes = [f"  Could not change: {problem}" for problem in problems[:20]]
    if len(problems) > 20:
        notes.append(f"  ... and {len(problems) - 20} more")
    if problems:
        notes.append(f"  {len(problems)} files or folders belong to other accounts: their owners "
                     "(or root) must give them the new mode and group, e.g. with sb-probe "
                     "--root R --group G as root")
    return wanted, notes


def _gid(group: str) -> int:
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise errors.SharingError(f"no group {group!r} on this machine") from None


def run_quiet(command: List[str], timeout: float = 60) -> Optional[str]:
    """stdout of a command, or None when it is missing, fails or times out."""
    try:
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              stdin=subprocess.DEVNULL, timeout=timeout, env=sacct_environment())
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", "replace")


def slurm_config(text: Optional[str]) -> Dict[str, str]:
    """`scontrol show config` lines ``Key = Value`` as a dict."""
    config: Dict[str, str] = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and " " not in key.strip():
            config[key.strip()] = value.strip()
    return config


def visible_users(days: int = 7, cluster: Optional[str] = None) -> Optional[Set[str]]:
    """Users whose jobs ended in the last `days` days, as `sacct -a` shows them to the caller."""
    command = ["sacct", "-a", "-X", "-n", "-P", "-o", "User", "--state=" + TERMINAL_CODES,
               "-S", sacct_stamp(now() - timedelta(days=days)), "-E", sacct_stamp(now())]
    if cluster:
        command += ["-M", cluster]
    output = run_quiet(command)
    if output is None:
        return None
    return {line.strip() for line in output.splitlines() if line.strip()}


class Finding(NamedTuple):
    label: str
    verdict: str   # OK, WARN, FAIL
    detail: str


def visibility_finding(users: Optional[Set[str]], me: str, config: Dict[str, str]) -> Finding:
    private = config.get("PrivateData", "")
    hides_jobs = "jobs" in private.lower()
    if users is None:
        return Finding("Visibility", "FAIL", "sacct -a failed; cannot read accounting data")
    others = users - {me}
    if others:
        return Finding("Visibility", "OK", f"sacct -a shows jobs of {len(users)} users "
                                           "in the last 7 days")
    if hides_jobs and me != "root":
        return Finding("Visibility", "FAIL", f"PrivateData={private} hides other users' jobs "
                                             "from sacct -a; the scoreboard would only see yours")
    return Finding("Visibility", "WARN", "sacct -a showed no other user's jobs in the last 7 "
                                         "days (quiet cluster, or PrivateData in slurmdbd.conf)")


def gpu_finding(config: Dict[str, str]) -> Finding:
    tres = config.get("AccountingStorageTRES")
    if tres is None:
        return Finding("GPU TRES", "WARN", "scontrol show config unavailable; cannot tell")
    if "gres/gpu" in tres:
        return Finding("GPU TRES", "OK", f"AccountingStorageTRES={tres}")
    return Finding("GPU TRES", "WARN", "gres/gpu is not in AccountingStorageTRES: GPU hours "
                                       "will read 0")


# What the readers of leaderboards/ read besides it (boardfiles.py), folder or file: without
# them they refuse to show the boards.
OPTOUT_PATHS = (("config", True), (layout.PATHS["optout_list"], False), ("state", True),
                (layout.PATHS["optout_cache"], False))


def optout_finding(root: str, mode: sharing.Sharing) -> Finding:
    """Whether everyone who may read leaderboards/ may also read the opt-out list and the
    pollers' cache, as the root's sharing mode gives them."""
    problems = [problem for relative, is_folder in OPTOUT_PATHS
                for problem in _reader_problems(os.path.join(root, relative), is_folder,
                                                mode.modes())]
    if problems:
        return Finding("Opt-out files", "FAIL", "; ".join(problems) + " (sb-view, sb-rank, "
                       "sb-export and sb-news refuse to show the boards without them)")
    return Finding("Opt-out files", "OK", "config/optout.txt and state/optout_cache.json can be "
                                          "read by everyone who may read leaderboards/")


def exposure_finding(root: str) -> Finding:
    """Whether any account but the root's writers may replace or add what the root holds: the
    root or a top folder that everyone may write (the sticky bit does not help there: anyone
    could still add a config file), a top folder that is a symlink, or a folder above the root
    that everyone may write without the sticky bit (anyone could move the root aside and put
    their own in its place)."""
    problems = [f"{path} may be written by everyone: run chmod o-w {path}"
                for path in _ancestors(root) if _open_to_all(path, sticky_helps=True)]
    for path in [root] + [os.path.join(root, name) for name in TOP_FOLDERS]:
        if os.path.islink(path) and path != root:
            problems.append(f"{path} is a symlink: the tools refuse it; make it a folder")
        elif _open_to_all(path, sticky_helps=False):
            problems.append(f"{path} may be written by everyone: run chmod o-w {path}")
    if problems:
        return Finding("Root exposure", "FAIL", "; ".join(problems))
    return Finding("Root exposure", "OK", "no one but the root's writers may replace or add "
                                          "to what it holds")


def _ancestors(root: str) -> List[str]:
    """The folders above the root, as named and as reached (a symlinked root's real place)."""
    found: List[str] = []
    for start in (os.path.abspath(root), os.path.realpath(root)):
        path = start
        while os.path.dirname(path) != path:
            path = os.path.dirname(path)
            if path not in found:
                found.append(path)
    return found


def _open_to_all(path: str, sticky_helps: bool) -> bool:
    """A folder everyone may write (with the sticky bit, unless `sticky_helps`)."""
    try:
        info = os.stat(path)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and bool(info.st_mode & 0o002) and not (
        sticky_helps and info.st_mode & stat.S_ISVTX)


def _reader_problems(path: str, is_folder: bool, modes: files.Modes) -> List[str]:
    """What keeps the root's readers from `path` (nothing when it does not exist yet)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return []
    except OSError as err:
        return [f"{path}: {err.strerror}"]
    kind_ok = stat.S_ISDIR(info.st_mode) if is_folder else stat.S_ISREG(info.st_mode)
    if not kind_ok:
        return [f"{path}: not a {'folder' if is_folder else 'regular file'}"]
    needed = modes.folder & 0o055 if is_folder else modes.file & 0o044
    problems = []
    if info.st_mode & needed != needed:
        problems.append(f"{path} has mode {stat.S_IMODE(info.st_mode):o}: run chmod "
                        f"{stat.S_IMODE(info.st_mode) | needed:o} {path}")
    if modes.group is not None and not needed & 0o005 and info.st_gid != modes.group:
        problems.append(f"{path} is not in the root's group: run chgrp "
                        f"{_group_name(modes.group)} {path}")
    return problems


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def binaries(lines: List[str]) -> Dict[str, Optional[str]]:
    """Where sacct, squeue and scontrol are (None: missing), each told in `lines`."""
    lines.append("Binaries:")
    paths = {}
    for name in ("sacct", "squeue", "scontrol"):
        paths[name] = shutil.which(name)
        lines.append(f"  {name:<8} {'OK' if paths[name] else 'MISSING':<8} {paths[name] or ''}")
    return paths


def slurm_findings(me: str, cluster: Optional[str], scontrol: bool) -> List[Finding]:
    """What sacct lets `me` see, and whether the cluster tracks GPUs."""
    config = slurm_config(run_quiet(["scontrol", "show", "config"])) if scontrol else {}
    return [visibility_finding(visible_users(cluster=cluster), me, config), gpu_finding(config)]


def _root_report(root: str, mode: sharing.Sharing, notes: Sequence[str], lines: List[str]
                 ) -> Tuple[RootCheck, List[Finding]]:
    """The root's lines of the report (made if missing): whether it can be written, its
    sharing, and whether its readers and no one else can reach what they should."""
    root_check = check_root(root)
    lines.append(f"Root: {root} (exists={root_check.exists} writable={root_check.writable})")
    if root_check.created:
        lines.append("  Created: " + ", ".join(root_check.created))
    if root_check.error:
        lines.append(f"  Error: {root_check.error}")
    lines.append(f"Sharing: {mode.describe()}")
    lines.extend(notes)
    findings = [optout_finding(root, mode), exposure_finding(root)]
    lines.extend(f"{finding.label}: {finding.verdict} - {finding.detail}" for finding in findings)
    try:
        sharing.check_writer(root, mode)
    except (errors.SharingError, OSError) as err:
        lines.append(f"  Writer: NO - {err}")
        root_check = root_check._replace(writable=False)
    return root_check, findings


def report(root: str, per_minute: int, cluster: Optional[str] = None,
           mode: Optional[sharing.Sharing] = None, notes: Sequence[str] = ()
           ) -> Tuple[List[str], int]:
    """The report's lines and the exit code (0, 2 sacct missing, 3 root not writable, 4 other)."""
    me = getpass.getuser()
    mode = mode or sharing.Sharing()
    lines = ["SlurmScoreboard Probe Report",
             f"Timestamp: {to_iso(now())}",
             f"Python: {sys.version.split()[0]} ({sys.executable})",
             f"TERM: {os.environ.get('TERM', '')}",
             f"Hostname: {socket.gethostname()}",
             f"User: {me}"]
    root_check, root_findings = _root_report(root, mode, notes, lines)
    paths = binaries(lines)
    lines.append(f"Rate Limits: sacct_calls_per_min <= {per_minute} (configurable) - OK "
                 "(static check)")
    findings: List[Finding] = []
    if paths["sacct"]:
        if root_check.writable:
            RateLimiter(sacct_rate_file(root, cluster), per_minute).acquire()
        findings = slurm_findings(me, cluster, bool(paths["scontrol"]))
    for finding in findings:
        lines.append(f"{finding.label}: {finding.verdict} - {finding.detail}")
    if not paths["sacct"]:
        return lines, errors.PROBE_NO_SACCT
    if not root_check.writable:
        return lines, errors.PROBE_ROOT
    if not paths["squeue"] or any(f.verdict == "FAIL" for f in findings + root_findings):
        return lines, errors.PROBE_OTHER
    return lines, errors.EXIT_OK
