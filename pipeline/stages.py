"""Beam adapters for the stages in transforms/: thin DoFns with counters and dead letters.

Owns: the stage order, building a stage by name, and turning a stage's Reject or unexpected
exception into a dead-letter record on the `dead` output (never a failed job, never a silent
drop). Batch stages are bisected when a batch fails so only the poison record is dead-lettered.
"""

from __future__ import annotations

import copy
import importlib
import logging
import queue
import threading
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


def timeout_reason(stage: str) -> str:
    return f"{stage}_timeout"


class StageTimeout(Exception):
    """A stage call ran over config.stage_timeout_s (per record)."""


def _serve(inbox: "queue.SimpleQueue") -> None:
    while True:
        job = inbox.get()
        if job is None:
            return
        fn, arg, box, done = job
        try:
            box["value"] = fn(arg)
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller as is
            box["error"] = exc
        finally:
            done.set()


class TimeLimit:
    """Run `fn(arg)` in one long-lived daemon thread and wait at most `seconds` for it.

    Why a thread and not SIGALRM: signal handlers only run in the main thread. Checked on Beam
    2.77: FnApiRunner in_memory runs DoFns in the main thread, but multi_processing workers run
    them in a pool thread ("Thread-11", not main), as SDK harnesses on other runners do, so an
    alarm would work in one mode only. One persistent thread per DoFn instance keeps thread
    affinity stable for stages that care (every record of a worker runs in the same thread).

    Honest cost: a pure-Python thread cannot be killed. On a timeout the call is abandoned: its
    thread keeps running (burning CPU, holding its memory and any lock it took, e.g. the
    translator lock, which would then make later records of that worker time out too) until
    the call returns by itself, and a fresh thread serves the next record. The thread is a
    daemon, so a call that never returns does not stop the worker process from exiting at the
    end of the job; it does leak one thread per timed-out record until then.

    >>> TimeLimit(1.0).call(len, "abc")
    3
    >>> TimeLimit(0.05).call(time.sleep, 1)
    Traceback (most recent call last):
    ...
    pipeline.stages.StageTimeout: over 0.05 s
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._inbox: queue.SimpleQueue | None = None
        self._thread: threading.Thread | None = None

    def call(self, fn, arg, scale: int = 1):
        if self.seconds <= 0:
            return fn(arg)
        if self._thread is None or not self._thread.is_alive():
            self._inbox = queue.SimpleQueue()
            self._thread = threading.Thread(target=_serve, args=(self._inbox,), daemon=True,
                                            name="newsnorm-stage")
            self._thread.start()
        box: dict = {}
        done = threading.Event()
        self._inbox.put((fn, arg, box, done))
        limit = self.seconds * scale
        if not done.wait(limit):
            self._inbox.put(None)  # the abandoned thread exits once its call returns
            self._thread = None
            raise StageTimeout(f"over {limit:g} s")
        if "error" in box:
            raise box["error"]
        return box["value"]


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
        self.limit = TimeLimit(float(getattr(self.config, "stage_timeout_s", 0) or 0))

    def teardown(self) -> None:
        if self.stage is not None:
            self.stage.teardown()

    def process(self, article: dict) -> Iterable[Any]:
        self.n_in.inc()
        start = time.perf_counter()
        # A timed-out call may still be changing `article` in its abandoned thread; the dead
        # letter is built from this shallow snapshot instead.
        snapshot = dict(article) if self.limit.seconds > 0 else article
        try:
            result = self.limit.call(self.stage.process, article)
        except Reject as rej:
            self.n_dead.inc()
            yield TaggedOutput(DEAD, _dead_from(self.name, article, rej.reason, rej.detail))
        except StageTimeout as exc:
            self.n_dead.inc()
            log.warning("stage %s timed out on %s", self.name, article.get("id"))
            yield TaggedOutput(DEAD, _dead_from(self.name, snapshot, timeout_reason(self.name),
                                                f"no result {exc} (stage_timeout_s)"))
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
        # The limit is per record, so a batch gets len(batch) times it; a batch over its limit
        # is bisected like a failing one, until the slow record is alone and dead-lettered.
        # Stages change articles in place, so a batch that may be retried in halves runs on a
        # deep copy: the halves start from the untouched records (and an abandoned call keeps
        # changing only its copy).
        work = copy.deepcopy(batch) if len(batch) > 1 else batch
        snapshots = [dict(a) for a in batch] if self.limit.seconds > 0 else batch
        try:
            results = self.limit.call(self.stage.process_batch, work, scale=len(batch))
            if len(results) != len(batch):  # zip() below would silently drop the rest
                raise RuntimeError(f"process_batch returned {len(results)} results for "
                                   f"{len(batch)} records")
        except Exception as exc:  # noqa: BLE001
            if len(batch) == 1:
                self.n_dead.inc()
                timed_out = isinstance(exc, StageTimeout)
                yield TaggedOutput(DEAD, _dead_from(
                    self.name, snapshots[0],
                    timeout_reason(self.name) if timed_out else error_reason(self.name),
                    f"no result {exc} (stage_timeout_s)" if timed_out
                    else describe_exception(exc)))
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
