"""Per-source template learning (issue 16): counting, guards, the store, the graph, bad input."""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import run_cli
from transforms import boilerplate, normalize
from transforms import templates as tpl
from transforms.record import Reject, new_article
from transforms.replay import replay


def learn(articles: list[dict]) -> dict[str, dict]:
    """What pipeline/templates.py computes for a drop, without Beam."""
    sketches: dict[str, tpl.Sketch] = {}
    for a in articles:
        sketches.setdefault(tpl.source_key(a), tpl.Sketch()).add(tpl.article_segments(a["body"]))
    out = {}
    for source, sketch in sketches.items():
        decided = tpl.decide(source, sketch.to_dict(), None)
        if decided:
            out[source] = decided
    return out


def clean_all(fields_list: list[dict]) -> list[dict | Reject]:
    articles = [new_article(f, {}) for f in fields_list]
    learned = learn(articles)
    out = []
    for a in articles:
        a = normalize.NormalizeStage().process(a)
        if tpl.source_key(a) in learned:
            a["source_templates"] = learned[tpl.source_key(a)]
        try:
            out.append(boilerplate.BoilerplateStage().process(a))
        except Reject as rej:
            out.append(rej)
    return out


STORIES = [
    "The harbour reopened to shipping on Wednesday after a storm closed it for three days.",
    "The council voted eight to three for the plan, which adds teachers and repairs schools.",
    "Unions and the operator reached a deal shortly before midnight; trains run from Monday.",
    "Growers in the east say wheat yields could fall by a third, pushing up bread prices.",
    "The twenty pieces were handed over at a ceremony attended by ministers of both countries.",
]
QUOTE = '"We will not negotiate under fire," the minister told reporters on Tuesday.'
STATEMENT = "The ministry said in a statement that the border would stay closed until further notice."
FOOTER = "Get Daily Test on your phone and never miss a story"


def _article(i: int, middle: list[str], footer: bool, source: str = "Daily Test") -> dict:
    body = [STORIES[i % 5], *middle, STORIES[(i + 1) % 5] + " More details followed later."]
    if footer:
        body.append(FOOTER)
    return {"id": f"d{i}", "source": source, "title": f"Story {i}", "body": "\n\n".join(body)}


def test_a_quote_and_a_statement_repeated_in_three_articles_are_kept():
    fields = [_article(i, [QUOTE, STATEMENT] if i < 3 else [], footer=i != 4)
              for i in range(5)]
    out = clean_all(fields)
    learned = learn([new_article(f, {}) for f in fields])["Daily Test"]
    samples = {s for _, s in learned["templates"].values()}
    # Counted as recurring lines (3 of 5 articles: 60%, above N and P) ...
    assert QUOTE in samples and STATEMENT in samples and FOOTER in samples
    for i, a in enumerate(out):
        if i < 3:  # ... but kept: a quote, a statement in the middle of the body
            assert QUOTE in a["body"] and STATEMENT in a["body"]
        assert FOOTER not in a["body"]
    steps = [s for s in out[0]["repairs"] if s["fixer"] == "learned_template"]
    assert [s["before"].strip() for s in steps] == [FOOTER]
    assert steps[0]["evidence"].endswith("seen in 4 of 5 articles from Daily Test")
    assert replay(out[0]["input_body"], [s for s in out[0]["repairs"] if s["field"] == "body"]) \
        == out[0]["body"]


def test_a_single_article_source_learns_nothing_and_is_cleaned_by_the_rules():
    fields = [{"source": "Lone Site", "title": "Port", "body": STORIES[0] + "\n\n" + FOOTER
               + "\n\nRead more: Port strike ends"}]
    assert learn([new_article(f, {}) for f in fields]) == {}
    [a] = clean_all(fields)
    assert FOOTER in a["body"] and "Read more" not in a["body"]
    assert a["related"] == ["Port strike ends"]


def test_a_body_of_nothing_but_template_is_kept_whole_by_the_share_guard():
    # Every line of these bodies recurs: learned templates may take at most half of a body.
    fields = [{"source": "Echo", "title": f"t{i}", "body": "Echo News tonight\n\nThe same short "
               "bulletin was printed again"} for i in range(4)]
    for a in clean_all(fields):
        assert not isinstance(a, Reject)
        assert a["body"] == fields[0]["body"]
        assert not [s for s in a["repairs"] if s["fixer"] == "learned_template"]


