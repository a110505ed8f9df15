"""What a parser produces, shared by every format's parser (transforms/ingest.py dispatches;
transforms/feeds.py and transforms/html_page.py parse their formats): the parse limits, the
result of one input unit (an article or a dead letter), the article builder that turns a
record's fields into one, byte decoding, and small field helpers. Here so that the format
parsers and the dispatcher do not import each other.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import time  # noqa: F401 - iso_date's doctest builds a struct_time
from dataclasses import dataclass
from typing import Any

from transforms.record import Reject, dead_letter, new_article

STAGE = "parse"

# Whole-file formats (JSON array, feeds, HTML) are parsed in memory; a file above this size is
# dead-lettered instead of risking the worker. 64 MiB is ~10x the largest real feed we have seen
# (shared/eval/feeds: 0.2 MB max) and well inside a 2-core/24 GiB worker. JSON Lines streams and
# is not bound by it; its per-line limit is the article-size limit of the job config.
MAX_WHOLE_FILE_BYTES = 64 * 1024 * 1024

@dataclass(frozen=True)
class ParseLimits:
    """Limits applied while parsing (from the job config)."""

    max_article_chars: int = 2_000_000
    max_paragraphs: int = 5_000
    html_timeout_s: float = 30.0
    feed_timeout_s: float = 30.0

    @classmethod
    def from_settings(cls, settings: Any) -> "ParseLimits":
        """From a job config object or its dict form (as saved in manifest.json); a setting
        missing from either keeps its default.

        >>> ParseLimits.from_settings({"max_paragraphs": 3}).max_paragraphs
        3
        """
        def get(name: str):
            default = getattr(cls, name)
            if isinstance(settings, dict):
                return settings.get(name, default)
            return getattr(settings, name, default)

        return cls(**{f: get(f) for f in ("max_article_chars", "max_paragraphs",
                                           "html_timeout_s", "feed_timeout_s")})

@dataclass
class ParseResult:
    """One input unit: exactly one of `article` / `dead` is set."""

    article: dict | None = None
    dead: dict | None = None
    # The input fields the article was made from (`newsnorm replay` starts from their text).
    fields: dict | None = None

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)

def xml_autodetect(head: bytes) -> str | None:
    """UTF-16/32 without a BOM, told by the first characters of an XML document ('<?' or '<'
    in that encoding: XML 1.0 appendix F), with feedparser's markers.

    >>> xml_autodetect("<?xml".encode("utf-16-le")), xml_autodetect(b"<?xml")
    ('utf-16-le', None)
    """
    from feedparser.encodings import (UTF16BE_MARKER, UTF16LE_MARKER, UTF32BE_MARKER,
                                      UTF32LE_MARKER)

    return {UTF16BE_MARKER: "utf-16-be", UTF16LE_MARKER: "utf-16-le",
            UTF32BE_MARKER: "utf-32-be", UTF32LE_MARKER: "utf-32-le"}.get(head[:4])


def bom_encoding(head: bytes) -> str | None:
    """The encoding named by a byte-order mark, if any.

    >>> bom_encoding(b"\\xff\\xfe{\\x00"), bom_encoding(b"{}")
    ('utf-16', None)
    """
    for bom, enc in _BOMS:
        if head.startswith(bom):
            return enc
    return None

def detect_encoding(data: bytes):  # -> charset_normalizer.CharsetMatch | None
    """charset-normalizer's best match for bytes of unknown encoding. When it cannot tell
    windows-1252 from the best match (same chaos, same coherence: Portuguese "simulações" reads
    as well in cp1250, "simulaçő"), windows-1252 wins: it is the web's default for undeclared
    legacy text (WHATWG Encoding Standard) and what feedparser falls back to.

    >>> detect_encoding("Rival de Putin é condenado a mais 20 dias de prisão. Simulações, "
    ...                 "perseguição e campeã.".encode("cp1252")).encoding
    'cp1252'
    """
    from charset_normalizer import from_bytes

    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        return None
    for match in matches:
        if (match.encoding == "cp1252" and match.chaos == best.chaos
                and match.coherence == best.coherence):
            return match
    return best


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode bytes to text: BOM, then strict UTF-8, then a detected encoding.

    Returns (text, encoding). The encoding is suffixed with "(detected)" when it was guessed,
    which the article records as a documented repair. Raises Reject when nothing fits.

    >>> decode_bytes("café".encode("utf-8"))
    ('café', 'utf-8')
    >>> decode_bytes("مرحبا بكم في الموقع".encode("cp1256"))[1]
    'cp1256 (detected)'
    """
    enc = bom_encoding(data[:4])
    if enc:
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError as exc:
            raise Reject("undecodable_bytes", f"bad {enc} after BOM: {exc}") from exc
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    best = detect_encoding(data)
    if best is None or best.encoding in (None, "utf_8", "utf-8"):
        raise Reject("undecodable_bytes", "not UTF-8 and no other encoding fits")
    name = _ENCODING_NAMES.get(best.encoding, best.encoding)
    return str(best), f"{name} (detected)"

