# SlurmScoreboard for Spack: spack repo add packaging/spack && spack install slurm-scoreboard
import os

from spack.package import *


class SlurmScoreboard(PythonPackage):
    """Old School RuneScape-style high scores for SLURM clusters (CPU-core, GPU and wall hours,
    jobs... per cluster and over rolling windows), built unprivileged from sacct accounting data:
    a Unix pipeline of small tools, their pipelines (sb-poll, sb-daemon), man pages, a terminal
    viewer, OpenMetrics and a static web site."""

    homepage = "https://pypi.org/project/slurm-scoreboard/"
    pypi = "slurm-scoreboard/slurm_scoreboard-0.3.0.tar.gz"

    license("MIT")

    # the release's sdist checksum goes here (spack checksum slurm-scoreboard 0.3.0); until then
    # spack install --no-checksum, or a mirror with `make dist`'s sdist
    version("0.3.0")

    depends_on("python@3.9:", type=("build", "run"))
    depends_on("py-setuptools@77:", type="build")
    depends_on("py-orjson@3.6:", type=("build", "run"))
    depends_on("py-mmh3@3.0:", type=("build", "run"))
    # the pipelines: bash, flock (util-linux) and timeout (coreutils)
    depends_on("bash", type="run")
    depends_on("util-linux", type="run")
    depends_on("coreutils", type="run")

    commands = ["sb-sacct", "sb-parse", "sb-dedupe", "sb-reduce", "sb-rank", "sb-view",
                "sb-news", "sb-export", "sb-probe", "sb-backfill", "sb-incremental",
                "sb-discover", "sb-rebuild", "sb-poll", "sb-daemon", "sb-news-post"]

    @run_after("install")
    def link_completion(self):
        """bash-completion loads a command's completion from a file of its name."""
        folder = os.path.join(self.prefix.share, "bash-completion", "completions")
        for command in self.commands:
            link = os.path.join(folder, command)
            if not os.path.lexists(link):
                os.symlink("slurm-scoreboard.bash", link)

    def setup_run_environment(self, env):
        # bash-completion looks in $XDG_DATA_DIRS/bash-completion/completions
        env.prepend_path("XDG_DATA_DIRS", self.prefix.share)
