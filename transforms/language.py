"""The language stage: per-paragraph and whole-article language in context, then routing.

Owns: `source_lang` (+ confidence, `source_lang_by`, `lang_evidence`), `paragraph_langs` (one
{lang, confidence, reason, by[, sentences]} per paragraph), `title_lang`, and the route.

What the drop knows decides short text. A detector alone is weak on two to four words (about
80% right on word pairs); a news article is not: its long paragraphs, its feed's declared
language, its source's other articles in this drop and the declared `lang` field are context.
Order of the context language (the first that applies decides; `source_lang_by` says which):

1. "text":     the article's own long segments (>= SHORT_LETTERS letters), confidence-weighted;
2. "declared": the record's declared `lang` (an entry's own language);
3. "feed":     the feed channel's declared language (`provenance.feed_lang`);
4. "source":   the language distribution of the article's source in this drop (a Beam combine
               per source, given to this stage as a side input: pipeline/source_language.py);
5. "short":    the short segments' own votes, when nothing else is known.

A prior applies only if the script of the article's text can write that language. Between two
close languages (id/ms, hr/bs, sr/mk: transforms/close_languages.py) the whole text decides:
when it holds more marker words of the close partner than of the language found from its text,
source or short votes, the article is in the partner ("markers" in `source_lang_by`); one
paragraph is too little for such words, the article usually has some. Then each
segment: a long one keeps its own detection unless that is weak (< PRIOR_OVERRIDE_BELOW); a
short one (title, heading, caption, two-word feed body) takes the context language unless its
own evidence is strong (another script or alphabet, or a detector answer >= STRONG_OWN), and
then it is "mixed" (its own language in `sentences`), never flipped to its own language. A
mixed paragraph is split into sentences (transforms/segment.py), each decided the same way;
`sentences[j]` is the language of `sentence_spans(paragraph)[j]`, so the translate stage
translates the sentences in the language it translates and leaves the rest.

Routes: "english" (native English), "repair" (English that looks machine-translated),
"translate" (a language with an installed model), "no_model" (status `no_model_for_<lang>`),
"und" (status `language_undetected`).
"""

from __future__ import annotations

from transforms.langid import (DEFAULT_MIN_CONFIDENCE as _LANGID_MIN_CONFIDENCE,
                               MIXED, PRIOR_OVERRIDE_BELOW, SUPPORTED, UND, Detector,
                               normalise_declared, strip_noise, writable_by)
from transforms.close_languages import PARTNER, marker_choice
from transforms.record import split_paragraphs
from transforms.segment import sentence_spans
from transforms.stage import LanguageConfig, Stage as _Base

# Below this the detector answers "und" on one word (the value and its measurement:
# transforms/langid.py).
DEFAULT_MIN_CONFIDENCE = _LANGID_MIN_CONFIDENCE
# A segment with fewer letters is short. Dev sentences have 20-300 letters (5% under 40), 2-4-word
# headings 8-35. Context eval, tuning part, short segments right without ms/bs (long ones):
# 30 -> 98.6% (99.1), 40 -> 99.6% (99.1), 60 -> 99.8% (99.4). 60 would also hand every sentence
# under 60 letters (a one-line quote in another language) to the context, which that eval
# cannot see (all its segments share the article's language); 40 is a sentence's floor.
SHORT_LETTERS = 40
# A short segment's own answer is strong evidence of another language from this confidence up:
# py3langid "sure" (p >= 0.95 -> 0.975), right on 241 of 241 dev word pairs of the tuning part
# where it was that sure. On the context eval (tuning part) 0.975 gives the same 99.6% as never
# letting a same-script short segment differ (0.9 -> 99.5%), so it costs nothing there.
STRONG_OWN = 0.975
# The source prior needs this share of the source's votes in one language (and at least
# SOURCE_MIN_VOTES votes): a source that publishes in two languages gives no prior.
SOURCE_MIN_SHARE = 0.6
SOURCE_MIN_VOTES = 2
# Confidence given to a segment decided by a declared language (feed or entry): a careless
# feed can be wrong, so never more than a weak detection that agrees.
DECLARED_CONFIDENCE = PRIOR_OVERRIDE_BELOW


