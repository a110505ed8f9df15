"""Alignment of damaged English numbers with source numbers: decide a value, or that none can be known.

Owns: which source number fits which damage (surviving digits, percent, scale, what is counted,
year/day slots, ranges), the joint decision over a paragraph (a value only when every maximal
matching agrees, or exactly one order-keeping matching pairs all of them), and dropped
thousands groups.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Sequence

from transforms.damage import Damage, mark
from transforms.evidence import SourceNumber, adjacent_words, category_near, same_word
from transforms.numbers import (NumberMention, ascii_digits, find_numbers, format_value,
                                strip_accents, to_english)

# Two numbers of one range or score keep their order in every language: "1-0", "from 1962 to
# 1965", "1962 - 1965", "3 مقابل 1", "entre 5 et 10".
_RANGE_GAP_EN = re.compile(r"^(?:\s?[-\u2013\u2014/]\s?|\s(?:to|and|or|versus|against)\s)$")
_RANGE_GAP_SRC = re.compile(r"^(?:\s?[-\u2013\u2014/]\s?|\s(?:à|et|ou|contre|au|"
                            r"مقابل|إلى|الى|و|أو)\s?)$")


@dataclass
class Decision:
    damage: Damage
    replacement: str
    evidence: str
    method: str
    confidence: float
    recovered: bool


def _english_forms(value: Decimal, kind: str = "int") -> list[str]:
    """How English may write the value; a year is never grouped ("2,013" is not 2013)."""
    forms = [format_value(value, group=False)]
    if value.as_tuple().exponent < 0 and value < 10000:
        forms.append(format(value, "f"))  # "6.0%" as the source wrote it (not only "6%")
    if kind != "year":
        forms.append(format_value(value, group=True))
    if value == value.to_integral_value():
        forms.append(str(int(value)))
    return forms


_SPACES = re.compile("[\u00A0\u202F\u2009]")


def _fit(d: Damage, s: SourceNumber) -> str | None:
    """The English text for `d` if source number `s` can be the lost value, else None."""
    if s.used:
        return None
    for value in s.mention.values:
        if d.scale != 1:
            if value % d.scale and (value / d.scale).as_tuple().exponent < -3:
                continue
            value = (value / d.scale).normalize()
            if value.as_tuple().exponent > 0:
                value = value.quantize(Decimal(1))
        if d.pattern is not None:
            forms = _english_forms(value, s.mention.kind)
            if value == s.mention.value and s.mention.kind in ("int", "code"):
                # The source's own digit groups ("199 456", "0808 200 247"): a hole between
                # space-separated survivors is filled with the group the source has there.
                forms.append(_SPACES.sub(" ", ascii_digits(s.mention.text)))
                if s.mention.kind == "code":  # the English separators, the source's groups
                    seps = re.findall(r"[^\d\[\]?<>a-z_]+", re.sub(r"<[^>]*>|__\w+__|\{\{.*?\}\}",
                                                                   "0", d.text))
                    groups = re.findall(r"\d+", ascii_digits(s.mention.text))
                    if len(seps) == len(groups) - 1:
                        forms.insert(0, "".join(g + (seps[i] if i < len(seps) else "")
                                             for i, g in enumerate(groups)))
            for form in forms:
                if d.pattern.fullmatch(form):
                    return form + ("%" if d.text.endswith("%") else "")
            continue
        if d.percent or d.scale != 1:
            return format_value(value, group=value >= 10000)
        if value == s.mention.value:
            return to_english(s.mention)
        return format_value(value)
    return None


# People may be counted as dead or injured in the other language ("200 people" / "200 morts").
_CAT_OVERLAP = {frozenset({"person", "dead"}), frozenset({"person", "injured"})}


# Units of measure: the English slot and the source number must name the same one.
MEASURES = frozenset({"km", "mile", "metre", "yard", "degree", "cm", "inch", "gram", "kg",
                      "tonne", "ounce", "litre", "hectare"})
MONEY = frozenset({"dollar", "euro"})


def clock_fits(slot: str | None, slot_hour: int | None, d_cat: str | None,
               clock: tuple[str | None, int | None], value: Decimal) -> bool:
    """An English clock slot takes only the same part of a source clock time: its minutes only
    the minutes of the same hour ("10:<> p.m." ~ "22 h 08"), its hour no minutes; an a.m./p.m.
    hour is 1 to 12 ("<> p.m." ~ "22 h" is a conversion: flag). Slots that are no clock time
    are left as they were (a source "9 h 45" may be 45 of something).

    >>> clock_fits("minute", 10, None, ("minute", 22), Decimal(8)), clock_fits("minute", 10, None, (None, None), Decimal(8))
    (True, False)
    >>> clock_fits("ampm", None, None, ("minute", 11), Decimal(0)), clock_fits("ampm", None, None, (None, None), Decimal(22))
    (False, False)
    """
    role, hour = clock
    if slot == "minute":
        return role == slot and (slot_hour is None or hour % 12 == slot_hour % 12)
    if role == "minute" and slot is not None:
        return False
    if slot == "ampm":
        return value == value.to_integral_value() and 1 <= value <= 12
    return slot != "hour" or (value == value.to_integral_value() and 0 <= value <= 24)


def _compatible(d: Damage, d_cat: str | None, s: SourceNumber) -> bool:
    """Same thing counted, a percentage only for a percentage, a year only in a year slot."""
    if d.percent != s.percent:
        return False
    if not clock_fits(d.slot, d.clock_hour, d_cat, s.clock, s.mention.value):
        return False
    v = s.mention.value
    if d.slot == "year" and not (s.mention.kind == "year"):
        return False
    if d.slot == "day" and not (v == v.to_integral_value() and 1 <= v <= 31):
        return False
    if s.mention.kind == "code" or d.text.count(" ") >= 2:
        # A phone number or code fills only a slot of the same digit groups (the pattern).
        return s.mention.kind == "code" and d.pattern is not None
    if s.mention.kind == "year" and d_cat in MEASURES | MONEY:
        return False  # "stopped <> miles": a year is no distance or amount
    if s.category in MEASURES and d_cat in MEASURES and s.category != d_cat:
        # A distance in km is no evidence for a slot in miles: the English value is a
        # conversion that the source does not hold. Ambiguous -> flag.
        return False
    return (d_cat is None or s.category is None or d_cat == s.category
            or frozenset({d_cat, s.category}) in _CAT_OVERLAP)


def _same_kind(a: NumberMention, b: NumberMention) -> bool:
    """An ordinal ("10th", "10e") only explains an ordinal."""
    return (a.kind == "ordinal") == (b.kind == "ordinal")


def _account_intact(intact: Sequence[NumberMention], sources: list[SourceNumber],
                    length: int = 0) -> list:
    """Mark the source numbers the English kept intact; return the English ones left unmatched."""
    unmatched = []
    for e in intact:
        open_ = [s for s in sources if not s.used and e.value in s.mention.values]
        # A source number whose main reading is the English value explains it before one that
        # matches only in another reading ("5" is the 5 of "5 أجهزة", not "5,000" read 5.000);
        # of equal ones, the one at the nearest relative place ("week 12/2020 ... 5 February
        # 2020": each 2020 explains its own), which keeps order and place for the damages.
        here = e.start / max(1, length)
        open_.sort(key=lambda s: (s.mention.value != e.value,
                                  abs(s.relpos - here) if s.relpos is not None else 0.0))
        # Same kind and form first ("10th" ~ "10e", "4&3" ~ "4 مقابل 3" before "الأربع");
        # across kinds only the main reading ("25th minute"
        # ~ "الدقيقة 25", but "7th" does not explain "7,000" read as 7.000).
        match = next((s for s in open_ if _same_kind(e, s.mention)
                      and (e.kind == "word") == (s.mention.kind == "word")), None) or next(
            (s for s in open_ if _same_kind(e, s.mention)), None) or next(
            (s for s in open_ if s.mention.value == e.value), None)
        if match is None and e.alternatives:
            # The English in its other reading ("10.700" as 10,700) is the source's main one.
            match = min((s for s in sources if not s.used and s.mention.value in e.alternatives),
                        key=lambda s: abs(s.relpos - here) if s.relpos is not None else 0.0,
                        default=None)
        if match is None:
            unmatched.append(e)
        else:
            match.used = True
    return unmatched


_SMALL = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
          "nine": 9, "ten": 10}
# English words that state a count without a numeral, with the value they state and what the
# source number they translate looks like: "twice" / "deux fois", "both" / "les deux",
# "double-digit" / "à deux chiffres", "triple" / "ثلاثة أضعاف" are words in the source too (a
# source digit is never taken by them); "a decade" / "10 ans" and "three decades" / "trente
# ans" are counts of years; "one percent" / "1 %" a percentage.
_COUNT_WORDS = re.compile(
    r"\b(?P<two>twice|both|double|doubled|twins?|pair)\b|\b(?P<three>triple|tripled|threefold)\b"
    r"|\b(?:(?P<a>a|one)|(?P<n>two|three|four|five|six|seven|eight|nine|ten|\d))[ \u00A0-]"
    r"(?P<decade>decades?)\b|\b(?P<one>one)(?=[ \u00A0]?(?:percent|per cent|%))", re.I)


def _count_words(text: str, damages: Sequence[Damage]) -> list[tuple[int, Decimal, str]]:
    """(offset, value, what the source number must be: "word", "years" or "percent")
    for each English count written without a numeral.

    >>> [(int(v), k) for _, v, k in _count_words("twice a week for three decades, ACE2", [])]
    [(2, 'word'), (30, 'years')]
    >>> _count_words("one of them; the decade; A-5", [])
    []
    """
    out = []
    for m in _COUNT_WORDS.finditer(text):
        if any(d.start < m.end() and m.start() < d.end for d in damages):
            continue
        if m.group("two") or m.group("three"):
            out.append((m.start(), Decimal(2 if m.group("two") else 3), "word"))
        elif m.group("decade"):
            n = m.group("n")
            k = 1 if m.group("a") else int(n) if n.isdigit() else _SMALL[n.lower()]
            out.append((m.start(), Decimal(10 * k), "years"))
        else:
            out.append((m.start(), Decimal(1), "percent"))
    return out


def _account_count_words(text: str, damages: Sequence[Damage], sources: list[SourceNumber]
                         ) -> None:
    """Mark the source numbers that English count words ("twice", "a decade") translate, after
    the numbers written as numbers took theirs: they are no candidates for a damage."""
    for at, value, want in _count_words(text, damages):
        here = at / max(1, len(text))
        fits = [s for s in sources if not s.used and s.mention.value == value and (
            (want == "word" and s.mention.kind == "word")
            or (want == "years" and s.category == "year")
            or (want == "percent" and s.percent))]
        if fits:
            min(fits, key=lambda s: abs(s.relpos - here) if s.relpos is not None else 0.0
                ).used = True


_GLUED = re.compile(r"\b([^\W\d_]{4,})(\d{1,4})\b")
_EN_CLOCK = re.compile(r"(?<![\d.,:])(1[0-2]|0?[1-9])(?:[:.]([0-5]\d))?[ \u00A0]?([ap])\.?m\b\.?",
                       re.I)


def _account_clock(text: str, damages: Sequence[Damage], sources: list[SourceNumber]) -> None:
    """An English clock time ("9.30pm") explains the parts of the same source clock time
    ("21h30"), which the plain reading of "9.30" (a decimal) cannot.

    >>> from transforms.evidence import source_numbers_from_text
    >>> src = source_numbers_from_text("deux hommes partis vers 21h30", "fr", "original_body")
    >>> _account_clock("two men left at around 9.30pm", [], src); [s.used for s in src]
    [False, True]
    """
    for m in _EN_CLOCK.finditer(text):
        if any(d.start < m.end() and m.start() < d.end for d in damages):
            continue
        hour = int(m.group(1)) % 12 + (12 if m.group(3).lower() == "p" else 0)
        here = m.start() / max(1, len(text))
        for part in ("hour", "minute"):
            fits = [s for s in sources if not s.used and s.clock[0] == part and (
                s.mention.value == hour if part == "hour" else
                m.group(2) is not None and s.clock[1] == hour
                and s.mention.value == int(m.group(2)))]
            if fits:  # one time explains one source time: the nearest
                min(fits, key=lambda s: abs(s.relpos - here) if s.relpos is not None else 0.0
                    ).used = True


# Two numbers are paired by order only if they sit at about the same relative place in their
# sentences: |English offset / length - source offset / length| <= this. 0.3 keeps the pairs of
# "1-0" or "between 5 and 10" (same place) and rejects "Trois millions ... en 2012" against
# "In 2012, three million ..." (0.55 apart); chosen on translate_numbers/dev, where it gave no
# wrong pairing the gate could see (see README "Repair of damaged numbers and names").
POS_TOLERANCE = 0.3
# Cap on the matchings enumerated per paragraph (damages x candidates); beyond it only
# single-candidate damages are decided. Dev sentences need < 100.
MAX_MATCHINGS = 20000


class _TooMany(Exception):
    pass


def _max_matchings(cands: list[list[int]]) -> list[tuple]:
    """Every assignment of damages to distinct candidates that assigns as many as possible.

    >>> _max_matchings([[0], [0, 1]])
    [(0, 1)]
    >>> sorted(_max_matchings([[0, 1], [0, 1]]))
    [(0, 1), (1, 0)]
    """
    best: list[tuple] = []
    best_n = [-1]
    steps = [0]

    def rec(i: int, used: frozenset, acc: tuple, n: int) -> None:
        steps[0] += 1
        if steps[0] > MAX_MATCHINGS:
            raise _TooMany
        if n + (len(cands) - i) < best_n[0]:
            return
        if i == len(cands):
            if n > best_n[0]:
                best_n[0] = n
                best.clear()
            best.append(acc)
            return
        for j in cands[i]:
            if j not in used:
                rec(i + 1, used | {j}, acc + (j,), n + 1)
        rec(i + 1, used, acc + (None,), n)

    rec(0, frozenset(), (), 0)
    return best


def align(text: str, damages: Sequence[Damage], sources: list[SourceNumber]) -> list[Decision]:
    """Decide, for each number-shaped damage, the value it lost or that it cannot be known.

    The numbers the English kept intact explain their source numbers first. The rest are
    matched jointly: a damage is recovered when every maximal matching of damages to
    unexplained source numbers (by surviving digits, percent, and what is counted) gives it
    the same value; failing that, when exactly one maximal matching keeps the order of both
    sentences and the relative places of its pairs (POS_TOLERANCE).
    """
    intact = _intact(text, damages)
    _account_intact(intact, sources, len(text))
    _account_count_words(text, damages, sources)
    _account_clock(text, damages, sources)
    for m in _GLUED.finditer(text):
        # "Ariane5" is the source's "Ariane 5": the same word right before the same value.
        word = strip_accents(m.group(1))
        fits = [s for s in sources if not s.used and s.mention.value == int(m.group(2))
                and s.mention.kind in ("int", "year") and same_word(word, s.anchors[0])]
        if len(fits) == 1:
            fits[0].used = True
    for s in sources:
        s.used = s.used or s.consume_only  # they explain English words, nothing else
    numeric = [d for d in damages if d.kind != "markup_tag"]
    free = [s for s in sources if not s.used]
    reps: list[dict[int, str]] = []
    for d in numeric:
        cat = category_near(text, d.start, d.end)
        reps.append({j: rep for j, s in enumerate(free)
                     if _compatible(d, cat, s) and (rep := _fit(d, s)) is not None})
    _pin_ranges(text, numeric, free, reps)
    _pin_anchors(text, numeric, free, reps)
    decisions: dict[int, Decision] = {}
    try:
        matchings = _max_matchings([sorted(r) for r in reps]) if numeric else []
    except _TooMany:
        matchings = []
        # Too many to enumerate: decide only a damage whose one fitting value no other
        # damage can take.
        for i, d in enumerate(numeric):
            values = set(reps[i].values())
            others = {v for k, r in enumerate(reps) if k != i for v in r.values()}
            if len(values) == 1 and not values & others:
                j = next(iter(reps[i]))
                decisions[i] = Decision(d, reps[i][j], free[j].evidence, "source_unique_fit",
                                        0.95, True)
    if matchings:
        for i, d in enumerate(numeric):
            values = {reps[i][m[i]] if m[i] is not None else None for m in matchings}
            if len(values) == 1 and None not in values:
                j = next(m[i] for m in matchings)
                method = "source_unique_fit" if len(set(reps[i].values())) == 1 \
                    else "source_elimination"
                decisions[i] = Decision(d, reps[i][j], free[j].evidence, method, 0.95, True)
        if len(decisions) < len(numeric):
            # Order decides only a one-to-one pairing of all damages with all unexplained
            # source numbers: with one left over on either side, any token could be that one.
            ordered = [m for m in matchings if _keeps_order(m, numeric, free, len(text))
                       and sum(j is not None for j in m) == len(free) == len(numeric)]
            if len(ordered) == 1:
                m = ordered[0]
                for i, d in enumerate(numeric):
                    if i not in decisions and m[i] is not None:
                        decisions[i] = Decision(d, reps[i][m[i]], free[m[i]].evidence,
                                                "source_order", 0.85, True)
    out = []
    for i, d in enumerate(numeric):
        if i in decisions:
            out.append(decisions[i])
            continue
        if not sources:
            why = "no source-language text or protected numbers in the record"
        elif not reps[i]:
            why = "no unexplained source number fits"
        else:
            why = "ambiguous: " + "; ".join(sorted({f"{r} ({free[j].evidence})"
                                                    for j, r in reps[i].items()}))
        out.append(Decision(d, mark(d), why, "marker", 1.0, False))
    for dec in out:
        if dec.recovered:
            for s in free:
                if s.evidence == dec.evidence:
                    s.used = True
    return out


_BARE_SCALES = {"thousand", "million", "billion", "trillion"}


def _intact(text: str, damages: Sequence[Damage]) -> list[NumberMention]:
    """English numbers outside the damaged tokens; a scale word right after a damage
    ("<> billion") is that damage's scale, not a number of its own."""
    return [m for m in find_numbers(text, "en")
            if not any(d.start < m.end and m.start < d.end for d in damages)
            and not (m.text.lower() in _BARE_SCALES
                     and any(0 <= m.start - d.end <= 1 for d in damages))]


