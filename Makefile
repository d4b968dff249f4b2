# The README's two commands: `make run` (the whole default DAG) and `make test`.
# Both create .venv once and install the Debian packages they need when run as root.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= 2
DEBIAN_PACKAGES := espeak-ng sox libsndfile1
SLURM_PACKAGES := slurm-wlm munge slurmdbd mariadb-server

.PHONY: run test system-deps slurm-deps venv bench lint clean

run: venv system-deps
	$(BIN)/python scripts/run_timed.py -- $(BIN)/snakemake --cores $(CORES)

test: venv system-deps slurm-deps
	$(BIN)/python -m pytest -q tests

bench: venv system-deps
	$(BIN)/python bench/run_all.py

lint: venv
	$(BIN)/snakemake --lint

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	touch $@

system-deps:
	@bash scripts/ensure_debian_packages.sh $(DEBIAN_PACKAGES)

slurm-deps:
	@bash scripts/ensure_debian_packages.sh --optional $(SLURM_PACKAGES)

clean:
	rm -rf results .snakemake
