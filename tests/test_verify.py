"""`newsnorm verify DIR [--input DROP]`: the reconciliation check on an output directory.

One run of examples/drop (2 shards) is copied and tampered with in each test. Tampering that
also fixes the manifest (sizes, sha256, rows, counts) shows that the deeper checks catch it on
their own: article ids written once, every input unit (file, line, entry) accounted for exactly
once, and, with --input, the units of the drop equal to the units in the output.
"""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from pipeline.manifest import verify
from tests.conftest import EXAMPLE_DROP, run_cli


@pytest.fixture(scope="module")
def good_out(tmp_path_factory):
    root = tmp_path_factory.mktemp("verify")
    out = root / "out"
    proc = run_cli("run", "--input", str(EXAMPLE_DROP), "--output", str(out), "--num_shards", "2",
                   "--models_dir", str(root / "no-models"), "--quiet")
    assert proc.returncode == 0, proc.stderr
    return out


def _copy(good_out, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(good_out, copy)
    return copy, json.loads((copy / "manifest.json").read_text())


def _save(copy, manifest):
    (copy / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")


def _rewrite(copy, manifest, rel, data: bytes, rows_delta=0):
    """Change a file AND its manifest entry (size, sha256, rows), so only deeper checks see it."""
    (copy / rel).write_bytes(data)
    for f in manifest["files"]:
        if f["path"] == rel:
            f["bytes"], f["sha256"] = len(data), hashlib.sha256(data).hexdigest()
            f["rows"] += rows_delta


def _jsonl_only(problems):
    """The problems a JSON Lines tampering causes, without its Parquet twin now disagreeing
    (that check has its own tests below)."""
    return [p for p in problems if ".parquet: " not in p and not p.startswith("articles (Parquet)")]


def _rewrite_parquet(copy, manifest, rel, drop_id):
    """Remove the row of `drop_id` from a Parquet file AND fix its manifest entry."""
    import pyarrow.parquet as pq

    table = pq.read_table(copy / rel)
    keep = [i for i, x in enumerate(table.column("id").to_pylist()) if x != drop_id]
    assert len(keep) == table.num_rows - 1
    pq.write_table(table.take(keep), copy / rel, compression="zstd")
    _rewrite(copy, manifest, rel, (copy / rel).read_bytes(), rows_delta=-1)


def _shards(copy, kind="articles"):
    return sorted(str(p.relative_to(copy)) for p in (copy / kind).glob("*.jsonl"))


def _records(copy, kind):
    """[(rel path, line number, record)] of every row of one kind."""
    return [(rel, n, json.loads(line)) for rel in _shards(copy, kind)
            for n, line in enumerate((copy / rel).read_text(encoding="utf-8").splitlines(), 1)]


# --------------------------------------------------------------------------- a good output


def test_verify_good_output_has_no_problem(good_out):
    assert verify(str(good_out)) == []
    assert verify(str(good_out), str(EXAMPLE_DROP)) == []
    proc = run_cli("verify", str(good_out))
    assert proc.returncode == 0 and proc.stdout.startswith("OK")
    proc = run_cli("verify", str(good_out), "--input", str(EXAMPLE_DROP))
    assert proc.returncode == 0 and "checked against the input" in proc.stdout, proc.stderr


def test_every_input_unit_is_in_the_output_once(good_out):
    """The units verify --input finds in the drop are exactly the records' provenances, the
    file-level dead letter (empty.jsonl) and the duplicate_id dead letter included."""
    from pipeline.manifest import input_units, provenance_key

    units = input_units(str(EXAMPLE_DROP))
    records = _records(good_out, "articles") + _records(good_out, "dead_letter")
    keys = [provenance_key(r["provenance"]) for _, _, r in records]
    assert len(keys) == len(set(keys)) == len(units) == 13
    assert set(keys) == set(units)
    assert ("empty.jsonl", 0, 0) in units
    dup = [r for _, _, r in records if r.get("reason") == "duplicate_id"]
    assert len(dup) == 1 and units[provenance_key(dup[0]["provenance"])] == dup[0]["id"]


# --------------------------------------------------------------------------- files and counts


def test_verify_missing_file(good_out, tmp_path):
    copy, _ = _copy(good_out, tmp_path)
    (copy / _shards(copy)[1]).unlink()
    assert any("listed in the manifest but missing" in p for p in verify(str(copy)))


def test_verify_stale_extra_file(good_out, tmp_path):
    copy, _ = _copy(good_out, tmp_path)
    (copy / "articles" / "part-00000-of-00003.jsonl").write_text("{}\n")
    assert verify(str(copy)) == [
        "articles/part-00000-of-00003.jsonl: present but not listed in the manifest (stale file?)"]
    proc = run_cli("verify", str(copy))
    assert proc.returncode == 1 and "stale file" in proc.stderr


def test_verify_changed_bytes_same_size(good_out, tmp_path):
    copy, _ = _copy(good_out, tmp_path)
    path = copy / _shards(copy)[0]
    data = bytearray(path.read_bytes())
    data[10] = ord("Z") if data[10] != ord("Z") else ord("Y")
    path.write_bytes(bytes(data))
    assert _jsonl_only(verify(str(copy))) == [
        f"{_shards(copy)[0]}: sha256 differs from the manifest"]


def test_verify_row_count_mismatch(good_out, tmp_path):
    copy, manifest = _copy(good_out, tmp_path)
    rel = _shards(copy)[0]
    lines = (copy / rel).read_bytes().splitlines(keepends=True)
    assert len(lines) >= 2
    _rewrite(copy, manifest, rel, b"".join(lines[:-1]))  # size and sha256 updated, rows not
    _save(copy, manifest)
    assert f"{rel}: {len(lines) - 1} rows, manifest says {len(lines)}" in verify(str(copy))


def test_verify_counts_do_not_reconcile(good_out, tmp_path):
    copy, manifest = _copy(good_out, tmp_path)
    manifest["counts"]["read"] += 1
    _save(copy, manifest)
    (problem,) = verify(str(copy))
    assert problem.startswith("counts do not reconcile: read ")


def test_verify_no_or_broken_manifest(good_out, tmp_path):
    copy, _ = _copy(good_out, tmp_path)
    (copy / "manifest.json").write_text("{not json")
    assert "unreadable manifest" in verify(str(copy))[0]
    (copy / "manifest.json").unlink()
    assert "no manifest" in verify(str(copy))[0]


# --------------------------------------------------------------------------- accounting


def test_verify_duplicate_article_line(good_out, tmp_path):
    copy, manifest = _copy(good_out, tmp_path)
    first, second = _shards(copy)
    line = (copy / first).read_bytes().splitlines(keepends=True)[0]
    rows = len((copy / second).read_bytes().splitlines())
    _rewrite(copy, manifest, second, (copy / second).read_bytes() + line, rows_delta=1)
    manifest["counts"]["written"] += 1
    manifest["counts"]["read"] += 1  # everything else consistent: only the duplicate is wrong
    _save(copy, manifest)
    record = json.loads(line)
    aid, prov = record["id"], record["provenance"]
    assert _jsonl_only(verify(str(copy))) == [
        f"article id {aid!r} written twice ({first} and {second})",
        f"input {prov['file']} line {prov['line']} accounted for twice: "
        f"article {aid!r} ({first} line 1) and article {aid!r} ({second} line {rows + 1})"]


def test_verify_duplicate_dead_letter(good_out, tmp_path):
    """A dead letter written twice: files, rows and counts all agree; only accounting sees it."""
    copy, manifest = _copy(good_out, tmp_path)
    rel, number, record = next(r for r in _records(copy, "dead_letter")
                               if r[2]["reason"] == "truncated_json")
    data = (copy / rel).read_bytes()
    line = data.splitlines(keepends=True)[number - 1]
    _rewrite(copy, manifest, rel, data + line, rows_delta=1)
    manifest["counts"]["dead_lettered"] += 1
    manifest["counts"]["read"] += 1
    _save(copy, manifest)
    rows = len(data.splitlines())
    prov = record["provenance"]
    expected = (f"input {prov['file']} line {prov['line']} accounted for twice: "
                f"dead letter {record['id']!r} ({rel} line {number}) and "
                f"dead letter {record['id']!r} ({rel} line {rows + 1})")
    assert verify(str(copy)) == [expected]
    proc = run_cli("verify", str(copy))
    assert proc.returncode == 1 and f"FAIL {expected}" in proc.stderr


def test_verify_record_without_provenance(good_out, tmp_path):
    copy, manifest = _copy(good_out, tmp_path)
    rel = _shards(copy, "dead_letter")[0]
    lines = (copy / rel).read_bytes().splitlines(keepends=True)
    record = json.loads(lines[0])
    record["provenance"] = None
    lines[0] = json.dumps(record, ensure_ascii=False).encode() + b"\n"
    _rewrite(copy, manifest, rel, b"".join(lines))
    _save(copy, manifest)
    assert verify(str(copy)) == [
        f"dead letter {record['id']!r} ({rel} line 1): no provenance (input file, line, entry)"]


def test_verify_removed_article_is_caught_only_against_the_input(good_out, tmp_path):
    """An article removed from both its JSON Lines line and its Parquet row, and the manifest
    re-fixed (bytes, sha256, rows, counts): the output is self-consistent, so verify alone
    cannot know; verify --input names the unit."""
    copy, manifest = _copy(good_out, tmp_path)
    rel = _shards(copy)[0]
    lines = (copy / rel).read_bytes().splitlines(keepends=True)
    gone = json.loads(lines[0])
    _rewrite(copy, manifest, rel, b"".join(lines[1:]), rows_delta=-1)
    _rewrite_parquet(copy, manifest, rel.replace(".jsonl", ".parquet"), gone["id"])
    manifest["counts"]["written"] -= 1
    manifest["counts"]["read"] -= 1
    _save(copy, manifest)
    assert verify(str(copy)) == []
    prov = gone["provenance"]
    where = f"{prov['file']} line {prov['line']}" if prov["line"] else \
        f"{prov['file']} entry {prov['entry']}"
    expected = f"input {where} (id {gone['id']!r}) is missing from the output"
    assert verify(str(copy), str(EXAMPLE_DROP)) == [expected]
    proc = run_cli("verify", str(copy), "--input", str(EXAMPLE_DROP))
    assert proc.returncode == 1 and f"FAIL {expected}" in proc.stderr
    assert "1 problem(s)" in proc.stderr


def test_verify_against_a_drop_with_one_more_record(good_out, tmp_path):
    drop = tmp_path / "drop"
    shutil.copytree(EXAMPLE_DROP, drop)
    with open(drop / "articles.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "extra-1", "title": "One more", "body": "Text.",
                             "lang": "en"}) + "\n")
    line = len((drop / "articles.jsonl").read_text(encoding="utf-8").splitlines())
    expected = f"input articles.jsonl line {line} (id 'extra-1') is missing from the output"
    assert verify(str(good_out), str(drop)) == [expected]
    proc = run_cli("verify", str(good_out), "--input", str(drop))
    assert proc.returncode == 1 and f"FAIL {expected}" in proc.stderr


