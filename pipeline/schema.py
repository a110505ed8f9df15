"""The output schemas: one for articles (JSON Lines and Parquet alike) and one for dead letters.

Owns: field names, order and types of what we write. JSON Lines holds exactly the same fields
in the same order as Parquet; `extra` is a JSON string in both so the schema never changes with
the input. README "Output layout" documents every field.
"""

from __future__ import annotations

import json

import pyarrow as pa

REPAIR = pa.struct([
    ("stage", pa.string()), ("kind", pa.string()), ("fixer", pa.string()),
    ("field", pa.string()), ("start", pa.int64()), ("end", pa.int64()),
    ("before", pa.string()), ("after", pa.string()), ("evidence", pa.string()),
    ("method", pa.string()), ("confidence", pa.float64()),
])

PARAGRAPH = pa.struct([
    ("text", pa.string()), ("kind", pa.string()), ("lang", pa.string()),
    ("lang_confidence", pa.float64()), ("lang_by", pa.string()),
])

# Sentences of an article by the path they took through the translate stage.
TRANSLATION_COUNTS = pa.struct([
    ("sentences", pa.int64()), ("translated", pa.int64()), ("retried", pa.int64()),
    ("kept_source", pa.int64()),
])

PROVENANCE = pa.struct([
    ("drop", pa.string()), ("file", pa.string()), ("format", pa.string()),
    ("encoding", pa.string()), ("line", pa.int64()), ("entry", pa.int64()),
])

ARTICLE_SCHEMA = pa.schema([
    ("id", pa.string()),
    ("url", pa.string()),
    ("source", pa.string()),
    ("published", pa.string()),
    ("title", pa.string()),
    ("body", pa.string()),
    ("paragraphs", pa.list_(PARAGRAPH)),
    ("source_lang", pa.string()),
    ("source_lang_confidence", pa.float64()),
    ("source_lang_by", pa.string()),
    ("lang_evidence", pa.list_(pa.string())),
    ("translation", pa.struct([("status", pa.string()), ("model", pa.string()),
                               ("model_version", pa.string()), ("reason", pa.string()),
                               ("counts", TRANSLATION_COUNTS)])),
    # Sentences kept in the source language, each with the checks it failed (the evidence).
    ("translation_problems", pa.list_(pa.string())),
    ("mt_origin", pa.struct([("likely", pa.bool_()), ("signals", pa.list_(pa.string()))])),
    ("repairs", pa.list_(REPAIR)),
    ("flags", pa.list_(pa.string())),
    ("related", pa.list_(pa.string())),
    ("credit", pa.list_(pa.string())),
    ("captions", pa.list_(pa.string())),
    ("status", pa.string()),
    ("original_title", pa.string()),
    ("original_body", pa.string()),
    ("original_lang", pa.string()),
    ("extra", pa.string()),
    ("provenance", PROVENANCE),
])

DEAD_LETTER_FIELDS = ("id", "stage", "reason", "error", "raw", "raw_truncated", "raw_sha256",
                      "provenance")


# One definition of a line for our JSON Lines writer and every reader: a line ends at "\n" and
# nowhere else (JSON Lines). U+2028, U+2029 and U+0085 end a line for str.splitlines() and many
# other readers, so inside JSON strings (the only place they can occur) they are written as
# \u escapes: the same text, and every reader splits the file where we do.
_LINE_BREAK_ESCAPES = str.maketrans({"\u2028": "\\u2028", "\u2029": "\\u2029",
                                     "\u0085": "\\u0085"})


def to_json_line(record: dict, fields: tuple[str, ...] | None = None) -> str:
    """One record as one JSON line, fields in schema order, UTF-8 text kept readable.

    >>> to_json_line({"id": "a\\u2028b\\u0085"}, ("id",))
    '{"id":"a\\\\u2028b\\\\u0085"}'
    >>> json.loads(to_json_line({"id": "a\\u2028b"}, ("id",)))["id"] == "a\\u2028b"
    True
    """
    names = fields or tuple(ARTICLE_SCHEMA.names)
    ordered = {k: record.get(k) for k in names}
    text = json.dumps(ordered, ensure_ascii=False, separators=(",", ":"))
    return text.translate(_LINE_BREAK_ESCAPES)


def json_lines(data: bytes) -> list[str]:
    """The lines of a JSON Lines file we wrote: split at "\n" only (see to_json_line).

    >>> json_lines(b'{"a":1}\\n{"b":"x\\xe2\\x80\\xa8y"}\\n')
    ['{"a":1}', '{"b":"x\\u2028y"}']
    >>> json_lines(b"")
    []
    """
    text = data.decode("utf-8", "replace")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines
