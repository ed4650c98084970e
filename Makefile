# SlurmScoreboard. `make test` and `make demo` work from a fresh checkout.
PYTHON ?= python3
VENV ?= .venv
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
LIBDIR ?= $(PREFIX)/lib/slurm-scoreboard
TEST_CLUSTER ?= sbtest

MANPAGES := $(wildcard man/man1/*.1)
PIPELINES := $(wildcard pipelines/sb-*)

.PHONY: all venv install uninstall test unit bats bench demo clean

all: venv

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -qq --upgrade pip
	$(VENV)/bin/pip install -qq -e '.[test]'
	touch $@

# make install puts SlurmScoreboard's code and its dependencies (orjson, mmh3) in a folder of its
# own, $(LIBDIR)/python (pip --target, nothing in the system's site-packages), and in $(BINDIR)
# one small launcher per tool that runs that code with $(PYTHON) in isolated mode (-I: no
# PYTHONPATH, no user site), beside the pipelines; man pages and bash completion go where man
# and bash-completion look. Launchers name the final paths, so DESTDIR only stages the files.
# PIP_OPTIONS passes options to pip (an offline mirror: --no-index --find-links DIR).
PYTHON_PATH = $(shell command -v $(PYTHON))
TOOLS := $(shell sed -n 's/^\(sb-[a-z-]*\) = "slurm_scoreboard_tools\.\([a-z_]*\):main"/\1:\2/p' pyproject.toml)
COMPDIR ?= $(PREFIX)/share/bash-completion/completions
PIP_OPTIONS ?=

install:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 9))' || \
	  { echo "make install: $(PYTHON) is not Python 3.9 or later" >&2; exit 1; }
	rm -rf "$(DESTDIR)$(LIBDIR)/python"
	$(PYTHON) -m pip install -qq --no-compile --no-warn-script-location \
	  --target "$(DESTDIR)$(LIBDIR)/python" $(PIP_OPTIONS) .
	rm -rf "$(DESTDIR)$(LIBDIR)/python/bin"
	install -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(MANDIR)/man1" "$(DESTDIR)$(COMPDIR)"
	@for entry in $(TOOLS); do \
	  name=$${entry%%:*}; module=$${entry##*:}; \
	  { printf '#!/bin/sh\n# %s, written by make install: the code and its dependencies are in %s.\n' \
	      "$$name" "$(LIBDIR)/python"; \
	    printf 'exec %s -I -c "import sys; sys.path.insert(0, %s); from slurm_scoreboard_tools.%s import main; sys.exit(main())" "$$@"\n' \
	      "$(PYTHON_PATH)" "'$(LIBDIR)/python'" "$$module"; \
	  } > "$(DESTDIR)$(BINDIR)/$$name"; \
	  chmod 755 "$(DESTDIR)$(BINDIR)/$$name"; \
	done
	install -m 755 $(PIPELINES) "$(DESTDIR)$(BINDIR)/"
	install -m 644 pipelines/lib/common.sh "$(DESTDIR)$(LIBDIR)/"
	install -m 644 $(MANPAGES) "$(DESTDIR)$(MANDIR)/man1/"
	install -m 644 completions/slurm-scoreboard.bash "$(DESTDIR)$(COMPDIR)/slurm-scoreboard"
	@for entry in $(TOOLS) $(notdir $(PIPELINES)); do \
	  ln -sf slurm-scoreboard "$(DESTDIR)$(COMPDIR)/$${entry%%:*}"; \
	done

uninstall:
	rm -f $(foreach t,$(TOOLS),"$(DESTDIR)$(BINDIR)/$(firstword $(subst :, ,$(t)))")
	rm -f $(addprefix "$(DESTDIR)$(MANDIR)/man1/,$(addsuffix ",$(notdir $(MANPAGES))))
	rm -f $(addprefix "$(DESTDIR)$(BINDIR)/,$(addsuffix ",$(notdir $(PIPELINES))))
	rm -f "$(DESTDIR)$(COMPDIR)/slurm-scoreboard" \
	  $(foreach t,$(TOOLS) $(notdir $(PIPELINES)),"$(DESTDIR)$(COMPDIR)/$(firstword $(subst :, ,$(t)))")
	rm -rf "$(DESTDIR)$(LIBDIR)"

# Unit, command-line (bats) and, as root, real-SLURM integration tests.
test: venv
	VENV="$(VENV)" TEST_CLUSTER="$(TEST_CLUSTER)" tests/run.sh

unit: venv
	$(VENV)/bin/python -m pytest -q tests/unit

bats: venv
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/bats tests/bats

bench: venv
	$(VENV)/bin/python bench/parse_throughput.py
	$(VENV)/bin/python bench/store_pipeline.py
	$(VENV)/bin/python bench/rank_rebuild.py
	$(VENV)/bin/python bench/poll_cost.py

# The real pipeline over the bundled sample history (no SLURM needed), then the hiscores.
demo: venv
	@PATH="$(CURDIR)/$(VENV)/bin:$$PATH" demo/run.sh

clean:
	rm -rf $(VENV) build *.egg-info lib/*.egg-info .pytest_cache bench/out .demo
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
