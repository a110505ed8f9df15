"""Benchmark: the translate stage on an OPUS-MT-size random-weight model, ratios side by side.

Model: architecture-identical to OPUS-MT (transformer-base, 6+6 layers, d_model 512, 8 heads,
ffn 2048, swish, post-norm, vocab 59514, tied embeddings), random weights (seed 0) written as a
fake OPUS-MT release (Marian .npz + vocab.yml + spm, models.testmodel.write_opus_mt_dir) and
installed by the real install path (models.install.convert_opus_mt: OpusMTConverter, checksums,
golden sentence), once as int8 (the default install) and once as float32. The vocabulary is the
tiny test tokenizer's pieces plus filler tokens up to 59514. The output bias masks fillers, byte
pieces, digits and non-Latin pieces (-1e4), so every output decodes with the real
`sp.decode` into Latin text that passes the stage's checks; the full 59514-wide projection and
softmax are still computed. Every sentence decodes to exactly OUT_TOKENS tokens (min = max
decoding length, greedy, no_repeat_ngram_size=2 so the random model's one-token loop cannot
send it down the retry path), so every side does equal work. Sources have no digits (a random
model drops placeholders, which would measure the retry path, not the stage's overhead).

Measured in one run, each section alternating its sides so machine drift hits all of them, with
the CPU used by other processes printed per section (the machine is shared):
1. on the same distinct sentences, int8, intra_threads=1: raw `translate_batch` (CT2's own
   token batching), raw `translate_batch` on the stage's canonical groups, our
   SentenceTranslator (protect, tokenize, canonical batches, restore, verify, checks), and the
   whole translate Stage (`Stage.process_batch` on articles: sentence split, jobs, log steps),
   all on the one Translator the Stage loaded; best, median and per-round paired ratios, CPU
   seconds per run, and the batch shapes each side sends to CTranslate2;
2. int8 vs float32 installs: throughput and RSS (each in a fresh process);
3. the cache on a drop whose articles repeat boilerplate and story sentences;
4. (--hf: torch + transformers in --hf_python) Hugging Face MarianMT float32 loaded with the
   SAME weights (checked: same greedy tokens as CT2 float32), vs raw CTranslate2 int8/float32
   and our SentenceTranslator, with 1 thread each and with 2 threads each.

    .venv/bin/python bench/bench_translate.py [--quick] [--hf --hf_python /tmp/hfvenv/bin/python]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

V = 59514          # OPUS-MT ar-en/fr-en vocabulary size
D, HEADS, FFN, LAYERS = 512, 8, 2048, 6   # transformer-base, as OPUS-MT
OUT_TOKENS = 30    # fixed output length (equal work), as in notes/ct2-tiny-models.md §4
MAX_BATCH_TOKENS = 2048
MASK = -1e4        # output bias of tokens the random model must never emit
DECODE = {"beam_size": 1, "min_decoding_length": OUT_TOKENS, "max_decoding_length": OUT_TOKENS,
          "no_repeat_ngram_size": 2}
SENTS_PER_PARAGRAPH, PARAGRAPHS_PER_ARTICLE = 4, 2
ARTICLES_PER_BATCH = 32   # transforms.translate.TranslateStage.batch_kwargs max_batch_size


# ---------------------------------------------------------------- measuring helpers

def rss_mb(field: str = "VmRSS") -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


class OthersCPU:
    """CPU (cores, averaged over the wall time) used by processes other than this one and its
    waited-for children, from /proc/stat; `with OthersCPU() as o: ...; o.cores`."""

    @staticmethod
    def _sample() -> tuple[int, float, float]:
        with open("/proc/stat", encoding="ascii") as fh:
            vals = [int(x) for x in fh.readline().split()[1:]]
        t = os.times()
        own = t.user + t.system + t.children_user + t.children_system
        return sum(vals) - vals[3] - vals[4], own, time.perf_counter()

    def __enter__(self):
        self.start = self._sample()
        return self

    def __exit__(self, *exc):
        end = self._sample()
        hz = os.sysconf("SC_CLK_TCK")
        self.wall = wall = max(1e-9, end[2] - self.start[2])
        self.cores = max(0.0, ((end[0] - self.start[0]) / hz - (end[1] - self.start[1])) / wall)
        return False

    def line(self) -> str:
        return f"   other processes used ~{self.cores:.2f} cores (of {os.cpu_count()}) meanwhile"


def fmt_times(ts: list[float]) -> str:
    return " ".join(f"{t:.3f}" for t in ts)


# ---------------------------------------------------------------- workload and model

def sentences(n: int, seed: int = 0) -> list[str]:
    """n distinct digit-free sentences of 12-20 words drawn from the Latin-script (French and
    English) words of the test corpus, capitalised and ending in "." so that the stage's
    sentence splitter finds exactly them (checked)."""
    import random

    from models.testmodel import corpus_lines
    from transforms.segment import sentence_spans

    words = sorted({w.strip(".,;:!?()«»\"'") for line in corpus_lines(600) for w in line.split()
                    if _emittable(w)} - {""})
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < n:
        s = " ".join(rng.choice(words) for _ in range(rng.randint(12, 20))) + "."
        s = s[0].upper() + s[1:]
        if s not in out and len(sentence_spans(s + " " + s)) == 2:
            out.append(s)
    return out


def _b36(i: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        i, r = divmod(i, 36)
        out = digits[r] + out
        if not i:
            return out


def _emittable(piece: str) -> bool:
    """Pieces the random model may output: Latin letters and punctuation, nothing the stage's
    checks would (rightly) reject as a leak, a placeholder shape or another script."""
    body = piece.replace("▁", "")
    if piece.startswith("<") or any(c.isdigit() or c in "_<>⁇" for c in body):
        return False
    return all(c.isascii() or "\u00c0" <= c <= "\u024f" for c in body)


def random_marian_weights(vocab: list[str], seed: int = 0) -> dict:
    """OPUS-MT-size random weights under Marian's parameter names ([in, out] layout)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    r = lambda *s: (rng.standard_normal(s, dtype=np.float32) / np.sqrt(s[0])).astype(np.float32)  # noqa: E731
    z = lambda *s: np.zeros(s, np.float32)  # noqa: E731
    bias = z(1, len(vocab))
    bias[0, [i for i, p in enumerate(vocab) if i > 1 and not _emittable(p)]] = MASK
    bias[0, 1] = MASK  # <unk>
    w = {"Wemb": r(len(vocab), D), "decoder_ff_logit_out_b": bias}

    def attn(p):
        for n in "qkvo":
            w[f"{p}_W{n}"], w[f"{p}_b{n}"] = r(D, D), z(1, D)
        w[f"{p}_Wo_ln_scale"], w[f"{p}_Wo_ln_bias"] = z(1, D) + 1, z(1, D)

    def ffn(p):
        w[f"{p}_W1"], w[f"{p}_b1"], w[f"{p}_W2"], w[f"{p}_b2"] = r(D, FFN), z(1, FFN), r(FFN, D), z(1, D)
        w[f"{p}_ffn_ln_scale"], w[f"{p}_ffn_ln_bias"] = z(1, D) + 1, z(1, D)

    for i in range(1, LAYERS + 1):
        attn(f"encoder_l{i}_self")
        ffn(f"encoder_l{i}_ffn")
        attn(f"decoder_l{i}_self")
        attn(f"decoder_l{i}_context")
        ffn(f"decoder_l{i}_ffn")
    return w


