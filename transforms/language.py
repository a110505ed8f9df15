"""Language detection and routing (issue 5 fills this)."""

from __future__ import annotations

from transforms.stage import Stage as _Base


class Stage(_Base):
    name = "language"

    def process(self, article: dict) -> dict:
        # Until detection exists, trust the declared language; route nothing to translation.
        article["source_lang"] = article.get("lang") or "und"
        article["route"] = "english" if article["source_lang"] == "en" else "undetected"
        return article
