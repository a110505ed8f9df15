"""Benchmark: the translate stage on an OPUS-MT-size random-weight model, ratios side by side.

Model: architecture-identical to OPUS-MT (transformer-base, 6+6 layers, d_model 512, 8 heads,
ffn 2048, swish, vocab 59514, tied embeddings), random weights (seed 0) built with CTranslate2's
spec API (models.testmodel.build_random_model); vocabulary = the tiny test tokenizer's pieces +
filler tokens. Every sentence decodes to exactly OUT_TOKENS tokens (min = max decoding length,
greedy, no_repeat_ngram_size=2 so the random model's one-token loop cannot trigger our retry
path), so raw and stage do equal work. Sources have no digits (a random model drops
placeholders, which would send every sentence through the retry path: that is the retry cost,
not the stage's overhead).

Measured, in one run, alternating so machine drift hits both sides (intra_threads=1 everywhere,
per ../shared/notes/ct2-tiny-models.md §4):
1. stage (SentenceTranslator: protect, tokenize, canonical batches, restore, verify, checks)
   vs raw `translate_batch(max_batch_size=2048, batch_type="tokens")` on the same sentences;
2. int8 vs float32: throughput and RSS (each in its own process);
3. the cache on a drop whose articles repeat boilerplate sentences;
4. (--hf, needs torch + transformers in --hf_python) raw CTranslate2 int8 vs Hugging Face
   MarianMT float32 on the same weights, 1 thread each.

    .venv/bin/python bench/bench_translate.py --quick [--hf --hf_python /tmp/hfvenv/bin/python]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

V = 59514          # OPUS-MT ar-en/fr-en vocabulary size
OUT_TOKENS = 30    # fixed output length (equal work), as in notes §4
MAX_BATCH_TOKENS = 2048


def rss_mb(field: str = "VmRSS") -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def busy_jiffies() -> tuple[int, int]:
    """(all CPUs busy jiffies, this process + children jiffies) to estimate others' CPU use."""
    with open("/proc/stat", encoding="ascii") as fh:
        vals = [int(x) for x in fh.readline().split()[1:]]
    busy = sum(vals) - vals[3] - vals[4]
    t = os.times()
    hz = os.sysconf("SC_CLK_TCK")
    return busy, int((t.user + t.system + t.children_user + t.children_system) * hz)


def sentences(n: int, seed: int = 0) -> list[str]:
    """n distinct digit-free sentences of 12-20 words drawn from the test corpus's words."""
    import random

    from models.testmodel import corpus_lines

    words = sorted({w for line in corpus_lines(600) for w in line.split()
                    if not any(c.isdigit() for c in w)})
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < n:
        s = " ".join(rng.choice(words) for _ in range(rng.randint(12, 20))) + "."
        if s not in out:
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


def build_model(work: str):
    import sentencepiece as spm

    from models.testmodel import build_random_model, marian_vocab, train_tokenizer

    spm_path = train_tokenizer(os.path.join(work, "spm"))
    sp = spm.SentencePieceProcessor(model_file=spm_path)
    vocab = marian_vocab(sp)
    # Filler tokens: short words ("▁q1a"), so 30 output tokens are ~1.3-2.5x the source
    # characters, inside the stage's length-ratio band like a real translation.
    vocab += ["▁q" + _b36(i) for i in range(V - len(vocab))]
    t0 = time.perf_counter()
    path = build_random_model(os.path.join(work, "opus-size"), vocab, d=512, heads=8, ffn=2048,
                              layers=(6, 6), seed=0, quantization=None)
    return path, spm_path, time.perf_counter() - t0


def bench_model(path: str, spm_path: str, compute_type: str):
    import ctranslate2
    import sentencepiece as spm

    from models.loader import LoadedModel

    class BenchModel(LoadedModel):
        def decode(self, pieces):
            # Filler tokens are not sentencepiece pieces, so sp.decode cannot be used; byte
            # pieces (<0xAD>) that a random model emits are spelled as plain text, else the
            # leak check (rightly) sends them through the retry path and work is unequal.
            text = "".join(p if not p.startswith("<0x") else "▁b" + p[3:5] for p in pieces)
            return text.replace("▁", " ").strip()

    sp = spm.SentencePieceProcessor(model_file=spm_path)
    translator = ctranslate2.Translator(path, device="cpu", compute_type=compute_type,
                                        inter_threads=1, intra_threads=1)
    meta = {"name": "random-opus-size", "version": compute_type, "max_decoding_length": 64}
    return BenchModel(path, meta, translator, sp, sp)


