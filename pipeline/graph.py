"""The Beam graph: files -> parse -> dedupe -> stages -> sharded, sorted writes.

Owns: the shape of the pipeline and the writers. Outputs go to a staging directory given by the
driver (pipeline/run.py), which publishes them and writes the manifest last.

Determinism: every record is keyed by a hash of its sort key into a fixed number of shards,
and each shard is written in the total order of `spill.record_entry`, so a rerun (in any input
order, with any worker count) writes byte-identical files. The shuffles before the stages also
spread work across workers (Beam 2.77: multi_processing only splits work after a
shuffle).

Two shapes, same files: with `spill` (a local directory; `--shuffle disk`, the default on one
machine) only small references go through the shuffles and the articles wait on disk
(pipeline/spill.py says why); without it (`--shuffle beam`, for distributed runners) whole
records go through Beam's GroupByKeys.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from typing import Any, Callable, Iterable

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from apache_beam.pvalue import TaggedOutput

from pipeline import templates as source_templates
from pipeline.guard import Refused, open_input, portable_path
from pipeline.outputs import SplitOutputs
from pipeline.inputs import read_lines
from pipeline.options import JobConfig
from pipeline.source_language import SourceLanguages
from pipeline.spill import (REF_BY_ID, REF_BY_URL, SpillFn, WriteRunsFn, entry_shard,
                            load_spilled, merge_runs, merged_groups, record_entry, url_key,
                            write_shard)
from pipeline.stages import DEAD, NAMESPACE, apply_stages, describe_exception
from transforms.ingest import ParseLimits, parse_file
from transforms.record import article_as_raw, dead_letter, sort_key_for_provenance
from pipeline.siblings import attach_siblings

log = logging.getLogger("newsnorm")

FILES = "files"
RESULTS_NAME = "_results.json"


class ParseFileFn(beam.DoFn):
    """(path, relative name) -> articles, with dead letters and a per-file summary on the side."""

    def __init__(self, drop: str, limits: ParseLimits, progress: bool = True,
                 root: str | None = None, follow_symlinks: bool = False) -> None:
        self.drop = drop
        self.limits = limits
        self.progress = progress
        self.root = root  # files must stay inside it (pipeline/guard.py open_input)
        self.follow_symlinks = follow_symlinks
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
            with open_input(path, self.root, self.follow_symlinks) as handle:
                for result in parse_file(name, read_lines(handle), self.drop, self.limits):
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
        except Refused as exc:  # not a regular file, or a link out of the drop: not read
            units += 1
            deads += 1
            yield TaggedOutput(DEAD, dead_letter("parse", exc.reason, exc.detail, b"",
                                                 {"drop": self.drop, "file": name}))
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


class DedupeFn(beam.DoFn):
    """(id, [articles or references]) -> the first by input order; later copies are dead letters.

    `load` turns a later copy into its article (references point into spill files)."""

    def __init__(self, load: Callable[[dict], dict] | None = None) -> None:
        self.load = load

    def process(self, element: tuple[str, Iterable[dict]]) -> Iterable[Any]:
        article_id, group = element
        items = sorted(group, key=lambda a: sort_key_for_provenance(a["provenance"]))
        yield items[0]
        first = items[0]["provenance"]
        for dup in items[1:]:
            if self.load is not None:
                dup = self.load(dup)
            yield TaggedOutput(DEAD, dead_letter(
                "dedupe", "duplicate_id",
                f"id {article_id!r} already taken by {first.get('file')} "
                f"line {first.get('line')} entry {first.get('entry')}",
                article_as_raw(dup), dup["provenance"], article_id))


class WriteShardFn(beam.DoFn):
    """(shard, entries or run paths) -> the shard's file(s) under the staging dir, and their
    file records. Entries are sorted here; run paths (disk shuffle) are merged."""

    def __init__(self, staging: str, kind: str, num_shards: int, runs: bool = False) -> None:
        self.staging = staging
        self.kind = kind
        self.num_shards = num_shards
        self.runs = runs

    def process(self, element: tuple[int, Iterable[Any]]) -> Iterable[dict]:
        shard, group = element
        items = [r for r in group if r is not None]
        entries = merge_runs(items) if self.runs else sorted(items)
        yield from write_shard(self.staging, self.kind, shard, self.num_shards, entries)


def write_results(results: list[dict], staging: str) -> None:
    path = FileSystems.join(staging, RESULTS_NAME)
    data = json.dumps(sorted(results, key=lambda r: (r["kind"], r.get("path", r.get("file", "")))),
                      ensure_ascii=False, indent=1).encode("utf-8")
    with FileSystems.create(path) as handle:
        handle.write(data)


# Shards of the reference runs (dedupe by id, URL groups). They are the units multi_processing
# workers share the stages' work in (a shard's articles go through the stages in one bundle),
# so more shards than workers keep the workers evenly loaded; 32 files per kind per bundle
# are cheap.
REF_SHARDS = 32


class _GroupedOnDisk(beam.PTransform):
    """references -> (key, [references]) like GroupByKey, through sorted runs on disk."""

    def __init__(self, spill: str, kind: str, label: str) -> None:
        super().__init__(label=f"Group by {label} on disk")
        self.spill = spill
        self.kind = kind

    def expand(self, refs):
        return (
            refs
            | "Runs" >> beam.ParDo(WriteRunsFn(self.spill, self.kind, REF_SHARDS))
            | "Group runs" >> beam.GroupByKey()
            | "Merge runs" >> beam.FlatMap(merged_groups)
        )


def _keyed_entry(record: dict, kind: str, num_shards: int) -> tuple[int, tuple]:
    """record -> (shard, entry): serialised once, here, and sorted as is by WriteShardFn."""
    entry = record_entry(kind, record)
    return entry_shard(entry, num_shards), entry


def _sharded(pcoll, p, label: str, num_shards: int):
    """(shard, item) -> every shard's group, empty shards included."""
    empties = p | f"Shards {label}" >> beam.Create([(i, None) for i in range(num_shards)],
                                                   reshuffle=False)
    return (pcoll, empties) | f"All {label}" >> beam.Flatten() | f"Group {label}" >> beam.GroupByKey()


