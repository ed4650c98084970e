"""sb-probe --install-info: the commands it prints can be pasted into a shell whatever the paths
hold (spaces, $(...), quotes): each path comes back as one word, and nothing runs."""
import shlex

from slurm_scoreboard.poll import installinfo

HOSTILE = "/opt/my sb/$(touch /tmp/pwned)/it's"


def test_pasted_commands_give_back_each_path_as_one_word():
    places = {"version": "0.3.0", "how": "a test", "man_pages": HOSTILE + "/man",
              "bash_completion": HOSTILE + "/slurm-scoreboard.bash",
              "systemd_units": HOSTILE + "/systemd", "tools": "/usr/bin"}
    lines = installinfo.render(places)
    man = next(line for line in lines if line.startswith("man pages: export MANPATH="))
    words = shlex.split(man.split("export ", 1)[1])
    assert words == [f"MANPATH={HOSTILE}/man:$MANPATH"]
    completion = next(line for line in lines if line.startswith("bash completion: . "))
    assert shlex.split(completion.split(". ", 1)[1].split("   (")[0]) == [
        HOSTILE + "/slurm-scoreboard.bash"]
    units = next(line for line in lines if line.startswith("systemd timers: "))
    assert shlex.split(units.split(": ", 1)[1]) == [HOSTILE + "/systemd/install-units", "--help"]
