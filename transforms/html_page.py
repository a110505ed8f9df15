"""HTML pages: trafilatura extracts the title and the main text of one article per page.

Owns: page -> input record. Deduplication inside trafilatura stays off: it makes reruns drop
text (trafilatura#17/#778) and we promise byte-identical reruns.
"""

from __future__ import annotations

from typing import Iterator

from transforms.ingest import ParseLimits, ParseResult, _dead_file, decode_bytes, lang_code, make_article
from transforms.record import Reject


def extract_page(data: bytes) -> dict | None:
    """trafilatura on one page -> {title, body (paragraph list), url, published, lang, source}.

    None when trafilatura finds no main text.
    """
    import trafilatura

    doc = trafilatura.bare_extraction(
        data,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        deduplicate=False,
        favor_precision=True,
    )
    if doc is None:
        return None
    get = (lambda k: getattr(doc, k, None)) if not isinstance(doc, dict) else doc.get
    text = get("text") or ""
    paragraphs = [line.strip() for line in text.split("\n") if line.strip()]
    if not paragraphs:
        return None
    return {
        "title": get("title") or "",
        "body": paragraphs,
        "url": get("url") or "",
        "published": get("date") or "",
        "source": get("sitename") or "",
        "lang": lang_code(get("language")),
    }


def parse_html(data: bytes, prov: dict, limits: ParseLimits) -> Iterator[ParseResult]:
    prov = dict(prov, format="html", entry=1)
    try:
        _, encoding = decode_bytes(data)
        prov["encoding"] = encoding
    except Reject:
        prov["encoding"] = "declared-by-page"
    fields = extract_page(data)
    if fields is None:
        yield _dead_file(prov, "no_article_text", "trafilatura found no main text", data)
        return
    yield make_article(fields, data, prov, limits)
