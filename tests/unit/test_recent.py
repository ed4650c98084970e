from slurm_scoreboard.store.recent import RecentKeys


def test_a_key_seen_lately_is_refused_and_the_oldest_are_forgotten():
    recent = RecentKeys(3)
    assert [recent.add(k) for k in "abca"] == [True, True, True, False]
    assert recent.add("d") is True                  # forgets "a"
    assert recent.add("a") is True and recent.add("c") is False
    assert len(recent.keys) == len(recent.order) == 3


def test_memory_stays_bounded_however_long_the_input():
    recent = RecentKeys(1000)
    for number in range(100_000):
        assert recent.add(("hammer", number))
    assert len(recent.keys) == 1000 and len(recent.order) == 1000
