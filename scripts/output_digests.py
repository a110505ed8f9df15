"""Digests of what `newsnorm run` writes, to prove a refactor changes no output byte.

    python scripts/output_digests.py --check            # examples/drop (what the test runs)
    python scripts/output_digests.py --check --dev      # + the dev sets in ../shared/eval
    python scripts/output_digests.py --write [--dev]    # record the current outputs

Each case runs the installed `newsnorm run` (a subprocess, as users run it) into a temporary
directory and records the sha256 of every article and dead-letter file (JSON Lines and
Parquet; not manifest.json or report.html, which hold times). Cases run without models and
with the tiny test model, so the translate path is covered too.

The digests are a snapshot, not a specification: a change that is meant to change outputs
(a better boilerplate rule, a new field) regenerates them with `--write` in the same commit,
and the commit message says why the bytes changed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DIGESTS = REPO / "tests" / "digests.json"
SHARED = Path(os.environ.get("NEWSNORM_SHARED", REPO.parent / "shared"))

# name -> input path (relative to the repo, or to ../shared for dev sets)
EXAMPLES = {"examples_drop": REPO / "examples" / "drop"}
DEV = {
    "eval_news_ar_sample": SHARED / "eval" / "news" / "ar_sample.jsonl",
    "eval_news_real_dev": SHARED / "eval" / "news_real" / "dev.jsonl",
    "eval_feeds": SHARED / "eval" / "feeds" / "files",
}
MODEL_SETUPS = ("no_models", "tiny_test")


def _newsnorm() -> list[str]:
    exe = Path(sys.executable).with_name("newsnorm")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "pipeline.cli"]


def output_digests(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*"))
            if p.is_file() and p.parent.name in ("articles", "dead_letter")}


def run_case(input_path: Path, models_dir: str, work: Path) -> dict[str, str]:
    out = work / "out"
    env = dict(os.environ, NEWSNORM_MODELS=models_dir)
    proc = subprocess.run(_newsnorm() + ["run", "--input", str(input_path), "--output", str(out),
                                         "--force", "--quiet", "--no_report"],
                          capture_output=True, text=True, env=env, cwd=REPO)
    if proc.returncode != 0:
        raise RuntimeError(f"newsnorm run on {input_path} failed:\n{proc.stderr[-2000:]}")
    return output_digests(out)


def compute(cases: dict[str, Path]) -> dict[str, dict[str, str]]:
    from models.testmodel import build_tiny_test_model

    found = {}
    with tempfile.TemporaryDirectory(prefix="newsnorm-digests-") as tmp:
        tmp_path = Path(tmp)
        empty = tmp_path / "no-models"
        empty.mkdir()
        tiny = tmp_path / "tiny-models"
        tiny.mkdir()
        build_tiny_test_model(str(tiny))
        for name, path in cases.items():
            if not path.exists():
                print(f"skipped {name}: {path} not found", file=sys.stderr)
                continue
            for setup, models in (("no_models", empty), ("tiny_test", tiny)):
                work = Path(tempfile.mkdtemp(dir=tmp))
                found[f"{name}/{setup}"] = run_case(path, str(models), work)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="record the current outputs")
    mode.add_argument("--check", action="store_true", help="compare with the recorded outputs")
    parser.add_argument("--dev", action="store_true", help="also the dev sets in shared/eval")
    args = parser.parse_args(argv)
    cases = dict(EXAMPLES, **(DEV if args.dev else {}))
    found = compute(cases)
    recorded = json.loads(DIGESTS.read_text()) if DIGESTS.exists() else {}
    if args.write:
        recorded.update(found)
        DIGESTS.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
        print(f"recorded {len(found)} case(s) in {DIGESTS.relative_to(REPO)}")
        return 0
    differ = [k for k in found if recorded.get(k) != found[k]]
    for k in differ:
        print(f"DIFFERS {k}: recorded {recorded.get(k)} now {found[k]}", file=sys.stderr)
    print(f"{len(found) - len(differ)}/{len(found)} case(s) byte-identical to "
          f"{DIGESTS.relative_to(REPO)}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
