"""Faults inside stages: exceptions, poison records in batches, per-record time limits.

Every fault must end as a dead letter naming the stage and the error, never as a failed or hung
job, and the counts must still reconcile (read = written + dead-lettered). The graph runs on
TestPipeline/FnApiRunner as in tests/test_graph.py; stages are replaced with monkeypatch.
"""

from __future__ import annotations

import glob
import json
import threading

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline import graph
from pipeline.options import JobConfig
from pipeline.stages import STAGE_CLASSES, STAGE_ORDER, TimeLimit, StageTimeout, apply_stages
from transforms.record import Reject, new_article
from transforms.stage import Stage as BaseStage

IDS = ["a1", "a2", "bad", "a4", "a5"]


def _drop(tmp_path, ids=IDS):
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({
        "id": i, "title": f"Council approves budget {i}",
        "body": "The city council approved the budget on Tuesday after a long debate.",
        "lang": "en"}) + "\n" for i in ids), encoding="utf-8")
    return [(str(path), "in.jsonl")]


def _config(tmp_path, **kw):
    return JobConfig(input=str(tmp_path), output=str(tmp_path / "out"), progress=False,
                     report=False, models_dir=str(tmp_path / "no-models"), **kw)


def _run_graph(tmp_path, config, files):
    staging = tmp_path / "staging"
    with TestPipeline(options=PipelineOptions(["--runner=FnApiRunner"])) as p:
        graph.build(p, files, "drop", str(staging), config, num_shards=2)
    articles = [json.loads(line) for f in sorted(glob.glob(str(staging / "articles/*.jsonl")))
                for line in open(f, encoding="utf-8")]
    dead = [json.loads(line) for f in sorted(glob.glob(str(staging / "dead_letter/*.jsonl")))
            for line in open(f, encoding="utf-8")]
    results = json.loads((staging / graph.RESULTS_NAME).read_text())
    read = sum(r["units"] for r in results if r["kind"] == "input")
    return articles, dead, read


# --------------------------------------------------------------------------- exceptions


@pytest.mark.parametrize("stage", STAGE_ORDER)
def test_exception_in_any_stage_is_a_dead_letter(tmp_path, monkeypatch, stage):
    cls = STAGE_CLASSES[stage]
    if getattr(cls, "batched", False):
        original = cls.process_batch

        def process_batch(self, articles):
            if any(a["id"] == "bad" for a in articles):
                raise ZeroDivisionError("injected fault")
            return original(self, articles)

        monkeypatch.setattr(cls, "process_batch", process_batch)
    else:
        original = cls.process

        def process(self, article, **side):  # side: the language stage's source_langs
            if article["id"] == "bad":
                raise ZeroDivisionError("injected fault")
            return original(self, article, **side)

        monkeypatch.setattr(cls, "process", process)
    articles, dead, read = _run_graph(tmp_path, _config(tmp_path), _drop(tmp_path))
    assert sorted(a["id"] for a in articles) == ["a1", "a2", "a4", "a5"]
    assert [(d["id"], d["stage"], d["reason"]) for d in dead] == [
        ("bad", stage, f"{stage}_error")]
    assert dead[0]["error"].startswith("ZeroDivisionError: injected fault")
    assert json.loads(dead[0]["raw"])["title"] == "Council approves budget bad"  # replayable
    assert read == len(IDS) == len(articles) + len(dead)


# --------------------------------------------------------------------------- time limits


def test_time_limit_unit():
    limit = TimeLimit(0.2)
    assert limit.call(str.upper, "x") == "X"
    release = threading.Event()
    with pytest.raises(StageTimeout):
        limit.call(release.wait, 30)
    # The abandoned call still runs; the next call gets a fresh thread and is not blocked by it.
    assert limit.call(str.upper, "y") == "Y"
    release.set()
    with pytest.raises(KeyError):  # errors come back to the caller unchanged
        limit.call({}.__getitem__, "missing")
    assert TimeLimit(0).call(len, "abcd") == 4  # 0 = off: called inline


