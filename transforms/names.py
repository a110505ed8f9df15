"""One spelling per person, changed only with evidence from outside the machine translation.

Owns: finding near-identical spellings of the same person's surname inside one article
("Yoav Galant" ... "Gallant"), deciding from a gazetteer which spelling to keep, and reporting
the spellings no gazetteer decides (`inconsistent_name`, with every mention's span).

Why a gazetteer and nothing else: machine translation often spells a transliterated name two
ways in one article, and the form it writes in the full-name mention or most often is as likely
to be the wrong one ("Yoav Galant" twice, the correct "Gallant" once, in the seed article). A
full-name mention or a majority inside MT text is no evidence of the right spelling.

When two spellings are treated as the same name (all must hold):
- near-identical: equal after collapsing doubled letters ("Galant"/"Gallant"), or the same
  length (5+ letters) with one letter substituted ("Hagari"/"Hagary");
- same role: at least one spelling of the group is the surname of a full-name mention
  ("Yoav Galant"), and no two of them appear after different given names (so "Jane Smyth" and
  "John Smith" stay two people, neither changed nor flagged);
- not a given name: a word used as a given name in the article is no surname variant.
Spellings linked pairwise form one group ("Galant", "Gallant", "Gallent").

What happens to a group:
- changed: the gazetteer supports exactly one spelling of the group. An entry supports
  spelling S when its last word is S and its first word is a given name the article writes
  before one of the group's spellings ("Yoav Gallant" supports "Gallant" for "Yoav Galant");
  a one-word entry ("Gallant") supports S whatever the given name. Every other spelling of the
  group becomes S, and the step's evidence names the gazetteer entry.
- confirmed by the original: when the article carries the source-language text it was
  translated from, an entry whose Arabic or French name (the file's further columns) appears
  there says so in the evidence; of entries supporting two spellings, the one the original
  confirms wins when only one is confirmed (two people of one given name, one in the story).
- flagged, text kept: no entry supports any spelling, or entries support two of them and the
  original does not tell them apart (a tie is not guessed). `inconsistencies` returns the
  spellings and every mention's span.

The gazetteer: a text file, one canonical name per line ("Yoav Gallant"), '#' starts a comment;
a line may carry more tab-separated columns (the built format: name, Wikidata id, Arabic and
French labels): the first is the spelling, the others (but the id) are matched in the original. `load_gazetteer("")` loads the default file
(DEFAULT_GAZETTEER) when it exists; "none" loads nothing. Loading is cached per process.
See docs/names.md for the default file's source and licence.
"""

from __future__ import annotations

import logging
import re
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Mapping, Sequence

log = logging.getLogger("newsnorm.names")

FLAG_INCONSISTENT = "inconsistent_name"
# Built by scripts/build_gazetteer.py; absent until a dataset is built into it (docs/names.md).
DEFAULT_GAZETTEER = Path(__file__).resolve().parent / "data" / "public_figures.tsv"

_CAP = r"[A-Z][a-z]+(?:['\-][A-Z]?[a-z]+)*"
_CAP_WORD = re.compile(r"(?<![\w'])" + _CAP + r"(?![\w])")
# A full name: a capitalised given name, one space, a capitalised surname.
_FULL_NAME = re.compile(r"(?<![\w'])(?=(" + _CAP + r") (" + _CAP + r")(?![\w]))")  # overlapping
# Words that start sentences or are titles, never given names.
_NOT_GIVEN = {"The", "A", "An", "In", "On", "At", "For", "And", "But", "Minister", "President",
              "Secretary", "Spokesman", "Coordinator", "General", "Prime", "Foreign", "Defense",
              "Defence", "Army", "Israeli", "Palestinian", "American", "US", "Mr", "Mrs", "Ms",
              "Dr", "Sheikh", "King", "Prince", "Emir", "Chief", "Said", "Meanwhile"}
# Arabic short vowels, shadda, sukun and tatweel: written or not, the same name.
_AR_MARKS = re.compile("[\u064B-\u0652\u0670\u0640]")
_MIN_LEN = 5  # shorter words are too often different words one letter apart (Hamas/Hamad ok, Gaza/Gala no)


