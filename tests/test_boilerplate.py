"""Normalisation + boilerplate: golden cases as data (tests/cases/*.json) and the replay log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from transforms import boilerplate, normalize
from transforms.record import Reject, new_article, split_paragraphs
from transforms.replay import replay

CASES = sorted((Path(__file__).parent / "cases").glob("*.json"))


def clean(fields: dict) -> dict:
    article = new_article(fields, {})
    article = normalize.Stage().process(article)
    return boilerplate.Stage().process(article)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_golden_case(path):
    case = json.loads(path.read_text(encoding="utf-8"))
    a = clean(case["input"])
    got = {"title": a["title"], "body": a["body"], "related": a["related"], "credit": a["credit"],
           "headings": a["headings"], "mt_signals": a["mt_origin"]["signals"]}
    if case.get("xfail"):
        pytest.xfail(case["xfail"])
    assert got == case["expected"], case["why"]


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_replaying_the_log_on_the_input_gives_the_output(path):
    case = json.loads(path.read_text(encoding="utf-8"))
    a = clean(case["input"])
    for field in ("title", "body"):
        steps = [s for s in a["repairs"] if s["field"] == field]
        assert replay(a["input_" + field], steps) == a[field]
    assert all(s["before"] != s["after"] for s in a["repairs"])


def test_seed_article_is_clean(seed_text):
    lines = seed_text.split("\n")
    a = clean({"title": lines[0], "body": "\n".join(lines[1:])})
    body = a["body"]
    for gone in ("Read also", "list of 3 items", "List 2 of 3", "end of list", "Source :",
                 "Al Jazeera + Agencies", "Military expert: What is happening"):
        assert gone not in body, gone
    assert a["title"] == "Qassam Brigades fighters release detainees in Gaza"
    assert len(a["related"]) == 3 and a["related"][0].startswith("Efforts to extend Gaza truce")
    assert a["credit"] == ["Source : Al Jazeera + Agencies"]
    paragraphs = split_paragraphs(body)
    headings = [paragraphs[i] for i in a["headings"]]
    assert headings == ["Extra day", "Continuation of the truce", "Resumption of war"]
    assert "30,<>" in body  # left for the repair stage, never touched here
    assert a["mt_origin"]["likely"]
    assert {"widget_artifacts", "number_placeholders", "title_language_tag:fr"} <= set(
        a["mt_origin"]["signals"])
    rules = {s["fixer"] for s in a["repairs"]}
    assert {"read_also_marker", "list_widget", "read_also_headline", "credit_line",
            "title_language_tag"} <= rules


def test_all_boilerplate_is_a_dead_letter():
    with pytest.raises(Reject) as err:
        clean({"title": "t", "body": "Read also\n\nlist of 2 itemslist 1 of 2\n\nA headline\n\n"
                                     "end of list\n\nSource : AFP"})
    assert err.value.reason == "empty_after_cleaning"


def test_french_colon_fixed_in_english_only():
    en = clean({"title": "Talks resume", "body": "The minister said : the talks will resume on "
                                                "Friday and the aid will continue."})
    fr = clean({"title": "Reprise", "body": "Le ministre a déclaré : les discussions "
                                            "reprendront vendredi."})
    assert "said: the talks" in en["body"] and "french_typography" in en["mt_origin"]["signals"]
    assert "déclaré : les" in fr["body"] and fr["mt_origin"]["signals"] == []


@pytest.mark.parametrize("text,heading", [
    ("Extra day", True), ("Resumption of war", True), ("He left.", False),
    ("A very long line that goes on and on and is certainly not a heading at all", False),
    ("lower case start", False),
])
def test_heading_rule(text, heading):
    assert boilerplate.is_heading(text, "x" * 200) is heading
