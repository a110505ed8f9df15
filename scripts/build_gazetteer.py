"""Build the name gazetteer (transforms/names.py) from a public dataset of public figures.

    python scripts/build_gazetteer.py SOURCE [SOURCE ...] --source-name NAME --commit SHA \
        --licence LICENCE [--output transforms/data/public_figures.tsv]

A SOURCE is a file of Wikidata-derived person records, one of:
- CSV with a Wikidata id column (`id`, `item`, `qid` or `personID`) and an English name column
  (`name__en`, `en`, `name`, `itemLabel` or `person`), optionally Arabic and French columns
  (`name__ar`/`ar`, `name__fr`/`fr`): the EveryPolitician and every-politician-scrapers layouts;
- JSON lines of Wikidata entities ({"id": "Q..", "labels": {"en": {"value": ..}, ..}}): the
  Wikidata dump layout.

Output: a UTF-8 text file, '#' header lines naming the source, commit and licence, then one line
per person sorted by name: English name, Wikidata id, Arabic label, French label, tab-separated.
The loader reads the first column only, so a user's file of one name per line is the same format.

Kept: records whose English label reads as a personal name written in Latin letters (2 to 6
words, each starting with a capital, no digits or brackets): a label such as "Minister of
Defence" or "Q123" is no spelling evidence. Deterministic: the same sources give the same bytes.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from pathlib import Path

ID_COLS = ("id", "item", "qid", "personID")
EN_COLS = ("name__en", "en", "name", "itemLabel", "person")
AR_COLS = ("name__ar", "ar")
FR_COLS = ("name__fr", "fr")
_QID = re.compile(r"^Q[1-9]\d*$")
# A personal name in Latin letters: capitalised words, optional particles ("bin", "al-", "de").
_WORD = re.compile(r"^(?:[A-ZÀ-ÞĀ-Ž][\w'’.\-]*|al-\w+|el-\w+|bin|ibn|de|du|da|van|von|der|la|le)$")
_DEFAULT_OUT = Path(__file__).resolve().parents[1] / "transforms" / "data" / "public_figures.tsv"

csv.field_size_limit(1 << 24)


def is_person_name(label: str) -> bool:
    """English labels usable as spelling evidence.

    >>> [is_person_name(s) for s in ("Yoav Gallant", "Mahmoud Abbas", "Abd al-Aziz al-Zubi",
    ...      "Gallant", "Minister of Defence", "Q723506", "Louis XIV (king)")]
    [True, True, True, False, False, False, False]
    """
    words = label.split()
    if not 2 <= len(words) <= 6 or any(c.isdigit() or c in "()[]/,;:" for c in label):
        return False
    if not words[0][:1].isupper() or not re.sub(r"^(?:al|el)-", "", words[-1])[:1].isupper():
        return False
    return all(_WORD.match(w) for w in words)


def _pick(row: dict, cols: tuple[str, ...]) -> str:
    for c in cols:
        value = (row.get(c) or "").strip()
        if value:
            return value
    return ""


def _clean(value: str) -> str:
    return " ".join(value.replace("\t", " ").split())


def read_records(path: Path):
    """(qid, en, ar, fr) for each record of a CSV or JSON-lines file."""
    if path.suffix in (".jsonl", ".ndjson", ".json"):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                line = line.strip().rstrip(",")
                if not line.startswith("{"):
                    continue
                entity = json.loads(line)
                labels = entity.get("labels") or {}
                label = {lang: (labels.get(lang) or {}).get("value", "")
                         for lang in ("en", "ar", "fr")}
                yield entity.get("id", ""), label["en"], label["ar"], label["fr"]
        return
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            yield _pick(row, ID_COLS), _pick(row, EN_COLS), _pick(row, AR_COLS), _pick(row, FR_COLS)


def build(paths, source_name: str, commit: str, licence: str) -> str:
    """The gazetteer text for the given source files.

    >>> import tempfile, os
    >>> d = tempfile.mkdtemp(); p = Path(d, "people.csv")
    >>> _ = p.write_text("id,name__en,name__ar,name__fr\\nQ1,Ann Example,آن,Ann Exemple\\n"
    ...                  "Q2,Minister of Things,,\\nQ1,Ann Example,,\\n", encoding="utf-8")
    >>> print(build([p], "test", "abc", "CC0-1.0"), end="")
    # newsnorm name gazetteer: one canonical English name per line; tab-separated columns:
    # name, Wikidata id, Arabic label, French label. Built by scripts/build_gazetteer.py.
    # source: test
    # commit: abc
    # licence: CC0-1.0
    # files: people.csv
    # records: 1
    Ann Example	Q1	آن	Ann Exemple
    """
    rows: dict[tuple[str, str], tuple[str, str]] = {}
    for path in paths:
        for qid, en, ar, fr in read_records(Path(path)):
            qid, en, ar, fr = (_clean(x) for x in (qid, en, ar, fr))
            if not _QID.match(qid) or not is_person_name(en):
                continue
            old_ar, old_fr = rows.get((en, qid), ("", ""))
            rows[(en, qid)] = (old_ar or ar, old_fr or fr)
    head = [
        "# newsnorm name gazetteer: one canonical English name per line; tab-separated columns:",
        "# name, Wikidata id, Arabic label, French label. Built by scripts/build_gazetteer.py.",
        f"# source: {source_name}",
        f"# commit: {commit}",
        f"# licence: {licence}",
        "# files: " + " ".join(sorted(Path(p).name for p in paths)),
        f"# records: {len(rows)}",
    ]
    body = ["\t".join((en, qid, ar, fr)) for (en, qid), (ar, fr) in
            sorted(rows.items(), key=lambda kv: (kv[0][0], int(kv[0][1][1:])))]
    return "\n".join(head + body) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("sources", nargs="+", type=Path)
    ap.add_argument("--source-name", required=True, help="dataset name, e.g. owner/repo")
    ap.add_argument("--commit", required=True, help="dataset commit or version")
    ap.add_argument("--licence", required=True, help="dataset licence, e.g. CC0-1.0")
    ap.add_argument("--output", type=Path, default=_DEFAULT_OUT)
    args = ap.parse_args(argv)
    missing = [str(p) for p in args.sources if not p.is_file()]
    if missing:
        ap.error("no such file: " + ", ".join(missing))
    text = build(args.sources, args.source_name, args.commit, args.licence)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    count = text.count("\n") - 7
    print(f"{args.output}: {count} names, {len(text.encode())} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