@dataclass(frozen=True)
class Gazetteer:
    """Canonical names indexed by surname: surname -> ((first word or "", entry), ...)."""

    by_surname: Mapping[str, tuple[tuple[str, str], ...]]
    source: str = ""  # file name, for the evidence text
    entries: int = 0
    # entry -> its names in other languages (Arabic, French columns), tab-joined, for the original
    labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def __bool__(self) -> bool:
        return bool(self.by_surname)

    def __contains__(self, surname: object) -> bool:
        return surname in self.by_surname


EMPTY = Gazetteer(MappingProxyType({}))


def parse_gazetteer(lines, source: str = "") -> Gazetteer:
    """A gazetteer from text lines: the first tab-separated column of each non-comment line.

    Further columns other than a Wikidata id are the entry's names in other languages.

    >>> g = parse_gazetteer(["# names", "Yoav Gallant\\tQ723506\\tيوآف غالانت\\t", "Hagari", ""])
    >>> g.by_surname["Gallant"], g.by_surname["Hagari"], g.entries, g.labels["Yoav Gallant"]
    ((('Yoav', 'Yoav Gallant'),), (('', 'Hagari'),), 2, 'يوآف غالانت')
    """
    index: dict[str, list[tuple[str, str]]] = {}
    labels: dict[str, str] = {}  # entry -> tab-joined labels: one string per entry keeps it small
    count = 0
    for line in lines:
        if "#" in line:
            line = line.split("#", 1)[0]
        name, *more = line.rstrip("\r\n").split("\t")
        words = name.split()
        if not words:
            continue
        count += 1
        first = sys.intern(words[0]) if len(words) > 1 else ""
        entry = " ".join(words)
        index.setdefault(sys.intern(words[-1]), []).append((first, entry))
        other = [m for m in map(str.strip, more) if m and not (m[0] == "Q" and m[1:].isdigit())]
        if other:
            old = labels.get(entry, "")
            labels[entry] = "\t".join(dict.fromkeys(([old] if old else []) + other))
    frozen = {k: tuple(sorted(set(v))) if len(v) > 1 else tuple(v) for k, v in index.items()}
    return Gazetteer(MappingProxyType(frozen), source, count, MappingProxyType(labels))


@lru_cache(maxsize=8)
def _load_file(path: str, mtime_ns: int) -> Gazetteer:
    try:
        with open(path, encoding="utf-8") as fh:
            return parse_gazetteer(fh, Path(path).name)
    except UnicodeDecodeError as e:
        raise ValueError(f"name gazetteer {path} is not UTF-8 text: {e}") from None


def load_gazetteer(path: str | None = "") -> Gazetteer:
    """The gazetteer at `path`; "" or None: the default file if it exists; "none": no gazetteer.

    A missing file named explicitly is an error (a typo must not silently disable the evidence).
    Loaded once per process and file version.
    """
    if path and path.strip().lower() == "none":
        return EMPTY
    if not path:
        if not DEFAULT_GAZETTEER.is_file():
            log.info("no default name gazetteer at %s: name spellings are flagged, not changed",
                     DEFAULT_GAZETTEER)
            return EMPTY
        path = str(DEFAULT_GAZETTEER)
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"name gazetteer not found: {path}")
    return _load_file(str(p.resolve()), p.stat().st_mtime_ns)


def _as_gazetteer(gazetteer) -> Gazetteer:
    """Accept a Gazetteer, or any iterable of names (tests, callers with a set of names)."""
    if isinstance(gazetteer, Gazetteer):
        return gazetteer
    return parse_gazetteer(list(gazetteer or ()))


@dataclass(frozen=True)
class NameChoice:
    variant: str  # the spelling to replace
    canonical: str  # the spelling to keep
    rule: str  # "gazetteer" (the only rule that changes text)
    evidence: str  # what the choice rests on, for the repair log: names the gazetteer entry


@dataclass(frozen=True)
class Inconsistency:
    """Spellings of one name that no gazetteer decides: the text is kept and flagged."""

    variants: tuple[str, ...]  # sorted spellings, e.g. ("Galant", "Gallant")
    spans: tuple[tuple[int, int, int, str], ...]  # (text index, start, end, spelling) per mention
    reason: str
    flag: str = field(default=FLAG_INCONSISTENT)

    def log_entry(self, fields: Sequence[str] = ("title", "body")) -> dict:
        """A JSON-ready record: text indexes replaced by field names."""
        return {"kind": self.flag, "variants": list(self.variants), "reason": self.reason,
                "spans": [{"field": fields[i] if i < len(fields) else str(i), "start": s,
                           "end": e, "text": t} for i, s, e, t in self.spans]}


