"""Table tests of transforms/numbers.py: reading numbers in ar/fr/en text and writing them in English."""

from __future__ import annotations

import doctest
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transforms import numbers
from transforms.numbers import find_numbers, to_english

# (text, lang, [(mention text, value, kind, English form)])
CASES = [
    ("more than 30,000 dead", "en", [("30,000", "30000", "int", "30,000")]),
    ("30 000 morts", "fr", [("30 000", "30000", "int", "30,000")]),
    ("30\u00a0000 morts", "fr", [("30\u00a0000", "30000", "int", "30,000")]),
    ("30\u202f000 morts", "fr", [("30\u202f000", "30000", "int", "30,000")]),
    ("un taux de 2,5 %", "fr", [("2,5 %", "2.5", "percent", "2.5%")]),
    ("1 234,5 euros", "fr", [("1 234,5", "1234.5", "decimal", "1,234.5")]),
    ("2,5 millions de personnes", "fr", [("2,5 millions", "2500000", "word", "2.5 million")]),
    ("trois milliards", "fr", [("trois milliards", "3000000000", "word", "3 billion")]),
    ("quatre-vingt-dix blessés", "fr", [("quatre-vingt-dix", "90", "word", "90")]),
    ("le 1er décembre", "fr", [("1er", "1", "ordinal", "1st")]),
    ("٣٠ شهيدا", "ar", [("٣٠", "30", "int", "30")]),
    ("٣٫٥ مليون", "ar", [("٣٫٥ مليون", "3500000", "word", "3.5 million")]),
    ("٣٠٬٠٠٠ قتيل", "ar", [("٣٠٬٠٠٠", "30000", "int", "30,000")]),
    ("نسبة ١٢٪", "ar", [("١٢٪", "12", "percent", "12%")]),
    ("۱۴۰۲ و ۲۵", "", [("۱۴۰۲", "1402", "int", "1402"), ("۲۵", "25", "int", "25")]),
    ("و٣ آلاف جريح", "ar", [("٣ آلاف", "3000", "word", "3,000")]),
    ("خمسة وعشرون", "ar", [("خمسة وعشرون", "25", "word", "25")]),
    ("ثلاثمئة شخص", "ar", [("ثلاثمئة", "300", "word", "300")]),
    ("في عام 2017", "ar", [("2017", "2017", "year", "2017")]),
    ("twenty-five people in 1,234,567.89", "en",
     [("twenty-five", "25", "word", "25"), ("1,234,567.89", "1234567.89", "decimal",
                                            "1,234,567.89")]),
    ("the 21st century", "en", [("21st", "21", "ordinal", "21st")]),
    ("15000 soldats", "fr", [("15000", "15000", "int", "15,000")]),
    ("dépenser 330 M$ en", "fr", [("330 M$", "330000000", "word", "330 million")]),
    ("more than £2m and the 100m sprint", "en",
     [("2m", "2000000", "word", "2 million"), ("100", "100", "int", "100")]),
    ("seven thousand million", "en",
     [("seven thousand million", "7000000000", "word", "7 billion")]),
    ("daté du 4 juillet 1776", "fr", [("4", "4", "int", "4"), ("1776", "1776", "year", "1776")]),
    ("الولايات الثلاث عشرة", "ar", [("الثلاث عشرة", "13", "word", "13")]),
    ("dix-neuf et quatre-vingt-dix-neuf", "fr",
     [("dix-neuf", "19", "word", "19"), ("quatre-vingt-dix-neuf", "99", "word", "99")]),
]

# Text where no number must be found: pronouns, articles, plural amounts, digits in names.
NO_NUMBERS = [
    ("one of them", "en"),
    ("un homme et une femme", "fr"),
    ("thousands of people", "en"),
    ("des millions de personnes", "fr"),
    ("آلاف الأشخاص", "ar"),
    ("ملايين الدولارات", "ar"),
    ("the A320 jet", "en"),
    ("يوم الأحد ويوم الاثنين", "ar"),  # Sunday, Monday
    ("القرن العشرين", "ar"),  # the 20th century
    ("un T4 neuf.", "fr"),  # "new"
]


@pytest.mark.parametrize("text,lang,expected", CASES)
def test_find_numbers_table(text, lang, expected):
    got = [(m.text, m.value, m.kind, to_english(m)) for m in find_numbers(text, lang)]
    assert got == [(t, Decimal(v), k, e) for t, v, k, e in expected]


@pytest.mark.parametrize("text,lang", NO_NUMBERS)
def test_no_numbers(text, lang):
    assert find_numbers(text, lang) == []


def test_spans_point_into_the_text():
    text = "Au moins 2\u202f500 morts et ٣٠ جريحا, vingt-cinq otages"
    for m in find_numbers(text, "fr"):
        assert text[m.start:m.end] == m.text


def test_english_plain_space_does_not_group():
    # "November 24 100 people" in English is two numbers, not 24,100.
    values = [m.value for m in find_numbers("on November 24 100 people", "en")]
    assert values == [Decimal(24), Decimal(100)]
    values = [m.value for m in find_numbers("le 24 100 personnes", "fr")]
    assert values == [Decimal(24100)]


def test_ambiguous_separator_keeps_other_reading():
    (m,) = find_numbers("2,125 km", "fr")
    assert m.value == Decimal("2.125") and Decimal(2125) in m.alternatives
    (m,) = find_numbers("30,000 morts", "fr")
    assert m.value == Decimal(30000) and Decimal("30.000") in m.alternatives
    (m,) = find_numbers("2.5 km", "fr")
    assert m.value == Decimal("2.5") and m.alternatives == ()


def test_mention_is_frozen():
    (m,) = find_numbers("42", "en")
    with pytest.raises(AttributeError):
        m.value = Decimal(1)  # type: ignore[misc]


def test_doctests():
    result = doctest.testmod(numbers)
    assert result.attempted > 5 and result.failed == 0


# ---- properties: any number written the French, Arabic or English way reads back ------------

_EASTERN = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _group(n: int, sep: str) -> str:
    return f"{n:,}".replace(",", sep)


@given(n=st.integers(min_value=10_000, max_value=10**12),
       sep=st.sampled_from([" ", "\u00a0", "\u202f"]), frac=st.integers(0, 99))
def test_french_grouping_reads_back(n, sep, frac):
    text = f"environ {_group(n, sep)},{frac:02d} euros"
    (m,) = find_numbers(text, "fr")
    assert m.value == Decimal(f"{n}.{frac:02d}")
    assert text[m.start:m.end] == m.text
    (back,) = find_numbers(to_english(m), "en")
    assert back.value == m.value


@given(n=st.integers(min_value=0, max_value=10**9), frac=st.integers(0, 9))
def test_eastern_arabic_digits_read_back(n, frac):
    written = (_group(n, "\u066c") + "\u066b" + str(frac)).translate(_EASTERN)
    (m,) = find_numbers(f"بلغ {written} دولار", "ar")
    assert m.value == Decimal(f"{n}.{frac}")
    (back,) = find_numbers(to_english(m), "en")
    assert back.value == m.value


@given(n=st.integers(min_value=10_000, max_value=10**12))
def test_english_grouping_reads_back(n):
    (m,) = find_numbers(f"more than {n:,} people", "en")
    assert m.value == n and to_english(m) == f"{n:,}"
