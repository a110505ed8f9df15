# Two commands for a fresh machine (README):  make demo   and   make test
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= out/demo

.PHONY: demo test test-slow gates gates-lane-a gates-lane-b install clean

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
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -m "not slow and not cli"
	$(BIN)/python -m pytest -m "not slow and cli"  # tests that start newsnorm: see tests/conftest.py
	$(MAKE) gates

# The slow tier (tests marked @pytest.mark.slow); CI runs it after `make test`.
test-slow: install
	$(BIN)/pip install --quiet -e '.[test,storage-test,dask]'  # test_cluster.py runs a Dask cluster
	$(BIN)/python -m pytest -m slow; rc=$$?; [ $$rc -eq 5 ] && echo "no slow test selected" && rc=0; exit $$rc

# Quality gates on ../shared/eval: each prints its scores and floors, and fails below a floor.
# Two lanes side by side (one per core; each lane's output is printed whole when it ends). The
# lanes pair gates so that two never exceed ~1 GB together: langid (two processes, ~420 MB)
# runs beside repair_numbers or feeds_conformance (~500 MB each), never those two together.
gates: install
	$(MAKE) --no-print-directory -j2 -Otarget gates-lane-a gates-lane-b

gates-lane-a:
	$(BIN)/python -m evals.langid
	$(BIN)/python -m evals.boilerplate
	$(BIN)/python -m evals.boilerplate_real

gates-lane-b:
	$(BIN)/python -m evals.repair_numbers
	$(BIN)/python -m evals.feeds_conformance
	$(BIN)/python -m evals.langid_context

clean:
	rm -rf $(VENV) out .pytest_cache
