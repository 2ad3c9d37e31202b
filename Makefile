# Integr8sCode: `make run` serves on http://$(HOST):$(PORT); `make test` runs the whole suite,
# `make test-fast` the tests that need no sandbox, browser, live server or process of their own.
# Each sets up what it needs first (idempotently): Python 3.13 venv from uv.lock (for `run` the
# runtime dependencies only, for the others the dev group too), bubblewrap and libseccomp, the
# Svelte islands (npm ci + Vite, only when their sources changed); `run` also migrates and
# collects static files (only when they changed; and installs gVisor for LOCAL_ISOLATION=gvisor),
# `test` also needs Chromium for the browser tests and gVisor for the second isolation level.

HOST ?= 127.0.0.1
PORT ?= 8000
PYTHON ?= $(shell command -v python3.13 2>/dev/null || echo python3.13)
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
# Our own modules get bytecode caches even where the environment turns them off.
unexport PYTHONDONTWRITEBYTECODE

ISLANDS := svelte-islands
# Vite empties static/islands/ on every build, so the stamp inside it marks a finished one.
ISLANDS_STAMP := static/islands/.built
ISLANDS_SOURCES := $(shell find $(ISLANDS)/src -type f 2>/dev/null) $(ISLANDS)/package.json $(ISLANDS)/vite.config.js
CHROMIUM := /usr/bin/chromium

# The environment is synced in one of two modes, and its stamp says which: for `run` the runtime
# dependencies only (uv sync --no-dev: no pytest, Playwright or Locust where the server runs), for
# the rest the dev group too. Syncing one mode removes the other's stamp, so switching syncs once
# (uv adds or removes the dev group's packages from its cache) and staying syncs nothing.
SYNCED_RUN := $(VENV)/.synced-run
SYNCED_DEV := $(VENV)/.synced-dev
# uv is given the interpreter itself, not a shim (pyenv's) in front of it: the environment's
# interpreter then matches the one asked for, and uv keeps it instead of making it anew.
PYTHON_EXE = $(shell $(PYTHON) -c 'import sys; print(sys.executable)')

# Where the server finds its static files: settings.py's default, or what the environment says.
SERVED_STATIC_ROOT := $(or $(STATIC_ROOT),$(or $(VAR_DIR),var)/static)
# collectstatic writes the manifest last, so it marks a finished collection; the packages' own
# static files (the admin's, the API docs') change with uv.lock.
STATIC_MANIFEST := $(SERVED_STATIC_ROOT)/staticfiles.json
STATIC_SOURCES := $(shell find static -type f -not -path 'static/islands/*' 2>/dev/null) uv.lock integr8scode/static_files.py
# An IPv6 address goes in brackets in a URL.
URL_HOST := $(if $(findstring :,$(HOST)),[$(HOST)],$(HOST))

.PHONY: run test test-fast lint bench setup setup-dev system-deps migrate check-python clean islands check-node collectstatic browser-deps gvisor data-runtime languages

# The runtimes served beside Python (executions/runners/languages.py), their toolchains installed
# from Debian's packages: `RUNTIMES=all make run`, or a list (RUNTIMES="c javascript"); the server
# reads the same variable. `make test` installs them all, for the conformance matrix.
RUNTIMES ?= python
export RUNTIMES

# The gVisor isolation level (LOCAL_ISOLATION=gvisor) needs runsc; the test suite runs both levels.
RUN_DEPS := $(if $(filter gvisor,$(LOCAL_ISOLATION)),gvisor)

run: setup $(RUN_DEPS) languages migrate collectstatic
	@echo "Integr8sCode: open http://$(URL_HOST):$(PORT)/"
	@$(PY) -m integr8scode.serve -b $(HOST) -p $(PORT) integr8scode.asgi:application

test: setup-dev browser-deps gvisor
	@$(MAKE) --no-print-directory languages RUNTIMES=all
	$(PY) -m pytest $(PYTEST_ARGS)

# Markers set in conftest.py from what each test uses (pyproject.toml lists them).
test-fast: setup-dev
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

# ruff (lint and format) and the import contracts of pyproject.toml ([tool.importlinter]).
lint: setup-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

bench: setup-dev
	$(PY) -m bench

# Locust users against a server of its own, every execution audited; knobs are LOADTEST_*
# variables (README, "Load test").
.PHONY: loadtest
loadtest: setup-dev
	$(PY) -m bench.loadtest

setup: system-deps $(SYNCED_RUN) islands data-runtime

setup-dev: system-deps $(SYNCED_DEV) islands data-runtime