DECODE = {"beam_size": 1, "min_decoding_length": OUT_TOKENS, "max_decoding_length": OUT_TOKENS,
          "no_repeat_ngram_size": 2}


def raw_run(model, units) -> float:
    t0 = time.perf_counter()
    model.translator.translate_batch([list(u) for u in units], max_batch_size=MAX_BATCH_TOKENS,
                                     batch_type="tokens", **DECODE)
    return time.perf_counter() - t0


def raw_canonical_run(model, units) -> float:
    """Raw translate_batch, but on the stage's canonical groups (length buckets + pad row)."""
    from transforms.translate import canonical_groups

    t0 = time.perf_counter()
    for group in canonical_groups(units, MAX_BATCH_TOKENS):
        model.translator.translate_batch([list(u) for u in group], max_batch_size=MAX_BATCH_TOKENS,
                                         batch_type="tokens", **DECODE)
    return time.perf_counter() - t0


def stage_run(model, sents) -> tuple[float, dict]:
    from transforms.translate import SentenceTranslator

    tr = SentenceTranslator(model, max_batch_tokens=MAX_BATCH_TOKENS, decode_options=DECODE)
    t0 = time.perf_counter()
    res, _ = tr.translate(sents, "fr")
    dt = time.perf_counter() - t0
    paths: dict[str, int] = {}
    for r in res.values():
        paths[r.path] = paths.get(r.path, 0) + 1
        for p in r.problems[:1]:  # why a random model's output failed a check
            key = "problem: " + p.split(" ")[0] + " " + p.split(" ")[1]
            paths[key] = paths.get(key, 0) + 1
    return dt, paths


def child(args) -> None:
    """One compute type in a fresh process: load RSS, throughput, peak RSS."""
    base = rss_mb()
    model = bench_model(args.model, args.spm, args.compute_type)
    loaded = rss_mb()
    units = [tuple(model.encode(s)) for s in sentences(args.n)]
    raw_run(model, units[:4])  # warm-up
    times = [raw_run(model, units) for _ in range(args.reps)]
    print(json.dumps({"compute_type": args.compute_type, "times": times,
                      "tokens": len(units) * OUT_TOKENS, "rss_import_mb": base,
                      "rss_loaded_mb": loaded, "rss_peak_mb": rss_mb("VmHWM")}))


