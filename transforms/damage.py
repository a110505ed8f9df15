"""Damaged tokens in machine-translated English: find them, and the marker that replaces a lost value.

Owns: what counts as damage and how a lost number is shown when nothing recovers it.
- placeholder shapes where digit groups were lost: "<>", "< >", "&lt;&gt;", "<>,<>", "30,<>",
  "2.<>", "<>%", "<> 456" (surviving digits, even space-separated groups, constrain the value:
  "30,<>" is 30,000-30,999; "<> 456" ends in the group 456);
- leaked placeholder tags: "__NUM_1__", "{{B-PLACEHOLDER-2-PLACEHOLDER-E}}" (numbers), and
  "<unk>", "⁇", "<0x..>" (an unknown token);
- orphan separators: ",000" with the head digits gone;
- leaked markup tags ("<b>", "</p>"): removed by the repair stage.

Each lost digit group becomes the marker `[?]` (MARKER) when no evidence recovers it; surviving
digits and separators are kept ("30,<>" -> "30,[?]"). Programs find markers with MARKER_RE.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MARKER = "[?]"
MARKER_RE = re.compile(r"\[\?\]")
FLAG_NUMBER = "unrecovered_number"
FLAG_TOKEN = "unrecovered_token"

_HOLE = r"(?:<\s*>|&lt;\s*&gt;)"
_PIECE = r"(?:\d+|" + _HOLE + r")"
_PLACEHOLDER = re.compile(r"(?<![\d.,])" + _PIECE + r"(?:[.,]" + _PIECE + r")*%?(?!\d)")
_NUM_TAG = re.compile(r"__[A-Z]+_?\d+__|\{\{B-PLACEHOLDER-\d+-PLACEHOLDER-E\}\}")
_UNK = re.compile(r"<unk>|\u2047|<0x[0-9A-Fa-f]{2}>")
_ORPHAN = re.compile(r"(?<![\w.,])[,.]\d{3}(?:,\d{3})*(?![\d])")
_MARKUP = re.compile(r"</?(?:b|i|u|p|em|strong|span|div|a|br|font|sup|sub|mark|s)\b[^<>]*>",
                     re.I)
_SCALE_AFTER = re.compile(r"^[ \u00A0]+(thousand|million|billion|trillion)s?\b", re.I)
_PERCENT_AFTER = re.compile(r"^(?:%|[ \u00A0]?(?:percent|per cent|percentage points?)\b)", re.I)
_MONTHS = ("January|February|March|April|May|June|July|August|September|October|November|"
           "December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec")
# "6 October <>" / "October 6, <>" is a year; "<> October" / "on <>th of October" is a day.
# "January <>" alone is either (American dates), so it constrains nothing.
_MONTH_BEFORE = re.compile(r"(?:\b\d{1,2}(?:st|nd|rd|th)?(?: of)?[ \u00A0]+(?:" + _MONTHS +
                           r")\.?,?|\b(?:" + _MONTHS + r")\.?[ \u00A0]+\d{1,2}(?:st|nd|rd|th)?,)"
                           r"[ \u00A0]+$")
_MONTH_AFTER = re.compile(r"^(?:st|nd|rd|th)?(?:[ \u00A0]+of)?[ \u00A0]+(?:" + _MONTHS + r")\b")
_SCALES = {"thousand": 1000, "million": 10**6, "billion": 10**9, "trillion": 10**12}


@dataclass
class Damage:
    """One damaged token in an English text."""

    start: int
    end: int
    text: str
    kind: str  # angle_placeholder, leaked_tag, unk_token, orphan_separator, markup_tag
    pattern: re.Pattern | None = None  # what the English form of the lost value must look like
    scale: int = 1  # "<> million": the value is counted in millions
    percent: bool = False
    slot: str | None = None  # "year" after a month name, "day" before one


def _hole_pattern(token: str) -> re.Pattern:
    """Regex the English form of the lost value must match; holes become digit runs.

    >>> bool(_hole_pattern("30,<>").fullmatch("30,500")), bool(_hole_pattern("30,<>").fullmatch("3,500"))
    (True, False)
    >>> bool(_hole_pattern("<>,<>").fullmatch("12,345")), bool(_hole_pattern("<>").fullmatch("2019"))
    (True, True)
    """
    token = token.rstrip("%")
    pieces = re.split(r"([.,])", token)
    out = []
    for i, piece in enumerate(pieces):
        if piece in (".", ","):
            out.append(re.escape(piece))
        elif re.fullmatch(_HOLE, piece):
            after_comma = i > 0 and pieces[i - 1] == ","
            before_comma = i + 1 < len(pieces) and pieces[i + 1] == ","
            after_dot = i > 0 and pieces[i - 1] == "."
            out.append(r"\d{3}" if after_comma else r"\d{1,3}" if before_comma
                       else r"\d+" if after_dot else r"\d+")
        else:
            out.append(re.escape(piece))
    return re.compile("".join(out))


def find_damage(text: str) -> list[Damage]:
    """Damaged tokens in English text, in order, not overlapping.

    >>> [(d.text, d.kind) for d in find_damage("more than 30,<> dead and <>,<> injured")]
    [('30,<>', 'angle_placeholder'), ('<>,<>', 'angle_placeholder')]
    >>> [(d.text, d.kind) for d in find_damage("in __NUM_2__ and <unk>, <b>x</b>")]
    [('__NUM_2__', 'leaked_tag'), ('<unk>', 'unk_token'), ('<b>', 'markup_tag'), ('</b>', 'markup_tag')]
    >>> find_damage("30,000 dead in 2023, 2.5% <- clean")
    []
    """
    found: list[Damage] = []
    for m in _PLACEHOLDER.finditer(text):
        if re.search(_HOLE, m.group()):
            found.append(Damage(m.start(), m.end(), m.group(), "angle_placeholder",
                                pattern=_hole_pattern(m.group()),
                                percent=m.group().endswith("%")))
    for m in _NUM_TAG.finditer(text):
        found.append(Damage(m.start(), m.end(), m.group(), "leaked_tag"))
    for m in _UNK.finditer(text):
        found.append(Damage(m.start(), m.end(), m.group(), "unk_token"))
    for m in _ORPHAN.finditer(text):
        if m.start() > 0 and not text[m.start() - 1].isspace():
            continue  # "Hello,000"? not a number we lost; leave it
        found.append(Damage(m.start(), m.end(), m.group(), "orphan_separator",
                            pattern=re.compile(r"\d{1,3}" + re.escape(m.group()))))
    for m in _MARKUP.finditer(text):
        found.append(Damage(m.start(), m.end(), m.group(), "markup_tag"))
    found.sort(key=lambda d: (d.start, -d.end))
    out: list[Damage] = []
    for d in found:
        if out and d.start < out[-1].end:
            continue
        after = text[d.end:]
        scale = _SCALE_AFTER.match(after)
        if scale:
            d.scale = _SCALES[scale.group(1).lower()]
        if _PERCENT_AFTER.match(after):
            d.percent = True
        if _MONTH_BEFORE.search(text[max(0, d.start - 40):d.start]):
            d.slot = "year"
        elif _MONTH_AFTER.match(after):
            d.slot = "day"
        out.append(d)
    return out



def mark(d: Damage) -> str:
    """The visible marker for a damaged token, keeping what survived.

    >>> [mark(x) for x in find_damage("30,<> and <>,<> and 2.<>% and __NUM_1__ and <unk>")]
    ['30,[?]', '[?],[?]', '2.[?]%', '[?]', '[?]']
    """
    if d.kind == "angle_placeholder":
        return re.sub(_HOLE, lambda _: MARKER, d.text)
    if d.kind == "orphan_separator":
        return MARKER + d.text
    return MARKER

