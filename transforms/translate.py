"""Translation with CTranslate2 (issue 6 fills this)."""

from __future__ import annotations

from transforms.stage import Stage as _Base


class Stage(_Base):
    name = "translate"
