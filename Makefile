# CPMS: `make demo` runs the whole flow on this machine; `make test` is what CI runs (.ci/run).
# Every target installs what it needs first, and skips whatever is already installed.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --quiet
RUNTIME_STAMP := $(VENV)/.stamp-requirements
DEV_STAMP := $(VENV)/.stamp-requirements-dev
NODE_STAMP := node_modules/.stamp-npm-ci
AXE_DIR := tests/browser/axe
AXE_STAMP := $(AXE_DIR)/node_modules/.stamp-npm-ci
TEST_LOG := var/test-output.log
PYTEST_ARGS ?=

ifneq ($(wildcard package.json),)
NODE_TARGET := $(NODE_STAMP)
endif

.PHONY: help install install-dev node-assets system-packages browser-packages demo test lint bench faults clean distclean

help:
	@echo "make demo     run CPMS, its worker and the IDENT simulator on http://127.0.0.1:8000 (Ctrl-C stops)"
	@echo "make test     lint, then every test: unit, integration (real worker/Redis/PostgreSQL/simulator), browser"
	@echo "make install  virtualenv, Python and npm dependencies, Pango and the PDFs' fonts (only what is missing)"
	@echo "make install-dev  also the test tools and Chromium (make test and make lint run what they need)"
	@echo "make lint     ruff check . and the import contracts (lint-imports, pyproject.toml)"
	@echo "make bench    the benchmarks in bench/"
	@echo "make faults   the fault suite: 1,000 messages through a stack of its own under faults (FAULTS_MESSAGES=100 for fewer)"
	@echo "make clean    caches and build output (distclean: also .venv, node_modules, var/)"

# --- installation -------------------------------------------------------------------------------------------

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install --upgrade pip

# A stamp newer than the requirements files means they are installed: pip is not even started.
$(RUNTIME_STAMP): requirements.txt | $(PY)
	$(PIP) install -r requirements.txt
	@touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PIP) install -r requirements-dev.txt
	@touch $@

$(NODE_STAMP): $(wildcard package.json package-lock.json scripts/vendor_static.sh)
	npm ci --no-audit --no-fund
	@if [ -f scripts/vendor_static.sh ]; then bash scripts/vendor_static.sh; fi
	@touch $@

# What only the browser tests need from npm (axe-core): a package of its own, so `make demo` never installs it.
$(AXE_STAMP): $(AXE_DIR)/package.json $(AXE_DIR)/package-lock.json
	npm ci --no-audit --no-fund --prefix $(AXE_DIR)
	@touch $@

node-assets: $(NODE_TARGET)
	@if [ -f scripts/vendor_static.sh ] && [ -f package.json ] && [ ! -d static/vendor ]; then \
		bash scripts/vendor_static.sh; fi

# What CPMS needs to run (Pango and the fonts of the PDFs); Chromium only for the browser tests, so `make demo` never
# downloads a browser.
system-packages:
	@bash scripts/ensure_system_packages.sh

browser-packages:
	@bash scripts/ensure_system_packages.sh --with-browser

install: $(RUNTIME_STAMP) node-assets system-packages

install-dev: install $(DEV_STAMP) browser-packages $(AXE_STAMP)

# --- running ------------------------------------------------------------------------------------------------

demo: install
	$(PY) scripts/demo.py

# Tests need a secret (any) and PostgreSQL; both can be overridden from the environment.
test: export CPMS_ALLOW_INSECURE_KEY ?= 1
test: export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/cpms
test: install-dev
	bash scripts/ensure_services.sh
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	@mkdir -p $(dir $(TEST_LOG))
	@rc=0; $(VENV)/bin/pytest -p no:cacheprovider -ra $(PYTEST_ARGS) 2>&1 | tee $(TEST_LOG) || rc=$$?; \
	summary="$$(grep -E '^=+ .*( in [0-9.]+s).* =+$$' $(TEST_LOG) | tail -n 1 || true)"; \
	echo "make test: pytest: $${summary:-no summary line (see $(TEST_LOG))}"; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests: that is a failure." >&2; exit 1; fi; \
	exit $$rc

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

bench: export CPMS_ALLOW_INSECURE_KEY ?= 1
bench: install
	@if [ -f bench/run.py ]; then $(PY) bench/run.py; else echo "make bench: no bench/run.py"; fi

# The fault suite (docs/faults.md): its own PostgreSQL cluster, Redis, gunicorn, worker, beat and simulator, on free
# ports of 127.0.0.1; exits non-zero when anything was lost, sent or processed twice, stuck or answered 5xx.
FAULTS_MESSAGES ?= 1000
faults: export CPMS_ALLOW_INSECURE_KEY ?= 1
faults: install
	$(PY) scripts/faults.py --messages $(FAULTS_MESSAGES)

# --- cleaning -----------------------------------------------------------------------------------------------

clean:
	find . -path ./.venv -prune -o -path ./node_modules -prune -o -name __pycache__ -type d -print0 \
		| xargs -0 rm -rf
	rm -rf .pytest_cache .ruff_cache .hypothesis var/staticfiles var/test-media $(TEST_LOG) bench/out
	rm -f $(RUNTIME_STAMP) $(DEV_STAMP) $(NODE_STAMP) $(AXE_STAMP)

distclean: clean
	rm -rf $(VENV) node_modules $(AXE_DIR)/node_modules static/vendor var