def _pin_anchors(text: str, numeric: Sequence[Damage], free: Sequence[SourceNumber],
                 reps: list[dict[int, str]]) -> None:
    """A damage next to a word that the source has on the same side of exactly one fitting
    number ("Antenne <>" ~ "Antenne 2", "<> crimes" ~ "142 crimes") takes that number."""
    for i, d in enumerate(numeric):
        if len(reps[i]) < 2:
            continue
        before, after = adjacent_words(text, d.start, d.end)
        hits = [j for j in reps[i]
                if same_word(before, free[j].anchors[0]) or same_word(after, free[j].anchors[1])]
        if len(hits) == 1:
            reps[i] = {hits[0]: reps[i][hits[0]]}


def _pin_ranges(text: str, numeric: Sequence[Damage], free: Sequence[SourceNumber],
                reps: list[dict[int, str]]) -> None:
    """Two damaged numbers of one range ("<>-<>", "from <> to <>") take the two numbers of
    the one source range that fits them both, in the same order."""
    for i in range(len(numeric) - 1):
        d1, d2 = numeric[i], numeric[i + 1]
        if not _RANGE_GAP_EN.match(text[d1.end:d2.start]):
            continue
        pairs = [(a, b) for a in reps[i] for b in reps[i + 1]
                 if free[a].order + 1 == free[b].order and free[a].gap_after is not None
                 and _RANGE_GAP_SRC.match(free[a].gap_after)]
        if len(pairs) == 1:
            a, b = pairs[0]
            reps[i] = {a: reps[i][a]}
            reps[i + 1] = {b: reps[i + 1][b]}