def test_a_body_of_nothing_but_rule_boilerplate_is_a_clear_dead_letter():
    [rej] = clean_all([{"title": "t", "body": "Read more:\n\nShare this article\n\n(AFP)"}])
    assert isinstance(rej, Reject) and rej.reason == "empty_after_cleaning"


FR = ["Le port a rouvert lundi après la tempête.", "Le conseil a voté le budget des écoles.",
      "Les syndicats ont signé un accord avant minuit.", "Les agriculteurs craignent une récolte"
      " médiocre."]


def test_one_source_in_two_languages_learns_each_footer():
    en = "Follow Bilingual Post for the latest updates"
    fr = "Suivez Bilingual Post pour ne rien manquer"
    fields = []
    for i in range(4):
        fields.append(_article(i, [], False, "Bilingual Post"))
        fields[-1]["body"] += "\n\n" + en
        fields[-1]["id"] = f"en{i}"
        fields.append({"id": f"fr{i}", "source": "Bilingual Post", "title": f"Article {i}",
                       "body": f"{FR[i]}\n\n{FR[(i + 1) % 4]} Plus de détails suivront."
                               f"\n\n{fr}"})
    out = clean_all(fields)
    for a in out:
        assert en not in a["body"] and fr not in a["body"]
        ev = [s["evidence"] for s in a["repairs"] if s["fixer"] == "learned_template"]
        assert ev and ev[0].endswith("seen in 4 of 8 articles from Bilingual Post")


def test_two_megabytes_of_glued_page_text_take_bounded_time():
    prose = "The port reopened on Monday after the storm and ships entered the harbour. "
    body = ("HomeWorldBusinessSportSign inShare this page" + prose * 26000
            + "Privacy policyCookie settingsAbout us")
    assert len(body) > 1_900_000
    start = time.perf_counter()
    [a] = clean_all([{"title": "Port", "body": body}])
    assert time.perf_counter() - start < 20  # ~2 s on an idle core; 10x margin for load
    assert a["body"].startswith("The port reopened") and a["body"].endswith("harbour.")
    assert {s["fixer"] for s in a["repairs"] if s["stage"] == "boilerplate"} == {
        "glued_navigation"}


def test_sketch_memory_is_bounded_and_keeps_frequent_lines():
    s = tpl.Sketch(capacity=64)
    for i in range(5000):
        s.add({f"unique{i}a": "x", f"unique{i}b": "y", "footer": "Share this"})
    assert len(s.counts) <= 64 and s.articles == 5000
    # Misra-Gries: undercount at most (keys counted) / (capacity + 1); 3 keys an article
    assert s.counts["footer"][0] >= 5000 - 3 * 5000 // 65


def test_merging_sketches_is_the_same_as_counting_once():
    parts = [tpl.Sketch(), tpl.Sketch()]
    whole = tpl.Sketch()
    for i in range(40):
        segs = {f"k{i % 7}": f"s{i % 7}", "t": "T"}
        parts[i % 2].add(segs)
        whole.add(segs)
    merged = parts[0].merge(parts[1])
    assert merged.to_dict() == whole.to_dict()


def test_store_fades_a_template_the_site_dropped(tmp_path):
    store = tpl.empty_store()
    tpl.update_store(store, {"s": {"articles": 100, "counts": {"old": [90, "Old footer"]}}}, "a")
    for n in range(6):  # 6 drops of 500 new articles without the old footer
        tpl.update_store(store, {"s": {"articles": 500, "counts": {"new": [450, "New"]}}},
                         f"b{n}")
    decided = tpl.decide("s", None, tpl.stored_counts(store)["s"])
    assert "new" in decided["templates"] and "old" not in decided["templates"]
    path = tmp_path / "store.json"
    digest = tpl.save_store(str(path), store)
    assert tpl.load_store(str(path)) == (store, digest)
    path.write_text("not json")
    with pytest.raises(ValueError):
        tpl.load_store(str(path))


