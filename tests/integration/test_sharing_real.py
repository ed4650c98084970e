"""One root, several accounts, on the real test cluster (README, "Sharing a root").

Two poller accounts of one group poll two clusters into a group-mode root with the default
umask (022); the merged boards are exact and every file keeps the group's modes. An account
outside the group reads the boards and can neither write nor lock. An opted-out user's name is
gone from every file after the next polls. Then a third member of the group turns the first
cluster's folder into a trap (every file a symlink into the first poller's home, a folder
swapped for a symlink, a journal with ../ paths, the store lock held): the first poller's next
poll changes nothing outside the root, says why, and no wait is unbounded."""
import hashlib
import json
import os
import shutil
import stat
import subprocess
import time

import orjson
import pytest
from slurm_jobs import TOP, USERS_BIN, runuser_command
from test_pipelines_real import EARLIER, SECOND, history, seed, stored, truth_of

GROUP = "sbwriters"
POLLER_A, POLLER_B, MEMBER, OUTSIDER = "sbpolla", "sbpollb", "sbmallory", "sbreader"
NOW = {"SLURM_SB_NOW": "2019-08-15T00:00:00Z"}
PIPELINES = os.path.join(TOP, "pipelines")


def run_as(user, command, env=None, check=False, timeout=300):
    """`command` as `user`, with the default umask (022) and the users' tools on PATH."""
    variables = [f"PATH={USERS_BIN}:{PIPELINES}:/usr/local/bin:/usr/bin:/bin",
                 "SLURM_SB_SACCT_PER_MIN=1000"] + [f"{k}={v}" for k, v in (env or {}).items()]
    done = subprocess.run(runuser_command(user, ["env"] + variables +
                                          ["sh", "-c", 'umask 022; exec "$@"', "sh"] +
                                          list(command)),
                          capture_output=True, text=True, cwd="/tmp", timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"{command} as {user}: {done.returncode} {done.stderr}")
    return done


@pytest.fixture(scope="module")
def accounts(cluster):
    subprocess.run(["groupadd", "-f", GROUP], check=True)
    for user in (POLLER_A, POLLER_B, MEMBER, OUTSIDER):
        if subprocess.run(["id", user], capture_output=True).returncode != 0:
            subprocess.run(["useradd", "-m", user], check=True)
    for user in (POLLER_A, POLLER_B, MEMBER):
        subprocess.run(["usermod", "-aG", GROUP, user], check=True)
    return True


@pytest.fixture(scope="module")
def histories(cluster, tmp_path_factory):
    folder = tmp_path_factory.mktemp("seed")
    local, other = history(cluster, 9100000, 1), history(SECOND, 9200000, 2)
    seed(cluster, local, folder)
    seed(SECOND, other, folder)
    return {cluster: local, SECOND: other}


@pytest.fixture(scope="module")
def shared_root(accounts, histories, cluster):
    """A group-mode root made by the first poller, polled by both pollers until caught up."""
    root = f"/tmp/sb-share-{os.getpid()}"
    shutil.rmtree(root, ignore_errors=True)
    run_as(POLLER_A, ["mkdir", root], check=True)
    probe = run_as(POLLER_A, ["sb-probe", "--root", root, "--group", GROUP])
    assert "Sharing: group mode: the members of sbwriters write" in probe.stdout, probe.stdout
    for poller, name in ((POLLER_A, cluster), (POLLER_B, SECOND)):
        for _ in range(7):
            run_as(poller, ["sb-poll", "--cluster", name, "--root", root, "--backfill-start",
                            "2019-02-01", *EARLIER], env=NOW, check=True)
    yield root
    subprocess.run(["pkill", "-u", MEMBER], capture_output=True)
    shutil.rmtree(root, ignore_errors=True)


def hold_lock(path):
    """The member holds a shared flock on `path` (in a session of its own, to be killed whole)."""
    holder = subprocess.Popen(["runuser", "-u", MEMBER, "--", "flock", "-s", path, "sleep",
                               "600"], start_new_session=True)
    time.sleep(1)
    return holder


def release(holder):
    os.killpg(holder.pid, 9)
    holder.wait()


