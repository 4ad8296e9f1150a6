# Two commands on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: install run test soak bench lint clean

install: $(STAMP)

$(STAMP): pyproject.toml tools/awscli2.py
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python tools/awscli2.py $(VENV)
	touch $(STAMP)

run: install
	$(BIN)/asyncgate up .

test: install
	$(BIN)/python -m pytest -q

soak: install
	$(BIN)/python -m pytest -q -m soak
	ASYNCGATE_FUZZ_EXAMPLES=5000 $(BIN)/python -m pytest -q tests/faults/test_fuzz.py

# Prints figures and ratios measured side by side, and rewrites docs/performance.md (+ .png).
bench: install
	$(BIN)/python -m bench

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) cdk.out .pytest_cache
