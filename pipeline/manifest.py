"""The run manifest and the reconciliation check (`newsnorm verify DIR`).

Owns: what manifest.json says (inputs, config, counts, every output file with its size and
checksum) and the check that an output directory is complete and consistent: every listed file
present with its recorded size and sha256, read = written + dead-lettered, every article id
written once, and every input unit accounted for exactly once. An input unit (a JSON line, an
array element, a feed entry, an HTML page, or a whole file that cannot be split; see
transforms/ingest.py) is named by the provenance of its record: (file, line, entry). Given the
input (`--input`), verify re-parses it with the pipeline's own parser and checks that the units
found there are exactly the units in the output.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from apache_beam.io.filesystems import FileSystems

from pipeline.schema import json_lines
from transforms import atomic

MANIFEST_NAME = "manifest.json"
SCHEMA_VERSION = 1


def read_bytes(path: str) -> bytes:
    with FileSystems.open(path, compression_type="uncompressed") as handle:
        return handle.read()


def write_bytes_atomic(path: str, data: bytes) -> None:
    """Locally: transforms/atomic.py's writer (temp file, fsync, rename), so a reader never
    sees half a file. An object store shows a new object only once its upload is complete (GCS
    and S3 alike), and there a rename would be a copy then a delete: the object is written in
    place."""
    if "://" in path:
        with FileSystems.create(path) as handle:
            handle.write(data)
        return
    atomic.write_bytes_atomic(path, data)


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


Unit = tuple  # (file, line, entry): one input unit, see provenance_key


def provenance_key(prov: Any) -> Unit | None:
    """The input unit a record came from: (file, line, entry), 0 where the format has none.
    None when the record carries no usable provenance.

    >>> provenance_key({"drop": "d", "file": "a.jsonl", "line": 3, "entry": 0})
    ('a.jsonl', 3, 0)
    >>> provenance_key({"file": "feed.xml", "entry": 2}), provenance_key({"line": 1})
    (('feed.xml', 0, 2), None)
    """
    if not isinstance(prov, dict) or not isinstance(prov.get("file"), str) or not prov["file"]:
        return None
    try:
        return (prov["file"], int(prov.get("line") or 0), int(prov.get("entry") or 0))
    except (TypeError, ValueError):
        return None


def describe_unit(key: Unit) -> str:
    """An input unit as people name it.

    >>> describe_unit(("a.jsonl", 3, 0)), describe_unit(("f.xml", 0, 2)), describe_unit(("e", 0, 0))
    ('a.jsonl line 3', 'f.xml entry 2', 'e (whole file)')
    """
    file, line, entry = key
    parts = [file] + ([f"line {line}"] if line else []) + ([f"entry {entry}"] if entry else [])
    return " ".join(parts) if len(parts) > 1 else f"{file} (whole file)"


def input_units(input_path: str, config: dict | None = None) -> dict[Unit, str]:
    """Re-parse an input drop with the pipeline's own code: {unit: id ("" when it has none)}.

    Files are listed as `newsnorm run` lists them and read as pipeline/graph.py ParseFileFn
    reads them, including its rule that a file whose reading fails is one more unit."""
    from pipeline.inputs import parse_drop
    from transforms.ingest import ParseLimits

    limits = ParseLimits.from_settings(config or {})
    follow = bool((config or {}).get("follow_symlinks", False))
    units: dict[Unit, str] = {}
    for name, result in parse_drop(input_path, limits, follow):
        if isinstance(result, Exception):  # as in ParseFileFn: one unit (Refused included)
            units[(name, 0, 0)] = ""
            continue
        record = result.article if result.article is not None else result.dead
        units[provenance_key(record["provenance"])] = record.get("id") or ""
    return units


def verify(out_dir: str, input_path: str | None = None) -> list[str]:
    """Problems found in an output directory ([] when it is complete and consistent).

    With `input_path`, also check that the input units of that drop are exactly those in the
    output (missing and unexpected units are reported by id and provenance)."""
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
    # Every record (article or dead letter) -> the input unit it accounts for.
    units: dict[Unit, tuple[str, str]] = {}
    input_files = {f.get("path") for f in manifest.get("input", {}).get("files", [])}
    rows = {"articles": 0, "dead_letter": 0}
    jsonl_ids: dict[str, list] = {}
    parquet_ids: dict[str, list | None] = {}
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
        if f.get("format") == "parquet" and f.get("kind") == "articles":
            parquet_ids[f["path"]] = _parquet_ids(data, f, problems)
            continue
        if f.get("format") != "jsonl" or f.get("kind") not in rows:
            continue
        ids_here = jsonl_ids.setdefault(f["path"], []) if f["kind"] == "articles" else []
        lines = json_lines(data)  # the writer's definition of a line
        if len(lines) != f["rows"]:
            problems.append(f"{f['path']}: {len(lines)} rows, manifest says {f['rows']}")
        rows[f["kind"]] += len(lines)
        what = "article" if f["kind"] == "articles" else "dead letter"
        for number, line in enumerate(lines, start=1):
            try:
                record = json.loads(line)
                aid = record["id"]
            except (ValueError, KeyError, TypeError):
                article_or_dead = "an article" if f["kind"] == "articles" else "a dead-letter"
                problems.append(f"{f['path']}: line {number} is not {article_or_dead} record")
                continue
            here = f"{what} {aid!r} ({f['path']} line {number})"
            ids_here.append(aid)
            if f["kind"] == "articles":
                if aid in seen_ids:
                    problems.append(f"article id {aid!r} written twice "
                                    f"({seen_ids[aid]} and {f['path']})")
                seen_ids[aid] = f["path"]
            key = provenance_key(record.get("provenance"))
            if key is None:
                problems.append(f"{here}: no provenance (input file, line, entry)")
            elif key in units:
                problems.append(f"input {describe_unit(key)} accounted for twice: "
                                f"{units[key][0]} and {here}")
            else:
                units[key] = (here, aid)
                if input_files and key[0] not in input_files:
                    problems.append(f"{here}: comes from {key[0]!r}, which is not an input "
                                    "file in the manifest")
    problems += _compare_parquet(parquet_ids, jsonl_ids, counts.get("written"))
    if rows["articles"] != counts.get("written"):
        problems.append(f"articles: {rows['articles']} rows, manifest counts {counts.get('written')}")
    if rows["dead_letter"] != counts.get("dead_lettered"):
        problems.append(f"dead letters: {rows['dead_letter']} rows, manifest counts "
                        f"{counts.get('dead_lettered')}")
    if counts.get("read") != counts.get("written", 0) + counts.get("dead_lettered", 0):
        problems.append(f"counts do not reconcile: read {counts.get('read')} != written "
                        f"{counts.get('written')} + dead-lettered {counts.get('dead_lettered')}")
    if input_path is not None:
        problems += _compare_units(input_units(input_path, manifest.get("config")), units)
    listed = {f["path"] for f in manifest.get("files", [])}
    for kind in ("articles", "dead_letter"):
        pattern = FileSystems.join(out_dir, kind, "*")
        for meta in FileSystems.match([pattern])[0].metadata_list:
            rel = kind + "/" + meta.path.replace("\\", "/").rsplit("/", 1)[-1]
            if rel not in listed:
                problems.append(f"{rel}: present but not listed in the manifest (stale file?)")
    return problems


def _parquet_ids(data: bytes, f: dict, problems: list[str]) -> list | None:
    """The ids of an articles Parquet file, in row order (None when it cannot be read); its
    row count checked against the manifest. Parquet rows are units too: a file whose sha256
    was re-fixed must still hold every article."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        ids = pq.read_table(pa.BufferReader(data), columns=["id"]).column("id").to_pylist()
    except Exception as exc:  # noqa: BLE001 - any Arrow error: the file is not readable
        problems.append(f"{f['path']}: not a readable Parquet file: {str(exc)[:200]}")
        return None
    if len(ids) != f["rows"]:
        problems.append(f"{f['path']}: {len(ids)} rows, manifest says {f['rows']}")
    return ids