def letters(text: str) -> int:
    """Letters that carry language signal (URLs, numbers and the like set aside).

    >>> letters("Le 14 juillet https://x.fr")
    9
    """
    return sum(ch.isalpha() for ch in strip_noise(text))


def article_language(paragraph_results: list[dict], weights: list[int]) -> tuple[str, float]:
    """The language with the most confidence-weighted text (und/mixed do not vote), and as its
    confidence the confidence-weighted share of ALL the text it holds.

    >>> article_language([{"lang": "fr", "confidence": .9}, {"lang": "en", "confidence": .9},
    ...                   {"lang": "fr", "confidence": .8}], [300, 80, 200])
    ('fr', 0.7414)
    >>> article_language([{"lang": "und", "confidence": 0}], [3])
    ('und', 0.0)
    """
    votes: dict[str, float] = {}
    total = 0.0
    for result, weight in zip(paragraph_results, weights):
        total += weight
        if result["lang"] in (UND, MIXED):
            continue
        votes[result["lang"]] = votes.get(result["lang"], 0.0) + weight * result["confidence"]
    if not votes:
        return UND, 0.0
    best = max(sorted(votes), key=lambda k: votes[k])
    return best, round(votes[best] / total, 4) if total else 0.0


def guess_of(own: dict) -> str:
    """The detector's best guess, also when it answered "und" for low confidence.

    >>> guess_of({"lang": "und", "reason": "low_confidence:fr"}), guess_of({"lang": "en"})
    ('fr', 'en')
    """
    if own["lang"] == UND and own.get("reason", "").startswith("low_confidence:"):
        return own["reason"].split(":", 1)[1]
    return own["lang"]


def source_prior(dist: dict | None) -> tuple[str, float, str]:
    """(lang, share, evidence) from a source's language distribution in this drop, or ("", 0, "").

    >>> source_prior({"langs": {"fr": 5, "en": 1}, "votes": 6})
    ('fr', 0.8333, 'source:fr 0.83 of 6 votes')
    >>> source_prior({"langs": {"fr": 1, "en": 1}, "votes": 2})[0]
    ''
    """
    if not dist or not dist.get("langs"):
        return "", 0.0, ""
    votes = float(dist.get("votes") or sum(dist["langs"].values()))
    lang = max(sorted(dist["langs"]), key=lambda k: dist["langs"][k])
    share = dist["langs"][lang] / votes if votes else 0.0
    if votes < SOURCE_MIN_VOTES or share < SOURCE_MIN_SHARE:
        return "", 0.0, ""
    return lang, round(share, 4), f"source:{lang} {share:.2f} of {votes:g} votes"


def context_language(long_results: list[dict], long_weights: list[int], writable: tuple,
                     declared: str, feed_lang: str, source: dict | None,
                     short_results: list[dict], short_weights: list[int]
                     ) -> tuple[str, float, str, list[str]]:
    """(lang, confidence, by, evidence) of the article: see the module docstring for the order.

    >>> context_language([], [], ("en", "fr"), "", "fr", None,
    ...                  [{"lang": "en", "confidence": .4}], [12])
    ('fr', 0.6, 'feed', ['feed:fr'])
    >>> context_language([{"lang": "fr", "confidence": .9}], [200], ("en", "fr"), "en", "", None,
    ...                  [], [])[:3]
    ('fr', 0.9, 'text')
    """
    evidence = []
    lang, conf = article_language(long_results, long_weights)
    if lang != UND:
        evidence.append(f"text:{lang} {conf:.2f}")
    declared = normalise_declared(declared)
    feed_lang = normalise_declared(feed_lang)
    if declared and declared != feed_lang:
        evidence.append(f"declared:{declared}")
    if feed_lang:
        evidence.append(f"feed:{feed_lang}")
    s_lang, s_share, s_ev = source_prior(source)
    if s_ev:
        evidence.append(s_ev)
    if lang != UND:
        return lang, conf, "text", evidence
    # A declared `lang` equal to the channel's is the channel's (feeds.py copies it).
    for prior, by, pconf in ((declared if declared != feed_lang else "", "declared",
                              DECLARED_CONFIDENCE),
                             (feed_lang, "feed", DECLARED_CONFIDENCE),
                             (s_lang, "source", s_share)):
        if prior and prior in SUPPORTED and prior in writable:
            return prior, pconf, by, evidence
    lang, conf = article_language([{**r, "lang": guess_of(r)} for r in short_results],
                                  short_weights)
    if lang != UND:
        evidence.append(f"short:{lang} {conf:.2f}")
        return lang, conf, "short", evidence
    return UND, 0.0, "", evidence


