# ferry — the two commands a newcomer needs: `make demo` and `make test`.
# Each sets itself up: a virtualenv in .venv with the pinned dependencies, and (as root on Debian) the
# system packages the tests drive as real peers.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# Debian packages the tests use as real peers (kubectl comes with the machine image).
SYSTEM_PACKAGES := skopeo docker-registry runc busybox-static iproute2 nftables git curl
PYTEST_ARGS ?=

.PHONY: all demo test check lint format typecheck imports clean system-deps

all: test

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

system-deps:
	@if [ -n "$(SYSTEM_PACKAGES)" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi; \
	fi
	@command -v kubectl >/dev/null || { echo "kubectl is required for the end-to-end tests (it ships with the machine image)"; exit 1; }
	@command -v node >/dev/null || { echo "Node.js 20 is required: demo-api runs on the host's node (it ships with the machine image)"; exit 1; }

demo: $(STAMP) system-deps
	$(PY) -m ferry demo

test: $(STAMP) system-deps
	$(PY) -m pytest -q $(PYTEST_ARGS)

check: $(STAMP) lint typecheck imports

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

format: $(STAMP)
	$(VENV)/bin/ruff format src tests bench
	$(VENV)/bin/ruff check --fix src tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy

imports: $(STAMP)
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache src/*.egg-info
