# Integr8sCode: `make run` serves on http://$(HOST):$(PORT); `make test` runs the whole suite.
# Both set up what they need first (idempotently): Python 3.13 venv from uv.lock, bubblewrap,
# database migrations.

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

.PHONY: run test bench setup system-deps migrate check-python clean

run: setup migrate
	$(VENV)/bin/daphne -b $(HOST) -p $(PORT) --proxy-headers integr8scode.asgi:application

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

bench: setup
	$(PY) -m bench

setup: system-deps $(VENV)/.synced

migrate: setup
	$(PY) manage.py migrate --noinput -v 0

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

clean:
	rm -rf $(VENV) $(TOOLS)
