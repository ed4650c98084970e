import json

import pytest

from slurm_scoreboard.errors import RateLimited
from slurm_scoreboard.ingest.ratelimit import RateLimiter


class Clock:
    def __init__(self, start=1000.0):
        self.now = start
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def limiter(tmp_path, clock, per=2):
    return RateLimiter(str(tmp_path / "rate.json"), per, clock=clock, sleep=clock.sleep)


def test_allows_n_calls_a_minute_then_refuses(tmp_path):
    clock = Clock()
    rl = limiter(tmp_path, clock)
    rl.try_acquire()
    clock.now += 10
    rl.try_acquire()
    with pytest.raises(RateLimited) as info:
        rl.try_acquire()
    assert info.value.wait == pytest.approx(50)
    clock.now += 50.01
    rl.try_acquire()


def test_waiting_caller_sleeps_until_the_window_frees(tmp_path):
    clock = Clock()
    rl = limiter(tmp_path, clock, per=1)
    rl.acquire()
    rl.acquire()
    assert clock.slept and clock.slept[0] == pytest.approx(60.05)


def test_state_is_shared_between_limiters_on_the_same_file(tmp_path):
    clock = Clock()
    limiter(tmp_path, clock, per=2).try_acquire()
    limiter(tmp_path, clock, per=2).try_acquire()
    with pytest.raises(RateLimited):
        limiter(tmp_path, clock, per=2).acquire(wait=False)
    assert len(json.loads((tmp_path / "rate.json").read_text())["calls"]) == 2


def test_garbage_and_future_calls_in_the_state_file_are_dropped_not_trusted(tmp_path):
    # A stored call far in the future would block sacct forever if it were believed.
    (tmp_path / "rate.json").write_text('{"calls": ["x", null, 1e30, 1001.0, -5]}')
    clock = Clock()
    limiter(tmp_path, clock, per=1).try_acquire()
    assert json.loads((tmp_path / "rate.json").read_text())["calls"] == [1000.0]


def test_zero_limit_is_refused(tmp_path):
    with pytest.raises(ValueError):
        RateLimiter(str(tmp_path / "r.json"), 0)


@pytest.mark.parametrize("content", ["", "{not json", "[1, 2]", '{"calls": "many"}', "\x00\xff"])
def test_an_empty_or_damaged_state_file_counts_as_no_calls_and_is_rewritten(tmp_path, content):
    (tmp_path / "rate.json").write_text(content)
    clock = Clock()
    limiter(tmp_path, clock, per=1).try_acquire()
    assert json.loads((tmp_path / "rate.json").read_text())["calls"] == [1000.0]