def _keeps_order(matching: tuple, numeric: Sequence[Damage], free: Sequence[SourceNumber],
                 length: int) -> bool:
    pairs = [(numeric[i], free[j]) for i, j in enumerate(matching) if j is not None]
    if any(s.relpos is None for _, s in pairs):
        return False
    if any(abs(d.start / max(1, length) - s.relpos) > POS_TOLERANCE for d, s in pairs):
        return False
    orders = [s.order for _, s in pairs]
    return orders == sorted(orders)



def _has_groups(m: NumberMention) -> bool:
    """Only a number written with thousands groups (or a scale word) can lose a group.

    A year (١٩٧٩) is not "1,979": English "1" next to it is something else.
    """
    if m.kind == "word" or re.search(r"\d[^\d]\d{3}(?!\d)", ascii_digits(m.text)):
        return True
    return m.kind in ("int", "decimal") and m.value >= 1000  # 17500, not a year


_CONTINUES = re.compile(r"^[ \u00A0+\-]*(?:\d|thousand|million|billion|trillion|bn\b|mn\b|k\b)",
                       re.I)


def dropped_groups(text: str, damages: Sequence[Damage], sources: list[SourceNumber]
                   ) -> list[Decision]:
    """English "30" where the only unexplained source number is 30,000: the group was dropped."""
    intact = _intact(text, damages)
    out = []
    for e in intact:
        if e.kind not in ("int",) or any(e.value == s.mention.value and _same_kind(e, s.mention)
                                         for s in sources):
            continue
        if re.match(r"[^\W\d_]", text[e.end:e.end + 1]) or _CONTINUES.match(text[e.end:e.end + 16]):
            continue  # "£2m", "$45-million", "$250+ billion", "12 000": the English says more
        head = format_value(e.value) + ","
        cands = {format_value(v): s for s in sources if not s.used and _has_groups(s.mention)
                 for v in s.mention.values
                 if v == v.to_integral_value() and format_value(v).startswith(head)}
        if len(cands) == 1:
            rep, s = next(iter(cands.items()))
            s.used = True
            d = Damage(e.start, e.end, e.text, "dropped_group")
            out.append(Decision(d, rep, s.evidence, "source_group_prefix", 0.9, True))
    return out

