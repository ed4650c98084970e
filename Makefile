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

# pip installs the tools under $(DESTDIR)$(PREFIX); man pages and pipelines go beside them.
install:
	$(PYTHON) -m pip install --quiet --no-deps --ignore-installed --root "$(or $(DESTDIR),/)" --prefix "$(PREFIX)" .
	install -d "$(DESTDIR)$(MANDIR)/man1" "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(LIBDIR)"
	install -m 644 $(MANPAGES) "$(DESTDIR)$(MANDIR)/man1/"
	install -m 755 $(PIPELINES) "$(DESTDIR)$(BINDIR)/"
	install -m 644 pipelines/lib/common.sh "$(DESTDIR)$(LIBDIR)/"

uninstall:
	rm -f $(addprefix "$(DESTDIR)$(MANDIR)/man1/,$(addsuffix ",$(notdir $(MANPAGES))))
	rm -f $(addprefix "$(DESTDIR)$(BINDIR)/,$(addsuffix ",$(notdir $(PIPELINES))))
	rm -rf "$(DESTDIR)$(LIBDIR)"
	$(PYTHON) -m pip uninstall --yes slurm-scoreboard

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
