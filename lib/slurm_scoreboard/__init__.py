"""SlurmScoreboard: Old School RuneScape-style high scores for SLURM clusters."""

__version__ = "0.3.0"
