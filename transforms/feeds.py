"""RSS and Atom feeds: decoding, an XML guard, then feedparser, one article per entry.

Owns: the feed's encoding (feedparser's declared > BOM > UTF-8 order, then charset-normalizer,
else `unknown_encoding`), the entity guard (no DTD entity declarations, no external entities,
ever), lenient recovery of what forgiving readers accept (whitespace before the XML
declaration), and the mapping of a feed entry onto the input record. A truncated document or a
document that is not a feed is one dead letter with the reason.
"""

from __future__ import annotations

import codecs
import re
from typing import Iterator
from xml.etree.ElementTree import ParseError

from transforms.parsed import ParseLimits, ParseResult, _dead_file, iso_date, lang_code, make_article
from transforms.record import Reject, normalise_id
from transforms.textblocks import html_to_paragraphs

_DTD_ENTITY = re.compile(rb"<!ENTITY", re.I)


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


def encoding_name(name: str) -> str:
    """Python's name for an encoding, as provenance records it.

    >>> encoding_name("windows_1256"), encoding_name("KOI8-R"), encoding_name("nonsense")
    ('cp1256', 'koi8-r', 'nonsense')
    """
    import codecs

    try:
        return codecs.lookup(name).name
    except LookupError:
        return name


def decode_feed(data: bytes) -> tuple[bytes, str]:
    """Feed bytes -> (UTF-8 bytes declaring utf-8, the encoding they were read in).

    The order is the XML one, by feedparser's own code (feedparser.encodings.convert_to_utf8,
    with no HTTP headers): the declared encoding, else the BOM or the first characters (UTF-16
    and UTF-32 too), else UTF-8. When that does not fit the bytes, feedparser would go on to
    windows-1252 and iso-8859-2, which read anything and turn KOI8-R or Arabic into mojibake;
    charset-normalizer chooses from the bytes instead ("(detected)"), and when it finds
    nothing the file is refused (Reject unknown_encoding), never read as mojibake.

    >>> decode_feed('<?xml version="1.0" encoding="koi8-r"?><rss>Привет</rss>'.encode("koi8-r"))
    (b"<?xml version='1.0' encoding='utf-8'?><rss>\\xd0\\x9f\\xd1\\x80\\xd0\\xb8\\xd0\\xb2\\xd0\\xb5\\xd1\\x82</rss>", 'koi8-r')
    """
    from transforms.parsed import detect_encoding, xml_autodetect

    # A BOM (or UTF-16/32 first characters) decides the encoding (XML 1.0 appendix F);
    # feedparser would try its UTF-8 default first, which "reads" UTF-32 as text with NULs.
    unit = next((enc for bom, enc in _UNICODE_BOMS if data.startswith(bom)), None) \
        or xml_autodetect(data[:4])
    utf8, problem, used = _convert(data, unit)
    if problem is None:
        return utf8, encoding_name(used)
    best = detect_encoding(_text_sample(data))
    if best is not None and best.encoding:
        utf8, again, used = _convert(data, best.encoding)
        if again is None:
            return utf8, f"{encoding_name(used)} (detected)"
    raise Reject("unknown_encoding", f"{problem}; charset-normalizer finds no encoding that "
                 "fits the bytes")


_ANY_TAG = re.compile(rb"<[^<>]*>")


def _text_sample(data: bytes) -> bytes:
    """The bytes between tags, for the detector: on a whole feed, the ASCII markup outweighs
    the text (a Shift_JIS headline in a small feed was scored as cp1250, 0.065 chaos against
    0.067 for cp932; on the text alone cp932 wins). Only used once the encoding is known to be
    ASCII-compatible: no lead or trail byte of Shift_JIS, Big5, GBK, EUC or a single-byte code
    page is '<' or '>'. A document with no non-ASCII text is given whole.

    >>> _text_sample(b'<rss><title a="1">Caf\\xe9</title></rss>')
    b'  Caf\\xe9  '
    """
    sample = _ANY_TAG.sub(b" ", data)
    return data if sample.isascii() else sample


_UNICODE_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
                 (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                 (codecs.BOM_UTF16_BE, "utf-16-be"))


