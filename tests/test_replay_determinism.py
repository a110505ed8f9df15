"""Replay: the same drop run twice, in another order and with another worker count, gives
byte-identical output files.

Two tests, because the input order can change in two ways:
- The order of FILES (and of everything downstream of the parse): graph.build gets the file
  list shuffled and runs on 2 multi_processing workers; every staged file (articles JSONL and
  Parquet, dead letters, the per-file results) must be byte-identical. Provenance is unchanged,
  so nothing is removed before comparing.
- The order of LINES inside a file, through `newsnorm run`: provenance records the line number
  of each input, and a line that moves legitimately gets a new one. So the article records are
  compared after removing provenance.line/entry only; every other byte must match.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from pathlib import Path

import pytest

from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline

from pipeline import graph
from pipeline.options import JobConfig
from tests.conftest import EXAMPLE_DROP, run_cli

SEED = 20261125

FR = ["Le maire de Lyon a présenté lundi un plan de 120 millions d'euros pour les écoles.",
      "La police a interpellé 3 personnes après l'incendie d'un entrepôt à Marseille.",
      "Le gouvernement prévoit une hausse de 2,5 % du budget de la santé en 2025."]
AR = ["أعلنت وزارة الصحة يوم الاثنين عن افتتاح 12 مستشفى جديدا في المدن الكبرى.",
      "قال المتحدث باسم الحكومة إن المفاوضات ستستأنف الأسبوع المقبل في القاهرة."]


def _make_drop(root: Path) -> Path:
    """Several files of several formats, with a duplicate id across files and dead letters."""
    drop = root / "drop"
    shutil.copytree(EXAMPLE_DROP, drop)
    rng = random.Random(SEED)
    for n in range(4):
        lines = []
        for i in range(25):
            lang, texts = rng.choice([("fr", FR), ("ar", AR), ("en", None)])
            body = (" ".join(rng.sample(texts, 2)) if texts else
                    f"The council met on day {i} and approved {rng.randint(2, 900)} projects.")
            lines.append(json.dumps({"id": f"f{n}-{i}", "title": f"Report {n}-{i}", "lang": lang,
                                     "body": body + "\n\nSecond paragraph " + str(i) + "."},
                                    ensure_ascii=False))
        lines.append(json.dumps({"id": "shared-id", "title": f"Copy from file {n}",
                                 "body": "Same id in every file."}))
        lines.append('{"id": "cut-' + str(n) + '", "title": "trunc')
        (drop / f"part{n}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (drop / "array.json").write_text(json.dumps(
        [{"id": f"arr{i}", "title": f"Array item {i}", "body": FR[i % 3], "lang": "fr"}
         for i in range(6)] + [7], ensure_ascii=False), encoding="utf-8")
    return drop


def _files(drop: Path) -> list[tuple[str, str]]:
    return sorted((str(p), p.name) for p in drop.iterdir() if p.is_file())


def _staged(tmp: Path, files, options, models, spill: bool = False) -> dict[str, str]:
    config = JobConfig(input="x", output="y", progress=False, report=False,
                       models_dir=str(models))
    staging = tmp / "staging"
    with TestPipeline(options=PipelineOptions(options)) as p:
        graph.build(p, files, "drop", str(staging), config, num_shards=3,
                    spill=str(tmp / "spill") if spill else None)
    return {str(f.relative_to(staging)): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in sorted(staging.rglob("*")) if f.is_file()}


@pytest.mark.slow  # multi-process replay, 29 s under load
@pytest.mark.timeout(600)
def test_shuffled_files_two_workers_byte_identical(tmp_path, tiny_models_dir):
    drop = _make_drop(tmp_path)
    files = _files(drop)
    shuffled = list(files)
    random.Random(SEED).shuffle(shuffled)
    assert shuffled != files
    # One worker with Beam's shuffles vs two worker processes with the disk shuffle (spill
    # files and merged runs): neither the graph's shape nor the worker count shows in the files.
    one = _staged(tmp_path / "one", files, ["--runner=FnApiRunner"], tiny_models_dir)
    two = _staged(tmp_path / "two", shuffled,
                  ["--runner=FnApiRunner", "--direct_running_mode=multi_processing",
                   "--direct_num_workers=2"], tiny_models_dir, spill=True)
    assert list((tmp_path / "two" / "spill" / "parsed").iterdir())  # the disk path was taken
    # All three shards of each kind, both formats, and the per-file results.
    assert sum(k.startswith("articles/") for k in one) == 6
    assert sum(k.startswith("dead_letter/") for k in one) == 3
    assert one == two


def _articles_without_line(out: Path) -> list[str]:
    rows = []
    for f in sorted((out / "articles").glob("*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            rec["provenance"].pop("line")
            rec["provenance"].pop("entry")
            rows.append(json.dumps(rec, ensure_ascii=False, sort_keys=True))
    return rows


@pytest.mark.slow  # multi-process replay, 33 s under load
@pytest.mark.timeout(600)
def test_cli_shuffled_lines_multiprocessing_same_articles(tmp_path, tiny_models_dir):
    drop = _make_drop(tmp_path)
    # Only the JSON Lines files without a duplicate id are shuffled: which copy of a duplicate
    # id wins is decided by input position, so moving lines would legitimately change it.
    shuffled = tmp_path / "shuffled" / drop.name  # same drop name: it is in the provenance
    shutil.copytree(drop, shuffled)
    rng = random.Random(SEED)
    for f in sorted(shuffled.glob("part*.jsonl")):
        lines = [x for x in f.read_text(encoding="utf-8").splitlines() if "shared-id" not in x]
        rng.shuffle(lines)
        f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for f in sorted(drop.glob("part*.jsonl")):
        f.write_text("".join(x + "\n" for x in f.read_text(encoding="utf-8").splitlines()
                             if "shared-id" not in x), encoding="utf-8")
    common = ["--num_shards", "2", "--models_dir", str(tiny_models_dir), "--no_report", "--quiet"]
    a = run_cli("run", "--input", str(drop), "--output", str(tmp_path / "a"), *common)
    assert a.returncode == 0, a.stderr
    b = run_cli("run", "--input", str(shuffled), "--output", str(tmp_path / "b"), *common,
                "--direct_running_mode=multi_processing", "--direct_num_workers=2")
    assert b.returncode == 0, b.stderr
    rows_a, rows_b = _articles_without_line(tmp_path / "a"), _articles_without_line(tmp_path / "b")
    assert len(rows_a) > 100
    assert any(json.loads(r)["translation"]["model"] == "tiny-test" for r in rows_a)  # translated
    assert rows_a == rows_b  # same records, same order inside the same shards
    ma = json.loads((tmp_path / "a" / "manifest.json").read_text())
    mb = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert ma["counts"] == mb["counts"]
    assert "multi_processing" in " ".join(mb["run"]["beam_args"])
