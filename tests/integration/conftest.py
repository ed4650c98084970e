"""The private SLURM test cluster (tests/slurm/cluster-up.sh; $SB_SLURM_ENV names its
environment file) with its users registered."""
import os
import shutil
import subprocess
import time
from datetime import datetime, timedelta, timezone

import pytest
from slurm_jobs import (
    SLURM_SCRIPTS,
    USERS,
    as_user,
    cluster_env,
    shared_folder,
    submit,
    wait_for_state,
    wait_until_ended,
)


def pytest_collection_modifyitems(items):
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def cluster():
    """The name of the private test cluster, with USERS registered and its environment
    (SLURM_CONF...) in os.environ for every command the tests run; skips without one."""
    if not os.environ.get("SB_SLURM_ENV"):
        pytest.skip("no SLURM test cluster (make test as root brings one up; or set "
                    "SB_SLURM_ENV to the DIR/env of tests/slurm/cluster-up.sh)")
    try:
        name = cluster_env.apply()["SB_TEST_CLUSTER"]
    except cluster_env.NoCluster as err:
        pytest.fail(str(err))
    by_account = {}
    for user, account in USERS.items():
        by_account.setdefault(account, []).append(user)
    for account, users in by_account.items():
        subprocess.run([os.path.join(SLURM_SCRIPTS, "add-users.sh"), account] + users,
                       check=True, stdout=subprocess.DEVNULL)
    return name


@pytest.fixture(scope="session")
def submitted(cluster):
    """Submit the mix of jobs once for the module; wait until every one has ended."""
    since = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=1)
    jobs = {}
    jobs["timeout"] = submit("sbcarol", "-t", "1", "--wrap", "sleep 300")
    jobs["multicpu"] = submit("sbalice", "-c", "4", "--wrap", "sleep 3")
    jobs["gpu"] = submit("sbalice", "--gres=gpu:a100:2", "--wrap", "sleep 2")
    jobs["typed_gpu"] = submit("sbcarol", "-c", "2", "--gres=gpu:a100:1", "--wrap", "sleep 2")
    jobs["array"] = submit("sbbob", "--array=1-3", "--wrap", "sleep 1")
    jobs["failing"] = submit("sbbob", "--wrap", "sleep 1; exit 3")
    jobs["cancelled"] = submit("sbcarol", "--wrap", "sleep 300")
    wait_for_state(jobs["cancelled"], "RUNNING")
    time.sleep(2)
    as_user("sbcarol", ["scancel", jobs["cancelled"]])
    ids = list(jobs.values())
    states = wait_until_ended(ids, expected_count=len(ids) + 2)
    until = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=2)
    return {"jobs": jobs, "since": since, "until": until, "states": states}


@pytest.fixture
def user_root():
    """A fresh scoreboard root in /tmp that the test users can write to."""
    folder = shared_folder()
    yield folder
    shutil.rmtree(folder, ignore_errors=True)
