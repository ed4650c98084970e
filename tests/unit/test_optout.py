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


def test_home_marker_found_through_the_real_passwd_lookup(tmp_path, monkeypatch):
    """home_of itself runs (only pwd's database is swapped): a marker in the home from passwd
    opts the user out; a home without one, or a user passwd does not know, does not."""
    import pwd
    homes = {"carol": tmp_path / "home" / "carol", "dave": tmp_path / "home" / "dave"}
    for home in homes.values():
        home.mkdir(parents=True)
    (homes["carol"] / ".slurm_scoreboard_optout").write_text("")
    (homes["dave"] / "slurm_scoreboard_optout").write_text("")        # not the marker's name

    def getpwnam(name):
        if name not in homes:
            raise KeyError(name)
        return pwd.struct_passwd((name, "x", 1000, 1000, "", str(homes[name]), "/bin/sh"))

    monkeypatch.setattr(pwd, "getpwnam", getpwnam)
    assert optout.home_of("carol") == str(homes["carol"])
    assert optout.home_of("nobody-here") is None
    out = optout.OptOut(str(tmp_path))
    assert "carol" in out
    assert "dave" not in out and "nobody-here" not in out
