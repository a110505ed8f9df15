"""Disk shuffle for one machine: the drop waits on disk, the runner's shuffles carry file names.

Why: the local runner (FnApiRunner, also in multi_processing mode) keeps every GroupByKey's
data in its own memory. With whole articles going through three shuffles (dedupe by id, URL
siblings, sorted shard writes) a run's peak memory grew with the drop: 359 / 796 / 4,965 MB at
1k / 10k / 100k articles (docs/benchmarks.md, 2026-11-25 09:36), ~46 KB per article. Even
small references cost ~2 KB each in its grouping tables (100k dicts of ~200 bytes through two
GroupByKeys: 132 -> 341 MB, measured with a bare Beam pipeline).

So on one machine (`--shuffle disk`, the default for local runners; pipeline/run.py):
- every parsed article is pickled into a *spill file* as it is parsed, and only a reference
  (id, url, input position, spill file/offset/length) goes on; the article is read back just
  before the stages;
- the dedupe by id and the URL-sibling groups sort the references into *runs* (REF_BY_ID,
  REF_BY_URL) and merge them per shard (`merged_groups`: a GroupByKey streamed from disk);
- every output record is written into sorted runs by the step that makes it, and each output
  shard is a streaming k-way merge of its runs (`write_shard` takes any sorted iterator).
What goes through Beam's GroupByKeys is (shard, run file name) pairs: a few per shard.
Distributed runners shuffle outside the worker's memory already; there `--shuffle beam` keeps
the plain GroupByKey graph, and both shapes write byte-identical files (tests/test_spill.py):
the order of every shard is the total order of `record_entry`, not the order of arrival.

Files live under a directory the driver creates and removes (pipeline/run.py `spill_dir`);
they must be on a filesystem every worker can open with plain `open()`, i.e. this machine.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
import operator
import os
import pickle
import uuid
from typing import Any, Iterable, Iterator

import apache_beam as beam

from pipeline.schema import ARTICLE_SCHEMA, DEAD_LETTER_FIELDS, to_json_line
from transforms.record import sort_key_for_provenance

# An entry of a shard: (sort key, count tag, JSON line). Shards are written in entry order.
Entry = tuple[str, str, str]

# Bytes of JSON lines a writer buffers before it sorts them and writes a run. 32 MiB bounds a
# worker's write buffer (the lines plus their keys, ~2x in Python objects) while keeping a
# shard's runs few: the 10k-article bench drop writes 72 MB of article lines, i.e. 3 flushes
# for one worker, 30 for 100k; a shard's merge keeps one line per run in memory.
RUN_BYTES = 32 * 1024 * 1024

# Rows per Parquet row group: the Arrow table of one group is in memory at a time. 1000 rows of
# our articles are ~7 MB of JSON text; readers lose nothing (the file is one unit either way).
PARQUET_ROWS = 1000


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


def dead_sort_key(record: dict) -> str:
    """Dead letters in input order, then stage, id and raw hash ("\\x00" separates the parts;
    the line itself breaks any remaining tie, see `record_entry`).

    >>> dead_sort_key({"provenance": {"file": "a", "line": 2}, "stage": "parse"}).split("\\x00")
    ['a', '000000002', '000000000', 'parse', '', '']
    """
    return "\x00".join((sort_key_for_provenance(record.get("provenance") or {}),
                        str(record.get("stage", "")), str(record.get("id", "")),
                        str(record.get("raw_sha256", ""))))


def url_key(item: dict) -> str:
    r"""The URL-sibling group of an article or reference; articles without a URL are their own
    group.

    >>> url_key({"id": "a", "url": "u"}), url_key({"id": "a", "url": ""})
    ('u', '\x00a')
    """
    return item.get("url") or "\x00" + item["id"]


# Kinds of runs: the two output kinds, and references sorted for the dedupe (by id, copies in
# input order) and for the URL-sibling groups (by URL, then id).
REF_BY_ID = "ref_id"
REF_BY_URL = "ref_url"


def record_entry(kind: str, record: dict) -> Entry:
    r"""The shard entry of a record: articles sort by id, dead letters by input order,
    references by id then input position, or by URL then id.

    >>> record_entry("articles", {"id": "x", "status": "english"})[:2]
    ('x', 'english')
    >>> ref = {"id": "x", "url": "u", "provenance": {"file": "f", "line": 3}}
    >>> record_entry(REF_BY_ID, ref)[:2], record_entry(REF_BY_URL, ref)[:2]
    (('x', 'f\x00000000003\x00000000000'), ('u', 'x'))
    """
    if kind == "articles":
        return record["id"], str(record.get("status", "")), to_json_line(record)
    if kind == REF_BY_ID:
        return (record["id"], sort_key_for_provenance(record["provenance"]),
                json.dumps(record, ensure_ascii=False))
    if kind == REF_BY_URL:
        return url_key(record), record["id"], json.dumps(record, ensure_ascii=False)
    return dead_sort_key(record), str(record.get("reason", "")), to_json_line(record,
                                                                              DEAD_LETTER_FIELDS)


def entry_shard(entry: Entry, num_shards: int) -> int:
    """The shard of an entry, by its sort key: articles by id, dead letters by input order."""
    return shard_of(entry[0], num_shards)


class _HashingSink:
    """A write-only file object that hashes and counts what passes through it."""

    def __init__(self, handle) -> None:
        self.handle = handle
        self.sha = hashlib.sha256()
        self.size = 0
        self.closed = False

    def write(self, data) -> int:
        data = bytes(data)
        self.handle.write(data)
        self.sha.update(data)
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:  # the caller closes the real handle
        self.closed = True


def write_shard(staging: str, kind: str, shard: int, num_shards: int,
                entries: Iterable[Entry]) -> list[dict]:
    """Write one shard from entries already in order, streaming: JSON Lines, and for articles
    Parquet in row groups of PARQUET_ROWS, both in one pass. Returns the file records."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from apache_beam.io.filesystems import FileSystems

    def create(ext: str):
        rel = shard_name(kind, shard, num_shards, ext)
        return rel, FileSystems.create(FileSystems.join(staging, *rel.split("/")))

    jsonl_rel, jsonl_handle = create("jsonl")
    jsonl = _HashingSink(jsonl_handle)
    parquet = writer = None
    if kind == "articles":
        parquet_rel, parquet_handle = create("parquet")
        parquet = _HashingSink(parquet_handle)
        writer = pq.ParquetWriter(pa.PythonFile(parquet, mode="w"), ARTICLE_SCHEMA,
                                  compression="zstd")
    rows, counts, ids_sha, rowgroup = 0, {}, hashlib.sha256(), []
    try:
        for key, tag, line in entries:
            jsonl.write(line.encode("utf-8") + b"\n")
            counts[tag] = counts.get(tag, 0) + 1
            if writer is not None:
                ids_sha.update((("\n" if rows else "") + key).encode("utf-8", "surrogatepass"))
                rowgroup.append(json.loads(line))
                if len(rowgroup) >= PARQUET_ROWS:
                    writer.write_table(pa.Table.from_pylist(rowgroup, schema=ARTICLE_SCHEMA))
                    rowgroup = []
            rows += 1
        if writer is not None and (rowgroup or not rows):
            writer.write_table(pa.Table.from_pylist(rowgroup, schema=ARTICLE_SCHEMA))
    finally:
        if writer is not None:
            writer.close()
            parquet_handle.close()
        jsonl_handle.close()
    counts = dict(sorted(counts.items()))
    infos = [_info(kind, "jsonl", jsonl_rel, rows, jsonl, counts)]
    if writer is not None:
        infos[0]["ids_sha256"] = ids_sha.hexdigest()
        infos.append(_info(kind, "parquet", parquet_rel, rows, parquet, counts))
    return infos