def _convert(data: bytes, charset: str | None) -> tuple[bytes, Exception | None, str]:
    """feedparser's conversion to UTF-8; `charset` is given as an HTTP charset, which it puts
    before the declaration. (UTF-8 bytes, the problem or None, the encoding used)."""
    from feedparser.encodings import convert_to_utf8

    result: dict = {}
    headers = {"content-type": f"application/xml; charset={charset}"} if charset else {}
    try:
        utf8 = convert_to_utf8(headers, data, result)
    except ValueError as exc:  # e.g. a NUL inside the declared encoding's name
        return data, exc, ""
    return utf8, result.get("bozo_exception"), result.get("encoding") or ""


def prepare_feed_bytes(data: bytes) -> tuple[bytes, list[str], str | None]:
    """Strictly check the XML (defusedxml) after the repairs lenient readers make. `data` is
    UTF-8 (decode_feed).

    Returns (bytes to give feedparser, repairs applied, problem or None). The problem is
    'truncated_feed' when the document ends early; other strict errors (e.g. an HTML entity
    such as &nbsp; undefined in XML) are left to feedparser's lenient parser.
    """
    from defusedxml import ElementTree as SafeET
    from defusedxml.common import DefusedXmlException

    try:
        SafeET.fromstring(data)
        return data, [], None
    except DefusedXmlException:
        return data, [], "xml_entities_forbidden"
    except ParseError as exc:
        msg = str(exc)
        if "no element found" in msg or "unclosed token" in msg:
            return data, [], "truncated_feed"
        return data, [], None


_PROBLEMS = {
    "truncated_feed": "the XML document ends before its root is closed",
}


def parse_feed_unbounded(data: bytes, prov: dict, limits: ParseLimits) -> Iterator[ParseResult]:
    """One feed -> one result per entry, in this process and without a time limit (see
    parse_feed)."""
    import feedparser

    prov = dict(prov, format="feed")
    original = data
    repairs = []
    if data[:1].isspace():
        data = data.lstrip()
        repairs.append("stripped_whitespace_before_xml_declaration")
    try:
        data, encoding = decode_feed(data)
    except Reject as rej:
        yield _dead_file(prov, rej.reason, rej.detail, original)
        return
    prov["encoding"] = "; ".join([encoding] + repairs)
    if encoding == "utf-8":
        # A dead letter of the file keeps the bytes as they came when they are readable as
        # they are (and their sha256 is the file's); others keep the text as UTF-8.
        data_for_dead = original
    else:
        data_for_dead = data
    refused = xml_guard(data)
    if refused:
        yield _dead_file(prov, refused, "DTD entity declarations or external entities",
                         data_for_dead)
        return
    data, _, problem = prepare_feed_bytes(data)
    if problem:
        yield _dead_file(prov, problem, _PROBLEMS.get(problem, "refused by the XML guard"),
                         data_for_dead)
        return
    try:
        parsed = feedparser.parse(data, resolve_relative_uris=False, sanitize_html=True)
    except Exception as exc:  # noqa: BLE001 - e.g. a NUL in the declared encoding name
        # (found by tests/test_fuzz_parsers.py): one dead letter, not a crashed file.
        yield _dead_file(prov, "feed_parser_crashed", f"{type(exc).__name__}: {exc}"[:300],
                         data_for_dead)
        return
    version = parsed.get("version") or ""
    if not parsed.entries:
        if not version:
            err = parsed.get("bozo_exception")
            yield _dead_file(prov, "not_a_feed", f"feedparser found no feed: {err}", data_for_dead)
        else:
            yield _dead_file(prov, "empty_feed", f"{version} feed with no entries", data_for_dead)
        return
    feed_lang = lang_code(parsed.feed.get("language"))
    feed_title = parsed.feed.get("title", "")
    prov["feed_version"] = version
    # The channel's declared language, apart from an entry's own (`lang` holds whichever is
    # set): the language stage logs which one decided (transforms/language.py).
    prov["feed_lang"] = feed_lang
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


