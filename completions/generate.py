"""Write bash completion for every sb-* tool and pipeline, from their own --help.

    python3 completions/generate.py > completions/slurm-scoreboard.bash

tests/unit/test_completion.py checks the committed file is what this writes, so it cannot fall
behind an option; make install puts it where bash-completion looks.
"""
import argparse
import importlib
import os
import re
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(TOP, "lib"), TOP]

from slurm_scoreboard.core import windows

from slurm_scoreboard.rank import tables# noqa: E402
from slurm_scoreboard.ingest.fields import PRESETS  # noqa: E402
from slurm_scoreboard_tools.sb_export import FORMATS as EXPORT_FORMATS  # noqa: E402
from slurm_scoreboard import boardfiles

# Values an option takes, for the options whose values are a known list.
VALUES = {
    "--window|-w": " ".join(windows.NAMES), "--metric|-m": " ".join(boardfiles.BOARDS),
    "--color": "auto always never",
    "--backend": "curses ansi textual", "--readers": "all group",
}
FORMATS = {"sb-rank": " ".join(tables.FORMATS), "sb-parse": " ".join(PRESETS),
           "sb-export": " ".join(EXPORT_FORMATS)}
CHUNKS = "day week month"        # the pipelines' --chunk; sb-sacct also takes none


def tools():
    text = open(os.path.join(TOP, "pyproject.toml")).read()
    block = text.split("[project.scripts]", 1)[1].split("\n[", 1)[0]
    return dict(re.findall(r'^(sb-[a-z-]+) = "([\w.]+):main"', block, re.M))


def tool_options(module):
    """Every option string of a tool's own argparse parser."""
    tool = importlib.import_module(module)
    found = {option for action in tool.build_parser()._actions
             if action.help != argparse.SUPPRESS for option in action.option_strings}
    return sorted(found, key=lambda o: (o.startswith("--"), o))


def pipeline_options(name):
    """The options a pipeline's Usage lines (its header comment) name, --help and --version."""
    usage, lines = [], open(os.path.join(TOP, "pipelines", name)).read().splitlines()
    for line in lines:
        if line.startswith("# Usage:") or (usage and line.startswith("#   ")):
            usage.append(line)
        elif usage:
            break
    found = set(re.findall(r"(?<![\w-])(--?[a-zA-Z][a-zA-Z-]*)", " ".join(usage)))
    return sorted(found | {"--help", "--version"}, key=lambda o: (o.startswith("--"), o))


def main():
    commands = {name: module for name, module in tools().items()}
    commands.update({name: None for name in sorted(os.listdir(os.path.join(TOP, "pipelines")))
                     if name.startswith("sb-")})
    lines = ["# bash completion for SlurmScoreboard's sb-* tools and pipelines.",
             "# Written by completions/generate.py from each command's --help: do not edit.",
             "", "_sb_options() {", '  case "$1" in']
    for name in sorted(commands):
        found = tool_options(commands[name]) if commands[name] else pipeline_options(name)
        lines.append(f"    {name}) echo \"{' '.join(found)}\" ;;")
    lines += ["  esac", "}", "", "_sb_complete() {",
              '  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"',
              '  local command="${COMP_WORDS[0]##*/}"', '  case "$prev" in',
              '    --root|--output) COMPREPLY=($(compgen -d -- "$cur")); return ;;',
              '    --cluster|-M) COMPREPLY=($(compgen -W "$(ls "${SLURM_SB_ROOT:-.}/clusters" '
              '2>/dev/null)" -- "$cur")); return ;;']
    for option, values in sorted(VALUES.items()):
        lines.append(f'    {option}) COMPREPLY=($(compgen -W "{values}" -- "$cur")); return ;;')
    lines.append('    --chunk) case "$command" in')
    lines.append(f'      sb-sacct) COMPREPLY=($(compgen -W "none {CHUNKS}" -- "$cur")); return ;;')
    lines.append(f'      *) COMPREPLY=($(compgen -W "{CHUNKS}" -- "$cur")); return ;;')
    lines.append("    esac ;;")
    lines.append('    --format|-f) case "$command" in')
    for name, values in sorted(FORMATS.items()):
        lines.append(f'      {name}) COMPREPLY=($(compgen -W "{values}" -- "$cur")); return ;;')
    lines += ["    esac ;;", "  esac",
              '  COMPREPLY=($(compgen -W "$(_sb_options "$command")" -- "$cur"))', "}",
              f"complete -F _sb_complete {' '.join(sorted(commands))}", ""]
    sys.stdout.write("\n".join(lines))


if __name__ == "__main__":
    main()