def _info(kind: str, fmt: str, rel: str, rows: int, sink: _HashingSink, counts: dict) -> dict:
    return {"kind": kind, "format": fmt, "path": rel, "rows": rows, "bytes": sink.size,
            "sha256": sink.sha.hexdigest(), "counts": counts}


# --- spill files: parsed articles on disk, references in the shuffles -------------------------

def load_spilled(ref: dict, root: str) -> dict:
    """The article a reference points to (its spill file is named relative to `root`); `at` is
    a tuple, or a list once the reference went through a run file."""
    name, offset, length = ref["at"]
    with open(os.path.join(root, "parsed", name), "rb") as handle:
        handle.seek(offset)
        return pickle.loads(handle.read(length))


# What of the provenance a reference keeps: the input order (dedupe keeps the first copy) and
# what the duplicate's dead letter names. Everything else waits in the spill file: references
# are what the shuffles hold, per article (measured growth with these fields: bench_pipeline).
REF_PROVENANCE = ("file", "line", "entry")


class SpillFn(beam.DoFn):
    """article -> small reference; the article is appended to this bundle's spill file."""

    def __init__(self, root: str) -> None:
        self.root = root

    def start_bundle(self) -> None:
        self._handle = None

    def process(self, article: dict) -> Iterator[dict]:
        if self._handle is None:
            os.makedirs(os.path.join(self.root, "parsed"), exist_ok=True)
            self._name = uuid.uuid4().hex + ".pkl"
            self._handle = open(os.path.join(self.root, "parsed", self._name), "wb")
        data = pickle.dumps(article, protocol=pickle.HIGHEST_PROTOCOL)
        offset = self._handle.tell()
        self._handle.write(data)
        prov = article["provenance"]
        yield {"id": article["id"], "url": article.get("url") or "",
               "provenance": {k: prov[k] for k in REF_PROVENANCE if prov.get(k) is not None},
               "at": (self._name, offset, len(data))}

    def finish_bundle(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


# --- sorted runs: output records on disk, merged per shard --------------------------------------

def write_run(path: str, entries: list[Entry]) -> None:
    """Entries sorted into one run file: `["key","tag"]<TAB>line` per line (JSON escapes every
    tab and newline inside the key, tag and line, so the split is unambiguous)."""
    entries.sort()
    with open(path, "wb") as handle:
        for key, tag, line in entries:
            handle.write((json.dumps([key, tag], ensure_ascii=False) + "\t" + line + "\n")
                         .encode("utf-8", "surrogatepass"))


def read_run(path: str) -> Iterator[Entry]:
    with open(path, "rb") as handle:
        for raw in handle:
            head, line = raw.rstrip(b"\n").split(b"\t", 1)
            key, tag = json.loads(head)
            yield key, tag, line.decode("utf-8", "surrogatepass")


def merge_runs(paths: Iterable[str]) -> Iterator[Entry]:
    """The entries of several sorted runs, in order (streaming: one line per run in memory)."""
    return heapq.merge(*(read_run(p) for p in sorted(paths)))


def merged_groups(element: tuple[int, Iterable[str]]) -> Iterator[tuple[str, list[dict]]]:
    """(shard, run paths of references) -> (key, [references]) per key, in key order: what a
    GroupByKey would give, but streamed from disk (one group in memory at a time).

    The references of one key come in entry order: by input position for REF_BY_ID runs."""
    _, paths = element
    for key, entries in itertools.groupby(merge_runs(p for p in paths if p is not None),
                                          key=operator.itemgetter(0)):
        yield key, [json.loads(line) for _, _, line in entries]


class WriteRunsFn(beam.DoFn):
    """Output records -> sorted run files per shard; yields (shard, run path)."""

    def __init__(self, root: str, kind: str, num_shards: int, run_bytes: int | None = None) -> None:
        self.root = root
        self.kind = kind
        self.num_shards = num_shards
        self.run_bytes = run_bytes  # None: RUN_BYTES, looked up when the worker runs

    def start_bundle(self) -> None:
        self._buffers: dict[int, list[Entry]] = {}
        self._bytes = 0

    def process(self, record: dict) -> Iterator[tuple[int, str]]:
        entry = record_entry(self.kind, record)
        self._buffers.setdefault(entry_shard(entry, self.num_shards), []).append(entry)
        self._bytes += len(entry[2])
        if self._bytes >= (self.run_bytes or RUN_BYTES):
            yield from self._flush()

    def finish_bundle(self) -> Iterator[Any]:
        from apache_beam.transforms.window import GlobalWindow
        from apache_beam.utils.timestamp import MIN_TIMESTAMP
        from apache_beam.utils.windowed_value import WindowedValue

        for item in self._flush():
            yield WindowedValue(item, MIN_TIMESTAMP, [GlobalWindow()])

    def _flush(self) -> Iterator[tuple[int, str]]:
        folder = os.path.join(self.root, "runs", self.kind)
        os.makedirs(folder, exist_ok=True)
        for shard in sorted(self._buffers):
            path = os.path.join(folder, f"{shard:05d}-{uuid.uuid4().hex}.run")
            write_run(path, self._buffers[shard])
            yield shard, path
        self._buffers, self._bytes = {}, 0