def board(root, name):
    with open(os.path.join(root, "leaderboards", name + ".json"), "rb") as handle:
        return {row["user"]: row["value"] for row in orjson.loads(handle.read())["rows"]}


def test_two_poller_accounts_write_one_root_and_the_merged_boards_are_exact(
        shared_root, histories, cluster):
    assert stored(shared_root, cluster) == truth_of(histories[cluster])
    assert stored(shared_root, SECOND) == truth_of(histories[SECOND])
    both = truth_of(histories[cluster] + histories[SECOND])
    assert board(shared_root, "alltime_jobs") == {user: v[5] for user, v in both.items()}
    gid = int(subprocess.run(["getent", "group", GROUP], capture_output=True, text=True)
              .stdout.split(":")[2])
    for folder, _, files in os.walk(shared_root):
        info = os.lstat(folder)
        assert info.st_gid == gid and stat.S_IMODE(info.st_mode) == 0o2775, folder
        for name in files:
            info = os.lstat(os.path.join(folder, name))
            # the rebuild's kept summaries: no other writer may change them (sb-rank(1))
            kept = os.path.relpath(folder, shared_root).startswith(
                os.path.join("leaderboards", ".cache"))
            expected = 0o660 if name.endswith(".lock") else 0o644 if kept else 0o664
            assert info.st_gid == gid, (folder, name)
            assert stat.S_IMODE(info.st_mode) == expected, (folder, name, oct(info.st_mode))


def test_an_account_outside_the_group_reads_but_can_neither_write_nor_lock(shared_root, cluster):
    view = run_as(OUTSIDER, ["sb-view", "--root", shared_root, "--snapshot", "--width", "80"])
    assert view.returncode == 0 and "sbalice" in view.stdout, view.stderr
    rows = run_as(OUTSIDER, ["sb-rank", "--root", shared_root, "--window", "alltime",
                             "--metric", "jobs"])
    assert rows.returncode == 0, rows.stderr
    assert {json.loads(line)["user"]: json.loads(line)["value"]
            for line in rows.stdout.splitlines()} == board(shared_root, "alltime_jobs")
    write = run_as(OUTSIDER, ["sb-reduce", "--root", shared_root, "--cluster", cluster])
    assert write.returncode == 1 and "members of group sbwriters" in write.stderr
    poll = run_as(OUTSIDER, ["sb-poll", "--root", shared_root, "--cluster", cluster])
    assert poll.returncode == 1 and "members of group sbwriters" in poll.stderr
    lock = os.path.join(shared_root, "clusters", cluster, "state", "store.lock")
    held = run_as(OUTSIDER, ["flock", "-s", "-n", lock, "true"])
    assert held.returncode != 0 and "Permission denied" in held.stderr
    touched = run_as(OUTSIDER, ["touch", os.path.join(shared_root, "leaderboards", "x")])
    assert touched.returncode != 0


def test_an_opted_out_user_is_in_no_file_after_the_next_polls(shared_root, cluster):
    optout = os.path.join(shared_root, "config", "optout.txt")
    run_as(POLLER_A, ["sh", "-c", f"echo sbcarol >> {optout}"], check=True)
    for poller, name in ((POLLER_A, cluster), (POLLER_B, SECOND)):
        run_as(poller, ["sb-poll", "--cluster", name, "--root", shared_root], env=NOW,
               check=True)
    found = subprocess.run(["grep", "-rl", "sbcarol", shared_root], capture_output=True,
                           text=True).stdout.split()
    allowed = {optout, os.path.join(shared_root, "state", "optout_cache.json")}
    assert set(found) <= allowed, found
    assert "sbcarol" not in board(shared_root, "alltime_jobs")


