"""What code made an output: the package version and a digest of the code itself.

The package version alone does not change when the code does (every checkout says 0.1.0), so
skip-if-done and `newsnorm --version` also use `code_digest()`: the sha256 of every source and
data file of the three packages, by relative path. Reading ~100 small files takes ~10 ms.
"""

from __future__ import annotations

import functools
import hashlib
import os

PACKAGES = ("pipeline", "transforms", "models")
# Source and package data (pipeline/*.json, pipeline/templates/*): what can change an output.
_SUFFIXES = (".py", ".json", ".html", ".css", ".js", ".txt")


def package_version() -> str:
    try:
        from importlib.metadata import version

        return version("newsnorm")
    except Exception:  # noqa: BLE001 - running from a checkout without install
        return "0+unknown"


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """16 hex digits that change whenever a file of the installed packages changes."""
    import importlib

    h = hashlib.sha256()
    for package in PACKAGES:
        root = os.path.dirname(importlib.import_module(package).__file__ or "")
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for name in sorted(filenames):
                if name.endswith(_SUFFIXES):
                    full = os.path.join(dirpath, name)
                    rel = os.path.relpath(full, os.path.dirname(root)).replace(os.sep, "/")
                    with open(full, "rb") as fh:
                        h.update(rel.encode() + b"\0" + hashlib.sha256(fh.read()).digest())
    return h.hexdigest()[:16]


def version_line() -> str:
    """What `newsnorm --version` prints."""
    return f"newsnorm {package_version()} (code {code_digest()})"
