"""Property tests for the fixers: never raise, idempotent, bounded growth, replayable."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transforms import normalize
from transforms.replay import replay

# Text drawn from every plane we meet in news, plus the characters the fixers act on.
SPECIAL = ("\u00a0\u202f\u2009\t\u200b\u200f\u200e\u202b\u2066\ufeff\u00ad\u0640\ufefb\ufe8d"
           "\x00\x07\x9c\ufb50 :;!?«»Ã©â€™\n")
texts = st.text(alphabet=st.one_of(st.characters(blacklist_categories=("Cs",)),
                                   st.sampled_from(list(SPECIAL))), max_size=400)
arabic_mixed = st.text(alphabet=st.sampled_from(list("سلامعليكم ٠١٢٣٤٥٦٧٨٩ abc 123 \u0640\u200f\u200e"
                                                    "\ufefb\u064b\u0651")), max_size=300)

FIXER_NAMES = list(normalize.FIXERS)


@pytest.mark.parametrize("name", FIXER_NAMES)
@given(text=st.one_of(texts, arabic_mixed))
def test_every_fixer_never_raises_and_is_bounded(name, text):
    _, fn = normalize.FIXERS[name]
    result = fn(text)
    if isinstance(result, str):
        # ftfy can expand a mojibake sequence only into fewer characters; NFC composes.
        assert len(result) <= 2 * len(text) + 4
    else:
        for start, end, rep, *evidence in result:
            assert 0 <= start <= end <= len(text) and len(rep) <= 4 * (end - start) + 4


@given(text=st.one_of(texts, arabic_mixed))
def test_fix_text_is_idempotent_and_replayable(text):
    fixed, steps = normalize.fix_text_with_steps(text, "body")
    assert normalize.fix_text(fixed) == fixed
    assert replay(text, steps) == fixed
    assert len(fixed) <= 2 * len(text) + 4


def test_long_lines_and_rtl_marks_do_not_crash():
    line = ("مرحبا \u200f hello \u202e world " * 20000)
    fixed, steps = normalize.fix_text_with_steps(line, "body")
    assert "\u200f" not in fixed and "\u202e" not in fixed and replay(line, steps) == fixed


@pytest.mark.parametrize("before,after", [
    ("The cafÃ© reopened", "The café reopened"),
    ("a\u00a0b", "a b"),
    ("x\u200by", "xy"),
    ("الســـلام", "السلام"),
    ("\ufefb", "لا"),
    ("cafe\u0301", "caf\u00e9"),
    ("½ and ＡＢＣ stay", "½ and ＡＢＣ stay"),   # no NFKC on the whole text
    ("“curly” quotes stay", "“curly” quotes stay"),
    ("persian\u200cZWNJ stays", "persian\u200cZWNJ stays"),
])
def test_fixer_table(before, after):
    assert normalize.fix_text(before) == after


@given(text=st.one_of(texts, arabic_mixed))
def test_french_punctuation_spacing_is_bounded_and_idempotent(text):
    # Not in FIXERS: the boilerplate stage runs it only on English text (see looks_english).
    from transforms.replay import apply_edits

    edits = normalize.french_punctuation_spacing(text)
    assert all(0 <= s <= e <= len(text) and r == "" for s, e, r in edits)
    fixed, steps = apply_edits("boilerplate", "french_punctuation_spacing", "typography", "body",
                               text, edits)
    assert replay(text, steps) == fixed
    assert normalize.french_punctuation_spacing(fixed) == []