def decide_segment(own: dict, n_letters: int, writable: tuple, lang: str, conf: float,
                   by: str) -> dict:
    """One segment's language given its own detection and the article's context language.

    >>> ctx = ("fr", 0.9, "text")
    >>> decide_segment({"lang": "en", "confidence": .55, "reason": "agree"}, 12, ("en", "fr"), *ctx)
    {'lang': 'fr', 'confidence': 0.9, 'reason': 'text:fr over own en 0.55', 'by': 'text'}
    >>> decide_segment({"lang": "ar", "confidence": .95, "reason": "letters:ar"}, 12, ("ar",),
    ...                *ctx)["lang"]
    'mixed'
    >>> decide_segment({"lang": "en", "confidence": .99, "reason": "sure"}, 200, ("en", "fr"),
    ...                *ctx)["lang"]
    'en'
    """
    own = {k: own[k] for k in ("lang", "confidence", "reason") if k in own}
    if lang in (UND, "") or own["lang"] == MIXED:
        return {**own, "by": "own"}
    guess = guess_of(own)
    if own["lang"] == lang:
        return {**own, "by": "own"}
    if guess == lang:  # a weak one-word answer ("und") that agrees with the context
        return {"lang": lang, "confidence": round(max(own["confidence"], conf), 4),
                "reason": f"{by}:{lang} agrees with own {guess} {own['confidence']:.2f}",
                "by": by}
    if own["lang"] == UND and guess == UND:
        if own.get("reason") in ("empty", "no_language_signal") or \
                own.get("reason", "").startswith("unsupported_script"):
            return {**own, "by": "own"}  # nothing to decide: digits, emoji, a URL
    if own["lang"] == PARTNER.get(lang) and "markers:" not in own.get("reason", ""):
        # The close partner of the context language, found by the model alone, which tells
        # the two apart at chance: the article's decision (its whole text) is the better one.
        return {"lang": lang, "confidence": round(conf, 4),
                "reason": f"{by}:{lang} over close own {guess} {own['confidence']:.2f}",
                "by": by}
    if n_letters >= SHORT_LETTERS:
        if own["lang"] != UND and own["confidence"] >= PRIOR_OVERRIDE_BELOW:
            return {**own, "by": "own"}
        return {"lang": lang, "confidence": round(conf, 4),
                "reason": f"{by}:{lang} over weak own {guess} {own['confidence']:.2f}", "by": by}
    strong = own["lang"] not in (UND, MIXED) and (
        lang not in writable or own["confidence"] >= STRONG_OWN)
    if strong:
        return {"lang": MIXED, "confidence": own["confidence"],
                "reason": f"own:{own['lang']} {own['confidence']:.2f} strong against {by}:{lang}",
                "by": "own", "sentences": [own["lang"]]}
    return {"lang": lang, "confidence": round(conf, 4),
            "reason": f"{by}:{lang} over own {guess} {own['confidence']:.2f}", "by": by}


def route_for(lang: str, mt_likely: bool, installed: set[str]) -> str:
    """The route of an article in `lang`.

    >>> route_for("en", False, set()), route_for("en", True, set())
    ('english', 'repair')
    >>> route_for("fr", False, {"fr"}), route_for("de", False, {"fr"}), route_for("und", False, set())
    ('translate', 'no_model', 'und')
    """
    if lang == "en":
        return "repair" if mt_likely else "english"
    if lang in (UND, MIXED, ""):
        return "und"
    return "translate" if lang in installed else "no_model"


