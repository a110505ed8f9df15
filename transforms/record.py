"""The article record that travels through the pipeline, and the dead-letter record.

Owns: field names, stable ids, the `Reject` signal a stage raises to dead-letter an article,
and the helpers that turn a failure into a dead-letter record. Nothing here knows Beam.

Inside the pipeline an article is a plain dict. `title` and `body` are strings; `body` keeps
paragraphs separated by one blank line ("\\n\\n") from parse to write, so that every change can
be logged as a span edit on one string and replayed (see transforms/replay.py). Per-paragraph
facts (language, heading) are lists indexed like `split_paragraphs(body)`.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Iterable, Mapping

from transforms.replay import diff_steps

# Input fields of the JSON Lines record (README "Input record").
INPUT_FIELDS = (
    "id",
    "url",
    "source",
    "published",
    "title",
    "body",
    "lang",
    "original_title",
    "original_body",
    "original_lang",
)

PARAGRAPH_SEP = "\n\n"

# A dead letter keeps at most this much of the raw input. Enough to see and replay a real
# article (the longest article in shared/eval/news is ~6 kB); huge poison lines are cut so the
# dead-letter file cannot itself become the memory problem. `raw_truncated` says when it was cut
# and `raw_sha256` still identifies the full input.
MAX_RAW_CHARS = 64 * 1024


class Reject(Exception):
    """Raised by a stage to send the article to the dead letters with a reason.

    `reason` is a short snake_case code (counted in the manifest); `detail` is for humans.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def stable_id(url: str | None, title: str | None, body: str | None = None) -> str:
    """A stable id from url+title (and body only when both are missing).

    >>> stable_id("https://x.test/a", "Hello")
    'h-2899ce1610f7aea9'
    >>> stable_id("https://x.test/a", "Hello") == stable_id("https://x.test/a", "Hello")
    True
    """
    key = f"{url or ''}\n{title or ''}"
    if not (url or title):
        key += "\n" + (body or "")
    return "h-" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def normalise_id(value: Any) -> str | None:
    """Ids from feeds may be ints or padded strings; an empty id is no id.

    >>> normalise_id(" 42 "), normalise_id(7), normalise_id(""), normalise_id(None)
    ('42', '7', None, None)
    """
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    text = str(value).strip()
    return text or None


# Whitespace is ASCII whitespace here: U+0085 (NEL) is what cp1252's "…" becomes when read as
# latin-1, and U+2028/U+2029 are text; Python's str.split()/strip()/\s would eat them silently,
# while the normalize stage repairs or keeps them with a logged step.
_ASCII_SPACE = " \t\n\r\f\v"
_ASCII_SPACE_RUN = re.compile(r"[ \t\n\r\f\v]+")
_BLANK_LINES = re.compile(r"\n[ \t\r\f\v]*\n[ \t\n\r\f\v]*")


def collapse_spaces(text: str) -> str:
    """Runs of ASCII whitespace -> one space, none at the ends; other characters stay.

    >>> collapse_spaces("  Wait\\x85  what \\n now ")
    'Wait\\x85 what now'
    """
    return _ASCII_SPACE_RUN.sub(" ", text).strip(" ")


def join_paragraphs(paragraphs: Iterable[str]) -> str:
    """Paragraphs -> the body string, dropping empty ones.

    >>> join_paragraphs(["a", " ", "b\\n"])
    'a\\n\\nb'
    """
    return PARAGRAPH_SEP.join(p.strip(_ASCII_SPACE) for p in paragraphs
                              if p and p.strip(_ASCII_SPACE))


def canonical_body(body: str) -> str:
    """Any run of blank lines becomes exactly one; line ends are \\n.

    >>> canonical_body("a\\r\\n\\r\\n\\r\\nb\\nc")
    'a\\n\\nb\\nc'
    """
    body = body.replace("\r\n", "\n").replace("\r", "\n")
    return _BLANK_LINES.sub(PARAGRAPH_SEP, body).strip(_ASCII_SPACE)


def split_paragraphs(body: str) -> list[str]:
    """The body string -> paragraphs (the inverse of join_paragraphs on canonical bodies).

    >>> split_paragraphs("a\\n\\nb")
    ['a', 'b']
    >>> split_paragraphs("")
    []
    """
    return [p for p in body.split(PARAGRAPH_SEP) if p] if body else []


def paragraph_spans(body: str) -> list[tuple[int, int]]:
    r"""(start, end) of each of `split_paragraphs(body)` in `body`, in order.

    >>> body = "a\n\nbc\n\n\n\nd"
    >>> paragraph_spans(body), [body[s:e] for s, e in paragraph_spans(body)]
    ([(0, 1), (3, 5), (9, 10)], ['a', 'bc', 'd'])
    """
    spans, pos = [], 0
    for para in split_paragraphs(body):
        start = body.index(para, pos)
        spans.append((start, start + len(para)))
        pos = start + len(para)
    return spans


def input_text(fields: Mapping[str, Any], name: str) -> str:
    r"""A title or body as the input record holds it, before any change (a list of paragraphs
    is its items, one blank line apart). Raises Reject for a value that is not text.

    >>> input_text({"body": ["a ", "b"]}, "body"), input_text({"title": 7}, "title")
    ('a \n\nb', '7')
    """
    value = fields.get(name)
    if isinstance(value, list) and name == "body":
        if not all(isinstance(p, str) for p in value):
            raise Reject("bad_field_type", "body list must hold strings only")
        return PARAGRAPH_SEP.join(value)
    return _as_text(value, name)


