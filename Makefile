# One command sets up and runs each job; the virtual environment is made on first use.
#   make main    set up, then build the book into _build/html from the committed runs/ (the main job)
#   make runs    set up, then train the book's grid (grid.EVIDENCE_GRID, profile full) into runs/full; resumable
#                (ALPHAS="..." [SEEDS="..."] trains a ResNet20 grid of those instead)
#   make test    set up, then lint (ruff check and ruff format --check) and run the test suite
#   make bench   set up, then the speed benchmark (project trainer vs a plain PyTorch loop)
#   make book    set up, then build the Jupyter Book into _build/html from the committed runs/
#   make gpu-check  where a CUDA device is visible, benchmark and a short run on it, into benchmarks/
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# CIFAR-10: $SELECTIVITY_DATA if set, else the offline copy beside the repository, else the default cache.
DATA ?= $(or $(SELECTIVITY_DATA),$(wildcard ../shared/data/cifar10-jpg))
DATA_ARG := $(if $(DATA),--data-dir $(DATA),)
PROFILE ?= full
ALPHAS ?=
SEEDS ?= 0 1 2
GRID := $(if $(strip $(ALPHAS)),--alphas $(ALPHAS) --seeds $(SEEDS),--grid evidence)

.PHONY: setup main runs test lint bench gpu-check book browser-test
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev,book]"
	touch $@

main: book

runs: setup
	$(PY) -m selectivity_lib sweep --profile $(PROFILE) $(GRID) $(DATA_ARG) --out runs/$(PROFILE)

lint: setup
	$(PY) -m ruff check selectivity_lib tests browser_tests book/_ext
	$(PY) -m ruff format --check selectivity_lib tests browser_tests book/_ext

test: lint
	$(PY) -m pytest -q

bench: setup
	$(PY) -m selectivity_lib bench $(DATA_ARG)

gpu-check: setup
	PY=$(PY) bash scripts/gpu-check.sh

# --all: every chapter is read again, so new runs reach every page (Sphinx would redo only edited files).
# -W: any warning (a failed glue, a missing reference) fails the build; a failing cell always does.
# MathJax is served from the book itself (scripts/fetch-mathjax.sh; npm), so equations render offline.
# The executed chapter notebooks are copied into the site (_build/html/notebooks/) for download, with the
# glued numbers and figures that myst-nb keeps apart (in <chapter>.glue.json) put back in their cells
# (book/_ext/book_pages.py, when the build finishes; each chapter's download menu links its notebook).
book: setup
	bash scripts/fetch-mathjax.sh
	$(VENV)/bin/jupyter-book build . --all -W --keep-going

# Opens the built book in headless Chromium (Debian's chromium and chromium-driver; see scripts/).
browser-test: setup
	bash scripts/install-browser.sh
	$(PY) -m pytest -q browser_tests