HF_CHILD = r'''
import json, sys, time, torch, transformers, ctranslate2
from ctranslate2.converters.transformers import MarianMTLoader
V, n, reps, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
torch.manual_seed(0)
cfg = transformers.MarianConfig(vocab_size=V, d_model=512, encoder_layers=6, decoder_layers=6,
    encoder_attention_heads=8, decoder_attention_heads=8, encoder_ffn_dim=2048, decoder_ffn_dim=2048,
    activation_function="swish", max_position_embeddings=512, scale_embedding=True,
    share_encoder_decoder_embeddings=True, pad_token_id=V-1, eos_token_id=0,
    decoder_start_token_id=V-1, forced_eos_token_id=None)
model = transformers.MarianMTModel(cfg).eval()
class FakeTok:
    eos_token, unk_token, bos_token = "</s>", "<unk>", None
    def __init__(self, V):
        self.vocab = {("</s>" if i == 0 else "<unk>" if i == 1 else "<pad>" if i == V-1 else f"t{i}"): i for i in range(V)}
        self.inv = {v: k for k, v in self.vocab.items()}
    def get_vocab(self): return dict(self.vocab)
    def convert_ids_to_tokens(self, i): return self.inv[i]
with torch.no_grad():
    spec = MarianMTLoader()(model, FakeTok(V))
import os; os.makedirs(out, exist_ok=True)
spec.validate(); spec.optimize(quantization="int8"); spec.save(out)
g = torch.Generator().manual_seed(1)
ids = torch.randint(2, V - 1, (n, 30), generator=g)
ids = torch.cat([ids, torch.zeros(n, 1, dtype=torch.long)], 1)
src = [[f"t{i}" for i in row[:-1].tolist()] + ["</s>"] for row in ids]
tr = ctranslate2.Translator(out, device="cpu", compute_type="int8", inter_threads=1, intra_threads=1)
torch.set_num_threads(1)
def ct2():
    t0 = time.perf_counter(); tr.translate_batch(src, beam_size=1, min_decoding_length=30, max_decoding_length=30); return time.perf_counter() - t0
def hf():
    t0 = time.perf_counter()
    with torch.inference_mode():
        model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), num_beams=1, do_sample=False, min_new_tokens=30, max_new_tokens=30)
    return time.perf_counter() - t0
ct2(); hf()
res = {"ct2_int8": [], "hf_float32": []}
for _ in range(reps):
    res["ct2_int8"].append(ct2()); res["hf_float32"].append(hf())
print(json.dumps({"tokens": n * 30, **res}))
'''


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer sentences and repetitions (< 3 min)")
    ap.add_argument("--hf", action="store_true", help="also compare with HF MarianMT")
    ap.add_argument("--hf_python", default="/tmp/hfvenv/bin/python",
                    help="an interpreter with torch + transformers + ctranslate2")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--model", help=argparse.SUPPRESS)
    ap.add_argument("--spm", help=argparse.SUPPRESS)
    ap.add_argument("--compute_type", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--reps", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    n, reps = (96, 2) if args.quick else (256, 3)
    jiffies0 = busy_jiffies()
    wall0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-translate-") as work:
        path, spm_path, build_s = build_model(work)
        print(f"model: random OPUS-MT-size (6+6, d512, ffn2048, V={V}) built in {build_s:.1f} s; "
              f"{n} distinct sentences -> {OUT_TOKENS} tokens each; intra_threads=1")

        # 1. stage vs raw, int8, alternating
        model = bench_model(path, spm_path, "int8")
        sents = sentences(n)
        units = [tuple(model.encode(s)) for s in sents]
        src_tokens = sum(len(u) for u in units)
        raw_run(model, units[:4])
        raw_t, canon_t, stage_t, paths = [], [], [], {}
        for _ in range(reps):
            raw_t.append(raw_run(model, units))
            canon_t.append(raw_canonical_run(model, units))
            dt, paths = stage_run(model, sents)
            stage_t.append(dt)
        tokens = n * OUT_TOKENS
        from transforms.translate import canonical_groups

        sizes = [len(g) for g in canonical_groups(units, MAX_BATCH_TOKENS)]
        print(f"\n1. stage vs raw translate_batch (int8, {src_tokens} source tokens, {tokens} "
              f"output tokens), seconds per run:")
        for label, ts in (("raw, CT2 batching", raw_t), ("raw, canonical groups", canon_t),
                          ("stage", stage_t)):
            print(f"   {label:22s} {' '.join(f'{t:.3f}' for t in ts)}  best "
                  f"{tokens / min(ts):.0f} tok/s")
        print(f"   stage sentence paths {paths}; canonical groups: {len(sizes)} "
              f"(sizes {min(sizes)}-{max(sizes)}, mean {statistics.mean(sizes):.1f})")
        print(f"   stage overhead vs raw on the same canonical groups: best "
              f"{min(stage_t) / min(canon_t) - 1:+.1%}, median "
              f"{statistics.median(stage_t) / statistics.median(canon_t) - 1:+.1%}")
        print(f"   cost of canonical batching vs CT2's own padded batching: best "
              f"{min(canon_t) / min(raw_t) - 1:+.1%}; stage vs raw CT2 batching: best "
              f"{min(stage_t) / min(raw_t) - 1:+.1%}")

        # 2. int8 vs float32, each in a fresh process (RSS), alternating
        rows = {"int8": [], "float32": []}
        for _ in range(1 if args.quick else 2):
            for ct in ("int8", "float32"):
                out = subprocess.run([sys.executable, __file__, "--child", "--model", path,
                                      "--spm", spm_path, "--compute_type", ct, "--n", str(n),
                                      "--reps", str(reps)], capture_output=True, text=True,
                                     check=True)
                rows[ct].append(json.loads(out.stdout.strip().splitlines()[-1]))
        print("\n2. int8 vs float32 (raw translate_batch, fresh process each):")
        best = {}
        for ct, runs in rows.items():
            times = [t for r in runs for t in r["times"]]
            best[ct] = runs[0]["tokens"] / min(times)
            print(f"   {ct:8s} best {best[ct]:.0f} tok/s median "
                  f"{runs[0]['tokens'] / statistics.median(times):.0f} tok/s; RSS loaded "
                  f"{runs[-1]['rss_loaded_mb']:.0f} MB, peak {runs[-1]['rss_peak_mb']:.0f} MB "
                  f"(after imports {runs[-1]['rss_import_mb']:.0f} MB)")
        print(f"   int8/float32 throughput: {best['int8'] / best['float32']:.2f}x "
              f"(the model directory is float32; int8 is quantised at load)")

        # 3. cache: 16 (quick) or 32 articles of 6 sentences, 2 of them boilerplate in every article, batches of 8
        from transforms.translate import SentenceTranslator

        pool = sentences(26, seed=1)  # 2 boilerplate lines + 24 story sentences (updates repeat them)
        boiler, unique = pool[:2], pool[2:]
        n_art = 16 if args.quick else 32
        articles = [[unique[(4 * i + k) % len(unique)] for k in range(4)] + boiler
                    for i in range(n_art)]
        batches = [sum(articles[i:i + 8], []) for i in range(0, n_art, 8)]

        def drop_run(cache_size: int) -> tuple[float, SentenceTranslator]:
            tr = SentenceTranslator(model, max_batch_tokens=MAX_BATCH_TOKENS,
                                    decode_options=DECODE, cache_size=cache_size)
            t0 = time.perf_counter()
            for b in batches:
                tr.translate(b, "fr")
            return time.perf_counter() - t0, tr

        no_cache, cached = [], []
        for _ in range(2 if args.quick else 3):
            no_cache.append(drop_run(0)[0])
            dt, tr = drop_run(100_000)
            cached.append(dt)
        occurrences = sum(len(b) for b in batches)
        print(f"\n3. cache: {n_art} articles x 6 sentences ({occurrences} sentence occurrences, "
              f"{len(set(sum(batches, [])))} distinct), {len(batches)} batches of 8 articles:")
        print(f"   hit rate across batches {tr.hits / (tr.hits + tr.misses):.0%} "
              f"({tr.hits} hits, {tr.misses} misses; repeats inside a batch are translated once "
              f"in both runs)")
        print(f"   no cache {min(no_cache):.2f} s, cache {min(cached):.2f} s: "
              f"speedup {min(no_cache) / min(cached):.2f}x")

        # 4. HF comparison
        if args.hf:
            if not os.path.exists(args.hf_python):
                print(f"\n4. HF comparison skipped: {args.hf_python} not found")
            else:
                out = subprocess.run([args.hf_python, "-c", HF_CHILD, str(V), str(32 if args.quick else 64),
                                      str(2 if args.quick else 3), os.path.join(work, "hf-ct2")],
                                     capture_output=True, text=True)
                if out.returncode:
                    print("\n4. HF comparison failed:", out.stderr.strip().splitlines()[-1:])
                else:
                    r = json.loads(out.stdout.strip().splitlines()[-1])
                    ct2, hf = min(r["ct2_int8"]), min(r["hf_float32"])
                    over = min(stage_t) / min(raw_t)
                    print(f"\n4. same weights, {r['tokens']} output tokens, 1 thread each: CT2 int8 "
                          f"{r['tokens'] / ct2:.0f} tok/s, HF MarianMT float32 "
                          f"{r['tokens'] / hf:.0f} tok/s: raw CT2 {hf / ct2:.2f}x HF; our stage "
                          f"(x{over:.3f} overhead from 1.) {hf / ct2 / over:.2f}x HF")
    jiffies1 = busy_jiffies()
    wall = time.perf_counter() - wall0
    hz = os.sysconf("SC_CLK_TCK")
    others = ((jiffies1[0] - jiffies0[0]) - (jiffies1[1] - jiffies0[1])) / hz / wall
    print(f"\nwall {wall:.0f} s; CPU used by other processes during the run ~{max(0.0, others):.2f} "
          f"cores (of {os.cpu_count()})")


if __name__ == "__main__":
    main()
