"""The Beam graph: files -> parse -> dedupe -> stages -> sharded, sorted writes.

Owns: the shape of the pipeline and the writers. Outputs go to a staging directory given by the
driver (pipeline/run.py), which publishes them and writes the manifest last.

Determinism: every article is keyed by a hash of its id into a fixed number of shards, and each
shard is sorted before it is written, so a rerun (in any input order, with any worker count)
writes byte-identical files. The one GroupByKey before the stages also spreads work across
workers (notes/beam-findings.md: multi_processing only splits work after a shuffle).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import time
from typing import Any, Iterable

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from apache_beam.pvalue import TaggedOutput

from pipeline.schema import ARTICLE_SCHEMA, DEAD_LETTER_FIELDS, to_json_line
from pipeline.stages import DEAD, NAMESPACE, apply_stages, describe_exception
from transforms.ingest import ParseLimits, parse_file
from transforms.record import dead_letter, sort_key_for_provenance
from transforms.repair import attach_siblings

log = logging.getLogger("newsnorm")

FILES = "files"
RESULTS_NAME = "_results.json"


def shard_of(key: str, num_shards: int) -> int:
    """Stable shard of a key (independent of Python's hash seed).

    >>> shard_of("abc", 4), shard_of("abc", 4) == shard_of("abc", 4)
    (3, True)
    """
    return int(hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:8], 16) % num_shards


def shard_name(kind: str, index: int, total: int, ext: str) -> str:
    """>>> shard_name("articles", 0, 4, "jsonl")
    'articles/part-00000-of-00004.jsonl'
    """
    return f"{kind}/part-{index:05d}-of-{total:05d}.{ext}"


class ParseFileFn(beam.DoFn):
    """(path, relative name) -> articles, with dead letters and a per-file summary on the side."""

    def __init__(self, drop: str, limits: ParseLimits, progress: bool = True) -> None:
        self.drop = drop
        self.limits = limits
        self.progress = progress
        self.units = Metrics.counter(NAMESPACE, "read")
        self.parsed = Metrics.counter(NAMESPACE, "parse_out")
        self.dead = Metrics.counter(NAMESPACE, "parse_dead")

    def setup(self) -> None:
        self._count = 0
        self._last = time.monotonic()

    def process(self, element: tuple[str, str]) -> Iterable[Any]:
        path, name = element
        units = articles = deads = 0
        fmt = ""
        try:
            with FileSystems.open(path, compression_type="uncompressed") as handle:
                for result in parse_file(name, _lines(handle), self.drop, self.limits):
                    units += 1
                    if result.article is not None:
                        articles += 1
                        fmt = result.article["provenance"].get("format", fmt)
                        yield result.article
                    else:
                        deads += 1
                        fmt = result.dead["provenance"].get("format", fmt) or fmt
                        yield TaggedOutput(DEAD, result.dead)
                    self._tick()
        except Exception as exc:  # noqa: BLE001 - an unreadable file is one dead letter
            units += 1
            deads += 1
            yield TaggedOutput(DEAD, dead_letter("parse", "unreadable_file",
                                                 describe_exception(exc), b"",
                                                 {"drop": self.drop, "file": name}))
        self.units.inc(units)
        self.parsed.inc(articles)
        self.dead.inc(deads)
        yield TaggedOutput(FILES, {"kind": "input", "file": name, "format": fmt, "units": units,
                                   "articles": articles, "dead_letters": deads})

    def _tick(self) -> None:
        self._count += 1
        now = time.monotonic()
        if self.progress and now - self._last >= 5.0:
            self._last = now
            log.info("progress: %d input records parsed in this worker", self._count)


def _lines(handle) -> Iterable[bytes]:
    while True:
        line = handle.readline()
        if not line:
            return
        yield line


class DedupeFn(beam.DoFn):
    """(id, [articles]) -> the first by input order; later copies are dead letters."""

    def process(self, element: tuple[str, Iterable[dict]]) -> Iterable[Any]:
        article_id, group = element
        items = sorted(group, key=lambda a: sort_key_for_provenance(a["provenance"]))
        yield items[0]
        first = items[0]["provenance"]
        for dup in items[1:]:
            from transforms.record import article_as_raw

            yield TaggedOutput(DEAD, dead_letter(
                "dedupe", "duplicate_id",
                f"id {article_id!r} already taken by {first.get('file')} "
                f"line {first.get('line')} entry {first.get('entry')}",
                article_as_raw(dup), dup["provenance"], article_id))


def _article_sort_key(record: dict) -> str:
    return record["id"]


def _dead_sort_key(record: dict) -> tuple:
    return (sort_key_for_provenance(record.get("provenance") or {}), record.get("stage", ""),
            record.get("id", ""), record.get("raw_sha256", ""))


class WriteShardFn(beam.DoFn):
    """(shard, records) -> sorted shard file(s) under the staging dir, and their file records."""

    def __init__(self, staging: str, kind: str, num_shards: int) -> None:
        self.staging = staging
        self.kind = kind
        self.num_shards = num_shards

    def process(self, element: tuple[int, Iterable[Any]]) -> Iterable[dict]:
        shard, group = element
        records = [r for r in group if r is not None]
        if self.kind == "articles":
            records.sort(key=_article_sort_key)
            lines = (to_json_line(r) for r in records)
            counts = _count_by(records, "status")
        else:
            records.sort(key=_dead_sort_key)
            lines = (to_json_line(r, DEAD_LETTER_FIELDS) for r in records)
            counts = _count_by(records, "reason")
        # Streamed line by line: a shard's text is never joined into one string (measured on a
        # 10k-article drop: the joined text, its bytes and a whole-shard Arrow table were
        # ~280 MB of a 1.08 GB peak with one 69 MB shard).
        rel = shard_name(self.kind, shard, self.num_shards, "jsonl")
        yield _write(self.staging, rel, (line.encode("utf-8") + b"\n" for line in lines),
                     self.kind, "jsonl", len(records), counts,
                     [r["id"] for r in records] if self.kind == "articles" else None)
        if self.kind == "articles":
            rel = shard_name(self.kind, shard, self.num_shards, "parquet")
            yield _write(self.staging, rel, [parquet_bytes(records)], self.kind, "parquet",
                         len(records), counts, None)


# Rows per Parquet row group: the Arrow table of one group is in memory at a time. 1000 rows of
# our articles are ~7 MB of JSON text; readers lose nothing (the file is one unit either way).
PARQUET_ROWS = 1000


def parquet_bytes(records: list[dict]) -> bytes:
    """The records as one zstd Parquet file, written in row groups of PARQUET_ROWS."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    with pq.ParquetWriter(buf, ARTICLE_SCHEMA, compression="zstd") as writer:
        for i in range(0, len(records), PARQUET_ROWS):
            writer.write_table(pa.Table.from_pylist(records[i:i + PARQUET_ROWS],
                                                    schema=ARTICLE_SCHEMA))
        if not records:
            writer.write_table(pa.Table.from_pylist([], schema=ARTICLE_SCHEMA))
    return buf.getvalue()


def _count_by(records: list[dict], field: str) -> dict:
    counts: dict[str, int] = {}
    for r in records:
        counts[str(r.get(field, ""))] = counts.get(str(r.get(field, "")), 0) + 1
    return dict(sorted(counts.items()))


def _write(staging: str, rel: str, chunks: Iterable[bytes], kind: str, fmt: str, rows: int,
           counts: dict, ids: list[str] | None) -> dict:
    path = FileSystems.join(staging, *rel.split("/"))
    sha, size = hashlib.sha256(), 0
    with FileSystems.create(path) as handle:
        for chunk in chunks:
            handle.write(chunk)
            sha.update(chunk)
            size += len(chunk)
    info = {"kind": kind, "format": fmt, "path": rel, "rows": rows, "bytes": size,
            "sha256": sha.hexdigest(), "counts": counts}
    if ids is not None:
        info["ids_sha256"] = hashlib.sha256("\n".join(ids).encode()).hexdigest()
    return info


def write_results(results: list[dict], staging: str) -> None:
    path = FileSystems.join(staging, RESULTS_NAME)
    data = json.dumps(sorted(results, key=lambda r: (r["kind"], r.get("path", r.get("file", "")))),
                      ensure_ascii=False, indent=1).encode("utf-8")
    with FileSystems.create(path) as handle:
        handle.write(data)


def _sharded(pcoll, p, label: str, key_fn, num_shards: int):
    keyed = pcoll | f"Key {label}" >> beam.Map(lambda r: (shard_of(key_fn(r), num_shards), r))
    empties = p | f"Shards {label}" >> beam.Create([(i, None) for i in range(num_shards)],
                                                   reshuffle=False)
    return (keyed, empties) | f"All {label}" >> beam.Flatten() | f"Group {label}" >> beam.GroupByKey()


def build(p: beam.Pipeline, files: list[tuple[str, str]], drop: str, staging: str,
          config: Any, num_shards: int) -> dict:
    """Add the whole job to pipeline `p`. `files` are (path, name relative to the drop).

    Returns the main PCollections (cleaned articles, dead letters, file results) for tests."""
    limits = ParseLimits.from_settings(config)
    parsed = (
        p
        | "Files" >> beam.Create(files)
        | "Parse" >> beam.ParDo(ParseFileFn(drop, limits, config.progress)).with_outputs(
            DEAD, FILES, main="articles")
    )
    deduped = (
        parsed.articles
        | "Key by id" >> beam.Map(lambda a: (a["id"], a))
        | "Group by id" >> beam.GroupByKey()
        | "Dedupe" >> beam.ParDo(DedupeFn()).with_outputs(DEAD, main="articles")
    )
    # Repair evidence (issue 7): an English article and its other-language version at the same
    # URL see each other. Articles without a URL are their own group.
    with_siblings = (
        deduped.articles
        | "Key by url" >> beam.Map(lambda a: (a.get("url") or "\x00" + a["id"], a))
        | "Group by url" >> beam.GroupByKey()
        | "Siblings" >> beam.FlatMap(lambda kv: attach_siblings(list(kv[1])))
    )
    cleaned, stage_deads = apply_stages(with_siblings, config)
    dead = (
        [parsed[DEAD], deduped[DEAD], *stage_deads]
        | "Flatten dead letters" >> beam.Flatten()
    )
    article_files = (
        _sharded(cleaned, p, "articles", _article_sort_key, num_shards)
        | "Write articles" >> beam.ParDo(WriteShardFn(staging, "articles", num_shards))
    )
    dead_files = (
        _sharded(dead, p, "dead letters", lambda r: "".join(map(str, _dead_sort_key(r))), num_shards)
        | "Write dead letters" >> beam.ParDo(WriteShardFn(staging, "dead_letter", num_shards))
    )
    results = (article_files, dead_files, parsed[FILES]) | "All results" >> beam.Flatten()
    (
        results
        | "Collect" >> beam.combiners.ToList()
        | "Write results" >> beam.Map(write_results, staging)
    )
    return {"articles": cleaned, "dead": dead, "results": results}
