"""`newsnorm run`: the batch job, built like Beam's wordcount (run(argv), parse_known_args).

Owns the driver: checking the input and output before Beam starts, skipping a drop that is
already done, running the graph into a staging directory, publishing the outputs, writing the
report and, last, the manifest. A run killed at any point leaves either the previous complete
output or no manifest at all, never a manifest beside a partial output.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import logging
import math
import os
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import asdict
from typing import Sequence

from pipeline.inputs import fingerprint_inputs, is_remote, list_input_files  # noqa: F401
from pipeline.options import UsageError
from pipeline.version import code_digest, package_version

log = logging.getLogger("newsnorm")

STAGING_DIR = "_staging"
OUTPUT_KINDS = ("articles", "dead_letter")
# Auto shard count: one shard per 8 MiB of input. With Beam's shuffles (`--shuffle beam`) each
# shard is sorted in memory by one worker before it is written, and its articles come out ~2.7x
# the size of their input (a 26 MB bench drop of 10k articles wrote 69 MB of JSON Lines); one
# shard for that drop peaked at 1.08 GB RSS, 8 shards at 0.80 GB (bench/generate_drop.py,
# FnApiRunner, before the disk shuffle, which merges shards from runs and is not bounded by
# this). Feed drops under 8 MiB, like the example drop, stay one file per format.
AUTO_SHARD_BYTES = 8 * 1024 * 1024


def check_output_writable(out: str) -> None:
    from apache_beam.io.filesystems import FileSystems

    if not is_remote(out):
        try:
            os.makedirs(out, exist_ok=True)
            probe = os.path.join(out, f".newsnorm-probe-{uuid.uuid4().hex[:8]}")
            with open(probe, "w") as fh:
                fh.write("ok")
            os.remove(probe)
        except OSError as exc:
            raise UsageError(f"output dir not writable: {out}: {exc.strerror or exc}") from exc
        return
    probe = FileSystems.join(out, f".newsnorm-probe-{uuid.uuid4().hex[:8]}")
    try:
        with FileSystems.create(probe) as handle:
            handle.write(b"ok")
        FileSystems.delete([probe])
    except Exception as exc:  # noqa: BLE001 - any filesystem error means "not writable"
        raise UsageError(f"output dir not writable: {out}: {exc}") from exc


def _stage_metrics(result) -> dict:
    """Per-stage counters and timings from Beam metrics (empty if the runner has none)."""
    try:
        from apache_beam.metrics.metric import MetricsFilter

        from pipeline.stages import NAMESPACE

        q = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))
    except Exception:  # noqa: BLE001 - metrics are best effort on some runners
        return {}
    stages: dict[str, dict] = {}

    def value(r):
        return r.committed if r.committed is not None else r.attempted

    for c in q.get("counters", []):
        name = c.key.metric.name
        stage, _, what = name.rpartition("_")
        if not stage:
            stage, what = name, "count"
        stages.setdefault(stage, {})[what] = stages.get(stage, {}).get(what, 0) + value(c)
    for d in q.get("distributions", []):
        name = d.key.metric.name
        if name.endswith("_us"):
            v = value(d)
            s = stages.setdefault(name[:-3], {})
            s["us_total"] = s.get("us_total", 0) + (v.sum or 0)
            s["us_max"] = max(s.get("us_max", 0), v.max or 0)
            s["timed"] = s.get("timed", 0) + (v.count or 0)
    return dict(sorted(stages.items()))


# Runners whose workers all run on this machine: the disk shuffle's files are reachable by
# every worker with plain open(). Anything else (Dataflow, Flink, Spark, portable) gets Beam's.
LOCAL_RUNNERS = ("DirectRunner", "FnApiRunner", "BundleBasedDirectRunner",
                 "SwitchingDirectRunner")


def spill_dir(config, runner: str, staging: str) -> str | None:
    """A fresh local directory for the disk shuffle, or None for Beam's shuffles. It goes next
    to the staging dir when the output is local (the output's disk must hold the drop anyway;
    /tmp may be RAM), else into the system's temporary directory."""
    mode = config.shuffle
    local = runner.rsplit(".", 1)[-1] in LOCAL_RUNNERS
    if mode == "auto":
        mode = "disk" if local else "beam"
    if mode == "disk" and not local:
        raise UsageError(f"--shuffle disk needs a runner whose workers share this machine's "
                         f"disk; {runner} does not: use --shuffle beam (or auto)")
    if mode == "beam":
        return None
    if is_remote(staging):
        return tempfile.mkdtemp(prefix="newsnorm-spill-")
    path = staging.rstrip("/\\") + "-spill"
    os.makedirs(path, exist_ok=True)
    return path


