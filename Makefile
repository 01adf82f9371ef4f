# NORA: `make serve` runs the registry on its embedded defaults; `make test` installs
# everything the suite needs (project, test tools, real clients, services) and runs it.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check
PYTEST_ARGS ?=

.PHONY: serve serve-cluster test install install-test clients lint typecheck imports docs unit contract e2e bench screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python
	$(PIP) install -q -e .

serve: install
	$(BIN)/nora serve

# Two replicas over PostgreSQL, S3 (moto) and Redis behind a balancer on 127.0.0.1:4000.
serve-cluster: install-test
	@VENV="$(VENV)" bash .ci/clients/backends.sh >/dev/null
	@VENV="$(VENV)" bash .ci/clients/auth.sh
	$(BIN)/python -m scripts.cluster

install-test: $(BIN)/python
	$(PIP) install -q -e '.[test]'

# Every real client and service the end-to-end tests drive; one script per format.
clients:
	@set -e; for script in .ci/clients/*.sh; do \
		[ -e "$$script" ] || continue; echo "== $$script"; VENV="$(VENV)" bash "$$script"; done

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-test
	$(BIN)/mypy

imports: install-test
	$(BIN)/lint-imports

unit: install-test
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

contract: install-test
	$(BIN)/pytest tests/contract $(PYTEST_ARGS)

e2e: install-test clients
	$(BIN)/pytest tests/e2e $(PYTEST_ARGS)

# The reference site (build/site): the library guide, the API from its docstrings,
# settings and architecture; any broken link or reference fails the build.
docs: install-test
	$(BIN)/mkdocs build --strict --quiet

test: install-test clients lint typecheck imports docs
	$(BIN)/pytest tests/unit tests/contract tests/e2e $(PYTEST_ARGS)

bench: install-test
	$(BIN)/python bench/run.py

# The README's pictures of the dashboard: a registry filled by the real clients, photographed
# by Chromium (light, dark, phone) into docs/screenshots/.
screenshots: install-test clients
	NORA_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q tests/e2e/test_ui_browser.py -k screenshots $(PYTEST_ARGS)
