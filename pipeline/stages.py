"""Beam adapters for the stages in transforms/: thin DoFns with counters and dead letters.

Owns: the stage list and order (STAGES), building a stage by name with its typed config (from the
job options; AdapterConfig for the adapters themselves), and turning a stage's Reject or unexpected
exception into a dead-letter record on the `dead` output (never a failed job, never a silent
drop). Batched stages (translate) run as a Beam ModelHandler under RunInference, loaded once per
worker process; a failing batch is bisected so only the poison record is dead-lettered.
"""

from __future__ import annotations

import copy
import functools
import logging
import queue
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.ml.inference.base import ModelHandler, PredictionResult, RunInference
from apache_beam.pvalue import TaggedOutput

from pipeline.options import JobConfig
from pipeline.outputs import SplitOutputs
from transforms.record import Reject, article_as_raw, dead_letter
from transforms.boilerplate import BoilerplateStage
from transforms.language import LanguageStage
from transforms.normalize import NormalizeStage
from transforms.repair import RepairStage
from transforms.stage import Stage, StageConfig
from transforms.translate import TranslateStage
from transforms.validate import ValidateStage

DEAD = "dead"
NAMESPACE = "newsnorm"

# The stages, in the order a record travels (DESIGN.md). Each is a transforms.stage.Stage
# subclass whose `name` labels its Beam steps, counters and dead-letter reasons.
STAGES = (NormalizeStage, BoilerplateStage, LanguageStage, TranslateStage, RepairStage,
          ValidateStage)
STAGE_ORDER = tuple(cls.name for cls in STAGES)
# name -> class: what a worker builds from the name it was given (tests add stand-ins here).
STAGE_CLASSES = {cls.name: cls for cls in STAGES}

log = logging.getLogger("newsnorm")


@dataclass(frozen=True)
class AdapterConfig(StageConfig):
    """How this module runs any stage (not what the stage does)."""

    stage_timeout_s: float = 0.0  # per record; 0 = no limit
    batch_records: bool = True  # False: each record is its own batch (options.py says why)


def stage_config(name: str, opts: JobConfig) -> StageConfig:
    """The typed config of stage `name`, from the job's options."""
    return STAGE_CLASSES[name].config_type.from_options(opts)


def build_stage(name: str, opts: JobConfig) -> Stage:
    """Stage `name`, built with its typed config from the job's options."""
    return STAGE_CLASSES[name](stage_config(name, opts))


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

    def __init__(self, name: str, config: StageConfig, adapter: AdapterConfig) -> None:
        self.name = name
        self.config = config
        self.adapter = adapter
        self.stage = None
        self.n_in = Metrics.counter(NAMESPACE, f"{name}_in")
        self.n_out = Metrics.counter(NAMESPACE, f"{name}_out")
        self.n_dead = Metrics.counter(NAMESPACE, f"{name}_dead")
        self.us = Metrics.distribution(NAMESPACE, f"{name}_us")

    def setup(self) -> None:
        self.stage = STAGE_CLASSES[self.name](self.config)
        self.stage.setup()
        self.limit = TimeLimit(self.adapter.stage_timeout_s)

    def teardown(self) -> None:
        if self.stage is not None:
            self.stage.teardown()

    def process(self, article: dict, context: Any = None) -> Iterable[Any]:
        self.n_in.inc()
        start = time.perf_counter()
        # A timed-out call may still be changing `article` in its abandoned thread; the dead
        # letter is built from this shallow snapshot instead.
        snapshot = dict(article) if self.limit.seconds > 0 else article
        # A side input (the language stage's per-source distributions) goes to the stage as
        # its `source_langs`.
        call = self.stage.process if context is None else functools.partial(
            self.stage.process, source_langs=context)
        try:
            result = self.limit.call(call, article)
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


def run_isolated(name: str, call, batch: list[dict], limit: "TimeLimit"
                 ) -> Iterable[tuple[bool, dict]]:
    """(dead?, record) for each article of `batch`, in order: `call(batch)` isolated per record.

    When `call` (a stage's process_batch) raises or runs over its time limit, the batch is
    bisected until the record that fails is alone; that record becomes a dead letter with its
    error, the rest go on. The limit is per record, so a batch gets len(batch) times it.
    Stages change articles in place, so a batch that may be retried in halves runs on a deep
    copy: the halves start from the untouched records (and an abandoned call keeps changing
    only its copy).
    """
    work = copy.deepcopy(batch) if len(batch) > 1 else batch
    snapshots = [dict(a) for a in batch] if limit.seconds > 0 else batch
    try:
        results = limit.call(call, work, scale=len(batch))
        if len(results) != len(batch):  # zip() below would silently drop the rest
            raise RuntimeError(f"process_batch returned {len(results)} results for "
                               f"{len(batch)} records")
    except Exception as exc:  # noqa: BLE001
        if len(batch) == 1:
            timed_out = isinstance(exc, StageTimeout)
            yield True, _dead_from(
                name, snapshots[0], timeout_reason(name) if timed_out else error_reason(name),
                f"no result {exc} (stage_timeout_s)" if timed_out else describe_exception(exc))
            return
        mid = len(batch) // 2
        yield from run_isolated(name, call, batch[:mid], limit)
        yield from run_isolated(name, call, batch[mid:], limit)
        return
    for article, result in zip(batch, results):
        if isinstance(result, Reject):
            yield True, _dead_from(name, article, result.reason, result.detail)
        else:
            yield False, result