def source_key(article: dict) -> str:
    """What "the same source" means for the source prior: the record's `source` (a feed's
    title, a newspaper), else the URL's host; "" when neither is known (no source prior).

    >>> source_key({"source": " Le Monde ", "url": "https://x.fr/a"}), source_key({"url": "https://www.x.fr/a"})
    ('le monde', 'www.x.fr')
    """
    src = (article.get("source") or "").strip().lower()
    if src:
        return src
    url = (article.get("url") or "").strip().lower()
    if "://" in url:
        return url.split("://", 1)[1].split("/", 1)[0]
    return ""


# The per-source language distribution (pipeline/source_language.py runs these three as a Beam
# combine per source). An article with long text votes for its language; a short one (a feed
# entry of a few words, where one detection is a guess) lends its text to a pool that is
# detected once per source: twenty two-word entries together are a paragraph. The pool keeps
# the POOL_SIZE entries with the smallest sha1(id), so it does not depend on the order of
# arrival, at most POOL_CHARS characters each (a source holds <= 6.4k characters of text).
VOTE_CHARS = 1000
POOL_SIZE = 32
POOL_CHARS = 200


def empty_votes() -> dict:
    return {"langs": {}, "votes": 0, "pool": {}}


def source_vote(article: dict, detector: Detector) -> dict:
    """One article's contribution to its source's distribution."""
    import hashlib

    body = article.get("body") or ""
    text = body[:VOTE_CHARS]
    if letters(text) >= SHORT_LETTERS:
        r = detector.detect(text)
        if r.lang not in (UND, MIXED) and r.confidence >= PRIOR_OVERRIDE_BELOW:
            return {"langs": {r.lang: 1}, "votes": 1, "pool": {}}
        return empty_votes()
    short = " ".join(t for t in (article.get("title") or "", body) if t)[:POOL_CHARS]
    if not letters(short):
        return empty_votes()
    key = hashlib.sha1(str(article.get("id", "")).encode("utf-8", "surrogatepass")).hexdigest()
    return {"langs": {}, "votes": 0, "pool": {key: short}}


def merge_votes(parts) -> dict:
    """Merge contributions, in any order and grouping, to the same result.

    >>> a = {"langs": {"fr": 1}, "votes": 1, "pool": {"b": "x"}}
    >>> b = {"langs": {"fr": 2, "en": 1}, "votes": 3, "pool": {"a": "y"}}
    >>> merge_votes([a, b]) == merge_votes([b, a]) == {"langs": {"fr": 3, "en": 1}, "votes": 4,
    ...                                                "pool": {"a": "y", "b": "x"}}
    True
    """
    out = empty_votes()
    pool: dict = {}
    for part in parts:
        for lang, n in part["langs"].items():
            out["langs"][lang] = out["langs"].get(lang, 0) + n
        out["votes"] += part["votes"]
        pool.update(part["pool"])
    out["langs"] = dict(sorted(out["langs"].items()))
    out["pool"] = {k: pool[k] for k in sorted(pool)[:POOL_SIZE]}
    return out


def source_distribution(votes: dict, detector: Detector) -> dict:
    """The final distribution of one source: the long-text votes, plus the pool detected once
    (its language gets one vote per pooled entry when the detector is not weak on it)."""
    langs = dict(votes["langs"])
    total = votes["votes"]
    pooled = ""
    if votes["pool"]:
        r = detector.detect(" \n".join(votes["pool"][k] for k in sorted(votes["pool"])))
        pooled = f"{r.lang} {r.confidence:.2f} over {len(votes['pool'])} short entries"
        if r.lang not in (UND, MIXED) and r.confidence >= PRIOR_OVERRIDE_BELOW:
            langs[r.lang] = langs.get(r.lang, 0) + len(votes["pool"])
            total += len(votes["pool"])
    return {"langs": langs, "votes": total, "pooled": pooled}


def feed_lang_of(article: dict) -> str:
    return (article.get("provenance") or {}).get("feed_lang") or ""


