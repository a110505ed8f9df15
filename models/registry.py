"""What translation models are installed: a models directory holds one sub-directory per model.

Owns the lookup used by routing (transforms/language.py) and translation (transforms/translate.py).
A model directory declares itself in `metadata.json` with at least `source_lang`, `target_lang`,
`name` and `version` (see models/README or the translation section of the README).
"""

from __future__ import annotations

import hashlib
import json
import os


def installed_models(models_dir: str) -> dict[str, dict]:
    """{model directory name: metadata} for every directory with a readable metadata.json."""
    found: dict[str, dict] = {}
    if not models_dir or not os.path.isdir(models_dir):
        return found
    for name in sorted(os.listdir(models_dir)):
        meta_path = os.path.join(models_dir, name, "metadata.json")
        try:
            with open(meta_path, encoding="utf-8") as fh:
                meta = json.load(fh)
        except (OSError, ValueError):
            continue
        if isinstance(meta, dict):
            meta["path"] = os.path.join(models_dir, name)
            found[name] = meta
    return found


def find_model(models: dict[str, dict], source_lang: str, target_lang: str = "en"
               ) -> dict | None:
    """The model for a language pair among `installed_models()` (first by directory name), or
    None. A multilingual model lists its languages in `source_langs`. Stages read the
    directory once in setup() and look up here per article.

    >>> models = {"a": {"source_langs": ["fr"]}, "b": {"source_lang": "ar", "target_lang": "en"}}
    >>> find_model(models, "ar") is models["b"], find_model(models, "de")
    (True, None)
    """
    for meta in models.values():
        if meta.get("target_lang", "en") != target_lang:
            continue
        sources = meta.get("source_langs") or [meta.get("source_lang")]
        if source_lang in sources:
            return meta
    return None


def model_for(models_dir: str, source_lang: str, target_lang: str = "en") -> dict | None:
    """`find_model` on the models installed in models_dir now (reads the directory)."""
    return find_model(installed_models(models_dir), source_lang, target_lang)


def models_fingerprint(models_dir: str) -> list[dict]:
    """What the installed models are, for skip-if-done: name, version, whether a test model,
    and a digest of the file checksums recorded at install (which every load re-checks)."""
    out = []
    for name, meta in installed_models(models_dir).items():
        files = json.dumps(meta.get("files") or {}, sort_keys=True).encode()
        out.append({"name": name, "version": str(meta.get("version", "")),
                    "test_model": bool(meta.get("test_model")),
                    "files_sha256": hashlib.sha256(files).hexdigest()[:16]})
    return out


def installed_source_languages(models_dir: str, target_lang: str = "en") -> set[str]:
    langs: set[str] = set()
    for meta in installed_models(models_dir).values():
        if meta.get("target_lang", "en") == target_lang:
            langs.update(meta.get("source_langs") or [meta.get("source_lang")])
    langs.discard(None)
    return langs