@pytest.mark.parametrize("stage", ["normalize", "validate"])
def test_slow_record_is_dead_lettered_not_a_hung_job(tmp_path, monkeypatch, stage):
    cls = STAGE_CLASSES[stage]
    original = cls.process
    release = threading.Event()

    def process(self, article, **side):
        if article["id"] == "bad":
            release.wait(120)  # far above the limit: without it the job would wait 2 min
        return original(self, article, **side)

    monkeypatch.setattr(cls, "process", process)
    try:
        articles, dead, read = _run_graph(tmp_path, _config(tmp_path, stage_timeout_s=0.5),
                                          _drop(tmp_path))
    finally:
        release.set()
    assert sorted(a["id"] for a in articles) == ["a1", "a2", "a4", "a5"]
    assert [(d["id"], d["stage"], d["reason"]) for d in dead] == [
        ("bad", stage, f"{stage}_timeout")]
    assert "stage_timeout_s" in dead[0]["error"]
    assert read == len(articles) + len(dead)


# --------------------------------------------------------------------------- batched stages


class FakeBatchStage(BaseStage):
    """A batched stage that fails on a whole batch if it holds the poison record, and stalls
    on the slow one; good records get one flag (so a re-run on a changed record would show)."""

    name = "fakebatch"
    batched = True
    batch_kwargs = {"min_batch_size": 8, "max_batch_size": 8}
    release = threading.Event()

    def process_batch(self, articles):
        if any(a["id"] == "poison" for a in articles):
            raise RuntimeError("batch failed")
        if any(a["id"] == "slow" for a in articles):
            self.release.wait(120)
        out = []
        for a in articles:
            if a["id"] == "reject":
                out.append(Reject("fake_reject", "rejected"))
                continue
            a["flags"].append("fakebatch")
            out.append(a)
        return out


@pytest.fixture
def fake_batch_module(monkeypatch):
    monkeypatch.setitem(STAGE_CLASSES, "fakebatch", FakeBatchStage)
    FakeBatchStage.release = threading.Event()
    yield FakeBatchStage
    FakeBatchStage.release.set()


def _articles(ids):
    return [new_article({"id": i, "title": f"t {i}", "body": "b"}, {"file": "f", "line": n})
            for n, i in enumerate(ids, start=1)]


# "slow" bisects around a record that waits out a 0.3 s limit at every level (~5 s): slow tier.
@pytest.mark.parametrize("bad", ["poison", pytest.param("slow", marks=pytest.mark.slow)])
def test_batch_bisection_dead_letters_only_the_bad_record(tmp_path, fake_batch_module, bad):
    ids = [f"g{i}" for i in range(13)] + ["reject"]
    ids.insert(5, bad)
    config = _config(tmp_path, stage_timeout_s=0.3)
    with TestPipeline(options=PipelineOptions(["--runner=FnApiRunner"])) as p:
        out, deads = apply_stages(p | beam.Create(_articles(ids), reshuffle=False), config,
                                  names=["fakebatch"])
        assert_that(out | beam.Map(lambda a: (a["id"], tuple(a["flags"]))),
                    equal_to([(i, ("fakebatch",)) for i in ids if i not in (bad, "reject")]),
                    label="good")
        reason = "fakebatch_error" if bad == "poison" else "fakebatch_timeout"
        assert_that(deads[0] | beam.Map(lambda d: (d["id"], d["stage"], d["reason"])),
                    equal_to([(bad, "fakebatch", reason), ("reject", "fakebatch", "fake_reject")]),
                    label="dead")


def test_batch_returning_too_few_results_loses_nothing(tmp_path, monkeypatch, fake_batch_module):
    monkeypatch.setattr(FakeBatchStage, "process_batch",
                        lambda self, articles: list(articles)[:-1])  # drops the last record
    with TestPipeline(options=PipelineOptions(["--runner=FnApiRunner"])) as p:
        out, deads = apply_stages(p | beam.Create(_articles(["x1", "x2", "x3"]), reshuffle=False),
                                  _config(tmp_path), names=["fakebatch"])
        both = ((out | "o" >> beam.Map(lambda a: ("out", a["id"]))),
                (deads[0] | "d" >> beam.Map(lambda d: ("dead", d["id"])))) | beam.Flatten()
        # Every record comes out exactly once; none that the stage returned nothing for is lost.
        assert_that(both | beam.Map(lambda kv: kv[1]), equal_to(["x1", "x2", "x3"]))


