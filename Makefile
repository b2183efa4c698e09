# The two commands a newcomer needs (see README.md):
#   make run    install everything, then run the daemon against the embedded sandbox AWS
#   make test   install everything, then run lint, type checks and the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# npm projects: the Lambda@Edge function (its AWS SDK for offline runs), the JS harness and
# the sandbox tests' second-language client (the AWS SDK for JavaScript v3).
NPM_DIRS := $(dir $(wildcard edge_functions/*/package-lock.json reconciler/functions/js/package-lock.json tests/*/js/package-lock.json))
PYTEST_ARGS ?=

.PHONY: run test install lint typecheck pytest clean

run: install
	$(BIN)/reconciler run --sandbox --sandbox-port 4566 --sandbox-edge-port 8081

test: install lint typecheck pytest

install: $(VENV)/.installed $(patsubst %,%node_modules/.installed,$(NPM_DIRS))

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

%node_modules/.installed: %package-lock.json
	cd $* && npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint:
	$(BIN)/ruff check reconciler tests benchmarks
	$(BIN)/lint-imports

typecheck:
	$(BIN)/mypy reconciler

pytest:
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(patsubst %,%node_modules,$(NPM_DIRS))
