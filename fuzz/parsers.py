"""Atheris (coverage-guided) harnesses for the hand-written parsers. Run by hand, not in CI:

    pip install -e '.[fuzz]'
    python fuzz/parsers.py jsonl  -max_total_time=300     # JSON Lines + truncated-array salvage
    python fuzz/parsers.py array  -max_total_time=300     # JSON array salvage only
    python fuzz/parsers.py sniff  -runs=1000000           # transforms.ingest.sniff_format
    python fuzz/parsers.py html   -max_total_time=300     # transforms.textblocks.html_to_paragraphs
    python fuzz/parsers.py feed   -max_total_time=300     # XML guard + feedparser + entries

The first argument picks the target; the rest go to libFuzzer (-runs, -max_total_time, a corpus
directory, ...). A property violation raises AssertionError, which atheris reports as a crash
with the input saved to crash-<sha1>. The same properties run in CI, bounded, as hypothesis tests
(tests/test_fuzz_parsers.py).
"""

from __future__ import annotations

import json
import sys

try:
    import atheris
except ImportError:  # optional extra
    sys.exit("atheris is not installed: pip install -e '.[fuzz]' (needs a wheel for this Python)")

from pipeline.manifest import provenance_key  # noqa: E402 - after the optional import

with atheris.instrument_imports(include=["transforms"]):
    from transforms.ingest import ParseLimits, parse_file, sniff_format
    from transforms.textblocks import html_to_paragraphs

FORMATS = {"jsonl", "json", "feed", "html", "xml", "empty", "unknown"}
# Small limits so the size checks are exercised by short inputs too.
LIMITS = ParseLimits(max_article_chars=300, max_paragraphs=5, html_timeout_s=5)


def check(results: list) -> None:
    assert results, "a file always yields at least one result"
    for r in results:
        assert (r.article is None) != (r.dead is None)
        record = r.article if r.article is not None else r.dead
        json.dumps(record, ensure_ascii=False).encode("utf-8")  # writable, as Beam needs
    # Each result names its own input unit (file, line, entry): what `newsnorm verify` counts.
    keys = [provenance_key((r.article or r.dead)["provenance"]) for r in results]
    assert None not in keys and len(set(keys)) == len(keys), keys


def one_jsonl(data: bytes) -> None:
    results = list(parse_file("f.jsonl", data.splitlines(keepends=True), "d", LIMITS))
    check(results)
    if sniff_format(data[:8192]) == "jsonl" and data.split(b"\n", 1)[0].strip().startswith(b"{"):
        first = data.split(b"\n", 1)[0]
        try:
            first_is_object = isinstance(json.loads(first.decode("utf-8", "replace")), dict)
        except (ValueError, RecursionError):
            first_is_object = False
        if first_is_object:
            assert len(results) == len([x for x in data.split(b"\n") if x.strip()])


def one_array(data: bytes) -> None:
    check(list(parse_file("f.json", b"[" + data, "d", LIMITS)))


def one_sniff(data: bytes) -> None:
    assert sniff_format(data) in FORMATS


def one_html(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    text = fdp.ConsumeUnicodeNoSurrogates(len(data))
    for p in html_to_paragraphs(text):  # C0 controls included (fixed: carried through lxml)
        assert isinstance(p, str) and p and p == p.strip()


def one_feed(data: bytes) -> None:
    check(list(parse_file("f.xml", b'<?xml version="1.0"?><rss version="2.0">' + data, "d",
                          LIMITS)))


TARGETS = {"jsonl": one_jsonl, "array": one_array, "sniff": one_sniff, "html": one_html,
           "feed": one_feed}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: python fuzz/parsers.py {{{'|'.join(TARGETS)}}} [libFuzzer flags]")
    target = TARGETS[sys.argv.pop(1)]
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()
