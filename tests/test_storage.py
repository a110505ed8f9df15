"""Object-store paths checked before Beam starts (pipeline/storage.py), without an emulator.
The end-to-end tests against emulators are in tests/test_object_store.py (slow tier)."""

from __future__ import annotations

import pytest

from pipeline import run as run_mod
from pipeline import storage


def _no_filesystems(monkeypatch):
    from apache_beam.io.filesystems import FileSystems

    def get_filesystem(path):  # what Beam says when the gcp/aws extra is not installed
        if "://" in path:
            raise ValueError("Unable to get filesystem from specified path")
        return original(path)

    original = FileSystems.get_filesystem
    monkeypatch.setattr(FileSystems, "get_filesystem", staticmethod(get_filesystem))


@pytest.mark.parametrize("path, extra", [("gs://b/out", "gcp"), ("s3://b/out", "aws")])
def test_missing_extra_is_one_line_exit_2(tmp_path, monkeypatch, capsys, path, extra):
    _no_filesystems(monkeypatch)
    rc = run_mod.run(["--input", str(tmp_path), "--output", path])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert err == [f"newsnorm: error: {path[:2]}:// paths need Beam's {path[:2]} filesystem, "
                   f"which is not installed: install the {extra} extra: "
                   f"pip install 'newsnorm[{extra}]'"]


def test_local_paths_are_not_checked_as_remote():
    storage.check_remote(["/tmp/x", "relative/dir"], storage.set_filesystem_options([]))