def build_models(work: str) -> dict:
    """Fake OPUS-MT release -> installed int8 and float32 models (the real install path)."""
    import sentencepiece as spm

    from models.install import convert_opus_mt
    from models.testmodel import marian_vocab, train_tokenizer, write_opus_mt_dir

    t0 = time.perf_counter()
    spm_path = train_tokenizer(os.path.join(work, "spm"))
    vocab = marian_vocab(spm.SentencePieceProcessor(model_file=spm_path))
    emittable = sum(1 for i, p in enumerate(vocab) if i > 1 and _emittable(p))
    vocab += ["▁q" + _b36(i) for i in range(V - len(vocab))]
    opus = os.path.join(work, "opus-mt-random")
    write_opus_mt_dir(opus, spm_path, random_marian_weights(vocab), d=D, heads=HEADS, ffn=FFN,
                      enc=LAYERS, dec=LAYERS, vocab=vocab)
    models_dir = os.path.join(work, "models")
    out = {"opus": opus, "spm": spm_path, "emittable": emittable, "models_dir": models_dir}
    for q in ("int8", "float32"):
        meta = {"name": "random-opus-size", "version": q, "source_langs": ["fr"],
                "target_lang": "en", "kind": "opus-mt", "test_model": True,
                "note": "BENCHMARK MODEL: random weights, output is not a translation"}
        # int8 is what `models install` does by default; float32 for the comparison.
        path = os.path.join(models_dir if q == "int8" else work, "random-opus-size-" + q)
        out[q] = convert_opus_mt(opus, path, meta, quantization=q,
                                 golden_source="Le ministre a parlé hier soir.")
    out["build_s"] = time.perf_counter() - t0
    return out


def load(path: str, compute_type: str = "auto", threads: int = 1):
    from models.loader import open_model

    return open_model(path, "cpu", compute_type, threads, verify=True)


# ---------------------------------------------------------------- the timed sides

def raw_run(model, units) -> float:
    t0 = time.perf_counter()
    model.translator.translate_batch([list(u) for u in units], max_batch_size=MAX_BATCH_TOKENS,
                                     batch_type="tokens", **DECODE)
    return time.perf_counter() - t0