@dataclass(frozen=True)
class NameReview:
    choices: tuple[NameChoice, ...]
    inconsistencies: tuple[Inconsistency, ...]


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


def _groups(texts: Sequence[str]) -> tuple[list[list[str]], dict[str, set[str]],
                                            dict[str, list[tuple[int, int, int, str]]]]:
    """Spelling groups of one name, given names per surname, and every capitalised word's spans."""
    spans: dict[str, list[tuple[int, int, int, str]]] = {}
    given: dict[str, set[str]] = {}
    for i, text in enumerate(texts):
        for m in _CAP_WORD.finditer(text):
            spans.setdefault(m.group(), []).append((i, m.start(), m.end(), m.group()))
        for m in _FULL_NAME.finditer(text):
            if m.group(1) not in _NOT_GIVEN:
                given.setdefault(m.group(2), set()).add(m.group(1))
    used_as_given = {g for gs in given.values() for g in gs}
    # Near-identical spellings linked pairwise; a group counts if one of them is a surname.
    words = sorted(w for w in spans if len(w) >= _MIN_LEN and w not in used_as_given)
    parent = {w: w for w in words}

    def root(w: str) -> str:
        while parent[w] != w:
            parent[w] = parent[parent[w]]
            w = parent[w]
        return w

    for i, a in enumerate(words):
        for b in words[i + 1:]:
            if b[0] != a[0]:
                break  # sorted: no later word shares the first letter
            if near_identical(a, b):
                parent[root(b)] = root(a)
    members: dict[str, list[str]] = {}
    for w in words:
        members.setdefault(root(w), []).append(w)
    groups = []
    for group in members.values():
        if len(group) < 2 or not any(w in given for w in group):
            continue  # one spelling, or no spelling is a person's surname: not the same role
        named = [given[w] for w in group if w in given]
        if any(not (x & y) for j, x in enumerate(named) for y in named[j + 1:]):
            continue  # two people with different given names ("Jane Smyth", "John Smith")
        groups.append(sorted(group))
    return groups, given, spans


def _fold(text: str) -> str:
    return _AR_MARKS.sub("", text).casefold()


def _label_in(labels: Sequence[str], originals: str) -> str:
    """The first label (or its last word, 4+ letters) found in the folded original text.

    >>> _label_in(["يوآف غالانت"], _fold("وقال الوزير غالانت")), _label_in(["Yoav Gallant"], "")
    ('غالانت', '')
    """
    if not originals:
        return ""
    for label in labels:
        folded = _fold(label)
        if folded in originals:
            return label
        last = label.split()[-1]
        # Arabic writes "and", "with", "to" as a prefix letter: "وغالانت" is "and Gallant".
        word = r"(?<!\w)(?:[وفبل]{1,2})?" + re.escape(_fold(last)) + r"(?!\w)"
        if len(last) >= 4 and re.search(word, originals):
            return last
    return ""


