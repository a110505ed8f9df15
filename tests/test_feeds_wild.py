"""Feeds and files as the wild sends them (issue 17): one table test per cause, our own small
files. Each cause is checked where it lives (parse_file, a stage, the watcher) and, once, end
to end through `newsnorm run` + `newsnorm verify --input` on one drop holding every case.

Causes: 1 body-only entries share one id; 2 headline-only entries dead-lettered; 3 declared
multi-byte encodings refused; 4 undeclared legacy encodings read as cp1252; 5 XML that is not
rss/feed/rdf at the root read as HTML; 6 a DOCTYPE naming a DTD refused; 7 U+2028/U+2029/U+0085
split lines in verify and U+0085 eaten as whitespace; 8 plain text refused; 9 `_SUCCESS` not a
marker.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline import watch
from tests.conftest import run_cli
from transforms.ingest import parse_file


def rss(items: str, decl: str = '<?xml version="1.0" encoding="utf-8"?>', head: str = "") -> str:
    return (f'{decl}\n{head}<rss version="2.0"><channel><title>Wire</title>{items}'
            "</channel></rss>\n")


def parsed(name: str, data: bytes) -> list:
    return list(parse_file(name, data, "drop"))


def articles_of(results) -> list[dict]:
    return [r.article for r in results if r.article is not None]


def reasons_of(results) -> list[str]:
    return [r.dead["reason"] for r in results if r.dead is not None]


# ----------------------------------------------------------------------------- cause 1: ids

BODY_ONLY = rss("<item><description>The first storm report.</description></item>"
                "<item><description>The second storm report.</description></item>"
                "<item><description>The third storm report.</description></item>")


@pytest.mark.parametrize("data, distinct", [
    (BODY_ONLY.encode(), 3),
    # Same text twice is the same article: one id, the second a duplicate at dedupe.
    (rss("<item><description>Same.</description></item>" * 2).encode(), 1),
    # A guid is the id, whatever the text.
    (rss('<item><guid isPermaLink="false">g1</guid><description>A</description></item>'
         '<item><guid isPermaLink="false">g2</guid><description>A</description></item>').encode(), 2),
])
def test_cause1_body_only_entries_get_ids_from_their_text(data, distinct):
    ids = [a["id"] for a in articles_of(parsed("f.xml", data))]
    assert len(ids) == 3 if distinct == 3 else len(ids) == 2
    assert len(set(ids)) == distinct


def test_cause1_feed_and_json_lines_hash_the_same_way():
    (feed,) = articles_of(parsed("f.xml", rss(
        "<item><description>Only a body.</description></item>").encode()))
    (line,) = articles_of(parsed("f.jsonl", b'{"body": "Only a body."}\n'))
    assert feed["id"] == line["id"] and feed["id"].startswith("h-")


# ----------------------------------------------------------------------------- cause 2: title only


@pytest.mark.parametrize("input_body, expect", [
    ("", "title_only"),              # nothing to clean: a headline is an article
    ("Read also", "empty_after_cleaning"),  # cleaning emptied it: still refused
])
def test_cause2_headline_only_is_title_only_not_boilerplate(input_body, expect):
    import importlib

    from pipeline.options import JobConfig
    from transforms.record import Reject, new_article

    record = new_article({"title": "Port reopens after storm", "url": "https://x.test/a",
                          "body": input_body, "lang": "en"}, {"file": "f", "entry": 1})
    try:
        for name in ("normalize", "boilerplate", "validate"):  # where emptiness is decided
            stage = importlib.import_module(f"transforms.{name}").Stage(JobConfig(input="in", output="out"))
            stage.setup()
            record = stage.process(record)
        got = record["status"]
    except Reject as rej:
        got = rej.reason
    assert got == expect


# ----------------------------------------------------------------------------- cause 6: DOCTYPE

NETSCAPE = ('<?xml version="1.0"?>\n<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"'
            ' "http://my.netscape.com/publish/formats/rss-0.91.dtd">\n<rss version="0.91"><channel>'
            "<title>Wire</title><item><title>Dam opens</title><link>https://x.test/d</link>"
            "<description>The dam opened on Monday.</description></item></channel></rss>\n")


@pytest.mark.parametrize("data, reason", [
    (NETSCAPE, None),
    (NETSCAPE.replace('.dtd">', '.dtd" [<!ENTITY a "b">]>'), "xml_entities_forbidden"),
    (NETSCAPE.replace("<!DOCTYPE rss PUBLIC", '<!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                      "<!-- -->\n<!--").replace('.dtd">', '.dtd" -->'), "xml_entities_forbidden"),
])
def test_cause6_a_doctype_line_is_not_an_entity(data, reason):
    results = parsed("n.xml", data.encode())
    if reason is None:
        (article,) = articles_of(results)
        assert article["title"] == "Dam opens" and "Monday" in article["body"]
    else:
        assert reasons_of(results) == [reason] and not articles_of(results)


# ----------------------------------------------------------------------------- cause 7: lines


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\u0085"])
def test_cause7_writer_and_reader_agree_on_lines(char):
    from pipeline.schema import json_lines, to_json_line

    line = to_json_line({"id": f"a{char}b", "title": f"x{char}"}, ("id", "title"))
    assert char not in line
    (back,) = json_lines((line + "\n").encode("utf-8"))
    assert json.loads(back) == {"id": f"a{char}b", "title": f"x{char}"}


@pytest.mark.parametrize("text, kept", [
    ("Wait\x85 what", "Wait\x85 what"),   # NEL is not whitespace to us: normalize logs it
    ("a\u2028b", "a\u2028b"),
    ("  spaced \t out  ", "spaced out"),
])
def test_cause7_parsers_collapse_ascii_whitespace_only(text, kept):
    from transforms.record import collapse_spaces
    from transforms.textblocks import html_to_paragraphs

    assert collapse_spaces(text) == kept
    assert html_to_paragraphs(f"<p>{text}</p>") == [kept]


# ----------------------------------------------------------------------------- cause 9: _SUCCESS


@pytest.mark.parametrize("marker, complete", [("_READY", True), ("_SUCCESS", True),
                                              ("_DONE", False), (None, False)])
def test_cause9_success_marker_completes_a_drop(tmp_path, marker, complete):
    inp = tmp_path / "in"
    (inp / "d").mkdir(parents=True)
    (inp / "d" / "a.jsonl").write_text('{"title": "t", "body": "b"}\n')
    if marker:
        (inp / "d" / marker).write_text("")
    w = watch.Watcher(watch.WatchConfig(input=str(inp), output=str(tmp_path / "out")),
                      clock=lambda: 1.0)
    runnable = w.scan()
    assert [e["drop"] for e in runnable] == (["d"] if complete else [])
    entry = json.loads((tmp_path / "out" / "_ledger" / "d.json").read_text())
    if complete:
        assert entry["completed_by"] == f"marker {marker}"
    else:
        assert entry["state"] == "seen"


# ----------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def wild_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("wild")
    drop = root / "drop"
    drop.mkdir()
    (drop / "body_only.xml").write_text(BODY_ONLY, encoding="utf-8")
    (drop / "headlines.xml").write_text(rss(
        "<item><title>Dam opens</title><link>https://x.test/1</link></item>"
        "<item><title>Port reopens</title><link>https://x.test/2</link></item>"), encoding="utf-8")
    (drop / "netscape.xml").write_text(NETSCAPE, encoding="utf-8")
    (drop / "breaks.jsonl").write_text(json.dumps(
        {"id": "breaks", "title": "Wait\u0085 what\u2028now",
         "body": "First\u2028line.\n\nSecond\u2029part\u0085 ends."}) + "\n", encoding="utf-8")
    out = root / "out"
    proc = run_cli("run", "--input", str(drop), "--output", str(out),
                   "--models_dir", str(root / "no-models"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    articles = [json.loads(line) for f in sorted((out / "articles").glob("*.jsonl"))
                for line in f.read_bytes().decode("utf-8").split("\n") if line]
    dead = [json.loads(line) for f in sorted((out / "dead_letter").glob("*.jsonl"))
            for line in f.read_bytes().decode("utf-8").split("\n") if line]
    return drop, out, articles, dead


def test_end_to_end_every_case_is_an_article_and_verify_passes(wild_run):
    drop, out, articles, dead = wild_run
    assert dead == []
    by_file: dict[str, list[dict]] = {}
    for a in articles:
        by_file.setdefault(a["provenance"]["file"], []).append(a)
    assert len(by_file["body_only.xml"]) == 3                                   # cause 1
    assert [a["status"] for a in by_file["headlines.xml"]] == ["title_only"] * 2  # cause 2
    assert by_file["netscape.xml"][0]["title"] == "Dam opens"                 # cause 6
    (breaks,) = by_file["breaks.jsonl"]                                        # cause 7
    assert breaks["title"] == "Wait\u2026 what\u2028now"
    assert "\u2028" in breaks["body"] and "\u0085" not in breaks["body"]
    assert any(r["before"] == "\u0085" and r["after"] == "\u2026" for r in breaks["repairs"])
    proc = run_cli("verify", str(out), "--input", str(drop))
    assert proc.returncode == 0, proc.stderr
    # Every other reader splits our files where we do (no raw Unicode line breaks written).
    for f in (out / "articles").glob("*.jsonl"):
        text = f.read_text(encoding="utf-8")
        assert len(text.splitlines()) == len(text.split("\n")) - 1
