"""Talking to slurmdbd through sacct: the command line, time windows split into chunks, and a run
with a timeout whose output is spooled so a failed or killed call prints nothing partial."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from datetime import datetime, timedelta
from typing import BinaryIO, Iterator, List, Optional, Sequence, Tuple

from ..core.names import PLAIN
from ..core.times import ONE_SECOND, next_month, sacct_stamp
from ..errors import SacctFailed, SacctMissing, SacctTimeout, UnknownCluster
from .fields import SB_SACCT_FIELDS, SB_STEP_FIELDS
from .states import TERMINAL_CODES

CHUNKS = ("none", "day", "week", "month")

Window = Tuple[datetime, datetime]


SACCTMGR = ["sacctmgr", "-n", "-P", "list", "clusters", "format=cluster"]
SACCTMGR_TIMEOUT = 20.0


def split_window(since: datetime, until: datetime, chunk: str) -> Iterator[Window]:
    """[since, until) cut at day, ISO-week (Monday) or month boundaries."""
    if chunk == "none":
        yield since, until
        return
    start = since
    while start < until:
        end = min(_next_boundary(start, chunk), until)
        yield start, end
        start = end


def _next_boundary(moment: datetime, chunk: str) -> datetime:
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if chunk == "day":
        return midnight + timedelta(days=1)
    if chunk == "week":
        return midnight + timedelta(days=7 - midnight.weekday())
    return next_month(moment)


def build_command(window: Window, steps: bool = False, user: Optional[str] = None,
                  cluster: Optional[str] = None, all_states: bool = False,
                  sacct: str = "sacct") -> List[str]:
    """The sacct call for jobs that ended in [since, until) (or were active, with all_states)."""
    since, until = window
    fields = SB_STEP_FIELDS if steps else SB_SACCT_FIELDS
    command = [sacct, "-a", "-n", "-P", "--format=" + ",".join(fields),
               "-S", sacct_stamp(since), "-E", sacct_stamp(until - ONE_SECOND)]
    if not steps:
        command.insert(4, "-X")
    if not all_states:
        command.append("--state=" + TERMINAL_CODES)
    if user:
        command += ["-u", user]
    if cluster:
        command += ["-M", cluster]
    return command


def sacct_environment() -> dict:
    env = dict(os.environ)
    env["TZ"] = "UTC"
    env["SLURM_TIME_FORMAT"] = "%s"     # epoch seconds: no time zone for anyone to misread
    return env


def run_to(command: List[str], out: BinaryIO, timeout: float) -> None:
    """Run sacct; copy its whole output to `out` only if it succeeded within `timeout` seconds."""
    with tempfile.TemporaryFile() as spool, tempfile.TemporaryFile() as errors:
        try:
            process = subprocess.Popen(command, stdout=spool, stderr=errors, stdin=subprocess.DEVNULL,
                                       env=sacct_environment())
        except FileNotFoundError:
            raise SacctMissing(f"{command[0]} not found on PATH") from None
        except PermissionError:
            raise SacctMissing(f"{command[0]} is not executable") from None
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise SacctTimeout(f"sacct did not finish within {timeout:g} s; killed it") from None
        if code != 0:
            errors.seek(0)
            first = errors.read(4096).decode("utf-8", "replace").strip().splitlines()
            detail = first[0] if first else "no message"
            how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
            raise SacctFailed(f"sacct {how}: {detail}")
        spool.seek(0)
        shutil.copyfileobj(spool, out, 1 << 20)


def known_clusters(command: Sequence[str] = SACCTMGR,
                   timeout: float = SACCTMGR_TIMEOUT) -> Optional[List[str]]:
    """The clusters slurmdbd knows (their plain names only), or None when it cannot tell:
    sacctmgr missing, failing, timing out or naming none."""
    try:
        done = subprocess.run(list(command), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              stdin=subprocess.DEVNULL, timeout=timeout, env=sacct_environment())
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    names = [line.strip() for line in done.stdout.decode("utf-8", "replace").splitlines()]
    plain = sorted({name for name in names if PLAIN.fullmatch(name)})
    return plain or None


def check_cluster_known(cluster: str, command: Sequence[str] = SACCTMGR,
                        timeout: float = SACCTMGR_TIMEOUT) -> None:
    """UnknownCluster when slurmdbd's list of clusters does not hold `cluster`: what sb-sacct,
    sb-probe and (through sb-probe --check-cluster) sb-poll ask before a cluster's first use.
    A list sacctmgr cannot give stops nothing: only a name known to be wrong is refused, so a
    site whose sacctmgr is missing or slow still polls."""
    known = known_clusters(command, timeout)
    if known is None or cluster in known:
        return
    shown = " ".join(known[:20]) + (f" and {len(known) - 20} more" if len(known) > 20 else "")
    raise UnknownCluster(f"slurmdbd knows no cluster {cluster} (it knows: {shown}); "
                         "check --cluster")
