
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
