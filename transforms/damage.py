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
# Pieces join with "," or "."; a single space joins them too when one side is a hole ("<> 456",
# "0808 <> 247"): the digits that survived next to a hole are part of the number that was lost.
_PLACEHOLDER = re.compile(r"(?<![\d.,])(?<!\d )" + _PIECE + r"(?:(?:[.,]|[ \u00A0](?=" + _HOLE +
                          r")|(?<=>)[ \u00A0](?=\d))" + _PIECE + r")*%?(?!\d)(?! \d)")
# Placeholders MT systems leak: "__NUM_1__", "{{B-PLACEHOLDER-1-PLACEHOLDER-E}}", "{{PH}}",
# "{{NUM2}}", "｟NUM_1｠".
_NUM_TAG = re.compile(r"__[A-Z]+_?\d*__|\{\{B-PLACEHOLDER-\d+-PLACEHOLDER-E\}\}"
                      r"|\{\{\s*[A-Z][A-Z_]*-?\d*\s*\}\}|\uFF5F[A-Z_]*\d*\uFF60")
_UNK = re.compile(r"<unk>|\u2047|<0x[0-9A-Fa-f]{2}>")
_ORPHAN = re.compile(r"(?<![\w.,])[,.]\d{3}(?:,\d{3})*(?![\d])")
_MARKUP = re.compile(r"</?(?:b|i|u|p|em|strong|span|div|a|br|font|sup|sub|mark|s)\b[^<>]*>",
                     re.I)
# "<> million", "<>-million-euro", "$<>m", "$<>bn": the lost value is counted in that scale.
_SCALE_AFTER = re.compile(r"^(?:[ \u00A0-]+(thousand|million|billion|trillion)s?\b"
                          r"|(m|mn|bn)\b)", re.I)
_PERCENT_AFTER = re.compile(r"^(?:%|[ \u00A0]?(?:percent|per cent|percentage points?)\b)", re.I)
_MONTHS = ("January|February|March|April|May|June|July|August|September|October|November|"
           "December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec")
# "6 October <>" / "October 6, <>" is a year; "<> October" / "on <>th of October" is a day.
# "January <>" alone is either (American dates), so it constrains nothing. "As of 8 April,
# <> cases": after a day-month date a comma ends the date; what follows is not its year.
_MONTH_BEFORE = re.compile(r"(?:\b\d{1,2}(?:st|nd|rd|th)?(?: of)?[ \u00A0]+(?:" + _MONTHS +
                           r")\.?|\b(?:" + _MONTHS + r")\.?[ \u00A0]+\d{1,2}(?:st|nd|rd|th)?,)"
                           r"[ \u00A0]+$")
_MONTH_AFTER = re.compile(r"^(?:st|nd|rd|th)?(?:[ \u00A0]+of)?[ \u00A0]+(?:" + _MONTHS + r")\b")
_SCALES = {"thousand": 1000, "million": 10**6, "billion": 10**9, "trillion": 10**12,
           "m": 10**6, "mn": 10**6, "bn": 10**9}


# Clock times. English: "10:<> p.m." (the minutes of 10 o'clock), "<unk> a.m.", "<>:30" (an
# hour). Source (fr/ar): "22 h 08", "21h30", "08:30" (an hour and its minutes), "20h" (an hour).
_CLOCK_HOUR_BEFORE = re.compile(r"(?<![\d.,:])(\d{1,2}):$")
_CLOCK_AFTER = re.compile(r"^(?::\d{2}(?!\d)|[ \u00A0]?(?:[ap]\.m\.|[ap]m\b))", re.I)
_AMPM = re.compile(r"^[ \u00A0]?(?:[ap]\.m\.|[ap]m\b)", re.I)
SOURCE_CLOCK = re.compile(r"(?<![\d.,:])(?P<h>\d{1,2})(?:(?P<sp>[ \u00A0]?)[hH:](?P=sp)"
                          r"(?P<m>[0-5]\d)(?!\d|[.,]\d)|[ \u00A0]?h(?![^\W\d_]))")


