"""Normalisation + boilerplate: golden cases as data (tests/cases/*.json) and the replay log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transforms import boilerplate, normalize
from transforms.record import Reject, new_article, split_paragraphs
from transforms.replay import replay

CASES = sorted((Path(__file__).parent / "cases").glob("*.json"))


def clean(fields: dict) -> dict:
    article = new_article(fields, {})
    article = normalize.NormalizeStage().process(article)
    return boilerplate.BoilerplateStage().process(article)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_golden_case(path):
    case = json.loads(path.read_text(encoding="utf-8"))
    a = clean(case["input"])
    got = {"title": a["title"], "body": a["body"], "related": a["related"], "credit": a["credit"],
           "headings": a["headings"], "mt_signals": a["mt_origin"]["signals"]}
    if case.get("xfail"):
        # A known failure (ftfy keeps them the same way): it must stay failing until fixed;
        # when it starts passing, this fails and the "xfail" mark is taken off the case.
        assert got != case["expected"], f"known failure now passes, remove its xfail: {path.name}"
        pytest.xfail(case["xfail"])
    assert got == case["expected"], case["why"]


def test_the_seed_case_is_the_whole_seed_article(seed_text):
    case = json.loads((Path(__file__).parent / "cases" / "seed_al_jazeera_truce.json")
                      .read_text(encoding="utf-8"))
    title, body = seed_text.split("\n", 1)
    assert case["input"]["title"] == title and case["input"]["body"].strip() == body.strip()


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


# ----------------------------------------------------------------------------- HTML pages

STORIES = [
    ("Port reopens after three-day storm closure",
     "The harbour reopened to shipping on Wednesday after a storm closed it for three days."),
    ("Council approves new budget for city schools",
     "The council voted eight to three for the plan, which adds teachers and repairs buildings."),
    ("Rail strike called off after late-night talks",
     "Unions and the operator reached a deal shortly before midnight; trains run from Monday."),
    ("Farmers warn of poor harvest after dry spring",
     "Growers in the east say wheat yields could fall by a third, pushing up bread prices."),
    ("Museum returns looted bronzes to Nigeria",
     "The twenty pieces were handed over at a ceremony attended by ministers of both countries."),
]


def index_page() -> bytes:
    """A section front: linked headlines with standfirsts (trafilatura merges these, #811)."""
    teasers = "".join(f'<article><h2><a href="/world/{i}">{h}</a></h2><p>{t}</p>'
                      f'<a href="/world/{i}">Read more</a></article>'
                      for i, (h, t) in enumerate(STORIES))
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>World | Example'
            f'</title></head><body><nav><a href="/">Home</a></nav><main><h1>World</h1>{teasers}'
            f'</main><footer>© Example News</footer></body></html>').encode()


def article_page() -> bytes:
    body = "".join(f"<p>{t} {t}</p>" for _, t in STORIES)
    related = "".join(f'<li><h3><a href="/r/{i}">{h}</a></h3></li>' for i, (h, _) in enumerate(STORIES))
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Storm</title>'
            f'</head><body><article><h1>Port reopens after storm</h1>{body}</article>'
            f'<aside><h2>Related</h2><ul>{related}</ul></aside></body></html>').encode()


def hang(data: bytes):  # runs in the extraction worker (imported there by name)
    import time

    time.sleep(3600)


def crash(data: bytes):
    import os

    os._exit(3)


def _parse(data: bytes, timeout_s: float = 30.0, pool=None):
    from transforms.html_page import parse_html
    from transforms.ingest import ParseLimits

    results = list(parse_html(data, {"file": "p.html"}, ParseLimits(html_timeout_s=timeout_s),
                              pool))
    assert len(results) == 1
    return results[0]


def test_an_index_page_is_not_an_article():
    result = _parse(index_page())
    assert result.article is None and result.dead["reason"] == "not_an_article"
    assert "teaser blocks" in result.dead["error"]


