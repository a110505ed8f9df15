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

from transforms import audit
from transforms import names as names_mod
from transforms.align import align, dropped_groups
from transforms.audit import AUDIT_FLAG
from transforms.damage import FLAG_NUMBER, FLAG_TOKEN, MARKER, find_damage, mark_text  # noqa: F401
from transforms.evidence import evidence_for
from transforms.record import paragraph_spans
from transforms.replay import apply_edits, make_step
from transforms.stage import RepairConfig, Stage as _Base

log = logging.getLogger("newsnorm.repair")
STAGE = "repair"
# An intact English number that disagrees with the source ("30" where the source has 30,000 and
# nothing else explains it) is kept and flagged: repair never changes a number without a marker.
FLAG_DISAGREE = "number_disagrees_with_source"


def repairs_english(article: dict) -> bool:
    """Only English text is repaired: native/MT English, or our own translation."""
    return (article.get("route") in ("english", "repair")
            or (article.get("translation") or {}).get("status") == "translated")



def repair_numbers(article: dict, field_name: str) -> tuple[list[tuple], list[str], list[tuple]]:
    """Edits for one field (title or body), the flags they raise, and the intact English
    numbers that disagree with the source (start, end, source value, evidence): kept, flagged."""
    text = article.get(field_name) or ""
    per_para, whole = evidence_for(article, field_name)
    if field_name == "body":
        scopes = [(s, text[s:e]) for s, e in paragraph_spans(text)]
    else:
        scopes = [(0, text)]
    aligned = per_para is not None and len(per_para) == len(scopes)
    edits, flags, disagreements = [], [], []
    for i, (offset, para) in enumerate(scopes):
        damages = find_damage(para)
        sources = per_para[i] if aligned else whole
        decisions = align(para, damages, sources) if damages else []
        notes = dropped_groups(para, damages, sources) if sources else []
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
        for dec in notes:
            # No damage marker: the English number is kept; the disagreement is flagged.
            d = dec.damage
            disagreements.append((offset + d.start, offset + d.end, dec.replacement, dec.evidence))
    return edits, flags, disagreements


def _marker_edit(edit: tuple, before: str, why: str) -> tuple:
    start, end, after, meta = edit
    return (start, end, mark_text(before), {
        "kind": FLAG_TOKEN if meta["kind"] == "unk_token" else FLAG_NUMBER,
        "evidence": f"{AUDIT_FLAG}: {why} (rejected {after!r} from {meta['evidence']})",
        "method": "marker", "confidence": 1.0, "fixer": "mark_missing_number"})


class RepairStage(_Base):
    name = "repair"
    config_type = RepairConfig

    def setup(self) -> None:
        self.gazetteer = names_mod.load_gazetteer(self.config.name_gazetteer)

    @staticmethod
    def _apply_audited(article: dict, field_name: str, edits: list, flags: list
                       ) -> tuple[str, list[dict]]:
        """Apply the edits; a recovered value the audit cannot prove becomes the marker."""
        base = article.get(field_name) or ""
        edits = sorted(edits, key=lambda e: (e[0], e[1]))
        for _ in range(2):  # apply; if the audit rejects values, apply again with markers
            text, steps = apply_edits(STAGE, "", "", field_name, base, edits)
            if len(steps) != len(edits):
                break
            failed = {}
            for i, step in enumerate(steps):
                if step["fixer"] != "recover_number":
                    continue
                why = audit.check_recovery(article, text, step["start"],
                                           step["start"] + len(step["after"]), step["before"],
                                           step["evidence"])
                if why:
                    failed[i] = why
            if not failed:
                break
            edits = [_marker_edit(e, steps[i]["before"], failed[i]) if i in failed else e
                     for i, e in enumerate(edits)]
            for i in failed:
                flags += [edits[i][3]["kind"], AUDIT_FLAG]
        return text, steps

    @staticmethod
    def _flag_damage_left(article: dict) -> dict:
        """An article this stage does not repair (not English) still never leaves with damage
        unflagged: each damaged token is logged (a no-op step) and the article flagged."""
        for field_name in ("title", "body"):
            text = article.get(field_name) or ""
            for d in find_damage(text):
                if d.kind == "markup_tag":
                    continue
                kind = FLAG_TOKEN if d.kind == "unk_token" else FLAG_NUMBER
                article["repairs"].append(make_step(
                    STAGE, "mark_missing_number", kind, field_name, text, d.start, d.end,
                    d.text, evidence=f"damage left: the {field_name} is not English text this "
                    f"stage repairs (route {article.get('route')!r})", method="flag"))
                if kind not in article["flags"]:
                    article["flags"].append(kind)
        return article

    def process(self, article: dict) -> dict:
        if not hasattr(self, "gazetteer"):
            self.setup()
        if not repairs_english(article):
            return self._flag_damage_left(article)
        new_flags: list[str] = []
        for field_name in ("title", "body"):
            edits, flags, disagreements = repair_numbers(article, field_name)
            text, steps = self._apply_audited(article, field_name, edits, flags)
            for start, end, value, evidence in disagreements:
                shift = sum(len(x["after"]) - len(x["before"]) for x in steps
                            if x["start"] < start)
                steps.append(make_step(STAGE, "compare_with_source", FLAG_DISAGREE, field_name,
                                       text, start + shift, end + shift, text[start + shift:end + shift],
                                       evidence=f"the source has {value} ({evidence}); kept as "
                                                "written", method="flag"))
                flags.append(FLAG_DISAGREE)
            article[field_name] = text
            article["repairs"].extend(steps)
            new_flags.extend(flags)
        originals = [article.get("original_title") or "", article.get("original_body") or ""]
        review = names_mod.review_names([article["title"], article["body"]], self.gazetteer,
                                        originals)
        fields = ("title", "body")
        for flag in review.inconsistencies:
            # Kept as written, each mention logged (a no-op step) with the spellings seen.
            for i, s, e, spelling in flag.spans:
                article["repairs"].append(make_step(
                    STAGE, "consistent_name_spelling", flag.flag, fields[i], article[fields[i]],
                    s, e, spelling, method="flag",
                    evidence=f"spellings {' / '.join(flag.variants)} kept: {flag.reason}"))
            new_flags.append(flag.flag)
        choices = review.choices
        for field_name in ("title", "body"):
            edits = [(s, e, rep, {"kind": "name_spelling", "evidence": c.evidence,
                                  "method": c.rule, "confidence": 0.8,
                                  "fixer": "consistent_name_spelling"})
                     for s, e, rep, c in names_mod.name_edits(article[field_name], choices)]
            if edits:
                article[field_name], steps = apply_edits(STAGE, "", "", field_name,
                                                         article[field_name], edits)
                article["repairs"].extend(steps)
        problems = [f"{f}: {p}" for f in ("title", "body") for p in audit.ledger(article, f)]
        if problems:
            article["repairs"].append(make_step(STAGE, "number_audit", AUDIT_FLAG, "body",
                                                article["body"], 0, 0, "",
                                                evidence="; ".join(problems)[:2000],
                                                method="ledger"))
            new_flags.append(AUDIT_FLAG)
        for flag in sorted(set(new_flags)):
            if flag not in article["flags"]:
                article["flags"].append(flag)
            log.debug("article %s: %s", article.get("id"), flag)
        return article
