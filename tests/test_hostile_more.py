"""Issue 21: the hostile cases that lost data, killed or hung a job, or leaked outside the
output. One test (at least) per cause, numbered as in the issue; docs/reliability.md lists
every case and what it gets. Each failed on main before the fix.
"""

from __future__ import annotations

import json
import os
import pickle

import pytest

from tests.conftest import run_cli
from transforms import ingest
from transforms.ingest import MAX_NESTING_DEPTH, ParseLimits, parse_file


def _parse(name: str, data: bytes, lines: bool = True, limits=ParseLimits()) -> list:
    chunks = data.splitlines(keepends=True) if lines else data
    return list(parse_file(name, chunks, "d", limits))


def _reasons(results) -> list[str]:
    return [r.dead["reason"] if r.dead else "article" for r in results]


def _line(record: dict) -> bytes:
    return json.dumps(record).encode() + b"\n"


def _records(n: int, prefix: str = "r") -> bytes:
    return b"".join(_line({"id": f"{prefix}{i}", "title": f"Title {i}", "body": "Body."})
                    for i in range(n))


def _graph(tmp_path, drop, shuffle: str = "disk", **config):
    """The Beam graph on a drop (as `newsnorm run` lists it): (articles, dead letters, counts)."""
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.testing.test_pipeline import TestPipeline

    from pipeline import graph
    from pipeline.manifest import counts_from_results
    from pipeline.options import JobConfig
    from pipeline.run import list_input_files, spill_dir

    files, name = list_input_files(str(drop))
    cfg = JobConfig(input=str(drop), output=str(tmp_path / "out"), progress=False,
                    report=False, models_dir=str(tmp_path / "no-models"), shuffle=shuffle,
                    **config)
    staging = tmp_path / "staging"
    spill = spill_dir(cfg, "FnApiRunner", str(staging))
    with TestPipeline(options=PipelineOptions(["--runner=FnApiRunner"])) as p:
        graph.build(p, files, name, str(staging), cfg, num_shards=1, spill=spill,
                    root=str(drop))
    results = json.loads((staging / graph.RESULTS_NAME).read_text())

    def rows(kind):
        return [json.loads(line) for f in sorted((staging / kind).glob("*.jsonl"))
                for line in f.read_text(encoding="utf-8").splitlines()]

    return rows("articles"), rows("dead_letter"), counts_from_results(results)


# --------------------------------------------------------------------------- 1. 64 MiB


@pytest.mark.parametrize("first", [b"\n", b"   \n", b'{"id": "cut", "title": "trunc\n'],
                         ids=["blank", "spaces", "truncated"])
def test_1_jsonl_over_the_whole_file_limit_streams(monkeypatch, first):
    """A JSON Lines file over MAX_WHOLE_FILE_BYTES whose first line is not an object lost
    every record (one empty_file dead letter). The limit is lowered so the test is fast; the
    slow tier does it at the real 64 MiB (test_1_real_64_mib_boundary)."""
    monkeypatch.setattr(ingest, "MAX_WHOLE_FILE_BYTES", 2000)
    data = first + _records(100)
    results = _parse("big.jsonl", data)
    assert _reasons(results).count("article") == 100
    assert len(results) == 100 + (0 if not first.strip() else 1)
    assert {r.article["provenance"]["format"] for r in results if r.article} == {"jsonl"}
    # The same as one byte string (how verify and the fuzzers also call it).
    assert _reasons(_parse("big.jsonl", data, lines=False)) == _reasons(results)


def test_1_utf16_jsonl_over_the_limit_streams(monkeypatch):
    monkeypatch.setattr(ingest, "MAX_WHOLE_FILE_BYTES", 2000)
    data = _records(300).decode().encode("utf-16")
    results = _parse("big16.jsonl", data)
    assert _reasons(results) == ["article"] * 300
    assert {r.article["provenance"]["encoding"] for r in results} == {"utf-16"}
    # A bad code unit late in a streamed file: the records read before it are kept (all but
    # those still in the 8 KiB sniffing buffer), the rest is one dead letter for the file.
    bad = data + b"\x00\xd8" + b"\n\x00" + _records(50).decode().encode("utf-16-le")
    results = _parse("bad16.jsonl", bad)
    assert results[-1].dead["reason"] == "undecodable_bytes"
    assert _reasons(results[:-1]) == ["article"] * (len(results) - 1) and len(results) > 200


