import os

from slurm_scoreboard.poll import probe


def test_root_is_created_with_its_top_folders(tmp_path):
    result = probe.check_root(str(tmp_path / "sb"))
    assert result.writable and result.exists
    assert sorted(result.created) == ["clusters", "config", "config/optout.txt", "leaderboards"]
    assert (tmp_path / "sb" / "config" / "optout.txt").read_text().startswith("# Users who")
    assert probe.check_root(str(tmp_path / "sb")).created == []


def test_root_under_a_file_is_not_writable(tmp_path):
    (tmp_path / "file").write_text("x")
    result = probe.check_root(str(tmp_path / "file" / "sb"))
    assert not result.writable and result.error


def test_slurm_config_lines():
    text = ("Configuration data as of 2025-01-01T00:00:00\n"
            "AccountingStorageTRES   = cpu,mem,gres/gpu\nPrivateData             = jobs,usage\n")
    config = probe.slurm_config(text)
    assert config["PrivateData"] == "jobs,usage"
    assert config["AccountingStorageTRES"] == "cpu,mem,gres/gpu"


def test_visibility_verdicts():
    assert probe.visibility_finding({"me", "you"}, "me", {}).verdict == "OK"
    assert probe.visibility_finding({"me"}, "me", {"PrivateData": "jobs"}).verdict == "FAIL"
    assert probe.visibility_finding({"me"}, "me", {"PrivateData": "none"}).verdict == "WARN"
    assert probe.visibility_finding(None, "me", {}).verdict == "FAIL"


def test_gpu_verdicts():
    assert probe.gpu_finding({"AccountingStorageTRES": "cpu,gres/gpu"}).verdict == "OK"
    assert probe.gpu_finding({"AccountingStorageTRES": "cpu,mem"}).verdict == "WARN"
    assert probe.gpu_finding({}).verdict == "WARN"


def test_a_folder_readers_may_list_but_not_enter_fails_the_opt_out_check(tmp_path):
    """Readers need r and x on a folder to reach the opt-out files in it: 0744 lets them list
    config/ but not open config/optout.txt."""
    from slurm_scoreboard.core.sharing import Sharing
    root = str(tmp_path / "sb")
    probe.check_root(root)
    os.makedirs(os.path.join(root, "state"))
    for name in ("", "config", "state"):
        os.chmod(os.path.join(root, name), 0o755)
    os.chmod(os.path.join(root, "config", "optout.txt"), 0o644)
    assert probe.optout_finding(root, Sharing()).verdict == "OK"
    os.chmod(os.path.join(root, "config"), 0o744)
    finding = probe.optout_finding(root, Sharing())
    assert finding.verdict == "FAIL" and "run chmod 755 " in finding.detail


def test_the_files_a_sharing_change_could_not_reach_are_listed_twenty_at_most(tmp_path,
                                                                             monkeypatch):
    from slurm_scoreboard.core import sharing
    root = str(tmp_path / "sb")
    probe.check_root(root)
    for count, more in ((20, None), (21, "  ... and 1 more")):
        found = [f"{root}/f{n}: owned by another account" for n in range(count)]
        monkeypatch.setattr(sharing, "apply", lambda root, wanted, found=found: found)
        _mode, notes = probe.configure_sharing(root, None, True, "group")
        listed = [note for note in notes if note.startswith("  Could not change: ")]
        assert len(listed) == 20
        assert [note for note in notes if note.startswith("  ...")] == ([more] if more else [])