def _clear(out: str, name: str) -> None:
    from apache_beam.io.filesystems import FileSystems

    path = FileSystems.join(out, name)
    if is_remote(path):  # a "directory" is a key prefix: exists() finds nothing there
        from pipeline.storage import delete_tree

        delete_tree(path)
    elif FileSystems.exists(path):
        FileSystems.delete([path])


def publish(staging: str, out: str, results: list[dict]) -> None:
    """Move the staged files into place. The old manifest goes first, the new one comes last
    (written by the caller), so a kill in between leaves no manifest, i.e. nothing that looks
    complete. On object stores a rename is a copy then a delete, object by object (Beam's
    GCS and S3 filesystems); nothing here needs it to be atomic (docs/storage.md)."""
    from apache_beam.io.filesystems import FileSystems

    from pipeline.manifest import MANIFEST_NAME

    _clear(out, MANIFEST_NAME)
    for kind in OUTPUT_KINDS:
        _clear(out, kind)
    if not is_remote(out):
        for kind in OUTPUT_KINDS:
            os.makedirs(os.path.join(out, kind), exist_ok=True)
    srcs, dsts = [], []
    for r in results:
        if r["kind"] in OUTPUT_KINDS:
            srcs.append(FileSystems.join(staging, *r["path"].split("/")))
            dsts.append(FileSystems.join(out, *r["path"].split("/")))
    if srcs:
        FileSystems.rename(srcs, dsts)


# Beam's DaskRunner with every sink computed (pipeline/dask_runner.py says why); Beam knows its
# own DaskRunner only by the full path, so `--runner dask`, `DaskRunner` and that path map here.
DASK_RUNNER = "pipeline.dask_runner.AllSinksDaskRunner"
DASK_NAMES = ("dask", "daskrunner", "apache_beam.runners.dask.dask_runner.daskrunner")


def runner_aliases(beam_args: Sequence[str]) -> list[str]:
    """`--runner dask` -> our DaskRunner, `--dask_address A` -> `--dask_client_address=A`;
    everything else as given.

    >>> runner_aliases(["--runner", "dask", "--dask_address=tcp://127.0.0.1:8786", "--x=1"])
    ['--runner=pipeline.dask_runner.AllSinksDaskRunner', \
'--dask_client_address=tcp://127.0.0.1:8786', '--x=1']
    """
    out: list[str] = []
    args = list(beam_args)
    i = 0
    while i < len(args):
        arg = args[i]
        name, eq, value = arg.partition("=")
        if name in ("--runner", "--dask_address") and not eq and i + 1 < len(args):
            value, i = args[i + 1], i + 1
        if name == "--runner" and value.lower() in DASK_NAMES:
            arg = f"--runner={DASK_RUNNER}"
        elif name == "--dask_address":
            arg = f"--dask_client_address={value}"
        elif name == "--runner":
            arg = f"--runner={value}"
        out.append(arg)
        i += 1
    return out