def raw_canonical_run(model, units) -> float:
    """Raw translate_batch, but on the stage's canonical groups (length buckets + pad row),
    each group one batch (max_batch_size=0), as SentenceTranslator sends them."""
    from transforms.translate import canonical_groups

    t0 = time.perf_counter()
    for group in canonical_groups(units, MAX_BATCH_TOKENS):
        model.translator.translate_batch([list(u) for u in group], max_batch_size=0, **DECODE)
    return time.perf_counter() - t0


def ct2_batches(units, max_tokens: int) -> list[list]:
    """The batches raw_run's translate_batch(max_batch_size, batch_type="tokens") forms, as
    CTranslate2's rebatch_input does (batch_reader.cc): sorted by length, longest first, and
    cut when the sum of the lengths would pass max_tokens. Used only to print the batch shapes.

    >>> [len(b) for b in ct2_batches([("a",) * n for n in (5, 1, 4, 2)], 6)]
    [1, 2, 1]
    """
    batches, size = [], 0
    for u in sorted(units, key=len, reverse=True):
        if not batches or size + len(u) > max_tokens:
            batches.append([])
            size = 0
        batches[-1].append(u)
        size += len(u)
    return batches


def shape(batches) -> str:
    """Batches, rows and padded source tokens (rows x longest row), summed over the batches."""
    rows = [len(b) for b in batches]
    padded = sum(len(b) * max(map(len, b)) for b in batches)
    return (f"{len(batches)} batches of {min(rows)}-{max(rows)} rows ({sum(rows)} rows, "
            f"{padded} padded source tokens)")


def sentence_translator(model, cache_size: int = 0):
    from transforms.translate import SentenceTranslator

    return SentenceTranslator(model, max_batch_tokens=MAX_BATCH_TOKENS, decode_options=DECODE,
                              cache_size=cache_size)


def paths_of(results) -> dict:
    paths: dict[str, int] = {}
    for r in results.values():
        paths[r.path] = paths.get(r.path, 0) + 1
        for p in r.problems[:1]:  # why a random model's output failed a check
            key = "problem: " + " ".join(p.split(" ")[:2])
            paths[key] = paths.get(key, 0) + 1
    return paths


def translator_run(model, sents) -> tuple[float, dict]:
    tr = sentence_translator(model)
    t0 = time.perf_counter()
    res, _ = tr.translate(sents, "fr")
    return time.perf_counter() - t0, paths_of(res)


def make_articles(sents: list[str]) -> list[dict]:
    """Articles of 2 paragraphs x 4 sentences, routed to translation from French, as the
    language stage leaves them."""
    per = SENTS_PER_PARAGRAPH * PARAGRAPHS_PER_ARTICLE
    articles = []
    for i in range(0, len(sents), per):
        chunk = sents[i:i + per]
        paras = [" ".join(chunk[j:j + SENTS_PER_PARAGRAPH])
                 for j in range(0, len(chunk), SENTS_PER_PARAGRAPH)]
        body = "\n\n".join(paras)
        articles.append({"id": f"a{i}", "title": "", "body": body, "input_title": "",
                         "input_body": body, "route": "translate", "source_lang": "fr",
                         "paragraph_langs": [{"lang": "fr", "confidence": 1.0}] * len(paras),
                         "flags": [], "repairs": [], "status": ""})
    return articles


def stage_setup(models_dir: str):
    """The translate Stage as the pipeline builds it, with a fresh shared SentenceTranslator
    that uses the fixed-length decode options (the only thing changed: equal work)."""
    from transforms import translate
    from transforms.stage import TranslateConfig

    stage = translate.TranslateStage(TranslateConfig(models_dir=models_dir, translate_threads=1,
                                                     compute_type="auto"))
    stage.setup()

    def fresh():
        for m in stage.loaded.values():
            translate._TRANSLATORS[m.path + "|" + m.key] = sentence_translator(m)  # no cache
    return stage, fresh


def stage_run(stage, fresh, articles) -> tuple[float, dict]:
    fresh()
    batch = copy.deepcopy(articles)
    t0 = time.perf_counter()
    out = []
    for i in range(0, len(batch), ARTICLES_PER_BATCH):
        out += stage.process_batch(batch[i:i + ARTICLES_PER_BATCH])
    dt = time.perf_counter() - t0
    counts: dict[str, int] = {}
    for a in out:
        if isinstance(a, Exception):
            counts["rejected"] = counts.get("rejected", 0) + 1
            continue
        for k, v in a["translation"].get("counts", {}).items():
            counts[k] = counts.get(k, 0) + v
    return dt, counts


# ---------------------------------------------------------------- sections