def test_verify_against_a_drop_with_a_file_less(good_out, tmp_path):
    """Output units that the given input does not have are reported as unexpected."""
    drop = tmp_path / "drop"
    shutil.copytree(EXAMPLE_DROP, drop)
    (drop / "page.html").unlink()
    problems = verify(str(good_out), str(drop))
    assert len(problems) == 1
    assert problems[0].endswith(": comes from page.html entry 1, which is not in the input")


def test_verify_input_not_found(good_out, tmp_path):
    proc = run_cli("verify", str(good_out), "--input", str(tmp_path / "nowhere"))
    assert proc.returncode == 2 and "input not found" in proc.stderr


def test_verify_record_from_a_file_not_in_the_input(good_out, tmp_path):
    copy, manifest = _copy(good_out, tmp_path)
    rel = _shards(copy, "dead_letter")[0]
    lines = (copy / rel).read_bytes().splitlines(keepends=True)
    record = json.loads(lines[0])
    record["provenance"]["file"] = "../elsewhere.jsonl"
    lines[0] = json.dumps(record, ensure_ascii=False).encode() + b"\n"
    _rewrite(copy, manifest, rel, b"".join(lines))
    _save(copy, manifest)
    assert verify(str(copy)) == [
        f"dead letter {record['id']!r} ({rel} line 1): comes from '../elsewhere.jsonl', which "
        "is not an input file in the manifest"]


