"""The shape every pipeline stage has, with no Beam in it.

A stage is built once from the job config, `setup()` loads what is heavy (models, detectors) once
per worker, and `process(article)` returns the article (changed or not) or raises
`transforms.record.Reject` to dead-letter it with a reason. Stages that work better on many
articles at once (translation) also implement `process_batch`, which returns, per input, either
the article or a Reject instance. pipeline/stages.py adapts any stage to a Beam DoFn.
"""

from __future__ import annotations

from typing import Any, Sequence

from transforms.record import Reject


class Stage:
    """Base class: an identity stage. Subclasses override `process` (and maybe `setup`)."""

    name = "identity"

    def __init__(self, config: Any = None) -> None:
        self.config = config

    def setup(self) -> None:
        """Load heavy resources; called once per worker before any article."""

    def process(self, article: dict) -> dict:
        return article

    def process_batch(self, articles: Sequence[dict]) -> list[dict | Reject]:
        out: list[dict | Reject] = []
        for article in articles:
            try:
                out.append(self.process(article))
            except Reject as rej:
                out.append(rej)
        return out

    def teardown(self) -> None:
        """Release resources; called when the worker is done."""
