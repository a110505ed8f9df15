"""The last stage: check the cleaned article and shape the output record.

Owns: the output record (field order = the documented schema in pipeline/schema.py), the final
`status`, and the checks that nothing empty or malformed is written as an article.
"""

from __future__ import annotations

import json
import re
from typing import Any

from transforms.record import Reject, split_paragraphs
from transforms.stage import Stage as _Base

REPAIR_FIELDS = ("stage", "kind", "fixer", "field", "start", "end", "before", "after",
                 "evidence", "method", "confidence")

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def final_status(article: dict) -> str:
    """The article's status, from what the stages decided.

    >>> final_status({"status": "", "route": "english", "translation": {"status": "not_needed"}})
    'english'
    >>> final_status({"status": "", "route": "translate", "source_lang": "fr",
    ...               "translation": {"status": "translated"}})
    'translated'
    >>> final_status({"status": "", "route": "translate", "source_lang": "de",
    ...               "translation": {"status": "no_model"}})
    'no_model_for_de'
    >>> final_status({"status": "no_model_for_fr", "body": "", "route": "translate"})
    'title_only'
    """
    if article.get("body") is not None and not article["body"].strip():
        # A headline only (check_article lets nothing else through with an empty body); what
        # happened to its language is still in `translation`.
        return "title_only"
    if article.get("status"):
        return article["status"]
    tstatus = (article.get("translation") or {}).get("status", "")
    if tstatus == "translated":
        return "translated"
    lang = article.get("source_lang") or "und"
    if article.get("route") == "english":
        return "english"
    if tstatus == "no_model" or article.get("route") == "translate":
        return f"no_model_for_{lang}"
    return "language_undetected" if lang in ("", "und") else f"untranslated_{lang}"


def _repair(entry: dict) -> dict:
    out = {k: entry.get(k) for k in REPAIR_FIELDS}
    for k in ("stage", "kind", "fixer", "field", "before", "after", "evidence", "method"):
        out[k] = "" if out[k] is None else str(out[k])
    for k in ("start", "end"):
        out[k] = int(out[k]) if out[k] is not None else -1
    out["confidence"] = float(out["confidence"]) if out["confidence"] is not None else 1.0
    return out


def _translation_counts(counts: Any) -> dict | None:
    """The translate stage's sentence counts, or None for an article it did not translate.

    >>> _translation_counts({"sentences": 3, "translated": 2, "retried": 1}), _translation_counts(None)
    ({'sentences': 3, 'translated': 2, 'retried': 1, 'kept_source': 0}, None)
    """
    if not isinstance(counts, dict):
        return None
    return {k: int(counts.get(k) or 0) for k in ("sentences", "translated", "retried",
                                                  "kept_source")}


def to_output(article: dict) -> dict:
    """The working article -> the output record (plain JSON types, fixed field order)."""
    paragraphs = split_paragraphs(article["body"])
    langs = article.get("paragraph_langs") or []
    headings = set(article.get("headings") or [])
    para_records = []
    for i, text in enumerate(paragraphs):
        info = langs[i] if i < len(langs) and isinstance(langs[i], dict) else {}
        para_records.append({
            "text": text,
            "kind": "heading" if i in headings else "paragraph",
            "lang": str(info.get("lang", "")),
            "lang_confidence": float(info.get("confidence", 0.0)),
            "lang_by": str(info.get("by", "") or ""),
        })
    translation = article.get("translation") or {}
    mt = article.get("mt_origin") or {}
    prov = article.get("provenance") or {}
    return {
        "id": article["id"],
        "url": article.get("url", ""),
        "source": article.get("source", ""),
        "published": article.get("published", ""),
        "title": article.get("title", ""),
        "body": article["body"],
        "paragraphs": para_records,
        "source_lang": article.get("source_lang", "") or "",
        "source_lang_confidence": float(article.get("source_lang_confidence") or 0.0),
        "source_lang_by": str(article.get("source_lang_by", "") or ""),
        "lang_evidence": [str(e) for e in article.get("lang_evidence") or []],
        "translation": {**{k: str(translation.get(k, "") or "")
                           for k in ("status", "model", "model_version", "reason")},
                        "counts": _translation_counts(translation.get("counts"))},
        "translation_problems": [str(p) for p in article.get("translation_problems") or []],
        "mt_origin": {"likely": bool(mt.get("likely", False)),
                      "signals": [str(s) for s in mt.get("signals", [])]},
        "repairs": [_repair(r) for r in (article.get("parse_steps") or []) +
                    (article.get("repairs") or [])],
        "flags": sorted({str(f) for f in article.get("flags", [])}),
        "related": [str(x) for x in article.get("related", [])],
        "credit": [str(x) for x in article.get("credit", [])],
        "captions": [str(x) for x in article.get("captions", [])],
        "status": final_status(article),
        "original_title": article.get("original_title", ""),
        "original_body": article.get("original_body", ""),
        "original_lang": article.get("original_lang", ""),
        "extra": json.dumps(article.get("extra") or {}, ensure_ascii=False, sort_keys=True,
                            default=str),
        "provenance": {
            **{k: str(prov.get(k, "") or "") for k in ("drop", "file", "format", "encoding")},
            "line": int(prov.get("line") or 0),
            "entry": int(prov.get("entry") or 0),
        },
    }


def check_article(article: dict) -> None:
    """Refuse what must not be written as an article."""
    if not article.get("body", "").strip():
        # A headline with no text on input (headline feeds) is an article, status title_only
        # (README: only a record with neither title nor body is refused); a body that
        # cleaning emptied, or no title either, is not.
        if not article.get("title", "").strip() or article.get("input_body", "").strip():
            raise Reject("empty_after_cleaning", "no body text is left after cleaning")
    for field in ("title", "body"):
        if _CONTROL.search(article.get(field, "")):
            raise Reject("control_characters_in_output",
                         f"{field} still holds control characters after cleaning")


class ValidateStage(_Base):
    name = "validate"

    def process(self, article: dict) -> Any:
        check_article(article)
        return to_output(article)
