"""HTML pages: trafilatura extracts the title and the main text of one article per page.

Owns: page -> input record, under a hard time limit per page, and the "not an article" verdict
for index and listing pages. Deduplication inside trafilatura stays off: it makes reruns drop
text and we promise byte-identical reruns (docs/formats.md).

Time limit: trafilatura can hang or run without end on some pages (docs/reliability.md) and
its own timeout exists only on its CLI. A thread cannot be stopped, so extraction runs in a
persistent worker process (a small pool, one per concurrent caller); a page over
`ParseLimits.html_timeout_s` gets its worker killed (the next page starts a fresh one) and is
dead-lettered as `extraction_timeout`. A worker that dies (segfault, out of memory) gives
`extraction_crashed`. `html_timeout_s <= 0` runs extraction in-process, without a limit.

Not an article: trafilatura merges an index page into one fake article. A page
whose extracted text comes from several separate teaser blocks (a linked headline plus a short
text, as on section fronts and search results) is dead-lettered as `not_an_article`.
"""

from __future__ import annotations

import atexit
import threading
from typing import Callable, Iterator

from transforms.parsed import ParseLimits, ParseResult, _dead_file, decode_bytes, lang_code, make_article
from transforms.record import Reject

# A teaser block (headline link + its standfirst) on the listing pages we know is 100-400
# characters; 1,000 leaves room for a long standfirst while a whole article body (2-30 kB on
# the 40 pages of shared/eval/boilerplate) is never one "teaser".
TEASER_MAX_CHARS = 1000
# Extracted text spread over 3+ separate teaser blocks, covering at least half of it, is a
# listing. Measured on shared/eval/boilerplate (40 real article pages): no page has more than 1
# such block with extracted text; our 6-story index fixture has 5 (77% of the text).
LISTING_MIN_BLOCKS = 3
LISTING_MIN_COVERAGE = 0.5
# Paragraphs shorter than this ("Read more", dates) say nothing about where the text came from.
MIN_PARAGRAPH_CHARS = 20


def extract_page(data: bytes) -> dict | None:
    """trafilatura on one page -> {title, body (paragraph list), url, published, lang, source}.

    None when trafilatura finds no main text.
    """
    import trafilatura

    doc = trafilatura.bare_extraction(
        data,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        deduplicate=False,
        favor_precision=True,
    )
    if doc is None:
        return None
    get = (lambda k: getattr(doc, k, None)) if not isinstance(doc, dict) else doc.get
    text = get("text") or ""
    paragraphs = [line.strip() for line in text.split("\n") if line.strip()]
    if not paragraphs:
        return None
    return {
        "title": get("title") or "",
        "body": paragraphs,
        "url": get("url") or "",
        "published": get("date") or "",
        "source": get("sitename") or "",
        "lang": lang_code(get("language")),
    }


def _norm(text: str) -> str:
    return " ".join(text.split())


def _element_text(el) -> str:  # noqa: ANN001 - lxml element
    # itertext, not text_content: "<h2>A</h2><p>B</p>" must read "A B", not "AB".
    return _norm(" ".join(el.itertext()))


def teaser_blocks(root) -> list[str]:  # noqa: ANN001 - lxml element
    """Texts of the teaser blocks of a page: for each heading that is (or holds) a link, the
    nearest enclosing element with more text than the heading, if it is short.

    >>> import lxml.html
    >>> page = lxml.html.fromstring("<div><div><h2><a href='/a'>Port reopens after storm</a></h2>"
    ...     "<p>The harbour reopened on Wednesday.</p></div><h2>Plain heading</h2></div>")
    >>> teaser_blocks(page)
    ['Port reopens after storm The harbour reopened on Wednesday.']
    """
    blocks: dict[int, str] = {}
    for heading in root.iter("h1", "h2", "h3", "h4", "h5"):
        start = heading
        if heading.find(".//a[@href]") is None:
            start = next((a for a in heading.iterancestors("a") if a.get("href")), None)
            if start is None:
                continue
        head = _element_text(heading)
        if not head:
            continue
        for anc in start.iterancestors():
            text = _element_text(anc)
            if len(text) > len(head) + MIN_PARAGRAPH_CHARS:
                if len(text) <= TEASER_MAX_CHARS:
                    blocks[id(anc)] = text
                break
    return list(blocks.values())


