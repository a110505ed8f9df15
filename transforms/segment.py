"""Sentence splitting that keeps a paragraph exactly: spans, not copies.

Owns: `sentence_spans(paragraph)` -> [(start, end)], the sentences of one paragraph. The text
between spans (the spaces after a full stop) is kept as it is, so a paragraph rebuilt from its
translated sentences keeps its own separators and paragraphs never merge or split.

A boundary is a run of . ! ? … ؟ (optionally closed by quotes/brackets) followed by white space
and a character that is not a lower-case Latin letter, except after a known abbreviation
("M.", "Dr.", "Mme.") or a single capital initial ("J. Smith").
"""

from __future__ import annotations

import re

# Abbreviations that end with a full stop inside French and English news sentences.
_ABBREV = {"m", "mm", "mme", "mmes", "mlle", "dr", "pr", "me", "st", "ste", "mr", "mrs", "ms",
           "gen", "gén", "col", "lt", "sgt", "gov", "sen", "rep", "jr", "sr", "no", "vs", "etc",
           "av", "bd", "p", "pp", "art", "cf", "env", "inc", "ltd", "co", "corp", "u.s", "e.g",
           "i.e", "jan", "feb", "fév", "mar", "apr", "avr", "aug", "sept", "sep", "oct", "nov",
           "dec", "déc"}
_BOUNDARY = re.compile(r"[.!?…؟]+[\"'»”’)\]]*(?=(\s+)(\S))")


def sentence_spans(paragraph: str) -> list[tuple[int, int]]:
    """Sentence (start, end) offsets; text outside the spans is white space only.

    >>> p = "M. Dupont a parlé. Le vote a lieu le 3.5 mars! «Non ?» dit-il. 2 morts."
    >>> [p[a:b] for a, b in sentence_spans(p)]
    ['M. Dupont a parlé.', 'Le vote a lieu le 3.5 mars!', '«Non ?» dit-il.', '2 morts.']
    >>> q = "قال الوزير. هل يعود؟ نعم"
    >>> [q[a:b] for a, b in sentence_spans(q)]
    ['قال الوزير.', 'هل يعود؟', 'نعم']
    >>> sentence_spans("  ")
    []
    """
    spans: list[tuple[int, int]] = []
    start = len(paragraph) - len(paragraph.lstrip())
    for m in _BOUNDARY.finditer(paragraph):
        end = m.end()
        nxt = m.group(2)
        if nxt.islower() and nxt.isascii():
            continue
        word = re.search(r"([\w.]+)[.!?…؟]*[\"'»”’)\]]*$", paragraph[start:end])
        token = word.group(1).rstrip(".").lower() if word else ""
        if paragraph[m.start()] == "." and (token in _ABBREV
                                            or (len(token) == 1 and token.isalpha())):
            continue
        if end > start:
            spans.append((start, end))
        start = end + len(m.group(1))
    tail = paragraph[start:].rstrip()
    if tail:
        spans.append((start, start + len(tail)))
    return spans


def rebuild(paragraph: str, spans: list[tuple[int, int]], sentences: list[str]) -> str:
    """Put new sentence texts in place of the spans, keeping everything between them.

    >>> p = "Un.  Deux!"
    >>> rebuild(p, sentence_spans(p), ["One.", "Two!"])
    'One.  Two!'
    """
    out, last = [], 0
    for (a, b), text in zip(spans, sentences):
        out.append(paragraph[last:a])
        out.append(text)
        last = b
    out.append(paragraph[last:])
    return "".join(out)
