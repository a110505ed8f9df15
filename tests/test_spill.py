"""The disk shuffle (pipeline/spill.py): runs, merges, the memory bound of the run writer, and
the same files as Beam's shuffles."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from pipeline import run as run_mod
from pipeline import spill
from pipeline.options import JobConfig

TRICKY_KEYS = ["b", "a\tb", "a\nb", "a", "a\u2028b", "é", "", "a b", "\x00", "z" * 300]


def test_run_round_trip_and_merge_order(tmp_path):
    entries = [(k, f"tag{i % 3}", json.dumps({"k": k, "i": i}, ensure_ascii=False))
               for i, k in enumerate(TRICKY_KEYS * 3)]
    paths = []
    for n in range(3):  # three runs, each a different slice in a different order
        part = entries[n::3][::-1]
        path = str(tmp_path / f"{n}.run")
        spill.write_run(path, list(part))
        assert list(spill.read_run(path)) == sorted(part)  # each run is sorted and exact
        paths.append(path)
    assert list(spill.merge_runs(paths)) == sorted(entries)
    assert list(spill.merge_runs(paths[::-1])) == sorted(entries)  # run order does not matter


def test_reference_runs_group_like_group_by_key(tmp_path):
    """Runs of references merged per shard give each key once, with all its references, and
    for the dedupe the copies of an id in input order whatever run they were in."""
    refs = [{"id": f"id{i % 5}", "url": f"u{i % 3}",
             "provenance": {"file": f"f{i % 2}", "line": i}, "at": ["x.pkl", i, 1]}
            for i in range(40)]
    fn = spill.WriteRunsFn(str(tmp_path), spill.REF_BY_ID, num_shards=3, run_bytes=500)
    fn.start_bundle()
    runs = [r for ref in refs[::-1] for r in fn.process(ref)]
    runs += [wv.value for wv in fn.finish_bundle()]
    by_shard: dict = {}
    for shard, path in runs:
        by_shard.setdefault(shard, []).append(path)
    assert max(len(v) for v in by_shard.values()) > 1  # several runs per shard were merged
    groups = [g for shard in sorted(by_shard) for g in spill.merged_groups((shard, by_shard[shard]))]
    assert sorted(k for k, _ in groups) == [f"id{i}" for i in range(5)]
    for key, members in groups:
        expected = sorted((r for r in refs if r["id"] == key),
                          key=lambda r: (r["provenance"]["file"], r["provenance"]["line"]))
        assert members == expected


def test_spilled_article_comes_back_equal(tmp_path):
    fn = spill.SpillFn(str(tmp_path))
    fn.start_bundle()
    articles = [{"id": f"x{i}", "url": "u" if i else "", "lang": "ar", "title": "ع" * i,
                 "body": "\ud800 lone surrogate" if i == 2 else "b", "provenance": {"line": i}}
                for i in range(4)]
    refs = [ref for a in articles for ref in fn.process(a)]
    fn.finish_bundle()
    assert [r["id"] for r in refs] == ["x0", "x1", "x2", "x3"]
    assert all(set(r) == {"id", "url", "provenance", "at"} for r in refs)
    assert [r["provenance"] for r in refs] == [{"line": i} for i in range(4)]
    assert [spill.load_spilled(r, str(tmp_path)) for r in reversed(refs)] == articles[::-1]


def test_run_writer_bounds_its_buffer(tmp_path):
    """Runs are written while records arrive, never more than run_bytes (+ one record) each:
    what keeps a worker's memory flat however large the drop."""
    fn = spill.WriteRunsFn(str(tmp_path), "articles", num_shards=2, run_bytes=2000)
    fn.start_bundle()
    emitted = []
    for i in range(60):
        emitted += list(fn.process({"id": f"id{i:03d}", "status": "english",
                                    "title": "t" * 50, "body": "b" * 100}))
    during = len(emitted)
    emitted += [wv.value for wv in fn.finish_bundle()]
    assert during >= 4  # flushed along the way, not only at the end
    line_bytes = len(spill.record_entry("articles", {"id": "id000", "status": "english",
                                                     "title": "t" * 50, "body": "b" * 100})[2])
    for shard, path in emitted:
        rows = list(spill.read_run(path))
        assert sum(len(r[2]) for r in rows) <= 2000 + line_bytes
        assert rows == sorted(rows)
        assert {spill.entry_shard(r, 2) for r in rows} == {shard}
    ids = sorted(r[0] for _, p in emitted for r in spill.read_run(p))
    assert ids == [f"id{i:03d}" for i in range(60)]  # every record in exactly one run


