"""The CLI as users run it: a subprocess on the example drop."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_DROP, run_cli


def _hashes(out: Path) -> dict:
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*")) if p.is_file() and p.parent.name in
            ("articles", "dead_letter")}


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    proc = run_cli("run", "--input", str(EXAMPLE_DROP), "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    return out, proc


def test_run_writes_layout_and_reconciled_manifest(demo_out):
    out, proc = demo_out
    manifest = json.loads((out / "manifest.json").read_text())
    c = manifest["counts"]
    assert c["reconciled"] and c["read"] == c["written"] + c["dead_lettered"]
    assert c["read"] == 13 and c["dead_lettered"] >= 5
    for reason in ("truncated_json", "not_an_object", "no_title_no_body", "duplicate_id",
                   "empty_file"):
        assert c["dead_letter_by_reason"].get(reason, 0) >= 1, reason
    paths = {f["path"] for f in manifest["files"]}
    assert "articles/part-00000-of-00001.jsonl" in paths
    assert "articles/part-00000-of-00001.parquet" in paths
    assert "dead_letter/part-00000-of-00001.jsonl" in paths
    assert "counts reconcile" in proc.stderr and "read 13" in proc.stderr
    assert not (out / "_staging").exists()


def test_parquet_and_jsonl_hold_the_same_articles(demo_out):
    import pyarrow.parquet as pq

    out, _ = demo_out
    table = pq.read_table(out / "articles" / "part-00000-of-00001.parquet")
    lines = [json.loads(x) for x in
             (out / "articles" / "part-00000-of-00001.jsonl").read_text().splitlines()]
    assert table.to_pylist() == lines
    assert [r["id"] for r in lines] == sorted(r["id"] for r in lines)


def test_dead_letters_carry_raw_stage_reason_error(demo_out):
    out, _ = demo_out
    dead = [json.loads(x) for x in
            (out / "dead_letter" / "part-00000-of-00001.jsonl").read_text().splitlines()]
    truncated = next(d for d in dead if d["reason"] == "truncated_json")
    assert truncated["stage"] == "parse" and "broken-truncated" in truncated["raw"]
    assert truncated["error"] and truncated["provenance"]["file"] == "articles.jsonl"


@pytest.mark.slow  # three more CLI runs after the demo fixture
@pytest.mark.timeout(600)
def test_rerun_is_skipped_then_forced_rerun_is_byte_identical(demo_out, tmp_path):
    out, _ = demo_out
    before = _hashes(out)
    proc = run_cli("run", "--input", str(EXAMPLE_DROP), "--output", str(out))
    assert proc.returncode == 0 and "already done" in proc.stderr
    proc = run_cli("run", "--input", str(EXAMPLE_DROP), "--output", str(out), "--force")
    assert proc.returncode == 0, proc.stderr
    assert _hashes(out) == before
    # Another input order (files renamed so they sort differently) and a copy of the drop.
    shuffled = tmp_path / "drop"
    shutil.copytree(EXAMPLE_DROP, shuffled)
    lines = (shuffled / "articles.jsonl").read_text(encoding="utf-8").splitlines()
    good = [x for x in lines if '"en-2024-06-10-rain"' not in x or "Duplicate" not in x]
    (shuffled / "articles.jsonl").write_text("\n".join(reversed(good)) + "\n", encoding="utf-8")
    out2 = tmp_path / "out2"
    assert run_cli("run", "--input", str(shuffled), "--output", str(out2)).returncode == 0
    a = (out / "articles" / "part-00000-of-00001.jsonl").read_text().splitlines()
    b = (out2 / "articles" / "part-00000-of-00001.jsonl").read_text().splitlines()
    def strip(rows):
        return [{k: v for k, v in json.loads(r).items() if k != "provenance"} for r in rows]

    assert strip(a) == strip(b)


def test_verify_detects_tampering(demo_out, tmp_path):
    out, _ = demo_out
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    assert run_cli("verify", str(copy)).returncode == 0
    target = copy / "articles" / "part-00000-of-00001.jsonl"
    target.write_text(target.read_text()[:-200])
    proc = run_cli("verify", str(copy))
    assert proc.returncode == 1 and "sha256" in proc.stderr


def test_missing_input_fails_fast_with_one_line(tmp_path):
    proc = run_cli("run", "--input", str(tmp_path / "nope"), "--output", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("newsnorm: error: input not found")
    assert "Traceback" not in proc.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_output_fails_fast(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    proc = run_cli("run", "--input", str(EXAMPLE_DROP), "--output", str(ro / "out"))
    assert proc.returncode == 2 and "not writable" in proc.stderr


def test_output_path_that_is_a_file_fails_fast(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = run_cli("run", "--input", str(EXAMPLE_DROP), "--output", str(blocker / "out"))
    assert proc.returncode == 2 and "not writable" in proc.stderr
    assert "Traceback" not in proc.stderr
