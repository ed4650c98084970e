"""sacct column lists: the ones sb-sacct asks for, the named presets sb-parse knows, header detection.

Column names are compared case-insensitively (sacct accepts ``REQMEM`` and ``ncpus``).
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

# sb-sacct's fixed order. Never JobName, WorkDir, SubmitLine or Comment: privacy.
SB_SACCT_FIELDS = ["JobID", "JobIDRaw", "Cluster", "User", "Account", "State", "ElapsedRaw",
                   "AllocCPUS", "NNodes", "ReqMem", "AllocTRES", "Submit", "Start", "End",
                   "MaxRSS", "AveRSS"]

# sb-sacct --steps: the same, the CPU time each step used (the job line's is their sum), and
# the steps' average usage, whose gres/gpuutil is the GPU utilisation where SLURM records it.
SB_STEP_FIELDS = SB_SACCT_FIELDS + ["TotalCPU", "TRESUsageInAve"]

# Version 0.1's README one-liner ("Manual one-off ingest"): no Account, so its jobs are in no group.
OLD_ONELINER_FIELDS = ["JobID", "User", "State", "ElapsedRaw", "AllocCPUS", "NNodes", "ReqMem", "MaxRSS",
               "AveRSS", "AllocTRES", "Submit", "Start", "End"]

# The README's plain-sacct one-liner today: version 0.1's with Account after User.
README_FIELDS = OLD_ONELINER_FIELDS[:2] + ["Account"] + OLD_ONELINER_FIELDS[2:]

# Open XDMoD's Slurm shredder log (`sacct --allocations --duplicates --parsable2 --noheader`).
XDMOD_FIELDS = ["jobid", "jobidraw", "cluster", "partition", "qos", "account", "group", "gid",
                "user", "uid", "submit", "eligible", "start", "end", "elapsed", "exitcode",
                "state", "nnodes", "ncpus", "reqcpus", "reqmem", "reqtres", "alloctres",
                "timelimit", "nodelist", "jobname"]

PRESETS: Dict[str, List[str]] = {"sb-sacct": SB_SACCT_FIELDS, "sb-sacct-steps": SB_STEP_FIELDS,
                                 "readme-account": README_FIELDS,
                                 "readme-oneliner": OLD_ONELINER_FIELDS, "xdmod": XDMOD_FIELDS}
# Earlier names still accepted.
ALIASES = {"seed": "readme-oneliner"}

# Recognised without a header, by field count alone.
BY_COUNT: Dict[int, List[str]] = {len(SB_SACCT_FIELDS): SB_SACCT_FIELDS,
                                  len(SB_STEP_FIELDS): SB_STEP_FIELDS,
                                  len(OLD_ONELINER_FIELDS): OLD_ONELINER_FIELDS,
                                  len(README_FIELDS): README_FIELDS}

# Free-text columns: the only ones that may contain the delimiter, so only these absorb extra
# fields when they are the last column.
FREE_TEXT = frozenset({"jobname", "comment", "admincomment", "systemcomment", "submitline",
                       "workdir", "constraints", "reason"})

# Every column name sacct's --helpformat lists (22.05 and older names), lower-cased.
KNOWN = frozenset("""
account admincomment alloccpus allocnodes alloctres associd avecpu avecpufreq avediskread
avediskwrite avepages averss avevmsize blockid cluster comment constraints consumedenergy
consumedenergyraw container cputime cputimeraw dbindex derivedexitcode elapsed elapsedraw
eligible end exitcode extra flags gid group jobid jobidraw jobname layout maxdiskread
maxdiskreadnode maxdiskreadtask maxdiskwrite maxdiskwritenode maxdiskwritetask maxpages
maxpagesnode maxpagestask maxrss maxrssnode maxrsstask maxvmsize maxvmsizenode maxvmsizetask
mcslabel mincpu mincpunode mincputask ncpus nnodes nodelist ntasks priority partition qos qosraw
reason reqcpufreq reqcpufreqmin reqcpufreqmax reqcpufreqgov reqcpus reqgres reqmem reqnodes
reqtres reservation reservationid reserved resvcpu resvcpuraw start state submit submitline
suspended systemcpu systemcomment timelimit timelimitraw totalcpu tresusageinave tresusageinmax
tresusageinmaxnode tresusageinmaxtask tresusageinmin tresusageinminnode tresusageinmintask
tresusageintot tresusageoutave tresusageoutmax tresusageoutmaxnode tresusageoutmaxtask
tresusageoutmin tresusageoutminnode tresusageoutmintask tresusageouttot uid user usercpu wckey
wckeyid workdir planned plannedcpu plannedcpuraw
""".split())


def parse_field_list(text: str) -> List[str]:
    """``JobID,User,...`` (as given to sacct -o) to a list of lower-case names; unknown: ValueError."""
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    if not names:
        raise ValueError("empty field list")
    for name in names:
        base = name.split("%", 1)[0]
        if base not in KNOWN:
            raise ValueError(f"unknown sacct field {name!r}")
    return [name.split("%", 1)[0] for name in names]


def preset(name: str) -> List[str]:
    try:
        return [field.lower() for field in PRESETS[ALIASES.get(name, name)]]
    except KeyError:
        raise ValueError(f"unknown format {name!r} (known: {', '.join(PRESETS)})") from None


def as_header(fields: Sequence[str]) -> Optional[List[str]]:
    """Lower-case names if this split line is a header (all names known, a job id among them)."""
    names = [f.strip().lower() for f in fields]
    while names and not names[-1]:
        names.pop()
    if not names or ("jobid" not in names and "jobidraw" not in names):
        return None
    if all(name in KNOWN for name in names):
        return names
    return None


def by_count(count: int) -> Optional[List[str]]:
    fields = BY_COUNT.get(count)
    return [f.lower() for f in fields] if fields else None
