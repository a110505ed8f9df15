"""RSS and Atom feeds: an XML guard, then feedparser, one article per entry.

Owns: the entity guard (no DTD entity declarations, no external entities, ever), lenient
recovery of what forgiving readers accept (whitespace before the XML declaration, undeclared
cp1252 bytes), and the mapping of a feed entry onto the input record. A truncated document or
a document that is not a feed is one dead letter with the reason.
"""

from __future__ import annotations

import re
from typing import Iterator
from xml.etree.ElementTree import ParseError

from transforms.ingest import ParseLimits, ParseResult, _dead_file, iso_date, lang_code, make_article
from transforms.record import normalise_id
from transforms.textblocks import html_to_paragraphs

_DTD_ENTITY = re.compile(rb"<!ENTITY", re.I)
_XML_DECL_ENC = re.compile(rb"^(<\?xml[^>]*encoding=[\"'])([A-Za-z0-9._-]+)([\"'])")


def xml_guard(data: bytes) -> str | None:
    """A reason to refuse the document, or None. Entity declarations are refused outright
    (billion laughs, external entities); we never need them for news feeds. A DOCTYPE line
    that only names a DTD (RSS 0.91's Netscape DTD) is harmless: no reader here loads it
    (expat without external entities, feedparser's SAX with feature_external_ges off) and
    defusedxml still refuses any entity declaration the strict check meets.

    >>> xml_guard(b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa">]><rss/>')
    'xml_entities_forbidden'
    >>> xml_guard(b'<rss version="2.0"></rss>') is None
    True
    >>> xml_guard(b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
    ...           b'"http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss/>') is None
    True
    """
    if _DTD_ENTITY.search(data):
        return "xml_entities_forbidden"
    return None


def prepare_feed_bytes(data: bytes) -> tuple[bytes, list[str], str | None]:
    """Strictly check the XML (defusedxml) after the repairs lenient readers make.

    Returns (bytes to give feedparser, repairs applied, problem or None). The problem is
    'truncated_feed' when the document ends early; other strict errors (e.g. an HTML entity
    such as &nbsp; undefined in XML) are left to feedparser's lenient parser.
    """
    from defusedxml import ElementTree as SafeET
    from defusedxml.common import DefusedXmlException

    repairs: list[str] = []
    if data[:1].isspace():
        data = data.lstrip()
        repairs.append("stripped_whitespace_before_xml_declaration")
    for attempt in range(2):
        try:
            SafeET.fromstring(data)
            return data, repairs, None
        except DefusedXmlException:
            return data, repairs, "xml_entities_forbidden"
        except LookupError:
            # The declaration names an encoding Python does not know (e.g. "TF-8", found by
            # tests/test_fuzz_parsers.py); no reader can decode the file as declared.
            return data, repairs, "unknown_xml_encoding"
        except ParseError as exc:
            msg = str(exc)
            if "no element found" in msg or "unclosed token" in msg:
                return data, repairs, "truncated_feed"
            if attempt == 0 and "not well-formed (invalid token)" in msg and not _is_utf8(data):
                # Undeclared legacy bytes: what forgiving readers do is read them as cp1252.
                try:
                    text = data.decode(_declared(data) or "cp1252", "replace")
                except LookupError:
                    return data, repairs, "unknown_xml_encoding"

                data = _XML_DECL_ENC.sub(rb"\1utf-8\3", text.encode("utf-8"))
                repairs.append("decoded_as_cp1252")
                continue
            return data, repairs, None
    return data, repairs, None


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _declared(data: bytes) -> str | None:
    m = _XML_DECL_ENC.match(data)
    if not m:
        return None
    name = m.group(2).decode("ascii").lower()
    return None if name in ("utf-8", "utf8") else name


_PROBLEMS = {
    "truncated_feed": "the XML document ends before its root is closed",
    "unknown_xml_encoding": "the XML declaration names an encoding that does not exist",
}


def parse_feed(data: bytes, prov: dict, limits: ParseLimits) -> Iterator[ParseResult]:
    import feedparser

    prov = dict(prov, format="feed")
    refused = xml_guard(data)
    if refused:
        yield _dead_file(prov, refused, "DTD entity declarations or external entities", data)
        return
    data, repairs, problem = prepare_feed_bytes(data)
    if problem:
        yield _dead_file(prov, problem, _PROBLEMS.get(problem, "refused by the XML guard"), data)
        return
    try:
        parsed = feedparser.parse(data, resolve_relative_uris=False, sanitize_html=True)
    except Exception as exc:  # noqa: BLE001 - e.g. a NUL in the declared encoding name
        # (found by tests/test_fuzz_parsers.py): one dead letter, not a crashed file.
        yield _dead_file(prov, "feed_parser_crashed", f"{type(exc).__name__}: {exc}"[:300], data)
        return
    version = parsed.get("version") or ""
    if not parsed.entries:
        if not version:
            err = parsed.get("bozo_exception")
            yield _dead_file(prov, "not_a_feed", f"feedparser found no feed: {err}", data)
        else:
            yield _dead_file(prov, "empty_feed", f"{version} feed with no entries", data)
        return
    feed_lang = lang_code(parsed.feed.get("language"))
    feed_title = parsed.feed.get("title", "")
    if repairs:
        prov["encoding"] = "; ".join(repairs)
    prov["feed_version"] = version
    for index, entry in enumerate(parsed.entries, start=1):
        entry_prov = dict(prov, entry=index)
        html = ""
        if entry.get("content"):
            html = "\n".join(c.get("value", "") for c in entry.content)
        html = html or entry.get("summary", "") or entry.get("description", "")
        raw = {k: entry.get(k) for k in ("id", "link", "title", "published", "summary")}
        try:
            title = " ".join(html_to_paragraphs(entry.get("title", "")))
            body = html_to_paragraphs(html)
        except ValueError as exc:
            # lxml refuses some control characters once a dropped tag's tail is moved (found
            # by tests/test_fuzz_parsers.py); this entry is a dead letter, the others go on.
            yield _dead_file(entry_prov, "unparseable_entry_html", str(exc)[:300], raw)
            continue
        url = entry.get("link", "") or ""
        fields = {
            # No guid/id: new_article hashes url + title, and the body when both are missing,
            # exactly as for a JSON Lines record (body-only entries must not share one id).
            "id": normalise_id(entry.get("id")),
            "url": url,
            "source": feed_title,
            "published": iso_date(entry.get("published_parsed") or entry.get("updated_parsed"))
            or entry.get("published", "") or entry.get("updated", ""),
            "title": title,
            "body": body,
            "lang": lang_code(entry.get("language")) or feed_lang,
        }
        yield make_article(fields, raw, entry_prov, limits)