def new_article(fields: Mapping[str, Any], provenance: Mapping[str, Any]) -> dict:
    """Build the working record from parsed input fields. Unknown fields go under `extra`.

    Raises Reject when the record cannot be an article.
    """
    raw_title, raw_body = input_text(fields, "title"), input_text(fields, "body")
    body_value = fields.get("body")
    body = canonical_body(join_paragraphs(body_value) if isinstance(body_value, list)
                          else raw_body)
    title = collapse_spaces(raw_title)
    if not title and not body:
        raise Reject("no_title_no_body", "the record has neither a title nor a body")
    url, unsafe = safe_url(_as_text(fields.get("url"), "url"))
    raw_id = fields.get("id")
    if isinstance(raw_id, (bool, list, dict)):
        raise Reject("bad_field_type", f"field 'id' must be a string or a number, got "
                     f"{type(raw_id).__name__}")
    original_body = fields.get("original_body")
    if isinstance(original_body, list):
        original_body = join_paragraphs(str(p) for p in original_body)
    article = {
        "id": normalise_id(raw_id) or stable_id(url, title, body),
        "url": url,
        "source": _as_text(fields.get("source"), "source").strip(),
        "published": _as_text(fields.get("published"), "published").strip(),
        "title": title,
        "body": body,
        "lang": _as_text(fields.get("lang"), "lang").strip().lower(),
        "original_title": _as_text(fields.get("original_title"), "original_title"),
        "original_body": canonical_body(_as_text(original_body, "original_body")),
        "original_lang": _as_text(fields.get("original_lang"), "original_lang").strip().lower(),
        "extra": {k: v for k, v in fields.items() if k not in INPUT_FIELDS},
        "provenance": dict(provenance),
        # Filled by the stages; present from the start so every stage sees one shape.
        "input_title": title,
        "input_body": body,
        # What parsing changed (blank-line runs, line ends, spaces): raw text -> input_title/
        # input_body. The stages log from input_*; the output's `repairs` starts with these
        # (validate), so replaying it on the record's own text gives the output.
        "parse_steps": (diff_steps("parse", "collapse_spaces", "whitespace", "title", raw_title,
                                   title)
                        + diff_steps("parse", "canonical_body", "whitespace", "body", raw_body,
                                     body)),
        "repairs": [],
        "flags": [unsafe] if unsafe else [],
        "related": [],
        "credit": [],
        "captions": [],
        "mt_origin": {"likely": False, "signals": []},
        "paragraph_langs": [],
        "headings": [],
        "source_lang": "",
        "source_lang_confidence": 0.0,
        "source_lang_by": "",
        "lang_evidence": [],
        "title_lang": {},
        "route": "",
        "translation": {"status": "not_needed", "model": "", "model_version": "", "reason": ""},
        "status": "",
    }
    return article


# Schemes that run code or carry a document when a reader follows the link. Article URLs are
# http(s) in practice; these are dropped (flag `unsafe_url_dropped`), anything else is kept.
UNSAFE_URL_SCHEMES = ("javascript", "vbscript", "data", "file")
# What browsers ignore inside a scheme ("java\tscript:", leading controls and spaces).
_URL_IGNORED = re.compile(r"[\x00-\x20\x7f]+")


def safe_url(url: str) -> tuple[str, str]:
    """(url, "") or ("", "unsafe_url_dropped") when its scheme runs code in a browser.

    >>> safe_url(" https://x.test/a "), safe_url(" JaVa\tScript:alert(1)")
    (('https://x.test/a', ''), ('', 'unsafe_url_dropped'))
    """
    url = url.strip()
    scheme = _URL_IGNORED.sub("", url).split(":", 1)[0].lower() if ":" in url else ""
    if scheme in UNSAFE_URL_SCHEMES:
        return "", "unsafe_url_dropped"
    return url, ""


def _as_text(value: Any, name: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise Reject("bad_field_type", f"field {name!r} must be a string, got {type(value).__name__}")


def raw_excerpt(raw: Any) -> tuple[str, bool, str]:
    """(raw text capped at MAX_RAW_CHARS, whether it was cut, sha256 of the full raw)."""
    if isinstance(raw, bytes):
        digest = hashlib.sha256(raw).hexdigest()
        text = raw.decode("utf-8", "replace")
    else:
        text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False, default=str)
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    # Lone surrogates cannot be written as UTF-8; keep them visible as escapes.
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    cut = len(text) > MAX_RAW_CHARS
    return (text[:MAX_RAW_CHARS] if cut else text), cut, digest


def dead_letter(
    stage: str,
    reason: str,
    error: str,
    raw: Any,
    provenance: Mapping[str, Any],
    article_id: str | None = None,
) -> dict:
    """A dead-letter record: what failed, where, why, and the raw input to replay it."""
    text, cut, digest = raw_excerpt(raw)
    return {
        "id": article_id or "",
        "stage": stage,
        "reason": reason,
        "error": error,
        "raw": text,
        "raw_truncated": cut,
        "raw_sha256": digest,
        "provenance": dict(provenance),
    }


def article_as_raw(article: Mapping[str, Any]) -> dict:
    """The input view of a working article, for dead letters raised after parsing."""
    raw = {k: article.get(k) for k in INPUT_FIELDS}
    raw["title"] = article.get("input_title", raw.get("title"))
    raw["body"] = article.get("input_body", raw.get("body"))
    if article.get("extra"):
        raw.update(article["extra"])
    return raw


def sort_key_for_provenance(prov: Mapping[str, Any]) -> str:
    """Deterministic order of inputs: file, then line, then entry index.

    >>> sort_key_for_provenance({"file": "a.jsonl", "line": 3})
    'a.jsonl\\x00000000003\\x00000000000'
    """
    return "%s\x00%09d\x00%09d" % (
        prov.get("file", ""),
        int(prov.get("line") or 0),
        int(prov.get("entry") or 0),
    )
