"""Repair of corrupted tokens in machine-translated text (issue 7 fills this)."""

from __future__ import annotations

from transforms.stage import Stage as _Base


class Stage(_Base):
    name = "repair"
