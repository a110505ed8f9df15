"""Per-source templates: the lines a site prints on many of its pages, learned from the drop.

Owns: the source of an article, the normalised key of a line, the bounded counter of keys per
source (`Sketch`, a Misra-Gries summary: memory per source is capped whatever the number of
articles), the decision "this line is template" (thresholds N and P below) and the persisted
store (`--templates off|read|update`). No Beam here: pipeline/templates.py wires it into the
graph, and the boilerplate stage uses the decisions (with its own position guards).

What is counted per article: each distinct line of the body (one paragraph per line, as the
stage splits it) of at most MAX_SEGMENT_WORDS words, and, for run-together page text, the
first and last glued pieces of a line, marked as leading or trailing pieces. Counts are of
articles (a line twice in one article counts once).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import unicodedata
from typing import Iterable
from urllib.parse import urlsplit

from transforms.atomic import write_bytes_atomic
from transforms.textblocks import shape_edits

# A line is template when it is in at least N articles of its source and in at least P of
# them. N = 3: two articles about the same story share quotes and teasers (CNN Arabic in
# shared/eval/news_real: 14 lines shared by 2 articles, 8 by 3, all story text); the guards in
# the stage keep those, N keeps pairs out outright. P = 5%: on the tuning part of news_real
# the site lines recur in 5-65% of an outlet's articles (CNN's partner disclaimer 4 of 78 = 5.1%,
# BBC's app promo 8 of 57 = 14%, Al Arabiya's disclaimer 42 of 65), while the most repeated
# story line is in 3 of 78 (3.8%) CNN articles.
TEMPLATE_MIN_ARTICLES = 3
TEMPLATE_MIN_SHARE = 0.05
# Template lines are short: the longest site line in news_real is 22 words (BBC's app promo);
# 60 leaves room and keeps every paragraph of prose out of the counts.
MAX_SEGMENT_WORDS = 60
# Misra-Gries capacity per source: a key counted in more than L/(K+1) of the L line counts
# of a source is never dropped and is undercounted by at most L/(K+1). News_real articles
# have 20-40 lines (L ~ 30 M for M articles), so with K = 2048 the bound is ~1.5% of M,
# under P = 5%: every line that can pass the thresholds survives any drop size. Counts are
# exact while a source has at most K distinct lines (a few dozen articles).
SKETCH_CAPACITY = 2048
# Glued pieces counted at each end of a run-together line.
GLUED_PIECES = 4
# Store: counts fade with a half-life in articles of that source, so a template the site
# dropped stops matching after a few hundred new articles; at most STORE_CAP keys per source.
STORE_HALF_LIFE = 500
STORE_CAP = 256
STORE_VERSION = 1

_MARKS = re.compile(r"[\u064b-\u065f\u0670\u0640\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\u00ad]")
_ALEF = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ى": "ي", "ة": "ه"})
_NON_WORD = re.compile(r"[\W_]+", re.U)
_DIGITS = re.compile(r"\d+")
_GLUE = re.compile(r"(?<=[a-zà-ÿ.!?)\]])(?=[A-ZÀ-Ý])")


def source_key(article: dict) -> str:
    """Who printed the article: its `source` field, else the host of its URL, else the input
    file it came in (a feed).

    >>> source_key({"source": " BBC ", "url": "https://x.test/a"})
    'BBC'
    >>> source_key({"source": "", "url": "https://www.bbc.co.uk/arabic/x"})
    'www.bbc.co.uk'
    >>> source_key({"provenance": {"file": "feeds/a.xml"}})
    'file:feeds/a.xml'
    """
    src = (article.get("source") or "").strip()
    if src:
        return src
    try:
        host = urlsplit((article.get("url") or "").strip()).hostname or ""
    except ValueError:
        host = ""
    if host:
        return host
    return "file:" + str((article.get("provenance") or {}).get("file") or "")


def segment_key(text: str) -> str:
    """A line as counted: NFKC, no diacritics or invisible marks, one alef, lower case, digits
    as 0, punctuation as spaces. Normalisation before and after the normalize stage gives the
    same key.

    >>> segment_key("** جميعُ المقالات المنشورة تمثل رأي كتابها فقط.")
    'جميع المقالات المنشوره تمثل راي كتابها فقط'
    >>> segment_key("List 2 of 3") == segment_key("list 3 of 4")
    True
    """
    text = _MARKS.sub("", unicodedata.normalize("NFKC", text)).translate(_ALEF).casefold()
    text = _DIGITS.sub("0", text)
    return " ".join(_NON_WORD.sub(" ", text).split())


def key_hash(key: str) -> str:
    return hashlib.blake2b(key.encode("utf-8"), digest_size=8).hexdigest()


def body_lines(body: str) -> list[str]:
    """The paragraphs the boilerplate stage sees: after its shape step (one paragraph per line
    or per HTML block, transforms/textblocks.shape_edits).

    >>> body_lines("One\\nTwo"), body_lines("<p>A</p><p>B</p>")
    (['One', 'Two'], ['A', 'B'])
    """
    _, edits = shape_edits(body)
    if edits:
        pieces, last = [], 0
        for start, end, new in edits:
            pieces += [body[last:start], new]
            last = end
        body = "".join(pieces) + body[last:]
    return [line.strip() for line in body.split("\n\n") if line.strip()]


def glue_pieces(line: str) -> list[tuple[int, int]]:
    """Spans of the pieces of run-together text, cut where a capital follows a small letter
    or a full stop with no space ("HomeWorldSign inThe port..."). One piece: not glued.

    >>> t = "HomeWorldSign inThe port reopened.Privacy"
    >>> [t[s:e] for s, e in glue_pieces(t)]
    ['Home', 'World', 'Sign in', 'The port reopened.', 'Privacy']
    """
    cuts = [m.start() for m in _GLUE.finditer(line)]
    if not cuts:
        return [(0, len(line))]
    bounds = [0] + cuts + [len(line)]
    return [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]


def article_segments(body: str) -> dict[str, str]:
    """{hash: sample text} of what one article contributes to its source's counts."""
    out: dict[str, str] = {}
    for line in body_lines(body):
        if len(line.split()) <= MAX_SEGMENT_WORDS:
            key = segment_key(line)
            if key:
                out.setdefault(key_hash(key), line[:160])
        pieces = glue_pieces(line)
        if len(pieces) > 2:
            for s, e in pieces[:GLUED_PIECES]:
                key = segment_key(line[s:e])
                if key:
                    out.setdefault(key_hash("^" + key), line[s:e][:160])
            for s, e in pieces[-GLUED_PIECES:]:
                key = segment_key(line[s:e])
                if key:
                    out.setdefault(key_hash("$" + key), line[s:e][:160])
    return out


