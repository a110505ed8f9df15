"""The run manifest and the reconciliation check (`newsnorm verify DIR`).

Owns: what manifest.json says (inputs, config, counts, every output file with its size and
checksum) and the check that an output directory is complete and consistent: every listed file
present with its recorded size and sha256, read = written + dead-lettered, and every article id
written once.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from apache_beam.io.filesystems import FileSystems

MANIFEST_NAME = "manifest.json"
SCHEMA_VERSION = 1


def read_bytes(path: str) -> bytes:
    with FileSystems.open(path, compression_type="uncompressed") as handle:
        return handle.read()


def write_bytes_atomic(path: str, data: bytes) -> None:
    """Write then rename, so a reader never sees half a file (local: os.replace semantics)."""
    tmp = path + ".tmp"
    with FileSystems.create(tmp) as handle:
        handle.write(data)
    if FileSystems.exists(path):
        FileSystems.delete([path])
    FileSystems.rename([tmp], [path])


def counts_from_results(results: list[dict]) -> dict:
    read = sum(r["units"] for r in results if r["kind"] == "input")
    by_status: dict[str, int] = {}
    by_reason: dict[str, int] = {}
    written = dead = 0
    for r in results:
        if r.get("format") != "jsonl":
            continue
        if r["kind"] == "articles":
            written += r["rows"]
            for k, v in r["counts"].items():
                by_status[k] = by_status.get(k, 0) + v
        elif r["kind"] == "dead_letter":
            dead += r["rows"]
            for k, v in r["counts"].items():
                by_reason[k] = by_reason.get(k, 0) + v
    return {
        "read": read,
        "written": written,
        "dead_lettered": dead,
        "reconciled": read == written + dead,
        "by_status": dict(sorted(by_status.items())),
        "dead_letter_by_reason": dict(sorted(by_reason.items())),
    }


def build_manifest(results: list[dict], *, inputs: dict, config: dict, run: dict,
                   stages: dict, extra_files: list[dict]) -> dict:
    files = [
        {k: r[k] for k in ("path", "kind", "format", "rows", "bytes", "sha256")}
        for r in results if r["kind"] in ("articles", "dead_letter")
    ]
    files += extra_files
    files.sort(key=lambda f: f["path"])
    return {
        "schema_version": SCHEMA_VERSION,
        "run": run,
        "input": inputs,
        "config": config,
        "counts": counts_from_results(results),
        "stages": stages,
        "files": files,
    }


def verify(out_dir: str) -> list[str]:
    """Problems found in an output directory ([] when it is complete and consistent)."""
    problems: list[str] = []
    mpath = FileSystems.join(out_dir, MANIFEST_NAME)
    if not FileSystems.exists(mpath):
        return [f"{mpath}: no manifest (the run did not finish, or this is not an output dir)"]
    try:
        manifest = json.loads(read_bytes(mpath))
    except ValueError as exc:
        return [f"{mpath}: unreadable manifest: {exc}"]
    counts = manifest.get("counts", {})
    seen_ids: dict[str, str] = {}
    rows = {"articles": 0, "dead_letter": 0}
    for f in manifest.get("files", []):
        path = FileSystems.join(out_dir, *f["path"].split("/"))
        if not FileSystems.exists(path):
            problems.append(f"{f['path']}: listed in the manifest but missing")
            continue
        data = read_bytes(path)
        if len(data) != f["bytes"]:
            problems.append(f"{f['path']}: {len(data)} bytes, manifest says {f['bytes']}")
        if hashlib.sha256(data).hexdigest() != f["sha256"]:
            problems.append(f"{f['path']}: sha256 differs from the manifest")
        if f.get("format") != "jsonl" or f.get("kind") not in rows:
            continue
        lines = data.decode("utf-8", "replace").splitlines()
        if len(lines) != f["rows"]:
            problems.append(f"{f['path']}: {len(lines)} rows, manifest says {f['rows']}")
        rows[f["kind"]] += len(lines)
        if f["kind"] == "articles":
            for number, line in enumerate(lines, start=1):
                try:
                    aid = json.loads(line)["id"]
                except (ValueError, KeyError, TypeError):
                    problems.append(f"{f['path']}: line {number} is not an article record")
                    continue
                if aid in seen_ids:
                    problems.append(f"article id {aid!r} written twice "
                                    f"({seen_ids[aid]} and {f['path']})")
                seen_ids[aid] = f["path"]
    if rows["articles"] != counts.get("written"):
        problems.append(f"articles: {rows['articles']} rows, manifest counts {counts.get('written')}")
    if rows["dead_letter"] != counts.get("dead_lettered"):
        problems.append(f"dead letters: {rows['dead_letter']} rows, manifest counts "
                        f"{counts.get('dead_lettered')}")
    if counts.get("read") != counts.get("written", 0) + counts.get("dead_lettered", 0):
        problems.append(f"counts do not reconcile: read {counts.get('read')} != written "
                        f"{counts.get('written')} + dead-lettered {counts.get('dead_lettered')}")
    listed = {f["path"] for f in manifest.get("files", [])}
    for kind in ("articles", "dead_letter"):
        pattern = FileSystems.join(out_dir, kind, "*")
        for meta in FileSystems.match([pattern])[0].metadata_list:
            rel = kind + "/" + meta.path.replace("\\", "/").rsplit("/", 1)[-1]
            if rel not in listed:
                problems.append(f"{rel}: present but not listed in the manifest (stale file?)")
    return problems


def load(out_dir: str) -> dict[str, Any] | None:
    path = FileSystems.join(out_dir, MANIFEST_NAME)
    if not FileSystems.exists(path):
        return None
    try:
        return json.loads(read_bytes(path))
    except ValueError:
        return None