def test_a_held_lock_and_a_journal_with_dotdot_paths_stop_no_one_for_long(
        shared_root, histories, cluster):
    state = os.path.join(shared_root, "clusters", cluster, "state")
    holder = hold_lock(os.path.join(state, "store.lock"))
    run_as(MEMBER, ["sh", "-c", "printf '%s' '{\"version\":1,\"files\":[[\"state/x\",\"../../../"
                    "../../etc/passwd\"]]}' > " + os.path.join(state, "journal.json")],
           check=True)
    start = time.monotonic()
    waited = run_as(POLLER_A, ["sb-reduce", "--root", shared_root, "--cluster", cluster],
                    env=dict(NOW, SLURM_SB_LOCK_WAIT="3"))
    assert time.monotonic() - start < 30
    assert waited.returncode == 3, waited.stderr
    assert "(user sbmallory)" in waited.stderr and "gave up after 3 s" in waited.stderr
    release(holder)
    refused = run_as(POLLER_A, ["sb-reduce", "--root", shared_root, "--cluster", cluster])
    assert refused.returncode == 1 and "journal" in refused.stderr
    assert "--repair" in refused.stderr
    run_as(POLLER_A, ["sb-reduce", "--root", shared_root, "--cluster", cluster, "--repair"],
           check=True)
    without = [job for job in histories[cluster] if job["user"] != "sbcarol"]
    assert stored(shared_root, cluster) == truth_of(without)


def home_snapshot(user):
    home = os.path.expanduser(f"~{user}")
    result = {}
    for folder, names, files in os.walk(home):
        for name in files + names:
            path = os.path.join(folder, name)
            info = os.lstat(path)
            digest = ""
            if stat.S_ISREG(info.st_mode):
                with open(path, "rb") as handle:
                    digest = hashlib.sha256(handle.read()).hexdigest()
            result[path] = (info.st_mode, info.st_uid, info.st_gid, info.st_size, digest)
    return result


def test_a_member_who_plants_symlinks_a_journal_and_a_held_lock_changes_nothing_outside(
        shared_root, cluster):
    home = os.path.expanduser(f"~{POLLER_A}")
    with open(os.path.join(home, ".bashrc"), "a") as handle:
        handle.write("# the poller's own\n")
    before = home_snapshot(POLLER_A)
    base = os.path.join(shared_root, "clusters", cluster)
    state = os.path.join(base, "state")
    # The member holds the store lock, then swaps every other file for a symlink into the
    # poller's home, a folder for a symlink to it, and plants a journal with ../ paths.
    holder = hold_lock(os.path.join(state, "store.lock"))
    trap = f"""
set -e
cd {base}
find . -type f ! -name store.lock | while read -r f; do
  rm -f "$f"; ln -s {home}/.bashrc "$f"
done
rm -rf agg/users && ln -s {home} agg/users
rm -f state/journal.json
printf '%s' '{{"version":1,"files":[["state/payload","../../../../../{home}/.bashrc"]]}}' \\
  > state/journal.json
"""
    run_as(MEMBER, ["bash", "-c", trap], check=True)
    start = time.monotonic()
    poll = run_as(POLLER_A, ["sb-poll", "--cluster", cluster, "--root", shared_root],
                  env=dict(NOW, SLURM_SB_LOCK_WAIT="5"), timeout=120)
    reduce = run_as(POLLER_A, ["sb-reduce", "--root", shared_root, "--cluster", cluster],
                    env=dict(NOW, SLURM_SB_LOCK_WAIT="5"), timeout=120)
    repair = run_as(POLLER_A, ["sb-reduce", "--root", shared_root, "--cluster", cluster,
                               "--repair"], env=dict(NOW, SLURM_SB_LOCK_WAIT="5"), timeout=120)
    elapsed = time.monotonic() - start
    release(holder)
    assert home_snapshot(POLLER_A) == before
    assert poll.returncode == 1, poll.stderr
    assert "regular file" in poll.stderr or "refusing" in poll.stderr, poll.stderr
    for done in (reduce, repair):
        assert done.returncode in (1, 3), done.stderr
        assert "refusing" in done.stderr or "held" in done.stderr, done.stderr
    assert elapsed < 90
    assert "Traceback" not in poll.stderr + reduce.stderr
    # The other cluster's boards were still rebuilt by that poll.
    rebuilt = run_as(POLLER_B, ["sb-rank", "--root", shared_root], env=NOW)
    assert rebuilt.returncode == 4 and f"cluster {cluster} is left out" in rebuilt.stderr