def review_names(texts: Sequence[str], gazetteer=EMPTY, originals: Sequence[str] = ()
                 ) -> NameReview:
    """Spelling changes the gazetteer supports, and the spelling groups it does not decide.

    `texts` are the article's fields in a fixed order (the repair stage: [title, body]); spans
    in the inconsistencies use their index. `originals` are the source-language texts the
    article was translated from, when known: an entry whose Arabic or French name appears there
    is confirmed (said in the evidence), and of two entries supporting different spellings, the
    one confirmed by the original wins when only one is.

    >>> seed = ["", "Minister Yoav Galant met him. Gallant said Yoav Galant was right."]
    >>> r = review_names(seed, ["Yoav Gallant"])
    >>> [(c.variant, c.canonical, c.rule) for c in r.choices], r.inconsistencies
    ([('Galant', 'Gallant', 'gazetteer')], ())
    >>> r = review_names(seed)
    >>> r.choices, r.inconsistencies[0].variants
    ((), ('Galant', 'Gallant'))
    >>> r.inconsistencies[0].spans
    ((1, 14, 20, 'Galant'), (1, 30, 37, 'Gallant'), (1, 48, 54, 'Galant'))
    """
    gaz = _as_gazetteer(gazetteer)
    groups, given, spans = _groups(texts)
    source_text = _fold("\n".join(o for o in originals if o)) if gaz.labels else ""
    choices: list[NameChoice] = []
    flagged: list[Inconsistency] = []
    for group in groups:
        first_names = set().union(*(given.get(w, set()) for w in group))
        support: dict[str, list[str]] = {}
        for w in group:
            for first, entry in gaz.by_surname.get(w, ()):
                if not first or first in first_names:
                    support.setdefault(w, []).append(entry)
        found = {e: _label_in(gaz.labels[e].split("\t"), source_text) if e in gaz.labels else ""
                 for entries in support.values() for e in entries}
        if len(support) > 1:
            confirmed = {w: [e for e in es if found[e]] for w, es in support.items()}
            confirmed = {w: es for w, es in confirmed.items() if es}
            if len(confirmed) == 1:
                support = confirmed
        if len(support) == 1:
            (keep, entries), = support.items()
            entry = next((e for e in entries if found[e]), entries[0])
            mention = next((f"{g} {w}" for w in group for g in sorted(given.get(w, ()))), "")
            where = f" ({gaz.source})" if gaz.source else ""
            evidence = f"gazetteer entry {entry!r}{where}"
            if mention:
                evidence += f" for the article's {mention!r}"
            if found[entry]:
                evidence += f"; its name {found[entry]!r} is in the original"
            choices.extend(NameChoice(w, keep, "gazetteer", evidence) for w in group if w != keep)
            continue
        if support:
            reason = "the gazetteer lists " + " and ".join(
                repr(e) for w in sorted(support) for e in support[w][:1])
        elif gaz:
            reason = "no gazetteer entry for any spelling"
        else:
            reason = "no gazetteer loaded"
        mentions = tuple(sorted(s for w in group for s in spans[w]))
        flagged.append(Inconsistency(tuple(group), mentions, reason))
    return NameReview(tuple(choices), tuple(flagged))


def choose_spellings(texts: Sequence[str], gazetteer=EMPTY, originals: Sequence[str] = ()
                     ) -> list[NameChoice]:
    """The spellings to replace in an article (`texts`: title and body); gazetteer-backed only.

    >>> [(c.variant, c.canonical) for c in choose_spellings(
    ...     ["Minister Yoav Galant met him.", "Gallant said no."], ["Yoav Gallant"])]
    [('Galant', 'Gallant')]
    >>> choose_spellings(["Minister Yoav Galant met him.", "Gallant said Yoav Galant was right."])
    []
    >>> choose_spellings(["John Smith met Jane Smyth."], ["John Smith"])
    []
    >>> choose_spellings(["Galileo Galilei; Galileo"])
    []
    """
    return list(review_names(texts, gazetteer, originals).choices)


def inconsistencies(texts: Sequence[str], gazetteer=EMPTY, originals: Sequence[str] = ()
                    ) -> list[Inconsistency]:
    """Spelling groups kept as written and to be flagged `inconsistent_name`.

    >>> [(i.variants, i.reason) for i in inconsistencies(["Yoav Galant. Gallant said."])]
    [(('Galant', 'Gallant'), 'no gazetteer loaded')]
    """
    return list(review_names(texts, gazetteer, originals).inconsistencies)


def name_edits(text: str, choices: Sequence[NameChoice]) -> list[tuple[int, int, str, NameChoice]]:
    """(start, end, replacement, choice) for every mention of a variant in `text`, in order.

    >>> choice = NameChoice("Gallant", "Galant", "gazetteer", "")
    >>> name_edits("Gallant, not Gallantry.", [choice])[0][:3]
    (0, 7, 'Galant')
    """
    by_variant = {c.variant: c for c in choices}
    edits = []
    for m in _CAP_WORD.finditer(text):
        choice = by_variant.get(m.group())
        if choice:
            edits.append((m.start(), m.end(), choice.canonical, choice))
    return edits
