"""Installing models: download (online machines only), convert to CTranslate2, write metadata.

Owns: `install(name, models_dir)` for catalog entries (the conversion itself is
models/convert.py; the test model is built by models/testmodel.py) and `convert_dir` for a
model already on disk. Network failures become one clear InstallError line,
never a traceback; downloads use a short timeout so an offline machine fails in seconds.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile

from models.catalog import CATALOG, CatalogEntry
from models.convert import InstallError, convert_opus_mt, finish_install  # noqa: F401
from models.testmodel import build_tiny_test_model

# Seconds to wait for a server before declaring the machine offline: long enough for a slow
# first byte on a real network, short enough that `install` offline fails "within seconds".
NETWORK_TIMEOUT_S = 8.0


def _download(url: str, dest: str) -> None:
    try:
        with urllib.request.urlopen(url, timeout=NETWORK_TIMEOUT_S) as resp, \
                open(dest, "wb") as fh:
            shutil.copyfileobj(resp, fh, 1 << 20)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise InstallError(
            f"cannot download {url} ({reason}); this machine looks offline. Download the model "
            "on an online machine and run `newsnorm models convert DIR`, or copy an installed "
            "model directory into the models directory") from exc


def _install_opus_mt(entry: CatalogEntry, out_dir: str, quantization: str) -> str:
    with tempfile.TemporaryDirectory(prefix="newsnorm-install-") as work:
        archive = os.path.join(work, "model.zip")
        _download(entry.url, archive)
        src = os.path.join(work, "src")
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(src)
        return convert_opus_mt(src, out_dir, _entry_meta(entry), quantization,
                               entry.golden_source, entry.golden_lang)


def _entry_meta(entry: CatalogEntry) -> dict:
    meta = {"name": entry.name, "version": entry.version, "source_langs": list(entry.source_langs),
            "target_lang": "en", "kind": entry.kind, "converted_from": entry.url,
            "licence": entry.licence, "test_model": False}
    if entry.lang_codes:
        meta["lang_codes"] = dict(entry.lang_codes)
        meta["target_code"] = entry.target_code
    return meta


def _install_nllb(entry: CatalogEntry, out_dir: str, quantization: str) -> str:
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as exc:
        raise InstallError("converting NLLB needs torch and transformers: "
                           "pip install 'newsnorm[convert]'") from exc
    _download("https://huggingface.co/api/models/" + entry.url, os.devnull)  # offline: fail fast
    from ctranslate2.converters import TransformersConverter

    tmp_out = out_dir + ".partial"
    shutil.rmtree(tmp_out, ignore_errors=True)
    try:
        TransformersConverter(entry.url).convert(tmp_out, quantization=quantization, force=True)
        from huggingface_hub import hf_hub_download

        spm_path = hf_hub_download(entry.url, "sentencepiece.bpe.model")
    except Exception as exc:  # noqa: BLE001
        shutil.rmtree(tmp_out, ignore_errors=True)
        raise InstallError(f"NLLB conversion failed: {type(exc).__name__}: {exc}") from exc
    for name in ("source.spm", "target.spm"):
        shutil.copy(spm_path, os.path.join(tmp_out, name))
    finish_install(tmp_out, dict(_entry_meta(entry), quantization=quantization),
                   entry.golden_source, entry.golden_lang)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp_out, out_dir)
    return out_dir


def install(name: str, models_dir: str, quantization: str = "int8") -> str:
    """Install a catalog model into models_dir; returns the model directory."""
    entry = CATALOG.get(name)
    if entry is None:
        raise InstallError(f"unknown model {name!r}; known: {', '.join(sorted(CATALOG))}")
    os.makedirs(models_dir, exist_ok=True)
    out_dir = os.path.join(models_dir, name)
    if entry.kind == "test":
        return build_tiny_test_model(models_dir, name, quantization)
    if entry.kind == "opus-mt":
        return _install_opus_mt(entry, out_dir, quantization)
    return _install_nllb(entry, out_dir, quantization)


def convert_dir(src_dir: str, models_dir: str, name: str, source_langs: list[str],
                version: str, quantization: str = "int8", golden_source: str = "") -> str:
    """`newsnorm models convert SRC_DIR`: an OPUS-MT directory already on disk."""
    if not os.path.isdir(src_dir):
        raise InstallError(f"{src_dir} is not a directory")
    meta = {"name": name, "version": version, "source_langs": source_langs, "target_lang": "en",
            "kind": "opus-mt", "converted_from": os.path.abspath(src_dir),
            "licence": "see the source model's licence", "test_model": False}
    os.makedirs(models_dir, exist_ok=True)
    return convert_opus_mt(src_dir, os.path.join(models_dir, name), meta, quantization,
                           golden_source or "1, 2, 3.")
