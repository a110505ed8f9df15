"""Benchmark: paragraphs per second, our detector vs plain seeded langdetect, same text, one run.

The paragraphs are built from the labelled sentences of ../shared/eval/langid/dev.tsv: three
sentences of one language per paragraph (news paragraphs are 1-4 sentences), every language,
in a fixed order. Both detectors see exactly the same list; each is timed twice, alternating
(plain, ours, plain, ours) so drift on a shared machine hits both, and the best run counts.
Memory is the resident-set growth of this process when the detector is built and has detected
every paragraph once (models that load lazily are counted).

    .venv/bin/python bench/bench_langid.py [--tsv PATH] [--paragraphs N] [--baseline-rev REV]

`--baseline-rev REV` also times transforms/langid.py as it was at git revision REV (loaded from
`git show` into a temporary module), in the same process and the same alternation, so "no
slower than before" is measured on one machine state, not across runs. On a shared machine one
run of 1,000 paragraphs swings by +-25%, so it also times `--rounds` short rounds (200
paragraphs, ours and the baseline back to back, which goes first alternating) and prints the
median of the per-round speed ratios: load that comes and goes hits both sides of a round.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def paragraphs(tsv: Path, limit: int) -> list[str]:
    from evals.langid import load

    by_lang: dict[str, list[str]] = {}
    for lang, text, kind in load(tsv):
        if kind == "sentence":
            by_lang.setdefault(lang, []).append(text)
    out: list[str] = []
    for lang in sorted(by_lang):
        sents = by_lang[lang]
        out += [" ".join(sents[i:i + 3]) for i in range(0, len(sents) - 2, 3)]
    # interleave languages (a fixed pseudo-random order) so that neither detector benefits
    # from runs of one language
    return sorted(out, key=lambda p: zlib.crc32(p.encode("utf-8")))[:limit]


def baseline_detector(rev: str):
    """transforms/langid.py at git revision `rev`, built: its Detector instance."""
    repo = Path(__file__).resolve().parents[1]
    source = subprocess.run(["git", "-C", str(repo), "show", f"{rev}:transforms/langid.py"],
                            check=True, capture_output=True, text=True).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
        fh.write(source)
    spec = importlib.util.spec_from_file_location("langid_baseline", fh.name)
    module = importlib.util.module_from_spec(spec)
    sys.modules["langid_baseline"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    os.unlink(fh.name)
    return module.Detector()


ROUND = 200  # paragraphs per interleaved round


def timed(fn, texts: list[str]) -> float:
    start = time.perf_counter()
    for text in texts:
        fn(text)
    return time.perf_counter() - start


def main(argv=None) -> int:
    from evals.langid import default_tsv, plain_langdetect

    ap = argparse.ArgumentParser()
    ap.add_argument("--tsv", type=Path, default=default_tsv())
    ap.add_argument("--paragraphs", type=int, default=1000)
    ap.add_argument("--baseline-rev", default="")
    ap.add_argument("--rounds", type=int, default=30,
                    help="interleaved rounds for the ours / baseline median ratio")
    args = ap.parse_args(argv)
    if not args.tsv.exists():
        print(f"{args.tsv} not found", file=sys.stderr)
        return 2
    texts = paragraphs(args.tsv, args.paragraphs)
    chars = sum(len(t) for t in texts) / len(texts)

    base_mem = rss_mb()
    plain = plain_langdetect()
    for text in texts:
        plain(text)
    plain_mem = rss_mb() - base_mem

    from transforms.langid import Detector

    before = rss_mb()
    t0 = time.perf_counter()
    detector = Detector()
    load_s = time.perf_counter() - t0
    ours = detector.detect
    for text in texts:
        ours(text)
    ours_mem = rss_mb() - before

    fns = {"plain": plain, "ours": ours}
    if args.baseline_rev:
        before = rss_mb()
        base = baseline_detector(args.baseline_rev).detect
        for text in texts:
            base(text)
        base_mem = rss_mb() - before
        fns["baseline"] = base
    runs = {name: [] for name in fns}
    for _ in range(2):
        for name, fn in fns.items():
            runs[name].append(timed(fn, texts))
    plain_pps = len(texts) / min(runs["plain"])
    ours_pps = len(texts) / min(runs["ours"])
    print(f"{len(texts)} paragraphs (mean {chars:.0f} chars) from {args.tsv.name}, "
          f"{os.cpu_count()} cores, one thread, best of 2 alternating runs")
    print(f"plain langdetect (seed 0): {plain_pps:8.0f} paragraphs/s   RSS +{plain_mem:.0f} MB")
    print(f"ours (transforms.langid):  {ours_pps:8.0f} paragraphs/s   RSS +{ours_mem:.0f} MB "
          f"over langdetect, build {load_s:.2f} s")
    print(f"ours / plain speed ratio: {ours_pps / plain_pps:.2f}")
    if args.baseline_rev:
        base_pps = len(texts) / min(runs["baseline"])
        print(f"baseline ({args.baseline_rev}): {base_pps:8.0f} paragraphs/s   RSS +{base_mem:.0f} MB "
              f"more (models shared with ours)")
        print(f"ours / baseline speed ratio: {ours_pps / base_pps:.2f}")
        ratios = []
        for i in range(args.rounds):
            start = (i * ROUND) % max(1, len(texts) - ROUND + 1)
            chunk = texts[start:start + ROUND]
            if i % 2:
                t_ours, t_base = timed(ours, chunk), timed(base, chunk)
            else:
                t_base, t_ours = timed(base, chunk), timed(ours, chunk)
            ratios.append(t_base / t_ours)
        if ratios:
            print(f"ours / baseline speed ratio, median of {len(ratios)} interleaved rounds of "
                  f"{ROUND} paragraphs: {statistics.median(ratios):.2f} "
                  f"(rounds {min(ratios):.2f}-{max(ratios):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
