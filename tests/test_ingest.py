"""Unit tests of the parsers: one input unit -> exactly one article or dead letter."""

from __future__ import annotations

import json

import pytest

from transforms.ingest import ParseLimits, parse_file, sniff_format


def parse(data: bytes, name: str = "f", limits: ParseLimits = ParseLimits()):
    results = list(parse_file(name, data, "drop", limits))
    arts = [r.article for r in results if r.article]
    dead = [r.dead for r in results if r.dead]
    assert len(arts) + len(dead) == len(results)
    return arts, dead


def reasons(dead):
    return [d["reason"] for d in dead]


def test_jsonl_fields_ids_provenance_and_extra():
    data = (json.dumps({"id": 5, "title": "T", "body": ["p1", "p2"], "topic": "x"}) + "\n\n" +
            json.dumps({"url": "https://a.test/1", "title": "No id", "body": "a\n\n\n\nb"}) + "\n")
    arts, dead = parse(data.encode())
    assert dead == []
    assert arts[0]["id"] == "5" and arts[0]["body"] == "p1\n\np2"
    assert arts[0]["extra"] == {"topic": "x"}
    assert arts[0]["provenance"] == {"drop": "drop", "file": "f", "format": "jsonl", "line": 1,
                                     "entry": 0, "encoding": "utf-8"}
    assert arts[1]["id"].startswith("h-") and arts[1]["body"] == "a\n\nb"
    assert arts[1]["provenance"]["line"] == 3  # the blank line is not a record


def test_jsonl_broken_records_each_dead_lettered_with_reason():
    lines = [b'{"id": "a", "title": "cut', b'[1, 2]', b'{"id": "e", "title": "", "body": ""}',
             b'{"id": "n", "title": 5.5, "body": {"x": 1}}', b'not json at all',
             b'{"id": "ok", "title": "fine", "body": "text"}']
    arts, dead = parse(b"\n".join(lines))
    assert [a["id"] for a in arts] == ["ok"]
    assert reasons(dead) == ["truncated_json", "not_an_object", "no_title_no_body",
                             "bad_field_type", "invalid_json"]
    assert all(d["stage"] == "parse" and d["raw"] for d in dead)
    assert [d["provenance"]["line"] for d in dead] == [1, 2, 3, 4, 5]


def test_non_utf8_line_is_decoded_with_detected_encoding():
    good = json.dumps({"id": "u", "title": "ok", "body": "fine"}).encode()
    arabic = '{"id": "w", "title": "عنوان الخبر", "body": "أعلنت الوزارة اليوم عن خطة جديدة للتعليم"}'
    arts, dead = parse(good + b"\n" + arabic.encode("cp1256") + b"\n")
    assert dead == []
    assert arts[1]["title"] == "عنوان الخبر"
    assert arts[1]["provenance"]["encoding"] == "cp1256 (detected)"


def test_utf16_with_bom_and_json_array():
    data = json.dumps([{"id": "a", "title": "Élan", "body": "x"}, {"id": "b", "title": "t",
                                                                   "body": "y"}])
    arts, dead = parse(data.encode("utf-16"))
    assert [a["id"] for a in arts] == ["a", "b"] and dead == []
    assert arts[0]["title"] == "Élan"


def test_truncated_json_array_keeps_complete_elements():
    data = b'[{"id": "a", "title": "t", "body": "x"}, {"id": "b", "title": "t", "body": "y"}, {"id": "c", "ti'
    arts, dead = parse(data)
    assert [a["id"] for a in arts] == ["a", "b"]
    assert reasons(dead) == ["truncated_json"] and dead[0]["provenance"]["entry"] == 3


def test_pretty_printed_single_object():
    arts, dead = parse(b'{\n  "id": "one",\n  "title": "T",\n  "body": "B"\n}\n')
    assert [a["id"] for a in arts] == ["one"] and dead == []