def _not_beam_resource_warning(record: logging.LogRecord) -> bool:
    # Beam 2.77's apache_beam.ml.inference.base imports `resource` together with its
    # ModelManager, which needs torch; without torch it warns at every model load that memory
    # "cannot be fetched" (on Linux, where it can). Noise for our users; dropped.
    return not record.getMessage().startswith("Resource module is not available")


# Installed at import: RunInference logs it before load_model, in every worker process (and a
# worker imports this module to unpickle the handler).
logging.getLogger().addFilter(_not_beam_resource_warning)


class StageModelHandler(ModelHandler):
    """A batched stage as a Beam ModelHandler, for RunInference (apache_beam.ml.inference).

    The "model" is the stage after setup() (for translate: every installed CTranslate2 model,
    loaded, checked and wrapped with its cache), so RunInference loads it once per worker
    process and shares it between the threads of that process (its Shared handle), batches
    with BatchElements and reports its own inference metrics. Failures are isolated per record
    inside run_inference (run_isolated): RunInference's with_exception_handling() would send
    the whole batch to the dead letters when one element raises (Beam 2.77), so it is not
    used. Each inference is (dead?, record).
    """

    def __init__(self, name: str, config: StageConfig, adapter: AdapterConfig) -> None:
        super().__init__()
        self.name = name
        self.config = config
        self.adapter = adapter
        self._limit: TimeLimit | None = None
        self._counters: dict[str, Any] = {}
        self._reported: dict[str, int] = {}

    def load_model(self):
        stage = STAGE_CLASSES[self.name](self.config)
        stage.setup()
        return stage

    def batch_elements_kwargs(self):
        return dict(STAGE_CLASSES[self.name].batch_kwargs)

    def should_skip_batching(self) -> bool:
        # Without BatchElements the input must already be batches: apply_stages makes each
        # record a batch of one.
        return not self.adapter.batch_records

    def get_num_bytes(self, batch: Sequence[dict]) -> int:
        # The default pickles the whole batch once more only to measure it.
        return sum(len(a.get("body") or "") + len(a.get("title") or "") for a in batch)

    def get_metrics_namespace(self) -> str:
        return f"{NAMESPACE}_{self.name}"

    def _counter(self, key: str):
        if key not in self._counters:
            self._counters[key] = Metrics.counter(NAMESPACE, f"{self.name}_{key}")
        return self._counters[key]

    def run_inference(self, batch, model, inference_args=None):
        if self._limit is None:
            self._limit = TimeLimit(self.adapter.stage_timeout_s)
        batch = list(batch)
        self._counter("in").inc(len(batch))
        start = time.perf_counter()
        out = []
        for dead, record in run_isolated(self.name, model.process_batch, batch, self._limit):
            self._counter("dead" if dead else "out").inc()
            out.append(PredictionResult(record.get("id"), (dead, record), self.name))
        Metrics.distribution(NAMESPACE, f"{self.name}_us").update(
            int((time.perf_counter() - start) * 1e6 / max(1, len(batch))))
        # Cumulative stage statistics (e.g. the translation cache) as counter increments.
        for key, value in model.stats().items():
            delta = value - self._reported.get(key, 0)
            if delta:
                self._counter(key).inc(delta)
            self._reported[key] = value
        return out


class _SplitOutcomes(beam.DoFn):
    def process(self, result: PredictionResult) -> Iterable[Any]:
        dead, record = result.inference
        yield TaggedOutput(DEAD, record) if dead else record


def apply_stages(articles, opts: JobConfig, names: Sequence[str] = STAGE_ORDER,
                 side_inputs: dict | None = None):
    """articles -> (cleaned output records, [dead-letter PCollections]).

    Each stage gets its typed config, built here from the job's options `opts`.
    `side_inputs`: {stage name: PCollection of (key, value)}, given to that (unbatched) stage as
    a dict (the language stage's per-source language distributions)."""
    adapter = AdapterConfig.from_options(opts)
    deads = []
    current = articles
    for name in names:
        config = stage_config(name, opts)
        if STAGE_CLASSES[name].batched:
            handler = StageModelHandler(name, config, adapter)
            if handler.should_skip_batching():
                current = current | f"Batches of one {name}" >> beam.Map(lambda a: [a])
            inferred = current | name >> RunInference(handler)
            outs = inferred | f"Split {name}" >> SplitOutputs(_SplitOutcomes(), DEAD, main="main")
        else:
            side = (side_inputs or {}).get(name)
            extra = (beam.pvalue.AsDict(side),) if side is not None else ()
            outs = current | name >> SplitOutputs(StageFn(name, config, adapter), DEAD, main="main",
                                                  side_inputs=extra)
        current = outs.main
        deads.append(outs[DEAD])
    return current, deads
