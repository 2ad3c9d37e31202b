# Integr8sCode: `make run` serves on http://$(HOST):$(PORT); `make test` runs the whole suite.
# Both set up what they need first (idempotently): Python 3.13 venv from uv.lock, bubblewrap and
# libseccomp, the Svelte islands (npm ci + Vite, only when their sources changed), database
# migrations; `run` also collects static files (and installs gVisor for LOCAL_ISOLATION=gvisor),
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

.PHONY: run test bench setup system-deps migrate check-python clean islands check-node collectstatic browser-deps gvisor

# The gVisor isolation level (LOCAL_ISOLATION=gvisor) needs runsc; the test suite runs both levels.
RUN_DEPS := $(if $(filter gvisor,$(LOCAL_ISOLATION)),gvisor)

run: setup $(RUN_DEPS) migrate collectstatic
	@$(PY) -m integr8scode.serve -b $(HOST) -p $(PORT) integr8scode.asgi:application

test: setup browser-deps gvisor
	$(PY) -m pytest $(PYTEST_ARGS)

bench: setup
	$(PY) -m bench

# Locust users against a server of its own, every execution audited; knobs are LOADTEST_*
# variables (README, "Load test").
.PHONY: loadtest
loadtest: setup
	$(PY) -m bench.loadtest

setup: system-deps $(VENV)/.synced islands

migrate: setup
	@$(PY) manage.py migrate --noinput -v 0

check-python:
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null || { \
	  echo "Python 3.13 is required (set PYTHON=/path/to/python3.13)"; exit 1; }

$(UV): | check-python
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install -q uv==$(UV_VERSION)

$(VENV)/.synced: uv.lock pyproject.toml $(UV)
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
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

collectstatic: setup
	@$(PY) manage.py collectstatic --noinput -v 0

gvisor:
	@command -v runsc >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get install -y -q runsc || (apt-get update -q && apt-get install -y -q runsc)) >/dev/null; \
	  else echo "gVisor is required for LOCAL_ISOLATION=gvisor and the tests: install it with 'sudo apt-get install runsc'"; exit 1; fi; }

browser-deps:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get install -y -q chromium || (apt-get update -q && apt-get install -y -q chromium)) >/dev/null; \
	  else echo "Chromium is required for the browser tests: install it with 'sudo apt-get install chromium'"; exit 1; fi; }

clean:
	rm -rf $(VENV) $(TOOLS) $(ISLANDS)/node_modules static/islands