def clock_slot(text: str, start: int, end: int) -> tuple[str | None, int | None]:
    """("minute", its hour) for the minutes of an English clock time, ("hour", None) for its
    hour ("ampm" when a.m./p.m. follows: 1 to 12 only), else (None, None).

    >>> clock_slot("at 10:<> p.m.", 6, 8), clock_slot("at <unk> a.m. ET", 3, 8)
    (('minute', 10), ('ampm', None))
    >>> clock_slot("at <>:30", 3, 5), clock_slot("won 3 <> times", 6, 8)
    (('hour', None), (None, None))
    """
    hour = _CLOCK_HOUR_BEFORE.search(text[max(0, start - 4):start])
    if hour:
        return "minute", int(hour.group(1))
    after = text[end:end + 8]
    if _AMPM.match(after):
        return "ampm", None
    if _CLOCK_AFTER.match(after):
        return "hour", None
    return None, None


_ASCII_DIGITS = {b + i: str(i) for b in (0x0660, 0x06F0) for i in range(10)}


def source_clock(text: str, start: int, end: int) -> tuple[str | None, int | None]:
    """Whether the source number at text[start:end] is the hour or the minutes of a clock time
    ("22 h 08", "21h30", "08:30", "20h"), with the hour for minutes.

    >>> source_clock("à 22 h 08 HE", 2, 4), source_clock("à 22 h 08 HE", 7, 9)
    (('hour', None), ('minute', 22))
    >>> source_clock("le 20h d'Antenne 2", 3, 5), source_clock("le 20h d'Antenne 2", 17, 18)
    (('hour', None), (None, None))
    >>> source_clock("الساعة ١٠:٠٨ مساء", 10, 12), source_clock("9h 45 personnes", 3, 5)
    (('minute', 10), (None, None))
    """
    lo = max(0, start - 9)
    window = text[lo:end + 8].translate(_ASCII_DIGITS)  # "١٠:٠٨" is 10:08
    start, end = start - lo, end - lo
    for m in SOURCE_CLOCK.finditer(window, 1 if lo else 0):
        if m.start("h") == start and m.end("h") == end:
            return "hour", None
        if m.group("m") is not None and m.start("m") == start and m.end("m") == end:
            return "minute", int(m.group("h"))
    return None, None


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
    slot: str | None = None  # "year" after a month name, "day" before one; clock_slot()
    clock_hour: int | None = None  # "10:<>": the minutes of 10 o'clock


def _hole_pattern(token: str, scaled: bool = False) -> re.Pattern:
    """Regex the English form of the lost value must match; holes become digit runs.

    >>> bool(_hole_pattern("30,<>").fullmatch("30,500")), bool(_hole_pattern("30,<>").fullmatch("3,500"))
    (True, False)
    >>> bool(_hole_pattern("<>,<>").fullmatch("12,345")), bool(_hole_pattern("<>").fullmatch("2019"))
    (True, True)
    """
    token = token.rstrip("%")
    pieces = re.split(r"([.,\u00A0 ])", token)
    out = []
    for i, piece in enumerate(pieces):
        if piece in (" ", "\u00A0"):
            out.append(r"[ \u00A0]")
        elif piece in (".", ","):
            out.append(re.escape(piece))
        elif re.fullmatch(_HOLE, piece) and len(pieces) == 1 and scaled:
            out.append(r"\d+(?:\.\d+)?")  # "<> million": 2.5 million is one lost number
        elif re.fullmatch(_HOLE, piece):
            after_comma = i > 0 and pieces[i - 1] in ", \u00A0"
            before_comma = i + 1 < len(pieces) and pieces[i + 1] in ", \u00A0"
            after_dot = i > 0 and pieces[i - 1] == "."
            out.append(r"\d{3}" if after_comma else r"\d{1,3}" if before_comma
                       else r"\d+" if after_dot else r"\d+")
        else:
            out.append(re.escape(piece))
    return re.compile("".join(out))


_GROUPS_BEFORE = re.compile(r"(?<![\d.,])(?:\d{1,4}[ .\u00A0])+$")
_GROUPS_AFTER = re.compile(r"^(?:[ .\u00A0]\d{1,4}(?![\d,]))+")


def _absorb_digit_groups(text: str, d: Damage) -> None:
    """A tag inside a run of digit groups ("08 11 00 <unk> 95") lost one group of a phone
    number or code: the whole run is the damaged token, and only a source with the same
    groups fits it.

    >>> d = Damage(14, 19, "<unk>", "unk_token"); _absorb_digit_groups("call 08 11 00 <unk> 95 now", d)
    >>> d.text, bool(d.pattern.fullmatch("08 11 00 06 95"))
    ('08 11 00 <unk> 95', True)
    """
    before = _GROUPS_BEFORE.search(text[max(0, d.start - 40):d.start])
    after = _GROUPS_AFTER.match(text[d.end:d.end + 40])
    groups = (len(re.findall(r"\d+", before.group())) if before else 0) + (
        len(re.findall(r"\d+", after.group())) if after else 0)
    if groups < 2 or not before or not after:
        return
    start, end = d.start - len(before.group()), d.end + len(after.group())
    pieces = re.findall(r"\d+", before.group()) + [None] + re.findall(r"\d+", after.group())
    sep = "[ .\u00a0]"
    d.pattern = re.compile(sep.join(r"\d{1,4}" if p is None else p for p in pieces))
    d.start, d.end, d.text = start, end, text[start:end]