def test_an_article_with_a_related_list_is_an_article():
    result = _parse(article_page())
    assert result.dead is None, result.dead
    body = result.article["body"]
    assert "The harbour reopened" in body and "Council approves" not in body


def test_a_hanging_page_is_dead_lettered_and_the_next_page_still_works():
    from transforms.html_page import ExtractorPool

    pool = ExtractorPool(hang)
    try:
        result = _parse(article_page(), timeout_s=0.5, pool=pool)
        assert result.dead["reason"] == "extraction_timeout"
        assert "html_timeout_s=0.5" in result.dead["error"]
        assert pool._idle == []  # the hung worker was killed, not kept
    finally:
        pool.close()
    ok = _parse(article_page(), timeout_s=60)  # the default pool, a fresh worker
    assert ok.article is not None


def test_a_crashing_extractor_is_a_dead_letter():
    from transforms.html_page import ExtractorPool

    pool = ExtractorPool(crash)
    try:
        result = _parse(article_page(), timeout_s=60, pool=pool)
    finally:
        pool.close()
    assert result.dead["reason"] == "extraction_crashed"


# ----------------------------------------------------------------------------- properties

BOILER = ["Read also", "list of 3 itemslist 1 of 3", "List 2 of 3", "end of list", "Lire aussi",
          "اقرأ أيضا", "Source : Al Jazeera + Agencies", "(AFP)", "Photo: Reuters",
          "المصدر : الجزيرة + وكالات", "Share this article", "Extra day", "Resumption of war",
          # rows of the table added for issue 16, and glued shapes
          "Lire aussi : Un titre", "قد يهمك.. عنوان", "*نقلاً عن الرياضية السعودية",
          "(Photo: AFP)", "It ended. (Photo: AFP)", "CAIRO (Reuters) - Talks resumed.",
          "HomeWorldBusinessSign in", "About us | Privacy policy", "------",
          "** جميع المقالات المنشورة تمثل رأي كتابها فقط.", "pic.twitter.com/abc"]
paragraph = st.one_of(st.sampled_from(BOILER),
                      st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")),
                              min_size=1, max_size=120),
                      st.text(alphabet=list("سلام عليكم abc :;?! \u200f\u0640"), min_size=1,
                              max_size=80))
articles = st.fixed_dictionaries({
    "title": st.one_of(st.text(max_size=60), st.sampled_from(["Gaza (French)", "غزة (عربي)"])),
    "body": st.one_of(
        st.lists(paragraph, min_size=1, max_size=12),
        # the other shapes feeds deliver: one paragraph per line, HTML blocks, glued text
        st.lists(paragraph, min_size=1, max_size=12).map("\n".join),
        st.lists(paragraph, min_size=1, max_size=6).map(
            lambda ps: "".join(f"<p>{p}</p>" for p in ps)),
        st.lists(paragraph, min_size=1, max_size=6).map("".join))})


@given(fields=articles)
def test_cleaning_never_raises_is_idempotent_replayable_and_never_grows(fields):
    try:
        a = clean(fields)
    except Reject as rej:  # the only failure allowed, with a reason
        assert rej.reason in ("empty_after_cleaning", "no_title_no_body")
        return
    for field in ("title", "body"):
        steps = [s for s in a["repairs"] if s["field"] == field]
        assert replay(a["input_" + field], steps) == a[field]
        # Normalisation may grow a little (one presentation form "ﻻ" is two letters "لا");
        # boilerplate removal only ever shortens.
        assert len(a[field]) <= 2 * len(a["input_" + field]) + 4
        assert all(len(s["after"]) <= len(s["before"]) for s in steps
                   if s["stage"] == "boilerplate" and s["kind"] != "shape")
    again = clean({"title": a["title"], "body": a["body"]})
    assert (again["title"], again["body"]) == (a["title"], a["body"])
    paragraphs = split_paragraphs(a["body"])
    assert all(0 <= i < len(paragraphs) for i in a["headings"])
