"""The job's own options: one immutable config built once from the command line.

Owns: every flag of `newsnorm run` that is not a Beam pipeline option, its default and why.
Beam's own options (`--runner`, `--direct_num_workers`, ...) pass through untouched, as in
Beam's wordcount example. Deploy recipes and the Flex Template metadata are checked against
`build_parser()` by tests/test_deploy.py, so a flag renamed here fails there.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import hashlib
import json
import os
from dataclasses import dataclass
from typing import Sequence

from models.paths import default_models_dir
from transforms.langid import DEFAULT_MIN_CONFIDENCE as LANG_MIN_CONFIDENCE

# The default runner works offline: the default DirectRunner first tries to download the Prism
# binary, so the same code would behave differently on a laptop with
# internet. FnApiRunner is what DirectRunner falls back to anyway.
DEFAULT_RUNNER = "FnApiRunner"


class UsageError(Exception):
    """A problem with the command line or environment, reported in one line before Beam starts."""


@dataclass(frozen=True)
class JobConfig:
    input: str
    output: str
    num_shards: int = 0
    force: bool = False
    models_dir: str = dataclasses.field(default_factory=default_models_dir)
    # Limits (reliability): an article over these is dead-lettered, never allowed to exhaust
    # memory. 2,000,000 characters is ~300x a long news article (the longest in
    # shared/eval/news is 6 kB); 5,000 paragraphs likewise.
    max_article_chars: int = 2_000_000
    max_paragraphs: int = 5_000
    # Hard per-page limit for HTML extraction (trafilatura can hang: docs/reliability.md).
    html_timeout_s: float = 30.0
    # Hard per-feed limit for feed parsing (docs/reliability.md: 100k attributes took 137 s).
    feed_timeout_s: float = 30.0
    # Read symlinks whose target is outside the drop (off: such a file is a dead letter).
    follow_symlinks: bool = False
    # Per-record limit for every stage (0 = off); a record over it is dead-lettered.
    stage_timeout_s: float = 60.0
    # Translation (issue 6): what to do with supplied machine translations.
    retranslate: str = "auto"
    translate_threads: int = 0
    compute_type: str = "auto"
    device: str = "cpu"
    # Language detection: below this confidence the answer is "und" rather than a guess
    # (0 = always the detector's best guess; the default's measurement: transforms/langid.py).
    lang_min_confidence: float = LANG_MIN_CONFIDENCE
    # Repair: file of canonical name spellings, one per line ("Yoav Gallant"); "" = the default
    # gazetteer (transforms/data/public_figures.tsv) when built, "none" = no gazetteer.
    name_gazetteer: str = ""
    report: bool = True
    progress: bool = True
    # Where whole articles wait between shuffles: "disk" (spill files; flat memory on one
    # machine), "beam" (Beam's GroupByKey; for distributed runners), "auto" (disk on the local
    # runners). The same files either way (pipeline/spill.py).
    shuffle: str = "auto"
    # Per-source boilerplate templates (issue 16): "off", "read" (learn from this drop and use
    # the store's counts) or "update" (and fold this drop's counts into the store after the
    # run). The store's digest is in the manifest and in what makes a drop "done".
    templates: str = "read"
    templates_store: str = ""
    # Batched stages (translate) get batches of several records from Beam's BatchElements.
    # Not a flag: pipeline/run.py turns it off on DaskRunner, which drops whatever a DoFn emits
    # from finish_bundle, where BatchElements emits each bundle's last batch (deploy/dask.md);
    # each record is then its own batch. Same files, fewer sentences per model call.
    batch_records: bool = True

    def fingerprint(self) -> str:
        """What decides the content of the outputs (not where they go, not --force)."""
        keep = {k: v for k, v in dataclasses.asdict(self).items()
                if k not in ("input", "output", "force", "progress", "report", "models_dir",
                             "translate_threads", "shuffle", "templates_store",
                             "batch_records")}
        return hashlib.sha256(json.dumps(keep, sort_keys=True).encode()).hexdigest()[:16]


def add_job_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    d = JobConfig(input="", output="")
    parser.add_argument("--input", required=True,
                        help="a drop: a file, a directory (read recursively) or a glob")
    parser.add_argument("--output", required=True,
                        help="output directory (local path or any Beam filesystem, e.g. gs://)")
    parser.add_argument("--num_shards", "--num-shards", type=int, default=d.num_shards,
                        help="article files per format; 0 = one per 8 MiB of input")
    parser.add_argument("--force", action="store_true",
                        help="rerun a drop that is already done, or replace another drop's "
                        "output")
    parser.add_argument("--models_dir", "--models-dir", default=d.models_dir,
                        help="installed translation models (env NEWSNORM_MODELS)")
    parser.add_argument("--max_article_chars", type=int, default=d.max_article_chars,
                        help="a larger article is dead-lettered (article_too_large)")
    parser.add_argument("--max_paragraphs", type=int, default=d.max_paragraphs,
                        help="more paragraphs are dead-lettered (too_many_paragraphs)")
    parser.add_argument("--html_timeout_s", type=float, default=d.html_timeout_s,
                        help="hard limit per HTML page extraction (its worker process is "
                        "killed; 0 = no limit)")
    parser.add_argument("--feed_timeout_s", type=float, default=d.feed_timeout_s,
                        help="seconds one feed may take to parse (0 = no limit, in-process)")
    parser.add_argument("--follow_symlinks", action="store_true",
                        help="read symlinks in the drop whose target is outside it")
    parser.add_argument("--stage_timeout_s", type=float, default=d.stage_timeout_s,
                        help="limit per record per stage; a record over it is dead-lettered "
                        "(0 = off)")
    parser.add_argument("--retranslate", choices=("auto", "never", "always"), default=d.retranslate,
                        help="re-translate supplied machine translations from their original")
    parser.add_argument("--translate_threads", type=int, default=d.translate_threads,
                        help="CTranslate2 threads per worker; 0 = from the CPUs this process may use")
    parser.add_argument("--compute_type", default=d.compute_type,
                        help="CTranslate2 compute type; auto = int8 on CPU")
    parser.add_argument("--device", choices=("cpu", "cuda", "auto"), default=d.device,
                        help="where CTranslate2 runs; auto = cuda when it sees a GPU")
    parser.add_argument("--lang_min_confidence", type=float, default=d.lang_min_confidence,
                        help="below this confidence a paragraph's language is 'und'; 0 = off")
    parser.add_argument("--name_gazetteer", default=d.name_gazetteer,
                        help="file of canonical name spellings, one per line (\"Yoav Gallant\"); "
                        "a spelling changes only when this file supports it, otherwise it is "
                        "flagged inconsistent_name. Default: the built-in gazetteer if present "
                        "(docs/names.md); none: no gazetteer")
    parser.add_argument("--shuffle", choices=("auto", "disk", "beam"), default=d.shuffle,
                        help="disk: parsed articles and output runs wait in files on this "
                        "machine, so memory stays flat (default for local runners); beam: "
                        "Beam's shuffles hold them (distributed runners)")
    parser.add_argument("--templates", choices=("off", "read", "update"), default=d.templates,
                        help="boilerplate lines learned per source: off; read (learn from "
                        "this drop plus the template store, read-only); update (and add this "
                        "drop's counts to the store)")
    parser.add_argument("--templates_store", "--templates-store", default=d.templates_store,
                        help="the template store file (default: templates/store.json next to "
                        "the models dir)")
    parser.add_argument("--no_report", dest="report", action="store_false",
                        help="do not write report.html")
    parser.add_argument("--quiet", dest="progress", action="store_false",
                        help="no progress lines on stderr")
    return parser


def build_parser(prog: str = "newsnorm run") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Turn a feed drop into cleaned English articles. Flags not listed here "
        "are Beam pipeline options (e.g. --runner, --direct_num_workers).")
    return add_job_arguments(parser)


# Paths that workers open themselves (the input files are listed by the driver, absolute). A
# relative one would be resolved against each worker's working directory (an SDK worker
# pool's, a task manager's), not the driver's: made absolute here (tests/test_cluster.py). On a
# cluster they must name a path every worker sees: gs://... for the output, the image's /models.
WORKER_PATHS = ("output", "models_dir", "name_gazetteer")


def _beam_parser() -> argparse.ArgumentParser:
    """Every option Beam's PipelineOptions classes define, parsed as Beam parses them."""
    from apache_beam.options.pipeline_options import PipelineOptions, _BeamArgumentParser

    parser = _BeamArgumentParser(allow_abbrev=False)
    seen: dict[str, type] = {}
    for cls in PipelineOptions.__subclasses__():
        seen.setdefault(str(cls), cls)
    for cls in seen.values():
        cls._add_argparse_args(parser)  # noqa: SLF001 - what PipelineOptions itself does
    return parser