def counted_stage_run(stage, fresh, articles) -> tuple[list, dict]:
    """One untimed Stage run (also its warm-up) that records every group the stage's models
    decode: what the Stage really sends to CTranslate2 (pad rows included; a retry or a second
    decode would show as more batches)."""
    seen: list = []
    for m in stage.loaded.values():
        def counted(groups, *a, _orig=m.translate_groups, **kw):
            seen.extend(list(g) for g in groups)
            return _orig(groups, *a, **kw)
        m.translate_groups = counted
    try:
        _, counts = stage_run(stage, fresh, articles)
    finally:
        for m in stage.loaded.values():
            del m.translate_groups
    return seen, counts


def section_stage(built: dict, n: int, reps: int) -> dict:
    from transforms.segment import sentence_spans
    from transforms.translate import BUCKET_TOKENS, canonical_groups

    sents = sentences(n)
    articles = make_articles(sents)
    seen = [p[a:b] for art in articles for p in art["body"].split("\n\n")
            for a, b in sentence_spans(p)]
    assert seen == sents, "the sentence splitter must see exactly the benchmark's sentences"
    stage, fresh = stage_setup(built["models_dir"])
    # Every side runs on the one Translator the Stage loaded (same files and settings as
    # `load`): two identically loaded Translators in one process ran 2-3% apart (raw on the
    # second-loaded one: +2.7% / +3.0% and +2.8% / +1.7%, 10:40-11:05 UTC), which the
    # comparison of the sides would have counted as the Stage's overhead.
    model = next(iter(stage.loaded.values()))
    units = [tuple(model.encode(s)) for s in sents]
    sides = {"raw, CT2 batching": lambda: raw_run(model, units),
             "raw, canonical groups": lambda: raw_canonical_run(model, units),
             "SentenceTranslator": lambda: translator_run(model, sents),
             "Stage.process_batch": lambda: stage_run(stage, fresh, articles)}
    raw_run(model, units[:4])
    decoded, _ = counted_stage_run(stage, fresh, articles)
    times = {k: [] for k in sides}
    cpu = {k: [] for k in sides}  # this process's CPU seconds (all its threads) per run
    info = {}
    with OthersCPU() as others:
        for rep in range(reps):
            names = list(sides)
            names = names[rep % len(names):] + names[:rep % len(names)]  # rotate the order
            for name in names:
                c0 = time.process_time()
                r = sides[name]()
                cpu[name].append(time.process_time() - c0)
                if isinstance(r, tuple):
                    r, info[name] = r
                times[name].append(r)
    tokens = n * OUT_TOKENS
    print(f"\n1. stage vs raw translate_batch: {n} distinct sentences ({sum(map(len, units))} "
          f"source tokens, {tokens} output tokens), int8, intra_threads=1, {reps} rounds in "
          f"rotated order, wall seconds per run (and this process's CPU seconds):")
    for name, ts in times.items():
        print(f"   {name:22s} {fmt_times(ts)}  best {tokens / min(ts):.0f} tok/s, median "
              f"{tokens / statistics.median(ts):.0f}  (CPU {fmt_times(cpu[name])})")
    print(f"   SentenceTranslator sentence paths {info['SentenceTranslator']}; Stage counts "
          f"{info['Stage.process_batch']} over {len(articles)} articles")
    print(f"   raw, CT2 batching (max_batch_size={MAX_BATCH_TOKENS}, batch_type=tokens): "
          f"{shape(ct2_batches(units, MAX_BATCH_TOKENS))}")
    print(f"   canonical groups (bucket width {BUCKET_TOKENS}): "
          f"{shape(canonical_groups(units, MAX_BATCH_TOKENS))}")
    print(f"   what the Stage sent to CTranslate2 (counted run): {shape(decoded)}; "
          f"same groups as above: {decoded == canonical_groups(units, MAX_BATCH_TOKENS)}")

    def ratio(a: str, b: str) -> str:
        # paired: the two sides' runs of the same round, a minute apart at most, so slow drift
        # of the shared machine cancels; the median over rounds drops one disturbed round.
        paired = [x / y for x, y in zip(times[a], times[b])]
        return (f"best {min(times[a]) / min(times[b]) - 1:+.1%}, median "
                f"{statistics.median(times[a]) / statistics.median(times[b]) - 1:+.1%}, "
                f"paired per round {' '.join(f'{r - 1:+.1%}' for r in paired)} (median "
                f"{statistics.median(paired) - 1:+.1%})")

    print(f"   Stage.process_batch vs raw translate_batch (CT2 batching): "
          f"{ratio('Stage.process_batch', 'raw, CT2 batching')}  (goal <= +10%)")
    print(f"     of which canonical batching (raw canonical vs raw CT2 batching): "
          f"{ratio('raw, canonical groups', 'raw, CT2 batching')}")
    print(f"     SentenceTranslator vs raw on the same canonical groups: "
          f"{ratio('SentenceTranslator', 'raw, canonical groups')}")
    print(f"     Stage.process_batch vs SentenceTranslator (split, jobs, log steps): "
          f"{ratio('Stage.process_batch', 'SentenceTranslator')}")
    print(others.line())
    return {k: min(v) for k, v in times.items()}


