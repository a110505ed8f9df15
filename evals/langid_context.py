"""Quality gate: short text in context (the language stage), built from ../shared/eval/langid.

Articles and feeds are assembled from dev.tsv rows of one language (never mixing the tuning and
the frozen part, `evals.langid.split_of`):

- an article: a 2-4-word title, a 2-4-word heading, a paragraph of two real sentences, a 2-4-word
  caption, a paragraph of one sentence; short segments are made of that language's word pairs
  and single words (2 to 4 words: pair, pair+word, pair+pair, word+word, in turn);
- a fifth body paragraph: a 2-4-word heading in another language of the same part, not
  scored with the short segments; the share that comes out `mixed` (own evidence strong) is
  printed, by whether the article's language could be written in its script;
- feeds of six entries, each a 2-4-word title and a 2-4-word body, in three kinds in turn:
  the channel declares its language; no declaration but one entry has a one-sentence body;
  no declaration and only short entries (the source's pooled text is the only context).

The language stage decides every segment in its article or feed, with the source distribution
computed by the same functions the Beam combine runs (transforms/language.py). Scored: the
short segments (titles, headings, captions, feed titles and bodies) must get the article's
language; `mixed` counts as wrong. Printed beside it: the same segments in isolation
(Detector.detect alone). Floor: >= 97% with context (FLOOR_SHORT_WITH_CONTEXT). Also printed:
the long paragraphs with and without context (context must not cost them).

    python -m evals.langid_context [--tsv PATH]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections import defaultdict
from pathlib import Path

from evals.langid import PARTS, default_tsv, load_rows

# Floor with every language (the 97%): measured 97.48 / 97.37 / 97.44 (tune / frozen /
# all) once close pairs are decided by their marker words (transforms/close_languages.py) and
# langdetect's hr / id counts as agreement with a bs / ms answer; pinned just under both parts.
FLOOR_SHORT_WITH_CONTEXT = 97.3
# Languages whose dev rows are often their neighbour's text: the eval README says many `ms`
# lines read as Indonesian (lingua calls 70% of them id; of the tuning part's ms sentences, 19
# hold more Indonesian than Malay marker words, none more Malay) and `bs` is close to `hr`. An
# article of such rows gets its neighbour's language, and its short segments follow. The figure
# without them is printed and has its own floor: measured 99.7 / 99.6 / 99.6, pinned under.
LABEL_LIMITED = ("ms", "bs")
FLOOR_SHORT_WITHOUT_LIMITED = 99.4
# Articles per language and part: enough for ~5,000 short segments, fast enough for CI.
MAX_ARTICLES = 24
FEED_ENTRIES = 6
FEED_KINDS = ("declared", "one_long_entry", "short_only")
# Short-segment shapes, in words drawn from the pair (2 words) and word (1 word) lists.
SHAPES = (("pair",), ("pair", "word"), ("pair", "pair"), ("word", "word"))


def _order(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: hashlib.sha1(r["source"].encode("utf-8")).hexdigest())


class ShortStream:
    """2-4-word segments of one language, cycling through its pairs and words."""

    def __init__(self, pairs: list[str], words: list[str]) -> None:
        self.items = {"pair": pairs, "word": words}
        self.pos = {"pair": 0, "word": 0}
        self.n = 0

    def next(self) -> str:
        shape = SHAPES[self.n % len(SHAPES)]
        self.n += 1
        out = []
        for kind in shape:
            items = self.items[kind]
            out.append(items[self.pos[kind] % len(items)])
            self.pos[kind] += 1
        return " ".join(out)


def build(rows: list[dict]) -> tuple[list[dict], list[tuple[str, str, str, str]]]:
    """(articles, scored segments). A segment is (article id, field, index, kind), where
    field is "title" or "body" and kind "short" or "long"."""
    by: dict = defaultdict(list)
    for r in rows:
        by[(r["part"], r["lang"], r["kind"])].append(r["text"])
    articles, segments = [], []
    keys = sorted({(p, lg) for p, lg, _ in by})
    streams = {k: ShortStream(by[(*k, "word_pair")], by[(*k, "word")]) for k in keys
               if by[(*k, "word_pair")] and by[(*k, "word")]}
    for part, lang in keys:
        sents = by[(part, lang, "sentence")]
        if (part, lang) not in streams or len(sents) < 3:
            continue  # gl: sentences only
        stream = streams[(part, lang)]
        others = [k for k in streams if k[0] == part and k[1] != lang]
        for i in range(min(MAX_ARTICLES, len(sents) // 3)):
            aid = f"{part}:{lang}:article:{i}"
            # A heading in another language (not scored as short: it should come out
            # "mixed" when its own evidence is strong; printed as information).
            other = others[int(hashlib.sha1(aid.encode()).hexdigest(), 16) % len(others)]
            body = [stream.next(), f"{sents[3 * i]} {sents[3 * i + 1]}", stream.next(),
                    sents[3 * i + 2], streams[other].next()]
            articles.append({"id": aid, "lang": "", "title": stream.next(), "body": body,
                             "source": f"site {part} {lang}", "url": "", "gold": lang,
                             "part": part, "provenance": {}, "foreign": other[1]})
            segments += [(aid, "title", 0, "short"), (aid, "body", 0, "short"),
                         (aid, "body", 1, "long"), (aid, "body", 2, "short"),
                         (aid, "body", 3, "long"), (aid, "body", 4, "foreign")]
        for f, kind in enumerate(FEED_KINDS):
            feed = f"feed {part} {lang} {f}"
            for e in range(FEED_ENTRIES):
                aid = f"{part}:{lang}:feed{f}:{e}"
                long_body = kind == "one_long_entry" and e == 0
                body = [sents[(f + e) % len(sents)]] if long_body else [stream.next()]
                declared = lang if kind == "declared" else ""
                articles.append({"id": aid, "lang": declared, "title": stream.next(),
                                 "body": body, "source": feed, "url": "", "gold": lang,
                                 "part": part, "provenance": {"feed_lang": declared}})
                segments.append((aid, "title", 0, "short"))
                segments.append((aid, "body", 0, "long" if long_body else "short"))
    return articles, segments


def run(articles: list[dict], segments, det) -> tuple[dict, dict]:
    """Scores {(kind, part, with_context): [right, total]} and the decided records."""
    from transforms.language import (article_segments, decide_article, merge_votes,
                                     source_distribution, source_key, source_vote)
    from transforms.langid import writable_by
    from transforms.record import join_paragraphs

    records = {a["id"]: dict(a, body=join_paragraphs(a["body"])) for a in articles}
    paragraphs = {a["id"]: a["body"] for a in articles}
    # Each segment detected once, in isolation: the "without context" answer, and the own
    # evidence the stage decides from (Stage.process does exactly this, then decide_article).
    own = {aid: [det.detect(t).as_dict() for t in article_segments(rec)]
           for aid, rec in records.items()}
    # The per-source combine, as pipeline/source_language.py runs it.
    votes: dict = defaultdict(list)
    for rec in records.values():
        votes[source_key(rec)].append(source_vote(rec, det))
    dists = {k: source_distribution(merge_votes(v), det) for k, v in votes.items()}
    for aid, rec in records.items():
        decide_article(rec, own[aid], dists.get(source_key(rec)))
    scores: dict = defaultdict(lambda: [0, 0])
    for aid, field, i, kind in segments:
        rec = records[aid]
        n_par = len(rec["paragraph_langs"])
        decided = (rec["title_lang"] if field == "title" else rec["paragraph_langs"][i])["lang"]
        alone = own[aid][n_par if field == "title" else i]["lang"]
        sub = aid.split(":")[2].rstrip("0123456789")
        limited = rec["gold"] in LABEL_LIMITED
        if kind == "foreign":
            same_script = bool(set(writable_by(paragraphs[aid][i])) & {rec["gold"]})
            for part in (rec["part"], "all"):
                key = ("foreign:" + ("same" if same_script else "other"), part, True)
                scores[key][0] += decided == "mixed"
                scores[key][1] += 1
            continue
        for part in (rec["part"], "all"):
            keys = [((kind, part, True), decided), ((kind, part, False), alone),
                    ((f"{kind}:{sub}", part, True), decided)]
            if not limited:
                keys += [((f"{kind}:clean", part, True), decided),
                         ((f"{kind}:clean", part, False), alone)]
            for key, got in keys:
                scores[key][0] += got == rec["gold"]
                scores[key][1] += 1
    return scores, records


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tsv", type=Path, default=default_tsv())
    args = ap.parse_args(argv)
    if not args.tsv.exists():
        print(f"langid context gate: {args.tsv} not found", file=sys.stderr)
        return 2
    from transforms.langid import Detector

    rows = [r for r in _order(load_rows(args.tsv))]
    articles, segments = build(rows)
    t0 = time.perf_counter()
    scores, _ = run(articles, segments, Detector())
    took = time.perf_counter() - t0

    def pct(kind, part, ctx) -> float:
        right, total = scores[(kind, part, ctx)]
        return 100 * right / max(1, total)

    def cell(kind, ctx) -> str:
        return " / ".join(f"{pct(kind, p, ctx):5.1f}" for p in PARTS)
    n_short = scores[("short", "all", True)][1]
    print(f"language ID in context: {len(articles)} articles and feed entries from {args.tsv.name}, "
          f"{n_short} short segments, {scores[('long', 'all', True)][1]} long ones ({took:.0f} s)")
    print("accuracy %, tune / frozen / all:")
    print(f"  short segments, all languages, with context      {cell('short', True)}")
    print(f"  short segments, all languages, without context   {cell('short', False)}")
    print(f"  short segments, without {'/'.join(LABEL_LIMITED)}, with context    {cell('short:clean', True)}")
    print(f"  short segments, without {'/'.join(LABEL_LIMITED)}, without context {cell('short:clean', False)}")
    for sub in ("article", "feed"):
        print(f"    short, in {sub + 's':8s} (all languages) with context {cell('short:' + sub, True)}")
    print(f"  long paragraphs, with context    {cell('long', True)}")
    print(f"  long paragraphs, without context {cell('long', False)}")
    print("  a heading in another language, flagged `mixed` (information, no floor):")
    print(f"    in another script     {cell('foreign:other', True)}  (n {scores[('foreign:other', 'all', True)][1]})")
    print(f"    in the same script    {cell('foreign:same', True)}  (n {scores[('foreign:same', 'all', True)][1]})")
    failures = []
    for kind, floor in (("short", FLOOR_SHORT_WITH_CONTEXT),
                        ("short:clean", FLOOR_SHORT_WITHOUT_LIMITED)):
        got = pct(kind, "all", True)
        ok = got >= floor
        name = f"without {'/'.join(LABEL_LIMITED)}" if kind == "short:clean" else "all languages"
        print(f"floor short segments with context, {name}: {got:.1f} >= {floor} "
              f"{'ok' if ok else 'BELOW'}")
        failures += [] if ok else [f"short with context, {name}"]
    lw, lo = pct("long", "all", True), pct("long", "all", False)
    ok = lw >= lo
    print(f"long paragraphs: context {lw:.1f} >= alone {lo:.1f} {'ok' if ok else 'BELOW'}")
    failures += [] if ok else ["context costs long paragraphs"]
    print("langid context gate:", "ok" if not failures else "FAILED " + ", ".join(failures))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
