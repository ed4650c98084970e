import pytest

from slurm_scoreboard.ingest.states import TERMINAL_CODES, is_failed, is_terminal, normalize_state


@pytest.mark.parametrize("text,state", [
    ("COMPLETED", "COMPLETED"), ("CANCELLED by 32874", "CANCELLED"), ("CANCELLED+", "CANCELLED"),
    ("CA", "CANCELLED"), ("OOM", "OUT_OF_MEMORY"), ("COMPLEteD", "COMPLETED"),
    ("PD", "PENDING"), ("REQUEUED", "REQUEUED"), ("NODE_FAIL", "NODE_FAIL"),
])
def test_normalize(text, state):
    assert normalize_state(text) == state


@pytest.mark.parametrize("text", ["FOO", "BAR", "", "INVALID", "RUNING"])
def test_unknown_states_raise(text):
    with pytest.raises(ValueError):
        normalize_state(text)


def test_terminal_and_failed_sets():
    for state in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL",
                  "BOOT_FAIL", "DEADLINE", "PREEMPTED"):
        assert is_terminal(state)
    for state in ("PENDING", "RUNNING", "REQUEUED", "SUSPENDED", "RESIZING"):
        assert not is_terminal(state)
    assert {s for s in ("FAILED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL",
                        "DEADLINE", "COMPLETED", "CANCELLED", "PREEMPTED") if is_failed(s)} == \
        {"FAILED", "TIMEOUT", "OUT_OF_MEMORY"}       # the user's failures, not the site's


def test_sacct_selection_names_every_ending_state():
    assert set(TERMINAL_CODES.split(",")) == {"BF", "CA", "CD", "DL", "F", "NF", "OOM", "PR", "TO"}