def run(argv: Sequence[str] | None = None) -> int:
    from pipeline.options import DEFAULT_RUNNER, build_parser, config_from_args

    from pipeline import storage
    from pipeline.options import check_passthrough

    parser = build_parser()
    args, beam_args = parser.parse_known_args(argv)
    beam_args = runner_aliases(beam_args)
    if f"--runner={DASK_RUNNER}" in beam_args:
        try:  # registers Beam's DaskOptions, so check_passthrough knows --dask_client_address
            import pipeline.dask_runner  # noqa: F401
        except ImportError:
            print("newsnorm: error: --runner dask needs dask.distributed: "
                  "pip install 'newsnorm[dask]' (deploy/dask.md)", file=sys.stderr)
            return 2
    config = config_from_args(args)
    try:
        check_passthrough(beam_args, parser)
        # Bucket, credentials and extra first: one line each, before Beam starts.
        storage.check_remote([config.input, config.output],
                             storage.set_filesystem_options(beam_args))
        files, drop = list_input_files(config.input)
        if not files:
            raise UsageError(f"no input files in {config.input}")
        check_output_location(config.input, config.output)
        check_output_writable(config.output)
        lock = _lock(config.output)  # held until this process exits
    except (UsageError, storage.StorageError) as exc:
        print(f"newsnorm: error: {printable(str(exc))}", file=sys.stderr)
        return 2
    try:
        return execute(config, files, drop, beam_args, DEFAULT_RUNNER)
    finally:
        if lock is not None:
            os.close(lock)


def check_output_location(input_path: str, output: str) -> None:
    """Refuse an output that overlaps the input, or a directory that holds anything newsnorm
    did not write (run cleans articles/, dead_letter/ and manifest.json in it)."""
    from pipeline.guard import foreign_entries, overlap

    try:
        output.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"the output path {printable(output)} is not valid UTF-8; choose "
                         "another") from None
    why = overlap(input_path, output)
    if why:
        raise UsageError(f"{why} ({input_path} -> {output}); write the output elsewhere")
    foreign = foreign_entries(output)
    if foreign:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise UsageError(f"{output} is not empty and not a newsnorm output (it holds {shown}); "
                         "newsnorm only replaces its own outputs: use an empty or new directory")


def _lock(output: str) -> int | None:
    from pipeline.guard import OutputLocked, lock_output

    try:
        return lock_output(output)
    except OutputLocked as exc:
        raise UsageError(str(exc)) from None


def printable(text: str) -> str:
    from pipeline.guard import printable as _printable

    return _printable(text)


