"""Each stage reads its settings from a typed, frozen config (transforms/stage.py), built from the
job's options in one place (`StageConfig.from_options`, called by pipeline/stages.py); no stage
or graph step reads the options with getattr."""

from __future__ import annotations

import ast
import dataclasses
import os
import pickle

import pytest

from models.paths import default_models_dir
from pipeline.options import JobConfig, build_parser, config_from_args
from pipeline.stages import (STAGE_CLASSES, STAGE_ORDER, AdapterConfig, StageFn,
                             StageModelHandler, build_stage, stage_config)
from tests.conftest import REPO
from transforms.langid import DEFAULT_MIN_CONFIDENCE
from transforms.stage import LanguageConfig, RepairConfig, StageConfig, TranslateConfig


def default_options() -> JobConfig:
    """What `newsnorm run --input i --output o` parses to."""
    return config_from_args(build_parser().parse_args(["--input", "i", "--output", "o"]))


# stage -> (its config type, its config from the default parsed options: today's defaults)
FROM_DEFAULT_OPTIONS = {
    "normalize": (StageConfig, StageConfig()),
    "boilerplate": (StageConfig, StageConfig()),
    "language": (LanguageConfig, LanguageConfig(
        lang_min_confidence=DEFAULT_MIN_CONFIDENCE,
        models_dir=os.path.abspath(default_models_dir()))),
    "translate": (TranslateConfig, TranslateConfig(
        models_dir=os.path.abspath(default_models_dir()), translate_threads=0, device="cpu",
        compute_type="auto", retranslate="auto")),
    "repair": (RepairConfig, RepairConfig(name_gazetteer="")),
    "validate": (StageConfig, StageConfig()),
}

# config type -> what a stage built without options (a test, an eval) does: no models, the
# built-in gazetteer, no time limit. These were the getattr defaults before the typed configs.
WITHOUT_OPTIONS = {
    LanguageConfig: {"lang_min_confidence": DEFAULT_MIN_CONFIDENCE, "models_dir": ""},
    TranslateConfig: {"models_dir": "", "translate_threads": 0, "device": "cpu",
                      "compute_type": "auto", "retranslate": "auto"},
    RepairConfig: {"name_gazetteer": ""},
    AdapterConfig: {"stage_timeout_s": 0.0, "batch_records": True},
}


def test_the_table_covers_every_stage():
    assert set(FROM_DEFAULT_OPTIONS) == set(STAGE_ORDER)


@pytest.mark.parametrize("name", STAGE_ORDER)
def test_config_from_the_default_options_has_todays_defaults(name):
    config_type, expected = FROM_DEFAULT_OPTIONS[name]
    assert STAGE_CLASSES[name].config_type is config_type
    config = stage_config(name, default_options())
    assert type(config) is config_type and config == expected
    assert build_stage(name, default_options()).config == expected


def test_adapter_config_from_the_default_options():
    assert AdapterConfig.from_options(default_options()) == AdapterConfig(
        stage_timeout_s=60.0, batch_records=True)


@pytest.mark.parametrize("config_type", sorted(WITHOUT_OPTIONS, key=lambda c: c.__name__))
def test_every_field_is_a_job_option_and_defaults_as_without_options(config_type):
    job_options = {f.name: f.type for f in dataclasses.fields(JobConfig)}
    fields = {f.name: f.type for f in dataclasses.fields(config_type)}
    assert fields and set(fields) <= set(job_options)
    assert {k: job_options[k] for k in fields} == fields  # the same type as the option
    assert dataclasses.asdict(config_type()) == WITHOUT_OPTIONS[config_type]


@pytest.mark.parametrize("flags, name, field, value", [
    (["--lang_min_confidence", "0"], "language", "lang_min_confidence", 0.0),  # 0 = off, kept
    (["--lang_min_confidence", "0.3"], "language", "lang_min_confidence", 0.3),
    (["--models_dir", "/m"], "language", "models_dir", "/m"),
    (["--models_dir", "/m"], "translate", "models_dir", "/m"),
    (["--translate_threads", "3"], "translate", "translate_threads", 3),
    (["--device", "cuda"], "translate", "device", "cuda"),
    (["--compute_type", "float32"], "translate", "compute_type", "float32"),
    (["--retranslate", "never"], "translate", "retranslate", "never"),
    (["--name_gazetteer", "none"], "repair", "name_gazetteer", "none"),
])
def test_a_flag_reaches_its_stage_config(flags, name, field, value):
    opts = config_from_args(build_parser().parse_args(["--input", "i", "--output", "o", *flags]))
    assert getattr(stage_config(name, opts), field) == value


def test_a_stage_refuses_the_job_options_instead_of_its_config():
    with pytest.raises(TypeError, match="LanguageConfig"):
        STAGE_CLASSES["language"](default_options())


def test_configs_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        TranslateConfig().retranslate = "never"


@pytest.mark.parametrize("name", STAGE_ORDER)
def test_the_beam_adapters_pickle_with_their_typed_config(name):
    config = stage_config(name, default_options())
    adapter = AdapterConfig.from_options(default_options())
    for wrapper in (StageFn(name, config, adapter), StageModelHandler(name, config, adapter)):
        again = pickle.loads(pickle.dumps(wrapper))
        assert again.config == config and again.adapter == adapter


# Modules whose settings come from the job's options: none reads them with getattr.
READERS = sorted([*(REPO / "transforms").glob("*.py"),
                  *(REPO / "pipeline" / name for name in ("stages.py", "graph.py", "templates.py",
                                                          "source_language.py"))])


def _getattr_on_settings(path) -> list[str]:
    """getattr(x, ...) calls in `path` where x names a config, the options or limits."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "getattr" and node.args):
            target = ast.unparse(node.args[0])
            if any(word in target for word in ("config", "opts", "options", "limits",
                                               "settings")):
                found.append(f"{path.name}: {ast.unparse(node)}")
    return found


def test_no_stage_reads_the_options_with_getattr():
    found = [hit for path in READERS for hit in _getattr_on_settings(path)]
    # The one place: StageConfig.from_options (by field name) and ParseLimits.from_settings
    # (the parse limits, from the options or the manifest's dict).
    assert sorted(found) == [
        "parsed.py: getattr(settings, name, default)",
        "stage.py: getattr(opts, f.name)",
    ]
