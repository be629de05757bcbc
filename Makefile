# `make run` and `make test` are the only commands a fresh clone needs: each creates
# .venv and installs the project into it when missing or when pyproject.toml changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench clean

# CPU torch is installed on its own first: asked for through sentence-transformers,
# pip would pick a multi-GB CUDA build.
TORCH ?= torch==2.13.0
EXTRAS ?= dev,postgres,semantic

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet '$(TORCH)'
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/newsletter run

# One pytest worker per core (pytest-xdist): every test has its own databases, ports and
# files, so they run side by side; at most 4, as each loads the embedding model (~1 GB).
# PYTEST_WORKERS=0 runs them in this process.
PYTEST_WORKERS ?= auto

test: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --maxprocesses 4 $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check newsletter tests benchmarks alembic
	$(BIN)/ruff format --check newsletter tests benchmarks alembic
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix newsletter tests benchmarks alembic
	$(BIN)/ruff format newsletter tests benchmarks alembic

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/ranking.py
	$(BIN)/python benchmarks/matching_scale.py
	$(BIN)/python benchmarks/cli_startup.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
