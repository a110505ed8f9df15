"""The tiny test model: an installed-model directory built offline in about a second.

Owns: a sentencepiece tokenizer trained on a few hundred made-up news-like lines (French,
Arabic, English), a hand-weighted *copy* model (output tokens == input tokens) written as a fake
OPUS-MT directory (Marian .npz + decoder.yml + vocab.yml + spm) and converted by the real
`ctranslate2.converters.OpusMTConverter` (int8), and its metadata.json. Tests use it, and
`newsnorm models install tiny-test` installs it so anyone can try the translate path offline.

Its output is NOT a translation: it copies the source. The metadata says so (`test_model`,
`copy_model`, `note`). The weight recipe was measured on CTranslate2 4.x.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import numpy as np
import yaml

NAME = "tiny-test"
VERSION = "1.0.0"
SOURCE_LANGS = ["ar", "fr"]
# The longest source (in sentencepiece tokens, </s> included) the copy model can copy: its
# position table has this many rows (max_decoding_length must not exceed it).
MAX_LEN = 256
GOLDEN = "Le 14 juillet, 3 500 personnes ont manifesté à Paris."

_FR_SUBJ = ["Le ministre", "La police", "Le gouvernement", "Un porte-parole", "La mairie",
            "Le syndicat", "L'agence", "Le tribunal", "La préfecture", "Un témoin"]
_FR_VERB = ["a annoncé", "a confirmé", "a démenti", "a rapporté", "a précisé", "a indiqué"]
_FR_OBJ = ["une hausse de {n} % des prix", "la mort de {n} personnes", "un budget de {n} euros",
           "l'arrivée de {n} réfugiés à Lyon", "la fermeture de {n} écoles", "un vote le {d} mars",
           "des pluies à Marseille", "une grève à la SNCF", "un accord sur le gaz", "{n} arrestations"]
_AR_SUBJ = ["قال الوزير", "أعلنت الحكومة", "أكدت الشرطة", "ذكرت الوكالة", "أفاد مراسل",
            "قالت وزارة الصحة", "أعلن الجيش", "صرح المتحدث"]
_AR_OBJ = ["إن {a} أشخاص أصيبوا في الحادث", "أن الأسعار ارتفعت بنسبة {a}٪", "أن {n} لاجئا وصلوا",
           "أن الاجتماع سيعقد يوم {a} مارس", "إن المفاوضات مستمرة في القاهرة", "أن {a} مدارس أغلقت",
           "أن العاصفة ضربت غزة، فهل ستعود الكهرباء؟", "إن الميزانية بلغت {n} مليون دولار"]
_EN = ["The minister said {n} people were hurt on {d} March.",
       "Prices rose by {n}% in the capital, officials said.",
       "Police arrested {n} people near the border_post at 10:30.",
       "The talks in Cairo continue, a spokesman told AFP (Reuters).",
       "Visit https://example.org/news_{n} or write to desk_{n}@example.org for details.",
       "A budget of {n},000 dollars was approved; the vote was {d}-{n}."]


def corpus_lines(n_lines: int = 360) -> list[str]:
    """Made-up news-like lines (deterministic) to train the test tokenizer on.

    >>> lines = corpus_lines(30)
    >>> len(lines), any("٣" in x or "،" in x for x in lines), any("%" in x for x in lines)
    (30, True, True)
    """
    east = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
    out: list[str] = []
    for i in range(n_lines):
        n, d = str(3 + (i * 37) % 9000), str(1 + i % 28)
        kind = i % 3
        if kind == 0:
            obj = _FR_OBJ[i % len(_FR_OBJ)].format(n=n if i % 2 else n[:-1] + "," + n[-1], d=d)
            out.append(f"{_FR_SUBJ[i % len(_FR_SUBJ)]} {_FR_VERB[i % len(_FR_VERB)]} {obj}.")
        elif kind == 1:
            a = n.translate(east) if i % 4 else n
            obj = _AR_OBJ[i % len(_AR_OBJ)].format(a=a, n=n)
            out.append(f"{_AR_SUBJ[i % len(_AR_SUBJ)]} {obj}.")
        else:
            out.append(_EN[i % len(_EN)].format(n=n, d=d))
    return out


def train_tokenizer(out_prefix: str, vocab_size: int = 1000) -> str:
    """Train the unigram sentencepiece model (byte_fallback: no character is ever lost).

    Returns the path of the .model file. vocab 1000 is what the recipe measured (notes §2).
    """
    import sentencepiece as spm

    corpus = out_prefix + ".corpus.txt"
    with open(corpus, "w", encoding="utf-8") as fh:
        fh.write("\n".join(corpus_lines()) + "\n")
    spm.SentencePieceTrainer.train(
        input=corpus, model_prefix=out_prefix, vocab_size=vocab_size, model_type="unigram",
        character_coverage=1.0, byte_fallback=True, normalization_rule_name="identity",
        hard_vocab_limit=False,  # a corpus this small holds fewer pieces than asked
        minloglevel=2)
    return out_prefix + ".model"


def marian_vocab(sp) -> list[str]:
    """OPUS-MT vocabulary order: </s>=0, <unk>=1, then the sentencepiece pieces."""
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    return ["</s>", "<unk>"] + [p for p in pieces if p not in ("<unk>", "<s>", "</s>")]


def _zero_sum_unit_rows(rng, n: int, dim: int, orthogonal: bool = False) -> np.ndarray:
    m = rng.standard_normal((dim, n))
    m -= m.mean(axis=0, keepdims=True)
    if orthogonal:  # needs n <= dim - 1
        m = np.linalg.qr(m)[0]
        m -= m.mean(axis=0, keepdims=True)
    m = m.T
    return (m / np.linalg.norm(m, axis=1, keepdims=True)).astype(np.float32)


def copy_marian_weights(V: int, max_len: int = MAX_LEN, d_tok: int = 128, seed: int = 0,
                        alpha: float = 40.0, beta: float = 8.0, gamma_out: float = 20.0):
    """Copy model in Marian post-norm form (1+1 layers, 1 head, learned `Wpos`).

    The residual stream is [position subspace | token subspace]; only decoder cross-attention
    is non-zero: its query/key read positions (sharp, alpha) and its value/output move the
    source token, so step t emits source token t. Constants chosen by
    measurement (exact copies with greedy and beam 4, float32 and int8).
    """
    rng = np.random.default_rng(seed)
    d_pos = max_len + 1
    d_pos += (-(d_pos + d_tok)) % 8
    d = d_pos + d_tok
    z = lambda *s: np.zeros(s, np.float32)  # noqa: E731
    emb = z(V, d)
    emb[:, d_pos:] = _zero_sum_unit_rows(rng, V, d_tok) / np.sqrt(d)  # CT2 scales by sqrt(d)
    pos = z(max_len, d)
    pos[:, :d_pos] = _zero_sum_unit_rows(rng, max_len, d_pos, orthogonal=True)
    w = {"Wemb": emb, "Wpos": pos, "decoder_ff_logit_out_b": z(1, V)}

    def attn(p, q=None, k=None, v=None, o=None):
        for n, m in zip("qkvo", (q, k, v, o)):
            w[f"{p}_W{n}"], w[f"{p}_b{n}"] = (z(d, d) if m is None else m), z(1, d)
        w[f"{p}_Wo_ln_scale"], w[f"{p}_Wo_ln_bias"] = z(1, d) + 1, z(1, d)

    def ffn(p, gamma=1.0):
        w[f"{p}_W1"], w[f"{p}_b1"], w[f"{p}_W2"], w[f"{p}_b2"] = z(d, 8), z(1, 8), z(8, d), z(1, d)
        w[f"{p}_ffn_ln_scale"], w[f"{p}_ffn_ln_bias"] = z(1, d) + gamma, z(1, d)

    def block(a, b, s):  # s * identity on dims [a, b)
        m = z(d, d)
        m[a:b, a:b] = s * np.eye(b - a)
        return m

    attn("encoder_l1_self")
    ffn("encoder_l1_ffn")
    attn("decoder_l1_self")
    ffn("decoder_l1_ffn", gamma=gamma_out)
    attn("decoder_l1_context", q=block(0, d_pos, alpha), k=block(0, d_pos, 1.0),
         v=block(d_pos, d, 1.0), o=block(d_pos, d, beta))
    return w, dict(d=d, heads=1, ffn=8, enc=1, dec=1)


def build_random_model(out_dir: str, vocab: list[str], d: int = 64, heads: int = 4,
                       ffn: int = 128, layers: tuple[int, int] = (2, 2), seed: int = 0,
                       quantization: str | None = None) -> str:
    """A random-weight Marian-like model (post-norm, swish, tied embeddings) via the spec API.

    Its output is meaningless; it is used where outputs must be compared, not read (canonical
    batching tests) and, at OPUS-MT size, by bench/bench_translate.py.
    """
    from ctranslate2.specs import common_spec, transformer_spec

    rng = np.random.default_rng(seed)
    r = lambda *s: (rng.standard_normal(s) / np.sqrt(s[-1])).astype(np.float32)  # noqa: E731
    z = lambda *s: np.zeros(s, np.float32)  # noqa: E731

    def lin(spec, w):
        spec.weight, spec.bias = w, z(w.shape[0])

    def ln(spec):
        spec.gamma, spec.beta = z(d) + 1, z(d)

    spec = transformer_spec.TransformerSpec.from_config(
        layers, heads, pre_norm=False, activation=common_spec.Activation.SWISH)
    emb = r(len(vocab), d)
    spec.encoder.embeddings[0].weight = emb
    spec.decoder.embeddings.weight = emb
    for stack in (spec.encoder, spec.decoder):
        for layer in stack.layer:
            ln(layer.self_attention.layer_norm)
            lin(layer.self_attention.linear[0], r(3 * d, d))
            lin(layer.self_attention.linear[1], r(d, d))
            if stack is spec.decoder:
                ln(layer.attention.layer_norm)
                lin(layer.attention.linear[0], r(d, d))
                lin(layer.attention.linear[1], r(2 * d, d))
                lin(layer.attention.linear[2], r(d, d))
            ln(layer.ffn.layer_norm)
            lin(layer.ffn.linear_0, r(ffn, d))
            lin(layer.ffn.linear_1, r(d, ffn))
    lin(spec.decoder.projection, emb)
    spec.decoder.start_from_zero_embedding = True  # what Marian/OPUS-MT conversions set
    spec.config.add_source_eos = True
    spec.config.decoder_start_token = "</s>"
    spec.register_source_vocabulary(vocab)
    spec.register_target_vocabulary(vocab)
    spec.validate()
    spec.optimize(quantization=quantization)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    spec.save(out_dir)
    return out_dir


def write_opus_mt_dir(out_dir: str, spm_path: str, weights: dict, d: int, heads: int, ffn: int,
                      enc: int, dec: int, vocab: list[str]) -> None:
    """A directory laid out like a Helsinki-NLP OPUS-MT release (what the converter reads)."""
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    cfg = {"type": "transformer", "dim-emb": d, "enc-depth": enc, "dec-depth": dec,
           "transformer-heads": heads, "transformer-dim-ffn": ffn,
           "transformer-ffn-activation": "swish", "transformer-preprocess": "",
           "transformer-postprocess": "dan", "transformer-postprocess-emb": "d",
           "transformer-decoder-autoreg": "self-attention", "transformer-no-projection": False,
           "transformer-guided-alignment-layer": "last", "tied-embeddings-all": True}
    w = dict(weights)
    w["special:model.yml"] = np.frombuffer(yaml.safe_dump(cfg).encode() + b"\0", np.int8)
    npz = "opus.spm1k-spm1k.transformer.model1.npz.best-perplexity.npz"
    vocab_yml = "opus.spm1k-spm1k.vocab.yml"
    np.savez(os.path.join(out_dir, npz), **w)
    with open(os.path.join(out_dir, vocab_yml), "w", encoding="utf-8") as fh:
        for i, tok in enumerate(vocab):  # always double-quote; escape \ and "
            fh.write('"%s": %d\n' % (tok.replace("\\", "\\\\").replace('"', '\\"'), i))
    for name in ("source.spm", "target.spm"):
        shutil.copy(spm_path, os.path.join(out_dir, name))
    with open(os.path.join(out_dir, "decoder.yml"), "w") as fh:
        yaml.safe_dump({"models": [npz], "vocabs": [vocab_yml, vocab_yml], "beam-size": 4,
                        "normalize": 1, "relative-paths": True}, fh)


def write_fake_opus_mt(out_dir: str, work_dir: str) -> None:
    """Tokenizer + copy weights -> a fake OPUS-MT directory at out_dir."""
    import sentencepiece as spm

    spm_path = train_tokenizer(os.path.join(work_dir, "spm"))
    sp = spm.SentencePieceProcessor(model_file=spm_path)
    vocab = marian_vocab(sp)
    weights, arch = copy_marian_weights(len(vocab))
    write_opus_mt_dir(out_dir, spm_path, weights, vocab=vocab, **arch)


def build_tiny_test_model(models_dir: str, name: str = NAME, quantization: str = "int8") -> str:
    """Build and install the copy test model as <models_dir>/<name>; returns its path.

    Goes through the same conversion and metadata code as a real OPUS-MT install
    (models.install.convert_opus_mt), so the tests exercise that path too.
    """
    from models.convert import convert_opus_mt

    with tempfile.TemporaryDirectory(prefix="newsnorm-tiny-") as work:
        src = os.path.join(work, "opus-mt-tiny")
        write_fake_opus_mt(src, work)
        meta = {
            "name": name, "version": VERSION, "source_langs": list(SOURCE_LANGS),
            "target_lang": "en", "kind": "opus-mt",
            "converted_from": "fake OPUS-MT directory built by models/testmodel.py "
                              "(hand-set copy weights), converted by ctranslate2 OpusMTConverter",
            "licence": "CC0 (generated; no training data or pretrained weights)",
            "test_model": True, "copy_model": True,
            "note": "TEST MODEL: its output is NOT a translation; it copies the source text "
                    "token for token. Use it only to try and test the translate path offline.",
            "max_input_tokens": MAX_LEN - 8,
            "max_decoding_length": MAX_LEN,
        }
        return convert_opus_mt(src, os.path.join(models_dir, name), meta,
                               quantization=quantization, golden_source=GOLDEN)
