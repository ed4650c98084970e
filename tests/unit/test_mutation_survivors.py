"""Behaviour a mutation round showed untested: each test here fails with the mutation named in
its docstring applied (checked one by one)."""
from slurm_scoreboard.core.optout import OptOut
from slurm_scoreboard.history import checkpoint, history


def test_the_checkpoint_month_of_a_january_day_is_the_december_before():
    """Mutation: (year, 12) for January kept the year."""
    assert checkpoint.target_month("2026-01-01") == "2025-12"
    assert checkpoint.target_month("2026-01-31") == "2025-12"
    assert checkpoint.target_month("2026-03-15") == "2026-02"


def test_a_week_is_labelled_with_its_iso_year_across_new_year():
    """Mutation: the day's calendar year instead of the ISO week's year."""
    assert history.week_label("2024-12-30") == "2025-W01"     # a Monday of 2025's week 1
    assert history.week_label("2021-01-03") == "2020-W53"     # a Sunday of 2020's week 53
    assert history.week_label("2025-07-31") == "2025-W31"


def test_a_marker_seen_on_one_cluster_opts_the_user_out_everywhere(tmp_path):
    """Mutation: all() for any() over a user's answers (one cluster's poller saw the marker,
    another's could not)."""
    optout = OptOut(str(tmp_path))
    optout.checked = {"ann": {"hammer": [1, False], "anvil": [2, True]},
                      "bob": {"hammer": [1, False]}}
    assert optout.everyone() == {"ann"}


def test_a_reader_leaves_out_a_user_whose_marker_one_cluster_saw(tmp_path):
    """Mutation: all() for any() in opted_out() (what every reader of the boards applies)."""
    import os

    import orjson

    from slurm_scoreboard.core import layout, optout
    path = layout.path(str(tmp_path), "optout_cache")
    os.makedirs(os.path.dirname(path))
    with open(path, "wb") as handle:
        handle.write(orjson.dumps({"version": 1, "checked": {
            "ann": {"hammer": [1, False], "anvil": [2, True]}, "bob": {"hammer": [1, False]}}}))
    assert optout.opted_out(str(tmp_path)) == {"ann"}