# The data-science runtime (python3.13-data): its locked packages, from wheels only, in an
# environment of its own (never the server's), bytecode compiled (sandboxes see it read-only),
# with our matplotlib backend and matplotlib's font list built once. Made beside, then moved
# into place, so a failed install leaves the last good one.
DATA_RUNTIME := .runtimes/python-data
DATA_SOURCES := runtimes/python-data/requirements.txt $(wildcard runtimes/python-data/site/*) runtimes/python-data/finish.py
data-runtime: $(DATA_RUNTIME)/.installed

$(DATA_RUNTIME)/.installed: $(DATA_SOURCES) $(UV)
	@rm -rf $(DATA_RUNTIME).new
	$(UV) pip install --quiet --target $(DATA_RUNTIME).new/site-packages --python $(PYTHON_EXE) \
	  --require-hashes --no-deps --only-binary :all: --compile-bytecode -r runtimes/python-data/requirements.txt
	cp runtimes/python-data/site/* $(DATA_RUNTIME).new/site-packages/
	$(PYTHON_EXE) -I -m compileall -q $(addprefix $(DATA_RUNTIME).new/site-packages/,$(notdir $(filter %.py,$(wildcard runtimes/python-data/site/*))))
	$(PYTHON_EXE) -I runtimes/python-data/finish.py $(DATA_RUNTIME).new /opt/packages
	@rm -rf $(DATA_RUNTIME) && mv $(DATA_RUNTIME).new $(DATA_RUNTIME)
	touch $@

migrate: setup
	@$(PY) manage.py migrate --noinput -v 0

check-python:
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null || { \
	  echo "Python 3.13 is required (set PYTHON=/path/to/python3.13)"; exit 1; }

$(UV): | check-python
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install -q uv==$(UV_VERSION)

$(SYNCED_RUN): uv.lock pyproject.toml $(UV)
	@rm -f $(SYNCED_DEV)
	$(UV) sync --frozen --no-dev --compile-bytecode --python $(PYTHON_EXE)
	touch $@

$(SYNCED_DEV): uv.lock pyproject.toml $(UV)
	@rm -f $(SYNCED_RUN)
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON_EXE)
	touch $@

system-deps:
	@command -v bwrap >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get install -y -q bubblewrap || (apt-get update -q && apt-get install -y -q bubblewrap)) >/dev/null; \
	  else echo "bubblewrap is required: install it with 'sudo apt-get install bubblewrap'"; exit 1; fi; }
	@/sbin/ldconfig -p | grep -q 'libseccomp\.so\.2 ' || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get install -y -q libseccomp2 || (apt-get update -q && apt-get install -y -q libseccomp2)) >/dev/null; \
	  else echo "libseccomp is required: install it with 'sudo apt-get install libseccomp2'"; exit 1; fi; }

islands: $(ISLANDS_STAMP)

$(ISLANDS_STAMP): $(ISLANDS_SOURCES) $(ISLANDS)/node_modules/.installed
	cd $(ISLANDS) && npm run --silent build
	touch $@

$(ISLANDS)/node_modules/.installed: $(ISLANDS)/package-lock.json | check-node
	cd $(ISLANDS) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

check-node:
	@command -v npm >/dev/null || { \
	  echo "Node.js >= 20.19 with npm is required to build the islands (svelte-islands/)"; exit 1; }

collectstatic: $(STATIC_MANIFEST)

# Hashed names, gzip and brotli copies (ServeStatic's storage): some seconds, so only when a
# source changed.
$(STATIC_MANIFEST): $(ISLANDS_STAMP) $(STATIC_SOURCES) | setup
	$(PY) manage.py collectstatic --noinput -v 0

gvisor:
	@command -v runsc >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get install -y -q runsc || (apt-get update -q && apt-get install -y -q runsc)) >/dev/null; \
	  else echo "gVisor is required for LOCAL_ISOLATION=gvisor and the tests: install it with 'sudo apt-get install runsc'"; exit 1; fi; }

# After setup or setup-dev (it reads the list with the environment's Python).
languages:
	@packages="$$($(PY) -m executions.runners.languages $(RUNTIMES))" || exit 1; \
	missing="$$(for package in $$packages; do dpkg -s $$package >/dev/null 2>&1 || echo $$package; done)"; \
	[ -z "$$missing" ] || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing the toolchains of RUNTIMES=$(RUNTIMES): $$missing"; \
	    (apt-get install -y -q $$missing || (apt-get update -q && apt-get install -y -q $$missing)) >/dev/null; \
	  else echo "RUNTIMES=$(RUNTIMES) needs: sudo apt-get install $$missing"; exit 1; fi; }

browser-deps:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get install -y -q chromium || (apt-get update -q && apt-get install -y -q chromium)) >/dev/null; \
	  else echo "Chromium is required for the browser tests: install it with 'sudo apt-get install chromium'"; exit 1; fi; }

clean:
	rm -rf $(VENV) $(TOOLS) $(ISLANDS)/node_modules static/islands .runtimes
