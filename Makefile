# The README's two commands: `make demo` and `make test`. Each builds .venv when it is missing
# or older than pyproject.toml, so both work on a fresh clone with only Python 3.11 and make.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest bench bench-quick clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/sunmi-face demo

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check sunmi_face_async tests benchmarks examples
	$(BIN)/ruff format --check sunmi_face_async tests benchmarks examples

typecheck: $(STAMP)
	$(BIN)/mypy sunmi_face_async

pytest: $(STAMP)
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks

bench-quick: $(STAMP)
	$(BIN)/python -m benchmarks --quick

clean:
	rm -rf $(VENV) build dist *.egg-info
