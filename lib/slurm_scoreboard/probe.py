"""sb-probe's checks: the root folder, the SLURM client commands, whether sacct -a really shows
other users' jobs (PrivateData), and whether GPU TRES are recorded."""
from __future__ import annotations

import getpass
import grp
import os
import shutil
import socket
import subprocess
import sys
from datetime import timedelta
from typing import Dict, List, NamedTuple, Optional, Sequence, Set, Tuple

import orjson

from . import files, sharing
from .layout import TOP_FOLDERS, sacct_rate_file
from .ratelimit import RateLimiter
from .sacct import sacct_environment
from .states import TERMINAL_CODES
from .times import now, sacct_stamp, to_iso

EXIT_OK, EXIT_NO_SACCT, EXIT_ROOT, EXIT_OTHER = 0, 2, 3, 4


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
        optout_list = os.path.join(root, "config", "optout.txt")
        if not files.lexists(optout_list):
            files.atomic_write(optout_list, OPTOUT_HEADER)
            created.append("config/optout.txt")
        probe_file = os.path.join(root, ".probe-write-test")
        files.atomic_write(probe_file, b"ok")
        files.unlink_synced(probe_file)
    except (OSError, files.UnsafePath) as err:
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
        raise sharing.SharingError(f"only the owner of {root} may change how it is shared")
    if wanted.gid is not None and os.geteuid() != 0 and wanted.gid not in os.getgroups():
        raise sharing.SharingError(f"you are not a member of group {group}")
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
        raise sharing.SharingError(f"no group {group!r} on this machine") from None


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
    root_check = check_root(root)
    lines.append(f"Root: {root} (exists={root_check.exists} writable={root_check.writable})")
    if root_check.created:
        lines.append("  Created: " + ", ".join(root_check.created))
    if root_check.error:
        lines.append(f"  Error: {root_check.error}")
    lines.append(f"Sharing: {mode.describe()}")
    lines.extend(notes)
    try:
        sharing.check_writer(root, mode)
    except (sharing.SharingError, OSError) as err:
        lines.append(f"  Writer: NO - {err}")
        root_check = root_check._replace(writable=False)
    lines.append("Binaries:")
    paths = {}
    for name in ("sacct", "squeue", "scontrol"):
        paths[name] = shutil.which(name)
        lines.append(f"  {name:<8} {'OK' if paths[name] else 'MISSING':<8} {paths[name] or ''}")
    lines.append(f"Rate Limits: sacct_calls_per_min <= {per_minute} (configurable) - OK "
                 "(static check)")
    findings: List[Finding] = []
    if paths["sacct"]:
        config = slurm_config(run_quiet(["scontrol", "show", "config"])) if paths["scontrol"] else {}
        if root_check.writable:
            RateLimiter(sacct_rate_file(root, cluster), per_minute).acquire()
        findings = [visibility_finding(visible_users(cluster=cluster), me, config),
                    gpu_finding(config)]
    for finding in findings:
        lines.append(f"{finding.label}: {finding.verdict} - {finding.detail}")
    if not paths["sacct"]:
        return lines, EXIT_NO_SACCT
    if not root_check.writable:
        return lines, EXIT_ROOT
    if not paths["squeue"] or any(f.verdict == "FAIL" for f in findings):
        return lines, EXIT_OTHER
    return lines, EXIT_OK
