"""The CLI never surprises (issue 19): one test per surprise a new user met.

Each test runs the installed `newsnorm` as a subprocess, as users run it, with its own models
directory (never the machine-wide one).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_DROP, run_cli


def _status(out: Path) -> dict[str, str]:
    rows = (out / "articles" / "part-00000-of-00001.jsonl").read_text().splitlines()
    return {json.loads(r)["id"]: json.loads(r)["status"] for r in rows}


def _models_env(path: Path) -> dict:
    return {"NEWSNORM_MODELS": str(path)}


# 1. Installing a model makes the next run on the same drop translate, without --force.
@pytest.mark.slow  # six CLI runs
@pytest.mark.timeout(600)
def test_demo_then_install_then_run_translates_without_force(tmp_path):
    models, out = tmp_path / "models", tmp_path / "out"
    env = _models_env(models)
    proc = run_cli("run", "--input", str(EXAMPLE_DROP), "--output", str(out), "--quiet", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "no_model_for_fr" in set(_status(out).values())
    assert run_cli("models", "install", "tiny-test", env=env).returncode == 0
    proc = run_cli("run", "--input", str(EXAMPLE_DROP), "--output", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    assert "already done" not in proc.stderr and "installed models changed" in proc.stderr
    statuses = set(_status(out).values())
    assert "translated" in statuses and not any(s.startswith("no_model_for_") for s in statuses)
    manifest = json.loads((out / "manifest.json").read_text())
    assert [m["name"] for m in manifest["run"]["models"]] == ["tiny-test"]
    assert manifest["run"]["code_version"]
    # Same drop, same models: done. Models removed: runs again.
    assert "already done" in run_cli("run", "--input", str(EXAMPLE_DROP), "--output", str(out),
                                     env=env).stderr
    assert run_cli("models", "remove", "tiny-test", env=env).returncode == 0
    proc = run_cli("run", "--input", str(EXAMPLE_DROP), "--output", str(out), env=env)
    assert "already done" not in proc.stderr and "no_model_for_fr" in set(_status(out).values())


def test_skip_if_done_also_compares_the_code_version(tmp_path):
    from pipeline.run import rerun_reasons

    made = {"newsnorm_version": "0.1.0", "code_version": "a", "models": []}
    previous = {"config": {"fingerprint": "f"}, "run": dict(made)}
    assert rerun_reasons(previous, "f", made) == []
    assert rerun_reasons(previous, "f", dict(made, code_version="b")) == ["code"]


# 2. Another drop into an output that holds a drop's output: refused, one line, exit 2.
@pytest.mark.slow  # 3 runs, 26 s under load
@pytest.mark.timeout(600)
def test_different_drop_into_a_used_output_is_refused_unless_forced(tmp_path):
    out = tmp_path / "out"
    env = _models_env(tmp_path / "models")
    assert run_cli("run", "--input", str(EXAMPLE_DROP), "--output", str(out), "--quiet",
                   env=env).returncode == 0
    before = (out / "manifest.json").read_bytes()
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(EXAMPLE_DROP / "feed.xml", other / "feed.xml")
    proc = run_cli("run", "--input", str(other), "--output", str(out), env=env)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "holds the output of another input" in lines[0]
    assert "--force" in lines[0] and "Traceback" not in proc.stderr
    assert (out / "manifest.json").read_bytes() == before
    proc = run_cli("run", "--input", str(other), "--output", str(out), "--force", "--quiet",
                   env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "manifest.json").read_text())["input"]["drop"] == "other"


# 3. watch with an output that is a file, or not writable: one clean line.
def test_watch_output_that_is_a_file_is_one_line(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for out in (blocker, blocker / "sub"):
        proc = run_cli("watch", "--input", str(inp), "--output", str(out), "--once")
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.strip().splitlines() == [
            proc.stderr.strip().splitlines()[-1]] and "not writable" in proc.stderr
        assert "Traceback" not in proc.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_watch_unwritable_output_is_one_line(tmp_path):
    inp, ro = tmp_path / "in", tmp_path / "ro"
    inp.mkdir()
    ro.mkdir()
    ro.chmod(0o500)
    proc = run_cli("watch", "--input", str(inp), "--output", str(ro / "out"), "--once")
    assert proc.returncode == 2 and "not writable" in proc.stderr
    assert "Traceback" not in proc.stderr


# 4. A misspelt flag fails with exit 2 and a suggestion; Beam's own options pass.
@pytest.mark.parametrize("cmd", ["run", "watch"])
def test_misspelt_flag_fails_with_a_suggestion(tmp_path, cmd):
    inp = EXAMPLE_DROP if cmd == "run" else tmp_path
    proc = run_cli(cmd, "--input", str(inp), "--output", str(tmp_path / "o"), "--froce")
    assert proc.returncode == 2
    assert "unknown flag --froce; did you mean --force?" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "o" / "manifest.json").exists()


def test_beam_options_still_pass_through(tmp_path):
    from pipeline.options import UsageError, build_parser, check_passthrough

    check_passthrough(["--runner", "FnApiRunner", "--direct_num_workers=2",
                       "--direct_running_mode", "multi_processing", "--temp_location", "/t"],
                      build_parser())
    with pytest.raises(UsageError, match="did you mean --direct_num_workers"):
        check_passthrough(["--direct_num_worker", "2"], build_parser())
    with pytest.raises(UsageError, match="unexpected argument 'stray'"):
        check_passthrough(["stray"], build_parser())
    proc = run_cli("run", "--input", str(EXAMPLE_DROP), "--output", str(tmp_path / "o"),
                   "--runner", "FnApiRunner", "--quiet",
                   env=_models_env(tmp_path / "models"))
    assert proc.returncode == 0, proc.stderr
    assert "nparseable" not in proc.stderr


# 5. --version; models remove; a test model never replaces a supplied translation.
def test_version_prints_package_and_code_digest():
    proc = run_cli("--version")
    assert proc.returncode == 0
    assert proc.stdout.startswith("newsnorm ") and "(code " in proc.stdout


def test_models_remove(tmp_path):
    env = _models_env(tmp_path / "models")
    assert run_cli("models", "install", "tiny-test", env=env).returncode == 0
    assert (tmp_path / "models" / "tiny-test").is_dir()
    proc = run_cli("models", "remove", "tiny-test", env=env)
    assert proc.returncode == 0 and "removed" in proc.stdout
    assert not (tmp_path / "models" / "tiny-test").exists()
    proc = run_cli("models", "remove", "tiny-test", env=env)
    assert proc.returncode == 1 and "no installed model 'tiny-test'" in proc.stderr
    proc = run_cli("models", "remove", "../models", env=env)
    assert proc.returncode == 1 and (tmp_path / "models").is_dir()


@pytest.mark.slow  # 3 runs, 25 s under load
@pytest.mark.timeout(600)
def test_test_model_never_replaces_a_supplied_translation(tmp_path, tiny_models_dir):
    """examples/drop holds English machine translations with their Arabic/French original."""
    bodies = {}
    for mode in ("never", "auto", "always"):
        out = tmp_path / f"out-{mode}"
        proc = run_cli("run", "--input", str(EXAMPLE_DROP), "--output", str(out),
                       "--retranslate", mode, "--quiet", env=_models_env(tiny_models_dir))
        assert proc.returncode == 0, proc.stderr
        arts = [json.loads(x) for x in
                (out / "articles" / "part-00000-of-00001.jsonl").read_text().splitlines()]
        supplied = [a for a in arts if a["original_body"] and a["original_lang"] != "en"]
        assert supplied
        for a in supplied:
            assert "supplied_translation_replaced" not in a["flags"]
            if mode != "never" and a["status"] == "english_machine_translated":
                assert "retranslate_skipped_test_model" in a["flags"]
        bodies[mode] = {a["id"]: a["body"] for a in supplied}
    assert bodies["auto"] == bodies["always"] == bodies["never"]


# 6. `newsnorm replay` re-derives every output body from the drop and the logged steps.
@pytest.mark.slow  # a run with the tiny model, then replay over the whole drop (~6 s idle)
@pytest.mark.timeout(600)
def test_replay_rederives_every_body_from_the_drop(tmp_path, tiny_models_dir):
    drop = tmp_path / "drop"
    shutil.copytree(EXAMPLE_DROP, drop)
    # What parsing changes is logged too: blank-line runs, CR LF, list bodies, title spaces.
    rows = [{"id": "ws-1", "title": "  Rain   in Paris ", "lang": "en",
             "body": "Heavy rain fell on Paris.\r\n\r\n\r\nThe river rose by 2 metres.\n\n\n"
                     "Source: AFP"},
            {"id": "ws-2", "title": "Liste", "lang": "fr",
             "body": ["Le ministre a parlé. ", "", "  Il a annoncé 30 000 euros."]}]
    (drop / "ws.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n"
                                           for r in rows))
    out = tmp_path / "out"
    proc = run_cli("run", "--input", str(drop), "--output", str(out), "--quiet",
                   env=_models_env(tiny_models_dir))
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("replay", str(out), "--input", str(drop))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"OK {out}: 10 article(s)")
    arts = {json.loads(x)["id"]: json.loads(x) for x in
            (out / "articles" / "part-00000-of-00001.jsonl").read_text().splitlines()}
    assert any(s["stage"] == "parse" and s["before"].startswith("\r\n")
               for s in arts["ws-1"]["repairs"])
    assert run_cli("replay", str(out), "--input", str(drop), "--id", "ws-2").returncode == 0
    # A changed output body is reported, by id, with exit 1.
    path = out / "articles" / "part-00000-of-00001.jsonl"
    lines = path.read_text().splitlines()
    tampered = [json.loads(x) for x in lines]
    i = next(k for k, a in enumerate(tampered) if a["id"] == "ws-1")
    tampered[i]["body"] = tampered[i]["body"].replace("2 metres", "3 metres")
    path.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in tampered))
    proc = run_cli("replay", str(out), "--input", str(drop))
    assert proc.returncode == 1
    assert "DIFF article 'ws-1': body: replayed text differs" in proc.stderr
    assert run_cli("replay", str(out), "--input", str(drop), "--id", "nope").returncode == 1
    assert run_cli("replay", str(tmp_path / "none"), "--input", str(drop)).returncode == 2


def test_replay_without_parse_steps_would_fail():
    """The parse steps are what make replay from the record's own text work."""
    from transforms.record import input_text, new_article
    from transforms.replay import ReplayError, replay

    fields = {"title": "t", "body": "Photo: AFP\n\n\nText of the article."}
    article = new_article(fields, {"file": "a", "line": 1})
    steps = article["parse_steps"]
    assert replay(input_text(fields, "body"), steps) == article["body"] == article["input_body"]
    assert replay(input_text(fields, "body"), []) != article["body"]
    with pytest.raises(ReplayError):  # a later step's offsets assume the collapsed text
        replay(input_text(fields, "body"), [{"start": 12, "end": 32, "before":
                                             "Text of the article.", "after": "x"}])