class Sketch:
    """Articles seen and a bounded count of keys (Misra-Gries): {hash: [articles, sample]}.

    >>> s = Sketch(capacity=2)
    >>> for segs in ({"a": "A", "b": "B"}, {"a": "A", "c": "C"}, {"a": "A"}):
    ...     _ = s.add(segs)
    >>> s.articles, s.counts["a"][0], "b" in s.counts or "c" in s.counts
    (3, 2, False)
    """

    __slots__ = ("articles", "counts", "capacity")

    def __init__(self, capacity: int = SKETCH_CAPACITY) -> None:
        self.articles = 0
        self.counts: dict[str, list] = {}
        self.capacity = capacity

    def add(self, segments: dict[str, str]) -> "Sketch":
        self.articles += 1
        for h, sample in segments.items():
            entry = self.counts.get(h)
            if entry is None:
                self.counts[h] = [1, sample]
            else:
                entry[0] += 1
                if sample < entry[1]:
                    entry[1] = sample  # the same sample whatever the order of articles
        self._compact()
        return self

    def merge(self, other: "Sketch") -> "Sketch":
        self.articles += other.articles
        for h, (n, sample) in other.counts.items():
            entry = self.counts.get(h)
            if entry is None:
                self.counts[h] = [n, sample]
            else:
                entry[0] += n
                entry[1] = min(entry[1], sample)
        self._compact()
        return self

    def _compact(self) -> None:
        if len(self.counts) <= self.capacity:
            return
        # Misra-Gries: subtract the (K+1)-th largest count from all, drop what reaches 0.
        cut = sorted((e[0] for e in self.counts.values()), reverse=True)[self.capacity]
        self.counts = {h: [e[0] - cut, e[1]] for h, e in self.counts.items() if e[0] > cut}

    def to_dict(self) -> dict:
        return {"articles": self.articles, "counts": {h: list(e) for h, e in self.counts.items()}}