def listing_evidence(blocks: list[str], paragraphs: list[str]) -> tuple[int, float]:
    """(distinct teaser blocks holding extracted text, share of the text's characters in them).

    >>> listing_evidence(["A x", "B y", "C z"], ["A x", "B y", "C z", "tail"])
    (0, 0.0)
    >>> listing_evidence(["Headline one and its standfirst text", "Headline two with more text",
    ...                   "Third headline plus a sentence"],
    ...                  ["Headline one and its", "Headline two with more", "Third headline plus a"])
    (3, 1.0)
    """
    hit: set[int] = set()
    covered = total = 0
    for para in paragraphs:
        p = _norm(para)
        total += len(p)
        if len(p) < MIN_PARAGRAPH_CHARS:
            continue
        for k, text in enumerate(blocks):
            if p in text:
                hit.add(k)
                covered += len(p)
                break
    return len(hit), (covered / total if total else 0.0)


# libxml2's HTML parser (lxml 6.x) builds at most this many levels and silently drops
# everything after an element nested deeper: a page whose article sits after a 300-deep
# <div> chain came out as its headline only (issue 21). Measured: 254 nested divs inside
# <html><body> (256 levels) keep the text after them, 255 lose it; a tree this deep may
# have lost text, so it is refused.
HTML_PARSER_MAX_DEPTH = 256


def tree_depth(root) -> int:  # noqa: ANN001 - lxml element
    """Levels of the element tree (the root is 1), without recursion.

    >>> import lxml.html
    >>> tree_depth(lxml.html.fromstring("<div><p><b>x</b></p></div>"))
    3
    """
    best, stack = 0, [(root, 1)]
    while stack:
        el, depth = stack.pop()
        best = max(best, depth)
        stack.extend((child, depth + 1) for child in el)
    return best


def only_headline(fields: dict) -> bool:
    """True when the extracted body is nothing but the title (what trafilatura returns when
    it could not read the article): no article text, not an article with its title as body.

    >>> only_headline({"title": "Floods recede", "body": ["Floods  recede"]})
    True
    >>> only_headline({"title": "Floods recede", "body": ["Floods recede", "The water fell."]})
    False
    """
    title = _norm(fields.get("title") or "").casefold()
    return bool(title) and all(_norm(p).casefold() == title for p in fields["body"])


def analyse_page(data: bytes) -> tuple[str, object]:
    """One page -> ("article", fields) | ("no_text" | "not_an_article" | "too_deep", detail).

    Runs inside the worker process, so everything slow on a page is under the time limit."""
    import lxml.html
    from lxml import etree

    try:
        root = lxml.html.fromstring(data)
    except (etree.ParserError, ValueError):
        root = None
    if root is not None and tree_depth(root) >= HTML_PARSER_MAX_DEPTH:
        return "too_deep", (f"elements nested {HTML_PARSER_MAX_DEPTH} levels deep: the HTML "
                            "parser (libxml2) stops there and drops the rest of the page")
    fields = extract_page(data)
    if fields is None:
        return "no_text", "trafilatura found no main text"
    if only_headline(fields):
        return "no_text", "trafilatura found only the headline, no article text"
    if root is None:
        return "article", fields
    n_blocks, coverage = listing_evidence(teaser_blocks(root), fields["body"])
    if n_blocks >= LISTING_MIN_BLOCKS and coverage >= LISTING_MIN_COVERAGE:
        return "not_an_article", (f"index or listing page: the extracted text comes from "
                                  f"{n_blocks} separate teaser blocks ({coverage:.0%} of it)")
    return "article", fields


