"""The repair log as replayable span edits (the idea of ftfy's fix_and_explain / apply_plan).

Owns: the one way a change to `title` or `body` is recorded. A step says: in field F, the text
between `start` and `end` (offsets into F as it was just before this step) was `before` and
became `after`. Replaying the steps in order on the input text gives the output text, which the
tests check over the golden cases and every stage that edits text.
"""

from __future__ import annotations

import difflib
import re
from typing import Iterable, Sequence


class ReplayError(ValueError):
    """A step does not fit the text it is applied to."""


def make_step(stage: str, fixer: str, kind: str, field: str, text: str, start: int, end: int,
              replacement: str, evidence: str = "", method: str = "rule",
              confidence: float = 1.0) -> dict:
    """A log step replacing text[start:end] by `replacement`.

    >>> s = make_step("normalize", "fix", "spaces", "body", "a  b", 1, 3, " ")
    >>> (s["start"], s["end"], s["before"], s["after"])
    (1, 3, '  ', ' ')
    """
    return {
        "stage": stage, "kind": kind, "fixer": fixer, "field": field,
        "start": start, "end": end, "before": text[start:end], "after": replacement,
        "evidence": evidence, "method": method, "confidence": confidence,
    }


def apply_step(text: str, step: dict) -> str:
    """Apply one step, checking that the text it replaces is what the step says.

    >>> apply_step("a-b", {"start": 1, "end": 2, "before": "-", "after": "+"})
    'a+b'
    """
    start, end = int(step["start"]), int(step["end"])
    if text[start:end] != step["before"]:
        raise ReplayError(f"step {step.get('fixer')!r} expects {step['before']!r} at "
                          f"{start}:{end}, found {text[start:end]!r}")
    return text[:start] + step["after"] + text[end:]


def replay(text: str, steps: Iterable[dict]) -> str:
    """Apply steps in order.

    >>> replay("x  y", [{"start": 1, "end": 3, "before": "  ", "after": " "}])
    'x y'
    """
    for step in steps:
        text = apply_step(text, step)
    return text


def replay_article_field(article_or_record: dict, field: str, input_text: str) -> str:
    """Replay the logged steps of one field ("title" or "body") on its input text."""
    return replay(input_text, (s for s in article_or_record.get("repairs", [])
                               if s.get("field") == field))


def apply_edits(stage: str, fixer: str, kind: str, field: str, text: str,
                edits: Sequence[tuple], evidence: str = "",
                method: str = "rule", confidence: float = 1.0) -> tuple[str, list[dict]]:
    """Apply non-overlapping edits (start, end, replacement[, evidence or meta]), given on the
    original text, left to right; returns the new text and one step per edit with shifted
    offsets. An edit's own evidence, when given, replaces the common `evidence`; a dict in that
    place overrides any of fixer, kind, evidence, method and confidence for that edit.

    >>> t, steps = apply_edits("s", "f", "k", "body", "a  b  c", [(1, 3, " "), (4, 6, " ", "x")])
    >>> t, [(s["start"], s["end"], s["evidence"]) for s in steps]
    ('a b c', [(1, 3, ''), (3, 5, 'x')])
    >>> _, [s] = apply_edits("s", "f", "k", "body", "ab", [(0, 1, "A", {"kind": "up"})])
    >>> s["kind"], s["fixer"]
    ('up', 'f')
    """
    # Linear in the text: edits do not overlap, so the text a step replaces (at its shifted
    # offset in the text as it is by then) is the same slice of the original text.
    steps: list[dict] = []
    pieces: list[str] = []
    shift = 0
    last_end = 0
    for edit in sorted(edits, key=lambda e: (e[0], e[1])):
        start, end, replacement = edit[:3]
        if start < last_end or text[start:end] == replacement:
            continue  # overlapping (the earlier edit wins) or no change
        meta = {"fixer": fixer, "kind": kind, "evidence": evidence, "method": method,
                "confidence": confidence}
        if len(edit) > 3:
            meta.update(edit[3] if isinstance(edit[3], dict) else {"evidence": edit[3]})
        step = make_step(stage, meta["fixer"], meta["kind"], field, text, start, end,
                         replacement, meta["evidence"], meta["method"], meta["confidence"])
        step["start"], step["end"] = start + shift, end + shift
        steps.append(step)
        pieces.append(text[last_end:start])
        pieces.append(replacement)
        shift += len(replacement) - (end - start)
        last_end = end
    pieces.append(text[last_end:])
    return "".join(pieces), steps


