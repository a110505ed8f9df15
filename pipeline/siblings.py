"""Same-URL siblings: articles of one drop that share a URL in different languages.

Owns the graph step that gives each English article its other-language siblings as number
evidence (read by transforms/evidence.py from `sibling_sources`).
"""

from __future__ import annotations

from typing import Sequence


def attach_siblings(group: Sequence[dict]) -> list[dict]:
    """Articles of one drop that share a URL: each English one gets the others as evidence.

    Only articles whose declared languages differ are siblings (an undeclared language tells
    nothing). The sibling's title and body go to `sibling_sources`, read by the repair stage
    after the record's own original and protected numbers.

    >>> en = {"id": "1", "lang": "en", "title": "t", "body": "30,<> dead"}
    >>> ar = {"id": "2", "lang": "ar", "title": "ع", "body": "30 ألف قتيل"}
    >>> [a.get("sibling_sources", []) for a in attach_siblings([en, ar])][0][0]["id"]
    '2'
    """
    group = sorted(group, key=lambda a: a["id"])
    out = []
    for article in group:
        others = [{"id": o["id"], "lang": o["lang"], "title": o.get("title", ""),
                   "body": o.get("body", "")}
                  for o in group if o is not article and o.get("lang") not in ("", "en", None)]
        if article.get("lang") == "en" and others:
            article = dict(article, sibling_sources=others)  # never change a Beam input
        out.append(article)
    return out

