"""Evidence for damaged numbers: the numbers of the source-language text, with what they count.

Owns: reading source numbers from the record (strongest first):
1. the source-language original (`original_title` / `original_body`);
2. `article["source_numbers"]`, the numbers our translate stage protected before translation
   ({"paragraph": i, "text": str, "value": str(Decimal)}, optionally "field": "title"); failing
   that, for an article we translated, the text it was translated from (`input_body`/`input_title`);
3. another article of the same drop with the same URL and another declared language, kept in
   `sibling_sources` (grouped in pipeline/siblings.py).
Each source number carries where it was found (an evidence span such as
"original_body[12:18]"), what it counts (dead, injured, km, ...) and its place in the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Sequence

from transforms.damage import source_clock
from transforms.numbers import NumberMention, _ar_key, _word_value, find_numbers, strip_accents
from transforms.record import paragraph_spans

_SRC_PERCENT_AFTER = re.compile(r"^[ \u00A0\u202F]*(?:%|\u066A|pour ?cent|percent|points? de "
                                r"pourcentage|بالم[ائ]+ة|في الم[ائ]+ة|نقط[ةه] مئوي)", re.I)

# Words that say what a number counts; a damaged English number and a source number that
# count different things are never aligned.
_CATEGORIES = {
    "dead": {"dead", "killed", "deaths", "death", "died", "dies", "fatalities", "martyrs",
             "martyred", "lives", "morts", "mort", "tues", "tue", "deces", "victimes",
             "شهيد", "شهيدا", "شهداء", "قتيل", "قتيلا", "قتلى", "مقتل", "وفاة", "وفيات"},
    "injured": {"injured", "wounded", "injuries", "hurt", "blesses", "blessees", "blesse",
                "جريح", "جريحا", "جرحى", "مصاب", "مصابا", "مصابين", "مصابون", "إصابة",
                "إصابات", "اصابة", "اصابات"},
}
# Units: the word after a number says what it measures, in any of the three languages.
_UNITS = {
    "year": "years year aged age ans annees annee سنة سنوات سنين عام عاما أعوام اعوام عامين عامان سنتين سنتان",
    "month": "months month mois شهر شهرا أشهر اشهر شهور شهرين شهران",
    "week": "weeks week semaines semaine أسبوع أسبوعا أسابيع اسبوع اسابيع أسبوعين أسبوعان اسبوعين",
    "day": "days day jours jour يوم يوما أيام ايام يومين يومان",
    "hour": "hours hour heures heure ساعة ساعات ساعتين ساعتان",
    "minute": "minutes minute دقيقة دقائق دقيقتين دقيقتان",
    "km": "km kilometres kilometers kilometre kilometer كم كيلو كيلومتر كيلومترا كيلومترات",
    "mile": "miles mile milles ميل ميلا أميال اميال",
    "yard": "yards yard ياردة ياردات",
    "metre": "metres meters metre meter مترا متر أمتار",  # not "m": "p.m."
    "dollar": "dollars dollar usd دولار دولارا دولارات",
    "euro": "euros euro يورو",
    "degree": "degrees degree degres degre درجة درجات",
    "person": "people persons personnes personne شخص شخصا أشخاص اشخاص شخصين شخصان",
    "second": "seconds secondes ثانية ثوان ثواني",  # not "second": the ordinal
    "cm": "cm centimetres centimeters centimetre centimeter سنتيمتر سنتيمترا سنتيمترات",
    "inch": "inches inch pouces pouce بوصة بوصات إنش انش",
    "gram": "grams gram grammes gramme غرام غراما غرامات جرام جراما",
    "kg": "kg kilograms kilogram kilogrammes kilogramme kilos كيلوغرام كيلوغراما كغ كيلوجرام",
    "tonne": "tonnes tonne tons ton طن أطنان اطنان",
    "ounce": "ounces ounce onces أونصة اونصة أوقية",  # not "once"
    "litre": "litres liters litre liter لتر لترا لترات",
    "hectare": "hectares hectare هكتار هكتارا هكتارات",
}
for _cat, _words in _UNITS.items():
    _CATEGORIES[_cat] = set(_words.split())
_WORD_TO_CAT = {w: c for c, ws in _CATEGORIES.items() for w in ws}
_TOKEN = re.compile(r"[^\W\d_]+")
# What a number counts is read from the words right next to it: up to 2 words after ("30 dead",
# "45 miles", "72 كيلو مترا") and 1 before ("killed 30", "عام 1938"). Wider windows reached
# the next clause on translate_numbers/dev ("In <>, a tsunami killed" is not a death toll).
_CONTEXT_AFTER = 2
_CONTEXT_BEFORE = 1


def category_near(text: str, start: int, end: int) -> str | None:
    """What the number at text[start:end] counts, from the nearest category word.

    >>> category_near("30 dead and 5 injured", 0, 2), category_near("dead and 5 injured", 9, 10)
    ('dead', 'injured')
    >>> category_near("أكثر من ٣٠ شهيدا", 8, 10), category_near("a fire in 1939", 10, 14)
    ('dead', None)
    """
    inside = [strip_accents(w) for w in _TOKEN.findall(text[start:end])][-1:]  # "يومين" two days
    after = [strip_accents(w) for w in _TOKEN.findall(text[end:end + 80])][:_CONTEXT_AFTER]
    before = [strip_accents(w) for w in _TOKEN.findall(text[max(0, start - 80):start])]
    before = before[-_CONTEXT_BEFORE:][::-1]
    # Nearest word first: the word right after, then the one right before, then the second
    # after ("aged 45, who lives": "aged" says what 45 counts, not "lives").
    for w in inside + after[:1] + before + after[1:]:
        cat = _WORD_TO_CAT.get(w) or (_WORD_TO_CAT.get(w[1:]) if w[:1] in "وب" else None)
        if cat:
            return cat
    return None


_BEFORE_WORD = re.compile(r"([^\W\d_]{4,})[ \u00A0]$")
# The noun after a number, past one short word ("3 millions de touristes", "142 crimes").
_AFTER_WORD = re.compile(r"^[ \u00A0-](?:[^\W\d_]{1,3}[ \u00A0'\u2019])?([^\W\d_]{4,})")


def same_word(a: str, b: str) -> bool:
    """The same word, or the same stem of 6+ letters in two languages ("touristes" ~ "tourists").

    >>> same_word("crimes", "crimes"), same_word("touristes", "tourists"), same_word("patients", "patrons")
    (True, True, False)
    """
    if not a or not b:
        return False
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a == b or n >= 6


def adjacent_words(text: str, start: int, end: int) -> tuple[str, str]:
    """The word (4+ letters, accent-free lower case) right before and right after a number,
    with one space between: names and nouns that both languages share ("Antenne 2",
    "142 crimes").

    >>> adjacent_words("sur Antenne 2 ce soir", 12, 13), adjacent_words("142 crimes", 0, 3)
    (('antenne', 'soir'), ('', 'crimes'))
    >>> adjacent_words("3 millions de touristes", 0, 10)
    ('', 'touristes')
    """
    b = _BEFORE_WORD.search(text[max(0, start - 40):start])
    a = _AFTER_WORD.match(text[end:end + 40])
    return (strip_accents(b.group(1)) if b else "", strip_accents(a.group(1)) if a else "")


@dataclass
class SourceNumber:
    """A number of the source-language text, with where it was found."""

    mention: NumberMention
    where: str  # "original_body[12:18]" or "source_numbers[3]"
    category: str | None
    order: int
    relpos: float | None = None  # offset / length of the source text it was read from
    percent: bool = False  # "15 %", "quinze pour cent", "ثلاثة في المائة"
    gap_after: str | None = None  # the text between this number and the next one
    clock: tuple[str | None, int | None] = (None, None)  # damage.source_clock: hour/minutes
    anchors: tuple[str, str] = ("", "")  # adjacent_words(): the word right before and after
    consume_only: bool = False  # explains an English number word, never fills a damage
    used: bool = field(default=False)

    @property
    def evidence(self) -> str:
        return f"{self.where}: {self.mention.text}"


def source_numbers_from_text(text: str, lang: str, field_name: str, offset: int = 0
                             ) -> list[SourceNumber]:
    out = []
    mentions = find_numbers(text, lang)
    for i, m in enumerate(mentions):
        pct = m.kind == "percent" or bool(_SRC_PERCENT_AFTER.match(text[m.end:m.end + 20]))
        gap = text[m.end:mentions[i + 1].start] if i + 1 < len(mentions) else None
        out.append(SourceNumber(m, f"{field_name}[{m.start + offset}:{m.end + offset}]",
                                category_near(text, m.start, m.end), i,
                                m.start / max(1, len(text)), pct, gap,
                                source_clock(text, m.start, m.end),
                                adjacent_words(text, m.start, m.end)))
    for j, m in enumerate(article_units(text, mentions) if _AR_TOKEN.search(text) else []):
        out.append(SourceNumber(m, f"{field_name}[{m.start + offset}:{m.end + offset}]",
                                None, len(mentions) + j, m.start / max(1, len(text)),
                                consume_only=True))
    return out


_AR_TOKEN = re.compile("[\u0620-\u064A]+")


def article_units(text: str, mentions: Sequence[NumberMention]) -> list[NumberMention]:
    """Arabic units with the article, alone ("الخصائص الثلاثة", the three characteristics): not
    read as numbers (too often a name: "الأربع كرات", fourballs), but an English "three" may be
    their translation, so they may explain it; they never fill a damage.

    >>> [(m.text, int(m.value)) for m in article_units("الخصائص الثلاثة: (1) و(3)", [])]
    [('الثلاثة', 3)]
    """
    out = []
    for w in _AR_TOKEN.finditer(text):
        if any(m.start < w.end() and w.start() < m.end for m in mentions):
            continue
        if _ar_key(w.group()).startswith("ال") and (info := _word_value(w.group())) is not None:
            out.append(NumberMention(w.start(), w.end(), w.group(), Decimal(info[0]), "word"))
    return out


def source_numbers_from_list(items: Sequence[dict]) -> list[SourceNumber]:
    """Numbers protected by the translate stage: {"paragraph", "text", "value"}."""
    out = []
    for i, item in enumerate(items):
        try:
            value = Decimal(str(item["value"]))
        except (KeyError, InvalidOperation):
            continue
        text = str(item.get("text", value))
        mention = NumberMention(-1, -1, text, value, "int" if value == int(value) else "decimal")
        out.append(SourceNumber(mention, f"source_numbers[{i}]", None, i,
                                percent=bool(re.search("[%\u066A]", text))))
    return out



def evidence_for(article: dict, field_name: str) -> tuple[list[list[SourceNumber]] | None,
                                                            list[SourceNumber]]:
    """(per-paragraph source numbers or None, whole-field source numbers)."""
    lang = article.get("original_lang") or ""
    original = article.get(f"original_{field_name}") or ""
    if original.strip():
        if field_name == "body":
            per = [source_numbers_from_text(original[s:e], lang, "original_body", s)
                   for s, e in paragraph_spans(original)]
            return per, source_numbers_from_text(original, lang, "original_body")
        return None, source_numbers_from_text(original, lang, f"original_{field_name}")
    protected = article.get("source_numbers") or []
    if protected:
        mine = [x for x in protected if x.get("field", "body") == field_name]
        if field_name == "body":
            n = max((int(x.get("paragraph", 0)) for x in mine), default=-1) + 1
            per = [source_numbers_from_list([x for x in mine if int(x.get("paragraph", 0)) == i])
                   for i in range(n)]
            return per, source_numbers_from_list(mine)
        return None, source_numbers_from_list(mine)
    translated = (article.get("translation") or {}).get("status") == "translated"
    source_text = article.get(f"input_{field_name}") or ""
    if translated and source_text.strip():
        # Our own translation without protected numbers: the text it was translated from.
        return None, source_numbers_from_text(source_text, article.get("source_lang") or "",
                                              f"input_{field_name}")
    found: list[SourceNumber] = []
    for sib in article.get("sibling_sources") or []:
        # Another article of the drop with the same URL in another language (graph.py).
        found += source_numbers_from_text(sib.get(field_name) or "", sib.get("lang") or "",
                                          f"sibling {sib['id']} {field_name}")
    return None, found