def diff_steps(stage: str, fixer: str, kind: str, field: str, before: str, after: str,
               method: str = "rule") -> list[dict]:
    """Steps that turn `before` into `after`, for fixers that are not span-based (ftfy).

    >>> [ (s["before"], s["after"]) for s in diff_steps("s", "f", "k", "t", "cafÃ© ok", "café ok")]
    [('Ã©', 'é')]
    """
    if before == after:
        return []
    out, steps = apply_edits(stage, fixer, kind, field, before, diff_edits(before, after),
                             method=method)
    if out != after:  # cannot happen with difflib opcodes; keep the log honest if it does
        steps = [make_step(stage, fixer, kind, field, before, 0, len(before), after,
                           method=method)]
    return steps


def diff_edits(before: str, after: str, offset: int = 0) -> list[tuple[int, int, str]]:
    r"""The (start, end, replacement) edits on `before` (shifted by `offset`) giving `after`.

    Lines first, then characters inside the changed lines only: a character-level
    SequenceMatcher over a whole body is quadratic, and on the benchmark drop 27 of 2,000
    bodies (2-3 KB, changed by ftfy) took 2.0 of the normalise stage's 3.0 s that way
    (74 ms each); line by line the same edits cost well under a millisecond.

    >>> diff_edits("cafÃ©", "café", 10)
    [(13, 15, 'é')]
    >>> diff_edits("a\nx  y\nb\n", "a\nx y\nb\n")
    [(4, 5, '')]
    >>> diff_edits("one\ntwo\n", "one\n2\nthree\n")
    [(4, 4, '2\n'), (5, 7, 'hree')]
    """
    if before == after:
        return []
    b_lines = before.splitlines(keepends=True)
    a_lines = after.splitlines(keepends=True)
    if len(b_lines) <= 1 and len(a_lines) <= 1:
        return _char_edits(before, after, offset)
    b_starts = [0]
    for line in b_lines:
        b_starts.append(b_starts[-1] + len(line))
    edits = []
    matcher = difflib.SequenceMatcher(None, b_lines, a_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            edits += _char_edits("".join(b_lines[i1:i2]), "".join(a_lines[j1:j2]),
                                 offset + b_starts[i1])
    return edits


def _char_edits(before: str, after: str, offset: int) -> list[tuple[int, int, str]]:
    """Character edits, on the part between the common prefix and suffix, and through word
    tokens first when that part is long (a paragraph is one line)."""
    head = _common_prefix(before, after)
    tail = _common_prefix(before[head:][::-1], after[head:][::-1])
    before, after = before[head:len(before) - tail], after[head:len(after) - tail]
    offset += head
    if len(before) + len(after) <= 2 * _CHAR_DIFF_MAX:
        return _sequence_edits(before, after, offset)
    b_tokens, a_tokens = _TOKEN.findall(before), _TOKEN.findall(after)
    b_starts = [0]
    for token in b_tokens:
        b_starts.append(b_starts[-1] + len(token))
    edits = []
    matcher = difflib.SequenceMatcher(None, b_tokens, a_tokens)  # frequent tokens: no anchors
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            edits += _sequence_edits("".join(b_tokens[i1:i2]), "".join(a_tokens[j1:j2]),
                                     offset + b_starts[i1])
    return edits


# Above this many characters a side, changed text is matched word by word before character by
# character (the quadratic part stays on short spans). 200 is about a sentence.
_CHAR_DIFF_MAX = 200
_TOKEN = re.compile(r"\w+|\s+|[^\w\s]", re.S)


def _sequence_edits(before: str, after: str, offset: int) -> list[tuple[int, int, str]]:
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    return [(offset + i1, offset + i2, after[j1:j2])
            for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


def _common_prefix(a: str, b: str) -> int:
    """Length of the common prefix, by bisection on slices (C speed, not a Python loop).

    >>> _common_prefix("abcd", "abxd"), _common_prefix("", "a"), _common_prefix("ab", "ab")
    (2, 0, 2)
    """
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo
