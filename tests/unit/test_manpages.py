"""Every console script has a man page with the house sections, and the page names every option
its --help lists."""
import os
import re
import subprocess
import sys

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECTIONS = ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "FILES", "EXIT STATUS", "EXAMPLES",
            "SEE ALSO")


def console_scripts():
    text = open(os.path.join(TOP, "pyproject.toml")).read()
    block = text.split("[project.scripts]", 1)[1].split("\n[", 1)[0]
    return dict(re.findall(r'^(sb-[a-z-]+) = "([\w.]+):main"', block, re.M))


def pipelines():
    folder = os.path.join(TOP, "pipelines")
    return sorted(name for name in os.listdir(folder) if name.startswith("sb-"))


def page(name):
    with open(os.path.join(TOP, "man", "man1", name + ".1")) as handle:
        return handle.read().replace("\\-", "-")


@pytest.mark.parametrize("name", sorted(console_scripts()))
def test_page_exists_with_every_section(name):
    text = page(name)
    for section in SECTIONS:
        assert f'.SH {section}' in text or f'.SH "{section}"' in text, section


@pytest.mark.parametrize("name,module", sorted(console_scripts().items()))
def test_page_names_every_option_of_help(name, module):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    help_text = subprocess.run([sys.executable, "-m", module, "--help"], env=env,
                               capture_output=True, text=True, check=True).stdout
    options = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", help_text))
    text = page(name)
    missing = sorted(option for option in options if option not in text)
    assert missing == []


@pytest.mark.parametrize("name", pipelines())
def test_pipeline_page_exists_and_names_every_option(name):
    text = page(name)
    for section in SECTIONS:
        assert f".SH {section}" in text, section
    help_text = subprocess.run([os.path.join(TOP, "pipelines", name), "--help"],
                               capture_output=True, text=True, check=True).stdout
    options = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", help_text))
    assert sorted(option for option in options if option not in text) == []


CRON_LINE = re.compile(r"^\s*([0-9*/,-]+\s+){5}\S")
COMMAND = re.compile(r"(?<![\w/.-])(sb-[a-z]+(?:-[a-z]+)*)(?=\s|$)")


def cron_lines():
    """Every crontab line of the man pages and the README: (where, line)."""
    texts = [(name, page(name)) for name in sorted(console_scripts()) + pipelines()]
    texts.append(("README.md", open(os.path.join(TOP, "README.md")).read()))
    return [(where, line) for where, text in texts for line in text.splitlines()
            if CRON_LINE.match(line)]


def test_cron_examples_run_the_tools_by_absolute_path():
    """cron's PATH is /usr/bin:/bin: a crontab line copied from the docs must name each tool by
    its absolute path, or it fails every time with "command not found"."""
    lines = cron_lines()
    assert any(where == "sb-poll" for where, _ in lines)
    bare = [(where, COMMAND.findall(line)) for where, line in lines if COMMAND.search(line)]
    assert bare == []
