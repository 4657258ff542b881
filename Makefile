# The README's two commands: `make demo` and `make test`. Each builds .venv when it is missing
# or older than pyproject.toml, so both work on a fresh clone with only Python 3.11 and make.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest test-all-pythons bench bench-quick docs docs-serve clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/sunmi-face demo

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check sunmi_face_async _sunmi_face_async_pytest.py tests benchmarks examples
	$(BIN)/ruff format --check sunmi_face_async _sunmi_face_async_pytest.py tests benchmarks examples

typecheck: $(STAMP)
	$(BIN)/mypy sunmi_face_async

pytest: $(STAMP)
	$(BIN)/pytest -q

# The suite on every CPython 3.10-3.13 found (pyenv or python3.X on PATH), each in its own
# .venv-3.X with '.[test]' only; lint and mypy stay with the main venv.
test-all-pythons:
	bash .ci/test-all-pythons

# The documentation site: docs/ and the API reference from the docstrings, into site/.
# --strict: a broken link, a missing reference or a docstring warning fails the build.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

docs-serve: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

bench: $(STAMP)
	$(BIN)/python -m benchmarks

bench-quick: $(STAMP)
	$(BIN)/python -m benchmarks --quick

clean:
	rm -rf $(VENV) .venv-3.* build dist site *.egg-info
