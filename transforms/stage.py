"""The shape every pipeline stage has, with no Beam in it, and each stage's typed settings.

A stage is built once from its config (a frozen dataclass below: typed fields, picklable for
Beam), `setup()` loads what is heavy (models, detectors) once per worker, and `process(article)`
returns the article (changed or not) or raises `transforms.record.Reject` to dead-letter it with
a reason. Stages that work better on many articles at once (translation) also implement
`process_batch`, which returns, per input, either the article or a Reject instance.
pipeline/stages.py adapts any stage to a Beam DoFn and builds each stage's config from the job's
options (`StageConfig.from_options`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Sequence

from transforms.langid import DEFAULT_MIN_CONFIDENCE
from transforms.record import Reject


@dataclass(frozen=True)
class StageConfig:
    """A stage's settings. Each field is named as the job option it comes from
    (pipeline/options.py JobConfig); its default is what the stage does when built without
    options (a test, an eval). The base has no field: a stage without settings."""

    @classmethod
    def from_options(cls, opts: Any) -> "StageConfig":
        """The fields of this config from the job's options (pipeline/options.JobConfig, or
        anything with those attributes), by name. A missing option is an error, not a default.

        >>> from types import SimpleNamespace as Opts
        >>> RepairConfig.from_options(Opts(name_gazetteer="names.txt", force=True))
        RepairConfig(name_gazetteer='names.txt')
        >>> RepairConfig.from_options(Opts())
        Traceback (most recent call last):
        ...
        AttributeError: 'types.SimpleNamespace' object has no attribute 'name_gazetteer'
        """
        return cls(**{f.name: getattr(opts, f.name) for f in dataclasses.fields(cls)})


@dataclass(frozen=True)
class LanguageConfig(StageConfig):
    # Below this confidence a paragraph's language is "und"; 0 = always the best guess.
    lang_min_confidence: float = DEFAULT_MIN_CONFIDENCE
    # Installed translation models: their source languages are the ones worth telling apart.
    models_dir: str = ""


@dataclass(frozen=True)
class TranslateConfig(StageConfig):
    models_dir: str = ""
    translate_threads: int = 0  # 0 = from the CPUs this process may use
    device: str = "cpu"
    compute_type: str = "auto"
    retranslate: str = "auto"  # supplied machine translations: auto, never, always


@dataclass(frozen=True)
class RepairConfig(StageConfig):
    # "" = the built-in gazetteer when present, "none" = no gazetteer, else a file.
    name_gazetteer: str = ""


class Stage:
    """Base class: an identity stage. Subclasses override `process` (and maybe `setup`) and
    name their settings' type in `config_type`."""

    name = "identity"
    config_type: ClassVar[type[StageConfig]] = StageConfig
    # Batched stages get lists of articles (process_batch) under Beam's RunInference.
    batched: ClassVar[bool] = False
    batch_kwargs: ClassVar[dict] = {}

    def __init__(self, config: StageConfig | None = None) -> None:
        if config is None:
            config = self.config_type()
        if not isinstance(config, self.config_type):
            raise TypeError(f"{type(self).__name__} takes a {self.config_type.__name__}, not a "
                            f"{type(config).__name__} (build it with "
                            f"{self.config_type.__name__}.from_options)")
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

    def stats(self) -> dict[str, int]:
        """Cumulative counts of this instance (batched stages), reported as Beam counters."""
        return {}

    def teardown(self) -> None:
        """Release resources; called when the worker is done."""
