"""Reading a drop: format sniffing, decoding, and one parser per format.

Owns: turning the bytes of one input file into parse results, each either an article record
(transforms.record.new_article) or a dead-letter record. Every input unit (a JSON line, an array
element, a feed entry, an HTML page, or a whole file that cannot be split) yields exactly one
result, so `read = articles + dead letters` holds by construction at this stage and the
manifest checks it still holds at the end.

Formats are recognised from content, not the file name: JSON Lines, a JSON array (or a single
JSON object), RSS 0.9x/1.0/2.0 and Atom (feedparser, behind an XML entity guard), and HTML pages
(trafilatura). Nothing here performs network access: feedparser is only ever given bytes.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable, Iterator

from transforms.parsed import (  # noqa: F401 - also the names feeds/html_page/tests use here
    MAX_WHOLE_FILE_BYTES, STAGE, ParseLimits, ParseResult, _dead_file, bom_encoding, xml_autodetect,
    _id_of, decode_bytes, make_article)
from transforms.record import Reject, dead_letter


# --------------------------------------------------------------------------- sniffing


_FEED_ROOT = re.compile(rb"<(?:[a-z0-9_-]+:)?(rss|feed|rdf)\b", re.I)
_HTML_HINT = re.compile(rb"<(!doctype\s+html|html|head|body|div|p|article|meta|title)\b", re.I)
# What may come before the root element: a declaration or processing instruction, comments,
# a DOCTYPE (with an internal subset). An unclosed one (cut at the sniff window) ends the scan.
_PROLOG_ITEM = re.compile(rb"\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE(?:[^\[>]|\[.*?\])*>)",
                          re.S | re.I)
_ELEMENT = re.compile(rb"\s*<([A-Za-z_][\w.:-]*)")
# Roots of the feeds feedparser reads: RSS, Atom, RSS 1.0 (rdf:RDF), CDF and RSS 1.1 (channel).
_FEED_ROOTS = {b"rss", b"feed", b"rdf", b"channel"}
# Elements an HTML page (or a fragment saved as a page) starts with.
_HTML_ROOTS = {b"html", b"head", b"body", b"meta", b"title", b"link", b"base", b"script",
               b"style", b"noscript", b"div", b"p", b"span", b"article", b"section", b"main",
               b"header", b"nav", b"table", b"h1", b"h2", b"h3", b"h4", b"h5", b"h6", b"a",
               b"ul", b"ol", b"br", b"img", b"form", b"center", b"font", b"b", b"i", b"em",
               b"strong", b"iframe", b"frameset", b"figure", b"blockquote", b"pre"}


def root_element(head: bytes) -> bytes | None:
    """The local name of the first element after the prolog, lower-cased; None when the window
    ends first or what follows the prolog is not a tag.

    >>> root_element(b'<?xml version="1.0"?><!-- c --><!DOCTYPE rss PUBLIC "a" "b"><rss>')
    b'rss'
    >>> root_element(b'<?xml version="1.0"?><entry xmlns="http://www.w3.org/2005/Atom">')
    b'entry'
    >>> root_element(b'<rdf:RDF xmlns:rdf="x">'), root_element(b'<!-- never closed')
    (b'rdf', None)
    """
    pos = 0
    while True:
        m = _PROLOG_ITEM.match(head, pos)
        if not m or m.end() == pos:
            break
        pos = m.end()
    m = _ELEMENT.match(head, pos)
    return m.group(1).rsplit(b":", 1)[-1].lower() if m else None


def sniff_format(head: bytes) -> str:
    """Guess the format from the first bytes of a file (BOM-decoded to UTF-8 first). Markup is
    told apart by its root element: a feed root is a feed, an HTML element a page, any other
    XML root is "xml" (feedparser still reads a lone Atom entry or RSS 1.1; issue 17 cause 5).
    Anything else that holds no NUL byte is plain text.

    >>> sniff_format(b'{"id": 1}\\n{"id": 2}')
    'jsonl'
    >>> sniff_format(b'  [ {"id": 1} ]')
    'json'
    >>> sniff_format(b'<?xml version="1.0"?><rss version="2.0">')
    'feed'
    >>> sniff_format(b'<!DOCTYPE html><html><body>x')
    'html'
    >>> sniff_format(b'<?xml version="1.0"?><entry><title>t</title></entry>')
    'xml'
    >>> sniff_format(b'') , sniff_format(b'hello'), sniff_format(b'\\x89PNG\\r\\n\\x00\\x00')
    ('empty', 'text', 'unknown')
    """
    text = head.lstrip()
    if not text:
        return "empty"
    first = text[:1]
    if first == b"{":
        return "jsonl"
    if first == b"[":
        return "json"
    if first == b"<":
        root = root_element(text[:8192])
        if root in _FEED_ROOTS:
            return "feed"
        if root in _HTML_ROOTS:
            return "html"
        if root is not None:
            return "xml"
        probe = re.sub(rb"<!--.*?-->", b"", text[:8192], flags=re.S)
        feed = _FEED_ROOT.search(probe)
        html = _HTML_HINT.search(probe)
        if feed and (not html or feed.start() < html.start()):
            return "feed"
        if html:
            return "html"
        return "xml"
    if b"\x00" in text[:8192]:
        return "unknown"  # binary (UTF-16/32 text is decoded before it is sniffed)
    return "text"


# --------------------------------------------------------------------------- entry point


def parse_file(
    name: str,
    chunks: Iterable[bytes] | bytes,
    drop: str,
    limits: ParseLimits = ParseLimits(),
) -> Iterator[ParseResult]:
    """Parse one file of a drop. `chunks` is the file's bytes, or an iterable of its lines.

    Lines are streamed for JSON Lines so a large file is never held whole; other formats are
    read whole (bounded by MAX_WHOLE_FILE_BYTES).
    """
    lines = iter([chunks]) if isinstance(chunks, bytes) else iter(chunks)
    head = b""
    buffered: list[bytes] = []
    # Buffer enough of the file to sniff it (a few lines or 8 KiB).
    for piece in lines:
        buffered.append(piece)
        head += piece
        if len(head) >= 8192:
            break
    prov = {"drop": drop, "file": name, "format": "", "line": 0, "entry": 0, "encoding": ""}
    enc = bom_encoding(head[:4])
    xml_enc = enc if enc and enc != "utf-8-sig" else xml_autodetect(head[:4])
    if xml_enc and sniff_format(head.decode(xml_enc, "ignore").encode("utf-8")) in ("feed", "xml"):
        # XML in UTF-16/32 (with a BOM, or its first characters '<?' telling it apart): given
        # to the feed reader as it is, which reads BOM and declaration together (a document
        # re-encoded to UTF-8 would still declare UTF-16).
        data = _read_whole(buffered, lines)
        if data is None:
            yield _dead_file(prov, "file_too_large", f"over {MAX_WHOLE_FILE_BYTES} bytes")
            return
        from transforms.feeds import parse_feed

        yield from parse_feed(data, prov, limits)
        return
    if enc and enc != "utf-8-sig":
        # UTF-16/32 cannot be split on b"\n": decoded to UTF-8, then parsed as any other file.
        # Whole when it fits (a bad byte is then one dead letter for the file), streamed when
        # it does not, so the size never decides how a JSON Lines file is read.
        parts, complete = _buffer_upto(buffered, lines, MAX_WHOLE_FILE_BYTES)
        if complete:
            data = b"".join(parts)
            try:
                text = data.decode(enc)
            except UnicodeDecodeError as exc:
                yield _dead_file(prov, "undecodable_bytes", f"bad {enc}: {exc}", data)
                return
            if not text.strip():
                yield _dead_file(dict(prov, encoding=enc), "empty_file", "the file holds no data")
                return
            utf8: Iterable[bytes] = text.encode("utf-8")
        else:
            utf8 = _decode_stream(_chain(parts, lines), enc)
        try:
            for result in parse_file(name, utf8, drop, limits):
                record = result.article if result.article is not None else result.dead
                record["provenance"]["encoding"] = enc  # what the file was, not the re-encoding
                yield result
        except UnicodeDecodeError as exc:  # streamed only: the units before it are kept
            yield _dead_file(dict(prov, encoding=enc), "undecodable_bytes",
                             f"bad {enc} after the records before it: {exc}")
        return
    sniff_head = head[3:] if enc == "utf-8-sig" else head
    fmt = sniff_format(sniff_head)
    prov["format"] = fmt
    if fmt == "jsonl":
        first_line = next((ln for ln in sniff_head.split(b"\n") if ln.strip()), b"")
        if not _is_json_object_line(first_line):
            # Maybe one pretty-printed JSON object (or not JSON at all): read it whole if it
            # fits. A file that does not fit is still JSON Lines, streamed from its first byte
            # (it used to become one empty_file dead letter: every record lost).
            buffered, complete = _buffer_upto(buffered, lines, MAX_WHOLE_FILE_BYTES)
            if complete:
                data = b"".join(buffered)
                if _whole_json_value(data) is not None:
                    prov["format"] = "json"
                    yield from _parse_json_whole(data, prov, limits)
                    return
        yield from _parse_jsonl(_iter_lines(buffered, lines), prov, limits)
        return
    data = _read_whole(buffered, lines)
    if data is None:
        yield _dead_file(prov, "file_too_large", f"over {MAX_WHOLE_FILE_BYTES} bytes")
        return
    if fmt == "empty":
        yield _dead_file(prov, "empty_file", "the file holds no data", data)
    elif fmt == "json":
        yield from _parse_json_whole(data, prov, limits)
    elif fmt == "feed":
        from transforms.feeds import parse_feed

        yield from parse_feed(data, prov, limits)
    elif fmt == "html":
        from transforms.html_page import parse_html

        yield from parse_html(data, prov, limits)
    elif fmt == "xml":
        # Not rss/feed/rdf at the root, but feedparser may still read entries (a lone Atom
        # entry, RSS 1.1): its reading, sanitised, or not_a_feed. Never the HTML path, which
        # would glue the fields together and let escaped markup through.
        from transforms.feeds import parse_feed

        yield from parse_feed(data, prov, limits)
    elif fmt == "text":
        yield from parse_text(data, prov, limits)
    else:
        yield _dead_file(prov, "unknown_format", "binary data: not JSON Lines, JSON, RSS/Atom, "
                         "HTML or plain text (sniffed from content)", data)


def _buffer_upto(buffered: list[bytes], rest: Iterator[bytes], limit: int
                 ) -> tuple[list[bytes], bool]:
    """Read on from `rest` until the whole file or more than `limit` bytes are held:
    (pieces read so far, True when that is the whole file). `rest` goes on after them.

    >>> rest = iter([b"c", b"d"])
    >>> _buffer_upto([b"a", b"b"], rest, 3), list(rest)
    (([b'a', b'b', b'c', b'd'], False), [])
    >>> _buffer_upto([b"a"], iter([b"b"]), 3)
    ([b'a', b'b'], True)
    """
    parts = list(buffered)
    size = sum(len(b) for b in parts)
    if size > limit:
        return parts, False
    for piece in rest:
        parts.append(piece)
        size += len(piece)
        if size > limit:
            return parts, False
    return parts, True


def _decode_stream(chunks: Iterable[bytes], enc: str) -> Iterator[bytes]:
    """Bytes in a BOM encoding -> the same text as UTF-8, piece by piece (strict: a bad byte
    raises UnicodeDecodeError where it is met)."""
    import codecs

    decoder = codecs.getincrementaldecoder(enc)("strict")
    for piece in chunks:
        text = decoder.decode(piece)
        if text:
            yield text.encode("utf-8")
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail.encode("utf-8")


def _read_whole(buffered: list[bytes], rest: Iterator[bytes]) -> bytes | None:
    size = sum(len(b) for b in buffered)
    parts = list(buffered)
    for piece in rest:
        size += len(piece)
        if size > MAX_WHOLE_FILE_BYTES:
            return None
        parts.append(piece)
    if size > MAX_WHOLE_FILE_BYTES:
        return None
    return b"".join(parts)


def _iter_lines(buffered: list[bytes], rest: Iterator[bytes]) -> Iterator[bytes]:
    """Re-split chunks into lines (chunks may already be lines; bytes may be a whole file)."""
    pending = b""
    for piece in _chain(buffered, rest):
        pending += piece
        while True:
            nl = pending.find(b"\n")
            if nl < 0:
                break
            yield pending[: nl + 1]
            pending = pending[nl + 1:]
    if pending:
        yield pending


def _chain(first: list[bytes], rest: Iterator[bytes]) -> Iterator[bytes]:
    yield from first
    yield from rest


def _is_json_object_line(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line.decode("utf-8", "replace")), dict)
    except (ValueError, RecursionError):  # deep nesting: the line parser dead-letters it
        return False


def _whole_json_value(data: bytes) -> Any:
    try:
        text, _ = decode_bytes(data)
        return json.loads(text)
    except (Reject, ValueError, RecursionError):
        return None


# --------------------------------------------------------------------------- plain text

# A text file with more C0 control characters than this share (other than tab, line and page
# breaks) is binary that happens to decode, not an article.
MAX_CONTROL_SHARE = 0.01
_TEXT_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f]")


def parse_text(data: bytes, prov: dict, limits: ParseLimits) -> Iterator[ParseResult]:
    """A plain-text file is one article: the first non-empty line is the title, the rest the
    body (paragraphs separated by blank lines). The encoding is detected as for JSON Lines;
    a file whose encoding cannot be determined is `unknown_encoding`, never mojibake.

    >>> [r.article["title"] for r in parse_text(b"\\n Title here \\n\\nBody one.\\n", {}, ParseLimits())]
    ['Title here']
    """
    prov = dict(prov, format="text", entry=0, line=0)
    try:
        text, encoding = decode_bytes(data)
    except Reject as rej:
        yield _dead_file(prov, "unknown_encoding", rej.detail, data)
        return
    prov["encoding"] = encoding
    text = text.lstrip("\ufeff")
    if len(_TEXT_CONTROLS.findall(text)) > MAX_CONTROL_SHARE * len(text):
        yield _dead_file(prov, "unknown_format", "control characters: binary data, not text",
                         data)
        return
    title, _, body = text.lstrip(" \t\r\n\f\v").partition("\n")
    yield make_article({"title": title, "body": body}, text, prov, limits)


# --------------------------------------------------------------------------- JSON


def _parse_jsonl(lines: Iterable[bytes], prov: dict, limits: ParseLimits) -> Iterator[ParseResult]:
    prov = dict(prov, format="jsonl")
    seen_any = False
    for number, raw_line in enumerate(lines, start=1):
        line_prov = dict(prov, line=number)
        if not raw_line.strip():
            continue  # blank lines separate nothing; counted as no unit (README: input record)
        seen_any = True
        if len(raw_line) > limits.max_article_chars * 4:  # 4 bytes per char at most in UTF-8
            yield ParseResult(dead=dead_letter(STAGE, "article_too_large",
                                               f"line of {len(raw_line)} bytes", raw_line,
                                               line_prov))
            continue
        try:
            text, encoding = decode_bytes(raw_line)
        except Reject as rej:
            yield ParseResult(dead=dead_letter(STAGE, rej.reason, rej.detail, raw_line, line_prov))
            continue
        line_prov["encoding"] = encoding
        yield _record_from_json_text(text.strip().lstrip("\ufeff"), line_prov, limits)
    if not seen_any:
        yield _dead_file(dict(prov, format="jsonl"), "empty_file", "only blank lines")


# Records deeper than this are dead letters (`too_deep`). A record 500 levels deep (1 KB)
# crashed the whole job with RecursionError while Beam pickled it; json.loads itself gives up
# near 1,000. Real records nest a few levels (an `extra` object holding a list), so 100 is far
# above any real input and far below what breaks the coders.
MAX_NESTING_DEPTH = 100


def nesting_depth(value: Any, limit: int = MAX_NESTING_DEPTH) -> int:
    """How deep lists and dicts nest in `value` (a scalar is 0), counted without recursion;
    the count stops at limit + 1.

    >>> nesting_depth("x"), nesting_depth({"a": [1, {"b": []}]}), nesting_depth([[[[]]]], 2)
    (0, 4, 3)
    """
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _strict_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259 has no NaN or Infinity)")


def _strict_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"number {text[:40]} is out of range for a 64-bit float")
    return value


# Strict JSON in, strict JSON out: NaN, Infinity and numbers that overflow to infinity (1e400)
# would be written into `extra` or an id ("inf") that strict readers refuse.
_DECODER = json.JSONDecoder(parse_constant=_strict_constant, parse_float=_strict_float)


def loads_strict(text: str) -> Any:
    """json.loads without NaN, Infinity or overflowing numbers.

    >>> loads_strict('{"a": 1.5}')
    {'a': 1.5}
    >>> loads_strict('{"a": NaN}')
    Traceback (most recent call last):
    ...
    ValueError: NaN is not JSON (RFC 8259 has no NaN or Infinity)
    """
    return _DECODER.decode(text)


def _record_from_json_text(text: str, prov: dict, limits: ParseLimits) -> ParseResult:
    try:
        value = loads_strict(text)
    except RecursionError:
        return ParseResult(dead=dead_letter(STAGE, "too_deep", "nesting too deep to parse",
                                            text, prov))
    except ValueError as exc:
        reason = "truncated_json" if _looks_truncated(text, exc) else "invalid_json"
        return ParseResult(dead=dead_letter(STAGE, reason, str(exc)[:300], text, prov))
    return _record_from_value(value, text, prov, limits)


def _record_from_value(value: Any, raw: Any, prov: dict, limits: ParseLimits) -> ParseResult:
    if not isinstance(value, dict):
        return ParseResult(dead=dead_letter(
            STAGE, "not_an_object", f"a JSON {type(value).__name__} is not an article record",
            raw, prov))
    depth = nesting_depth(value)
    if depth > MAX_NESTING_DEPTH:
        return ParseResult(dead=dead_letter(
            STAGE, "too_deep", f"nested more than {MAX_NESTING_DEPTH} levels deep", raw, prov,
            _id_of(value)))
    return make_article(value, raw, prov, limits)


def _looks_truncated(text: str, exc: Exception) -> bool:
    msg = str(exc)
    return isinstance(exc, ValueError) and (
        "Unterminated string" in msg
        or "Expecting" in msg and getattr(exc, "pos", -1) >= len(text.rstrip()) - 1
    )


def _parse_json_whole(data: bytes, prov: dict, limits: ParseLimits) -> Iterator[ParseResult]:
    """A JSON array of records (or one object). A truncated array keeps every element that
    parsed completely and dead-letters the rest as one unit."""
    prov = dict(prov, format="json")
    try:
        text, encoding = decode_bytes(data)
    except Reject as rej:
        yield _dead_file(prov, rej.reason, rej.detail, data)
        return
    prov["encoding"] = encoding
    text = text.lstrip("\ufeff").strip()
    if text.startswith("{"):
        yield _record_from_json_text(text, dict(prov, entry=1), limits)
        return
    decoder = _DECODER
    pos, entry = 1, 0  # after "["
    while True:
        pos = _skip_ws(text, pos)
        if pos < len(text) and text[pos] == "]":
            if _skip_ws(text, pos + 1) < len(text):
                yield _dead_file(dict(prov, entry=entry + 1), "invalid_json",
                                 "data after the closing ]", text[pos + 1:])
            elif entry == 0:  # "[]": no record, but the file must still leave a trace
                yield _dead_file(prov, "empty_file", "an empty JSON array", text)
            return
        if pos >= len(text):
            yield _dead_file(dict(prov, entry=entry + 1), "truncated_json",
                             "the array is not closed", "")
            return
        entry += 1
        try:
            value, end = decoder.raw_decode(text, pos)
        except (ValueError, RecursionError) as exc:
            reason = ("too_deep" if isinstance(exc, RecursionError) else
                      "truncated_json" if _looks_truncated(text, exc) else "invalid_json")
            yield _dead_file(dict(prov, entry=entry), reason,
                             f"array element {entry}: {str(exc)[:200]}", text[pos:])
            return
        yield _record_from_value(value, text[pos:end], dict(prov, entry=entry), limits)
        pos = _skip_ws(text, end)
        if pos < len(text) and text[pos] == ",":
            pos += 1


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


# --------------------------------------------------------------------------- small helpers


