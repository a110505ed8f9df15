"""HTML fragments (feed entry content) to plain paragraphs.

Owns: the block-level split of a small HTML fragment into paragraphs, with scripts, styles and
event handlers gone. Whole pages go through trafilatura instead (transforms/html_page.py).
"""

from __future__ import annotations

import re

from transforms.record import collapse_spaces

_BLOCK_TAGS = {
    "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
    "section", "article", "header", "footer", "table", "tr", "pre", "figure", "figcaption", "hr",
}
_DROP_TAGS = ("script", "style", "noscript", "template", "iframe", "object", "embed", "svg")
# C0 controls are not XML characters: lxml parses them but refuses them when a dropped tag's
# tail is moved (found by tests/test_fuzz_parsers.py). They are carried through the tree as
# supplementary private-use characters and put back, so the normalize stage still sees and
# logs their removal. Tab, LF and CR are XML characters and are left alone.
_C0 = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_C0_STAND_IN = 0xF0000
_STAND_IN = re.compile("[\U000F0000-\U000F001F]")


def html_to_paragraphs(fragment: str) -> list[str]:
    """Paragraph texts of an HTML fragment; plain text passes through split on blank lines.

    >>> html_to_paragraphs("<p>One &amp; two</p><script>alert(1)</script><p>Three<br>four</p>")
    ['One & two', 'Three', 'four']
    >>> html_to_paragraphs("plain text\\n\\nsecond")
    ['plain text', 'second']
    >>> html_to_paragraphs("")
    []
    """
    if not fragment or not fragment.strip():
        return []
    if "<" not in fragment and "&" not in fragment:
        return [p.strip() for p in re.split(r"\n\s*\n", fragment) if p.strip()]
    import lxml.html
    from lxml import etree

    masked = _C0.search(fragment) is not None
    if masked:
        fragment = _C0.sub(lambda m: chr(_C0_STAND_IN + ord(m.group())), fragment)
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return [fragment.strip()]
    for bad in root.iter(*_DROP_TAGS):
        bad.drop_tree() if bad.getparent() is not None else None
    parts: list[str] = []
    current: list[str] = []

    def flush() -> None:
        raw = "".join(current)
        if masked:
            raw = _STAND_IN.sub(lambda m: chr(ord(m.group()) - _C0_STAND_IN), raw)
        text = collapse_spaces(raw)  # ASCII only: U+0085 is left for the logged repair
        # A paragraph of spaces only (NBSP) shows nothing; U+0085 is mojibake for "…".
        if any(not ch.isspace() or ch == "\x85" for ch in text):
            parts.append(text)
        current.clear()

    def walk(el) -> None:  # noqa: ANN001 - lxml element
        if not isinstance(el.tag, str):  # comments, processing instructions
            if el.tail:
                current.append(el.tail)
            return
        block = el.tag.lower() in _BLOCK_TAGS
        if block:
            flush()
        if el.text:
            current.append(el.text)
        for child in el:
            walk(child)
        if block:
            flush()
        if el.tail:
            current.append(el.tail)

    walk(root)
    flush()
    return parts


# ----------------------------------------------------------------------------- body shapes
# Bodies reach the stages in four shapes: paragraphs separated by blank lines (the record's
# own shape), one paragraph per line with no blank line (most scraped Arabic bodies in
# shared/eval/news_real), an HTML fragment whose paragraphs are <p>/<br> blocks, or one run of
# page text. `shape_edits` gives the span edits that turn the first three into blank-line
# paragraphs, so a stage can log them (transforms/replay.py); run-together text stays one
# paragraph and is cut where it is glued (transforms/boilerplate_rules.glued_edges).

_BLOCK_RUN = re.compile(
    r"(?:\s*</?(?:p|div|br|li|ul|ol|h[1-6]|blockquote|section|article|header|footer|figure|"
    r"figcaption|table|tr|td|hr)\b[^<>]{0,400}/?>\s*)+", re.I)
_NEWLINE = re.compile(r"[ \t]*(?<!\n)\n(?!\n)[ \t]*")


def body_shape(body: str) -> str:
    """"html", "paragraphs", "lines" or "run_together".

    >>> body_shape("<p>One</p><p>Two</p>"), body_shape("a\\n\\nb"), body_shape("a\\nb"), body_shape("ab")
    ('html', 'paragraphs', 'lines', 'run_together')
    >>> body_shape("a\\nb\\nc\\n\\nd"), body_shape("a\\nb\\n\\nc\\n\\nd")
    ('lines', 'paragraphs')
    """
    if _BLOCK_RUN.search(body) and re.search(r"<(?:p|br|div|li)\b", body, re.I):
        return "html"
    breaks = body.count("\n\n")
    single = body.count("\n") - 2 * breaks
    if single > breaks:  # mostly single line breaks: scraped text, one paragraph per line
        return "lines"
    if breaks:
        return "paragraphs"
    return "run_together"


def shape_edits(body: str) -> tuple[str, list[tuple[int, int, str]]]:
    """(shape, edits) that make blank-line paragraphs of a body: block tags become paragraph
    breaks (none at the ends); in a body with no blank line each line break becomes one.

    >>> shape_edits("One\\nTwo")
    ('lines', [(3, 4, '\\n\\n')])
    >>> shape_edits("<p>One</p>\\n<p>Two<br>three</p>")
    ('html', [(0, 3, ''), (6, 14, '\\n\\n'), (17, 21, '\\n\\n'), (26, 30, '')])
    >>> shape_edits("a\\n\\nb")
    ('paragraphs', [])
    """
    shape = body_shape(body)
    edits: list[tuple[int, int, str]] = []
    if shape == "html":
        for m in _BLOCK_RUN.finditer(body):
            at_edge = m.start() == 0 or m.end() == len(body)
            edits.append((m.start(), m.end(), "" if at_edge else "\n\n"))
    elif shape == "lines":
        edits = [(m.start(), m.end(), "\n\n") for m in _NEWLINE.finditer(body)]
    return shape, [e for e in edits if body[e[0]:e[1]] != e[2]]