# --------------------------------------------------------------------------- kill and rerun

# 600 articles take ~4-5 s through `newsnorm run` on this 2-core machine (2000 took 13.0 s),
# long enough for kills to land in every phase (start-up, parse, stages, write, publish) while
# the whole test stays under a minute.
KILL_ARTICLES = 600
KILL_EMPTY = 10  # records with an id but no text: dead letters that must also appear once
KILL_SEED = 20261125
KILLS = 5


def _kill_drop(root):
    drop = root / "drop"
    drop.mkdir()
    lines = []
    for i in range(KILL_ARTICLES):
        lines.append({"id": f"k{i:05d}", "title": f"Council votes on item {i}", "lang": "en",
                      "body": "The council met on Tuesday. " * (3 + i % 9)
                      + "\n\nA second paragraph follows."})
    for i in range(KILL_EMPTY):
        lines.append({"id": f"empty{i}", "title": "", "body": ""})
    half = len(lines) // 2
    for name, part in (("a.jsonl", lines[:half]), ("b.jsonl", lines[half:])):
        (drop / name).write_text("".join(json.dumps(x) + "\n" for x in part), encoding="utf-8")
    return drop, {x["id"] for x in lines}


def _start_run(drop, out, models, *extra):
    import subprocess

    from tests.conftest import REPO, newsnorm_cmd

    return subprocess.Popen(newsnorm_cmd() + ["run", "--input", str(drop), "--output", str(out),
                                              "--num_shards", "2", "--models_dir", str(models),
                                              "--quiet", *extra],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def _ids_once(out, expected):
    """Every input id exactly once across articles and dead letters."""
    seen = []
    for kind in ("articles", "dead_letter"):
        for f in sorted((out / kind).glob("*.jsonl")):
            seen += [json.loads(line)["id"] for line in f.read_text(encoding="utf-8").splitlines()]
    assert len(seen) == len(set(seen)), "duplicate ids"
    assert set(seen) == expected


@pytest.mark.slow  # kill-and-rerun: 6 runs, 72 s under load
@pytest.mark.timeout(600)
def test_kill_at_random_points_then_rerun_completes(tmp_path):
    import os
    import random
    import signal
    import time

    from tests.conftest import run_cli

    drop, expected = _kill_drop(tmp_path)
    out, models = tmp_path / "out", tmp_path / "no-models"
    rng = random.Random(KILL_SEED)
    # Calibrate: one full run elsewhere, so kill points are spread over a whole run on this
    # machine (start-up, parse, stages, writes, publish) whatever its speed.
    started = time.monotonic()
    assert _start_run(drop, tmp_path / "calibration", models).wait(timeout=120) == 0
    full = time.monotonic() - started
    observed = []
    complete_before = False
    for attempt in range(KILLS):
        if attempt == 2:  # from here on a previous complete output exists and must survive
            assert _start_run(drop, out, models).wait(timeout=120) == 0
            complete_before = True
        delay = rng.uniform(0.15, 1.0) * full
        proc = _start_run(drop, out, models, "--force")
        time.sleep(delay)
        finished = proc.poll() is not None
        if not finished:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        if (out / "manifest.json").exists():
            check = run_cli("verify", str(out), "--input", str(drop))
            assert check.returncode == 0, check.stderr  # a manifest only beside complete output
            _ids_once(out, expected)
            state = "complete output"
        else:
            # No manifest: nothing looks complete. Expected while no run has finished yet, or
            # when the kill landed inside publish (the old manifest is removed first).
            state = "no manifest"
        observed.append((round(delay / full, 2), "finished" if finished else "killed", state))
    print(f"full run {full:.1f} s; kill points (fraction of a full run):", observed)
    assert sum(1 for o in observed if o[1] == "killed") >= KILLS - 1  # the kills really landed
    proc = _start_run(drop, out, models)
    assert proc.wait(timeout=120) == 0
    check = run_cli("verify", str(out), "--input", str(drop))
    assert check.returncode == 0, check.stderr
    _ids_once(out, expected)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["read"] == len(expected)
    assert manifest["counts"]["dead_lettered"] == KILL_EMPTY
    assert complete_before
    assert not (out / "_staging").exists()  # leftovers of killed runs are cleared
