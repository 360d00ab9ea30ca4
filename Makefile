# Two commands: `make run` (set up and open the app), `make test` (set up, lint, test).
# `make test-app` runs the app's tests where torch is not installed, as `make run` sets up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APP_VENV := .venv-app

.PHONY: run test test-app lint bench gpu-check package clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.app-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e ".[train,dev]"
	touch $@ $(VENV)/.app-installed

run: $(VENV)/.app-installed
	$(BIN)/photo-search

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

test: lint
	QT_QPA_PLATFORM=offscreen $(BIN)/pytest

$(APP_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(APP_VENV)
	$(APP_VENV)/bin/pip install -e ".[test,package]"
	touch $@

test-app: $(APP_VENV)/.installed
	QT_QPA_PLATFORM=offscreen $(APP_VENV)/bin/pytest tests/core tests/cli tests/ui tests/test_import_rules.py tests/test_text.py

# The installable bundle (PyInstaller) and its archive, built in the app's venv, which has
# no torch: see packaging/README.md.
DIST ?= dist
PACKAGE_WORK ?= build/package
package: $(APP_VENV)/.installed
	$(APP_VENV)/bin/python packaging/build.py --dist $(DIST) --work $(PACKAGE_WORK)

bench: $(VENV)/.dev-installed
	$(BIN)/python bench/index_throughput.py
	$(BIN)/python bench/search_latency.py
	$(BIN)/python bench/assemble_model.py
	$(BIN)/python bench/int8_vs_fp32.py
	$(BIN)/python bench/browse_scale.py
	$(BIN)/python bench/train_step.py
	$(BIN)/python bench/gui_scale.py
	$(BIN)/python bench/feedback.py
	$(BIN)/python bench/duplicates.py

# The trainer end to end on one GPU (sized for < 5 minutes); `ARGS=--cpu` without one.
gpu-check: $(VENV)/.dev-installed
	PYTHON=$(BIN)/python bench/gpu_check.sh $(ARGS)

clean:
	rm -rf $(VENV) $(APP_VENV) .pytest_cache .ruff_cache *.egg-info build dist
