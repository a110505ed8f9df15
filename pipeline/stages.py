"""Beam adapters for the stages in transforms/: thin DoFns with counters and dead letters.

Owns: the stage order, building a stage by name, and turning a stage's Reject or unexpected
exception into a dead-letter record on the `dead` output (never a failed job, never a silent
drop). Batch stages are bisected when a batch fails so only the poison record is dead-lettered.
"""

from __future__ import annotations

import importlib
import logging
import time
import traceback
from typing import Any, Iterable, Sequence

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.pvalue import TaggedOutput

from transforms.record import Reject, article_as_raw, dead_letter

DEAD = "dead"
NAMESPACE = "newsnorm"

# The order a record travels (DESIGN.md). Each name is a module in transforms/ with a `Stage`.
STAGE_ORDER = ("normalize", "boilerplate", "language", "translate", "repair", "validate")

log = logging.getLogger("newsnorm")


def build_stage(name: str, config: Any):
    module = importlib.import_module(f"transforms.{name}")
    return module.Stage(config)


def _dead_from(stage: str, article: dict, reason: str, error: str) -> dict:
    return dead_letter(stage, reason, error, article_as_raw(article),
                       article.get("provenance") or {}, article.get("id"))


def error_reason(stage: str) -> str:
    return f"{stage}_error"


def describe_exception(exc: BaseException) -> str:
    """Exception class, message and the innermost frame: enough to find the bug."""
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" at {tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno}" if tb else ""
    return f"{type(exc).__name__}: {exc}{where}"[:2000]


class StageFn(beam.DoFn):
    """One stage, one article at a time."""

    def __init__(self, name: str, config: Any) -> None:
        self.name = name
        self.config = config
        self.stage = None
        self.n_in = Metrics.counter(NAMESPACE, f"{name}_in")
        self.n_out = Metrics.counter(NAMESPACE, f"{name}_out")
        self.n_dead = Metrics.counter(NAMESPACE, f"{name}_dead")
        self.us = Metrics.distribution(NAMESPACE, f"{name}_us")

    def setup(self) -> None:
        self.stage = build_stage(self.name, self.config)
        self.stage.setup()

    def teardown(self) -> None:
        if self.stage is not None:
            self.stage.teardown()

    def process(self, article: dict) -> Iterable[Any]:
        self.n_in.inc()
        start = time.perf_counter()
        try:
            result = self.stage.process(article)
        except Reject as rej:
            self.n_dead.inc()
            yield TaggedOutput(DEAD, _dead_from(self.name, article, rej.reason, rej.detail))
        except Exception as exc:  # noqa: BLE001 - any failure becomes a dead letter
            self.n_dead.inc()
            log.warning("stage %s failed on %s: %s", self.name, article.get("id"), exc)
            yield TaggedOutput(DEAD, _dead_from(self.name, article, error_reason(self.name),
                                                describe_exception(exc)))
        else:
            self.n_out.inc()
            yield result
        finally:
            self.us.update(int((time.perf_counter() - start) * 1e6))


class BatchStageFn(StageFn):
    """A stage that takes a list of articles (after beam.BatchElements).

    When `process_batch` raises, the batch is bisected until the record that fails is found;
    that record is dead-lettered with its error and the rest of the batch goes on.
    """

    def process(self, batch: Sequence[dict]) -> Iterable[Any]:
        batch = list(batch)
        self.n_in.inc(len(batch))
        start = time.perf_counter()
        try:
            yield from self._run(batch)
        finally:
            self.us.update(int((time.perf_counter() - start) * 1e6 / max(1, len(batch))))

    def _run(self, batch: list[dict]) -> Iterable[Any]:
        try:
            results = self.stage.process_batch(batch)
        except Exception as exc:  # noqa: BLE001
            if len(batch) == 1:
                self.n_dead.inc()
                yield TaggedOutput(DEAD, _dead_from(self.name, batch[0], error_reason(self.name),
                                                    describe_exception(exc)))
                return
            mid = len(batch) // 2
            yield from self._run(batch[:mid])
            yield from self._run(batch[mid:])
            return
        for article, result in zip(batch, results):
            if isinstance(result, Reject):
                self.n_dead.inc()
                yield TaggedOutput(DEAD, _dead_from(self.name, article, result.reason,
                                                    result.detail))
            else:
                self.n_out.inc()
                yield result


def apply_stages(articles, config: Any, names: Sequence[str] = STAGE_ORDER):
    """articles -> (cleaned output records, [dead-letter PCollections])."""
    deads = []
    current = articles
    for name in names:
        probe = build_stage(name, config)
        if getattr(probe, "batched", False):
            batched = current | f"Batch {name}" >> beam.BatchElements(
                **getattr(probe, "batch_kwargs", {"min_batch_size": 1, "max_batch_size": 64}))
            outs = batched | name >> beam.ParDo(BatchStageFn(name, config)).with_outputs(
                DEAD, main="main")
        else:
            outs = current | name >> beam.ParDo(StageFn(name, config)).with_outputs(
                DEAD, main="main")
        current = outs.main
        deads.append(outs[DEAD])
    return current, deads
