"""report.html: one self-contained page that says what a run did.

Owns the run report: counts by status and dead-letter reason, languages found, repairs by kind
with examples (before / after / evidence), articles flagged for review, stage timings, and
charts (inline SVG: languages, repair kinds, article lengths). No network, no external CSS, JS
or fonts. Every piece of article text is escaped: article text is untrusted input.

It streams the written article and dead-letter files (only counts, a few examples and histogram
bins are kept), so a 100k-article drop costs the same memory as a small one.
"""

from __future__ import annotations

import hashlib
import html
import json
from typing import Iterable

from apache_beam.io.filesystems import FileSystems

REPORT_NAME = "report.html"
EXAMPLES_PER_KIND = 3
MAX_FLAGGED = 100
# Article length bins (characters of body): news briefs are under 1k, most articles 1-6k
# (shared/eval/news: 300-6000), long reads above.
LENGTH_BINS = (0, 500, 1000, 2000, 4000, 8000, 16000, 32000)

CSS = """
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
header{background:#1d3557;color:#fff;padding:18px 28px}
header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;opacity:.85}
main{padding:16px 28px;display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:16px}
section{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:12px 16px}
section.wide{grid-column:1/-1}
h2{font-size:17px;margin:4px 0 10px;color:#1d3557}
table{border-collapse:collapse;width:100%;font-size:13.5px}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eef0f3;vertical-align:top}
th{background:#f1f3f6}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.big{display:flex;gap:14px;flex-wrap:wrap}
.big div{background:#f1f3f6;border-radius:6px;padding:8px 14px;min-width:110px}
.big b{display:block;font-size:24px}
.ok{color:#1a7f37}.bad{color:#b42318}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12.5px}
del{background:#fde8e8;text-decoration:none}ins{background:#e6f4ea;text-decoration:none}
"""


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def bar_chart(items: list[tuple[str, int]], title: str, color: str = "#457b9d") -> str:
    """A horizontal bar chart as inline SVG (labels escaped)."""
    if not items:
        return f'<p class="muted">No {title.lower()}.</p>'
    width, row, label_w = 520, 22, 190
    top = max(v for _, v in items) or 1
    height = row * len(items) + 8
    parts = [f'<svg role="img" aria-label="{_e(title)}" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">']
    for i, (label, value) in enumerate(items):
        y = 4 + i * row
        w = int((width - label_w - 60) * value / top)
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="12">'
                     f'{_e(label[:30])}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{max(w, 1)}" height="{row - 6}" '
                     f'fill="{color}" rx="2"/>')
        parts.append(f'<text x="{label_w + w + 6}" y="{y + 15}" font-size="12">{value}</text>')
    parts.append("</svg>")
    return "".join(parts)


