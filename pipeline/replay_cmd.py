"""`newsnorm replay OUT --input DROP [--id ID]`: re-derive every output body from the drop.

The promise (README "Replay"): an article's `title` and `body` are exactly its input record's
title and body (as the file holds them; for feeds and HTML pages, the text the parser
extracted), with the article's logged `repairs` applied in order, parse steps first. This command checks it
with what a user has: it re-parses the drop with the pipeline's own parser (pipeline/inputs.py),
finds each output article's input record by its provenance (file, line, entry), replays the
steps on the record's title and body and compares with the output. Exit 0 when every article
replays exactly, 1 when any differs (one line each), 2 for a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Iterator, Sequence


def output_articles(out_dir: str) -> Iterator[dict]:
    """Every article record in an output directory, from the files its manifest lists."""
    from apache_beam.io.filesystems import FileSystems

    from pipeline.manifest import load, read_bytes

    manifest = load(out_dir)
    if manifest is None:
        raise ValueError(f"{out_dir}: no readable manifest.json (not an output directory, or "
                         "the run did not finish)")
    for f in manifest.get("files", []):
        if f.get("kind") == "articles" and f.get("format") == "jsonl":
            data = read_bytes(FileSystems.join(out_dir, *f["path"].split("/")))
            for line in data.decode("utf-8").splitlines():
                yield json.loads(line)


def first_difference(a: str, b: str) -> str:
    """Where two texts part, shown briefly.

    >>> first_difference("abc\\n\\nd", "abc\\nd")
    "at character 4: '\\\\nd' != 'd'"
    """
    i = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return f"at character {i}: {a[i:i + 30]!r} != {b[i:i + 30]!r}"


def replay_problems(article: dict, record: dict) -> list[str]:
    """[] when the article's title and body are its input record's with its steps applied."""
    from transforms.replay import ReplayError, replay_article_field

    problems = []
    for field in ("title", "body"):
        try:
            replayed = replay_article_field(article, field, record.get(field) or "")
        except ReplayError as exc:
            problems.append(f"{field}: {exc}")
            continue
        if replayed != (article.get(field) or ""):
            problems.append(f"{field}: replayed text differs from the output "
                            + first_difference(replayed, article.get(field) or ""))
    return problems


def replay_output(out_dir: str, input_path: str, only_id: str | None = None
                  ) -> tuple[int, list[str]]:
    """(articles checked, problems) for an output directory and the drop it was made from."""
    from pipeline.manifest import describe_unit, load, provenance_key
    from pipeline.inputs import parse_drop
    from transforms.ingest import ParseLimits
    from transforms.record import input_text

    manifest = load(out_dir) or {}
    limits = ParseLimits.from_settings(manifest.get("config") or {})
    inputs = {}
    for _, result in parse_drop(input_path, limits):
        article = getattr(result, "article", None)
        if article is not None:
            # The record's own text, before parsing changed anything (that is logged too).
            inputs[provenance_key(article["provenance"])] = {
                f: input_text(result.fields, f) for f in ("title", "body")}
    checked, problems = 0, []
    for article in output_articles(out_dir):
        if only_id is not None and article.get("id") != only_id:
            continue
        checked += 1
        key = provenance_key(article.get("provenance"))
        record = inputs.get(key) if key else None
        name = f"article {article.get('id')!r}"
        if record is None:
            where = describe_unit(key) if key else "no provenance"
            problems.append(f"{name}: its input ({where}) is not in {input_path}")
            continue
        problems += [f"{name}: {p}" for p in replay_problems(article, record)]
    if only_id is not None and checked == 0:
        problems.append(f"no article with id {only_id!r} in {out_dir}")
    return checked, problems


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsnorm replay",
        description="re-derive every output title and body from the drop and the logged steps")
    parser.add_argument("output", help="an output directory written by `newsnorm run`")
    parser.add_argument("--input", required=True, metavar="PATH", help="the drop it was made from")
    parser.add_argument("--id", help="check only the article with this id")
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        checked, problems = replay_output(args.output, args.input, args.id)
    except Exception as exc:  # noqa: BLE001 - e.g. input not found: one line, not a traceback
        print(f"newsnorm replay: error: {exc}", file=sys.stderr)
        return 2
    for p in problems:
        print(f"DIFF {p}", file=sys.stderr)
    if problems:
        print(f"newsnorm replay: {len(problems)} difference(s) in {checked} article(s)",
              file=sys.stderr)
        return 1
    print(f"OK {args.output}: {checked} article(s); every title and body is its input with "
          "its logged steps replayed")
    return 0
