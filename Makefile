# Two commands for a fresh machine (README):  make demo   and   make test
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= out/demo

.PHONY: demo test gates install clean

$(BIN)/newsnorm: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

install: $(BIN)/newsnorm

demo: install
	$(BIN)/newsnorm run --input examples/drop --output $(OUT) --force
	$(BIN)/newsnorm verify $(OUT) --input examples/drop

test: install
	$(BIN)/python -m pytest
	$(MAKE) gates

# Quality gates on ../shared/eval: each prints its scores and floors, and fails below a floor.
gates: install
	$(BIN)/python -m evals.repair_numbers
	$(BIN)/python -m evals.langid
	$(BIN)/python -m evals.boilerplate

clean:
	rm -rf $(VENV) out .pytest_cache
