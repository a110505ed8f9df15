"""A drop as the pipeline reads it: its files, their fingerprint, and its parsed records.

Owns: which files of an input path are input (markers and hidden names are not), what "the same
drop" means (size and sha256 of every file), and reading a file's records with the pipeline's
own parser. `newsnorm run` (pipeline/run.py, pipeline/graph.py), `newsnorm verify --input`
(pipeline/manifest.py) and `newsnorm replay` read a drop through here and nowhere else.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
from typing import Iterable, Iterator

from pipeline.options import UsageError

# Names in a drop directory that are not input: markers and hidden files (README "Drops").
# `newsnorm watch` skips the same names when it looks for drops.
IGNORED_PREFIXES = ("_", ".")


def is_remote(path: str) -> bool:
    return "://" in path


def list_input_files(path: str) -> tuple[list[tuple[str, str]], str]:
    """Input path -> ([(path, name relative to the drop)], drop name). Sorted, markers skipped.

    Every other entry is listed, whatever it is: a FIFO, a symlink (dangling, looping, or
    to a directory) is one input unit that pipeline/guard.py `open_input` refuses with a
    reason, never silently left out. Names are text (`display_name`: bytes that are not
    UTF-8 are escaped); paths stay as the OS gives them."""
    from apache_beam.io.filesystems import FileSystems

    from pipeline.guard import display_name

    if not is_remote(path):
        if os.path.isdir(path):
            root = os.path.abspath(path)
            found = []
            for dirpath, dirnames, filenames in os.walk(root):
                # os.walk lists a symlink to a directory as a directory and does not enter it;
                # it is listed here as a file, refused when opened.
                links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
                dirnames[:] = sorted(d for d in dirnames
                                     if not d.startswith(IGNORED_PREFIXES) and d not in links)
                for f in sorted(filenames + links):
                    if not f.startswith(IGNORED_PREFIXES):
                        full = os.path.join(dirpath, f)
                        found.append((full, display_name(
                            os.path.relpath(full, root).replace(os.sep, "/"))))
            return (sorted(found, key=lambda x: x[1]),
                    display_name(os.path.basename(root.rstrip(os.sep))))
        if any(ch in path for ch in "*?["):
            root = os.path.dirname(path.split("*")[0].split("?")[0].split("[")[0]) or "."
            matches = sorted(p for p in glob.glob(path, recursive=True)
                             if os.path.islink(p) or not os.path.isdir(p))
            return ([(os.path.abspath(p), display_name(os.path.relpath(p, root)
                                                       .replace(os.sep, "/")))
                     for p in matches], display_name(os.path.basename(os.path.abspath(root))))
        if os.path.lexists(path) and not os.path.isdir(path):
            return [(os.path.abspath(path), display_name(os.path.basename(path)))], \
                display_name(os.path.splitext(os.path.basename(path))[0])
        raise UsageError(f"input not found: {path}")
    pattern = path if any(ch in path for ch in "*?[") else path.rstrip("/") + "/**"
    if not any(ch in path for ch in "*?[") and FileSystems.exists(path) and \
            not path.endswith("/"):
        metas = FileSystems.match([path])[0].metadata_list
        if metas and metas[0].path == path:
            return [(path, path.rsplit("/", 1)[-1])], path.rsplit("/", 1)[-1]
    metas = FileSystems.match([pattern])[0].metadata_list
    root = path.split("*")[0].rstrip("/")
    out = []
    for m in metas:
        rel = m.path[len(root):].lstrip("/")
        if rel and not any(part.startswith(IGNORED_PREFIXES) for part in rel.split("/")):
            out.append((m.path, rel))
    return sorted(out, key=lambda x: x[1]), root.rsplit("/", 1)[-1]


def fingerprint_inputs(files: list[tuple[str, str]], root: str | None = None,
                       follow_symlinks: bool = False) -> dict:
    """Size and sha256 of every input file: what "the same drop" means for skip-if-done.
    A file that is not read (pipeline/guard.py) is listed with the reason instead."""
    from pipeline.guard import Refused, open_input

    entries = []
    total = 0
    for path, name in files:
        digest = hashlib.sha256()
        size = 0
        try:
            handle = open_input(path, root, follow_symlinks)
        except Refused as exc:
            entries.append({"path": name, "bytes": 0, "sha256": "", "refused": exc.reason})
            continue
        with handle:
            while True:
                block = handle.read(1 << 20)
                if not block:
                    break
                size += len(block)
                digest.update(block)
        total += size
        entries.append({"path": name, "bytes": size, "sha256": digest.hexdigest()})
    fp = hashlib.sha256(json.dumps(entries, sort_keys=True).encode()).hexdigest()[:16]
    return {"files": entries, "bytes": total, "fingerprint": fp}


def read_lines(handle) -> Iterable[bytes]:
    """A binary file handle's lines, read as the parser wants them (one at a time)."""
    while True:
        line = handle.readline()
        if not line:
            return
        yield line


def parse_drop(input_path: str, limits, follow_symlinks: bool = False
               ) -> Iterator[tuple[str, object]]:
    """(file name, ParseResult or the exception that stopped the file) for every input unit of
    a drop, as ParseFileFn reads it: a file whose reading fails (pipeline/guard.py refusals
    included) is one more unit."""
    from pipeline.guard import input_root, open_input
    from transforms.ingest import parse_file

    files, drop = list_input_files(input_path)
    root = input_root(input_path)
    for path, name in files:
        try:
            with open_input(path, root, follow_symlinks) as handle:
                for result in parse_file(name, read_lines(handle), drop, limits):
                    yield name, result
        except Exception as exc:  # noqa: BLE001 - as in ParseFileFn: one unreadable_file unit
            yield name, exc