def execute(config, files, drop: str, beam_args: list[str], default_runner: str) -> int:
    import apache_beam as beam
    from apache_beam.io.filesystems import FileSystems
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

    from pipeline import graph, manifest
    from pipeline import templates as source_templates

    from models.registry import models_fingerprint

    started = time.time()
    from pipeline.guard import display_name, input_root

    inputs = fingerprint_inputs(files, input_root(config.input), config.follow_symlinks)
    inputs["path"] = display_name(config.input)
    inputs["drop"] = drop
    version = package_version()
    try:
        tstate = source_templates.prepare(config, inputs["fingerprint"])
    except (OSError, ValueError) as exc:
        print(f"newsnorm: error: {exc}", file=sys.stderr)
        return 2
    made_by = {"newsnorm_version": version, "code_version": code_digest(),
               "models": models_fingerprint(config.models_dir)}
    previous = manifest.load(config.output)
    if previous and not config.force:
        before = previous.get("input", {})
        if before.get("fingerprint") != inputs["fingerprint"]:
            print(f"newsnorm: error: {printable(config.output)} holds the output of another "
                  f"input (drop {before.get('drop', '?')!r} from {before.get('path', '?')}, "
                  f"{len(before.get('files', []))} file(s)); use another --output, or --force "
                  "to replace it", file=sys.stderr)
            return 2
        changed = rerun_reasons(previous, config.fingerprint(), made_by)
        if (previous.get("templates") or {}).get("digest_after", "") != tstate["digest"]:
            changed.append("templates store")
        if not changed and not manifest.verify(config.output):
            print(f"newsnorm: {printable(drop)} is already done in {printable(config.output)} "
                  "(same input, config, code and models); nothing to do. Use --force to run it "
                  "again.",
                  file=sys.stderr)
            _clear(config.output, STAGING_DIR)  # leftovers of a killed run (staging, spill)
            _summary(previous, config.output, 0.0, skipped=True)
            return 0
        if changed and config.progress:
            log.info("running %s again: %s changed since the last run", drop, ", ".join(changed))

    num_shards = config.num_shards or max(1, math.ceil(inputs["bytes"] / AUTO_SHARD_BYTES))
    run_id = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]
    _clear(config.output, STAGING_DIR)  # leftovers of a killed run
    staging = FileSystems.join(config.output, STAGING_DIR, run_id)

    options = PipelineOptions(beam_args)
    std = options.view_as(StandardOptions)
    if not std.runner:
        std.runner = default_runner
    runner = std.runner if isinstance(std.runner, str) else type(std.runner).__name__
    if runner.endswith("DaskRunner"):
        import importlib.util

        if importlib.util.find_spec("distributed") is None:
            print("newsnorm: error: --runner dask needs dask.distributed: "
                  "pip install 'newsnorm[dask]' (deploy/dask.md)", file=sys.stderr)
            return 2
        config = dataclasses.replace(config, batch_records=False)  # options.py says why
    try:
        spill = spill_dir(config, runner, staging)
    except UsageError as exc:
        print(f"newsnorm: error: {exc}", file=sys.stderr)
        return 2
    if config.progress:
        log.info("running %d file(s) of drop %r on %s, %d shard(s)", len(files), drop, runner,
                 num_shards)
        log.info("shuffle: %s", f"on disk in {spill}" if spill else "in Beam")
    try:
        with beam.Pipeline(options=options) as p:
            graph.build(p, files, drop, staging, config, num_shards, spill, tstate,
                        input_root(config.input))
        result = p.result
    except Exception as exc:  # noqa: BLE001 - told in one line; the traceback follows if new
        untouched = f"nothing was published ({config.output} keeps what it had)"
        if _deadline_exceeded(exc):
            # Beam's portable runner bounds its whole wait for the job (not only connecting) by
            # --job_server_timeout; a job that is slow, or hangs on a dead worker (the Python
            # job service neither retries nor fails it), ends here (tests/test_cluster.py).
            print(f"newsnorm: error: no end of job reported by the job service within "
                  f"--job_server_timeout ({_option(beam_args, 'job_server_timeout', '300')} s)"
                  f"; a worker may have died, or the job needs a longer bound; {untouched}",
                  file=sys.stderr)
            return 1
        print(f"newsnorm: error: the job failed on {runner}: {type(exc).__name__}; {untouched}",
              file=sys.stderr)
        raise
    finally:
        if spill:
            shutil.rmtree(spill, ignore_errors=True)
    results = json.loads(manifest.read_bytes(FileSystems.join(staging, graph.RESULTS_NAME)))
    try:
        templates_section = source_templates.finish(tstate, staging, inputs["fingerprint"])
    except (OSError, ValueError) as exc:  # the outputs are good; the store is left as it was
        log.warning("template store not updated: %s", exc)
        templates_section = source_templates.finish(dict(tstate, mode="read"), staging,
                                                    inputs["fingerprint"])
        templates_section["mode"] = tstate["mode"]
    publish(staging, config.output, results)
    finished = time.time()
    run_info = {"run_id": run_id, **made_by, "runner": runner,
                "beam_args": list(beam_args), "num_shards": num_shards,
                "started": _iso(started), "finished": _iso(finished),
                "seconds": round(finished - started, 3)}
    # Paths as text: a path that is not UTF-8 is shown escaped (pipeline/guard.py).
    cfg = {k: display_name(v) if isinstance(v, str) else v for k, v in asdict(config).items()}
    cfg["fingerprint"] = config.fingerprint()
    stages = _stage_metrics(result)
    extra_files = []
    if config.report:
        extra_files += _write_report(config.output, results, stages, run_info)
    doc = manifest.build_manifest(results, inputs=inputs, config=cfg, run=run_info,
                                  stages=stages, extra_files=extra_files)
    doc["templates"] = templates_section
    manifest.write_bytes_atomic(FileSystems.join(config.output, manifest.MANIFEST_NAME),
                                json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8"))
    _clear(config.output, STAGING_DIR)
    _summary(doc, config.output, finished - started)
    if not doc["counts"]["reconciled"]:
        print("newsnorm: error: counts do not reconcile (read != written + dead-lettered); "
              "see manifest.json", file=sys.stderr)
        return 1
    return 0


def _deadline_exceeded(exc: BaseException) -> bool:
    """A gRPC DEADLINE_EXCEEDED (the portable runner's job streams), without importing grpc."""
    code = getattr(exc, "code", None)
    try:
        return callable(code) and getattr(code(), "name", "") == "DEADLINE_EXCEEDED"
    except Exception:  # noqa: BLE001 - not a gRPC error after all
        return False


def _option(beam_args: Sequence[str], name: str, default: str) -> str:
    """The value of a Beam flag as given (`--name=v` or `--name v`), else `default`.

    >>> _option(["--runner=X", "--job_server_timeout", "60"], "job_server_timeout", "300")
    '60'
    """
    for i, arg in enumerate(beam_args):
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1]
        if arg == f"--{name}" and i + 1 < len(beam_args):
            return beam_args[i + 1]
    return default