# 7. --lang_min_confidence 0 switches the threshold off; translation evidence is kept.
def test_lang_min_confidence_zero_switches_the_threshold_off():
    from pipeline.options import build_parser, config_from_args
    from pipeline.stages import build_stage
    from transforms.language import DEFAULT_MIN_CONFIDENCE

    def stage_from(*flags):
        opts = config_from_args(build_parser().parse_args(["--input", "i", "--output", "o",
                                                           "--models_dir", "", *flags]))
        stage = build_stage("language", opts)
        stage.setup()
        return stage

    assert stage_from("--lang_min_confidence", "0").detector.min_confidence == 0.0
    assert stage_from().detector.min_confidence == DEFAULT_MIN_CONFIDENCE > 0


def test_output_keeps_translation_counts_and_problems(tmp_path, tiny_models_dir):
    out = tmp_path / "out"
    proc = run_cli("run", "--input", str(EXAMPLE_DROP), "--output", str(out), "--quiet",
                   env=_models_env(tiny_models_dir))
    assert proc.returncode == 0, proc.stderr
    arts = [json.loads(x) for x in
            (out / "articles" / "part-00000-of-00001.jsonl").read_text().splitlines()]
    translated = [a for a in arts if a["status"] == "translated"]
    assert translated
    for a in translated:
        c = a["translation"]["counts"]
        assert c["sentences"] == c["translated"] + c["retried"] + c["kept_source"] > 0
        assert "translation_problems" in a
    import pyarrow.parquet as pq

    table = pq.read_table(out / "articles" / "part-00000-of-00001.parquet")
    assert "translation_problems" in table.column_names
    assert table.to_pylist() == arts


def test_registry_metadata_is_read_once_per_stage_not_per_article(tiny_models_dir,
                                                                  monkeypatch):
    import models.registry as registry
    from transforms.stage import TranslateConfig
    from transforms.translate import TranslateStage as Stage

    calls = []
    real = registry.installed_models
    monkeypatch.setattr(registry, "installed_models",
                        lambda d: calls.append(d) or real(d))
    stage = Stage(TranslateConfig(models_dir=str(tiny_models_dir), translate_threads=1))
    stage.setup()
    articles = [{"id": str(i), "route": "translate", "source_lang": "fr", "title": "Titre",
                 "body": "Le ministre a parlé.", "paragraph_langs": [{"lang": "fr"}],
                 "repairs": [], "flags": []} for i in range(5)]
    stage.process_batch(articles)
    stage.process_batch(articles[:1])
    assert len(calls) == 1
