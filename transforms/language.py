"""The language stage: per-paragraph and whole-article language, then routing.

Owns: `source_lang` (+ confidence), `paragraph_langs` (one {lang, confidence, reason} per
paragraph), and the route that decides what happens next:

- "english":   native English, no translation;
- "repair":    English that looks machine-translated (mt_origin from the boilerplate stage):
               repaired, or retranslated from its original when a model is installed;
- "translate": a language with an installed model (models.registry);
- "no_model":  a language with no installed model: written untranslated with status
               `no_model_for_<lang>`, nothing faked;
- "und":       no language could be determined: status `language_undetected`.

Contract with the translate stage: only paragraphs whose `paragraph_langs[i]["lang"]` equals
`source_lang` are translated; a paragraph in another language (an English quote in a French
article) is left as it is.
"""

from __future__ import annotations

from transforms.langid import DEFAULT_MIN_CONFIDENCE as _LANGID_MIN_CONFIDENCE
from transforms.langid import MIXED, UND, Detector
from transforms.record import split_paragraphs
from transforms.stage import Stage as _Base

# Below this the detector answers "und" (the value and its measurement: transforms/langid.py).
DEFAULT_MIN_CONFIDENCE = _LANGID_MIN_CONFIDENCE


def article_language(paragraph_results: list[dict], weights: list[int]) -> tuple[str, float]:
    """The article's language: the language with the most confidence-weighted text among the
    paragraphs (und/mixed paragraphs do not vote), and as its confidence the confidence-weighted
    share of ALL the text it holds: an article whose paragraphs are all weakly French, or half
    undetermined, does not come out at 1.0.

    >>> article_language([{"lang": "fr", "confidence": .9}, {"lang": "en", "confidence": .9},
    ...                   {"lang": "fr", "confidence": .8}], [300, 80, 200])
    ('fr', 0.7414)
    >>> article_language([{"lang": "fr", "confidence": .4}, {"lang": "und", "confidence": 0}],
    ...                  [100, 100])
    ('fr', 0.2)
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


def adopt_article_language(results: list[dict], lang: str) -> list[dict]:
    """Paragraphs that came out "und" only for low confidence, with the article's language as
    their best guess, take that language: two weak signals that agree (a short French line such
    as "Oui, a-t-il dit." in a French article would otherwise stay untranslated).

    >>> adopt_article_language([{"lang": "und", "confidence": .2, "reason": "low_confidence:fr"},
    ...                         {"lang": "und", "confidence": .2, "reason": "low_confidence:es"},
    ...                         {"lang": "und", "confidence": 0, "reason": "empty"}], "fr")[0]
    {'lang': 'fr', 'confidence': 0.2, 'reason': 'article:fr agrees'}
    """
    out = []
    for r in results:
        if r["lang"] == UND and lang not in (UND, MIXED) and \
                r.get("reason") == f"low_confidence:{lang}":
            r = {**r, "lang": lang, "reason": f"article:{lang} agrees"}
        out.append(r)
    return out


def route_for(lang: str, mt_likely: bool, installed: set[str]) -> str:
    """>>> route_for("en", False, set()), route_for("en", True, set())
    ('english', 'repair')
    >>> route_for("fr", False, {"fr"}), route_for("de", False, {"fr"}), route_for("und", False, set())
    ('translate', 'no_model', 'und')
    """
    if lang == "en":
        return "repair" if mt_likely else "english"
    if lang in (UND, MIXED, ""):
        return "und"
    return "translate" if lang in installed else "no_model"


class LanguageStage(_Base):
    name = "language"

    def setup(self) -> None:
        min_conf = getattr(self.config, "lang_min_confidence", DEFAULT_MIN_CONFIDENCE)
        if min_conf is None:
            min_conf = DEFAULT_MIN_CONFIDENCE
        self.detector = Detector(min_confidence=min_conf)
        from models.registry import installed_source_languages

        models_dir = getattr(self.config, "models_dir", "") or ""
        self.installed = installed_source_languages(models_dir)

    def process(self, article: dict) -> dict:
        prior = article.get("lang", "")
        paragraphs = split_paragraphs(article["body"])
        results = [self.detector.detect(p, prior).as_dict() for p in paragraphs]
        weights = [len(p) for p in paragraphs]
        title = article.get("title", "")
        if title:
            results_t = self.detector.detect(title, prior).as_dict()
            weights_all = weights + [len(title)]
            lang, conf = article_language(results + [results_t], weights_all)
        else:
            lang, conf = article_language(results, weights)
        article["paragraph_langs"] = adopt_article_language(results, lang)
        article["source_lang"] = lang
        article["source_lang_confidence"] = conf
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
