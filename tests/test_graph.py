"""TestPipeline tests of the graph: assert_that on the cleaned articles and the dead letters."""

from __future__ import annotations

import json

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline import graph
from pipeline.options import JobConfig


def _write(tmp_path, name, lines):
    path = tmp_path / name
    path.write_text("".join(json.dumps(x) + "\n" if not isinstance(x, str) else x + "\n"
                            for x in lines), encoding="utf-8")
    return str(path), name


def test_graph_outputs_and_dead_letters(tmp_path):
    files = [
        _write(tmp_path, "a.jsonl", [
            {"id": "a1", "title": "Rain floods homes", "body": "Heavy rain flooded 200 homes.",
             "lang": "en"},
            {"id": "a2", "title": "", "body": ""},
            '{"id": "cut", "title": "trunc',
            {"id": "a1", "title": "dup", "body": "dup body"},
        ]),
        _write(tmp_path, "b.jsonl", [{"id": "b1", "title": "Second file", "body": "Text.",
                                      "lang": "en"}]),
    ]
    config = JobConfig(input=str(tmp_path), output=str(tmp_path / "out"), progress=False,
                       report=False)
    staging = str(tmp_path / "staging")
    with TestPipeline(options=beam.options.pipeline_options.PipelineOptions(
            ["--runner=FnApiRunner"])) as p:
        outs = graph.build(p, files, "drop", staging, config, num_shards=2)
        assert_that(outs["articles"] | "ids" >> beam.Map(lambda r: (r["id"], r["status"])),
                    equal_to([("a1", "english"), ("b1", "english")]), label="articles")
        assert_that(outs["dead"] | "reasons" >> beam.Map(lambda d: (d["stage"], d["reason"])),
                    equal_to([("parse", "no_title_no_body"), ("parse", "truncated_json"),
                              ("dedupe", "duplicate_id")]), label="dead")
    results = json.loads((tmp_path / "staging" / graph.RESULTS_NAME).read_text())
    inputs = [r for r in results if r["kind"] == "input"]
    assert sum(r["units"] for r in inputs) == 5
    written = [r for r in results if r["kind"] == "articles" and r["format"] == "jsonl"]
    assert len(written) == 2 and sum(r["rows"] for r in written) == 2  # both shards exist


def test_stage_exception_becomes_dead_letter_not_failed_job(tmp_path, monkeypatch):
    from transforms import repair

    def boom(self, article):
        if article["id"] == "bad":
            raise ValueError("poison record")
        return article

    monkeypatch.setattr(repair.RepairStage, "process", boom)
    files = [_write(tmp_path, "a.jsonl", [{"id": "ok", "title": "t", "body": "b", "lang": "en"},
                                          {"id": "bad", "title": "t", "body": "b", "lang": "en"}])]
    config = JobConfig(input=str(tmp_path), output=str(tmp_path / "o"), progress=False)
    with TestPipeline(options=beam.options.pipeline_options.PipelineOptions(
            ["--runner=FnApiRunner"])) as p:
        outs = graph.build(p, files, "drop", str(tmp_path / "s"), config, num_shards=1)
        assert_that(outs["articles"] | "ids" >> beam.Map(lambda r: r["id"]), equal_to(["ok"]),
                    label="articles")
        assert_that(outs["dead"] | "r" >> beam.Map(lambda d: (d["id"], d["stage"], d["reason"],
                                                              "poison record" in d["error"])),
                    equal_to([("bad", "repair", "repair_error", True)]), label="dead")