# --------------------------------------------------------------------------- bounds
#
# Feed parsing time grows quadratically with the attributes (or namespace declarations) of one
# element: 8,000 attributes took 1.9 s here, 40,000 took 62 s and a 1.2 MB feed with 100,000
# took 137 s (issue 21). So, before parsing: a cap on attributes per element, and parsing runs
# in a worker process under a hard time limit, like HTML extraction (transforms/html_page.py).

# At most this many attributes (namespace declarations included) on one element. The most in
# the 2 feed corpora of shared/eval (feeds, feeds_feedparser) is 10 (xmlns declarations on an
# <rss> root); 100 is 10x that and parses in milliseconds.
MAX_ATTRIBUTES_PER_ELEMENT = 100
_TAG = re.compile(rb"<[A-Za-z_][^<>]*>")
_ATTRIBUTE = re.compile(rb"""\s[^\s=<>"'/]+\s*=\s*["']""")
# A tag shorter than this cannot hold MAX_ATTRIBUTES_PER_ELEMENT attributes (each is at least
# ' a=""', 5 bytes), so only longer tags are counted: the scan stays one regex pass.
_SHORTEST_OVER_CAP = 5 * MAX_ATTRIBUTES_PER_ELEMENT


def most_attributes(data: bytes) -> int:
    """The most attributes on one element (start tags only; 0 when none is long enough to
    matter). Cheap: one pass, and only long tags are counted.

    >>> most_attributes(b'<rss version="2.0"><item a="1" b="2"/></rss>')
    0
    >>> most_attributes(b"<item " + b" ".join(b'a%d="x"' % i for i in range(300)) + b">")
    300
    """
    most = 0
    for m in _TAG.finditer(data):
        if m.end() - m.start() >= _SHORTEST_OVER_CAP:
            most = max(most, len(_ATTRIBUTE.findall(data, m.start(), m.end())))
    return most


def parse_feed_job(job: tuple) -> list[ParseResult]:
    """What a feed worker process runs: (data, prov, limits) -> every result of the feed."""
    return list(parse_feed_unbounded(*job))


def _warm_feed_worker() -> None:
    import feedparser  # noqa: F401
    import lxml.html  # noqa: F401


parse_feed_job.warm_up = _warm_feed_worker  # type: ignore[attr-defined]


def parse_feed(data: bytes, prov: dict, limits: ParseLimits, pool=None) -> Iterator[ParseResult]:
    """One feed -> one result per entry, bounded: an element with more than
    MAX_ATTRIBUTES_PER_ELEMENT attributes makes the file one dead letter `too_many_attributes`
    (checked before parsing), and parsing over `limits.feed_timeout_s` is killed and the file
    is one dead letter `feed_timeout` (<= 0: in-process, no limit)."""
    from transforms.html_page import ExtractionCrashed, ExtractionTimeout, run_with_limit
    from transforms.parsed import xml_autodetect

    prov = dict(prov, format="feed")
    # UTF-16/32 come here as they are (ingest.parse_file): counted on their text.
    unit = next((enc for bom, enc in _UNICODE_BOMS if data.startswith(bom)), None) \
        or xml_autodetect(data[:4])
    most = most_attributes(data if unit in (None, "utf-8") else
                           data.decode(unit, "ignore").encode("utf-8"))
    if most > MAX_ATTRIBUTES_PER_ELEMENT:
        yield _dead_file(prov, "too_many_attributes",
                         f"an element with {most} attributes (at most "
                         f"{MAX_ATTRIBUTES_PER_ELEMENT}; parsing time grows with their square)",
                         data)
        return
    timeout = limits.feed_timeout_s
    if timeout <= 0:
        yield from parse_feed_unbounded(data, prov, limits)
        return
    try:
        results = run_with_limit(parse_feed_job, (data, prov, limits), timeout, pool)
    except ExtractionTimeout as exc:
        yield _dead_file(prov, "feed_timeout", f"{exc} (feed_timeout_s={timeout:g})", data)
        return
    except ExtractionCrashed as exc:
        yield _dead_file(prov, "feed_parser_crashed", str(exc)[:300], data)
        return
    yield from results
