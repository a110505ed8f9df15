"""The number audit: every number written carries its proof, checked before the article is written.

Owns the invariant the product lives on. Each number in an output title or body is either
(a) the same characters as the input at the same place (through every logged step),
(b) written by a logged repair whose evidence span parses, whole, to exactly the value now
    printed, in a slot whose role fits (percent, year, unit of measure, phone/code, surviving
    digits), or by our translation from a source sentence that holds the same value, or
(c) the missing-number marker, with the article flagged.

The repair stage calls `check_recovery` on each recovered value before it applies it: a repair
that fails is undone to the marker and flagged, so a bug in any alignment heuristic can only
cost recovery, never truth. `ledger` then re-derives the origin of every number of the final
text from the input and the steps; what it cannot account for is flagged
`number_audit_failed` with a log entry saying what failed (the text is not rewritten there:
numbers changed by other stages are reported, and their stages are where the fix belongs).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Sequence

from transforms.damage import (MARKER, _hole_pattern, _HOLE, _PERCENT_AFTER, _SCALE_AFTER, _SCALES,
                               clock_slot, find_damage, source_clock)
from transforms.align import MEASURES, MONEY, clock_fits
from transforms.evidence import _SRC_PERCENT_AFTER, category_near
from transforms.numbers import NumberMention, ascii_digits, find_numbers, is_partial
from transforms.replay import ReplayError, apply_step

AUDIT_FLAG = "number_audit_failed"

_SPAN = re.compile(r"^(original_body|original_title|input_body|input_title)\[(\d+):(\d+)\]: ")
_LISTED = re.compile(r"^source_numbers\[(\d+)\]: ")
_SIBLING = re.compile(r"^sibling (\S+) (title|body)\[(\d+):(\d+)\]: ")


def _evidence(article: dict, evidence: str) -> tuple[NumberMention | None, str, str]:
    """(the mention the evidence names, the text it is in, why not) from a step's evidence."""
    m = _SPAN.match(evidence)
    sib = _SIBLING.match(evidence)
    if m:
        field_name, start, end = m.group(1), int(m.group(2)), int(m.group(3))
        text = article.get(field_name) or ""
        lang = article.get("original_lang" if field_name.startswith("original") else
                           "source_lang") or ""
    elif sib:
        found = next((s for s in article.get("sibling_sources") or []
                      if s.get("id") == sib.group(1)), None)
        if found is None:
            return None, "", "the sibling named as evidence is not in the record"
        field_name, start, end = sib.group(2), int(sib.group(3)), int(sib.group(4))
        text, lang = found.get(field_name) or "", found.get("lang") or ""
    elif _LISTED.match(evidence):
        i = int(_LISTED.match(evidence).group(1))
        items = article.get("source_numbers") or []
        if i >= len(items):
            return None, "", "the protected number named as evidence is not in the record"
        item = items[i]
        text = str(item.get("text", ""))
        found = [x for x in find_numbers(text, article.get("source_lang") or "")
                 if x.start == 0 and x.end == len(text)]
        if found and str(found[0].value) != str(Decimal(str(item.get("value")))):
            if Decimal(str(item.get("value"))) not in found[0].values:
                return None, text, "the protected number's text and value disagree"
        return (found[0] if found else NumberMention(0, len(text), text,
                                                     Decimal(str(item.get("value"))), "int"),
                text, "")
    else:
        return None, "", "no evidence span in the step"
    whole = [x for x in find_numbers(text, lang) if x.start == start and x.end == end]
    if not whole:
        return None, text, f"the evidence span {text[start:end]!r} does not parse whole to one number"
    if is_partial(text, whole[0]):
        return None, text, f"the evidence {text[start:end]!r} is part of a larger number expression"
    return whole[0], text, ""


def _printed(text: str, start: int, end: int) -> tuple[set[Decimal], bool]:
    """Values the English at text[start:end] states, with the scale word after it, and
    whether it is a percentage."""
    after = text[start:end]
    # "199 456" restored in the source's own grouping reads as one number here.
    core = re.sub(r"(?<=\d)[ \u00A0](?=\d{3}(?!\d))", ",", after.rstrip("%"))
    follow = text[end:end + 30]
    scale = _SCALE_AFTER.match(follow)
    factor = _SCALES[(scale.group(1) or scale.group(2)).lower()] if scale else 1
    mentions = [m for m in find_numbers(core, "en") if m.start == 0 and m.end == len(core)]
    if not mentions:
        inline = find_numbers(after, "en")  # "40 million" written as one replacement
        mentions = [m for m in inline if m.start == 0]
        factor = 1
    values = {v * factor for m in mentions for v in m.values}
    percent = after.endswith("%") or bool(_PERCENT_AFTER.match(follow))
    return values, percent


