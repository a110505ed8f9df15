"""One sentence's protection and checks around machine translation (no model here).

Owns: number/URL/e-mail placeholders (`protect`, `restore`), the check that every source number
is in the English output (`verify_numbers`), the post-MT checks (`check_output`) and the cut of
a too-long token list (`split_long`). transforms/mt_sentences.py applies them per sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from transforms.numbers import find_numbers, to_english

PLACEHOLDER = "ZQ{}Z"

_PLACEHOLDER_RE = re.compile(r"ZQ(\d+)Z")

# Anything that looks like a placeholder that was damaged in translation ("ZQ 3 Z", "ZQ3").
_PLACEHOLDER_SHAPE = re.compile(r"Z\s*Q\s*\d+|\d+\s*Z\s*Q|ZQ\s*\d")

_URL_RE = re.compile(r"\bhttps?://[^\s<>\"«»]+[^\s<>\"«».,;:!?)\]]|\bwww\.[^\s<>\"«»]+[^\s<>\"«».,;:!?)\]]")

_EMAIL_RE = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")

_LEAKS = re.compile(r"⁇|<unk>|<0x[0-9A-Fa-f]{2}>|</?s>|>>\w+<<|__\w{2,3}__|\b[a-z]{3}_[A-Z][a-z]{3}\b")

# Output/input character-length band for a translation. OPUS-MT ar->en and fr->en outputs in
# shared/eval are 0.8-1.6x the source; outside 0.3-3.0x something was dropped or looped. Short
# sentences (< 20 chars: "Non.", dates) vary too much to judge.
RATIO_BAND = (0.3, 3.0)

RATIO_MIN_CHARS = 20

@dataclass(frozen=True)
class Slot:
    placeholder: str
    source: str
    english: str
    kind: str  # "number", "url", "email"
    value: str = ""

def protect(text: str, lang: str) -> tuple[str, list[Slot]]:
    """Replace URLs, e-mails and numbers by placeholders; return the masked text and the slots.

    >>> masked, slots = protect("Le 14 juillet, 30 000 personnes (2,5 %) : https://a.fr/x.", "fr")
    >>> masked
    'Le ZQ0Z juillet, ZQ1Z personnes (ZQ2Z) : ZQ3Z.'
    >>> [(s.source, s.english) for s in slots]
    [('14', '14'), ('30 000', '30,000'), ('2,5 %', '2.5%'), ('https://a.fr/x', 'https://a.fr/x')]
    >>> protect("قتل ٣٠ شخصا", "ar")[1][0].english
    '30'
    """
    spans: list[tuple[int, int, str, str, str]] = []  # start, end, english, kind, value
    taken: list[tuple[int, int]] = []
    for regex, kind in ((_URL_RE, "url"), (_EMAIL_RE, "email")):
        for m in regex.finditer(text):
            if not any(a < m.end() and m.start() < b for a, b in taken):
                spans.append((m.start(), m.end(), m.group(0), kind, ""))
                taken.append((m.start(), m.end()))
    for m in find_numbers(text, lang):
        if m.kind == "word" or any(a < m.end and m.start < b for a, b in taken):
            continue
        spans.append((m.start, m.end, to_english(m), "number", str(m.value)))
        taken.append((m.start, m.end))
    spans.sort()
    out, slots, last = [], [], 0
    for i, (a, b, english, kind, value) in enumerate(spans):
        ph = PLACEHOLDER.format(i)
        out.append(text[last:a])
        out.append(ph)
        slots.append(Slot(ph, text[a:b], english, kind, value))
        last = b
    out.append(text[last:])
    return "".join(out), slots

def restore(translated: str, slots: Sequence[Slot]) -> tuple[str, list[str]]:
    """Put the English forms back; problems name every placeholder lost, doubled or invented.

    >>> s = [Slot("ZQ0Z", "30 000", "30,000", "number", "30000")]
    >>> restore("ZQ0Z people", s)
    ('30,000 people', [])
    >>> restore("people", s)[1]
    ['placeholder ZQ0Z (30 000) missing']
    >>> restore("ZQ0Z and ZQ7Z", s)[1]
    ['unknown placeholder ZQ7Z', 'damaged placeholder left in output']
    """
    problems: list[str] = []
    by_ph = {s.placeholder: s for s in slots}
    for s in slots:
        n = translated.count(s.placeholder)
        if n == 0:
            problems.append(f"placeholder {s.placeholder} ({s.source}) missing")
        elif n > 1:
            problems.append(f"placeholder {s.placeholder} ({s.source}) repeated {n} times")

    def put(m: re.Match) -> str:
        slot = by_ph.get(m.group(0))
        if slot is None:
            problems.append(f"unknown placeholder {m.group(0)}")
            return m.group(0)
        return slot.english

    out = _PLACEHOLDER_RE.sub(put, translated)
    if _PLACEHOLDER_SHAPE.search(out):
        problems.append("damaged placeholder left in output")
    return out, problems

def source_number_mentions(text: str, lang: str) -> list:
    """The numbers written with digits in a source sentence (number words are the repair
    stage's job: they are not protected, so they are not held to this check)."""
    return [m for m in find_numbers(text, lang) if m.kind != "word"]

def verify_numbers(source: str, lang: str, output: str, mentions: list | None = None) -> list[str]:
    """Every digit number in the source appears in the English output with the same value.

    >>> verify_numbers("30 000 morts, 2,5 %", "fr", "30,000 dead, 2.5%")
    []
    >>> verify_numbers("30 000 morts", "fr", "30 000 dead")
    []
    >>> verify_numbers("30 000 morts", "fr", "30, dead")
    ['number 30 000 (=30000) not found in the output']
    """
    if mentions is None:
        mentions = source_number_mentions(source, lang)
    if not mentions:
        return []
    found = [set(m.values) for m in find_numbers(output, "en")]
    problems = []
    for m in mentions:
        hit = next((i for i, vals in enumerate(found) if set(m.values) & vals), None)
        if hit is None and m.text in output:  # kept in its source form ("30 000"): same value
            continue
        if hit is None:
            problems.append(f"number {m.text} (={m.value}) not found in the output")
        else:
            found.pop(hit)
    return problems

def _latin_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 1.0
    return sum(1 for c in letters if c.isascii() or "\u00c0" <= c <= "\u024f") / len(letters)

def _repetition_loop(tokens: Sequence[str], max_n: int = 4, repeats: int = 4) -> str:
    """An n-gram (n <= 4) repeated `repeats` times in a row, or "" (4x: a list "1, 2, 3, 4"
    legitimately repeats "," 3 times between distinct items, never one n-gram 4x in a row).

    >>> _repetition_loop("the war the war the war the war".split())
    'the war'
    >>> _repetition_loop("a b c d e".split())
    ''
    """
    for n in range(1, max_n + 1):
        for i in range(0, len(tokens) - n * repeats + 1):
            gram = tokens[i:i + n]
            if all(tokens[i + k * n:i + (k + 1) * n] == gram for k in range(1, repeats)):
                return " ".join(gram)
    return ""

def check_output(source: str, output: str, hyp_len: int, max_decoding_length: int,
                 copy_model: bool) -> list[str]:
    """Post-MT checks on one sentence; [] when it passes.

    >>> check_output("Le ministre a parlé hier soir.", "The minister spoke last night.", 6, 256, False)
    []
    >>> check_output("Le ministre a parlé hier soir.", "Le ministre a parlé hier soir.", 6, 256, False)
    ['output is a copy of the source']
    >>> check_output("Le ministre a parlé hier soir à Paris.", "The ⁇ minister", 3, 256, False)
    ['leaked token ⁇']
    >>> check_output("Le ministre a parlé hier soir.", "War war war war war war war", 256, 256, True)
    ['hypothesis cut at max_decoding_length=256', "repetition loop 'war'"]
    """
    problems = []
    if hyp_len >= max_decoding_length:
        problems.append(f"hypothesis cut at max_decoding_length={max_decoding_length}")
    leak = _LEAKS.search(output)
    if leak and not _LEAKS.search(source):
        problems.append(f"leaked token {leak.group(0)}")
    if len(source) >= RATIO_MIN_CHARS:
        ratio = len(output) / len(source)
        if not RATIO_BAND[0] <= ratio <= RATIO_BAND[1]:
            problems.append(f"length ratio {ratio:.2f} outside {RATIO_BAND[0]}-{RATIO_BAND[1]}")
    loop = _repetition_loop(output.split())
    if loop and not _repetition_loop(source.split()):
        problems.append(f"repetition loop {loop!r}")
    if not copy_model:
        if output.strip() == source.strip() and any(c.isalpha() for c in source):
            problems.append("output is a copy of the source")
        if _latin_share(output) < 0.5:
            problems.append("output is not in Latin script")
    return problems

def split_long(pieces: list[str], limit: int) -> list[list[str]]:
    """Cut a token list longer than `limit` into chunks, at word starts (▁) when possible.

    >>> split_long(["▁a", "b", "▁c", "▁d", "e"], 3)
    [['▁a', 'b', '▁c'], ['▁d', 'e']]
    >>> split_long(["▁a", "b", "c", "d"], 2)
    [['▁a', 'b'], ['c', 'd']]
    """
    chunks: list[list[str]] = []
    rest = list(pieces)
    while len(rest) > limit:
        cut = max((i for i in range(1, limit + 1) if rest[i].startswith("▁")), default=limit)
        chunks.append(rest[:cut])
        rest = rest[cut:]
    if rest:
        chunks.append(rest)
    return chunks