def build(p: beam.Pipeline, files: list[tuple[str, str]], drop: str, staging: str,
          config: JobConfig, num_shards: int, spill: str | None = None,
          templates: dict | None = None, root: str | None = None) -> dict:
    """Add the whole job to pipeline `p`. `files` are (path, name relative to the drop);
    `spill`: a local directory for the disk shuffle (None: Beam's shuffles hold the data);
    `templates`: per-source template learning (pipeline/templates.prepare; None: off);
    `root`: the directory input files must really be in (pipeline/guard.py `input_root`;
    None: not checked).

    Returns the main PCollections (cleaned articles, dead letters, file results) for tests."""
    limits = ParseLimits.from_settings(config)
    parse_fn = ParseFileFn(drop, limits, config.progress, root, config.follow_symlinks)
    parsed = (
        p
        # Paths that are not UTF-8 travel as bytes (Beam's string coder refuses them).
        | "Files" >> beam.Create([(portable_path(path), name) for path, name in files])
        | "Parse" >> SplitOutputs(parse_fn, DEAD, FILES, main="articles")
    )
    # Dedupe by id, then URL siblings (issue 7: an English article and its other-language
    # version at the same URL see each other). Disk shuffle: references sorted into run files
    # and merged per shard, so no shuffle holds anything per article; else Beam's GroupByKeys.
    if spill:
        load = functools.partial(load_spilled, root=spill)
        by_id = (
            parsed.articles
            | "Spill" >> beam.ParDo(SpillFn(spill))
            | _GroupedOnDisk(spill, REF_BY_ID, "id")
        )
    else:
        load = None
        by_id = (
            parsed.articles
            | "Key by id" >> beam.Map(lambda a: (a["id"], a))
            | "Group by id" >> beam.GroupByKey()
        )
    deduped = by_id | "Dedupe" >> SplitOutputs(DedupeFn(load), DEAD, main="articles")
    if spill:
        by_url = deduped.articles | _GroupedOnDisk(spill, REF_BY_URL, "url")
    else:
        by_url = (
            deduped.articles
            | "Key by url" >> beam.Map(lambda a: (url_key(a), a))
            | "Group by url" >> beam.GroupByKey()
        )
    with_siblings = by_url | "Siblings" >> beam.FlatMap(
        lambda kv: attach_siblings([load(a) for a in kv[1]] if load else list(kv[1])))
    if templates and templates.get("mode", "off") != "off":
        with_siblings = source_templates.with_templates(with_siblings, parsed.articles,
                                                        templates, staging)
    # Each source's language distribution in this drop, for the language stage's source prior
    # (issue 18): computed from the parsed articles, so it is ready before the shuffles end.
    source_langs = parsed.articles | SourceLanguages()
    cleaned, stage_deads = apply_stages(with_siblings, config,
                                        side_inputs={"language": source_langs})
    dead_parts = [parsed[DEAD], deduped[DEAD], *stage_deads]
    dead = dead_parts | "Flatten dead letters" >> beam.Flatten()
    written = []
    for kind, parts in (("articles", [cleaned]), ("dead_letter", dead_parts)):
        if spill:
            # Each producer writes its own runs (a Flatten in front would be buffered whole).
            keyed = [part | f"Runs {kind} {i}" >> beam.ParDo(WriteRunsFn(spill, kind, num_shards))
                     for i, part in enumerate(parts)]
        else:
            keyed = [part | f"Key {kind} {i}" >> beam.Map(_keyed_entry, kind, num_shards)
                     for i, part in enumerate(parts)]
        written.append(
            _sharded(keyed | f"Flatten {kind}" >> beam.Flatten(), p, kind, num_shards)
            | f"Write {kind}" >> beam.ParDo(WriteShardFn(staging, kind, num_shards, bool(spill))))
    results = (*written, parsed[FILES]) | "All results" >> beam.Flatten()
    # One group under one key, not combiners.ToList: ToList injects its default through a side
    # input, which Beam's DaskRunner computes again inside a task (deploy/dask.md).
    (
        results
        | "Key results" >> beam.Map(lambda r: (0, r))
        | "Collect" >> beam.GroupByKey()
        | "Write results" >> beam.MapTuple(lambda _, rs: write_results(list(rs), staging))
    )
    return {"articles": cleaned, "dead": dead, "results": results}