def test_dev_file_as_a_drop_learns_what_the_rules_miss(shared_eval):
    """news_real/dev.jsonl read in place as one drop (no Beam): each outlet's lines are
    counted; a credit line no rule reads ("*نقلا ً عن", a stray space in the tanween) is
    removed as a learned template with its count, and rule removals of learned lines carry
    the count too."""
    rows = [json.loads(line) for line in
            (shared_eval / "news_real" / "dev.jsonl").read_text(encoding="utf-8").splitlines()]
    fields = [{"id": r["id"], "url": r["url"], "source": r["outlet"], "title": r["title"],
               "body": r["body"]} for r in rows]
    out = {a["id"]: a for a in clean_all(fields) if not isinstance(a, Reject)}
    assert len(out) == len(rows)
    steps = [(i, s) for i, a in out.items() for s in a["repairs"]
             if s["fixer"] == "learned_template"]
    assert [(s["before"].strip(), s["evidence"]) for _, s in steps] == [
        ("*نقلا ً عن الرياضية السعودية",
         "a learned template line: seen in 7 of 65 articles from Al Arabiya")]
    counted = [s for a in out.values() for s in a["repairs"]
               if "also seen in 42 of 65 articles from Al Arabiya" in s["evidence"]]
    assert len(counted) == 42 and all(s["fixer"] == "disclaimer_line" for s in counted)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_dev_drop_learns_templates_in_the_graph_and_the_store_cleans_a_small_drop(
        tmp_path, shared_eval):
    """A drop built from news_real/dev.jsonl (read in place, written to a tmp drop as JSON
    Lines with the outlet as `source`): the graph learns each outlet's lines, the log says
    "seen in N of M articles", the store is updated, and a 3-article drop from the same
    outlet is then cleaned with the store's counts."""
    rows = [json.loads(line) for line in
            (shared_eval / "news_real" / "dev.jsonl").read_text(encoding="utf-8").splitlines()]
    drop = tmp_path / "drop"
    drop.mkdir()

    def write(path, items):
        with open(path, "w", encoding="utf-8") as fh:
            for r in items:
                fh.write(json.dumps({"id": r["id"], "url": r["url"], "source": r["outlet"],
                                     "title": r["title"], "body": r["body"], "lang": r["lang"]},
                                    ensure_ascii=False) + "\n")

    write(drop / "dev.jsonl", rows)
    store = tmp_path / "store" / "templates.json"
    env = {"NEWSNORM_MODELS": str(tmp_path / "models")}
    out = tmp_path / "out"
    res = run_cli("run", "--input", str(drop), "--output", str(out), "--templates", "update",
                  "--templates_store", str(store), "--no_report", env=env)
    assert res.returncode == 0, res.stderr
    assert "seen in 42 of 65 articles from Al Arabiya" in res.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    t = manifest["templates"]
    assert t["mode"] == "update" and t["digest"] == "absent" and store.exists()
    assert t["digest_after"] == tpl.load_store(str(store))[1]
    assert t["sources"]["Al Arabiya"]["template_lines"] >= 3
    evidence = []
    for f in (out / "articles").glob("*.jsonl"):
        for line in f.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            evidence += [s["evidence"] for s in rec["repairs"] if "seen in" in s["evidence"]]
    assert any(e.startswith("a learned template line: seen in") for e in evidence)
    assert sum("of 65 articles from Al Arabiya" in e for e in evidence) >= 40
    # Same input, same store: done (no rerun, no double count).
    again = run_cli("run", "--input", str(drop), "--output", str(out), "--templates", "update",
                    "--templates_store", str(store), "--no_report", env=env)
    assert again.returncode == 0 and "already done" in again.stderr
    # Three Al Arabiya articles whose closing line no rule knows: learned from the store.
    small = tmp_path / "small"
    small.mkdir()
    picked = [r for r in rows if r["outlet"] == "Al Arabiya"
              and "**حقوق النشر محفوظة لمجلة القافلة، أرامكو السعودية" in r["body"]][:3]
    assert len(picked) == 3
    write(small / "three.jsonl", picked)
    out2 = tmp_path / "out2"
    res = run_cli("run", "--input", str(small), "--output", str(out2), "--templates", "read",
                  "--templates_store", str(store), "--no_report", env=env)
    assert res.returncode == 0, res.stderr
    for f in (out2 / "articles").glob("*.jsonl"):
        for line in f.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            assert "حقوق النشر محفوظة لمجلة القافلة" not in rec["body"]
            assert any("(this drop and the template store)" in s["evidence"]
                       for s in rec["repairs"])
