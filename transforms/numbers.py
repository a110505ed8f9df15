"""Numbers in Arabic, French and English news text: find them, read their value, write them in English.

Owns: `find_numbers(text, lang)` -> `NumberMention`s (span, text, Decimal value, kind) and
`to_english(mention)`. Used by the translate stage (protect numbers before MT, restore after)
and by the repair stage (align damaged English numbers with the source-language original).

What is read:
- Western digits, Eastern Arabic-Indic digits (U+0660-0669, with "٫" decimal, "٬" grouping,
  "٪" percent) and Persian digits (U+06F0-06F9);
- English grouping ("30,000", "1,234.5") and French grouping with a plain space, U+00A0,
  U+202F or U+2009 and comma decimals ("30 000", "2,5", "1 234,5"); a plain space groups
  digits only outside English text ("on November 24 100 people" is two numbers);
- a numeral followed by a scale word ("2,5 millions", "٣ آلاف", "2.5 million", "30 mille");
- number words: Arabic (ثلاثة، عشرون، مئة، ألف، مليون ... with و joining), French
  (deux ... quatre-vingt-dix, cent, mille, million) and English (two ... ninety, hundred,
  thousand). "one"/"un"/"une"/"واحد"/"أحد" alone are not numbers (pronoun / article), nor are
  plural scales alone ("thousands", "des millions", "آلاف", "ملايين": an amount, not a value).

A mention whose separators can be read two ways ("30,000" in French, "2.500" in English) keeps
the other reading in `alternatives`, so that an aligner can accept either but a checker can tell
the reading was not certain.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

__all__ = ["NumberMention", "find_numbers", "to_english", "ascii_digits", "format_value"]


@dataclass(frozen=True)
class NumberMention:
    """One number in a text. `start`/`end` are offsets into the text that was searched."""

    start: int
    end: int
    text: str
    value: Decimal
    kind: str  # "int", "decimal", "percent", "ordinal", "year", "word", "code" (phone, id)
    alternatives: tuple[Decimal, ...] = ()

    @property
    def values(self) -> tuple[Decimal, ...]:
        """The value and every other possible reading."""
        return (self.value,) + self.alternatives


# Digits of other scripts -> ASCII, one character for one (offsets stay valid).
_DIGITS = {}
for _base in (0x0660, 0x06F0, 0xFF10):  # Arabic-Indic, Persian (Extended), full-width
    for _i in range(10):
        _DIGITS[_base + _i] = str(_i)
_AR_DECIMAL = "\u066B"
_AR_GROUP = "\u066C"


def ascii_digits(text: str) -> str:
    """Map Eastern Arabic-Indic and Persian digits to ASCII, same length.

    >>> ascii_digits("٣٠ و ۴۵")
    '30 و 45'
    """
    return text.translate(_DIGITS)


# Group separators each language's text may use between thousands. A plain space only outside
# English: English MT of "November 24, 100 people" must not become 24100.
_GROUP_SEPS = {
    "en": ",\u066C\u00A0\u202F\u2009",
    "ar": ",.\u066C\u00A0\u202F\u2009",  # Arabic news writes 15.000 for fifteen thousand
    "fr": " \u00A0\u202F\u2009.,\u066C",
    "": ",\u066C\u00A0\u202F\u2009 ",
}

_SCALES_EN = {"thousand": 1000, "million": 10**6, "millions": 10**6, "billion": 10**9,
              "billions": 10**9, "trillion": 10**12}
_SCALES_FR = {"mille": 1000, "million": 10**6, "millions": 10**6, "milliard": 10**9,
              "milliards": 10**9, "billion": 10**12, "billions": 10**12,  # French billion = 10^12
              "trillion": 10**18, "trillions": 10**18}
_SCALES_AR_RAW = {"ألف": 1000, "آلاف": 1000, "ألفا": 1000, "الف": 1000, "مليون": 10**6,
                  "ملايين": 10**6, "مليونا": 10**6, "مليار": 10**9, "مليارات": 10**9,
                  "مليارا": 10**9, "بليون": 10**9, "تريليون": 10**12, "تريليونات": 10**12}

_ARABIC_MARKS = re.compile("[\u064B-\u0652\u0670\u0640]")  # tashkeel, dagger alef, tatweel


def _ar_key(word: str) -> str:
    """Arabic matching key: no tashkeel/tatweel, alef forms unified, ta marbuta/alef maqsura.

    >>> _ar_key("ثَلَاثَة") == _ar_key("ثلاثه")
    True
    """
    word = _ARABIC_MARKS.sub("", word)
    word = re.sub("[أإآٱ]", "ا", word)
    return word.replace("ة", "ه").replace("ى", "ي")


_SCALES_AR = {_ar_key(k): v for k, v in _SCALES_AR_RAW.items()}
# French news abbreviations: "330 M$" (millions of dollars), "4,5 Md$" (billions).
_SCALES_ABBR = {f"{p}{c}": f for p, f in (("M", 10**6), ("Md", 10**9), ("Mds", 10**9))
                for c in "$€£"}
_SCALE_WORDS = sorted({*_SCALES_EN, *_SCALES_FR, *_SCALES_AR_RAW, *_SCALES_ABBR}, key=len,
                      reverse=True)


@lru_cache(maxsize=8)
def _digit_pattern(lang: str) -> re.Pattern:
    seps = re.escape(_GROUP_SEPS.get(lang, _GROUP_SEPS[""]))
    scale = "|".join(re.escape(w) for w in _SCALE_WORDS)
    return re.compile(
        r"(?<![0-9A-Za-z_.,\u066B\u066C])"  # Arabic و/ب attach to digits
        r"(?P<num>\d{1,3}(?P<g>[" + seps + r"])\d{3}(?:(?P=g)\d{3})*(?:[.,\u066B]\d+)?"
        r"|\d+(?:[.,\u066B]\d+)?)"
        r"(?![\d])"
        r"(?P<pct>[ \u00A0\u202F]?[%\u066A]|[ \u00A0](?:pour ?cent|percent|per cent|بالمائة|بالمئة|في المائة|في المئة)(?![^\W\d_]))?"
        r"(?P<ord>(?:st|nd|rd|th|er|re|ère|ème|eme|e|è|ᵉ|ᵉʳ)(?![^\W\d_]))?"
        r"(?P<scale>[ \u00A0\u202F]+(?:" + scale + r")(?![^\W\d_])"
        r"|(?<=[\d])(?:m|bn|mn)(?![^\W\d_]))?"  # "£2m", "$4.5bn" (after a currency sign)
    )


def _read_digits(num: str, group: str | None, lang: str) -> tuple[Decimal, tuple[Decimal, ...]]:
    """Value of a digit string (ASCII digits) and its other possible readings.

    >>> _read_digits("30,000", ",", "en")
    (Decimal('30000'), (Decimal('30.000'),))
    >>> _read_digits("2,5", None, "fr")
    (Decimal('2.5'), ())
    >>> _read_digits("30,000", ",", "fr")
    (Decimal('30000'), (Decimal('30.000'),))
    >>> _read_digits("2,125", ",", "fr")
    (Decimal('2.125'), (Decimal('2125'),))
    >>> _read_digits("1 234,5", " ", "fr")
    (Decimal('1234.5'), ())
    >>> _read_digits("10.700", None, "en"), _read_digits("360٫000", None, "ar")
    ((Decimal('10.700'), (Decimal('10700'),)), (Decimal('360.000'), (Decimal('360000'),)))
    """
    num = num.replace(_AR_DECIMAL, ".").replace(_AR_GROUP, ",")
    if group is None:
        if re.fullmatch(r"\d{1,3}[.,]\d{3}", num):
            # One separator the text does not group with, then three digits: MT English
            # "10.700", Arabic "٣٦٠٫٠٠٠": a decimal, or a thousands group written the other way.
            return Decimal(num.replace(",", ".")), (Decimal(re.sub(r"\D", "", num)),)
        return Decimal(num.replace(",", ".")), ()
    group = "," if group == _AR_GROUP else group
    head, tail = num, ""
    # A decimal part after the groups uses a different separator than the grouping one.
    m = re.match(r"^(.*?\d{3})([.,])(\d+)$", num)
    if m and m.group(2) != group:
        head, tail = m.group(1), m.group(3)
    as_grouped = Decimal(head.replace(group, "") + ("." + tail if tail else ""))
    groups = head.split(group)
    if tail or len(groups) > 2 or group not in ".,":
        return as_grouped, ()
    # One "," or "." followed by three digits: grouping or decimal?
    as_decimal = Decimal(groups[0] + "." + groups[1])
    decimal_sep = "," if lang == "fr" else "."
    # A decimal that ends in 0 ("30,000" = 30.000) is not how news writes decimals; take
    # the grouped reading then, whatever the language.
    if group == decimal_sep and not groups[1].endswith("0"):
        return as_decimal, (as_grouped,)
    return as_grouped, (as_decimal,)


def _is_year(value: Decimal, num: str) -> bool:
    # Four digits from 1500 to 2100 read as a year (written without grouping); history news
    # cites 1776 and 1648 as often as 1948.
    return num.isdigit() and len(num) == 4 and 1500 <= value <= 2100


# ---- number words -----------------------------------------------------------------------

_EN_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90, "hundred": 100, **_SCALES_EN,
}
_FR_WORDS = {
    "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7,
    "huit": 8, "neuf": 9, "dix": 10, "onze": 11, "douze": 12, "treize": 13, "quatorze": 14,
    "quinze": 15, "seize": 16, "vingt": 20, "vingts": 20, "trente": 30, "quarante": 40,
    "cinquante": 50, "soixante": 60, "quatre-vingt": 80, "quatre-vingts": 80, "cent": 100,
    "cents": 100, **_SCALES_FR,
}
_AR_WORDS_RAW = {
    "واحد": 1, "واحدة": 1, "أحد": 1, "إحدى": 1,
    "اثنان": 2, "اثنين": 2, "اثنتان": 2, "اثنتين": 2, "اثنا": 2, "اثنتا": 2, "اثني": 2,
    "ثلاثة": 3, "ثلاث": 3, "أربعة": 4, "أربع": 4, "خمسة": 5, "خمس": 5, "ستة": 6, "ست": 6,
    "سبعة": 7, "سبع": 7, "ثمانية": 8, "ثماني": 8, "ثمان": 8, "تسعة": 9, "تسع": 9,
    "عشرة": 10, "عشر": 10,
    "عشرون": 20, "عشرين": 20, "ثلاثون": 30, "ثلاثين": 30, "أربعون": 40, "أربعين": 40,
    "خمسون": 50, "خمسين": 50, "ستون": 60, "ستين": 60, "سبعون": 70, "سبعين": 70,
    "ثمانون": 80, "ثمانين": 80, "تسعون": 90, "تسعين": 90,
    "مئة": 100, "مائة": 100, "مئتان": 200, "مئتين": 200, "مائتان": 200, "مائتين": 200,
    "مئتا": 200, "مائتا": 200, "ألفان": 2000, "ألفين": 2000, "مليونان": 2 * 10**6,
    "مليونين": 2 * 10**6, "ملياران": 2 * 10**9, "مليارين": 2 * 10**9,
    **_SCALES_AR_RAW,
}
for _stem, _n in (("ثلاث", 3), ("أربع", 4), ("خمس", 5), ("ست", 6), ("سبع", 7), ("ثمان", 8),
                  ("تسع", 9)):
    _AR_WORDS_RAW[_stem + "مئة"] = _n * 100
    _AR_WORDS_RAW[_stem + "مائة"] = _n * 100
_AR_WORDS = {_ar_key(k): v for k, v in _AR_WORDS_RAW.items()}
# Arabic says "two days" with the dual of the noun alone ("يومين"): the counted units of
# evidence.py's table and "مرتين" (twice) in both cases of the dual are the number 2. Each is a
# number of its own (it never joins a compound).
_AR_DUAL_NOUNS = {_ar_key(w) for w in (
    "يومين", "يومان", "شهرين", "شهران", "عامين", "عامان", "سنتين", "سنتان", "أسبوعين",
    "أسبوعان", "اسبوعين", "ساعتين", "ساعتان", "دقيقتين", "دقيقتان", "شخصين", "شخصان",
    "مرتين", "مرتان")}


def _is_dual_noun(word: str) -> bool:
    """Whether `word` is a dual noun ("يومين" two days, also after "و"): a number of its own."""
    return _ar_key(word).removeprefix("و") in _AR_DUAL_NOUNS


# Words that are numbers only inside a compound ("twenty-one", "vingt et un", "أحد عشر").
# "ألفا" alone is a thousand (accusative), two thousand (dual construct "ألفا شخص") or the Greek
# letter ("كورونا ألفا", alpha-CoV): no value to read; after a number it is the scale.
_ONLY_IN_COMPOUND = {"one", "un", "une", _ar_key("واحد"), _ar_key("واحدة"), _ar_key("أحد"),
                     _ar_key("إحدى"), _ar_key("اثنا"), _ar_key("اثنتا"), _ar_key("اثني"),
                     _ar_key("ألفا")}
# Plural scales alone are amounts ("thousands of"), not values.
_PLURAL_SCALES = {"thousands", "millions", "billions", "milliards", _ar_key("آلاف"),
                  _ar_key("ملايين"), _ar_key("مليارات")}
_JOINERS = {"and", "et"}
_AL_NOT = {_ar_key(w) for w in ("أحد", "إحدى", "واحد", "اثنين", "اثنان", "اثنا", "اثني", "اثنتين",
                                 "اثنتان")}
_WORD = re.compile(r"[^\W\d_]+")


def _word_value(word: str) -> tuple[int, bool] | None:
    """(value, joined_by_waw) of one word token, or None.

    >>> _word_value("Twenty"), _word_value("وعشرون"), _word_value("الأحد"), _word_value("lost")
    ((20, False), (20, True), None, None)
    """
    low = word.lower()
    if low in _EN_WORDS:
        return _EN_WORDS[low], False
    if low in _FR_WORDS:
        return _FR_WORDS[low], False
    key = _ar_key(word)
    waw = False
    if key not in _AR_WORDS and key.startswith("و") and len(key) > 2:
        key, waw = key[1:], True
    # No other prefix is stripped: with the article, number words are ordinals and weekdays
    # ("الأحد" Sunday, "الاثنين" Monday, "القرن العشرين" the 20th century), and "بالمائة" is
    # "percent", not 100.
    if key in _AR_WORDS:
        return _AR_WORDS[key], waw
    if key in _AR_DUAL_NOUNS:
        return 2, waw
    # The article before a unit word is still a cardinal in a compound ("الثلاث عشرة"),
    # but "الأحد"/"الاثنين" are Sunday/Monday, "العشرين" is the 20th, "المئة" is in "في المئة".
    if key.startswith("ال") and _AR_WORDS.get(key[2:], 100) < 20 and key[2:] not in _AL_NOT:
        return _AR_WORDS[key[2:]], waw
    return None


def _joins(last: int, v: int, waw: bool) -> bool:
    """Can number word `v` continue a number whose last word was `last`?

    >>> _joins(20, 5, False), _joins(3, 100, False), _joins(60, 12, False), _joins(5, 20, True)
    (True, True, True, True)
    >>> _joins(10, 9, False), _joins(80, 10, False)  # dix-neuf, quatre-vingt-dix
    (True, True)
    >>> _joins(1, 1, False), _joins(1, 2, False), _joins(5, 20, False)  # "un un deux": three numbers
    (False, False, False)
    """
    if v == 100:
        return last < 100
    if v >= 1000:
        return last < 1000 or v > last  # "seven thousand million"
    if last >= 100:
        return True
    if last % 10 == 0 and 20 <= last <= 90 and 1 <= v <= 9:
        return True  # twenty-five, vingt et un
    if last in (60, 80) and 10 <= v <= 19:
        return True  # soixante-dix, quatre-vingt-dix
    if last == 10 and 7 <= v <= 9:
        return True  # dix-sept, dix-huit, dix-neuf
    if last < 10 and v == 10:
        return True  # Arabic teens: ثلاثة عشر
    return last < 10 and waw and v % 10 == 0 and 20 <= v <= 90  # خمسة وعشرون


def _compose(values: list[int]) -> int:
    """Value of a run of number words that `_joins` accepted, in order.

    >>> _compose([20, 5]), _compose([3, 100, 20, 1000]), _compose([2, 10**6, 500, 1000])
    (25, 320000, 2500000)
    >>> _compose([5, 20])  # Arabic "خمسة وعشرون": units before tens
    25
    >>> _compose([7, 1000, 10**6])  # "seven thousand million"
    7000000000
    """
    total, current, last_scale = 0, 0, 0
    for v in values:
        if v == 100:
            current = max(current, 1) * 100
        elif v >= 1000:
            if current == 0 and total and v > last_scale:
                total *= v  # "seven thousand million" = 7 * 1000 * 10**6
            else:
                total += max(current, 1) * v
            current, last_scale = 0, v
        else:
            current += v
    return total + current


def _find_words(text: str, taken: list[tuple[int, int]]) -> list[NumberMention]:
    """Number words, each run of joinable words one mention."""
    items: list[tuple[int, int, str, int, bool]] = []  # start, end, word, value, waw
    for m in _WORD.finditer(text):
        if any(s < m.end() and m.start() < e for s, e in taken):
            items.append((m.start(), m.end(), "", -1, False))
            continue
        info = _word_value(m.group())
        if info is None:
            items.append((m.start(), m.end(), m.group(), -1, False))
        else:
            items.append((m.start(), m.end(), m.group(), info[0], info[1]))
    out: list[NumberMention] = []
    seg: list[tuple[int, int, str, int, bool]] = []

    def flush() -> None:
        if not seg:
            return
        word = seg[0][2]
        key = _ar_key(word)
        key = key[1:] if seg[0][4] else key  # "وواحد": the و is "and"
        if len(seg) == 1 and (word.lower() in _ONLY_IN_COMPOUND or key in _ONLY_IN_COMPOUND
                              or word.lower() in _PLURAL_SCALES or key in _PLURAL_SCALES
                              or (key.startswith("ال") and key not in _AR_WORDS)):
            # An article-prefixed unit alone is too often a name ("الأربع كرات" fourballs);
            # it counts in a compound ("الثلاث عشرة" the thirteen).
            seg.clear()
            return
        start, end = seg[0][0], seg[-1][1]
        value = _compose([x[3] for x in seg])
        out.append(NumberMention(start, end, text[start:end], Decimal(value), "word"))
        seg.clear()

    prev_end = -1
    i = 0
    while i < len(items):
        start, end, word, value, waw = items[i]
        if word.lower() == "neuf" and text[start - 1:start] != "-" and \
                not re.match(r"[ \u00A0-]+[^\W\d_]", text[end:end + 3]):
            # "un T4 neuf." is "new"; the number comes before its noun ("neuf enfants").
            value = -1
            items[i] = (start, end, word, -1, False)
        if value < 0:
            if not (seg and word.lower() in _JOINERS):
                flush()
            i += 1
            continue
        # "quatre-vingt(s)" is 80, one number word.
        if word.lower() == "quatre" and i + 1 < len(items) and \
                items[i + 1][2].lower() in ("vingt", "vingts") and \
                text[end:items[i + 1][0]] in ("-", " "):
            end2 = items[i + 1][1]
            items[i + 1] = (start, end2, text[start:end2], 80, False)
            i += 1
            continue
        if _is_dual_noun(word):
            flush()  # "يومين": a number of its own
            seg.append(items[i])
            flush()
            prev_end = end
            i += 1
            continue
        gap = text[prev_end:start].strip().lower() if seg else ""
        joined = bool(seg) and _joins(seg[-1][3], value, waw) and (
            gap in ("", "-") or (gap == "et" and value in (1, 11))  # vingt et un, soixante et onze
            or (gap == "and" and seg[-1][3] >= 100 and value < 100))  # three hundred and ten
        if seg and not joined:
            flush()
        seg.append(items[i])
        prev_end = end
        i += 1
    flush()
    return out


def find_numbers(text: str, lang: str = "", words: bool = True) -> list[NumberMention]:
    """Every number in `text`, in order. `lang` ("en", "fr", "ar" or "") sets how separators read.

    >>> [(m.text, str(m.value), m.kind) for m in find_numbers("more than 30,000 dead and 2.5%")]
    [('30,000', '30000', 'int'), ('2.5%', '2.5', 'percent')]
    >>> [(m.text, str(m.value)) for m in find_numbers("30 000 morts, 2,5 millions", "fr")]
    [('30 000', '30000'), ('2,5 millions', '2500000.0')]
    >>> [(m.text, str(m.value)) for m in find_numbers("أكثر من ٣٠٬٠٠٠ شهيد و٣ آلاف جريح", "ar")]
    [('٣٠٬٠٠٠', '30000'), ('٣ آلاف', '3000')]
    >>> [(m.text, m.kind) for m in find_numbers("le 1er mai 2023, vingt-cinq blessés", "fr")]
    [('1er', 'ordinal'), ('2023', 'year'), ('vingt-cinq', 'word')]
    >>> [(m.text, int(m.value)) for m in find_numbers("بين يومين وأربعة عشر يوما", "ar")]
    [('يومين', 2), ('وأربعة عشر', 14)]
    """
    norm = ascii_digits(text)
    lang = lang if lang in _GROUP_SEPS else ""
    mentions: list[NumberMention] = [
        NumberMention(m.start(), m.end(), text[m.start():m.end()],
                      Decimal(re.sub(r"\D", "", m.group())), "code")
        for m in _CODE.finditer(norm)]
    codes = [(x.start, x.end) for x in mentions]
    for m in _digit_pattern(lang).finditer(norm):
        if any(s < m.end() and m.start() < e for s, e in codes):
            continue
        num = m.group("num")
        try:
            value, alts = _read_digits(num, m.group("g"), lang)
        except InvalidOperation:  # pragma: no cover - the pattern only admits digits
            continue
        end = m.end()
        if m.group("pct"):
            kind = "percent"
        elif m.group("ord") and "." not in num and "," not in num and m.group("g") is None:
            kind = "ordinal"
        else:
            end = m.end("num")
            kind = "decimal" if value != value.to_integral_value() or (
                m.group("g") is None and any(c in num for c in ".,\u066B")) else "int"
            if kind == "int" and _is_year(value, num):
                kind = "year"
            scale = m.group("scale")
            if scale and scale in ("m", "bn", "mn"):
                # A glued "m"/"bn" is a scale only after a currency sign ("5m" is 5 metres).
                scale = {"m": " million", "mn": " million", "bn": " billion"}[scale] if (
                    m.start() > 0 and norm[m.start() - 1] in "$€£") else None
            if scale and not m.group("ord"):
                word = scale.strip()
                first, second = (_SCALES_FR, _SCALES_EN) if lang == "fr" else (_SCALES_EN,
                                                                                 _SCALES_FR)
                factor = (first.get(word.lower()) or second.get(word.lower())
                          or _SCALES_AR.get(_ar_key(word)) or _SCALES_ABBR.get(word))
                if factor:
                    value = value * factor
                    alts = tuple(a * factor for a in alts)
                    end = m.end("scale")
                    kind = "word"
        if kind == "ordinal":
            end = m.end("ord")
        mentions.append(NumberMention(m.start(), end, text[m.start():end], value, kind, alts))
    if words and _ARABIC_LETTER.search(text):
        taken = [(x.start, x.end) for x in mentions]
        mentions.extend(_find_ar_ordinals(text, taken))
    if words:  # number words too (False: digits only, for checks that follow digits)
        taken = [(x.start, x.end) for x in mentions]
        mentions.extend(_find_words(text, taken))
    mentions.sort(key=lambda x: x.start)
    return _range_scales(text, [_with_half(text, m) for m in mentions])


_RANGE_JOIN = re.compile(r"^[ \u00A0]*(?:[-\u2013\u2014/]|à|a|et|ou|to|and|or|إلى|الى|و|أو)"
                         r"[ \u00A0]*$")


def _range_scales(text: str, mentions: list[NumberMention]) -> list[NumberMention]:
    """"10 à 11 milliards", "1 et 0,5 milliard": the first number may share the second's scale,
    so the scaled reading becomes one of its possible values (alignment then needs more
    evidence to pick one, and ambiguity is flagged rather than guessed).

    >>> [sorted(map(int, m.values)) for m in find_numbers("entre 10 à 11 milliards", "fr")]
    [[10, 10000000000], [11000000000]]
    """
    out = list(mentions)
    for i in range(len(out) - 1):
        a, b = out[i], out[i + 1]
        factor = _last_scale(b.text)
        if factor > 1 and a.kind in ("int", "decimal") and _RANGE_JOIN.match(text[a.end:b.start]):
            out[i] = NumberMention(a.start, a.end, a.text, a.value, a.kind,
                                   a.alternatives + (a.value * factor,))
    return out


# Phone numbers and codes: a leading 0 or "+" and three or more digit groups ("0808 200 247",
# "+33 1 42 68 53 00"). Their digits are an identifier, never grouped or read as thousands.
_CODE = re.compile(r"(?<![\d.,])(?<!\d[ \u00A0\u202F\u2009])(?:\+\d{1,3}[ .\u00A0-]?\d{1,4}|0\d{1,4})"
                   r"(?:[ .\u00A0-]\d{2,4}){2,}(?![\d])")

# "3 millions et demi", "مليونان ونصف", "two and a half million" is read by the scale before it:
# a half of the last scale word (or of one, without a scale).
_HALF_AFTER = re.compile(r"^(?:[ \u00A0]+et[ \u00A0]+demie?|[ \u00A0]*و[ \u00A0]?نصف"
                         r"|[ \u00A0]+and[ \u00A0]+a[ \u00A0]+half)(?![^\W\d_])", re.I)
_DUALS = {_ar_key(w): v for w, v in (("ألفان", 1000), ("ألفين", 1000), ("مليونان", 10**6),
                                     ("مليونين", 10**6), ("ملياران", 10**9), ("مليارين", 10**9))}


def _last_scale(mention_text: str) -> int:
    words = _WORD.findall(mention_text)
    if not words:
        return 1
    w = words[-1]
    return (_SCALES_EN.get(w.lower()) or _SCALES_FR.get(w.lower()) or _SCALES_AR.get(_ar_key(w))
            or _DUALS.get(_ar_key(w)) or _SCALES_ABBR.get(w) or 1)


def _with_half(text: str, m: NumberMention) -> NumberMention:
    """A mention followed by "et demi" / "ونصف" / "and a half" includes it.

    >>> [(x.text, str(x.value)) for x in find_numbers("3 millions et demi d'euros", "fr")]
    [('3 millions et demi', '3500000')]
    >>> [(x.text, str(x.value)) for x in find_numbers("مليونان ونصف دولار", "ar")]
    [('مليونان ونصف', '2500000')]
    >>> [(x.text, str(x.value)) for x in find_numbers("un million et demi de personnes", "fr")]
    [('un million et demi', '1500000')]
    """
    half = _HALF_AFTER.match(text[m.end:m.end + 20])
    if not half or m.kind in ("code", "percent", "ordinal", "year"):
        return m
    factor = Decimal(_last_scale(m.text))
    value = (m.value + factor / 2)
    value = value.quantize(Decimal(1)) if value == value.to_integral_value() else value
    end = m.end + half.end()
    return NumberMention(m.start, end, text[m.start:end], value, "word",
                         tuple(a + factor / 2 for a in m.alternatives))


# Arabic ordinals, with the article and either gender: "الخامس"/"الخامسة" (5th); teens with
# "عشر"/"عشرة" ("الخامسة عشرة" 15th) and tens joined by و ("السابع والعشرين" 27th).
_ARABIC_LETTER = re.compile("[\u0620-\u064A]")
_AR_ORDINALS = {_ar_key(k): v for k, v in (
    ("الأول", 1), ("الحادي", 1), ("الثاني", 2), ("الثالث", 3), ("الرابع", 4), ("الخامس", 5),
    ("السادس", 6), ("السابع", 7), ("الثامن", 8), ("التاسع", 9), ("العاشر", 10))}


def _ar_ordinal(word: str) -> int | None:
    key = _ar_key(word)
    return _AR_ORDINALS.get(key) or _AR_ORDINALS.get(key[:-1] if key.endswith("ه") else "")


def _find_ar_ordinals(text: str, taken: list[tuple[int, int]]) -> list[NumberMention]:
    """Arabic ordinal words and their compounds.

    >>> [(m.text, int(m.value)) for m in find_numbers("في الدقيقة الخامسة عشرة من الشوط", "ar")]
    [('الخامسة عشرة', 15)]
    >>> [(m.text, int(m.value)) for m in find_numbers("في السابع والعشرين من مارس", "ar")]
    [('السابع والعشرين', 27)]
    """
    words = [w for w in _WORD.finditer(text)
             if not any(s < w.end() and w.start() < e for s, e in taken)]
    out = []
    i = 0
    while i < len(words):
        unit = _ar_ordinal(words[i].group())
        if unit is None:
            i += 1
            continue
        start, end, value = words[i].start(), words[i].end(), unit
        first_end = end
        nxt = words[i + 1] if i + 1 < len(words) else None
        if nxt is not None and text[end:nxt.start()].strip() == "":
            key = _ar_key(nxt.group())
            if unit < 10 and key in (_ar_key("عشر"), _ar_key("عشرة")):
                value, end, i = unit + 10, nxt.end(), i + 1
            elif key.startswith("و") and _AR_WORDS.get(key[1:].removeprefix("ال"), 0) in range(
                    20, 100, 10) and unit < 10:
                value, end, i = unit + _AR_WORDS[key[1:].removeprefix("ال")], nxt.end(), i + 1
        # An ordinal alone ("الثاني" of "كانون الثاني", January; "عامه السابع", its seventh
        # year) is mostly written as a word in English: only compounds are read as numbers.
        if end != first_end:
            out.append(NumberMention(start, end, text[start:end], Decimal(value), "ordinal"))
        i += 1
    return out


_ORDINAL_FR = re.compile(r"^(?:premi[eè]re?|second[e]?|\w+i[eè]me)$", re.I)


def is_partial(text: str, m: NumberMention) -> bool:
    """True when a number word or ordinal touches the mention without being part of it: a
    compound read in part ("dix" of "dix-septième", "عشرة" of an unread ordinal) is no evidence.

    >>> t = "le soixante-dix-septième anniversaire"
    >>> [is_partial(t, x) for x in find_numbers(t, "fr")]
    [True]
    >>> t = "30 000 morts et vingt-cinq blessés"
    >>> [is_partial(t, x) for x in find_numbers(t, "fr")]
    [False, False]
    """
    if m.kind == "code" or _is_dual_noun(m.text):
        return False  # a dual noun ("يومين") is a number of its own, never part of a compound
    before = re.search(r"([^\W\d_]+)[ \u00A0-]*(?:(et|and|و)[ \u00A0]*)?$", text[max(0, m.start - 30):m.start])
    after = re.match(r"^[ \u00A0-]*(?:(?:et|and)[ \u00A0]+|و)?([^\W\d_]+)", text[m.end:m.end + 30])
    for hit in (before, after):
        if hit is None:
            continue
        w = hit.group(1)
        if _ORDINAL_FR.match(w) or _ar_ordinal(w) is not None:
            return True
        if m.kind != "word" and _last_scale(w) == 1:
            continue  # after digits only a scale word continues the number ("18,4 cents")
        if hit is before and hit.group(2) and _word_value(w) is not None and not _joins(
                _word_value(w)[0], _first_value(m), hit.group(2) == "و"):
            continue  # "entre deux et quatorze": two numbers that cannot compose, a range
        if w.lower() not in ("et", "and", "un", "une", "one") and _word_value(w) is not None \
                and not hit.group(0).startswith((" et ", " and ")):
            if m.kind == "word" or _word_value(w)[0] < 1000:
                return True
    if m.kind == "word" and _SCALE_ACROSS.match(text[m.end:m.end + 40]):
        return True  # "Six autres millions": the scale is one word away
    return bool(_HALF_AFTER.match(text[m.end:m.end + 20]))


def _first_value(m: NumberMention) -> int:
    """The value of a mention's first word ("quatorze" 14, "vingt-cinq" 20), or its value."""
    words = _WORD.findall(m.text) if m.kind == "word" else []
    info = _word_value(words[0]) if words else None
    return info[0] if info else int(m.value) if m.value == m.value.to_integral_value() else 0


