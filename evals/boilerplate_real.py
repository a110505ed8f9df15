"""Quality gate: boilerplate as real outlets print it (issue 16).

Data, read in place: ../shared/eval/news_real/dev.jsonl (150 scraped Arabic articles from
three outlets with their boilerplate strings labelled, 50 controls) and our own English and
French fixtures in tests/fixtures/boilerplate_real/*.jsonl (same fields: `id`, `outlet`,
`url`, `title`, `body`, `lang`, `control`, `artifact_kinds` {kind: [exact substrings of body]},
`artifacts`). The whole file is one drop, as the pipeline would see it: templates are learned
per source (the outlet) from all its articles with the graph's own functions
(transforms/templates.py), then each article goes through the normalize and boilerplate
stages.

Scores: a labelled string is removed when it is no longer in the body (both sides with
whitespace collapsed and the normalize stage's fixes applied to the string); a dead-lettered
article has no body. Controls: the share of their words (as a multiset) still in the body.

Split (written once, never changed): an item is in the tuning part when the last hex digit of
sha1(id) is below "c" (75%), else in the frozen part. Rules and thresholds were tuned on the
tuning part only; both parts are printed. The gate fails when, on either part, less than 95%
of the labelled strings are removed or the controls keep less than 99% of their words, or when
the two parts' removal rates differ by more than 2 points.

    python -m evals.boilerplate_real [--data FILE] [--fixtures DIR] [--show N] [--no-templates]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

from transforms import boilerplate, normalize, templates
from transforms.record import Reject, new_article
from transforms.replay import replay

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NEWSNORM_SHARED", REPO.parent / "shared"))
DATA = SHARED / "eval" / "news_real" / "dev.jsonl"
FIXTURES = REPO / "tests" / "fixtures" / "boilerplate_real"

MIN_REMOVED = 0.95
MIN_CONTROL_WORDS = 0.99
MAX_PART_GAP = 0.02


def part_of(item_id: str) -> str:
    """>>> part_of("ant:fd955be5f2056d2f")
    'tune'
    """
    return "tune" if hashlib.sha1(item_id.encode("utf-8")).hexdigest()[-1] < "c" else "frozen"


def collapse(text: str) -> str:
    return " ".join(text.split())


def load_rows(data: Path, fixtures: Path | None) -> list[dict]:
    rows = []
    paths = [data] + (sorted(fixtures.glob("*.jsonl")) if fixtures and fixtures.exists() else [])
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                row["_file"] = path.name
                rows.append(row)
    return rows


def as_input(row: dict) -> dict:
    return {"id": row["id"], "url": row.get("url", ""), "source": row["outlet"],
            "title": row.get("title", ""), "body": row["body"], "lang": row.get("lang", "")}


def learn(rows: list[dict]) -> dict[str, dict]:
    """Templates per source, as pipeline/templates.py learns them for a drop."""
    sketches: dict[str, templates.Sketch] = {}
    for row in rows:
        article = new_article(as_input(row), {})
        source = templates.source_key(article)
        sketches.setdefault(source, templates.Sketch()).add(
            templates.article_segments(article["body"]))
    out = {}
    for source, sketch in sketches.items():
        decided = templates.decide(source, sketch.to_dict(), None)
        if decided:
            out[source] = decided
    return out


def clean(row: dict, learned: dict[str, dict]) -> tuple[str, dict | None]:
    article = new_article(as_input(row), {})
    source = templates.source_key(article)
    try:
        article = normalize.NormalizeStage().process(article)
        if source in learned:
            article["source_templates"] = learned[source]
        article = boilerplate.BoilerplateStage().process(article)
    except Reject:
        return "", None
    return article["body"], article


_TAG = re.compile(r"<[^<>]{0,400}>")


def words(text: str) -> Counter:
    """Words of the text (tags of an HTML-fragment body are not words)."""
    return Counter(collapse(_TAG.sub(" ", text)).split())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.boilerplate_real", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--fixtures", type=Path, default=FIXTURES)
    parser.add_argument("--show", type=int, default=0, help="print N misses and control losses")
    parser.add_argument("--no-templates", action="store_true",
                        help="rules only (no per-source learning), for comparison")
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"boilerplate_real gate: data not found at {args.data}", file=sys.stderr)
        return 2
    rows = load_rows(args.data, args.fixtures)
    learned = {} if args.no_templates else learn(rows)
    # (part, group) -> [removed, labelled]; controls: (part, group) -> [kept words, words]
    removed: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    control: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    misses: list[str] = []
    unreplayable: list[str] = []
    losses: list[str] = []
    learned_lines = sum(len(t["templates"]) for t in learned.values())
    template_steps = 0
    for row in rows:
        part = part_of(row["id"])
        body, article = clean(row, learned)
        if article:
            template_steps += sum(s["fixer"] == "learned_template" for s in article["repairs"])
            # Every removal is a logged step: the log replayed on the input gives the output.
            for field in ("title", "body"):
                steps = [s for s in article["repairs"] if s["field"] == field]
                if replay(article["input_" + field], steps) != article[field]:
                    unreplayable.append(f"{row['id']} {field}")
        out = collapse(body)
        lang = row.get("lang", "")
        if row.get("control"):
            # Words as the normalize stage leaves them (tatweel, spaces): what the boilerplate
            # stage could have kept.
            before, after = words(normalize.fix_text(row["body"])), words(body)
            kept = sum(min(n, after[w]) for w, n in before.items())
            total = sum(before.values())
            for group in ("all", f"outlet {row['outlet']}", f"lang {lang}"):
                control[(part, group)][0] += kept
                control[(part, group)][1] += total
            if kept < total:
                lost = before - after
                losses.append(f"{row['id']} ({row['outlet']}, {part}): lost {total - kept} of "
                              f"{total} words: {' '.join(list(lost.elements())[:25])}")
            continue
        for kind, strings in row["artifact_kinds"].items():
            for s in strings:
                gone = collapse(normalize.fix_text(s)) not in out
                for group in ("all", f"outlet {row['outlet']}", f"kind {kind}",
                              f"lang {lang}"):
                    removed[(part, group)][0] += gone
                    removed[(part, group)][1] += 1
                if not gone:
                    misses.append(f"{row['id']} ({row['outlet']}, {kind}, {part}): {s[:100]!r}")

    def rate(d, key):
        a, b = d.get(key, (0, 0))
        return (a / b if b else float("nan")), a, b

    groups = sorted({g for _, g in removed} | {g for _, g in control},
                    key=lambda g: (g != "all", g))
    print(f"boilerplate_real gate: {len(rows)} articles ({args.data.name}"
          f"{' + fixtures' if args.fixtures and args.fixtures.exists() else ''}); templates "
          f"{'off' if args.no_templates else 'learned per source'}: {learned_lines} lines "
          f"over {len(learned)} sources, {template_steps} removals logged as learned_template")
    print(f"{'':34}{'removed (tune)':>18}{'removed (frozen)':>20}{'control words (tune)':>24}"
          f"{'(frozen)':>18}")
    for g in groups:
        cells = []
        for d in (removed, control):
            for part in ("tune", "frozen"):
                r, a, b = rate(d, (part, g))
                cells.append(f"{r:.4f} {a}/{b}" if b else "-")
        print(f"{g[:34]:34}{cells[0]:>18}{cells[1]:>20}{cells[2]:>24}{cells[3]:>18}")
    print(f"replay: {len(rows) - len(unreplayable)} of {len(rows)} articles rebuilt from their "
          "input and log" + (f"; NOT: {unreplayable[:5]}" if unreplayable else ""))
    print(f"floors: removed >= {MIN_REMOVED}, control words >= {MIN_CONTROL_WORDS} on each "
          f"part; |tune - frozen| removed <= {MAX_PART_GAP:.2f}")
    for line in misses[: args.show]:
        print("  miss:", line)
    for line in losses[: args.show]:
        print("  loss:", line)
    failures = []
    for part in ("tune", "frozen"):
        r, _, b = rate(removed, (part, "all"))
        if b and r < MIN_REMOVED:
            failures.append(f"{part}: removed {r:.4f} < {MIN_REMOVED}")
        c, _, b = rate(control, (part, "all"))
        if b and c < MIN_CONTROL_WORDS:
            failures.append(f"{part}: control words {c:.4f} < {MIN_CONTROL_WORDS}")
    gap = abs(rate(removed, ("tune", "all"))[0] - rate(removed, ("frozen", "all"))[0])
    if gap > MAX_PART_GAP:
        failures.append(f"tune/frozen gap {gap:.4f} > {MAX_PART_GAP}")
    if unreplayable:
        failures.append(f"{len(unreplayable)} article(s) do not replay")
    if failures:
        print("FAIL: " + "; ".join(failures))
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