def child(args) -> None:
    """One installed model in a fresh process: RSS loaded, throughput, peak RSS."""
    import ctranslate2  # noqa: F401  (counted in the import baseline)
    import sentencepiece  # noqa: F401

    base = rss_mb()
    model = load(args.model, args.compute_type)
    loaded = rss_mb()
    units = [tuple(model.encode(s)) for s in sentences(args.n)]
    raw_run(model, units[:4])  # warm-up
    times = [raw_run(model, units) for _ in range(args.reps)]
    print(json.dumps({"times": times, "tokens": len(units) * OUT_TOKENS, "rss_import_mb": base,
                      "rss_loaded_mb": loaded, "rss_peak_mb": rss_mb("VmHWM")}))


def section_precision(built: dict, n: int, reps: int, rounds: int) -> None:
    rows = {"int8": [], "float32": []}
    with OthersCPU() as others:
        for rnd in range(rounds):
            for ct in (("int8", "float32") if rnd % 2 == 0 else ("float32", "int8")):
                out = subprocess.run([sys.executable, __file__, "--child", "--model", built[ct],
                                      "--compute_type", ct, "--n", str(n), "--reps", str(reps)], capture_output=True,
                                     text=True, check=True)
                rows[ct].append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"\n2. int8 vs float32 installs (raw translate_batch, {n} sentences, intra_threads=1, "
          f"a fresh process per run, {rounds} round(s) alternating):")
    best, med = {}, {}
    for ct, runs in rows.items():
        times = [t for r in runs for t in r["times"]]
        best[ct] = runs[0]["tokens"] / min(times)
        med[ct] = runs[0]["tokens"] / statistics.median(times)
        size = sum(f.stat().st_size for f in Path(built[ct]).iterdir()) / 2 ** 20
        print(f"   {ct:8s} {fmt_times(times)} s; best {best[ct]:.0f} tok/s, median {med[ct]:.0f}; "
              f"RSS after imports {max(r['rss_import_mb'] for r in runs):.0f} MB, loaded "
              f"{max(r['rss_loaded_mb'] for r in runs):.0f} MB, peak "
              f"{max(r['rss_peak_mb'] for r in runs):.0f} MB; directory {size:.0f} MB")
    print(f"   int8/float32 throughput: best {best['int8'] / best['float32']:.2f}x, median "
          f"{med['int8'] / med['float32']:.2f}x")
    print(others.line())


def section_cache(built: dict, quick: bool) -> None:
    """A drop of articles that share 2 boilerplate lines each and story sentences with earlier
    articles (updates of the same story), translated in Beam-sized batches of 8 articles."""
    model = load(built["int8"])
    pool = sentences(26, seed=1)  # 2 boilerplate lines + 24 story sentences
    boiler, story = pool[:2], pool[2:]
    n_art = 16 if quick else 32
    articles = [[story[(4 * i + k) % len(story)] for k in range(4)] + boiler for i in range(n_art)]
    batches = [sum(articles[i:i + 8], []) for i in range(0, n_art, 8)]

    def drop_run(cache_size: int):
        tr = sentence_translator(model, cache_size)
        t0 = time.perf_counter()
        for b in batches:
            tr.translate(b, "fr")
        return time.perf_counter() - t0, tr

    no_cache, cached = [], []
    with OthersCPU() as others:
        for _ in range(2 if quick else 3):
            no_cache.append(drop_run(0)[0])
            dt, tr = drop_run(100_000)
            cached.append(dt)
    occurrences = sum(len(b) for b in batches)
    distinct_per_batch = sum(len(set(b)) for b in batches)
    print(f"\n3. cache: {n_art} articles x 6 sentences ({occurrences} sentence occurrences, "
          f"{len(set(sum(batches, [])))} distinct in the drop), {len(batches)} batches of 8 articles:")
    print(f"   lookups (distinct sentences per batch) {distinct_per_batch}: {tr.hits} hits, "
          f"{tr.misses} misses -> hit rate {tr.hits / (tr.hits + tr.misses):.0%}; without the "
          f"cache all {distinct_per_batch} go to the model (repeats inside one batch are "
          f"translated once either way)")
    print(f"   no cache {fmt_times(no_cache)} s; cache {fmt_times(cached)} s: speed-up best "
          f"{min(no_cache) / min(cached):.2f}x, median "
          f"{statistics.median(no_cache) / statistics.median(cached):.2f}x")
    print(others.line())