def _write_report(out: str, results: list[dict], stages: dict, run_info: dict) -> list[dict]:
    """report.html (pipeline/report.py). The outputs are already published; a failure here is
    logged and the manifest is still written (it then lists no report)."""
    from pipeline import report

    try:
        return report.write_report(out, results, stages, run_info)
    except Exception as exc:  # noqa: BLE001 - a report failure must not lose the run
        log.warning("report.html not written: %s", exc)
        return []


def _iso(ts: float) -> str:
    return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def rerun_reasons(previous: dict, config_fingerprint: str, made_by: dict) -> list[str]:
    """What differs between a previous run of the same input and this one ([]: already done).

    >>> made = {"newsnorm_version": "1", "code_version": "c", "models": []}
    >>> prev = {"config": {"fingerprint": "f"}, "run": dict(made)}
    >>> rerun_reasons(prev, "f", made)
    []
    >>> rerun_reasons(prev, "g", dict(made, models=[{"name": "tiny-test"}]))
    ['config', 'installed models']
    """
    run = previous.get("run", {})
    reasons = []
    if previous.get("config", {}).get("fingerprint") != config_fingerprint:
        reasons.append("config")
    if (run.get("newsnorm_version") != made_by["newsnorm_version"]
            or run.get("code_version") != made_by["code_version"]):
        reasons.append("code")
    if run.get("models") != made_by["models"]:
        reasons.append("installed models")
    return reasons


def _summary(doc: dict, out: str, seconds: float, skipped: bool = False) -> None:
    c = doc["counts"]
    lines = [
        "",
        f"newsnorm: drop {doc['input'].get('drop', '')!r} -> {printable(out)}"
        + ("  (already done, skipped)" if skipped else ""),
        f"  read {c['read']}   written {c['written']}   dead-lettered {c['dead_lettered']}   "
        + ("counts reconcile" if c["reconciled"] else "COUNTS DO NOT RECONCILE"),
    ]
    if c["by_status"]:
        lines.append("  by status:    " + ", ".join(f"{k} {v}" for k, v in c["by_status"].items()))
    if c["dead_letter_by_reason"]:
        lines.append("  dead letters: " + ", ".join(
            f"{k} {v}" for k, v in c["dead_letter_by_reason"].items()))
    no_model = {k: v for k, v in c["by_status"].items() if k.startswith("no_model_for_")}
    if no_model:
        lines.append("  untranslated: " + ", ".join(f"{v} article(s) {k}" for k, v in
                                                    no_model.items())
                     + " (install a model: newsnorm models list)")
    tr = (doc.get("stages") or {}).get("translate") or {}
    looked_up = tr.get("cachehits", 0) + tr.get("cachemisses", 0)
    if looked_up:
        lines.append(f"  translation:  {looked_up} sentence lookups (distinct within a batch), "
                     f"{tr.get('cachehits', 0)} served from the cache "
                     f"({100.0 * tr.get('cachehits', 0) / looked_up:.0f}%)")
    if not skipped:
        lines.append(f"  time {seconds:.1f} s")
    kinds: dict[str, int] = {}
    for f in doc["files"]:
        key = f["path"].split("/")[0] + "/*." + f["path"].rsplit(".", 1)[-1] if "/" in f["path"] \
            else f["path"]
        kinds[key] = kinds.get(key, 0) + 1
    lines.append("  files:        " + ", ".join(
        f"{k} ({v})" if v > 1 else k for k, v in sorted(kinds.items())) + ", manifest.json")
    print("\n".join(lines), file=sys.stderr)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, force=True)
    sys.exit(run())
