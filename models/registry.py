"""What translation models are installed: a models directory holds one sub-directory per model.

Owns the lookup used by routing (transforms/language.py) and translation (transforms/translate.py).
A model directory declares itself in `metadata.json` with at least `source_lang`, `target_lang`,
`name` and `version` (see models/README or the translation section of the README).
"""

from __future__ import annotations

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


def model_for(models_dir: str, source_lang: str, target_lang: str = "en") -> dict | None:
    """The installed model for a language pair (first by directory name), or None.

    A multilingual model lists its languages in `source_langs`.
    """
    for meta in installed_models(models_dir).values():
        if meta.get("target_lang", "en") != target_lang:
            continue
        sources = meta.get("source_langs") or [meta.get("source_lang")]
        if source_lang in sources:
            return meta
    return None


def installed_source_languages(models_dir: str, target_lang: str = "en") -> set[str]:
    langs: set[str] = set()
    for meta in installed_models(models_dir).values():
        if meta.get("target_lang", "en") == target_lang:
            langs.update(meta.get("source_langs") or [meta.get("source_lang")])
    langs.discard(None)
    return langs
