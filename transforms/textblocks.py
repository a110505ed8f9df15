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
        if text:
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