@pytest.mark.parametrize("data,reason", [
    (b"", "empty_file"), (b"   \n\n", "empty_file"), (b"\x89PNG\r\n\x1a\n\x00\x00", "unknown_format"),
    (b'<?xml version="1.0"?><catalog><book/></catalog>', "not_a_feed"),
    (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
     b'<rss version="2.0"><channel><title>&lol2;</title></channel></rss>', "xml_entities_forbidden"),
    (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
     b'<rss version="2.0"><channel><item><title>&x;</title></item></channel></rss>',
     "xml_entities_forbidden"),
    (b'<rss version="2.0"><channel><title>x</title><item><title>a</title>', "truncated_feed"),
    (b"<html><head><title>x</title></head><body><script>var a=1;</script></body></html>",
     "no_article_text"),
])
def test_bad_files_are_one_dead_letter(data, reason):
    arts, dead = parse(data)
    assert arts == [] and reasons(dead) == [reason]


def test_format_from_content_not_extension():
    assert sniff_format(b'\n\n<rss version="2.0">') == "feed"
    arts, _ = parse(b'<rss version="2.0"><channel><title>c</title><item><title>Hi</title>'
                    b'<description>Body text here</description></item></channel></rss>',
                    name="looks-like.jsonl")
    assert arts[0]["provenance"]["format"] == "feed"


def test_feed_entries_ids_and_script_removed():
    data = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>C</title><language>fr-FR</language>
    <item><title>Un</title><guid>g-1</guid><link>https://x.test/1</link>
    <description><![CDATA[<p>Premier.</p><script>alert(1)</script><p onclick="x()">Second.</p>]]></description></item>
    <item><title>Deux</title><link>https://x.test/2</link><description>Texte.</description></item>
    </channel></rss>"""
    arts, dead = parse(data)
    assert dead == []
    assert arts[0]["id"] == "g-1" and arts[0]["body"] == "Premier.\n\nSecond."
    assert "alert" not in json.dumps(arts) and "onclick" not in json.dumps(arts)
    assert arts[1]["id"].startswith("h-") and arts[0]["lang"] == "fr"
    assert [a["provenance"]["entry"] for a in arts] == [1, 2]


def test_html_page_extracts_title_and_text():
    page = (b"<html><head><title>Port reopens</title></head><body><nav>Home News Sport</nav>"
            b"<article><h1>Port reopens</h1><p>" + b"The harbour reopened on Wednesday. " * 5 +
            b"</p><p>About 40 ships waited offshore for days before the storm ended.</p>"
            b"</article><footer>Subscribe now</footer></body></html>")
    arts, dead = parse(page)
    assert dead == [] and arts[0]["title"].startswith("Port reopens")
    assert "40 ships" in arts[0]["body"] and "Subscribe" not in arts[0]["body"]


def test_article_size_limits():
    big = json.dumps({"id": "big", "title": "t", "body": "x" * 500}).encode()
    many = json.dumps({"id": "many", "title": "t", "body": ["p"] * 20}).encode()
    arts, dead = parse(big + b"\n" + many, limits=ParseLimits(max_article_chars=100,
                                                              max_paragraphs=10))
    assert arts == [] and reasons(dead) == ["article_too_large", "too_many_paragraphs"]


def test_shared_feeds_every_file_ends_as_articles_or_reasoned_dead_letters(shared_eval):
    manifest = [json.loads(line) for line in
                (shared_eval / "feeds" / "manifest.jsonl").read_text().splitlines()]
    for item in manifest:
        arts, dead = parse((shared_eval / "feeds" / item["file"]).read_bytes(), item["file"])
        if item["lenient_parse_ok"]:
            assert len(arts) == item["n_entries"], item["file"]
            assert all(a["title"] or a["body"] for a in arts)
        else:
            assert arts == [] and len(dead) == 1, item["file"]
            assert dead[0]["reason"] in ("truncated_feed", "not_a_feed"), dead
