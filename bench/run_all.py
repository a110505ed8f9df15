"""One command for every benchmark: `python -m bench.run_all [--quick]`.

Runs bench/bench_pipeline.py, bench/bench_langid.py and bench/bench_translate.py (each prints
its own ratios, measured side by side in one run) one after the other, so they never compete
for the two cores. `--quick` is passed on to the pipeline and translation benchmarks.
`--hf_python PATH` (an interpreter with torch + transformers + ctranslate2, never a dependency of
the pipeline) adds the Hugging Face MarianMT comparison to the translation benchmark.
Record the output in docs/benchmarks.md with the machine and the date.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--hf_python", default="",
                    help="interpreter with torch + transformers: adds bench_translate --hf")
    args = ap.parse_args(argv)
    quick = ["--quick"] if args.quick else []
    runs = [[sys.executable, "-m", "bench.bench_pipeline", *quick]]
    if (BENCH / "bench_langid.py").exists():
        runs.append([sys.executable, str(BENCH / "bench_langid.py")])
    if (BENCH / "bench_translate.py").exists():
        hf = ["--hf", "--hf_python", args.hf_python] if args.hf_python else []
        runs.append([sys.executable, str(BENCH / "bench_translate.py"), *quick, *hf])
    failed = 0
    for cmd in runs:
        print(f"\n$ {' '.join(Path(c).name if i < 2 else c for i, c in enumerate(cmd))}", flush=True)
        failed += subprocess.run(cmd, cwd=BENCH.parent).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