def article_segments(article: dict) -> list[str]:
    """The body's paragraphs, then the title (when there is one)."""
    title = article.get("title", "")
    return split_paragraphs(article["body"]) + ([title] if title else [])


def decide_article(article: dict, own: list[dict], source: dict | None,
                   sentence_langs=None) -> dict:
    """Fill the language fields of `article` from its segments' own detections (`own[i]` for
    `article_segments(article)[i]`) and its context. `sentence_langs(text, lang, conf, by)`
    splits a mixed paragraph (None: the paragraph is kept whole as mixed)."""
    segments = article_segments(article)
    n_par = len(segments) - (1 if article.get("title") else 0)
    n_letters = [letters(p) for p in segments]
    is_long = [n >= SHORT_LETTERS for n in n_letters]
    writable = writable_by(" ".join(segments))
    lang, conf, by, evidence = context_language(
        [r for r, lg in zip(own, is_long) if lg], [n for n, lg in zip(n_letters, is_long) if lg],
        writable, article.get("lang", ""), feed_lang_of(article), source,
        [r for r, lg in zip(own, is_long) if not lg],
        [n for n, lg in zip(n_letters, is_long) if not lg])
    if by in ("text", "source", "short"):  # a declared language is the publisher's word
        marked, n_for, n_against = marker_choice(" \n".join(segments), lang)
        if marked != lang and marked in writable:
            evidence.append(f"markers:{marked} {n_for}-{n_against} over {by}:{lang}")
            lang, by = marked, "markers"
    decided = []
    for text, result, n in zip(segments, own, n_letters):
        d = decide_segment(result, n, writable_by(text), lang, conf, by)
        if d["lang"] == MIXED and "sentences" not in d and sentence_langs is not None:
            d["sentences"] = sentence_langs(text, lang, conf, by)
        decided.append(d)
    article["paragraph_langs"] = decided[:n_par]
    article["title_lang"] = decided[n_par] if len(decided) > n_par else {}
    if article["title_lang"]:
        t = article["title_lang"]
        evidence.append(f"title:{t['lang']} by {t['by']} {t['confidence']:.2f}")
    article["source_lang"] = lang
    article["source_lang_confidence"] = conf
    article["source_lang_by"] = by
    article["lang_evidence"] = evidence
    return article


class LanguageStage(_Base):
    name = "language"
    config_type = LanguageConfig

    def setup(self) -> None:
        self.detector = Detector(min_confidence=self.config.lang_min_confidence)
        from models.registry import installed_source_languages

        self.installed = installed_source_languages(self.config.models_dir)

    def process(self, article: dict, source_langs: dict | None = None) -> dict:
        """`source_langs`: {source_key: distribution} from the per-source combine (a Beam side
        input); None outside a pipeline (then there is no source prior)."""
        segments = article_segments(article)
        own = [self.detector.detect(p).as_dict() for p in segments]
        decide_article(article, own, (source_langs or {}).get(source_key(article)),
                       self._sentence_langs)
        lang = article["source_lang"]
        mt_likely = bool((article.get("mt_origin") or {}).get("likely"))
        route = route_for(lang, mt_likely, self.installed)
        article["route"] = route
        if route == "no_model":
            article["status"] = f"no_model_for_{lang}"
            article["translation"] = {"status": "no_model", "model": "", "model_version": "",
                                      "reason": f"no installed model for {lang}->en "
                                                "(newsnorm models list)"}
        elif route == "und":
            article["status"] = "language_undetected"
            article["translation"] = {"status": "not_translated", "model": "",
                                      "model_version": "",
                                      "reason": "the article's language could not be determined"}
        elif route == "repair":
            article["status"] = "english_machine_translated"
        return article

    def _sentence_langs(self, text: str, lang: str, conf: float, by: str) -> list[str]:
        """A mixed paragraph's sentences, each decided in the article's context."""
        out = []
        for a, b in sentence_spans(text):
            sentence = text[a:b]
            out.append(decide_segment(self.detector.detect(sentence).as_dict(),
                                      letters(sentence), writable_by(sentence),
                                      lang, conf, by)["lang"])
        return out
