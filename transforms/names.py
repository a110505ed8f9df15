"""One spelling per person in an article: "Yoav Galant" ... "Gallant" becomes one form.

Owns: finding near-identical spellings of the same surname inside one article and choosing the
form to keep. Machine translation often spells a transliterated name two ways in one article;
a reader (and a search index) then sees two people.

When two spellings are treated as the same name (all must hold):
- they are near-identical: equal after collapsing doubled letters ("Galant"/"Gallant"), or the
  same length (5+ letters) with one letter substituted ("Hagari"/"Hagary");
- they are in the same role: at least one of them is the surname of a full-name mention
  ("Yoav Galant"), and neither appears after a different given name (so "Jane Smyth" and
  "John Smith" stay two people);
- one is not the other plus a suffix ("Israel"/"Israeli" are not variants: that is no
  substitution and no doubled letter).

Which form is kept, in this order:
1. the gazetteer (an optional file, one canonical name per line, "Yoav Gallant"): a form it
   lists wins;
2. the form written in a full-name mention, when only one of the forms is;
3. the majority of mentions in the article;
4. otherwise nothing is changed (a tie is not guessed).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

_CAP = r"[A-Z][a-z]+(?:['\-][A-Z]?[a-z]+)*"
_CAP_WORD = re.compile(r"(?<![\w'])" + _CAP + r"(?![\w])")
# A full name: a capitalised given name, one space, a capitalised surname.
_FULL_NAME = re.compile(r"(?<![\w'])(?=(" + _CAP + r") (" + _CAP + r")(?![\w]))")  # overlapping
# Words that start sentences or are titles, never given names.
_NOT_GIVEN = {"The", "A", "An", "In", "On", "At", "For", "And", "But", "Minister", "President",
              "Secretary", "Spokesman", "Coordinator", "General", "Prime", "Foreign", "Defense",
              "Defence", "Army", "Israeli", "Palestinian", "American", "US", "Mr", "Mrs", "Ms",
              "Dr", "Sheikh", "King", "Prince", "Emir", "Chief", "Said", "Meanwhile"}
_MIN_LEN = 5  # shorter words are too often different words one letter apart (Hamas/Hamad ok, Gaza/Gala no)


@dataclass(frozen=True)
class NameChoice:
    variant: str  # the spelling to replace
    canonical: str  # the spelling to keep
    rule: str  # "gazetteer", "full_name", "majority"
    evidence: str  # what the choice rests on, for the repair log


def _collapse(word: str) -> str:
    """Doubled letters made single: "Gallant" -> "galant".

    >>> _collapse("Gallant") == _collapse("Galant")
    True
    """
    return re.sub(r"(.)\1+", r"\1", word.lower())


def near_identical(a: str, b: str) -> bool:
    """Two surname spellings that differ by a doubled letter or one substituted letter.

    >>> near_identical("Galant", "Gallant"), near_identical("Hagari", "Hagary")
    (True, True)
    >>> near_identical("Israel", "Israeli"), near_identical("Gaza", "Gala"), near_identical("Hamas", "Hamas")
    (False, False, False)
    """
    if a == b or min(len(a), len(b)) < _MIN_LEN or a[0].lower() != b[0].lower():
        return False
    if _collapse(a) == _collapse(b):
        return True
    return len(a) == len(b) and sum(x != y for x, y in zip(a.lower(), b.lower())) == 1


def load_gazetteer(path: str | None) -> frozenset[str]:
    """Surnames (last word of each line) from an optional gazetteer file; '#' starts a comment."""
    if not path:
        return frozenset()
    names = set()
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(line.split()[-1])
    return frozenset(names)


def choose_spellings(texts: Sequence[str], gazetteer: Iterable[str] = ()) -> list[NameChoice]:
    """The variants to replace in an article (title and body given as `texts`).

    >>> [(c.variant, c.canonical, c.rule) for c in choose_spellings(
    ...     ["Minister Yoav Galant met him.", "Gallant said Yoav Galant was right."])]
    [('Gallant', 'Galant', 'full_name')]
    >>> [(c.variant, c.canonical, c.rule) for c in choose_spellings(
    ...     ["Minister Yoav Galant met him.", "Gallant said no."], {"Gallant"})]
    [('Galant', 'Gallant', 'gazetteer')]
    >>> choose_spellings(["John Smith met Jane Smyth."]), choose_spellings(["Galileo Galilei; Galileo"])
    ([], [])
    """
    gaz = set(gazetteer)
    counts: Counter[str] = Counter()
    given: dict[str, set[str]] = {}
    for text in texts:
        for m in _CAP_WORD.finditer(text):
            counts[m.group()] += 1
        for m in _FULL_NAME.finditer(text):
            if m.group(1) not in _NOT_GIVEN:
                given.setdefault(m.group(2), set()).add(m.group(1))
    used_as_given = {g for gs in given.values() for g in gs}
    words = sorted(counts)
    choices: list[NameChoice] = []
    seen: set[str] = set()
    for i, a in enumerate(words):
        for b in words[i + 1:]:
            if a in seen or b in seen or not near_identical(a, b):
                continue
            if a not in given and b not in given:
                continue  # neither is a person's surname: not the same role
            ga, gb = given.get(a, set()), given.get(b, set())
            if ga and gb and not ga & gb:
                continue  # two people with different given names
            if a in gb or b in ga or a in used_as_given or b in used_as_given:
                continue  # "Galileo Galilei": a given name is not a surname variant
            choice = _pick(a, b, counts, given, gaz)
            if choice:
                choices.append(choice)
                seen.add(choice.variant)
    return choices


def _pick(a: str, b: str, counts: Counter, given: dict, gaz: set) -> NameChoice | None:
    in_gaz = [w for w in (a, b) if w in gaz]
    if len(in_gaz) == 1:
        keep = in_gaz[0]
        return NameChoice(b if keep == a else a, keep, "gazetteer", f"gazetteer lists {keep!r}")
    full = [w for w in (a, b) if w in given]
    if len(full) == 1:
        keep = full[0]
        first = sorted(given[keep])[0]
        return NameChoice(b if keep == a else a, keep, "full_name",
                          f"full-name mention {first + ' ' + keep!r}")
    if counts[a] != counts[b]:
        keep, drop = (a, b) if counts[a] > counts[b] else (b, a)
        return NameChoice(drop, keep, "majority",
                          f"{keep!r} x{counts[keep]} vs {drop!r} x{counts[drop]}")
    return None


def name_edits(text: str, choices: Sequence[NameChoice]) -> list[tuple[int, int, str, NameChoice]]:
    """(start, end, replacement, choice) for every mention of a variant in `text`, in order.

    >>> name_edits("Gallant, not Gallantry.", [NameChoice("Gallant", "Galant", "majority", "")])[0][:3]
    (0, 7, 'Galant')
    """
    by_variant = {c.variant: c for c in choices}
    edits = []
    for m in _CAP_WORD.finditer(text):
        choice = by_variant.get(m.group())
        if choice:
            edits.append((m.start(), m.end(), choice.canonical, choice))
    return edits
