"""Text normalisation (issue 4 fills this): ftfy, NFC, control and zero-width characters."""

from __future__ import annotations

from transforms.stage import Stage as _Base


class Stage(_Base):
    name = "normalize"