_SCALE_ACROSS = re.compile(r"^[ \u00A0]+[^\W\d_]+[ \u00A0]+(?:millions?|milliards?|mille|thousand|"
                           r"million|billion|مليون|مليار|ألف|آلاف|ملايين)(?![^\W\d_])", re.I)


def format_value(value: Decimal, group: bool = True) -> str:
    """A value in English notation: "." decimal, "," thousands (when `group`).

    >>> format_value(Decimal("30000")), format_value(Decimal("2.50")), format_value(Decimal("1234.5"))
    ('30,000', '2.50', '1,234.5')
    >>> format_value(Decimal("2500000.0")), format_value(Decimal("2017"), group=False)
    ('2,500,000', '2017')
    """
    if value == value.to_integral_value() and value.as_tuple().exponent < 0:
        # 2.5 * 10**6 reads 2500000.0: the ".0" is an artefact of the multiplication.
        if value.normalize().as_tuple().exponent >= 0:
            value = value.quantize(Decimal(1))
    sign, body = ("-", -value) if value < 0 else ("", value)
    text = format(body, "f")
    head, _, tail = text.partition(".")
    if group:
        head = f"{int(head):,}"
    return sign + head + ("." + tail if tail else "")


def _ordinal_suffix(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def to_english(mention: NumberMention) -> str:
    """The English way to write a mention's number.

    >>> [to_english(m) for m in find_numbers("30 000 ; 2,5 ; 1er ; 15 %", "fr")]
    ['30,000', '2.5', '1st', '15%']
    >>> [to_english(m) for m in find_numbers("٣٠ و ٣٫٥ و ٢٠١٧ و ١٥٠٠٠", "ar")]
    ['30', '3.5', '2017', '15,000']
    >>> [to_english(m) for m in find_numbers("2,5 millions, trois mille", "fr")]
    ['2.5 million', '3,000']
    """
    value = mention.value
    if mention.kind == "code":
        return re.sub("[\u00A0\u202F\u2009]", " ", ascii_digits(mention.text))
    if mention.kind == "percent":
        return format_value(value, group=value >= 10000) + "%"
    if mention.kind == "ordinal":
        return f"{int(value)}{_ordinal_suffix(int(value))}"
    if mention.kind == "year":
        return str(int(value))
    if mention.kind == "word":
        for scale, name in ((10**12, "trillion"), (10**9, "billion"), (10**6, "million")):
            if value >= scale:
                head = (value / scale).normalize()
                if head.as_tuple().exponent >= -3:
                    return f"{format_value(head)} {name}"
        return format_value(value)
    digits = ascii_digits(mention.text)
    grouped = bool(re.search(r"\d[,.\s\u00A0\u202F\u2009\u066C]\d{3}(?!\d)", digits)) and (
        value == value.to_integral_value() or value >= 1000)
    return format_value(value, group=grouped or abs(value) >= 10000)


def strip_accents(text: str) -> str:
    """Accent-free lower case, for matching context words ("blessés" ~ "blesses").

    >>> strip_accents("Blessés")
    'blesses'
    """
    return "".join(c for c in unicodedata.normalize("NFD", text.lower())
                   if not unicodedata.combining(c))
