"""Pipeline benchmarks, measured side by side in one run:

1. overhead: articles/s of `newsnorm run` (FnApiRunner, in_memory) vs the same pure stage
   functions in a plain Python loop over the same drop. Beam's start-up cost is measured on a
   10-article drop and subtracted, and reported on its own;
2. scaling: the same drop with 1 and 2 workers in `--direct_running_mode=multi_processing`
   (the issue's measure), and the default single-process run vs 2 workers (what a user gains);
3. growth: time and peak RSS for drops of growing size (RSS of the run's process tree, sampled;
   report.html included, as in a default run), and at the overhead size the peak RSS of
   `--shuffle disk` (the default on this runner) vs `--shuffle beam` (whole articles in Beam's
   shuffles), side by side;
4. stages: CPU seconds per article of parse and of each stage, in a plain loop over the same
   drop (CPU, not wall: on a shared machine wall time measures the neighbours);
5. shuffle: with `--shuffle beam` (the graph distributed runners get), the bytes that go into
   each of the graph's GroupByKeys per article read, encoded with Beam's default coder for
   untyped elements (what a runner's shuffle carries; docs/scaling.md uses it).

The CPU time used by other processes during each run is printed (the machine is shared: a
ratio measured while another process took a core is not a ratio of our code).

    python -m bench.bench_pipeline [--quick] [--sizes 1000,10000,100000] [--n 10000]
                                   [--parts overhead,scaling,memory,growth,audit,stages,shuffle]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.generate_drop import write_drop  # noqa: E402

NEWSNORM = [str(Path(sys.executable).with_name("newsnorm"))]
NON_TRANSLATING = ("normalize", "boilerplate", "language", "translate", "repair", "validate")


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine from /proc/stat."""
    with open("/proc/stat") as fh:
        parts = [int(x) for x in fh.readline().split()[1:]]
    idle = parts[3] + parts[4]
    return sum(parts) - idle, sum(parts)


def tree_rss_kb(pid: int) -> int:
    """RSS of a process and its descendants (kB)."""
    total = 0
    try:
        children = subprocess.run(["ps", "-o", "pid=,rss=", "--ppid", str(pid)],
                                  capture_output=True, text=True).stdout.split()
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        for child in children[::2]:
            total += tree_rss_kb(int(child))
    except (OSError, ValueError):
        pass
    return total