def test_1_pretty_printed_object_under_the_limit_is_still_json():
    data = json.dumps({"id": "p", "title": "Pretty", "body": "Printed."}, indent=2).encode()
    (result,) = _parse("p.json", b"\n" + data)
    assert result.article["id"] == "p" and result.article["provenance"]["format"] == "json"


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_1_real_64_mib_boundary(tmp_path):
    """Files just under and just over 64 MiB, through `newsnorm run` and `verify --input`:
    JSON Lines (blank first line) keep every record at both sizes, also those after the
    64 MiB mark; a JSON array over the limit is one file_too_large dead letter; counts
    reconcile. (Most of the bytes are blank lines so the run stays short; the parser alone
    on 64 MiB of records: test_fuzz_parsers.py::test_sizes_across_the_whole_file_limit.)"""
    limit = ingest.MAX_WHOLE_FILE_BYTES
    drop = tmp_path / "drop"
    drop.mkdir()
    expected = 0
    for name, target in (("under.jsonl", limit - 1), ("over.jsonl", limit + 1)):
        # A blank first line, 50 records, blank lines of spaces (no unit) up to the size, and
        # 50 more records past the 64 MiB mark: every record must be read.
        head, tail = _records(50, name + "-a"), _records(50, name + "-z")
        fill = target - 1 - len(head) - len(tail)
        rest = fill % 1024
        blank = (b" " * 1023 + b"\n") * (fill // 1024) + (b" " * (rest - 1) + b"\n" if rest else b"")
        data = b"\n" + head + blank + tail
        assert len(data) == target
        (drop / name).write_bytes(data)
        expected += 100
    array = b"[" + b",".join([json.dumps({"id": "a", "title": "t", "body": "b" * 1000}).encode()]
                             * (limit // 1000 + 10)) + b"]"
    (drop / "over.json").write_bytes(array)
    out = tmp_path / "out"
    proc = run_cli("run", "--input", str(drop), "--output", str(out), "--quiet", "--no_report",
                   "--models_dir", str(tmp_path / "no-models"), "--num_shards", "4",
                   timeout=580)
    assert proc.returncode == 0, proc.stderr[-2000:]
    counts = json.loads((out / "manifest.json").read_text())["counts"]
    assert counts["reconciled"] and counts["read"] == expected + 1
    assert counts["dead_letter_by_reason"].get("file_too_large") == 1
    assert "empty_file" not in counts["dead_letter_by_reason"]
    proc = run_cli("verify", str(out), "--input", str(drop), timeout=580)
    assert proc.returncode == 0, proc.stderr[-2000:]


# --------------------------------------------------------------------------- 4. nesting


def _deep(depth: int, rid: str = "deep") -> bytes:
    return (b'{"id": "' + rid.encode() + b'", "title": "t", "body": "b", "x": '
            + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}\n")


@pytest.mark.parametrize("depth", [MAX_NESTING_DEPTH + 1, 500, 5000, 100_000])
def test_4_too_deep_is_a_dead_letter(depth):
    (result,) = _parse("d.jsonl", _deep(depth))
    assert result.dead["reason"] == "too_deep"
    array = b"[" + _deep(depth).strip() + b"]"
    (result,) = _parse("d.json", array, lines=False)
    assert result.dead["reason"] == "too_deep"


def test_4_at_the_limit_is_an_article_and_picklable():
    (result,) = _parse("d.jsonl", _deep(MAX_NESTING_DEPTH))
    assert result.article is not None
    pickle.loads(pickle.dumps(result.article))


@pytest.mark.parametrize("shuffle", ["disk", "beam"])
def test_4_deep_record_does_not_kill_the_job(tmp_path, shuffle):
    """500 levels (1 KB) crashed the job with RecursionError while Beam pickled the record."""
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "a.jsonl").write_bytes(_records(3) + _deep(500) + _deep(MAX_NESTING_DEPTH, "edge"))
    articles, dead, counts = _graph(tmp_path, drop, shuffle)
    assert sorted(a["id"] for a in articles) == ["edge", "r0", "r1", "r2"]
    assert [d["reason"] for d in dead] == ["too_deep"]
    assert counts["reconciled"] and counts["read"] == 5


# --------------------------------------------------------------------------- 12. strict JSON


@pytest.mark.parametrize("text, reason", [
    ('{"id": "n", "title": "t", "x": NaN}', "invalid_json"),
    ('{"id": "n", "title": "t", "x": [Infinity]}', "invalid_json"),
    ('{"id": "n", "title": "t", "x": -Infinity}', "invalid_json"),
    ('{"id": 1e400, "title": "t"}', "invalid_json"),
    ('{"id": true, "title": "t"}', "bad_field_type"),
    ('{"id": false, "title": "t"}', "bad_field_type"),
    ('{"id": ["a"], "title": "t"}', "bad_field_type"),
    ('{"id": {"a": 1}, "title": "t"}', "bad_field_type"),
    ('{"id": 7, "title": "t", "x": 1.5e300}', "article"),
])
def test_12_strict_json_and_id_types(text, reason):
    for data, lines in ((text.encode() + b"\n", True), (b"[" + text.encode() + b"]", False)):
        (result,) = _parse("s.jsonl", data, lines)
        assert _reasons([result]) == [reason], result.dead
    if reason == "article":
        json.loads(json.dumps(result.article, allow_nan=False))


def test_12_bool_id_dead_letter_has_no_fake_id():
    (result,) = _parse("s.jsonl", b'{"id": true, "title": "t"}\n')
    assert result.dead["id"] == ""


@pytest.mark.parametrize("url", ["javascript:alert(1)", " JavaScript:alert(1)",
                                 "java\tscript:alert(1)", "\x01javascript:x", "vbscript:x",
                                 "data:text/html,<script>x</script>"])
def test_12_unsafe_urls_are_dropped_with_a_flag(url):
    (result,) = _parse("u.jsonl", _line({"id": "u", "title": "t", "url": url}))
    assert result.article["url"] == "" and "unsafe_url_dropped" in result.article["flags"]
    feed = ('<rss version="2.0"><channel><title>f</title><item><title>t</title><link>'
            + url.replace("<", "&lt;").replace("\x01", "") + "</link><description>d</description>"
            "</item></channel></rss>").encode()
    (result,) = _parse("f.xml", feed, lines=False)
    assert result.article["url"] == "" and "unsafe_url_dropped" in result.article["flags"]


def test_12_http_urls_are_kept():
    (result,) = _parse("u.jsonl", _line({"id": "u", "title": "t", "url": "https://x.test/a?b=c"}))
    assert result.article["url"] == "https://x.test/a?b=c" and not result.article["flags"]


# --------------------------------------------------------------------------- 5, 6, 9, 11: file
# kinds and names, through `newsnorm run` once

SECRET = "SECRET-OUTSIDE-THE-DROP-7d1f"
CTRL_NAME = "title\x1b]0;pwned\x07.jsonl"


@pytest.fixture(scope="module")
def kinds_run(tmp_path_factory):
    """A drop (its own name not UTF-8) holding: a file whose name is not UTF-8, a name with
    terminal escapes, a FIFO, a dangling symlink, a symlink loop, a symlink to a file outside
    the drop, a symlink to a directory, and a symlink inside the drop (followed)."""
    root = tmp_path_factory.mktemp("kinds")
    outside = root / "outside.jsonl"
    outside.write_text(json.dumps({"id": "leak", "title": SECRET, "body": SECRET}) + "\n")
    drop = os.path.join(os.fsencode(str(root)), b"drop-\xff")
    os.mkdir(drop)

    def put(name: bytes, data: bytes) -> None:
        with open(os.path.join(drop, name), "wb") as fh:
            fh.write(data)

    put(b"good.jsonl", _records(2, "good"))
    put(b"caf\xe9.jsonl", _records(1, "latin1name"))
    put(os.fsencode(CTRL_NAME), _records(1, "ctrl"))
    os.mkfifo(os.path.join(drop, b"fifo.jsonl"))
    os.symlink(b"/nonexistent/target.jsonl", os.path.join(drop, b"dangling.jsonl"))
    os.symlink(b"loop.jsonl", os.path.join(drop, b"loop.jsonl"))
    os.symlink(os.fsencode(str(outside)), os.path.join(drop, b"escape.jsonl"))
    os.symlink(os.fsencode(str(root)), os.path.join(drop, b"dirlink"))
    os.symlink(b"good.jsonl", os.path.join(drop, b"inner-link.jsonl"))
    # The other causes in the same drop, so one run shows every case reconciles.
    put(b"records.jsonl", b"".join([
        _deep(500), _deep(MAX_NESTING_DEPTH, "deep-edge"),
        b'{"id": "nan", "title": "t", "x": NaN}\n', b'{"id": 1e400, "title": "t"}\n',
        b'{"id": true, "title": "t"}\n',
        _line({"id": "js", "title": "t", "url": "javascript:alert(1)"}),
        _line({"id": "markup", "title": "A <script>alert(1)</script>title",
               "body": "<p>One <img src=x onerror=alert(2)></p><p>Two</p>"})]))
    put(b"flood.xml", _feed(item_attrs=b" " + b" ".join(b'a%d="x"' % i for i in range(5000))))
    put(b"deep.html", _page(300))
    put(b"big-first-blank.jsonl", b"\n" + _records(3, "blank-first"))
    out = root / "out"
    proc = run_cli("run", "--input", os.fsdecode(drop), "--output", str(out), "--no_report",
                   "--models_dir", str(root / "no-models"), timeout=240)
    return root, os.fsdecode(drop), out, proc


def _out_rows(out, kind):
    return [json.loads(line) for f in sorted((out / kind).glob("*.jsonl"))
            for line in f.read_text(encoding="utf-8").splitlines()]


def test_5_6_9_file_kinds_and_names_do_not_kill_the_job(kinds_run):
    root, drop, out, proc = kinds_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    dead = {d["provenance"]["file"]: d for d in _out_rows(out, "dead_letter")}
    articles = {a["id"]: a for a in _out_rows(out, "articles")}
    # 5: names that are not UTF-8 are read, and shown with the bad byte escaped
    assert articles["latin1name0"]["provenance"]["file"] == "caf\\xe9.jsonl"
    assert articles["latin1name0"]["provenance"]["drop"] == "drop-\\xff"
    assert articles["ctrl0"]["provenance"]["file"] == CTRL_NAME  # data: kept, JSON-escaped
    # 6: only regular files are read; everything else is one dead letter with the reason
    assert dead["fifo.jsonl"]["reason"] == "unreadable_file"
    assert "FIFO" in dead["fifo.jsonl"]["error"]
    assert "dangling" in dead["dangling.jsonl"]["error"]
    assert "loop" in dead["loop.jsonl"]["error"]
    assert "directory" in dead["dirlink"]["error"] or dead["dirlink"]["reason"] == "outside_drop"
    # 9: a link out of the drop is not read; a link inside it is
    assert dead["escape.jsonl"]["reason"] == "outside_drop"
    assert "--follow_symlinks" in dead["escape.jsonl"]["error"]
    assert "good0" in articles and "inner-link.jsonl" in dead  # same ids: a duplicate
    assert dead["inner-link.jsonl"]["reason"] == "duplicate_id"
    for f in out.rglob("*"):
        if f.is_file():
            assert SECRET.encode() not in f.read_bytes(), f
    # the other causes, side by side
    assert {k: dead[k]["reason"] for k in ("flood.xml", "deep.html")} == {
        "flood.xml": "too_many_attributes", "deep.html": "too_deep"}
    by_line = {(d["provenance"]["file"], d["provenance"].get("line")): d["reason"]
               for d in _out_rows(out, "dead_letter")}
    assert [by_line[("records.jsonl", n)] for n in (1, 3, 4, 5)] == [
        "too_deep", "invalid_json", "invalid_json", "bad_field_type"]
    assert articles["js"]["url"] == "" and "unsafe_url_dropped" in articles["js"]["flags"]
    assert articles["markup"]["title"] == "A title"
    assert articles["markup"]["body"] == "One\n\nTwo"
    assert {"deep-edge", "blank-first0", "blank-first2"} <= set(articles)
    counts = json.loads((out / "manifest.json").read_text())["counts"]
    rows = _out_rows(out, "dead_letter")
    assert counts["reconciled"] and counts["read"] == len(articles) + len(rows)


def test_5_6_9_verify_input_accounts_for_every_entry(kinds_run):
    from pipeline.manifest import verify

    root, drop, out, proc = kinds_run
    assert verify(str(out), drop) == []
    proc = run_cli("verify", str(out), "--input", drop, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_every_case_missing_unit_is_caught_by_verify_input(kinds_run, tmp_path):
    """read = written + dead-lettered holds for the hostile drop, and verify --input fails
    when a unit is missing: one JSON Lines line, or one Parquet row, each with the manifest
    re-fixed (bytes, sha256, rows, counts) so only the deeper checks can see it."""
    import hashlib
    import shutil

    import pyarrow.parquet as pq

    from pipeline.manifest import verify

    root, drop, out, _ = kinds_run

    def fresh(name):
        copy = tmp_path / name
        shutil.copytree(out, copy)
        return copy, json.loads((copy / "manifest.json").read_text())

    def refix(copy, manifest, rel, rows_delta):
        data = (copy / rel).read_bytes()
        (entry,) = [f for f in manifest["files"] if f["path"] == rel]
        entry.update(bytes=len(data), sha256=hashlib.sha256(data).hexdigest(),
                     rows=entry["rows"] + rows_delta)
        (copy / "manifest.json").write_text(json.dumps(manifest))

    # A missing JSON Lines line (a dead letter: the unit is not an article anywhere else)
    copy, manifest = fresh("line")
    rel = next(f["path"] for f in manifest["files"] if f["kind"] == "dead_letter")
    lines = (copy / rel).read_bytes().splitlines(keepends=True)
    gone = json.loads(lines[0])
    (copy / rel).write_bytes(b"".join(lines[1:]))
    manifest["counts"]["dead_lettered"] -= 1
    manifest["counts"]["read"] -= 1
    refix(copy, manifest, rel, -1)
    assert verify(str(copy)) == []  # self-consistent: only the input can tell
    problems = verify(str(copy), drop)
    assert len(problems) == 1 and "is missing from the output" in problems[0]
    assert gone["provenance"]["file"].replace("\x1b", "") in problems[0].replace("\x1b", "")
    # A missing Parquet row
    copy, manifest = fresh("row")
    rel = next(f["path"] for f in manifest["files"] if f["format"] == "parquet")
    table = pq.read_table(copy / rel)
    pq.write_table(table.slice(1), copy / rel)
    refix(copy, manifest, rel, -1)
    problems = verify(str(copy), drop)
    missing = table.column("id").to_pylist()[0]
    assert f"{rel}: article {missing!r} of {rel[:-8]}.jsonl is missing" in problems


def test_11_verify_prints_file_names_escaped(kinds_run, tmp_path):
    import shutil

    root, drop, out, _ = kinds_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["counts"]["read"] += 1
    (copy / "manifest.json").write_text(json.dumps(manifest))
    # A record from a file the drop does not hold: verify names the file (ours: a crafted one)
    proc = run_cli("verify", str(copy), "--input", str(root / "outside.jsonl"), timeout=120)
    assert proc.returncode == 1
    assert "\x1b" not in proc.stderr and "\x07" not in proc.stderr
    assert "title\\x1b]0;pwned\\x07.jsonl" in proc.stderr


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_5_watch_survives_a_drop_name_that_is_not_utf8(tmp_path):
    """A non-UTF-8 drop name crashed the watcher on every start (and left a temp ledger file
    per attempt); the drops after it never ran."""
    inbox = tmp_path / "in"
    inbox.mkdir()
    for name in (b"a-\xff", b"b-plain"):
        path = os.path.join(os.fsencode(str(inbox)), name)
        os.mkdir(path)
        with open(os.path.join(path, b"x.jsonl"), "wb") as fh:
            fh.write(_records(1, name.decode("latin-1")))
        open(os.path.join(path, b"_READY"), "wb").close()
    out = tmp_path / "out"
    proc = run_cli("watch", "--input", str(inbox), "--output", str(out), "--once", "--",
                   "--models_dir", str(tmp_path / "no-models"), "--no_report", "--quiet",
                   timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    from pipeline.watch import iter_entries

    states = {e["drop"]: e["state"] for e in iter_entries(str(out))}
    assert states == {"a-\udcff": "done", "b-plain": "done"}
    assert not [n for n in os.listdir(out / "_ledger") if ".tmp." in n]


# --------------------------------------------------------------------------- 8. output location


@pytest.fixture()
def drop_dir(tmp_path):
    drop = tmp_path / "drop"
    (drop / "articles").mkdir(parents=True)
    (drop / "articles" / "in.jsonl").write_bytes(_records(2))
    return drop


@pytest.mark.parametrize("where", ["same", "inside", "contains"])
def test_8_output_overlapping_the_input_is_refused(drop_dir, tmp_path, where):
    out = {"same": drop_dir, "inside": drop_dir / "out", "contains": tmp_path}[where]
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    proc = run_cli("run", "--input", str(drop_dir), "--output", str(out), "--quiet",
                   "--models_dir", str(tmp_path / "no-models"))
    assert proc.returncode == 2, proc.stderr
    assert "output is" in proc.stderr or "output contains" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before  # nothing deleted or made


def test_8_foreign_directory_is_not_cleaned(drop_dir, tmp_path):
    out = tmp_path / "mine"
    (out / "articles").mkdir(parents=True)
    (out / "articles" / "precious.txt").write_text("keep me")
    (out / "notes.txt").write_text("keep me too")
    proc = run_cli("run", "--input", str(drop_dir), "--output", str(out), "--quiet",
                   "--models_dir", str(tmp_path / "no-models"))
    assert proc.returncode == 2 and "not a newsnorm output" in proc.stderr
    assert (out / "articles" / "precious.txt").read_text() == "keep me"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_8_a_newsnorm_output_is_rerun(drop_dir, tmp_path):
    out = tmp_path / "out"
    for _ in range(2):
        proc = run_cli("run", "--input", str(drop_dir), "--output", str(out), "--quiet",
                       "--force", "--no_report", "--models_dir", str(tmp_path / "no-models"))
        assert proc.returncode == 0, proc.stderr[-2000:]


# --------------------------------------------------------------------------- 10. output lock


def test_10_second_run_on_a_locked_output_fails_at_once(drop_dir, tmp_path):
    import time

    from pipeline.guard import lock_output

    out = tmp_path / "out"
    out.mkdir()
    fd = lock_output(str(out))  # as a first run holds it for its whole life
    try:
        start = time.monotonic()
        proc = run_cli("run", "--input", str(drop_dir), "--output", str(out), "--quiet",
                       "--models_dir", str(tmp_path / "no-models"))
        assert proc.returncode == 2
        assert proc.stderr.strip().splitlines() == [
            f"newsnorm: error: another newsnorm run is writing to {out}; wait for it to finish"]
        assert time.monotonic() - start < 60
        assert sorted(os.listdir(out)) == []  # nothing cleaned, nothing staged
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- 7. feeds bounded


def _feed(items: int = 1, item_attrs: bytes = b"", root_attrs: bytes = b"") -> bytes:
    body = b"".join(b"<item" + item_attrs + b"><title>Title %d</title><link>https://x.test/%d"
                    b"</link><description>Text %d.</description></item>" % (i, i, i)
                    for i in range(items))
    return (b'<?xml version="1.0"?><rss version="2.0"' + root_attrs + b"><channel><title>f"
            b"</title>" + body + b"</channel></rss>")


@pytest.mark.parametrize("what", ["attributes", "namespaces"])
def test_7_attribute_flood_is_refused_before_parsing(what):
    """40k attributes took 62 s to parse (quadratic); now one dead letter in milliseconds."""
    import time

    if what == "attributes":
        data = _feed(item_attrs=b" " + b" ".join(b'a%d="x"' % i for i in range(40_000)))
    else:
        data = _feed(root_attrs=b" " + b" ".join(b'xmlns:n%d="http://n.test/%d"' % (i, i)
                                                  for i in range(100_000)))
    start = time.monotonic()
    (result,) = _parse("flood.xml", data, lines=False)
    assert time.monotonic() - start < 5
    assert result.dead["reason"] == "too_many_attributes"


def test_7_attributes_at_the_cap_are_parsed():
    from transforms.feeds import MAX_ATTRIBUTES_PER_ELEMENT

    attrs = b" " + b" ".join(b'a%d="x"' % i for i in range(MAX_ATTRIBUTES_PER_ELEMENT))
    results = _parse("cap.xml", _feed(items=2, item_attrs=attrs), lines=False)
    assert _reasons(results) == ["article", "article"]


def test_7_feed_over_its_time_limit_is_a_dead_letter():
    data = _feed(items=3000)
    slow = ParseLimits(feed_timeout_s=0.05)
    (result,) = _parse("big.xml", data, lines=False, limits=slow)
    assert result.dead["reason"] == "feed_timeout" and "feed_timeout_s=0.05" in \
        result.dead["error"]
    results = _parse("big.xml", data, lines=False)  # the default limit: every entry
    assert _reasons(results) == ["article"] * 3000
    inline = _parse("big.xml", data, lines=False, limits=ParseLimits(feed_timeout_s=0))
    assert [r.article["id"] for r in inline] == [r.article["id"] for r in results]


# --------------------------------------------------------------------------- 3. deep HTML

PARAS = "".join(f"<p>Paragraph {i} says what happened in the valley after the floods receded "
                "on Monday, and what the council plans next.</p>" for i in range(6))


def _page(depth: int, before: bool = False) -> bytes:
    chain = "<div>" * depth + "</div>" * depth
    body = (chain + "<article><h1>Floods recede in the valley</h1>" + PARAS + "</article>"
            if not before else "<article><h1>Floods recede in the valley</h1>" + chain + PARAS
            + "</article>")
    return ("<!DOCTYPE html><html><head><title>Floods recede in the valley</title></head><body>"
            + body + "</body></html>").encode()


@pytest.mark.parametrize("depth", [300, 2000])
@pytest.mark.parametrize("before", [False, True], ids=["chain-first", "chain-after-headline"])
def test_3_html_deeper_than_the_parser_is_a_dead_letter(depth, before):
    """The parser drops everything after 256 levels: the page came out as its headline with
    the headline as body, and no flag."""
    (result,) = _parse("deep.html", _page(depth, before), lines=False)
    assert result.dead is not None and result.dead["reason"] == "too_deep", result.article


def test_3_html_under_the_limit_keeps_its_text():
    (result,) = _parse("ok.html", _page(200), lines=False)
    assert "Paragraph 5 says" in result.article["body"]


def test_3_headline_only_extraction_is_no_article_text():
    from transforms.html_page import only_headline

    assert only_headline({"title": "Floods recede", "body": ["Floods recede"]})
    assert not only_headline({"title": "", "body": ["Text"]})


# --------------------------------------------------------------------------- 11. markup


def test_11_markup_is_removed_and_logged_on_every_input_path(tmp_path):
    from transforms.replay import replay_article_field

    drop = tmp_path / "drop"
    drop.mkdir()
    title = 'Floods <script>alert("T")</script>recede <img src=x onerror=alert(1)>today'
    body = ("Residents returned <b>on Monday</b>.<script>document.cookie</script>\n\n"
            "Officials said <a href=\"javascript:x()\">300 homes</a> were damaged.")
    (drop / "a.jsonl").write_text(json.dumps({"id": "j", "title": title, "body": body,
                                              "lang": "en"}) + "\n")
    (drop / "b.json").write_text(json.dumps([{"id": "arr", "title": title, "body": body,
                                              "lang": "en"}]))
    page = ("<!DOCTYPE html><html><head><title>Floods recede &lt;/title&gt;&lt;script&gt;"
            "alert(9)&lt;/script&gt;</title></head><body><article><h1>Floods recede</h1>"
            + PARAS + "</article></body></html>")
    (drop / "c.html").write_text(page)
    articles, dead, counts = _graph(tmp_path, drop)
    assert counts["reconciled"] and not dead
    by_id = {a["provenance"]["file"]: a for a in articles}
    assert set(by_id) == {"a.jsonl", "b.json", "c.html"}
    for a in articles:
        text = a["title"] + a["body"]
        assert "<" not in text and "alert" not in text and "cookie" not in text, text
    jl = by_id["a.jsonl"]
    assert jl["title"] == "Floods recede today"
    assert jl["body"] == ("Residents returned on Monday.\n\n"
                          "Officials said 300 homes were damaged.")
    assert any(s["fixer"] == "strip_markup" for s in jl["repairs"])
    # The log replays: input text + logged steps = output text.
    assert replay_article_field(jl, "title", " ".join(title.split())) == jl["title"]
    assert replay_article_field(jl, "body", body) == jl["body"]


def test_11_prose_with_angle_brackets_is_kept():
    from transforms.normalize import fix_text_with_steps

    text = "Inflation <3% in May; a<b and c>d; the <Guardian> reported"
    fixed, steps = fix_text_with_steps(text, "body")
    assert fixed == text and not steps
