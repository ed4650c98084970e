# SlurmScoreboard. `make test` and `make demo` work from a fresh checkout.
PYTHON ?= python3
VENV ?= .venv
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
LIBDIR ?= $(PREFIX)/lib/slurm-scoreboard
DATADIR ?= $(PREFIX)/share/slurm-scoreboard
TEST_CLUSTER ?= sbtest

MANPAGES := $(wildcard man/man1/*.1)
PIPELINES := $(wildcard pipelines/sb-*)

.PHONY: all venv install uninstall dist test test-packaging unit bats lint bench bench-smoke demo clean

all: venv

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -qq --upgrade pip
	$(VENV)/bin/pip install -qq -e '.[test,lint]'
	@# the editable install copies the pipelines into the venv: link the checkout's instead, so
	@# an edit is live and they find their library (pipelines/lib) beside them
	for pipeline in $(PIPELINES); do ln -sfn "$(CURDIR)/$$pipeline" "$(VENV)/bin/"; done
	touch $@

# make install / uninstall: packaging/install.sh (its header says what goes where). The paths
# reach it through the environment, never pasted into a command. PIP_OPTIONS passes options to
# pip (an offline mirror: --no-index --find-links DIR).
COMPDIR ?= $(PREFIX)/share/bash-completion/completions
PIP_OPTIONS ?=
INSTALL_VARIABLES := PREFIX BINDIR MANDIR LIBDIR COMPDIR DATADIR DESTDIR PYTHON PIP_OPTIONS
$(foreach v,$(INSTALL_VARIABLES),$(eval install uninstall: export $(v) := $$($(v))))

install:
	packaging/install.sh install

uninstall:
	packaging/install.sh uninstall

# Unit, command-line (bats) and, as root, real-SLURM integration tests.
test: venv
	VENV="$(VENV)" TEST_CLUSTER="$(TEST_CLUSTER)" tests/run.sh

# EasyBuild for real: EasyBuild from the package index in a throwaway venv installs
# packaging/easybuild's easyconfig into a temporary prefix with Lmod, then a clean login shell
# loads the module and runs the tools (needs lmod, python3-pip, python3-venv; CI runs it).
test-packaging: venv
	$(VENV)/bin/python -m pytest -q -rs tests/packaging

# The sdist and the wheel (what EasyBuild, Spack and pip install), in dist/.
dist: venv
	$(VENV)/bin/python -m build --outdir dist .
	$(VENV)/bin/python -m twine check --strict dist/*

unit: venv
	$(VENV)/bin/python -m pytest -q -rs tests/unit

bats: venv
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/bats tests/bats

# Style and type gates: ruff (pyflakes, bugbear, import order, a complexity budget; pyproject.toml),
# mypy on lib/, shellcheck on the pipelines and the installer. Run by CI.
SHELL_SCRIPTS := $(PIPELINES) pipelines/lib/common.sh pipelines/lib/paths.sh packaging/install.sh \
	packaging/systemd/install-units

lint: venv
	$(VENV)/bin/ruff check lib tools tests bench pipelines/lib
	$(VENV)/bin/mypy
	shellcheck -x -P SCRIPTDIR $(SHELL_SCRIPTS)

# Benchmarks (outside the tests): one Markdown table, each figure beside its baseline from the
# same run, written to bench/RESULTS.md. bench-smoke runs small sizes so CI keeps the harness
# working. Both need GNU time, libnss-wrapper, and (poll cost, sacct pipe) root: they run inside
# tests/slurm/with-cluster.sh, which brings up a private SLURM test cluster for the run and
# removes it after; the sacct pipe's peer, slurm2sql, is installed from PyPI into a throwaway
# venv.
WITH_CLUSTER := tests/slurm/with-cluster.sh $(TEST_CLUSTER)

bench: venv
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(WITH_CLUSTER) $(VENV)/bin/python bench/run.py

bench-smoke: venv
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(WITH_CLUSTER) $(VENV)/bin/python bench/run.py --smoke --out "$${TMPDIR:-/tmp}/sb-bench-smoke.md"

# The real pipeline over the bundled sample history (no SLURM needed), then the hiscores.
demo: venv
	@PATH="$(CURDIR)/$(VENV)/bin:$$PATH" demo/run.sh

clean:
	rm -rf $(VENV) build dist *.egg-info lib/*.egg-info .pytest_cache bench/out .demo
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
