"""Who may write a root: single-owner and group mode, their modes, the writer check's message."""
import grp
import os

import pytest

from slurm_scoreboard.core import sharing
from slurm_scoreboard.core.sharing import Sharing
from slurm_scoreboard.errors import SharingError


def write_config(root, text):
    (root / "config").mkdir(exist_ok=True)
    (root / "config" / "sharing.json").write_text(text)


def test_no_config_is_single_owner_mode_readable_by_all(tmp_path):
    mode = sharing.load(str(tmp_path))
    assert mode == Sharing() and mode.modes().file == 0o644 and mode.modes().lock == 0o600
    assert mode.modes().folder == 0o755 and mode.modes().group is None


def test_group_mode_and_group_readers(tmp_path):
    group = grp.getgrgid(os.getgid()).gr_name
    write_config(tmp_path, f'{{"mode": "group", "group": "{group}"}}')
    modes = sharing.load(str(tmp_path)).modes()
    assert (modes.file, modes.folder, modes.lock, modes.group) == \
        (0o664, 0o2775, 0o660, os.getgid())
    write_config(tmp_path, f'{{"mode": "group", "group": "{group}", "readers": "group"}}')
    modes = sharing.load(str(tmp_path)).modes()
    assert (modes.file, modes.folder) == (0o660, 0o2770)


@pytest.mark.parametrize("text", ["{", "[]", '{"mode": "everyone"}', '{"mode": "group"}',
                                  '{"mode": "group", "group": "no-such-group-sb"}',
                                  '{"mode": "owner", "readers": "world"}'])
def test_a_bad_config_is_an_error_naming_the_file(tmp_path, text):
    write_config(tmp_path, text)
    with pytest.raises(SharingError, match="sharing.json"):
        sharing.load(str(tmp_path))


def test_another_account_gets_one_line_naming_the_owner_and_the_way_to_share(tmp_path,
                                                                           monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 54321)
    with pytest.raises(SharingError) as info:
        sharing.check_writer(str(tmp_path), Sharing())
    message = str(info.value)
    assert "written only by its owner" in message and "single-owner mode" in message
    assert f"sb-probe --root {tmp_path} --group GROUP" in message


def test_in_group_mode_members_write_and_others_are_told_why_not(tmp_path, monkeypatch):
    mode = Sharing("group", "sbwriters", 4242)
    monkeypatch.setattr(os, "geteuid", lambda: 54321)
    monkeypatch.setattr(os, "getegid", lambda: 1)
    monkeypatch.setattr(os, "getgroups", lambda: [1, 4242])
    sharing.check_writer(str(tmp_path), mode)
    monkeypatch.setattr(os, "getgroups", lambda: [1])
    with pytest.raises(SharingError, match="members of group sbwriters"):
        sharing.check_writer(str(tmp_path), mode)
