"""The translate stage: source-language paragraphs -> English with CTranslate2, checked.

Owns: which text is translated (paragraphs whose language is the article's source language, and
the title, when the route is "translate"; the supplied original of machine-translated English
when --retranslate says so), number/URL/e-mail protection and its verification, the post-MT
checks, the translation cache, canonical batching, and the log steps and counts.

Pipeline of one sentence (pure functions below, the model behind `LoadedModel`):
1. `protect`: numbers (digits of any script, French grouping and decimals, percentages,
   ordinals, years), URLs and e-mails become placeholders `ZQ<n>Z` that sentencepiece splits
   into plain Latin pieces every model copies.
2. translate (canonical batches: see `canonical_groups`), `restore` the placeholders in
   English form (`to_english`: "30 000" -> "30,000", "2,5" -> "2.5", "٣٠" -> "30"),
   `verify_numbers` (every source number is in the output with the same value) and
   `check_output` (not cut at max_decoding_length, length ratio, not a copy, no repetition
   loop, target script, no leaked tokens or placeholder shapes).
3. On failure: number/placeholder problems retry without protection; quality problems are
   re-decoded with beam 4 + no_repeat_ngram_size. If it still fails, the source sentence is kept
   and flagged with the evidence. A sentence is never output half-restored ("30,<>").
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Sequence

from transforms.numbers import find_numbers, to_english
from transforms.record import split_paragraphs
from transforms.replay import apply_edits
from transforms.segment import rebuild, sentence_spans
from transforms.stage import Stage as _Base

log = logging.getLogger("newsnorm")

PLACEHOLDER = "ZQ{}Z"
_PLACEHOLDER_RE = re.compile(r"ZQ(\d+)Z")
# Anything that looks like a placeholder that was damaged in translation ("ZQ 3 Z", "ZQ3").
_PLACEHOLDER_SHAPE = re.compile(r"Z\s*Q\s*\d+|\d+\s*Z\s*Q|ZQ\s*\d")
_URL_RE = re.compile(r"\bhttps?://[^\s<>\"«»]+[^\s<>\"«».,;:!?)\]]|\bwww\.[^\s<>\"«»]+[^\s<>\"«».,;:!?)\]]")
_EMAIL_RE = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_LEAKS = re.compile(r"⁇|<unk>|<0x[0-9A-Fa-f]{2}>|</?s>|>>\w+<<|__\w{2,3}__|\b[a-z]{3}_[A-Z][a-z]{3}\b")

# First decode: beam 4 is what OPUS-MT's own decoder.yml sets (beam-size: 4).
BEAM_SIZE = 4
# Retry decode: a repetition loop is the commonest failure users report for OPUS-MT/NLLB
# (../shared/notes/peer-issues.md §3); forbidding repeated trigrams breaks it.
RETRY_OPTIONS = {"beam_size": 4, "no_repeat_ngram_size": 3}
# Tokens per CTranslate2 batch, counted as CTranslate2 counts with batch_type="tokens" (the sum
# of the rows' lengths; our pad row included), so a canonical group is no larger than the batch
# a user's translate_batch(max_batch_size=2048, batch_type="tokens") would make. 2048 keeps the
# OPUS-MT-size working memory near the 394 MB int8 peak measured for 64x30 tokens
# (notes/ct2-tiny-models.md §5).
MAX_BATCH_TOKENS = 2048
# Output/input character-length band for a translation. OPUS-MT ar->en and fr->en outputs in
# shared/eval are 0.8-1.6x the source; outside 0.3-3.0x something was dropped or looped. Short
# sentences (< 20 chars: "Non.", dates) vary too much to judge.
RATIO_BAND = (0.3, 3.0)
RATIO_MIN_CHARS = 20
# Translation cache size per worker process (entries): ~100 B per sentence pair -> ~10 MB.
CACHE_SIZE = 100_000


@dataclass(frozen=True)
class Slot:
    placeholder: str
    source: str
    english: str
    kind: str  # "number", "url", "email"
    value: str = ""


def protect(text: str, lang: str) -> tuple[str, list[Slot]]:
    """Replace URLs, e-mails and numbers by placeholders; return the masked text and the slots.

    >>> masked, slots = protect("Le 14 juillet, 30 000 personnes (2,5 %) : https://a.fr/x.", "fr")
    >>> masked
    'Le ZQ0Z juillet, ZQ1Z personnes (ZQ2Z) : ZQ3Z.'
    >>> [(s.source, s.english) for s in slots]
    [('14', '14'), ('30 000', '30,000'), ('2,5 %', '2.5%'), ('https://a.fr/x', 'https://a.fr/x')]
    >>> protect("قتل ٣٠ شخصا", "ar")[1][0].english
    '30'
    """
    spans: list[tuple[int, int, str, str, str]] = []  # start, end, english, kind, value
    taken: list[tuple[int, int]] = []
    for regex, kind in ((_URL_RE, "url"), (_EMAIL_RE, "email")):
        for m in regex.finditer(text):
            if not any(a < m.end() and m.start() < b for a, b in taken):
                spans.append((m.start(), m.end(), m.group(0), kind, ""))
                taken.append((m.start(), m.end()))
    for m in find_numbers(text, lang):
        if m.kind == "word" or any(a < m.end and m.start < b for a, b in taken):
            continue
        spans.append((m.start, m.end, to_english(m), "number", str(m.value)))
        taken.append((m.start, m.end))
    spans.sort()
    out, slots, last = [], [], 0
    for i, (a, b, english, kind, value) in enumerate(spans):
        ph = PLACEHOLDER.format(i)
        out.append(text[last:a])
        out.append(ph)
        slots.append(Slot(ph, text[a:b], english, kind, value))
        last = b
    out.append(text[last:])
    return "".join(out), slots


def restore(translated: str, slots: Sequence[Slot]) -> tuple[str, list[str]]:
    """Put the English forms back; problems name every placeholder lost, doubled or invented.

    >>> s = [Slot("ZQ0Z", "30 000", "30,000", "number", "30000")]
    >>> restore("ZQ0Z people", s)
    ('30,000 people', [])
    >>> restore("people", s)[1]
    ['placeholder ZQ0Z (30 000) missing']
    >>> restore("ZQ0Z and ZQ7Z", s)[1]
    ['unknown placeholder ZQ7Z', 'damaged placeholder left in output']
    """
    problems: list[str] = []
    by_ph = {s.placeholder: s for s in slots}
    for s in slots:
        n = translated.count(s.placeholder)
        if n == 0:
            problems.append(f"placeholder {s.placeholder} ({s.source}) missing")
        elif n > 1:
            problems.append(f"placeholder {s.placeholder} ({s.source}) repeated {n} times")

    def put(m: re.Match) -> str:
        slot = by_ph.get(m.group(0))
        if slot is None:
            problems.append(f"unknown placeholder {m.group(0)}")
            return m.group(0)
        return slot.english

    out = _PLACEHOLDER_RE.sub(put, translated)
    if _PLACEHOLDER_SHAPE.search(out):
        problems.append("damaged placeholder left in output")
    return out, problems


def source_number_mentions(text: str, lang: str) -> list:
    """The numbers written with digits in a source sentence (number words are the repair
    stage's job: they are not protected, so they are not held to this check)."""
    return [m for m in find_numbers(text, lang) if m.kind != "word"]


def verify_numbers(source: str, lang: str, output: str, mentions: list | None = None) -> list[str]:
    """Every digit number in the source appears in the English output with the same value.

    >>> verify_numbers("30 000 morts, 2,5 %", "fr", "30,000 dead, 2.5%")
    []
    >>> verify_numbers("30 000 morts", "fr", "30 000 dead")
    []
    >>> verify_numbers("30 000 morts", "fr", "30, dead")
    ['number 30 000 (=30000) not found in the output']
    """
    if mentions is None:
        mentions = source_number_mentions(source, lang)
    if not mentions:
        return []
    found = [set(m.values) for m in find_numbers(output, "en")]
    problems = []
    for m in mentions:
        hit = next((i for i, vals in enumerate(found) if set(m.values) & vals), None)
        if hit is None and m.text in output:  # kept in its source form ("30 000"): same value
            continue
        if hit is None:
            problems.append(f"number {m.text} (={m.value}) not found in the output")
        else:
            found.pop(hit)
    return problems


def _latin_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 1.0
    return sum(1 for c in letters if c.isascii() or "\u00c0" <= c <= "\u024f") / len(letters)


def _repetition_loop(tokens: Sequence[str], max_n: int = 4, repeats: int = 4) -> str:
    """An n-gram (n <= 4) repeated `repeats` times in a row, or "" (4x: a list "1, 2, 3, 4"
    legitimately repeats "," 3 times between distinct items, never one n-gram 4x in a row).

    >>> _repetition_loop("the war the war the war the war".split())
    'the war'
    >>> _repetition_loop("a b c d e".split())
    ''
    """
    for n in range(1, max_n + 1):
        for i in range(0, len(tokens) - n * repeats + 1):
            gram = tokens[i:i + n]
            if all(tokens[i + k * n:i + (k + 1) * n] == gram for k in range(1, repeats)):
                return " ".join(gram)
    return ""


def check_output(source: str, output: str, hyp_len: int, max_decoding_length: int,
                 copy_model: bool) -> list[str]:
    """Post-MT checks on one sentence; [] when it passes.

    >>> check_output("Le ministre a parlé hier soir.", "The minister spoke last night.", 6, 256, False)
    []
    >>> check_output("Le ministre a parlé hier soir.", "Le ministre a parlé hier soir.", 6, 256, False)
    ['output is a copy of the source']
    >>> check_output("Le ministre a parlé hier soir à Paris.", "The ⁇ minister", 3, 256, False)
    ['leaked token ⁇']
    >>> check_output("Le ministre a parlé hier soir.", "War war war war war war war", 256, 256, True)
    ['hypothesis cut at max_decoding_length=256', "repetition loop 'war'"]
    """
    problems = []
    if hyp_len >= max_decoding_length:
        problems.append(f"hypothesis cut at max_decoding_length={max_decoding_length}")
    leak = _LEAKS.search(output)
    if leak and not _LEAKS.search(source):
        problems.append(f"leaked token {leak.group(0)}")
    if len(source) >= RATIO_MIN_CHARS:
        ratio = len(output) / len(source)
        if not RATIO_BAND[0] <= ratio <= RATIO_BAND[1]:
            problems.append(f"length ratio {ratio:.2f} outside {RATIO_BAND[0]}-{RATIO_BAND[1]}")
    loop = _repetition_loop(output.split())
    if loop and not _repetition_loop(source.split()):
        problems.append(f"repetition loop {loop!r}")
    if not copy_model:
        if output.strip() == source.strip() and any(c.isalpha() for c in source):
            problems.append("output is a copy of the source")
        if _latin_share(output) < 0.5:
            problems.append("output is not in Latin script")
    return problems


def split_long(pieces: list[str], limit: int) -> list[list[str]]:
    """Cut a token list longer than `limit` into chunks, at word starts (▁) when possible.

    >>> split_long(["▁a", "b", "▁c", "▁d", "e"], 3)
    [['▁a', 'b', '▁c'], ['▁d', 'e']]
    >>> split_long(["▁a", "b", "c", "d"], 2)
    [['▁a', 'b'], ['c', 'd']]
    """
    chunks: list[list[str]] = []
    rest = list(pieces)
    while len(rest) > limit:
        cut = max((i for i in range(1, limit + 1) if rest[i].startswith("▁")), default=limit)
        chunks.append(rest[:cut])
        rest = rest[cut:]
    if rest:
        chunks.append(rest)
    return chunks


# Width of a canonical length bucket, in source tokens. Each bucket is decoded as separate
# CTranslate2 batches, and a batch has a fixed cost (the decoder weights and the 59514-wide output
# projection are streamed once per step whatever the row count): on the OPUS-MT-size model, int8,
# 1 thread, a 4-row batch costs 58 ms/row and a 32-row one 29 ms/row, while a padded source token
# costs only ~0.13 ms/row (measured on bench/bench_translate.py's model and sentences; the
# figures are in docs/translation.md). So fewer, fuller batches beat tighter padding: on its 256
# sentences (36-95 tokens) raw on canonical groups cost +7.4% / +9.4% (best / median) over CT2's
# own batching at width 8 (14 groups) and +4.0% / +0.2% at width 16 (10 groups); 96 sentences:
# +7.9% / +6.0% vs +3.0% / -1.9%. Width 1 (exact lengths) cost 3.3x (48 sentences).
BUCKET_TOKENS = 16


def bucket_top(length: int, width: int = BUCKET_TOKENS) -> int:
    """The padded length of a sentence's bucket: a function of its own length only.

    >>> bucket_top(1), bucket_top(16), bucket_top(17), bucket_top(9, width=8)
    (16, 16, 32, 16)
    """
    return -(-max(1, length) // width) * width


def _pad_row(group: list[tuple[str, ...]], top: int) -> tuple[str, ...]:
    """A dummy row of exactly `top` tokens (the group's first member repeated)."""
    return tuple((list(group[0]) * top)[:top])


def split_bucket(items: Sequence[tuple[str, ...]], top: int, max_tokens: int
                 ) -> list[list[tuple[str, ...]]]:
    """One bucket's distinct sequences in as few groups as fit `max_tokens`, each padded to `top`.

    A group's size is counted as CTranslate2 counts a batch with batch_type="tokens": the sum of
    its rows' lengths (pad row included); a lone sequence is a group whatever its length. The
    sequences are dealt round-robin, longest first, into k groups (the smallest k whose groups
    fit), so the groups have near-equal sizes (no tail group of 3 rows paying a whole batch's
    fixed cost) and, when the bucket has k members of the top length, every group gets one and
    needs no pad row. A group whose longest member is shorter than `top` gets a pad row (`_pad_row`).

    >>> [[len(u) for u in g] for g in split_bucket([("a",) * n for n in (5, 6, 7, 8)], 8, 64)]
    [[5, 6, 7, 8]]
    >>> [[len(u) for u in g] for g in split_bucket([("a",) * n for n in (5, 6, 7, 8)], 8, 20)]
    [[6, 8], [5, 7, 8]]
    >>> [[len(u) for u in g] for g in split_bucket([tuple("ab"), tuple("cd")], 2, 1)]
    [[2], [2]]
    """
    items = sorted(set(items), key=lambda u: (-len(u), u))
    budget = max(1, max_tokens)
    k = max(1, min(len(items), -(-sum(map(len, items)) // budget)))
    while True:
        groups = [sorted(items[j::k], key=lambda u: (len(u), u)) for j in range(k)]
        groups = [g + [_pad_row(g, top)] if len(g[-1]) < top else g for g in groups]
        if k == len(items) or all(sum(map(len, g)) <= budget for g in groups):
            return groups
        k += 1


def canonical_groups(units: Sequence[tuple[str, ...]], max_tokens: int,
                     width: int = BUCKET_TOKENS) -> list[list[tuple[str, ...]]]:
    """Distinct token sequences in canonical batches: grouped by length bucket, each bucket split
    into groups of at most `max_tokens` (`split_bucket`), and every group padded to its bucket's
    top length by a *pad row* (a dummy sequence of exactly that length, whose output is thrown
    away) unless a real member has it. Each group must be decoded as one batch.

    CTranslate2 pads a batch to its longest member and padding changes float sums (CTranslate2
    #693), so without the pad row a sentence's output could depend on its neighbours. With it,
    each sentence is always computed at the padded length of its own bucket, whatever the drop
    order, batch size or worker count. What remains is the batch row count, which does not
    change the rows' results (tests/test_translate.py checks this on a random-weight model).

    >>> canonical_groups([("b", "c"), ("a",), ("a", "c"), ("b", "c")], 64, width=2)
    [[('a',), ('a', 'c'), ('b', 'c')]]
    >>> canonical_groups([("a",), ("b",), ("c",)], 5, width=2)
    [[('a',), ('b',), ('c',), ('a', 'a')]]
    >>> canonical_groups([("a",), ("b",), ("c",)], 4, width=2)
    [[('a',), ('c',), ('a', 'a')], [('b',), ('b', 'b')]]
    """
    by_bucket: dict[int, set] = {}
    for u in units:
        by_bucket.setdefault(bucket_top(len(u), width), set()).add(tuple(u))
    return [g for top in sorted(by_bucket) for g in split_bucket(by_bucket[top], top, max_tokens)]


@dataclass
class SentenceResult:
    text: str
    path: str  # "translated", "retried", "kept_source"
    problems: list[str] = field(default_factory=list)
    numbers: list[Slot] = field(default_factory=list)


class SentenceTranslator:
    """Translates distinct sentences with one model: cache, canonical batches, checks, retries."""

    def __init__(self, model, beam_size: int = BEAM_SIZE, max_batch_tokens: int = MAX_BATCH_TOKENS,
                 cache_size: int = CACHE_SIZE, decode_options: dict | None = None) -> None:
        self.model = model
        # First-pass CTranslate2 options (the bench adds fixed output lengths here).
        self.decode_options = {"beam_size": beam_size, **(decode_options or {})}
        self.max_batch_tokens = max_batch_tokens
        self.cache: OrderedDict = OrderedDict()
        self.cache_size = cache_size
        self.lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def _decode_units(self, units: list[tuple[str, ...]], lang: str, options: dict) -> dict:
        out: dict[tuple[str, ...], tuple[list[str], float]] = {}
        wanted = set(units)
        groups = canonical_groups(units, self.max_batch_tokens)
        # max_batch_size=0: each group is exactly one CTranslate2 batch (a re-split would
        # change the padded length); the groups were sized to max_batch_tokens already.
        decoded = self.model.translate_groups(groups, lang, max_batch_size=0, **options)
        for group, results in zip(groups, decoded):
            out.update((u, r) for u, r in zip(group, results) if u in wanted)
        return out

    def _attempt(self, texts: list[str], lang: str, options: dict, protected: bool
                 ) -> dict[str, SentenceResult]:
        prepared = {}
        for t in texts:
            masked, slots = protect(t, lang) if protected else (t, [])
            chunks = [tuple(c) for c in split_long(self.model.encode(masked),
                                                   self.model.max_input_tokens)]
            prepared[t] = (slots, chunks, source_number_mentions(t, lang))
        units = [c for _, chunks, _ in prepared.values() for c in chunks]
        decoded = self._decode_units(units, lang, options)
        results = {}
        for t, (slots, chunks, mentions) in prepared.items():
            hyps = [decoded[c][0] for c in chunks]
            raw = " ".join(self.model.decode(h) for h in hyps)
            problems = []
            out = raw
            if protected:
                out, problems = restore(raw, slots)
            problems += verify_numbers(t, lang, out, mentions)
            problems += check_output(t, out, max(len(h) for h in hyps) if hyps else 0,
                                     self.model.max_decoding_length, self.model.copy_model)
            results[t] = SentenceResult(out, "translated", problems,
                                        [s for s in slots if s.kind == "number"])
        return results

    def translate(self, sentences: Sequence[str], lang: str) -> tuple[dict[str, SentenceResult], set]:
        """{sentence: result} for every distinct sentence, and the set served from the cache."""
        todo, done, cached = [], {}, set()
        with self.lock:
            for s in dict.fromkeys(sentences):
                key = (self.model.key, lang, s)
                if key in self.cache:
                    self.cache.move_to_end(key)
                    done[s] = self.cache[key]
                    cached.add(s)
                    self.hits += 1
                else:
                    todo.append(s)
                    self.misses += 1
        if todo:
            first = self._attempt(todo, lang, dict(self.decode_options), protected=True)
            failed = [s for s, r in first.items() if r.problems]
            number_failed = [s for s in failed if any("placeholder" in p or "number" in p
                                                      for p in first[s].problems)]
            other_failed = [s for s in failed if s not in number_failed]
            retried = {}
            if number_failed:
                retried.update(self._attempt(number_failed, lang, dict(self.decode_options),
                                             protected=False))
            if other_failed:
                retried.update(self._attempt(other_failed, lang,
                                             {**self.decode_options, **RETRY_OPTIONS},
                                             protected=True))
            for s, r in first.items():
                if not r.problems:
                    done[s] = r
                elif not retried[s].problems:
                    done[s] = SentenceResult(retried[s].text, "retried", [], retried[s].numbers
                                             or r.numbers)
                else:
                    done[s] = SentenceResult(s, "kept_source", r.problems + [
                        "retry: " + p for p in retried[s].problems], r.numbers)
            with self.lock:
                for s in todo:
                    self.cache[(self.model.key, lang, s)] = done[s]
                while len(self.cache) > self.cache_size:
                    self.cache.popitem(last=False)
        return done, cached


# Translators shared by every stage instance of a worker process, one per loaded model.
_TRANSLATORS: dict[str, SentenceTranslator] = {}
_TLOCK = threading.Lock()


def shared_translator(model) -> SentenceTranslator:
    with _TLOCK:
        tr = _TRANSLATORS.get(model.path + "|" + model.key)
        if tr is None or tr.model is not model:
            tr = SentenceTranslator(model)
            _TRANSLATORS[model.path + "|" + model.key] = tr
        return tr


def _empty_counts() -> dict:
    return {"sentences": 0, "translated": 0, "retried": 0, "kept_source": 0}


@dataclass
class _Job:
    """The texts of one article to translate: per field, the paragraph indexes and texts."""
    lang: str
    kind: str  # "translation" or "retranslation"
    title: str | None
    paragraphs: dict[int, str]


def _translate_text(text: str, results: dict, counts: dict, kept: list[str]) -> str:
    """Rebuild one paragraph (or title) from its translated sentences, counting their paths.

    Cache hits are not counted per article: they depend on what was translated before, and an
    article must not depend on its neighbours (they are in the worker's log at teardown)."""
    spans = sentence_spans(text)
    sents = [text[a:b] for a, b in spans]
    outs = []
    for s in sents:
        r = results[s]
        counts["sentences"] += 1
        counts[r.path] += 1
        if r.path == "kept_source":
            kept.append(f"{s[:80]!r}: {'; '.join(r.problems)[:300]}")
        outs.append(r.text)
    return rebuild(text, spans, outs)


class TranslateStage(_Base):
    name = "translate"
    batched = True
    # Articles per process_batch: many articles share one canonical batch, so equal-length
    # sentences fill CTranslate2 batches; 32 bounds memory for long articles.
    batch_kwargs = {"min_batch_size": 1, "max_batch_size": 32}

    def setup(self) -> None:
        from models.loader import beam_workers, threads_for, usable_cpus

        self.models_dir = getattr(self.config, "models_dir", "") or ""
        cpus, why = usable_cpus()
        workers = beam_workers(self.config)
        requested = int(getattr(self.config, "translate_threads", 0) or 0)
        self.threads = threads_for(requested, workers, cpus)
        self.device = getattr(self.config, "device", "cpu") or "cpu"
        self.compute_type = getattr(self.config, "compute_type", "auto") or "auto"
        self.retranslate = getattr(self.config, "retranslate", "auto") or "auto"
        from models.registry import installed_models

        self.loaded = {}
        self.cache_hits = self.cache_misses = 0
        self.models = installed_models(self.models_dir)  # read once per worker, not per article
        to_english = [m for m in self.models.values() if m.get("target_lang", "en") == "en"]
        if to_english:
            log.info("translate: %d CPU thread(s) (%s; usable CPUs %s, %d Beam worker(s))",
                     self.threads, "requested" if requested else "from usable CPUs", why, workers)
        for meta in to_english:
            self._model(meta)  # load and verify now: a broken model fails the job at start

    def _model(self, meta: dict):
        from models.loader import load_model

        path = meta["path"]
        if path not in self.loaded:
            self.loaded[path] = load_model(path, self.device, self.compute_type, self.threads)
        return self.loaded[path]

    def _job(self, article: dict) -> _Job | None:
        from models.registry import find_model

        route = article.get("route")
        if route == "translate":
            lang = article.get("source_lang") or ""
            langs = article.get("paragraph_langs") or []
            paragraphs = split_paragraphs(article["body"])
            chosen = {i: p for i, p in enumerate(paragraphs)
                      if i < len(langs) and (langs[i] or {}).get("lang") == lang}
            return _Job(lang, "translation", article.get("title") or None, chosen)
        original = article.get("original_body") or ""
        olang = article.get("original_lang") or ""
        wants = (self.retranslate == "always" and route in ("repair", "english")) or (
            self.retranslate == "auto" and route == "repair")
        meta = find_model(self.models, olang) if olang else None
        if not (wants and original and olang != "en" and meta):
            return None
        if meta.get("test_model"):
            # A test model's "translation" is a copy of the original: it never replaces a
            # real supplied translation.
            article.setdefault("flags", []).append("retranslate_skipped_test_model")
            return None
        orig_paras = split_paragraphs(original)
        if len(orig_paras) != len(split_paragraphs(article["body"])):
            article.setdefault("flags", []).append("retranslate_skipped_paragraph_count_differs")
            return None
        return _Job(olang, "retranslation", article.get("original_title") or None,
                    dict(enumerate(orig_paras)))

    def process_batch(self, articles: Sequence[dict]) -> list:
        from models.registry import find_model

        jobs = [self._job(a) for a in articles]
        by_model: dict[tuple, list[str]] = {}
        metas = {}
        for job in jobs:
            if job is None:
                continue
            meta = find_model(self.models, job.lang)
            if meta is None:
                continue
            metas[job.lang] = meta
            texts = list(job.paragraphs.values()) + ([job.title] if job.title else [])
            sents = [t[a:b] for t in texts for a, b in sentence_spans(t)]
            by_model.setdefault((meta["path"], job.lang), []).extend(sents)
        results: dict[tuple, dict] = {}
        for (path, lang), sents in by_model.items():
            tr = shared_translator(self._model(metas[lang]))
            results[(path, lang)], cached = tr.translate(sents, lang)
            self.cache_hits += len(cached)
            self.cache_misses += len(results[(path, lang)]) - len(cached)
        out = []
        for article, job in zip(articles, jobs):
            if job is None:
                out.append(article)
                continue
            meta = metas.get(job.lang)
            if meta is None:
                article["translation"] = {"status": "no_model", "model": "", "model_version": "",
                                          "reason": f"no installed model for {job.lang}->en"}
                out.append(article)
                continue
            out.append(self._apply(article, job, self._model(meta), results[(meta["path"], job.lang)]))
        return out

    def stats(self) -> dict:
        """Cumulative counts of this stage instance, reported as Beam counters (distinct
        sentences per batch served from the cache, or sent to the model)."""
        return {"cachehits": self.cache_hits, "cachemisses": self.cache_misses}

    def process(self, article: dict) -> dict:
        result = self.process_batch([article])[0]
        if isinstance(result, Exception):
            raise result
        return result

    def _apply(self, article: dict, job: _Job, model, results: dict) -> dict:
        counts, kept = _empty_counts(), []
        evidence = f"{model.name} {model.version}"
        steps = []
        numbers = []
        paragraphs = split_paragraphs(article["body"])
        edits, offset = [], 0
        for i, para in enumerate(paragraphs):
            if i in job.paragraphs:
                src = job.paragraphs[i]
                new = _translate_text(src, results, counts, kept)
                edits.append((offset, offset + len(para), new))
                numbers += [{"paragraph": i, "text": m.text, "value": str(m.value),
                             "field": "body"} for m in source_number_mentions(src, job.lang)]
            offset += len(para) + 2
        body, body_steps = apply_edits(self.name, job.kind, job.kind, "body", article["body"],
                                       edits, evidence=evidence, method="mt")
        steps += body_steps
        if job.title:
            new_title = _translate_text(job.title, results, counts, kept)
            numbers += [{"paragraph": 0, "text": m.text, "value": str(m.value), "field": "title"}
                        for m in source_number_mentions(job.title, job.lang)]
            old = article.get("title") or ""
            title, title_steps = apply_edits(self.name, job.kind, job.kind, "title", old,
                                             [(0, len(old), new_title)], evidence=evidence,
                                             method="mt")
            article["title"] = title
            steps += title_steps
        article["body"] = body
        article.setdefault("repairs", []).extend(steps)
        article["source_numbers"] = numbers
        flags = article.setdefault("flags", [])
        if kept:
            flags.append("translation_sentences_kept_in_source")
            article["translation_problems"] = kept
        if job.kind == "retranslation":
            flags.append("supplied_translation_replaced")
        done = counts["translated"] + counts["retried"]
        reason = (f"{counts['sentences']} sentences: {counts['translated']} translated, "
                  f"{counts['retried']} after a retry, {counts['kept_source']} kept in "
                  f"{job.lang} (flagged)")
        if job.kind == "retranslation":
            reason = f"supplied machine translation replaced by ours from original_{job.lang}; " + reason
        if model.copy_model:
            reason += "; TEST MODEL: output copies the source, not a translation"
        article["translation"] = {"status": "translated" if done or not counts["sentences"]
                                  else "failed", "model": model.name,
                                  "model_version": model.version, "reason": reason,
                                  "counts": counts}
        if job.kind == "retranslation":
            article["status"] = ""
        if article["translation"]["status"] == "failed":
            article["status"] = "translation_failed"
        log.debug("translate %s: %s", article.get("id"), reason)
        return article
