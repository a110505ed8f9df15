"""Where installed models live by default (models/ owns this; the pipeline and the CLI ask)."""

from __future__ import annotations

import os


def default_models_dir() -> str:
    """$NEWSNORM_MODELS, else the per-user data dir (~/.local/share/newsnorm/models)."""
    env = os.environ.get("NEWSNORM_MODELS")
    if env:
        return env
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "newsnorm", "models")