def histogram(counts: list[int], bins: tuple[int, ...], title: str) -> str:
    """Vertical bars per bin, as inline SVG."""
    width, height, pad = 520, 190, 30
    top = max(counts) if counts and max(counts) else 1
    n = len(counts)
    bw = (width - 2 * pad) / max(n, 1)
    parts = [f'<svg role="img" aria-label="{_e(title)}" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">']
    for i, c in enumerate(counts):
        h = (height - 2 * pad) * c / top
        x = pad + i * bw
        y = height - pad - h
        label = (f"{bins[i] // 1000}k" if bins[i] >= 1000 else str(bins[i])) + "+"
        parts.append(f'<rect x="{x + 3:.1f}" y="{y:.1f}" width="{bw - 6:.1f}" height="{h:.1f}" '
                     f'fill="#e76f51" rx="2"/>')
        parts.append(f'<text x="{x + bw / 2:.1f}" y="{height - pad + 14}" font-size="11" '
                     f'text-anchor="middle">{label}</text>')
        parts.append(f'<text x="{x + bw / 2:.1f}" y="{y - 4:.1f}" font-size="11" '
                     f'text-anchor="middle">{c}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _read_jsonl(path: str) -> Iterable[dict]:
    with FileSystems.open(path, compression_type="uncompressed") as handle:
        while True:
            line = handle.readline()
            if not line:
                return
            if line.strip():
                yield json.loads(line)


class _Summary:
    def __init__(self) -> None:
        self.langs: dict[str, int] = {}
        self.repair_kinds: dict[str, int] = {}
        self.examples: dict[str, list[dict]] = {}
        self.flagged: list[dict] = []
        self.n_flagged = 0
        self.lengths = [0] * len(LENGTH_BINS)
        self.mt_likely = 0

    def add(self, a: dict) -> None:
        lang = a.get("source_lang") or "und"
        self.langs[lang] = self.langs.get(lang, 0) + 1
        if (a.get("mt_origin") or {}).get("likely"):
            self.mt_likely += 1
        for r in a.get("repairs", []):
            kind = f"{r.get('stage')}: {r.get('kind')}"
            self.repair_kinds[kind] = self.repair_kinds.get(kind, 0) + 1
            ex = self.examples.setdefault(kind, [])
            if len(ex) < EXAMPLES_PER_KIND:
                ex.append({"id": a.get("id"), **{k: r.get(k, "") for k in
                                                 ("before", "after", "evidence", "method")}})
        if a.get("flags"):
            self.n_flagged += 1
            if len(self.flagged) < MAX_FLAGGED:
                self.flagged.append({"id": a.get("id"), "title": a.get("title", ""),
                                     "flags": a.get("flags"), "status": a.get("status")})
        n = len(a.get("body", ""))
        idx = max(i for i, b in enumerate(LENGTH_BINS) if n >= b)
        self.lengths[idx] += 1


def _sorted_items(d: dict) -> list[tuple[str, int]]:
    return sorted(d.items(), key=lambda kv: (-kv[1], kv[0]))


def render(results: list[dict], stages: dict, run_info: dict, summary: _Summary,
           dead_examples: list[dict]) -> str:
    from pipeline.manifest import counts_from_results

    c = counts_from_results(results)
    ok = c["reconciled"]
    out = ["<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
           "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">",
           "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
           "style-src 'unsafe-inline'; img-src data:\">",
           f"<title>newsnorm run report – {_e(run_info.get('run_id', ''))}</title>",
           f"<style>{CSS}</style></head><body>",
           "<header><h1>newsnorm run report</h1>",
           f"<p>run {_e(run_info.get('run_id', ''))} · runner {_e(run_info.get('runner', ''))} · "
           f"{_e(run_info.get('seconds', ''))} s · finished {_e(run_info.get('finished', ''))}</p>"
           "</header><main>"]
    out.append('<section class="wide" id="counts"><h2>Counts</h2><div class="big">'
               f'<div>read<b>{c["read"]}</b></div><div>written<b>{c["written"]}</b></div>'
               f'<div>dead-lettered<b>{c["dead_lettered"]}</b></div>'
               f'<div>flagged for review<b>{summary.n_flagged}</b></div>'
               f'<div>machine-translated input<b>{summary.mt_likely}</b></div>'
               f'<div>reconciled<b class="{"ok" if ok else "bad"}">'
               f'{"yes" if ok else "NO"}</b></div></div></section>')
    out.append('<section id="status"><h2>Articles by status</h2>'
               + bar_chart(_sorted_items(c["by_status"]), "Articles by status", "#2a9d8f")
               + "</section>")
    out.append('<section id="dead-letters"><h2>Dead letters by reason</h2>'
               + bar_chart(_sorted_items(c["dead_letter_by_reason"]), "Dead letters by reason",
                           "#b42318"))
    if dead_examples:
        out.append("<table><tr><th>reason</th><th>stage</th><th>where</th><th>error</th></tr>")
        for d in dead_examples:
            prov = d.get("provenance") or {}
            where = f"{prov.get('file', '')}:{prov.get('line') or prov.get('entry') or ''}"
            out.append(f"<tr><td>{_e(d.get('reason'))}</td><td>{_e(d.get('stage'))}</td>"
                       f"<td class=mono>{_e(where)}</td><td>{_e(str(d.get('error'))[:160])}</td></tr>")
        out.append("</table>")
    out.append("</section>")
    out.append('<section id="languages"><h2>Languages found</h2>'
               + bar_chart(_sorted_items(summary.langs), "Languages found") + "</section>")
    out.append('<section id="lengths"><h2>Article lengths (characters of body)</h2>'
               + histogram(summary.lengths, LENGTH_BINS, "Article lengths") + "</section>")
    out.append('<section class="wide" id="repairs"><h2>Repairs by kind</h2>'
               + bar_chart(_sorted_items(summary.repair_kinds)[:25], "Repairs by kind", "#e9c46a"))
    if summary.examples:
        out.append("<table><tr><th>kind</th><th>article</th><th>before → after</th>"
                   "<th>evidence / method</th></tr>")
        for kind, _ in _sorted_items(summary.repair_kinds)[:25]:
            for ex in summary.examples.get(kind, []):
                out.append(f"<tr><td>{_e(kind)}</td><td class=mono>{_e(ex['id'])}</td>"
                           f"<td><del>{_e(ex['before'][:120])}</del> → "
                           f"<ins>{_e(ex['after'][:120])}</ins></td>"
                           f"<td>{_e(ex['evidence'][:160])} <span class=mono>"
                           f"({_e(ex['method'])})</span></td></tr>")
        out.append("</table>")
    out.append("</section>")
    out.append(f'<section class="wide" id="flagged"><h2>Flagged for review ({summary.n_flagged})'
               "</h2>")
    if summary.flagged:
        out.append("<table><tr><th>article</th><th>title</th><th>flags</th><th>status</th></tr>")
        for f in summary.flagged:
            out.append(f"<tr><td class=mono>{_e(f['id'])}</td><td>{_e(f['title'][:140])}</td>"
                       f"<td>{_e(', '.join(f['flags']))}</td><td>{_e(f['status'])}</td></tr>")
        out.append("</table>")
    else:
        out.append("<p>No article was flagged.</p>")
    out.append("</section>")
    out.append('<section class="wide" id="timings"><h2>Stage timings</h2><table><tr>'
               "<th>stage</th><th>in</th><th>out</th><th>dead</th><th>total ms</th>"
               "<th>mean ms</th><th>max ms</th></tr>")
    for name, s in stages.items():
        if "us_total" not in s and "in" not in s:
            continue
        timed = s.get("timed") or 0
        total = s.get("us_total", 0) / 1000
        out.append(f"<tr><td>{_e(name)}</td><td class=n>{s.get('in', '')}</td>"
                   f"<td class=n>{s.get('out', '')}</td><td class=n>{s.get('dead', 0)}</td>"
                   f"<td class=n>{total:.1f}</td>"
                   f"<td class=n>{(total / timed) if timed else 0:.2f}</td>"
                   f"<td class=n>{s.get('us_max', 0) / 1000:.1f}</td></tr>")
    out.append("</table></section></main></body></html>")
    return "\n".join(out)


def write_report(out_dir: str, results: list[dict], stages: dict, run_info: dict) -> list[dict]:
    """Write OUT/report.html from the published files; return its manifest file record."""
    summary = _Summary()
    dead_examples: list[dict] = []
    for r in sorted(results, key=lambda r: r.get("path", "")):
        if r.get("kind") not in ("articles", "dead_letter") or r.get("format") != "jsonl":
            continue
        path = FileSystems.join(out_dir, *r["path"].split("/"))
        if r["kind"] == "articles":
            for a in _read_jsonl(path):
                summary.add(a)
        elif r["kind"] == "dead_letter":
            for d in _read_jsonl(path):
                if len(dead_examples) < 20:
                    dead_examples.append(d)
    page = render(results, stages, run_info, summary, dead_examples).encode("utf-8")
    path = FileSystems.join(out_dir, REPORT_NAME)
    with FileSystems.create(path) as handle:
        handle.write(page)
    return [{"path": REPORT_NAME, "kind": "report", "format": "html", "rows": 0,
             "bytes": len(page), "sha256": hashlib.sha256(page).hexdigest()}]
