"""Text normalisation: small pure fixers, each one job, each change logged and replayable.

Owns: mojibake and broken Unicode (ftfy's fix_and_explain, conservatively configured, its plan
kept as the evidence of each step), NFC, control and
zero-width characters, odd spaces, Arabic-script tidying that does not change meaning (tatweel,
presentation forms), and French typography in English text. Each fixer is a plain function
`str -> list of edits` on the current text, registered by name; `FixerConfig` (immutable) says
which run. `fix_text_with_steps` returns the text and the log steps (transforms/replay.py).

Never NFKC on the whole text: it damages "½" and full-width forms;
only Arabic presentation forms are mapped to their base letters.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Callable, NamedTuple

from transforms.replay import apply_edits, diff_edits, diff_steps
from transforms.stage import Stage as _Base

# (start, end, replacement) or (start, end, replacement, evidence), on the current text.
Edit = tuple
STAGE = "normalize"


# ----------------------------------------------------------------------------- fixers


def _ftfy_config():
    """ftfy's encoding repair with everything that changes meaningful characters turned off
    (curly quotes, full-width forms and ligatures stay; no HTML unescaping, no normalisation:
    NFC is its own logged step)."""
    import ftfy

    return ftfy.TextFixerConfig(
        unescape_html=False,
        uncurl_quotes=False,
        fix_character_width=False,
        fix_latin_ligatures=False,
        fix_line_breaks=False,
        normalization=None,
        remove_control_chars=False,
    )


# difflib is quadratic in the worst case; a line longer than this that ftfy changed is logged
# as one whole-line step instead of a character diff. News paragraphs are under 5,000
# characters (shared/eval/news max 6 kB per article), so real text is always diffed finely.
MAX_DIFF_LINE_CHARS = 20_000


def mojibake_edits(text: str) -> list[Edit]:
    """ftfy's `fix_and_explain`, line by line (as ftfy.fix_text does); each change carries
    ftfy's plan as its evidence, so the log says which encoding round trip was undone.

    >>> mojibake_edits("The cafÃ© reopened")
    [(7, 9, 'é', 'ftfy: encode latin-1, decode utf-8')]
    >>> mojibake_edits("« Nous voulons agir vite » and “curly” quotes")
    []
    """
    import ftfy

    config = _ftfy_config()
    edits: list[Edit] = []
    pos = 0
    for line in text.splitlines(keepends=True):
        fixed, plan = ftfy.fix_and_explain(line, config=config)
        if fixed != line:
            evidence = "ftfy: " + ", ".join(f"{step[0]} {step[1]}" for step in plan or [])
            if len(line) > MAX_DIFF_LINE_CHARS:
                edits.append((pos, pos + len(line), fixed, evidence))
            else:
                edits.extend(e + (evidence,) for e in diff_edits(line, fixed, pos))
        pos += len(line)
    return edits


def normalize_nfc(text: str) -> str:
    """>>> normalize_nfc("cafe\\u0301") == "caf\\u00e9"
    True
    """
    return unicodedata.normalize("NFC", text)


# C0/C1 controls except \n and \t; zero-width space, word joiner, BOM, soft hyphen; bidi
# embeddings/overrides/isolates and LRM/RLM/ALM (formatting noise in extracted text). ZWNJ and
# ZWJ (U+200C/U+200D) are kept: they carry meaning in Persian/Urdu and in emoji.
_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u2060\ufeff\u00ad"
                        "\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069\ufff9-\ufffb\ud800-\udfff]")


def remove_invisible(text: str) -> list[Edit]:
    """Controls, zero-width and bidi formatting characters (and lone surrogates).

    >>> remove_invisible("a\\u200bb\\u200fc")
    [(1, 2, ''), (3, 4, '')]
    """
    return [(m.start(), m.end(), "") for m in _INVISIBLE.finditer(text)]


_ODD_SPACE = re.compile("[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\t]+")
_SPACE_RUN = re.compile(r" {2,}")
_TRAILING = re.compile(r" +(?=\n)| +\Z|^ +", re.M)


def normalize_spaces(text: str) -> list[Edit]:
    """Odd spaces (NBSP, narrow NBSP, thin, tab...) to one space; runs of spaces to one; no
    spaces at line ends or starts. Numbers such as "30 000" keep their (now plain) space,
    which transforms/numbers.py still reads as French grouping.

    >>> t = "a\\u00a0b  c \\nd"
    >>> [(s, e, r) for s, e, r in normalize_spaces(t)]
    [(1, 2, ' ')]
    """
    edits = [(m.start(), m.end(), " ") for m in _ODD_SPACE.finditer(text)]
    if edits:
        return edits
    edits = [(m.start(), m.end(), " ") for m in _SPACE_RUN.finditer(text)]
    if edits:
        return edits
    return [(m.start(), m.end(), "") for m in _TRAILING.finditer(text)]


_TATWEEL = re.compile("(?<=[\u0620-\u064a\u066e-\u06d3])\u0640+|\u0640+(?=[\u0620-\u064a\u066e-\u06d3])")


def remove_tatweel(text: str) -> list[Edit]:
    """Tatweel (kashida) is elongation only, between Arabic letters.

    >>> remove_tatweel("الســـلام")
    [(3, 6, '')]
    """
    return [(m.start(), m.end(), "") for m in _TATWEEL.finditer(text)]


_PRESENTATION = re.compile("[\ufb50-\ufdff\ufe70-\ufefe]+")


def arabic_presentation_forms(text: str) -> list[Edit]:
    """Arabic presentation forms (legacy shaping code points) to base letters (NFKC on those
    characters only).

    >>> arabic_presentation_forms("\\ufefb")
    [(0, 1, 'لا')]
    """
    return [(m.start(), m.end(), unicodedata.normalize("NFKC", m.group()))
            for m in _PRESENTATION.finditer(text)]


_FRENCH_PUNCT_SPACE = re.compile(r"(?<=[A-Za-z0-9)\]»\"'’])[ \u00a0\u202f]+(?=[:;!?](?:\s|$))")


def french_punctuation_spacing(text: str) -> list[Edit]:
    """The space French puts before ":;!?" removed (for English text only: see Stage).

    >>> french_punctuation_spacing("Source : Al Jazeera ; more ?")
    [(6, 7, ''), (19, 20, ''), (26, 27, '')]
    """
    return [(m.start(), m.end(), "") for m in _FRENCH_PUNCT_SPACE.finditer(text)]


# Markup in text fields. Feeds and pages are parsed as HTML already; a JSON Lines title or
# body, or a page <title> holding escaped markup, reaches the stages as text that may still
# hold `<script>`, `<img onerror=...>`. Article text is text, so tags are removed on every
# input path, as a logged step. Only names of HTML elements count as tags, so prose such as
# "a < b" or "<3" stays; elements whose content is code go with their content.
_CODE_ELEMENTS = "script|style|noscript|template|iframe|object|embed|svg|math|textarea|xmp"
_HTML_ELEMENTS = (
    "a|abbr|address|applet|area|article|aside|audio|b|base|basefont|bdi|bdo|big|blink|"
    "blockquote|body|br|button|canvas|caption|center|cite|code|col|colgroup|data|datalist|dd|"
    "del|details|dfn|dialog|dir|div|dl|dt|em|embed|fieldset|figcaption|figure|font|footer|form|"
    "frame|frameset|h[1-6]|head|header|hgroup|hr|html|i|iframe|image|img|input|ins|isindex|kbd|"
    "keygen|label|legend|li|link|listing|main|map|mark|marquee|math|menu|meta|meter|nav|"
    "noembed|noframes|noscript|object|ol|optgroup|option|output|p|param|picture|plaintext|pre|"
    "progress|q|rp|rt|ruby|s|samp|script|search|section|select|slot|small|source|span|strike|"
    "strong|style|sub|summary|sup|svg|table|tbody|td|template|textarea|tfoot|th|thead|time|"
    "title|tr|track|tt|u|ul|var|video|wbr|xmp")
_CODE_OPEN = re.compile(rf"<!--|<({_CODE_ELEMENTS})\b[^<>]*>", re.I)
_NOT_CODE = rf"(?!(?:{_CODE_ELEMENTS})\b)(?:{_HTML_ELEMENTS})"
# A tag: bare (<b>, </b>, <br/>), or with at least one name=value attribute. "a<b and c>d"
# (bare words only) is prose, not a tag. [^<>=]* before the "=" keeps the match linear.
_TAGS = re.compile(rf"</?{_NOT_CODE}\s*/?>|<{_NOT_CODE}\s[^<>=]*=[^<>]*>", re.I)
_LONE_CODE_TAG = re.compile(rf"</?(?:{_CODE_ELEMENTS})\b[^<>]*>", re.I)


def _remove_code(text: str) -> str:
    """Comments and code elements with their content, each up to its closing tag; one left
    open is left for _LONE_CODE_TAG. Linear: one search per element removed.

    >>> _remove_code("a<!-- x -->b<SCRIPT type=x>1<2</script >c<style>")
    'a b c<style>'
    >>> _remove_code("<!-- open <script>x</script>")
    '<!-- open  '
    """
    lower = ""
    unclosed: set[str] = set()  # kinds with no closing tag after some point: none later either
    pieces, pos, search = [], 0, 0
    while True:
        m = _CODE_OPEN.search(text, search)
        if m is None:
            break
        search = m.end()
        close = "-->" if m.group(1) is None else "</" + m.group(1).lower()
        if close in unclosed:
            continue
        lower = lower or text.lower()
        end = lower.find(close, m.end())
        end = lower.find(">", end) if end >= 0 else -1
        if end < 0:
            unclosed.add(close)
            continue
        pieces += [text[pos:m.start()], " "]
        pos = search = end + 1
    return "".join(pieces) + text[pos:] if pieces else text
# Block tags end a paragraph: replaced by a paragraph break (the body keeps the paragraphs an
# HTML fragment had; in a title, Stage makes it one space). Other tags that separate words
# ("one<img>two") become a space, which normalize_spaces tidies; the rest are removed
# ("<b>N</b>o" stays one word).
_BLOCK = re.compile(r"</?(?:p|div|br|li|ul|ol|h[1-6]|blockquote|section|article|header|"
                    r"footer|figure|figcaption|table|tr|td|th|hr|dl|dt|dd|pre|title)\b", re.I)
_SEPARATING = re.compile(r"</?(?:img|script|style|noscript|iframe|object|embed|svg|math|"
                         r"textarea|template|xmp|input|button|select|option)\b|<!--", re.I)


def strip_markup(text: str) -> str:
    """HTML tags, comments and code elements (with their content) removed, until none is left
    (removing one can join the halves of another: "<scr<b></b>ipt>").

    >>> strip_markup("Hi <img src=x onerror=alert(1)>there<script>alert(2)</script>.")
    'Hi  there .'
    >>> strip_markup("<p>One <b>bold</b></p><p>Two</p>")
    '\\n\\nOne bold\\n\\n\\n\\nTwo\\n\\n'
    >>> strip_markup("a < b and c > d, <3, x<y")
    'a < b and c > d, <3, x<y'
    >>> strip_markup("<scr<b></b>ipt>evil()</script>ok")
    ' ok'
    """
    def repl(m: re.Match) -> str:
        tag = m.group()
        return "\n\n" if _BLOCK.match(tag) else " " if _SEPARATING.match(tag) else ""

    for _ in range(64):  # each round removes at least one tag; real text needs one or two
        # Code elements with their content first, then other tags (which may join the halves
        # of a code tag), and only then a code tag left without its pair, alone.
        new = _remove_code(text)
        if new == text:
            new = _TAGS.sub(repl, text)
        if new == text:
            new = _LONE_CODE_TAG.sub(repl, text)
        if new == text:
            return text
        text = new
    return text


# Registry: name -> (kind, function). Functions returning str are diffed; others give edits.
FIXERS: dict[str, tuple[str, Callable]] = {
    "fix_mojibake": ("mojibake", mojibake_edits),
    "strip_markup": ("markup", strip_markup),
    "normalize_nfc": ("unicode", normalize_nfc),
    "remove_invisible": ("invisible_char", remove_invisible),
    "remove_tatweel": ("arabic_tatweel", remove_tatweel),
    "arabic_presentation_forms": ("arabic_presentation_form", arabic_presentation_forms),
    "normalize_spaces": ("whitespace", normalize_spaces),
}


class FixerConfig(NamedTuple):
    """Which fixers run, in order (immutable, like ftfy's TextFixerConfig)."""

    fixers: tuple[str, ...] = ("fix_mojibake", "strip_markup", "remove_invisible", "normalize_nfc",
                               "arabic_presentation_forms", "remove_tatweel", "normalize_spaces")


# Each fixer is re-run until it changes nothing (spaces need two passes: odd spaces, then
# runs); 4 passes is more than any input in the tests needs and bounds the work.
MAX_PASSES = 4


def fix_text_with_steps(text: str, field: str, config: FixerConfig = FixerConfig(),
                        stage: str = STAGE) -> tuple[str, list[dict]]:
    """Run the configured fixers; return the fixed text and the replayable steps.

    >>> fixed, steps = fix_text_with_steps("Le  cafÃ©\\u200b ouvre", "title")
    >>> fixed, [s["fixer"] for s in steps]
    ('Le café ouvre', ['fix_mojibake', 'remove_invisible', 'normalize_spaces'])
    """
    steps: list[dict] = []
    for _ in range(MAX_PASSES):
        text, new = _one_pass(text, field, config, stage)
        if not new:
            break
        steps.extend(new)
    return text, steps


def _one_pass(text: str, field: str, config: FixerConfig, stage: str) -> tuple[str, list[dict]]:
    # The chain runs to a fixed point (fix_text_with_steps): removing a control character can
    # create a sequence another fixer acts on (found by the property test: "ß\x08¢").
    steps: list[dict] = []
    for name in config.fixers:
        kind, fn = FIXERS[name]
        for _ in range(MAX_PASSES):
            result = fn(text)
            if isinstance(result, str):
                if result == text:
                    break
                new_steps = diff_steps(stage, name, kind, field, text, result)
                text = result
            else:
                if not result:
                    break
                text, new_steps = apply_edits(stage, name, kind, field, text, result)
                if not new_steps:
                    break
            steps.extend(new_steps)
    return text, steps


def fix_text(text: str, config: FixerConfig = FixerConfig()) -> str:
    """The fixed text only (for callers that do not need the log)."""
    return fix_text_with_steps(text, "text", config)[0]


class NormalizeStage(_Base):
    name = "normalize"

    def process(self, article: dict) -> dict:
        for field in ("title", "body"):
            text, steps = fix_text_with_steps(article[field], field)
            if field == "title" and "\n" in text:
                # A title is one line: line breaks (from block tags strip_markup removed)
                # become one space.
                one_line = one_line_title(text)
                from transforms.replay import diff_steps as _diff

                steps += _diff(STAGE, "title_one_line", "whitespace", field, text, one_line)
                text = one_line
            if field == "body":
                from transforms.record import canonical_body

                canon = canonical_body(text)
                if canon != text:
                    from transforms.replay import diff_steps as _diff

                    steps += _diff(STAGE, "paragraph_breaks", "whitespace", field, text, canon)
                    text = canon
            article[field] = text
            article["repairs"].extend(steps)
        for field in ("original_title", "original_body"):
            # The source-language original is evidence for repair: tidy it the same way, but
            # it is not output text, so its changes are not part of the replay log.
            article[field] = fix_text(article.get(field) or "")
        article["original_title"] = one_line_title(article["original_title"])
        return article


_LINE_BREAKS = re.compile(r"[ \t]*(?:\r\n|\n|\r)+[ \t]*")


def one_line_title(text: str) -> str:
    """>>> one_line_title("\\n\\nFloods \\n\\n recede\\n")
    'Floods recede'
    """
    return _LINE_BREAKS.sub(" ", text).strip(" ")
