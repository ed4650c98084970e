"""SLURM job states as sacct prints them: normalising, terminal or not, failed or not."""
from __future__ import annotations

from ..core.memo import Memo

# Base job states sacct reports, with the short codes `sacct --state` accepts.
TERMINAL = {
    "BOOT_FAIL": "BF", "CANCELLED": "CA", "COMPLETED": "CD", "DEADLINE": "DL", "FAILED": "F",
    "NODE_FAIL": "NF", "OUT_OF_MEMORY": "OOM", "PREEMPTED": "PR", "TIMEOUT": "TO",
    "REVOKED": "RV",
}
NON_TERMINAL = {
    "PENDING": "PD", "RUNNING": "R", "REQUEUED": "RQ", "RESIZING": "RS", "SUSPENDED": "S",
    "SPECIAL_EXIT": "SE", "REQUEUE_HOLD": "RH", "REQUEUE_FED": "RF", "COMPLETING": "CG",
    "CONFIGURING": "CF", "STOPPED": "ST", "SIGNALING": "SI", "STAGE_OUT": "SO",
    "RESV_DEL_HOLD": "RD",
}
# The user's failures: the job failed, ran out of memory or out of its time limit. NODE_FAIL,
# BOOT_FAIL and PREEMPTED are the site's doing, DEADLINE and CANCELLED a stop, not a failure.
FAILED = frozenset({"FAILED", "TIMEOUT", "OUT_OF_MEMORY"})

_BY_CODE = {code: name for table in (TERMINAL, NON_TERMINAL) for name, code in table.items()}
_KNOWN = set(TERMINAL) | set(NON_TERMINAL)

# What sb-sacct asks for by default: every state a job can end in.
TERMINAL_CODES = ",".join(sorted(code for name, code in TERMINAL.items() if name != "REVOKED"))


def normalize_state(text: str) -> str:
    """The base state name: ``CANCELLED by 1000`` -> CANCELLED, ``CA`` -> CANCELLED, ``COMPLETED+``
    and ``OUT_OF_ME+`` (fixed-width truncation: the one state it can be the start of) ->
    COMPLETED, OUT_OF_MEMORY. Unknown states raise ValueError."""
    word = text.strip().split(" ", 1)[0].upper()
    cut = word.endswith("+")
    word = word.rstrip("+")
    if word in _KNOWN:
        return word
    if word in _BY_CODE:
        return _BY_CODE[word]
    completions = [name for name in _KNOWN if name.startswith(word)] if cut and word else []
    if len(completions) == 1:
        return completions[0]
    raise ValueError(f"unknown state {text.strip()!r}")


state_of: Memo[str, str] = Memo(normalize_state)      # the few states, each read once


def is_known(state: str) -> bool:
    """A base state name as :func:`normalize_state` gives it."""
    return state in _KNOWN


def is_terminal(state: str) -> bool:
    return state in TERMINAL


def is_failed(state: str) -> bool:
    return state in FAILED