# --------------------------------------------------------------------------- time limit


class ExtractionTimeout(Exception):
    """The page took longer than the limit; its worker was killed."""


class ExtractionCrashed(Exception):
    """The worker process died while extracting the page."""


# Starting a worker (a Python process importing trafilatura and lxml: ~1-3 s on the shared
# 2-core dev machine) is not the page's fault, so it has its own, generous bound.
WORKER_START_TIMEOUT_S = 120.0


def _warm_up() -> None:
    import lxml.html  # noqa: F401
    import trafilatura  # noqa: F401


def _serve(conn_in, conn_out, analyse: Callable[[bytes], tuple[str, object]]) -> None:  # noqa: ANN001
    try:
        getattr(analyse, "warm_up", _warm_up)()  # imports paid before the first clock starts
        conn_out.send(("ready", None))
    except Exception as exc:  # noqa: BLE001
        conn_out.send(("error", f"{type(exc).__name__}: {exc}"[:2000]))
        return
    while True:
        try:
            data = conn_in.recv()
        except EOFError:
            return
        try:
            conn_out.send(("ok", analyse(data)))
        except Exception as exc:  # noqa: BLE001 - reported to the parent as a dead letter
            conn_out.send(("error", f"{type(exc).__name__}: {exc}"[:2000]))


def _worker_main(target: str) -> None:
    """Entry point of a worker process: serve pages on stdin/stdout until stdin closes.

    Our answers go to a private copy of fd 1; fd 1 itself then points at stderr, so a library
    that prints cannot corrupt the channel."""
    import importlib
    import os
    from multiprocessing.connection import Connection

    out_fd = os.dup(1)
    os.dup2(2, 1)
    module, _, name = target.partition(":")
    analyse = getattr(importlib.import_module(module), name)
    _serve(Connection(0, writable=False), Connection(out_fd, readable=False), analyse)


def _target_name(fn: Callable) -> str:
    return f"{fn.__module__}:{fn.__qualname__}"


class _Worker:
    """One extraction process, started with subprocess (a fresh interpreter): not fork, since
    the parent may be a threaded Beam worker and forking a process with running threads can
    deadlock the child; not multiprocessing's spawn, which re-imports the caller's __main__."""

    def __init__(self, analyse: Callable[[bytes], tuple[str, object]]) -> None:
        import os
        import subprocess
        import sys
        from multiprocessing.connection import Connection

        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "import sys; from transforms.html_page import _worker_main; "
             "_worker_main(sys.argv[1])", _target_name(analyse)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self.conn_out = Connection(os.dup(self.proc.stdin.fileno()), readable=False)
        self.conn_in = Connection(os.dup(self.proc.stdout.fileno()), writable=False)
        self.proc.stdin.close()
        self.proc.stdout.close()
        try:
            status, value = self._answer(WORKER_START_TIMEOUT_S, ExtractionCrashed)
        except ExtractionCrashed as exc:
            raise ExtractionCrashed(f"extraction worker failed to start: {exc}") from exc
        if status != "ready":
            self.kill()
            raise ExtractionCrashed(f"extraction worker failed to start: {value}")

    def _answer(self, timeout_s: float, on_timeout: type[Exception]) -> tuple[str, object]:
        """The worker's next message; kills the worker when none comes in time or it died."""
        if not self.conn_in.poll(timeout_s):
            self.kill()
            raise on_timeout(f"no answer within {timeout_s:g} s")
        try:
            return self.conn_in.recv()
        except (EOFError, OSError) as exc:
            self.kill()
            raise ExtractionCrashed(f"extraction worker died (exit code "
                                    f"{self.proc.poll()}): {exc!r}") from exc

    def alive(self) -> bool:
        return self.proc.poll() is None

    def run(self, data: bytes, timeout_s: float) -> tuple[str, object]:
        try:
            self.conn_out.send(data)
        except OSError as exc:
            self.kill()
            raise ExtractionCrashed(f"extraction worker gone: {exc!r}") from exc
        status, value = self._answer(timeout_s, ExtractionTimeout)
        if status == "error":
            raise RuntimeError(value)
        return value

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
        self.proc.wait(5)
        self.conn_in.close()
        self.conn_out.close()


