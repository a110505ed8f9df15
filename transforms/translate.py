"""The translate stage: source-language paragraphs -> English with CTranslate2, checked.

Owns: which text is translated (paragraphs whose language is the article's source language, and
the title, when the route is "translate"; the supplied original of machine-translated English
when --retranslate says so, never by a test model), and the log steps and counts. The parts
below it: transforms/mt_protect.py (protection and checks of one sentence),
transforms/mt_batching.py (canonical batches), transforms/mt_sentences.py (cache, decode,
retries).

Pipeline of one sentence (the model behind `LoadedModel`):
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
from dataclasses import dataclass, field
from typing import Sequence

# The sentence-level parts, re-exported for the callers that know them from here.
from transforms.mt_batching import BUCKET_TOKENS, bucket_top, canonical_groups  # noqa: F401
from transforms.mt_protect import source_number_mentions, verify_numbers  # noqa: F401
from transforms.mt_sentences import (SentenceTranslator, _TRANSLATORS,  # noqa: F401
                                     shared_translator)
from transforms.record import paragraph_spans, split_paragraphs
from transforms.replay import apply_edits
from transforms.segment import rebuild, sentence_spans
from transforms.stage import Stage as _Base, TranslateConfig

log = logging.getLogger("newsnorm")


def _empty_counts() -> dict:
    return {"sentences": 0, "translated": 0, "retried": 0, "kept_source": 0}


@dataclass
class _Job:
    """The texts of one article to translate: per field, the paragraph indexes and texts."""
    lang: str
    kind: str  # "translation" or "retranslation"
    title: str | None
    paragraphs: dict[int, str]
    # For a mixed paragraph: the indexes (in sentence_spans order) of the sentences in `lang`;
    # the other sentences are kept as they are. Absent: every sentence.
    sentences: dict[int, set[int]] = field(default_factory=dict)

    def texts(self) -> list[str]:
        """The sentences to translate, in order."""
        out = []
        for i, p in self.paragraphs.items():
            only = self.sentences.get(i)
            out += [p[a:b] for j, (a, b) in enumerate(sentence_spans(p))
                    if only is None or j in only]
        if self.title:
            out += [self.title[a:b] for a, b in sentence_spans(self.title)]
        return out


def mixed_sentences(paragraphs: list[str], langs: list, lang: str
                    ) -> tuple[dict[int, str], dict[int, set[int]]]:
    """The mixed paragraphs holding sentences in `lang`, and those sentences' indexes
    (transforms/language.py: `sentences[j]` is the language of `sentence_spans(p)[j]`).

    >>> mixed_sentences(["He said. قال الرئيس.", "Fine."],
    ...                 [{"lang": "mixed", "sentences": ["en", "ar"]}, {"lang": "en"}], "ar")
    ({0: 'He said. قال الرئيس.'}, {0: {1}})
    """
    chosen, only = {}, {}
    for i, p in enumerate(paragraphs):
        info = langs[i] if i < len(langs) and isinstance(langs[i], dict) else {}
        picks = {j for j, sl in enumerate(info.get("sentences") or []) if sl == lang}
        if info.get("lang") == "mixed" and picks:
            chosen[i], only[i] = p, picks
    return chosen, only


def _translate_text(text: str, results: dict, counts: dict, kept: list[str],
                    only: set[int] | None = None) -> str:
    """Rebuild one paragraph (or title) from its translated sentences, counting their paths.

    Cache hits are not counted per article: they depend on what was translated before, and an
    article must not depend on its neighbours (they are in the worker's log at teardown)."""
    spans = sentence_spans(text)
    sents = [text[a:b] for a, b in spans]
    outs = []
    for j, s in enumerate(sents):
        if only is not None and j not in only:
            outs.append(s)  # another language in a mixed paragraph: left as it is
            continue
        r = results[s]
        counts["sentences"] += 1
        counts[r.path] += 1
        if r.path == "kept_source":
            kept.append(f"{s[:80]!r}: {'; '.join(r.problems)[:300]}")
        outs.append(r.text)
    return rebuild(text, spans, outs)


class TranslateStage(_Base):
    name = "translate"
    config_type = TranslateConfig
    batched = True
    # Articles per process_batch: many articles share one canonical batch, so equal-length
    # sentences fill CTranslate2 batches; 32 bounds memory for long articles.
    batch_kwargs = {"min_batch_size": 1, "max_batch_size": 32}

    def setup(self) -> None:
        from models.loader import beam_workers, threads_for, usable_cpus

        self.models_dir = self.config.models_dir
        cpus, why = usable_cpus()
        workers = beam_workers()
        requested = self.config.translate_threads
        self.threads = threads_for(requested, workers, cpus)
        self.device = self.config.device
        self.compute_type = self.config.compute_type
        self.retranslate = self.config.retranslate
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
        langs = article.get("paragraph_langs") or []
        if route == "translate":
            lang = article.get("source_lang") or ""
            paragraphs = split_paragraphs(article["body"])
            chosen = {i: p for i, p in enumerate(paragraphs)
                      if i < len(langs) and (langs[i] or {}).get("lang") == lang}
            mixed, only = mixed_sentences(paragraphs, langs, lang)
            # A title the language stage found in another language is left as it is.
            title_lang = (article.get("title_lang") or {}).get("lang", lang)
            title = article.get("title") if title_lang == lang else None
            return _Job(lang, "translation", title or None, {**chosen, **mixed}, only)
        if route == "english":
            # An English article quoting another language inside a paragraph (a `mixed`
            # paragraph): the quoted sentences are translated when a model exists, the English
            # is not. One language per article: the one with the most such sentences.
            paragraphs = split_paragraphs(article["body"])
            counts: dict[str, int] = {}
            for info in langs:
                if isinstance(info, dict) and info.get("lang") == "mixed":
                    for sl in info.get("sentences") or []:
                        if sl not in ("en", "und", "mixed"):
                            counts[sl] = counts.get(sl, 0) + 1
            for qlang in sorted(counts, key=lambda k: (-counts[k], k)):
                if find_model(self.models, qlang):
                    mixed, only = mixed_sentences(paragraphs, langs, qlang)
                    return _Job(qlang, "translation", None, mixed, only)
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
            by_model.setdefault((meta["path"], job.lang), []).extend(job.texts())
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
        edits = []
        for i, (start, end) in enumerate(paragraph_spans(article["body"])):
            if i in job.paragraphs:
                src = job.paragraphs[i]
                new = _translate_text(src, results, counts, kept, job.sentences.get(i))
                edits.append((start, end, new))
                numbers += [{"paragraph": i, "text": m.text, "value": str(m.value),
                             "field": "body"} for m in source_number_mentions(src, job.lang)]
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