def check_recovery(article: dict, text: str, start: int, end: int, before: str,
                   evidence: str) -> str | None:
    """Why the value written at text[start:end] (replacing `before`) is not proven, or None.

    >>> art = {"original_body": "أكثر من 30 ألف شهيد", "original_lang": "ar"}
    >>> t = "more than 30,000 dead"
    >>> check_recovery(art, t, 10, 16, "30,<>", "original_body[8:14]: 30 ألف") is None
    True
    >>> check_recovery(art, "more than 31,000 dead", 10, 16, "<>,<>", "original_body[8:14]: 30 ألف")
    'printed 31,000 is not the value of the evidence (30000)'
    >>> check_recovery(art, "more than 40,000 dead", 10, 16, "30,<>", "original_body[8:14]: 30 ألف")
    "surviving digits of '30,<>' are not kept in '40,000'"
    """
    after = text[start:end]
    if MARKER in after:
        return None
    mention, src_text, why = _evidence(article, evidence)
    if mention is None:
        return why
    if re.search(_HOLE, before):
        pattern = _hole_pattern(before, scaled=True)
        if not pattern.fullmatch(after.rstrip("%")) and not pattern.fullmatch(after):
            return f"surviving digits of {before!r} are not kept in {after!r}"
    if mention.kind == "code":
        if re.sub(r"\D", "", ascii_digits(after)) != re.sub(r"\D", "", ascii_digits(mention.text)):
            return f"printed {after!r} does not have the digits of the code {mention.text!r}"
        return None
    survivors = re.sub(r"<[^>]*>|__\w+__|\{\{.*?\}\}|\u2047", "", before)
    if re.search(r"\d", survivors) and not re.search(_HOLE, before):
        # "08 11 00 <unk> 95": digit groups around a tag must all be in the printed text.
        if not all(g in after for g in re.findall(r"\d+", survivors)):
            return f"surviving digits of {before!r} are not kept in {after!r}"
    if re.search(r"\b(?:billions?|trillions?)\b", mention.text, re.I) and \
            (article.get("original_lang") or article.get("source_lang")) == "fr":
        return f"{mention.text!r}: French long-scale word, the magnitude is ambiguous"
    values, percent = _printed(text, start, end)
    if not values:
        return f"printed {after!r} is not one number"
    if not values & set(mention.values):
        shown = ", ".join(sorted(str(v) for v in mention.values))
        return f"printed {after} is not the value of the evidence ({shown})"
    if mention.start >= 0 and src_text:
        src_percent = mention.kind == "percent" or bool(
            _SRC_PERCENT_AFTER.match(src_text[mention.end:mention.end + 20]))
        if percent != src_percent:
            return "a percentage and a plain number are not the same role"
        en_cat = category_near(text, start, end)
        src_cat = category_near(src_text, mention.start, mention.end)
        if en_cat in MEASURES and src_cat in MEASURES and en_cat != src_cat:
            return f"a value in {src_cat} is no evidence for a slot in {en_cat}"
        if mention.kind == "year" and en_cat in MEASURES | MONEY:
            return f"a year is no evidence for a slot in {en_cat}"
        slot, hour = clock_slot(text, start, end) if not re.search(r"\d", before) else (None, None)
        clock = source_clock(src_text, mention.start, mention.end)
        if not clock_fits(slot, hour, en_cat, clock, mention.value):
            return f"a clock time's part ({clock[0] or 'none'}) is no evidence for this slot " \
                   f"({slot})"
    return None


