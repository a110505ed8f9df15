"""Boilerplate removal in extracted text (issue 4 fills this): widgets, credits, title tags."""

from __future__ import annotations

from transforms.stage import Stage as _Base


class Stage(_Base):
    name = "boilerplate"