def _compare_parquet(parquet_ids: dict[str, list | None], jsonl_ids: dict[str, list],
                     written: Any) -> list[str]:
    """Each articles Parquet file holds the same articles, in the same order, as its JSON
    Lines twin, and all of them together hold every written article.

    >>> _compare_parquet({"a/p.parquet": ["x"]}, {"a/p.jsonl": ["x", "y"]}, 2)
    ["a/p.parquet: article 'y' of a/p.jsonl is missing", 'articles (Parquet): 1 rows, manifest counts 2']
    """
    problems = []
    total = 0
    for path, ids in sorted(parquet_ids.items()):
        if ids is None:
            continue
        total += len(ids)
        twin = path.rsplit(".", 1)[0] + ".jsonl"
        if twin not in jsonl_ids or ids == jsonl_ids[twin]:
            continue
        theirs = jsonl_ids[twin]
        missing = [i for i in theirs if i not in set(ids)]
        extra = [i for i in ids if i not in set(theirs)]
        for i in missing[:5]:
            problems.append(f"{path}: article {i!r} of {twin} is missing")
        for i in extra[:5]:
            problems.append(f"{path}: article {i!r} is not in {twin}")
        if not missing and not extra:
            problems.append(f"{path}: articles in another order than {twin}")
    if parquet_ids and None not in parquet_ids.values() and total != written:
        problems.append(f"articles (Parquet): {total} rows, manifest counts {written}")
    return problems


def _compare_units(expected: dict[Unit, str], found: dict[Unit, tuple[str, str]]) -> list[str]:
    """Input units against output records: one line per missing or unexpected unit, or per
    unit whose record carries another id than the input (both ids known).

    >>> _compare_units({("a", 1, 0): "x", ("a", 2, 0): "y"},
    ...                {("a", 1, 0): ("article 'x' (p line 1)", "x"),
    ...                 ("b", 0, 0): ("dead letter '' (q line 1)", "")})
    ["input a line 2 (id 'y') is missing from the output", "dead letter '' (q line 1): comes from b (whole file), which is not in the input"]
    """
    problems = []
    for key in sorted(set(expected) - set(found)):
        problems.append(f"input {describe_unit(key)} (id {expected[key]!r}) is missing from the "
                        "output")
    for key in sorted(set(found) - set(expected)):
        problems.append(f"{found[key][0]}: comes from {describe_unit(key)}, which is not in the "
                        "input")
    for key in sorted(set(found) & set(expected)):
        if expected[key] and found[key][1] and expected[key] != found[key][1]:
            problems.append(f"{found[key][0]}: input {describe_unit(key)} has id "
                            f"{expected[key]!r}")
    return problems


def load(out_dir: str) -> dict[str, Any] | None:
    path = FileSystems.join(out_dir, MANIFEST_NAME)
    if not FileSystems.exists(path):
        return None
    try:
        return json.loads(read_bytes(path))
    except ValueError:
        return None
