"""Same output bytes: `newsnorm run` on examples/drop writes exactly the recorded files.

The recorded digests are in tests/digests.json. A change meant to change outputs regenerates
them in the same commit: `.venv/bin/python scripts/output_digests.py --write` (add `--dev` to
cover the dev sets in ../shared/eval, and `--check --dev` to compare them before a refactor).
"""

from __future__ import annotations

import json
import sys

import pytest

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "scripts"))
import output_digests  # noqa: E402


@pytest.mark.parametrize("setup", output_digests.MODEL_SETUPS)
def test_example_drop_outputs_match_recorded_digests(setup, tmp_path, tiny_models_dir):
    recorded = json.loads(output_digests.DIGESTS.read_text())[f"examples_drop/{setup}"]
    models = tmp_path / "none"
    models.mkdir()
    if setup == "tiny_test":
        models = tiny_models_dir
    found = output_digests.run_case(output_digests.EXAMPLES["examples_drop"], str(models),
                                    tmp_path)
    assert found == recorded, (
        "examples/drop outputs changed. If that is intended, regenerate the digests with "
        "`.venv/bin/python scripts/output_digests.py --write` and say why in the commit")
