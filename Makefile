# Two commands do all the set-up on a fresh machine:
#   make serve   — create .venv, train the default model if the store has none, serve on 127.0.0.1:$(PORT)
#   make test    — create .venv, lint, run the whole test suite
PORT ?= 8000
HOST ?= 127.0.0.1
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: serve test lint train bench clean-store

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,neural]'
	@touch $(STAMP)

serve: $(STAMP)
	$(BIN)/madoguchi serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

train: $(STAMP)
	$(BIN)/madoguchi train

# Removes the embedded MLflow store (runs, registered models, artifacts) of this folder.
clean-store:
	rm -rf mlflow.db mlartifacts

# The benchmark suite (issue 5): trains every backend into a throw-away store and measures it; needs wrk.
bench: $(STAMP)
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python benchmarks/run.py