def _origins(input_text: str, steps: Sequence[dict]) -> tuple[str, list[int]] | None:
    """Replay `steps` on `input_text`, tagging each character of the result with its input
    offset (>= 0) or -(k + 1) for a character written by step k. None if the steps do not
    replay (an unlogged change: the ledger then cannot account for anything)."""
    text, tags = input_text, list(range(len(input_text)))
    for k, step in enumerate(steps):
        try:
            new = apply_step(text, step)
        except (ReplayError, KeyError, ValueError, TypeError):
            return None
        s, e = int(step["start"]), int(step["end"])
        tags[s:e] = [-(k + 1)] * len(step["after"])
        text = new
    return text, tags


def ledger(article: dict, field_name: str) -> list[str]:
    """What cannot be accounted for among the numbers of one output field (empty when all is
    proven). Uses the input text, every logged step of the field, and the step evidence.

    >>> art = {"input_body": "30 dead", "body": "30 dead", "repairs": []}
    >>> ledger(art, "body")
    []
    >>> art = {"input_body": "30,000 dead", "body": "30 dead", "repairs": [
    ...     {"stage": "x", "field": "body", "start": 2, "end": 6, "before": ",000", "after": ""}]}
    >>> ledger(art, "body")
    ["'30' at 0: the input has '30,000' there"]
    """
    text = article.get(field_name) or ""
    steps = [s for s in article.get("repairs") or [] if s.get("field") == field_name]
    base = article.get(f"input_{field_name}")
    if base is None:
        return []
    if not _touches_digits(base, steps):
        return _damage_left(text)  # no step wrote, removed or joined a digit
    origin = _origins(base, steps)
    if origin is None or origin[0] != text:
        return [f"the logged steps do not rebuild the {field_name} from its input"]
    _, tags = origin
    english_input = article.get("route") in ("english", "repair") or not article.get("route")
    input_spans = {(m.start, m.end): m for m in find_numbers(
        base, "en" if english_input else article.get("source_lang") or "", words=False)}
    problems = []
    for m in find_numbers(text, "en", words=False):
        t = tags[m.start:m.end]
        if all(x >= 0 for x in t):
            if t != list(range(t[0], t[0] + len(t))) or (t[0], t[-1] + 1) not in input_spans:
                src = [x for (s, e), x in input_spans.items() if s <= t[0] < e]
                was = src[0].text if src else base[t[0]:t[-1] + 1]
                if re.sub(r"\D", "", ascii_digits(was)) != re.sub(r"\D", "", ascii_digits(m.text)):
                    problems.append(f"{m.text!r} at {m.start}: the input has {was!r} there")
            continue
        written = sorted({-x - 1 for x in t if x < 0})
        for k in written:
            step = steps[k]
            if step.get("stage") == "repair" and step.get("fixer") == "recover_number":
                continue  # proven by check_recovery before it was applied
            if step.get("stage") == "translate":
                src_values = {v for x in find_numbers(step.get("before", ""),
                                                      article.get("source_lang") or "")
                              for v in x.values}
                if not set(m.values) & src_values:
                    problems.append(f"{m.text!r} at {m.start}: translated, not in its source "
                                    f"sentence")
                continue
            origin_text = "".join(base[x] if x >= 0 else "" for x in t) + step.get("before", "")
            if sorted(re.sub(r"\D", "", ascii_digits(origin_text))) != sorted(
                    re.sub(r"\D", "", ascii_digits(m.text))):
                problems.append(f"{m.text!r} at {m.start}: changed by {step.get('stage')}/"
                                f"{step.get('fixer')}")
    return problems + _damage_left(text)


def _damage_left(text: str) -> list[str]:
    return [f"{d.text!r} at {d.start}: damage left in the text" for d in find_damage(text)
            if d.kind != "markup_tag"]


_DIGIT = re.compile(r"\d")


def _touches_digits(text: str, steps: Sequence[dict]) -> bool:
    """Whether any step wrote or removed a digit, or edited right next to one (a deleted
    space inside "30 000" changes the number too). Steps that do none of that cannot change
    a number, so the character-level ledger is needed only when this is true."""
    for step in steps:
        s, e = int(step.get("start", 0)), int(step.get("end", 0))
        if (_DIGIT.search(step.get("before", "")) or _DIGIT.search(step.get("after", ""))
                or _DIGIT.match(text[s - 1:s] if s else "") or _DIGIT.match(text[e:e + 1])):
            return True
        try:
            text = apply_step(text, step)
        except (ReplayError, KeyError, ValueError, TypeError):
            return True  # let the full ledger report it
    return False