_ENCODING_NAMES = {"windows_1256": "cp1256", "windows_1252": "cp1252", "latin_1": "latin-1",
                   "iso8859_1": "latin-1", "cp1256": "cp1256", "cp1252": "cp1252"}

def _dead_file(prov: dict, reason: str, error: str, raw: Any = b"") -> ParseResult:
    return ParseResult(dead=dead_letter(STAGE, reason, error, raw, prov))

def check_limits(article: dict, limits: ParseLimits) -> None:
    """Reject an article above the configured size limits (before any stage works on it)."""
    size = len(article["title"]) + len(article["body"]) + len(article["original_body"])
    if size > limits.max_article_chars:
        raise Reject("article_too_large",
                     f"{size} characters > max_article_chars={limits.max_article_chars}")
    paragraphs = article["body"].count("\n\n") + 1 if article["body"] else 0
    if paragraphs > limits.max_paragraphs:
        raise Reject("too_many_paragraphs",
                     f"{paragraphs} paragraphs > max_paragraphs={limits.max_paragraphs}")

def check_unicode(fields: Any) -> None:
    """Reject text that cannot be written as UTF-8: an unpaired UTF-16 surrogate (JSON allows
    the escape "\\ud800"). Left in, it crashes Beam's coder and fails the whole job.

    >>> check_unicode({"title": "ok", "extra": ["caf\u00e9 \U0001F600"]})
    >>> check_unicode({"title": "bad " + chr(0xD800)})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    transforms.record.Reject: lone_surrogate: ...
    """
    try:
        json.dumps(fields, ensure_ascii=False, default=str).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise Reject("lone_surrogate", f"unpaired UTF-16 surrogate {exc.object[exc.start]!r} "
                     "in a text field; not writable as UTF-8") from None

def make_article(fields: dict, raw: Any, prov: dict, limits: ParseLimits) -> ParseResult:
    """fields -> ParseResult, turning a Reject into a dead letter."""
    try:
        check_unicode(fields)
        article = new_article(fields, prov)
        check_limits(article, limits)
        return ParseResult(article=article, fields=fields)
    except Reject as rej:
        return ParseResult(dead=dead_letter(STAGE, rej.reason, rej.detail, raw, prov,
                                            _id_of(fields)))

def _id_of(fields: Any) -> str | None:
    if isinstance(fields, dict) and isinstance(fields.get("id"), (str, int)) \
            and not isinstance(fields.get("id"), bool):
        # Escaped so that an id holding a lone surrogate can still be written.
        return str(fields["id"]).encode("utf-8", "backslashreplace").decode("utf-8")
    return None

def iso_date(struct_time: Any) -> str:
    """feedparser's parsed time -> ISO 8601 UTC.

    >>> iso_date(time.struct_time((2023, 11, 30, 18, 5, 0, 3, 334, 0)))
    '2023-11-30T18:05:00Z'
    >>> iso_date(None)
    ''
    """
    if not struct_time:
        return ""
    try:
        return _dt.datetime(*struct_time[:6]).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (TypeError, ValueError):
        return ""

def lang_code(value: str | None) -> str:
    """A declared language tag -> its primary subtag.

    >>> lang_code("fr-FR"), lang_code("ar_SA"), lang_code(None)
    ('fr', 'ar', '')
    """
    if not value:
        return ""
    return re.split(r"[-_]", value.strip().lower(), maxsplit=1)[0][:8]