def test_verify_record_with_another_id_than_its_input(good_out, tmp_path):
    copy, manifest = _copy(good_out, tmp_path)
    rel, number, record = next(r for r in _records(copy, "dead_letter")
                               if r[2]["reason"] == "duplicate_id")
    data = (copy / rel).read_bytes().splitlines(keepends=True)
    data[number - 1] = data[number - 1].replace(
        json.dumps(record["id"]).encode(), b'"renamed"', 1)
    _rewrite(copy, manifest, rel, b"".join(data))
    _save(copy, manifest)
    assert verify(str(copy)) == []  # self-consistent: only the input can tell
    prov = record["provenance"]
    assert verify(str(copy), str(EXAMPLE_DROP)) == [
        f"dead letter 'renamed' ({rel} line {number}): input {prov['file']} line {prov['line']} "
        f"has id {record['id']!r}"]


def test_verify_missing_parquet_row_is_caught(good_out, tmp_path):
    """Issue 21 cause 2: a Parquet row removed and the file's size, sha256 and rows re-fixed
    in the manifest. Parquet rows are counted and compared with the JSON Lines twin."""
    copy, manifest = _copy(good_out, tmp_path)
    rel = _shards(copy)[0].replace(".jsonl", ".parquet")
    import pyarrow.parquet as pq

    gone = pq.read_table(copy / rel).column("id").to_pylist()[0]
    _rewrite_parquet(copy, manifest, rel, gone)
    _save(copy, manifest)
    twin = rel.replace(".parquet", ".jsonl")
    problems = verify(str(copy), str(EXAMPLE_DROP))
    assert f"{rel}: article {gone!r} of {twin} is missing" in problems
    assert any(p.startswith("articles (Parquet): ") for p in problems)
    proc = run_cli("verify", str(copy), "--input", str(EXAMPLE_DROP))
    assert proc.returncode == 1 and "is missing" in proc.stderr
    # The row count alone, when only the file's bytes and sha256 were re-fixed:
    (entry,) = [f for f in manifest["files"] if f["path"] == rel]
    entry["rows"] += 1
    _save(copy, manifest)
    assert f"{rel}: {entry['rows'] - 1} rows, manifest says {entry['rows']}" in verify(str(copy))


def test_verify_unreadable_parquet_is_caught(good_out, tmp_path):
    copy, manifest = _copy(good_out, tmp_path)
    rel = _shards(copy)[0].replace(".jsonl", ".parquet")
    _rewrite(copy, manifest, rel, b"PAR1 not really")
    _save(copy, manifest)
    assert any(p.startswith(f"{rel}: not a readable Parquet file") for p in verify(str(copy)))