# ---------------------------------------------------------------- Hugging Face comparison

def hf_model(opus_dir: str):
    """transformers MarianMTModel holding the fake OPUS-MT release's weights (the same tensors
    CTranslate2's OpusMTConverter read). HF adds a zero <pad> row as its decoder start, as
    transformers' own Marian conversion does; pad is masked in the output like the fillers."""
    import glob

    import numpy as np
    import torch
    import transformers

    w = dict(np.load(glob.glob(os.path.join(opus_dir, "*.npz"))[0]))
    v = w["Wemb"].shape[0]
    cfg = transformers.MarianConfig(
        vocab_size=v + 1, d_model=D, encoder_layers=LAYERS, decoder_layers=LAYERS,
        encoder_attention_heads=HEADS, decoder_attention_heads=HEADS, encoder_ffn_dim=FFN,
        decoder_ffn_dim=FFN, activation_function="swish", max_position_embeddings=512,
        scale_embedding=True, share_encoder_decoder_embeddings=True, pad_token_id=v,
        eos_token_id=0, decoder_start_token_id=v, forced_eos_token_id=None)
    model = transformers.MarianMTModel(cfg).eval()
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a))  # noqa: E731
    sd = {"model.shared.weight": t(np.concatenate([w["Wemb"], np.zeros((1, D), np.float32)])),
          "final_logits_bias": t(np.concatenate([w["decoder_ff_logit_out_b"],
                                                 np.full((1, 1), MASK, np.float32)], 1))}

    def attn(marian: str, hf: str, ln: str) -> None:
        for n, proj in zip("qkvo", ("q_proj", "k_proj", "v_proj", "out_proj")):
            sd[f"{hf}.{proj}.weight"] = t(w[f"{marian}_W{n}"].T)   # Marian [in, out] -> [out, in]
            sd[f"{hf}.{proj}.bias"] = t(w[f"{marian}_b{n}"][0])
        sd[f"{ln}.weight"], sd[f"{ln}.bias"] = t(w[f"{marian}_Wo_ln_scale"][0]), t(w[f"{marian}_Wo_ln_bias"][0])

    def ffn(marian: str, hf: str) -> None:
        sd[f"{hf}.fc1.weight"], sd[f"{hf}.fc1.bias"] = t(w[f"{marian}_W1"].T), t(w[f"{marian}_b1"][0])
        sd[f"{hf}.fc2.weight"], sd[f"{hf}.fc2.bias"] = t(w[f"{marian}_W2"].T), t(w[f"{marian}_b2"][0])
        sd[f"{hf}.final_layer_norm.weight"] = t(w[f"{marian}_ffn_ln_scale"][0])
        sd[f"{hf}.final_layer_norm.bias"] = t(w[f"{marian}_ffn_ln_bias"][0])

    for i in range(LAYERS):
        e, d = f"model.encoder.layers.{i}", f"model.decoder.layers.{i}"
        attn(f"encoder_l{i + 1}_self", f"{e}.self_attn", f"{e}.self_attn_layer_norm")
        ffn(f"encoder_l{i + 1}_ffn", e)
        attn(f"decoder_l{i + 1}_self", f"{d}.self_attn", f"{d}.self_attn_layer_norm")
        attn(f"decoder_l{i + 1}_context", f"{d}.encoder_attn", f"{d}.encoder_attn_layer_norm")
        ffn(f"decoder_l{i + 1}_ffn", d)
    missing, unexpected = model.load_state_dict(sd, strict=False)
    left = [k for k in missing if "embed_positions" not in k and not k.endswith("embed_tokens.weight")
            and k != "lm_head.weight"]
    if left or unexpected:
        raise RuntimeError(f"weights not mapped: missing {left[:5]}, unexpected {unexpected[:5]}")
    model.tie_weights()
    assert model.lm_head.weight.data_ptr() == model.model.shared.weight.data_ptr()
    return model


def serve(handlers: dict) -> None:
    """Answer one command per stdin line with one JSON line (used by the section 4 servers)."""
    for line in sys.stdin:
        cmd, _, arg = line.strip().partition(" ")
        print(json.dumps(handlers[cmd](arg)), flush=True)


