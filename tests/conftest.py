"""Shared test fixtures: paths to the repo's example drop and to ../shared/eval (read in place)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_DROP = REPO / "examples" / "drop"
SHARED = Path(os.environ.get("NEWSNORM_SHARED", REPO.parent / "shared"))
EVAL = SHARED / "eval"
SEED = SHARED / "seed" / "gaza-truce-machine-translated.txt"


def newsnorm_cmd() -> list[str]:
    """The installed console script next to this interpreter (the one users run)."""
    exe = Path(sys.executable).with_name("newsnorm")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "pipeline.cli"]


def run_cli(*args: str, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run(newsnorm_cmd() + list(args), capture_output=True, text=True,
                          timeout=timeout, cwd=REPO, env=full_env)


@pytest.fixture(autouse=True, scope="module")
def _idle_parser_workers_end_with_their_module():
    """Kill the idle HTML/feed parser workers a test module started (~140 MB, started again on
    demand), so they do not sit beside the `newsnorm` subprocesses of later modules: the suite's
    peak memory is the sum over the whole process tree (scripts/test_figures.py)."""
    yield
    from transforms.html_page import close_idle_workers

    close_idle_workers()


@pytest.fixture(scope="session")
def shared_eval() -> Path:
    if not EVAL.exists():
        pytest.skip(f"shared eval data not found at {EVAL}")
    return EVAL


@pytest.fixture(scope="session")
def seed_text() -> str:
    if not SEED.exists():
        pytest.skip(f"seed article not found at {SEED}")
    return SEED.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory) -> Path:
    """A models directory holding the tiny copy test model (models/testmodel.py), built once."""
    from models.testmodel import build_tiny_test_model

    models_dir = tmp_path_factory.mktemp("models")
    build_tiny_test_model(str(models_dir))
    return models_dir


# Hypothesis profiles: "ci" is bounded so CI stays well inside its time limit; "long" is for a
# run by hand (HYPOTHESIS_PROFILE=long make test). The per-target example counts are listed in
# the README test-suite summary.
try:
    from hypothesis import HealthCheck, settings

    settings.register_profile("ci", max_examples=200, deadline=None, derandomize=True,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile("dev", max_examples=100, deadline=None)
    settings.register_profile("long", max_examples=5000, deadline=None,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
except ImportError:  # hypothesis is in the [test] extra
    pass


# Modules whose tests start `newsnorm` processes (each ~350-450 MB with its parser workers).
# `make test` runs them in a second pytest process after the others, so such a child never sits
# beside a test process that has grown through the whole suite: the peak of the process tree
# stays under the 1 GB budget (docs/testing.md). The mark is found from the source, not a list.
_STARTS_NEWSNORM = ("run_cli(", "newsnorm_cmd(")


def pytest_collection_modifyitems(config, items):
    seen: dict[str, bool] = {}
    for item in items:
        path = str(item.path)
        if path not in seen:
            try:
                text = Path(path).read_text(encoding="utf-8")
            except OSError:
                text = ""
            seen[path] = path != __file__ and any(s in text for s in _STARTS_NEWSNORM)
        if seen[path]:
            item.add_marker(pytest.mark.cli)
