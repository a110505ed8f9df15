"""The repair stage: damaged tokens in English text restored from evidence or marked, never invented.

Owns the stage that ties the pieces together, field by field and paragraph by paragraph:
transforms/damage.py finds damaged tokens, transforms/evidence.py reads the source numbers,
transforms/align.py decides values, transforms/audit.py checks every number before the article
leaves the stage (a repair that fails the audit becomes the marker and a flag), and
transforms/names.py makes a person's spelling consistent only with gazetteer evidence.

When no evidence fits, or two different values fit, nothing is guessed: each lost digit group
becomes the marker `[?]`, the article is flagged `unrecovered_number` (or `unrecovered_token`
for an "<unk>" that no source number explains), and the step is logged with the reason. Every
change is one step in `article["repairs"]` (stage "repair"), replayable in order.
"""

from __future__ import annotations

import logging

from transforms import names as names_mod
from transforms.align import align, dropped_groups
from transforms.damage import FLAG_NUMBER, FLAG_TOKEN, MARKER, MARKER_RE, find_damage  # noqa: F401
from transforms.evidence import evidence_for
from transforms.record import split_paragraphs
from transforms.replay import apply_edits
from transforms.stage import Stage as _Base

log = logging.getLogger("newsnorm.repair")
STAGE = "repair"


def repairs_english(article: dict) -> bool:
    """Only English text is repaired: native/MT English, or our own translation."""
    return (article.get("route") in ("english", "repair")
            or (article.get("translation") or {}).get("status") == "translated")



def repair_numbers(article: dict, field_name: str) -> tuple[list[tuple], list[str]]:
    """Edits for one field (title or body) and the flags they raise."""
    text = article.get(field_name) or ""
    per_para, whole = evidence_for(article, field_name)
    if field_name == "body":
        paras = split_paragraphs(text)
        scopes, offset = [], 0
        for p in paras:
            offset = text.index(p, offset)
            scopes.append((offset, p))
            offset += len(p)
    else:
        scopes = [(0, text)]
    aligned = per_para is not None and len(per_para) == len(scopes)
    edits, flags = [], []
    for i, (offset, para) in enumerate(scopes):
        damages = find_damage(para)
        sources = per_para[i] if aligned else whole
        decisions = align(para, damages, sources) if damages else []
        if sources:
            decisions += dropped_groups(para, damages, sources)
        for d in damages:
            if d.kind == "markup_tag":
                edits.append((offset + d.start, offset + d.end, "", {
                    "kind": "markup_tag", "evidence": "", "method": "remove",
                    "confidence": 1.0, "fixer": "strip_leaked_markup"}))
        for dec in decisions:
            d = dec.damage
            kind = d.kind if dec.recovered else (
                FLAG_TOKEN if d.kind == "unk_token" else FLAG_NUMBER)
            edits.append((offset + d.start, offset + d.end, dec.replacement, {
                "kind": kind, "evidence": dec.evidence, "method": dec.method,
                "confidence": dec.confidence,
                "fixer": "recover_number" if dec.recovered else "mark_missing_number"}))
            if not dec.recovered:
                flags.append(kind)
    return edits, flags


class Stage(_Base):
    name = "repair"

    def setup(self) -> None:
        path = getattr(self.config, "name_gazetteer", "") if self.config is not None else ""
        self.gazetteer = names_mod.load_gazetteer(path)

    def process(self, article: dict) -> dict:
        if not hasattr(self, "gazetteer"):
            self.setup()
        if not repairs_english(article):
            return article
        new_flags: list[str] = []
        for field_name in ("title", "body"):
            edits, flags = repair_numbers(article, field_name)
            if edits:
                article[field_name], steps = apply_edits(STAGE, "", "", field_name,
                                                         article[field_name], edits)
                article["repairs"].extend(steps)
                new_flags.extend(flags)
        choices = names_mod.choose_spellings([article["title"], article["body"]], self.gazetteer)
        for field_name in ("title", "body"):
            edits = [(s, e, rep, {"kind": "name_spelling", "evidence": c.evidence,
                                  "method": c.rule, "confidence": 0.8,
                                  "fixer": "consistent_name_spelling"})
                     for s, e, rep, c in names_mod.name_edits(article[field_name], choices)]
            if edits:
                article[field_name], steps = apply_edits(STAGE, "", "", field_name,
                                                         article[field_name], edits)
                article["repairs"].extend(steps)
        for flag in sorted(set(new_flags)):
            if flag not in article["flags"]:
                article["flags"].append(flag)
            log.debug("article %s: %s", article.get("id"), flag)
        return article
