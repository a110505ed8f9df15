"""Converting a model directory into an installed one: CTranslate2, checksums, golden sentence.

Owns: `convert_opus_mt` (a Marian/OPUS-MT directory -> an installed model directory, with int8
quantisation by default, the sentencepiece models copied, sha256 of every file and the golden
sentence recorded in metadata.json) and `finish_install`, which every install path ends with
(catalog models in models/install.py, the test model in models/testmodel.py).
"""

from __future__ import annotations

import json
import os
import shutil

from models.loader import GOLDEN_OPTIONS, METADATA, ModelError, file_checksums, open_model


class InstallError(RuntimeError):
    """An install that cannot be done; the message says what to do."""


def _write_metadata(out_dir: str, meta: dict) -> None:
    with open(os.path.join(out_dir, METADATA), "w", encoding="utf-8") as fh:
        json.dump(meta, fh, ensure_ascii=False, indent=2, sort_keys=True)
        fh.write("\n")


def finish_install(out_dir: str, meta: dict, golden_source: str, golden_lang: str = "") -> str:
    """Record checksums, translate the golden sentence once and store it, then verify a load."""
    meta = dict(meta)
    meta["files"] = file_checksums(out_dir)
    meta.setdefault("source_spm", "source.spm")
    meta.setdefault("target_spm", "target.spm")
    meta["golden"] = {"source": golden_source, "lang": golden_lang, "expected": ""}
    _write_metadata(out_dir, meta)
    model = open_model(out_dir, verify=False, threads=1)
    meta["golden"]["expected"] = model.translate_text(golden_source, golden_lang, **GOLDEN_OPTIONS)
    _write_metadata(out_dir, meta)
    open_model(out_dir, verify=True, threads=1)  # fails loudly if anything is off
    return out_dir


def convert_opus_mt(src_dir: str, out_dir: str, meta: dict, quantization: str = "int8",
                    golden_source: str = "", golden_lang: str = "") -> str:
    """A Marian/OPUS-MT release directory -> an installed CTranslate2 model directory."""
    from ctranslate2.converters import OpusMTConverter

    for needed in ("source.spm", "target.spm", "decoder.yml"):
        if not os.path.isfile(os.path.join(src_dir, needed)):
            raise InstallError(f"{src_dir} is not an OPUS-MT model directory: no {needed}")
    tmp_out = out_dir + ".partial"
    shutil.rmtree(tmp_out, ignore_errors=True)
    try:
        OpusMTConverter(src_dir).convert(tmp_out, quantization=quantization, force=True)
    except Exception as exc:  # noqa: BLE001 - the converter raises many kinds; report one line
        shutil.rmtree(tmp_out, ignore_errors=True)
        raise InstallError(f"conversion of {src_dir} failed: {type(exc).__name__}: {exc}") from exc
    for name in ("source.spm", "target.spm"):
        shutil.copy(os.path.join(src_dir, name), os.path.join(tmp_out, name))
    meta = dict(meta, quantization=quantization)
    try:
        finish_install(tmp_out, meta, golden_source or "Test 1.", golden_lang)
    except ModelError as exc:
        shutil.rmtree(tmp_out, ignore_errors=True)
        raise InstallError(str(exc)) from exc
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp_out, out_dir)
    return out_dir