def hf_child(args) -> None:
    """Server in --hf_python: HF MarianMT float32 holding the release's weights."""
    import sentencepiece as spm
    import torch

    torch.manual_seed(0)
    model = hf_model(args.opus)
    sp = spm.SentencePieceProcessor(model_file=args.spm)
    vocab = _vocab_of(args.opus)
    vocab_ids = {p: i for i, p in enumerate(vocab)}
    units = [sp.encode(s, out_type=str) for s in sentences(args.n, seed=2)]
    pad = model.config.pad_token_id
    ids = torch.full((len(units), max(map(len, units)) + 1), pad, dtype=torch.long)
    for r, u in enumerate(units):
        row = [vocab_ids[p] for p in u] + [0]   # </s>, as CT2 appends (add_source_eos)
        ids[r, :len(row)] = torch.tensor(row)
    mask = (ids != pad).long()
    gen = {"num_beams": 1, "do_sample": False, "min_new_tokens": OUT_TOKENS,
           "max_new_tokens": OUT_TOKENS, "no_repeat_ngram_size": 2}

    def generate(rows: slice):
        with torch.inference_mode():
            return model.generate(input_ids=ids[rows], attention_mask=mask[rows], **gen)

    def run(_):
        t0 = time.perf_counter()
        generate(slice(None))
        return time.perf_counter() - t0

    def check(k):
        out = generate(slice(0, int(k)))
        return [[vocab[int(x)] for x in row[1:]] for row in out]  # row[0]: the start token

    serve({"threads": lambda t: torch.set_num_threads(int(t)), "run": run, "check": check})