def decide(source: str, drop: dict | None, stored: dict | None,
           min_articles: int = TEMPLATE_MIN_ARTICLES,
           min_share: float = TEMPLATE_MIN_SHARE) -> dict | None:
    """The templates of one source from this drop's counts and the store's (either may be
    None): {"source", "articles", "templates": {hash: [count, sample]}, "stored": bool}; None
    when nothing passes.

    >>> d = {"articles": 10, "counts": {"h1": [9, "Share this"], "h2": [2, "a quote"]}}
    >>> decide("site", d, None)["templates"]
    {'h1': [9.0, 'Share this']}
    >>> decide("site", {"articles": 1, "counts": {"h1": [1, "x"]}}, None) is None
    True
    """
    counts: dict[str, list] = {}
    articles = 0.0
    for part in (drop, stored):
        if not part:
            continue
        articles += float(part.get("articles", 0))
        for h, (n, sample) in part.get("counts", {}).items():
            entry = counts.setdefault(h, [0.0, sample])
            entry[0] += float(n)
            entry[1] = min(entry[1], sample)
    if articles <= 0:
        return None
    need = max(min_articles, min_share * articles)
    keep = {h: [round(n, 2), s] for h, (n, s) in counts.items() if n >= need}
    if not keep:
        return None
    return {"source": source, "articles": round(articles, 2), "templates": dict(sorted(keep.items())),
            "stored": bool(stored)}


def evidence(templates: dict, h: str) -> str:
    """The log's evidence for a learned line.

    >>> evidence({"source": "BBC", "articles": 41, "templates": {"h": [37, "x"]}, "stored": False}, "h")
    'a learned template line: seen in 37 of 41 articles from BBC'
    """
    n = templates["templates"][h][0]

    def fmt(v):
        return f"{v:g}" if isinstance(v, float) else str(v)

    where = " (this drop and the template store)" if templates.get("stored") else ""
    return (f"a learned template line: seen in {fmt(n)} of {fmt(templates['articles'])} "
            f"articles from {templates['source']}{where}")


# ----------------------------------------------------------------------------- the store


def empty_store() -> dict:
    return {"version": STORE_VERSION, "half_life_articles": STORE_HALF_LIFE, "drops": [],
            "sources": {}}


def load_store(path: str) -> tuple[dict, str]:
    """(store, digest); a missing file is an empty store with digest "absent". A store that is
    not ours is an error (ValueError), never silently replaced."""
    if not path or not os.path.exists(path):
        return empty_store(), "absent"
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        store = json.loads(data)
    except ValueError as exc:
        raise ValueError(f"template store {path} is not JSON: {exc}") from exc
    if not isinstance(store, dict) or store.get("version") != STORE_VERSION:
        raise ValueError(f"template store {path} is not a version-{STORE_VERSION} store")
    return store, hashlib.sha256(data).hexdigest()


def store_bytes(store: dict) -> bytes:
    return json.dumps(store, ensure_ascii=False, sort_keys=True, indent=0).encode("utf-8")


def update_store(store: dict, drop: dict[str, dict], drop_fingerprint: str) -> bool:
    """Fold one drop's per-source counts into the store (in place). A drop already folded in
    (same fingerprint) changes nothing, so rerunning a drop does not count it twice. Returns
    whether the store changed.

    >>> st = empty_store()
    >>> update_store(st, {"s": {"articles": 4, "counts": {"h": [4, "x"]}}}, "fp1")
    True
    >>> update_store(st, {"s": {"articles": 4, "counts": {"h": [4, "x"]}}}, "fp1")
    False
    >>> st["sources"]["s"]["counts"]["h"]
    [4.0, 'x']
    """
    if drop_fingerprint in store["drops"]:
        return False
    half_life = float(store.get("half_life_articles") or STORE_HALF_LIFE)
    for source, part in sorted(drop.items()):
        new = int(part.get("articles", 0))
        if not new:
            continue
        old = store["sources"].setdefault(source, {"articles": 0.0, "counts": {}})
        w = 0.5 ** (new / half_life)
        counts = {h: [e[0] * w, e[1]] for h, e in old["counts"].items()}
        for h, (n, sample) in part.get("counts", {}).items():
            entry = counts.setdefault(h, [0.0, sample])
            entry[0] += n
            entry[1] = min(entry[1], sample)
        ranked = sorted(((round(e[0], 3), h, e[1]) for h, e in counts.items() if e[0] >= 1.0),
                        key=lambda t: (-t[0], t[1]))[:STORE_CAP]
        old["counts"] = {h: [n, s] for n, h, s in sorted(ranked, key=lambda t: t[1])}
        old["articles"] = round(old["articles"] * w + new, 3)
    store["drops"] = (store["drops"] + [drop_fingerprint])[-1000:]
    return True


def save_store(path: str, store: dict) -> str:
    """Write the store atomically; returns its digest."""
    data = store_bytes(store)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    write_bytes_atomic(path, data)
    return hashlib.sha256(data).hexdigest()


def stored_counts(store: dict, sources: Iterable[str] | None = None) -> dict[str, dict]:
    """Per-source counts of the store in the shape `decide` reads."""
    out = {}
    for source, part in store.get("sources", {}).items():
        if sources is None or source in sources:
            out[source] = {"articles": part["articles"], "counts": part["counts"]}
    return out