def timed_run(args: list[str]) -> dict:
    """Run a command; wall time, peak tree RSS, and CPU seconds used by other processes."""
    hz = os.sysconf("SC_CLK_TCK")
    busy0, _ = cpu_ticks()
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_kb(proc.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    own0 = os.times()
    _, err = proc.communicate()
    wall = time.perf_counter() - t0
    done.set()
    sampler.join()
    own1 = os.times()
    busy1, _ = cpu_ticks()
    own_cpu = (own1.children_user - own0.children_user) + (own1.children_system - own0.children_system)
    others = max(0.0, (busy1 - busy0) / hz - own_cpu)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {err[-500:]}")
    return {"wall": wall, "peak_mb": peak / 1024, "others_cpu_s": others, "own_cpu_s": own_cpu}


def run_pipeline(drop: Path, out: Path, extra: list[str] = (), report: bool = False) -> dict:
    return timed_run(NEWSNORM + ["run", "--input", str(drop), "--output", str(out), "--force",
                                 "--quiet", *([] if report else ["--no_report"]), *extra])


def loop_baseline(drop: Path) -> float:
    """The same work as the pipeline's stages, in a plain loop: parse, count each source's
    lines and decide its templates (the default `--templates read`: a first pass over the
    file, as the graph's branch), then parse again and run the stages, serialise."""
    from pipeline.options import JobConfig
    from pipeline.schema import to_json_line
    from pipeline.stages import build_stage
    from transforms.ingest import ParseLimits, parse_file
    from transforms.record import Reject

    config = JobConfig(input=str(drop), output="/dev/null", progress=False)
    stages = [build_stage(n, config) for n in NON_TRANSLATING]
    for s in stages:
        s.setup()
    from transforms import templates as tpl

    t0 = time.perf_counter()
    path = drop / "articles.jsonl"
    sketches: dict = {}
    with open(path, "rb") as fh:
        for result in parse_file("articles.jsonl", fh, "bench", ParseLimits()):
            if result.article is not None:
                sketches.setdefault(tpl.source_key(result.article), tpl.Sketch()).add(
                    tpl.article_segments(result.article["body"]))
    learned = {s: d for s, d in ((s, tpl.decide(s, k.to_dict(), None))
                                 for s, k in sketches.items()) if d}
    with open(path, "rb") as fh:
        for result in parse_file("articles.jsonl", fh, "bench", ParseLimits()):
            if result.article is None:
                continue
            article = result.article
            if tpl.source_key(article) in learned:
                article["source_templates"] = learned[tpl.source_key(article)]
            try:
                for s in stages:
                    article = s.process(article)
            except Reject:
                continue
            to_json_line(article)
    return time.perf_counter() - t0


def audit_cost(drop: Path, rounds: int = 5) -> dict:
    """The number audit's share of the plain loop's CPU time, measured two ways.

    - difference: the loop with the audit and with it switched off (check_recovery and the
      ledger stubbed), alternated round by round so drift on a shared machine hits both; the
      median of the per-round ratios (a difference of two noisy totals: +-5% run to run here);
    - inside: the CPU time spent inside check_recovery and ledger during the runs with the
      audit, over the rest of the loop (a direct reading, not a difference of two totals).
    """
    from transforms import audit

    def cpu() -> float:  # CPU seconds of this process: on a busy 2-core machine wall is noise
        t0 = time.process_time()
        loop_baseline(drop)
        return time.process_time() - t0

    real = audit.check_recovery, audit.ledger
    inside = [0.0]

    def timed(fn):
        def wrapper(*a, **k):
            t0 = time.process_time()
            try:
                return fn(*a, **k)
            finally:
                inside[0] += time.process_time() - t0
        return wrapper

    with_audit, without = [], []
    for _ in range(rounds):
        audit.check_recovery, audit.ledger = timed(real[0]), timed(real[1])
        try:
            with_audit.append(cpu())
        finally:
            audit.check_recovery, audit.ledger = real
        audit.check_recovery, audit.ledger = (lambda *a, **k: None), (lambda *a, **k: [])
        try:
            without.append(cpu())
        finally:
            audit.check_recovery, audit.ledger = real
    ratios = sorted(w / wo for w, wo in zip(with_audit, without))
    total = sum(with_audit)
    return {"with": min(with_audit), "without": min(without),
            "median_pct": 100 * (ratios[len(ratios) // 2] - 1),
            "range_pct": (100 * (ratios[0] - 1), 100 * (ratios[-1] - 1)),
            "inside_pct": 100 * inside[0] / (total - inside[0]), "rounds": rounds}


def stage_cpu(drop: Path) -> tuple[int, dict[str, float]]:
    """(articles parsed, {step: CPU seconds}) of parse, each stage and serialisation in a plain
    loop (process CPU time around each call), as loop_baseline runs them."""
    from pipeline.options import JobConfig
    from pipeline.schema import to_json_line
    from pipeline.stages import build_stage
    from transforms.ingest import ParseLimits, parse_file
    from transforms.record import Reject

    config = JobConfig(input=str(drop), output="/dev/null", progress=False)
    stages = [(n, build_stage(n, config)) for n in NON_TRANSLATING]
    for _, st in stages:
        st.setup()
    cpu = dict.fromkeys(["parse", *NON_TRANSLATING, "serialise"], 0.0)
    n = 0
    with open(drop / "articles.jsonl", "rb") as fh:
        results = iter(parse_file("articles.jsonl", fh, "bench", ParseLimits()))
        while True:
            t = time.process_time()
            result = next(results, None)
            cpu["parse"] += time.process_time() - t
            if result is None:
                break
            if result.article is None:
                continue
            n += 1
            article = result.article
            try:
                for name, st in stages:
                    t = time.process_time()
                    try:
                        article = st.process(article)
                    finally:
                        cpu[name] += time.process_time() - t
            except Reject:
                continue
            t = time.process_time()
            to_json_line(article)
            cpu["serialise"] += time.process_time() - t
    return n, cpu


def shuffle_bytes(drop: Path, out: Path) -> tuple[int, dict[str, tuple[int, int]]]:
    """(articles read, {GroupByKey label: (elements, encoded bytes)}) of one in-process run of
    `newsnorm run --shuffle beam`. Every `beam.GroupByKey()` the graph applies is measured on
    its input (elements the runner shuffles) and then applied as is."""
    import json

    import apache_beam as beam
    from apache_beam.coders import coders
    from apache_beam.metrics import Metrics
    from apache_beam.metrics.metric import MetricsFilter
    from apache_beam.transforms import core

    from pipeline import run as run_mod

    class _Measure(beam.DoFn):
        def __init__(self, name: str) -> None:
            self.name = name
            self.size = Metrics.distribution("shuffle", name)

        def setup(self) -> None:
            self.coder = coders.FastPrimitivesCoder()

        def process(self, element):
            self.size.update(len(self.coder.encode(element)))
            yield element

    class MeasuredGroupByKey(beam.PTransform):
        def expand(self, pcoll):
            return (pcoll | "Measure" >> beam.ParDo(_Measure(self.label))
                    | "GroupByKey" >> core.GroupByKey())

    results = []
    real_gbk, real_metrics = beam.GroupByKey, run_mod._stage_metrics
    beam.GroupByKey = MeasuredGroupByKey
    run_mod._stage_metrics = lambda result: results.append(result) or real_metrics(result)
    try:
        rc = run_mod.run(["--input", str(drop), "--output", str(out), "--force", "--quiet",
                          "--no_report", "--shuffle", "beam"])
    finally:
        beam.GroupByKey, run_mod._stage_metrics = real_gbk, real_metrics
    if rc != 0 or not results:
        raise RuntimeError(f"shuffle run failed ({rc})")
    q = results[0].metrics().query(MetricsFilter().with_namespace("shuffle"))
    sizes = {}
    for d in q["distributions"]:
        v = d.committed if d.committed is not None else d.attempted
        n, b = sizes.get(d.key.metric.name, (0, 0))
        sizes[d.key.metric.name] = (n + v.count, b + v.sum)
    read = json.loads((out / "manifest.json").read_text())["counts"]["read"]
    return read, sizes


PARTS = ("overhead", "scaling", "memory", "growth", "audit", "stages", "shuffle")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes, a few minutes")
    ap.add_argument("--n", type=int, default=None, help="articles for overhead and scaling")
    ap.add_argument("--sizes", default=None, help="comma-separated drop sizes for growth")
    ap.add_argument("--parts", default=",".join(PARTS),
                    help="which measurements, comma-separated: " + ",".join(PARTS))
    args = ap.parse_args(argv)
    parts = set(args.parts.split(","))
    if not parts <= set(PARTS):
        ap.error(f"--parts: unknown {sorted(parts - set(PARTS))}")
    n = args.n or (600 if args.quick else 10_000)
    sizes = [int(x) for x in (args.sizes or ("300,600,1200" if args.quick
                                             else "1000,10000,100000")).split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="newsnorm-bench-"))
    try:
        print(f"# bench_pipeline  {time.strftime('%Y-%m-%d %H:%M')}  cpus={os.cpu_count()}  "
              f"python={sys.version.split()[0]}  parts={','.join(p for p in PARTS if p in parts)}")
        _measure(tmp, n, sizes, parts)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # a 100k drop's outputs are gigabytes
    return 0


def _measure(tmp: Path, n: int, sizes: list[int], parts: set[str]) -> None:
    small = write_drop(10, tmp / "d10").parent
    drop = write_drop(n, tmp / f"d{n}").parent
    start = run_pipeline(small, tmp / "o10")
    print(f"start-up (10 articles): {start['wall']:.2f} s wall")
    pipe = None
    if parts & {"overhead", "scaling", "memory"}:
        pipe = run_pipeline(drop, tmp / "o1")
    if "overhead" in parts:
        loop_s = loop_baseline(drop)
        pipe_s = max(1e-6, pipe["wall"] - start["wall"])
        print(f"overhead, {n} articles: plain loop {n / loop_s:.1f} art/s; pipeline (1 worker, "
              f"start-up subtracted) {n / pipe_s:.1f} art/s; ratio pipeline/loop = "
              f"{loop_s / pipe_s:.2f} (goal >= 0.8); other processes used "
              f"{pipe['others_cpu_s']:.1f} CPU-s during the run")
    if "scaling" in parts:
        mp = ["--direct_running_mode=multi_processing"]
        one = run_pipeline(drop, tmp / "o2", [*mp, "--direct_num_workers=1"])
        multi = run_pipeline(drop, tmp / "o2", [*mp, "--direct_num_workers=2"])
        print(f"scaling, {n} articles, multi_processing: 1 worker {one['wall']:.1f} s, 2 workers "
              f"{multi['wall']:.1f} s -> speed-up {one['wall'] / multi['wall']:.2f}x (goal >= "
              f"1.7x); other processes used {one['others_cpu_s']:.1f} / "
              f"{multi['others_cpu_s']:.1f} CPU-s")
        print(f"scaling, {n} articles, default single process {pipe['wall']:.1f} s vs 2 workers "
              f"{multi['wall']:.1f} s -> {pipe['wall'] / multi['wall']:.2f}x")
    if "memory" in parts:
        beam_shuffle = run_pipeline(drop, tmp / "o3", ["--shuffle", "beam"])
        print(f"memory, {n} articles, 1 worker: peak RSS --shuffle disk {pipe['peak_mb']:.0f} MB "
              f"({pipe['wall']:.1f} s) vs --shuffle beam {beam_shuffle['peak_mb']:.0f} MB "
              f"({beam_shuffle['wall']:.1f} s); other processes used "
              f"{beam_shuffle['others_cpu_s']:.1f} CPU-s")
    if "audit" in parts:
        a = audit_cost(drop)
        print(f"audit, {n} articles, plain loop CPU s over {a['rounds']} alternated rounds: best "
              f"with the number audit {a['with']:.2f} s, without {a['without']:.2f} s; median "
              f"round +{a['median_pct']:.1f}% (rounds {a['range_pct'][0]:+.1f}% to "
              f"{a['range_pct'][1]:+.1f}%); CPU inside the audit +{a['inside_pct']:.1f}% of the "
              f"rest of the loop (goal <= 5%)")
    if "stages" in parts:
        count, cpu = stage_cpu(drop)
        print(f"stages, {count} articles, plain loop, CPU ms per article (no model installed: "
              f"translate passes through):")
        for name, sec in cpu.items():
            print(f"  {name:<12s} {1000 * sec / count:8.2f}")
        print(f"  {'total':<12s} {1000 * sum(cpu.values()) / count:8.2f}")
    if "shuffle" in parts:
        read, sizes = shuffle_bytes(drop, tmp / "o4")
        in_bytes = sum(f.stat().st_size for f in drop.iterdir())
        total = sum(b for _, b in sizes.values())
        print(f"shuffle, {n} articles ({in_bytes / read:.0f} input bytes per article), "
              f"--shuffle beam: bytes into each GroupByKey per article read (elements):")
        for name, (count, size) in sorted(sizes.items(), key=lambda kv: -kv[1][1]):
            print(f"  {name:<24s} {size / read:9.0f}  ({count} elements)")
        print(f"  {'all GroupByKeys':<24s} {total / read:9.0f}  = {total / in_bytes:.2f}x the "
              f"input bytes")
    if "growth" in parts:
        print("growth: size, wall s, s per 1k articles, peak RSS MB (process tree), others CPU-s")
        peaks = []
        for size in sizes:
            d = write_drop(size, tmp / f"g{size}").parent
            r = run_pipeline(d, tmp / f"og{size}", report=True)  # a default run, report included
            print(f"  {size:>7d}  {r['wall']:8.1f}  "
                  f"{1000 * (r['wall'] - start['wall']) / size:8.2f}  {r['peak_mb']:8.0f}  "
                  f"{r['others_cpu_s']:6.1f}", flush=True)
            peaks.append((size, r["peak_mb"]))
            shutil.rmtree(tmp / f"og{size}", ignore_errors=True)
        (s0, m0), (s1, m1) = peaks[0], peaks[-1]
        print(f"growth of peak RSS from {s0} to {s1} articles: {m1 - m0:+.0f} MB, "
              f"{1024 * (m1 - m0) / max(1, s1 - s0):.2f} KB per added article")


if __name__ == "__main__":
    sys.exit(main())
