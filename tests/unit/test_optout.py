from slurm_scoreboard import optout


def test_listed_and_home_marker(tmp_path, monkeypatch):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "optout.txt").write_text("alice  # asked on 2025-08-01\n\n# bob\n")
    homes = {"carol": tmp_path / "carol", "dave": tmp_path / "dave"}
    for home in homes.values():
        home.mkdir()
    (homes["carol"] / optout.HOME_MARKER).write_text("")
    monkeypatch.setattr(optout, "home_of", lambda user: str(homes[user]) if user in homes else None)
    out = optout.OptOut(str(tmp_path))
    assert "alice" in out and "carol" in out
    assert "bob" not in out and "dave" not in out and "nobody" not in out