def test_merged_shard_equals_sorted_shard(tmp_path):
    records = [{"id": k or "empty", "status": "english", "title": k, "body": "b"}
               for k in TRICKY_KEYS]
    entries = [spill.record_entry("articles", r) for r in records]
    runs = []
    for n in range(2):
        path = str(tmp_path / f"r{n}.run")
        spill.write_run(path, entries[n::2])
        runs.append(path)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    merged = spill.write_shard(str(tmp_path / "a"), "articles", 0, 1, spill.merge_runs(runs))
    plain = spill.write_shard(str(tmp_path / "b"), "articles", 0, 1, sorted(entries))
    assert merged == plain
    assert [i["format"] for i in merged] == ["jsonl", "parquet"]
    assert merged[0]["rows"] == len(records)
    data = (tmp_path / "a" / merged[1]["path"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == merged[1]["sha256"] and len(data) == merged[1]["bytes"]


@pytest.mark.parametrize("runner,expected", [
    ("FnApiRunner", "disk"), ("DirectRunner", "disk"),
    ("apache_beam.runners.portability.fn_api_runner.FnApiRunner", "disk"),
    ("DataflowRunner", "beam"), ("FlinkRunner", "beam"), ("PortableRunner", "beam")])
def test_auto_shuffle_is_disk_only_on_local_runners(tmp_path, runner, expected):
    config = JobConfig(input="i", output=str(tmp_path))
    path = run_mod.spill_dir(config, runner, str(tmp_path / "_staging" / "r1"))
    assert ("disk" if path else "beam") == expected
    if path:
        assert path == str(tmp_path / "_staging" / "r1-spill") and os.path.isdir(path)
    forced = JobConfig(input="i", output=str(tmp_path), shuffle="beam")
    assert run_mod.spill_dir(forced, "FnApiRunner", str(tmp_path / "s")) is None
    if expected == "beam":  # spill files on one machine cannot serve remote workers
        with pytest.raises(run_mod.UsageError, match="--shuffle beam"):
            run_mod.spill_dir(JobConfig(input="i", output=str(tmp_path), shuffle="disk"),
                              runner, str(tmp_path / "s"))


def _drop(tmp_path: Path) -> Path:
    """Duplicates across files, URL siblings, broken lines, enough rows for several runs."""
    drop = tmp_path / "drop"
    drop.mkdir()
    for n in range(2):
        lines = [json.dumps({"id": f"en{n}-{i}", "url": f"https://x.test/{i}", "lang": "en",
                             "title": f"Report {i}", "body": f"More than 30,<> dead in town {i}."})
                 for i in range(40)]
        lines += [json.dumps({"id": f"ar{n}-{i}", "url": f"https://x.test/{i}", "lang": "ar",
                              "title": "تقرير", "body": "أكثر من 30 ألف شهيد."})
                  for i in range(0, 40, 4)]
        lines += [json.dumps({"id": "dup", "title": f"copy {n}", "body": "same id"}),
                  '{"id": "cut', "[1, 2]"]
        (drop / f"p{n}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return drop


def _files(out: Path) -> dict[str, str]:
    return {str(f.relative_to(out)): hashlib.sha256(f.read_bytes()).hexdigest()
            for d in ("articles", "dead_letter") for f in sorted((out / d).iterdir())}


def test_cli_disk_and_beam_shuffles_write_identical_files(tmp_path, monkeypatch):
    monkeypatch.setattr(spill, "RUN_BYTES", 4000)  # many small runs per shard
    written_runs = []
    real_write_run = spill.write_run
    monkeypatch.setattr(spill, "write_run",
                        lambda path, entries: (written_runs.append(path),
                                               real_write_run(path, entries)))
    drop = _drop(tmp_path)
    outs = {}
    for mode in ("disk", "beam"):
        written_runs.clear()
        out = tmp_path / mode
        assert run_mod.run(["--input", str(drop), "--output", str(out), "--quiet",
                            "--no_report", "--num_shards", "3", "--shuffle", mode]) == 0
        outs[mode] = _files(out)
        assert (len(written_runs) > 6) == (mode == "disk")  # several runs per article shard
        assert not (out / run_mod.STAGING_DIR).exists()  # spill and staging removed
        doc = json.loads((out / "manifest.json").read_text())
        assert doc["counts"]["reconciled"] and doc["counts"]["read"] == 106
        assert doc["counts"]["dead_letter_by_reason"] == {
            "duplicate_id": 1, "not_an_object": 2, "truncated_json": 2}
    assert outs["disk"] == outs["beam"] and len(outs["disk"]) == 9
    rows = [json.loads(x) for f in sorted((tmp_path / "disk" / "articles").glob("*.jsonl"))
            for x in f.read_text(encoding="utf-8").splitlines()]
    en = next(r for r in rows if r["id"] == "en0-4")
    assert "30,000" in en["body"]  # the Arabic sibling at the same URL reached the repair stage
