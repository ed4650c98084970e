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
