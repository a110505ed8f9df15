"""Translating distinct sentences with one model: cache, canonical batches, checks, retries.

Owns: `SentenceTranslator` (per model and worker process, shared by the stage instances of
that process through `shared_translator`), its cache, the first decode and the retries, and
the result of each sentence (translated, retried, or kept in the source with the evidence).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Sequence

from transforms.mt_batching import MAX_BATCH_TOKENS, canonical_groups
from transforms.mt_protect import (Slot, check_output, protect, restore, source_number_mentions,
                                   split_long, verify_numbers)

# First decode: beam 4 is what OPUS-MT's own decoder.yml sets (beam-size: 4).
BEAM_SIZE = 4

# Retry decode: a repetition loop is the commonest failure users report for OPUS-MT/NLLB
# forbidding repeated trigrams breaks it.
RETRY_OPTIONS = {"beam_size": 4, "no_repeat_ngram_size": 3}

# Translation cache size per worker process (entries): ~100 B per sentence pair -> ~10 MB.
CACHE_SIZE = 100_000

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
        groups = canonical_groups(units, self.max_batch_tokens,
                                  max_len=self.model.max_input_tokens)
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
