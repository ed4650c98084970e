"""The real SLURM test cluster (tests/slurm/cluster-up.sh) with its users registered."""
import os
import subprocess

import pytest

from slurm_jobs import SLURM_SCRIPTS, USERS


def pytest_collection_modifyitems(items):
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def cluster():
    """The name of the running test cluster, with USERS registered; skips without one."""
    name = os.environ.get("SB_TEST_CLUSTER")
    if not name:
        pytest.skip("no SLURM test cluster (run make test as root, or set SB_TEST_CLUSTER)")
    by_account = {}
    for user, account in USERS.items():
        by_account.setdefault(account, []).append(user)
    for account, users in by_account.items():
        subprocess.run([os.path.join(SLURM_SCRIPTS, "add-users.sh"), account] + users,
                       check=True, stdout=subprocess.DEVNULL)
    return name
