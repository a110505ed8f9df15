"""Loading an installed model: CTranslate2 Translator + sentencepiece, verified before use.

Owns: the one place a model directory becomes a `LoadedModel` (shared by every stage instance in
a worker process), the self-check at load (sha256 of every file listed in metadata.json and the
golden sentence translated and compared: a broken conversion fails loudly, never produces
garbage), the compute type ("auto" = int8 on CPU) and the thread count, sized from the CPUs this
process may really use (affinity and cgroup cpu.max) divided by the number of Beam workers.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from typing import Sequence

log = logging.getLogger("newsnorm")

METADATA = "metadata.json"


class ModelError(RuntimeError):
    """A model directory that cannot be used (missing, corrupted, or failing its golden check)."""


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_checksums(model_dir: str) -> dict[str, str]:
    """{relative path: sha256} of every file in the directory except metadata.json."""
    out: dict[str, str] = {}
    for root, _, files in os.walk(model_dir):
        for name in files:
            full = os.path.join(root, name)
            rel = os.path.relpath(full, model_dir)
            if rel != METADATA:
                out[rel] = sha256_file(full)
    return dict(sorted(out.items()))


def checksum_problems(model_dir: str, expected: dict[str, str]) -> list[str]:
    """What differs between the files on disk and the checksums in metadata.json."""
    if not expected:
        return ["metadata.json lists no file checksums"]
    problems = []
    for rel, digest in sorted(expected.items()):
        full = os.path.join(model_dir, rel)
        if not os.path.isfile(full):
            problems.append(f"{rel}: missing")
        elif sha256_file(full) != digest:
            problems.append(f"{rel}: sha256 differs from metadata.json")
    return problems


def _cgroup_cpu_limit(path: str = "/sys/fs/cgroup/cpu.max") -> float | None:
    """CPUs allowed by a cgroup v2 quota ("max 100000" = no limit), or None.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "cpu.max")
    >>> _ = open(p, "w").write("150000 100000\\n"); _cgroup_cpu_limit(p)
    1.5
    >>> _ = open(p, "w").write("max 100000\\n"); _cgroup_cpu_limit(p) is None
    True
    """
    try:
        with open(path, encoding="ascii") as fh:
            quota, period = fh.read().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    try:
        return int(quota) / int(period)
    except (ValueError, ZeroDivisionError):
        return None


def usable_cpus() -> tuple[int, str]:
    """(CPUs this process may use, how that was decided): affinity, then the cgroup quota."""
    try:
        n = len(os.sched_getaffinity(0))
        why = f"sched_getaffinity={n}"
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
        why = f"cpu_count={n}"
    limit = _cgroup_cpu_limit()
    if limit is not None and limit < n:
        n = max(1, int(limit))
        why += f", cgroup cpu.max={limit:g}"
    return n, why


def threads_for(requested: int, workers: int, cpus: int) -> int:
    """CPU threads for translation in one worker: the requested count, else the usable CPUs
    shared by the Beam workers.

    >>> threads_for(0, 1, 2), threads_for(0, 2, 2), threads_for(0, 4, 2)
    (2, 1, 1)
    >>> threads_for(3, 1, 2)
    3
    """
    if requested > 0:
        return requested
    return max(1, cpus // max(1, workers))


def beam_workers() -> int:
    """Beam workers sharing this machine's CPUs: $NEWSNORM_BEAM_WORKERS (set by whoever starts
    several), else 1.

    >>> beam_workers()
    1
    """
    try:
        return max(1, int(os.environ.get("NEWSNORM_BEAM_WORKERS", "1")))
    except ValueError:
        return 1


def resolve_device(device: str) -> str:
    """ "auto" -> cuda when CTranslate2 sees a GPU, else cpu."""
    if device != "auto":
        return device
    import ctranslate2

    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


def resolve_compute_type(compute_type: str, device: str) -> str:
    """ "auto" = int8 on CPU (2.3-2.7x float32's throughput; 157 vs 383 MB RSS loaded, 77 vs
    289 MB on disk, OPUS-MT size: docs/translation.md),
    int8_float16 on CUDA; anything else is passed to CTranslate2 as given.

    >>> resolve_compute_type("auto", "cpu"), resolve_compute_type("float32", "cpu")
    ('int8', 'float32')
    """
    if compute_type in ("", "auto"):
        return "int8" if device == "cpu" else "int8_float16"
    return compute_type


def translator_threads(threads: int, device: str) -> tuple[int, int]:
    """(inter_threads, intra_threads) of the Translator that uses `threads` CPU threads.

    On CPU: that many single-thread replicas, each decoding a whole batch. Measured with
    bench/bench_translate.py (OPUS-MT-size model, int8, 2 vCPU Intel Xeon, docs/translation.md):
    2 replicas x 1 thread ran 2.77x Hugging Face float32 on 2 threads, one Translator with
    intra_threads=2 only 1.27x, and our stage on it 0.61x (slower than 1 thread). A replica
    computes a batch exactly as a single thread does, so outputs do not depend on this choice.
    On CUDA: one replica, the threads for its CPU-side work.

    >>> translator_threads(2, "cpu"), translator_threads(2, "cuda"), translator_threads(0, "cpu")
    ((2, 1), (1, 2), (1, 1))
    """
    threads = max(1, threads)
    return (1, threads) if device == "cuda" else (threads, 1)


class LoadedModel:
    """A verified model: tokenizers, Translator and the limits from its metadata."""

    def __init__(self, path: str, meta: dict, translator, sp_source, sp_target) -> None:
        self.path = path
        self.meta = meta
        self.name = str(meta.get("name") or os.path.basename(path))
        self.version = str(meta.get("version") or "")
        self.translator = translator
        self.sp_source = sp_source
        self.sp_target = sp_target
        self.copy_model = bool(meta.get("copy_model"))
        # OPUS-MT models were trained on sentences up to 512 tokens (max-length 512 in their
        # decoder.yml); we split anything longer before it reaches the model.
        self.max_input_tokens = int(meta.get("max_input_tokens") or 500)
        self.max_decoding_length = int(meta.get("max_decoding_length") or 512)
        self.lang_codes = dict(meta.get("lang_codes") or {})
        self.target_code = meta.get("target_code") or ""

    @property
    def key(self) -> str:
        """What a cached translation depends on."""
        return f"{self.name}@{self.version}"

    def encode(self, text: str) -> list[str]:
        return self.sp_source.encode(text, out_type=str)

    def decode(self, pieces: Sequence[str]) -> str:
        return self.sp_target.decode(list(pieces))

    def _sources(self, batch: Sequence[Sequence[str]], lang: str):
        sources = [list(p) for p in batch]
        if not self.lang_codes:
            return sources, None
        # NLLB: source language token first, target language forced
        code = self.lang_codes.get(lang, "")
        return [[code] + s + ["</s>"] for s in sources], [[self.target_code]] * len(sources)

    def translate_groups(self, groups: Sequence[Sequence[Sequence[str]]], lang: str = "",
                         **options) -> list[list[tuple[list[str], float]]]:
        """Token-list groups in -> per group, (best hypothesis tokens, score) in order.

        Every group is submitted at once (asynchronous=True), so the Translator's replicas
        (inter_threads) decode groups side by side; a group that fits max_batch_size is one
        batch, computed the same way whichever replica takes it."""
        options.setdefault("max_decoding_length", self.max_decoding_length)
        pending = []
        for batch in groups:
            sources, prefix = self._sources(batch, lang)
            pending.append((prefix, self.translator.translate_batch(
                sources, target_prefix=prefix, return_scores=True, asynchronous=True,
                **options)))
        out = []
        for prefix, results in pending:
            group = []
            for async_result in results:
                r = async_result.result()
                hyp = list(r.hypotheses[0])
                if prefix and hyp[:1] == [self.target_code]:
                    hyp = hyp[1:]
                group.append((hyp, float(r.scores[0]) if r.scores else 0.0))
            out.append(group)
        return out

    def translate_pieces(self, batch: Sequence[Sequence[str]], lang: str = "",
                         **options) -> list[tuple[list[str], float]]:
        """Token lists in -> (best hypothesis tokens, score) out, in the same order."""
        return self.translate_groups([batch], lang, **options)[0]

    def translate_text(self, text: str, lang: str = "", **options) -> str:
        """One sentence through the model with no protection (used by the golden check)."""
        hyp, _ = self.translate_pieces([self.encode(text)], lang, **options)[0]
        return self.decode(hyp)


# Options the golden sentence is translated with, at install and at load: greedy, so that the
# check does not depend on beam settings a user may change.
GOLDEN_OPTIONS = {"beam_size": 1}

_LOADED: dict[tuple, LoadedModel] = {}
_LOCK = threading.Lock()


def read_metadata(model_dir: str) -> dict:
    import json

    try:
        with open(os.path.join(model_dir, METADATA), encoding="utf-8") as fh:
            meta = json.load(fh)
    except (OSError, ValueError) as exc:
        raise ModelError(f"{model_dir}: cannot read {METADATA}: {exc}") from exc
    if not isinstance(meta, dict):
        raise ModelError(f"{model_dir}: {METADATA} is not an object")
    return meta


def open_model(model_dir: str, device: str = "cpu", compute_type: str = "auto",
               threads: int = 1, verify: bool = True) -> LoadedModel:
    """Load (no cache) and, when `verify`, check checksums and the golden sentence."""
    import ctranslate2
    import sentencepiece as spm

    meta = read_metadata(model_dir)
    if verify:
        problems = checksum_problems(model_dir, meta.get("files") or {})
        if problems:
            raise ModelError(f"model {model_dir} failed its checksum check: "
                             + "; ".join(problems[:5]) + " (reinstall it: newsnorm models install)")
    device = resolve_device(device)
    ctype = resolve_compute_type(compute_type, device)
    inter, intra = translator_threads(threads, device)
    try:
        translator = ctranslate2.Translator(model_dir, device=device, compute_type=ctype,
                                            inter_threads=inter, intra_threads=intra)
        sp_source = spm.SentencePieceProcessor(
            model_file=os.path.join(model_dir, meta.get("source_spm", "source.spm")))
        sp_target = spm.SentencePieceProcessor(
            model_file=os.path.join(model_dir, meta.get("target_spm", "target.spm")))
    except (RuntimeError, OSError, ValueError) as exc:
        raise ModelError(f"model {model_dir} cannot be loaded: {exc}") from exc
    model = LoadedModel(model_dir, meta, translator, sp_source, sp_target)
    golden = meta.get("golden") or {}
    if verify:
        if not golden.get("source"):
            raise ModelError(f"model {model_dir}: metadata.json has no golden sentence")
        got = model.translate_text(golden["source"], golden.get("lang", ""), **GOLDEN_OPTIONS)
        if got != golden.get("expected"):
            raise ModelError(f"model {model_dir} failed its golden check: "
                             f"{golden['source']!r} -> {got!r}, expected {golden.get('expected')!r}")
    model.threads = (inter, intra)
    log.debug("loaded %s %s from %s (device=%s compute_type=%s inter_threads=%d intra_threads=%d,"
              " checksums and golden sentence verified=%s)", model.name, model.version, model_dir,
              device, ctype, inter, intra, verify)
    return model


def load_model(model_dir: str, device: str = "cpu", compute_type: str = "auto",
               threads: int = 1) -> LoadedModel:
    """The process-wide shared, verified model (loaded and verified once per process)."""
    key = (os.path.abspath(model_dir), device, compute_type, threads)
    with _LOCK:
        model = _LOADED.get(key)
        if model is None:
            model = open_model(model_dir, device, compute_type, threads)
            _LOADED[key] = model
            log.info("translate: loaded %s %s from %s (device=%s compute_type=%s "
                     "inter_threads=%d intra_threads=%d; checksums and golden sentence "
                     "verified)", model.name, model.version, model_dir, resolve_device(device),
                     resolve_compute_type(compute_type, resolve_device(device)), *model.threads)
        return model