class ExtractorPool:
    """Idle workers kept for reuse (one per concurrent caller); a killed one is replaced."""

    def __init__(self, analyse: Callable[[bytes], tuple[str, object]] = analyse_page) -> None:
        self.analyse = analyse
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()

    def run(self, data: bytes, timeout_s: float) -> tuple[str, object]:
        with self._lock:
            worker = self._idle.pop() if self._idle else None
        if worker is None or not worker.alive():
            worker = _Worker(self.analyse)  # the page's clock starts once the worker is ready
        try:
            result = worker.run(data, timeout_s)
        except (ExtractionTimeout, ExtractionCrashed):
            raise  # that worker is gone; the next page starts a fresh one
        except BaseException:
            self._release(worker)
            raise
        self._release(worker)
        return result

    def _release(self, worker: _Worker) -> None:
        with self._lock:
            self._idle.append(worker)

    def close(self) -> None:
        with self._lock:
            workers, self._idle = self._idle, []
        for worker in workers:
            worker.kill()


_POOLS: dict[str, ExtractorPool] = {}
_POOLS_LOCK = threading.Lock()


def _pool(analyse: Callable = analyse_page) -> ExtractorPool:
    """The process-wide pool of workers running `analyse` (pages here; feeds use it too)."""
    with _POOLS_LOCK:
        name = _target_name(analyse)
        if name not in _POOLS:
            _POOLS[name] = ExtractorPool(analyse)
        return _POOLS[name]


def close_idle_workers() -> None:
    """Kill every pool's idle workers (a pool starts new ones on demand): at exit, and between
    test modules (tests/conftest.py)."""
    with _POOLS_LOCK:
        pools = list(_POOLS.values())
    for pool in pools:
        pool.close()


atexit.register(close_idle_workers)


def run_with_limit(analyse: Callable, job, timeout_s: float,
                   pool: ExtractorPool | None = None):
    """`analyse(job)` in a worker process, killed after `timeout_s` (ExtractionTimeout); a
    worker that dies gives ExtractionCrashed."""
    return (pool or _pool(analyse)).run(job, timeout_s)


def analyse_with_limit(data: bytes, timeout_s: float,
                       pool: ExtractorPool | None = None) -> tuple[str, object]:
    """analyse_page under a hard time limit (<= 0: in-process, no limit)."""
    if timeout_s <= 0:
        return (pool.analyse if pool else analyse_page)(data)
    return run_with_limit(analyse_page, data, timeout_s, pool)


def parse_html(data: bytes, prov: dict, limits: ParseLimits,
               pool: ExtractorPool | None = None) -> Iterator[ParseResult]:
    prov = dict(prov, format="html", entry=1)
    try:
        _, encoding = decode_bytes(data)
        prov["encoding"] = encoding
    except Reject:
        prov["encoding"] = "declared-by-page"
    try:
        verdict, value = analyse_with_limit(data, limits.html_timeout_s, pool)
    except ExtractionTimeout as exc:
        yield _dead_file(prov, "extraction_timeout",
                         f"{exc} (html_timeout_s={limits.html_timeout_s:g})", data)
        return
    except ExtractionCrashed as exc:
        yield _dead_file(prov, "extraction_crashed", str(exc), data)
        return
    if verdict == "no_text":
        yield _dead_file(prov, "no_article_text", str(value), data)
    elif verdict == "too_deep":
        yield _dead_file(prov, "too_deep", str(value), data)
    elif verdict == "not_an_article":
        yield _dead_file(prov, "not_an_article", str(value), data)
    else:
        yield make_article(value, data, prov, limits)
