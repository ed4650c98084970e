"""Shared pytest set-up: the source tree on sys.path, the sample folder, the real-cluster gate."""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "lib"))
sys.path.insert(0, TOP)

SAMPLES = os.environ.get("SB_SACCT_SAMPLES",
                         os.path.join(TOP, "..", "shared", "sacct-samples"))


@pytest.fixture
def samples_dir():
    if not os.path.isfile(os.path.join(SAMPLES, "INDEX.md")):
        if os.environ.get("CI") == "true":
            pytest.fail(f"real sacct samples not found at {SAMPLES}; CI must have them")
        pytest.skip(f"real sacct samples not found at {SAMPLES}")
    return SAMPLES
