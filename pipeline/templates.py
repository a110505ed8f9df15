"""Per-source template learning in the Beam graph (issue 16), kept apart from graph.py.

Owns: the branch that counts, per source, the lines of the parsed articles (a CombinePerKey
over each article's hashed lines into a bounded Misra-Gries sketch: transforms/templates.py),
decides each source's templates with the store's counts, and hands them to the stages as a
side input attached to each article (`source_templates`, read and dropped by the boilerplate
stage). The drop's counts are also written to the staging directory so the driver can fold
them into the store (`--templates update`).

Memory: an article contributes only its line hashes, and each source's sketch holds at most
SKETCH_CAPACITY keys, so counting does not grow with the number of articles. The branch reads
the parsed articles before the dedupe shuffle; the side input is consumed after it, so no
whole article waits for the counts.
"""

from __future__ import annotations

import json

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from pipeline.options import JobConfig
from transforms import templates as tpl

COUNTS_NAME = "_templates.json"


class SketchCombineFn(beam.CombineFn):
    """{hash: sample} per article -> the source's Sketch (as a dict)."""

    def create_accumulator(self) -> tpl.Sketch:
        return tpl.Sketch()

    def add_input(self, acc: tpl.Sketch, segments: dict) -> tpl.Sketch:
        return acc.add(segments)

    def merge_accumulators(self, accs) -> tpl.Sketch:
        accs = iter(accs)
        first = next(accs)
        for other in accs:
            first.merge(other)
        return first

    def extract_output(self, acc: tpl.Sketch) -> dict:
        return acc.to_dict()


def _segments(article: dict) -> tuple[str, dict]:
    return tpl.source_key(article), tpl.article_segments(article.get("body") or "")


def _decide(kv: tuple[str, dict], stored: dict, drop_in_store: bool):
    source, counts = kv
    drop = None if drop_in_store else counts  # already folded into the store: count it once
    decided = tpl.decide(source, drop, stored.get(source))
    if decided:
        yield source, decided


def attach(article: dict, learned: dict) -> dict:
    found = learned.get(tpl.source_key(article))
    if found:
        article["source_templates"] = found
    return article


def _write_counts(per_source: list, staging: str) -> None:
    data = json.dumps(dict(sorted(per_source)), ensure_ascii=False, sort_keys=True)
    with FileSystems.create(FileSystems.join(staging, COUNTS_NAME)) as handle:
        handle.write(data.encode("utf-8"))


class LearnSourceTemplates(beam.PTransform):
    """parsed articles -> PCollection of (source, templates) for an AsDict side input."""

    def __init__(self, staging: str, stored: dict, drop_in_store: bool) -> None:
        super().__init__(label="Learn source templates")
        self.staging = staging
        self.stored = stored
        self.drop_in_store = drop_in_store

    def expand(self, articles):
        counts = (
            articles
            | "Template lines" >> beam.Map(_segments)
            | "Count per source" >> beam.CombinePerKey(SketchCombineFn())
        )
        (
            counts
            | "Collect template counts" >> beam.combiners.ToList()
            | "Write template counts" >> beam.Map(_write_counts, self.staging)
        )
        return counts | "Decide templates" >> beam.FlatMap(_decide, self.stored,
                                                           self.drop_in_store)


def with_templates(p_articles, parsed_articles, state: dict, staging: str):
    """`p_articles` with each article's source templates attached; `state` from `prepare`."""
    learned = parsed_articles | LearnSourceTemplates(
        staging, state.get("counts", {}), bool(state.get("drop_in_store")))
    return p_articles | "Attach source templates" >> beam.Map(
        attach, beam.pvalue.AsDict(learned))


# ----------------------------------------------------------------------------- the driver


def default_store(models_dir: str) -> str:
    """Next to the models: <models dir>/../templates/store.json (a small JSON file)."""
    import os

    return os.path.join(os.path.dirname(os.path.abspath(models_dir)), "templates", "store.json")


def prepare(config: JobConfig, drop_fingerprint: str) -> dict:
    """Before the run: the store read once (mode read or update). Raises ValueError for a store
    that is not ours. What the graph needs and what the manifest records."""
    mode = config.templates
    path = config.templates_store or default_store(config.models_dir)
    state = {"mode": mode, "store": path if mode != "off" else "", "digest": "",
             "counts": {}, "drop_in_store": False}
    if mode == "off":
        return state
    store, digest = tpl.load_store(path)
    state["digest"] = digest
    state["counts"] = tpl.stored_counts(store)
    state["drop_in_store"] = drop_fingerprint in store.get("drops", [])
    return state


def finish(state: dict, staging: str, drop_fingerprint: str) -> dict:
    """After the run: read the drop's counts, fold them into the store (mode update) and return
    the manifest's `templates` section (mode, store, digest used, digest after, per source:
    articles and template lines). Logs one line per source with its evidence."""
    import logging

    log = logging.getLogger("newsnorm")
    section = {"mode": state["mode"], "store": state["store"], "digest": state["digest"],
               "digest_after": state["digest"], "sources": {}}
    if state["mode"] == "off":
        return section
    path = FileSystems.join(staging, COUNTS_NAME)
    drop: dict = {}
    if FileSystems.exists(path):
        with FileSystems.open(path, compression_type="uncompressed") as handle:
            drop = json.loads(handle.read())
    for source in sorted(set(drop) | set(state["counts"])):
        here = None if state["drop_in_store"] else drop.get(source)
        decided = tpl.decide(source, here, state["counts"].get(source))
        lines = decided["templates"] if decided else {}
        section["sources"][source] = {"articles_in_drop": int(drop.get(source, {}).get(
            "articles", 0)), "template_lines": len(lines)}
        if source in drop and lines:
            h, (n, sample) = max(lines.items(), key=lambda kv: (kv[1][0], kv[0]))
            log.info("templates: %s: %d line(s), e.g. %r %s", source, len(lines), sample[:60],
                     tpl.evidence(decided, h).split(": ", 1)[1])
    if state["mode"] == "update":
        store, digest = tpl.load_store(state["store"])
        if digest != state["digest"]:
            raise ValueError(f"template store {state['store']} changed during the run; "
                             "not updated")
        if tpl.update_store(store, drop, drop_fingerprint):
            section["digest_after"] = tpl.save_store(state["store"], store)
    return section