def check_passthrough(extra: Sequence[str], *own: argparse.ArgumentParser) -> None:
    """Raise UsageError for an argument neither Beam nor the parsers `own` (which left `extra`
    over) know, naming the nearest known flag: Beam alone only logs "Discarding unparseable
    args" and runs on without it."""
    beam = _beam_parser()
    _, unknown = beam.parse_known_args(list(extra))
    if not unknown:
        return
    bad = unknown[0]
    flag = bad.split("=", 1)[0]
    if not flag.startswith("-"):
        raise UsageError(f"unexpected argument {bad!r} (flags start with --; see --help)")
    known = [o for p in (*own, beam)
             for o in p._option_string_actions  # noqa: SLF001 - argparse has no public list
             if o.startswith("--")]
    near = difflib.get_close_matches(flag, known, n=1, cutoff=0.6)
    hint = f"; did you mean {near[0]}?" if near else "; see --help"
    raise UsageError(f"unknown flag {flag}{hint} (neither a newsnorm flag nor a Beam "
                     "pipeline option)")


def config_from_args(args: argparse.Namespace) -> JobConfig:
    names = {f.name for f in dataclasses.fields(JobConfig)}
    values = {k: v for k, v in vars(args).items() if k in names}
    for key in WORKER_PATHS:
        path = values.get(key)
        # "--name_gazetteer none" is a word (no gazetteer), not a file in the working directory.
        if key == "name_gazetteer" and path and path.strip().lower() == "none":
            continue
        if path and "://" not in path:
            values[key] = os.path.abspath(path)
    return JobConfig(**values)