# One cheap pass first: every damage shape contains one of these (most texts have none).
_ANY_DAMAGE = re.compile(r"<|&lt;|__|\{\{|\u2047|\uFF5F|[,.]\d{3}")


def find_damage(text: str) -> list[Damage]:
    """Damaged tokens in English text, in order, not overlapping.

    >>> [(d.text, d.kind) for d in find_damage("more than 30,<> dead and <>,<> injured")]
    [('30,<>', 'angle_placeholder'), ('<>,<>', 'angle_placeholder')]
    >>> [(d.text, d.kind) for d in find_damage("in __NUM_2__ and <unk>, <b>x</b>")]
    [('__NUM_2__', 'leaked_tag'), ('<unk>', 'unk_token'), ('<b>', 'markup_tag'), ('</b>', 'markup_tag')]
    >>> find_damage("30,000 dead in 2023, 2.5% <- clean")
    []
    >>> [d.text for d in find_damage("call <> 456 or 0808 <> 247, {{PH}}-billion")]
    ['<> 456', '0808 <> 247', '{{PH}}']
    >>> [(d.text, d.scale) for d in find_damage("a __NUM_1__-million-euro plan, $<>bn")]
    [('__NUM_1__', 1000000), ('<>', 1000000000)]
    >>> [d.text for d in find_damage("on November <> 100 people")]  # safe: fits only "X 100"
    ['<> 100']
    """
    if not _ANY_DAMAGE.search(text):
        return []
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
    for d in found:
        if d.kind in ("leaked_tag", "unk_token"):
            _absorb_digit_groups(text, d)
    found.sort(key=lambda d: (d.start, -d.end))
    out: list[Damage] = []
    for d in found:
        if out and d.start < out[-1].end:
            continue
        after = text[d.end:]
        scale = _SCALE_AFTER.match(after)
        if scale:
            d.scale = _SCALES[(scale.group(1) or scale.group(2)).lower()]
            if d.kind == "angle_placeholder":
                d.pattern = _hole_pattern(d.text, scaled=True)
        if _PERCENT_AFTER.match(after):
            d.percent = True
        if _MONTH_BEFORE.search(text[max(0, d.start - 40):d.start]):
            d.slot = "year"
        elif _MONTH_AFTER.match(after):
            d.slot = "day"
        elif not re.search(r"\d", d.text):  # surviving digits ("4.<> am") say enough
            d.slot, d.clock_hour = clock_slot(text, d.start, d.end)
        out.append(d)
    return out



# The kinds where a value was lost (a hole, a leaked tag, an unknown token); an orphan
# separator or a markup tag is damage but not a placeholder.
PLACEHOLDER_KINDS = frozenset({"angle_placeholder", "leaked_tag", "unk_token"})


def has_placeholder(text: str) -> bool:
    """Whether `text` holds a placeholder where a value was lost (find_damage's shapes).

    >>> has_placeholder("more than 30,<> dead"), has_placeholder("in __NUM_2__")
    (True, True)
    >>> has_placeholder("<b>30,000</b> dead, ,000 more"), has_placeholder("")
    (False, False)
    """
    return any(d.kind in PLACEHOLDER_KINDS for d in find_damage(text))


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


_LOST = re.compile(_HOLE + r"|__[A-Z]+_?\d*__|\{\{.*?\}\}|<unk>|\u2047|<0x[0-9A-Fa-f]{2}>|\uFF5F.*?\uFF60")


def mark_text(before: str) -> str:
    """The marker for a damaged token given as text, keeping the digits that survived.

    >>> mark_text("30,<>"), mark_text("08 11 00 <unk> 95"), mark_text("__NUM_1__"), mark_text(",000")
    ('30,[?]', '08 11 00 [?] 95', '[?]', '[?],000')
    """
    marked = _LOST.sub(lambda _: MARKER, before)
    return marked if marked != before else MARKER + before if before[:1] in ",." else MARKER
