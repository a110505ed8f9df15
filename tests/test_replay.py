"""The replay log (transforms/replay.py): steps built one way, replayed exactly, misfits refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transforms.record import new_article
from transforms.replay import (ReplayError, apply_edits, apply_step, diff_edits, diff_steps,
                               make_step, replay, replay_article_field)

KEYS = {"stage", "kind", "fixer", "field", "start", "end", "before", "after", "evidence",
        "method", "confidence"}


def test_make_step_has_the_log_schema():
    step = make_step("repair", "restore_number", "angle_placeholder", "body", "30,<> dead",
                     3, 5, "000", evidence="original_body[0:6]: 30 ألف", method="source_unique_fit",
                     confidence=0.9)
    assert set(step) == KEYS
    assert (step["before"], step["after"], step["method"], step["confidence"]) == (
        "<>", "000", "source_unique_fit", 0.9)
    assert apply_step("30,<> dead", step) == "30,000 dead"


def test_apply_step_refuses_a_step_that_does_not_fit():
    step = make_step("s", "f", "k", "body", "abc", 0, 1, "x")
    with pytest.raises(ReplayError, match="expects 'a'"):
        apply_step("zbc", step)


def test_replay_article_field_uses_only_that_field():
    title_step = make_step("s", "f", "k", "title", "T (French)", 1, 10, "")
    body_step = make_step("s", "f", "k", "body", "a  b", 1, 3, " ")
    article = {"repairs": [title_step, body_step]}
    assert replay_article_field(article, "title", "T (French)") == "T"
    assert replay_article_field(article, "body", "a  b") == "a b"


edits_strategy = st.lists(st.tuples(st.integers(0, 60), st.integers(0, 8),
                                    st.text(alphabet="xyz\n ", max_size=5)), max_size=8)


@given(text=st.text(max_size=60), raw=edits_strategy)
def test_apply_edits_steps_replay_to_the_same_text(text, raw):
    edits = [(min(s, len(text)), min(s + n, len(text)), rep) for s, n, rep in raw]
    out, steps = apply_edits("s", "f", "k", "body", text, edits)
    assert replay(text, steps) == out
    assert all(s["before"] != s["after"] for s in steps)


@given(before=st.text(max_size=80), after=st.text(max_size=80))
def test_diff_steps_turn_any_text_into_any_other(before, after):
    assert replay(before, diff_steps("s", "f", "k", "body", before, after)) == after


_paragraph = st.lists(st.sampled_from(["word", " ", "  ", ".", "ـ", "é", "30,<>", "\u00a0"]),
                      min_size=150, max_size=400).map("".join)
_words = st.lists(st.one_of(_paragraph, st.sampled_from(["\n", "\n\n", "\r\n", "\u2028"])),
                  min_size=1, max_size=5)


@given(before=_words, edits=st.lists(st.tuples(st.integers(0, 999), st.integers(0, 3),
                                               st.sampled_from(["", " ", "x", "\n", "word"])),
                                     max_size=12))
def test_diff_edits_on_long_texts_with_scattered_changes(before, edits):
    """Long bodies take the line and word-token paths of diff_edits, not only characters: the
    edits alone (no fallback) rebuild the text, in order, and stay near the changes."""
    text = "".join(before)
    after = text
    for start, n, rep in sorted(edits, reverse=True):
        start = min(start * 3, len(after))
        after = after[:start] + rep + after[start + n:]
    found = diff_edits(text, after)
    rebuilt = text
    for start, end, rep in sorted(found, reverse=True):
        rebuilt = rebuilt[:start] + rep + rebuilt[end:]
    assert rebuilt == after
    assert all(a[1] <= b[0] for a, b in zip(found, found[1:]))
    # local edits, not one rewrite of the whole text (how local depends on difflib's alignment,
    # which repetitive text like "wordword..." makes coarser than the change)
    if len(text) > 100:
        assert sum(end - start for start, end, _ in found) < len(text)


CASES = sorted((Path(__file__).parent / "cases").glob("*.json"))


@pytest.fixture(scope="module")
def all_stages(tmp_path_factory):
    """Every stage before `validate` (which turns the article into the output record), built
    as a job builds them; an empty models directory, so no translation model is used."""
    from pipeline.options import JobConfig
    from pipeline.stages import STAGE_ORDER, build_stage

    config = JobConfig(input="", output="", models_dir=str(tmp_path_factory.mktemp("models")))
    stages = [build_stage(name, config) for name in STAGE_ORDER if name != "validate"]
    for stage in stages:
        stage.setup()
    return stages


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_the_whole_log_of_every_golden_case_replays(path, all_stages):
    case = json.loads(path.read_text(encoding="utf-8"))
    article = new_article(case["input"], {})
    for stage in all_stages:
        article = stage.process(article)
    for field in ("title", "body"):
        assert replay_article_field(article, field, article["input_" + field]) == article[field]
