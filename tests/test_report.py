"""report.html: sections, escaping of untrusted text, and a render in a real headless browser."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess

import pytest

from tests.conftest import EXAMPLE_DROP, run_cli

SECTIONS = ("counts", "status", "dead-letters", "languages", "lengths", "repairs", "flagged",
            "timings")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def report_out(tmp_path_factory):
    drop = tmp_path_factory.mktemp("drop")
    for f in EXAMPLE_DROP.iterdir():
        shutil.copy(f, drop / f.name)
    hostile = {"id": "x<script>alert(1)</script>", "lang": "en",
               # Markup is stripped on input (normalize strip_markup); the id, the stripped tag
               # and "30,<>" shown as repairs' "before" reach the page and must be escaped.
               "title": "<img src=x onerror=alert(2)> Officials said 30,<> died",
               "body": "The ministry said <b>talks</b> resume on Friday; 30,<> dead were counted."}
    (drop / "hostile.jsonl").write_text(json.dumps(hostile) + "\n", encoding="utf-8")
    out = tmp_path_factory.mktemp("out") / "o"
    proc = run_cli("run", "--input", str(drop), "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


def test_report_is_listed_in_the_manifest_and_self_contained(report_out):
    page = (report_out / "report.html").read_text(encoding="utf-8")
    manifest = json.loads((report_out / "manifest.json").read_text())
    assert any(f["path"] == "report.html" and f["kind"] == "report" for f in manifest["files"])
    for section in SECTIONS:
        assert f'id="{section}"' in page, section
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in page and "<script" not in page.lower() and "<link" not in page
    assert "<svg" in page  # charts are inline


def test_untrusted_text_is_escaped(report_out):
    page = (report_out / "report.html").read_text(encoding="utf-8")
    assert "<img src=x" not in page  # stripped on input; the repair log shows it escaped
    assert "onerror=alert(2)&gt;" in page and "&lt;img" in page
    assert "30,<>" not in page and "30,&lt;&gt;" in page
    assert "x&lt;script&gt;alert(1)&lt;/script&gt;" in page


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.mark.slow  # a real browser: ~1 GB of Chromium processes beside the test process
@pytest.mark.timeout(300)
@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (.ci/run installs it)")
def test_report_renders_in_headless_chromium(report_out, tmp_path):
    shot = tmp_path / "report.png"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    url = (report_out / "report.html").as_uri()
    blank_page = tmp_path / "blank.html"
    blank_page.write_text("<!DOCTYPE html><html><body></body></html>")
    blank = tmp_path / "blank.png"
    for page, png in ((url, shot), (blank_page.as_uri(), blank)):
        subprocess.run([CHROMIUM, *flags, "--window-size=1300,2000", f"--screenshot={png}", page],
                       capture_output=True, timeout=120, check=True)
    assert _png_size(shot.read_bytes()) == (1300, 2000)
    # A rendered page (text, bars, header colour) compresses far worse than a blank one: the
    # example drop's report is ~270 kB against ~10 kB for an empty page of the same size.
    assert shot.stat().st_size > 10 * blank.stat().st_size
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", url], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    for section in SECTIONS:
        assert f'id="{section}"' in dom, section
    for heading in ("Counts", "Articles by status", "Dead letters by reason", "Languages found",
                    "Repairs by kind", "Flagged for review", "Stage timings"):
        assert heading in dom
    assert dom.count("<svg") >= 4
