"""Opt-out: the list, the home markers (looked at by a child process with a timeout, at most
once a day per user and cluster), and the cache readers use without touching any home."""
import os
import time

import orjson
import pytest

from slurm_scoreboard import optout
from slurm_scoreboard.optout import HomeLooker, OptOut

NSS_WRAPPER = "/usr/lib/x86_64-linux-gnu/libnss_wrapper.so"


class CountingLooker:
    """A stand-in child: answers from a dict and counts the looks."""

    def __init__(self, markers):
        self.markers = markers
        self.looks = []
        self.broken = False

    def look(self, user):
        self.looks.append(user)
        return self.markers.get(user, False)

    def close(self):
        pass


def root_with_list(tmp_path, text="alice  # asked on 2025-08-01\n\n# bob\n"):
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "optout.txt").write_text(text)
    return str(tmp_path)


def test_the_list_with_comments(tmp_path):
    out = OptOut(root_with_list(tmp_path))
    assert "alice" in out and "bob" not in out and "nobody" not in out


def test_a_poller_looks_once_a_day_and_readers_never_look(tmp_path):
    root = root_with_list(tmp_path, "")
    clock = [1_000_000.0]
    looker = CountingLooker({"carol": True})
    out = OptOut(root, "hammer", check_homes=True, clock=lambda: clock[0], looker=looker)
    assert "carol" in out and "dave" not in out and "dave" not in out
    assert looker.looks == ["carol", "dave"]
    out.save()
    clock[0] += optout.MAX_AGE - 1
    again = CountingLooker({})
    later = OptOut(root, "hammer", check_homes=True, clock=lambda: clock[0], looker=again)
    assert "carol" in later and again.looks == []          # cached: no look within a day
    clock[0] += 2
    assert "carol" not in later and again.looks == ["carol"]   # a day old: looked again
    reader_looker = CountingLooker({"dave": True})
    reader = OptOut(root, looker=reader_looker)
    assert "carol" in reader and "dave" not in reader and reader_looker.looks == []


def test_a_marker_seen_by_any_cluster_counts_and_save_merges_clusters(tmp_path):
    root = root_with_list(tmp_path, "")
    hammer = OptOut(root, "hammer", check_homes=True, looker=CountingLooker({"erin": True}))
    anvil = OptOut(root, "anvil", check_homes=True, looker=CountingLooker({"frank": True}))
    assert "erin" in hammer and "frank" in anvil and "frank" not in hammer
    hammer.save()
    anvil.save()
    cache = orjson.loads(open(optout.cache_file(root), "rb").read())["checked"]
    assert set(cache) == {"erin", "frank"} and set(cache["erin"]) == {"hammer"}
    reader = OptOut(root)
    assert "erin" in reader and "frank" in reader


def test_refresh_looks_at_stale_stored_users_within_the_budget(tmp_path):
    root = root_with_list(tmp_path, "gus\n")
    looker = CountingLooker({"hal": True})
    out = OptOut(root, "hammer", check_homes=True, looker=looker)
    out.refresh(["gus", "hal", "ivy"])
    assert looker.looks == ["hal", "ivy"]                    # the listed one needs no look
    assert out.among(["gus", "hal", "ivy", "jo"]) == ["gus", "hal"]
    slow = CountingLooker({})
    OptOut(root, "anvil", check_homes=True, looker=slow).refresh(["a", "b"], budget=0)
    assert slow.looks == []


def test_a_hung_home_ends_the_looking_without_hanging_the_run(tmp_path):
    looker = HomeLooker(timeout=0.3, command=["sleep", "30"])
    out = OptOut(root_with_list(tmp_path, ""), "hammer", check_homes=True, looker=looker)
    start = time.monotonic()
    assert "kim" not in out and "lou" not in out
    assert time.monotonic() - start < 2 and looker.broken
    assert out.checked == {}                                 # nothing cached from a failed look


@pytest.mark.skipif(not os.path.exists(NSS_WRAPPER), reason="needs libnss-wrapper")
def test_the_real_looker_finds_markers_through_passwd(tmp_path):
    """The child's own getpwnam and lexists, with passwd served by nss_wrapper: a temporary
    home with the marker, one without, a file named like it but not it, a user with no entry."""
    homes = {name: tmp_path / "home" / name for name in ("carol", "dave", "erin")}
    for home in homes.values():
        home.mkdir(parents=True)
    (homes["carol"] / optout.HOME_MARKER).write_text("")
    (homes["erin"] / "slurm_scoreboard_optout").write_text("")
    passwd = tmp_path / "passwd"
    passwd.write_text("".join(f"{name}:x:{3000 + i}:3000::{home}:/bin/sh\n"
                              for i, (name, home) in enumerate(homes.items())))
    (tmp_path / "group").write_text("users:x:3000:\n")
    env = dict(os.environ, LD_PRELOAD=NSS_WRAPPER, NSS_WRAPPER_PASSWD=str(passwd),
               NSS_WRAPPER_GROUP=str(tmp_path / "group"))
    looker = HomeLooker(env=env)
    assert [looker.look(name) for name in ("carol", "dave", "erin", "nobody")] == \
        [True, False, False, False]
    looker.close()