def ct2_child(args) -> None:
    """Server in this venv: raw CTranslate2 (int8, float32) and our SentenceTranslator."""
    from transforms.translate import canonical_groups

    sents = sentences(args.n, seed=2)
    models: dict = {}

    def threads(t):
        import ctranslate2

        models.clear()
        models.update({q: load(args.model if q == "int8" else args.model_f32, q, int(t))
                       for q in ("int8", "float32")})
        # CTranslate2 called directly with t replicas of 1 thread each (weights shared), what
        # the notes found fastest on 2 cores; open_model (above) now builds the same Translator.
        models["replicas"] = ctranslate2.Translator(args.model, device="cpu", compute_type="int8",
                                                    inter_threads=int(t), intra_threads=1)

    def replicas(_):
        us = [list(u) for u in units()]
        t0 = time.perf_counter()
        models["replicas"].translate_batch(us, max_batch_size=-(-len(us) // 2), **DECODE)
        return time.perf_counter() - t0

    def units():
        return [tuple(models["int8"].encode(s)) for s in sents]

    def check(k):
        res = models["float32"].translator.translate_batch(
            [list(u) for u in units()[:int(k)]], **DECODE)
        return [r.hypotheses[0] for r in res]

    def groups(_):
        return [len(g) for g in canonical_groups(units(), MAX_BATCH_TOKENS)]

    serve({"threads": threads, "check": check, "groups": groups,
           "float32": lambda _: raw_run(models["float32"], units()),
           "int8": lambda _: raw_run(models["int8"], units()), "replicas": replicas,
           "stage": lambda _: translator_run(models["int8"], sents)[0]})


def _vocab_of(opus_dir: str) -> list[str]:
    import glob

    from ctranslate2.converters.marian import load_vocab

    return load_vocab(glob.glob(os.path.join(opus_dir, "*.vocab.yml"))[0])


def _proc_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def section_hf(built: dict, args, stage_best: dict) -> None:
    """HF and CT2 each in its own long-lived process (torch's and CTranslate2's OpenMP pools
    never share one), asked in turn for one timed run each, so only one works at a time."""
    n, reps = (32, 2) if args.quick else (64, 3)
    if not os.path.exists(args.hf_python):
        print(f"\n4. HF comparison skipped: {args.hf_python} not found")
        return
    common = ["--opus", built["opus"], "--spm", built["spm"], "--model", built["int8"],
              "--model_f32", built["float32"], "--n", str(n)]
    servers = {
        "hf": subprocess.Popen([args.hf_python, __file__, "--hf_child", *common], cwd=str(REPO),
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True),
        "ct2": subprocess.Popen([sys.executable, __file__, "--ct2_child", *common], cwd=str(REPO),
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)}

    def ask(server: str, cmd: str):
        proc = servers[server]
        proc.stdin.write(cmd + "\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{server} server died (exit {proc.wait()}) on {cmd!r}")
        return json.loads(line)

    sides = {"HF MarianMT float32": ("hf", "run"), "CT2 float32 raw": ("ct2", "float32"),
             "CT2 int8 raw": ("ct2", "int8"), "our SentenceTranslator int8": ("ct2", "stage")}
    tokens = n * OUT_TOKENS
    try:
        for s in servers:
            ask(s, "threads 1")
        hf_out, ct_out = ask("hf", "check 8"), ask("ct2", "check 8")
        first_diff = [next((k for k, (a, b) in enumerate(zip(h, c)) if a != b), min(len(h), len(c)))
                      for h, c in zip(hf_out, ct_out)]
        groups = ask("ct2", "groups")
        print(f"\n4. Hugging Face transformers MarianMT vs CTranslate2, same weights, {n} sentences "
              f"-> {tokens} output tokens (greedy, fixed length, no_repeat_ngram_size=2 on both; "
              f"HF and CT2 each in its own process, one run at a time, order rotated):")
        print(f"   same-weights check: HF float32 and CT2 float32 greedy outputs identical for "
              f"{sum(h == c for h, c in zip(hf_out, ct_out))}/{len(hf_out)} sentences (first "
              f"differing token per sentence: {first_diff}; {OUT_TOKENS} = none)")
        print(f"   our SentenceTranslator sends these {n} sentences as {len(groups)} canonical "
              f"groups (sizes {groups}, pad rows included)")
        for threads in (1, 2):
            for s in servers:
                ask(s, f"threads {threads}")
            round_sides = dict(sides)
            if threads == 2:
                round_sides["CT2 int8 raw, 2 replicas x 1"] = ("ct2", "replicas")
            for server, cmd in round_sides.values():  # warm-up
                ask(server, cmd)
            times = {k: [] for k in round_sides}
            ticks0 = sum(_proc_ticks(p.pid) for p in servers.values())
            with OthersCPU() as others:
                for rep in range(reps):
                    names = list(round_sides)
                    k = rep % len(names)
                    for name in names[k:] + names[:k]:
                        times[name].append(ask(*round_sides[name]))
                servers_s = (sum(_proc_ticks(p.pid) for p in servers.values()) - ticks0) \
                    / os.sysconf("SC_CLK_TCK")
            print(f"   {threads} thread(s) each (torch.set_num_threads; CT2 through "
                  f"models.loader.open_model: {threads} single-thread replica(s), "
                  f"inter_threads={threads} intra_threads=1):")
            for name, ts in times.items():
                print(f"     {name:28s} {fmt_times(ts)} s  best {tokens / min(ts):.0f} tok/s, "
                      f"median {tokens / statistics.median(ts):.0f}")
            hf_t = times["HF MarianMT float32"]
            for name in list(times)[1:]:
                print(f"     {name} vs HF float32: best {min(hf_t) / min(times[name]):.2f}x, "
                      f"median {statistics.median(hf_t) / statistics.median(times[name]):.2f}x")
            # OthersCPU counts the servers as others (they are not waited for): take them out.
            print(f"     other processes used ~{max(0.0, others.cores - servers_s / others.wall):.2f}"
                  f" cores meanwhile")
    finally:
        for proc in servers.values():
            proc.stdin.close()
            proc.wait()
    stage_over = stage_best["Stage.process_batch"] / stage_best["SentenceTranslator"]
    print(f"   (the whole Stage adds x{stage_over:.3f} to SentenceTranslator in section 1)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer sentences and repetitions (~2 min)")
    ap.add_argument("--hf", action="store_true", help="also compare with HF MarianMT")
    ap.add_argument("--hf_python", default="/tmp/hfvenv/bin/python",
                    help="an interpreter with torch + transformers + ctranslate2 + sentencepiece")
    for hidden in ("--child", "--hf_child", "--ct2_child"):
        ap.add_argument(hidden, action="store_true", help=argparse.SUPPRESS)
    for hidden in ("--model", "--model_f32", "--opus", "--spm", "--compute_type"):
        ap.add_argument(hidden, help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--reps", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)
    if args.hf_child:
        return hf_child(args)
    if args.ct2_child:
        return ct2_child(args)
    # Section 1 rotates 4 sides; 5 rounds (full) give a median that one disturbed run cannot move.
    n, reps = (96, 3) if args.quick else (256, 5)
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo", encoding="utf-8")
                if line.startswith("model name")), "?")
    print(f"# bench_translate  {time.strftime('%Y-%m-%d %H:%M %Z')}  cpus={os.cpu_count()} ({cpu})  "
          f"python={sys.version.split()[0]}  {'--quick' if args.quick else 'full'}")
    with OthersCPU() as total, tempfile.TemporaryDirectory(prefix="bench-translate-") as work:
        built = build_models(work)
        import ctranslate2

        print(f"model: random OPUS-MT-size (6+6 layers, d{D}, {HEADS} heads, ffn {FFN}, V={V}), "
              f"fake OPUS-MT release -> OpusMTConverter -> installed int8 and float32 in "
              f"{built['build_s']:.1f} s (ctranslate2 {ctranslate2.__version__}); outputs limited "
              f"to {built['emittable']} Latin pieces by the output bias; every sentence -> "
              f"{OUT_TOKENS} tokens")
        best = section_stage(built, n, reps)
        section_precision(built, n, 2 if args.quick else 3, 1 if args.quick else 2)
        section_cache(built, args.quick)
        if args.hf:
            section_hf(built, args, best)
    print(f"\nwall {total.wall:.0f} s; CPU used by "
          f"other processes during the whole run ~{total.cores:.2f} cores (of {os.cpu_count()})")


if __name__ == "__main__":
    main()
