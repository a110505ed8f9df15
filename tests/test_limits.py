"""Limits: an article over max_article_chars / max_paragraphs is a dead letter with a reason,
exactly at the limit it is an article; whole files over MAX_WHOLE_FILE_BYTES are one dead
letter; a dead letter keeps at most MAX_RAW_CHARS of its raw input. (The same limits through
`newsnorm run` flags are in tests/test_hostile.py.)"""

from __future__ import annotations

import json

import pytest

from transforms import ingest
from transforms.ingest import ParseLimits, parse_file
from transforms.record import MAX_RAW_CHARS

CHARS, PARAS = 500, 7
LIMITS = ParseLimits(max_article_chars=CHARS, max_paragraphs=PARAS)


def _one(data: bytes, limits=LIMITS):
    (result,) = list(parse_file("f", data, "d", limits))
    return result


def _line(record) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode() + b"\n"


# size = len(title) + len(body) + len(original_body); paragraphs = body.count("\n\n") + 1
@pytest.mark.parametrize("record, reason", [
    ({"title": "T", "body": "x" * (CHARS - 1)}, None),
    ({"title": "T", "body": "x" * CHARS}, "article_too_large"),
    ({"title": "T", "body": "é" * (CHARS - 1)}, None),  # characters, not bytes
    ({"title": "T", "body": "x" * 200, "original_body": "y" * 299}, None),
    ({"title": "T", "body": "x" * 200, "original_body": "y" * 300}, "article_too_large"),
    ({"title": "T", "body": "\n\n".join(["p"] * PARAS)}, None),
    ({"title": "T", "body": "\n\n".join(["p"] * (PARAS + 1))}, "too_many_paragraphs"),
    ({"title": "T", "body": ["p"] * (PARAS + 1)}, "too_many_paragraphs"),  # body as a list
    ({"title": "T", "body": "\n\n\n\n".join(["p"] * PARAS)}, None),  # blank runs collapse first
], ids=["chars-at", "chars-over", "chars-not-bytes", "original-at", "original-over",
        "paras-at", "paras-over", "paras-list", "paras-blank-runs"])
def test_article_limits_at_the_boundary(record, reason):
    result = _one(_line(dict(record, id="r")))
    if reason is None:
        assert result.article is not None, result.dead
    else:
        assert result.dead["reason"] == reason and result.dead["id"] == "r"
        assert str(CHARS if reason == "article_too_large" else PARAS) in result.dead["error"]


def test_same_limits_apply_to_feed_entries_and_array_elements():
    body = "<p>" + "</p><p>".join(["para"] * (PARAS + 1)) + "</p>"
    feed = ('<rss version="2.0"><channel><title>f</title>'
            f"<item><title>ok</title><description>short</description></item>"
            f"<item><title>long</title><description><![CDATA[{body}]]></description></item>"
            "</channel></rss>").encode()
    results = list(parse_file("f.xml", feed, "d", LIMITS))
    assert [r.article is not None for r in results] == [True, False]
    assert results[1].dead["reason"] == "too_many_paragraphs"
    array = json.dumps([{"id": "a", "title": "T", "body": "x"},
                        {"id": "b", "title": "T", "body": "x" * CHARS}]).encode()
    results = list(parse_file("f.json", array, "d", LIMITS))
    assert [r.dead["reason"] if r.dead else "ok" for r in results] == ["ok", "article_too_large"]


def test_jsonl_line_over_four_bytes_per_char_is_refused_before_decoding():
    result = _one(b'{"id": "big", "title": "' + b"x" * (4 * CHARS + 1) + b'"}\n')
    assert result.dead["reason"] == "article_too_large" and "line of" in result.dead["error"]


def test_whole_file_limit(monkeypatch):
    monkeypatch.setattr(ingest, "MAX_WHOLE_FILE_BYTES", 1000)
    page = b"<html><body>" + b"<p>text</p>" * 200 + b"</body></html>"
    assert _one(page).dead["reason"] == "file_too_large"
    lines = [b"<rss>"] + [b"<item>x</item>\n"] * 100
    assert list(parse_file("f.xml", iter(lines), "d", LIMITS))[0].dead["reason"] == \
        "file_too_large"
    # JSON Lines stream and are not bound by it.
    jsonl = b"".join(_line({"id": i, "title": "t", "body": "b"}) for i in range(100))
    assert len(list(parse_file("f.jsonl", jsonl.splitlines(keepends=True), "d", LIMITS))) == 100


def test_dead_letter_raw_is_capped_but_identified():
    big = b"{" + b"x" * (MAX_RAW_CHARS * 3) + b"\n"
    dead = _one(big, ParseLimits()).dead
    assert dead["raw_truncated"] and len(dead["raw"]) == MAX_RAW_CHARS
    import hashlib

    assert dead["raw_sha256"] == hashlib.sha256(big.strip()).hexdigest()  # the line, no newline
