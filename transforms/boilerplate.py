"""Boilerplate removal in already-extracted text, and machine-translation origin signals.

Owns: "Read also" blocks and their list widgets (the headlines inside go to `related`), credit
lines (to `credit`), language tags in titles, share/subscribe lines, standalone section headings
(kept, marked in `headings`), and `mt_origin`. Rules are per paragraph and per language
(English, French, Arabic); every removal is a replayable log step with the rule's name, and
removed text never reaches translation because it is no longer in the body.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from transforms.normalize import french_punctuation_spacing
from transforms.record import Reject, split_paragraphs
from transforms.replay import apply_edits, make_step
from transforms.stage import Stage as _Base

STAGE = "boilerplate"

_READ_ALSO = re.compile(
    r"^(read also|read more|also read|related|see also|lire aussi|à lire aussi|a lire aussi|"
    r"voir aussi|lire également|à lire également|اقرأ أيضا|اقرأ أيضاً|إقرأ أيضا|إقرأ أيضاً|"
    r"اقرأ ايضا|اقرأ المزيد|مواضيع ذات صلة)\s*:?$", re.I)
# Al Jazeera-style list widgets as they come out of extraction and machine translation:
# "list of 3 items", "list of 3 itemslist 1 of 3", "List 2 of 3", "end of list", and the French
# and Arabic forms.
_WIDGET = re.compile(
    r"^(?:(?:list of \d+ items?)\s*(?:list \d+ of \d+)?|list \d+ of \d+|end of list|"
    r"liste de \d+ (?:éléments|articles)\s*(?:liste \d+ sur \d+)?|liste \d+ sur \d+|fin de (?:la )?liste|"
    r"قائمة من \d+ (?:عناصر|عنصر)\s*(?:عنصر \d+ من \d+)?|عنصر \d+ من \d+|نهاية القائمة)$",
    re.I)
_END_WIDGET = re.compile(r"^(end of list|fin de (?:la )?liste|نهاية القائمة)$", re.I)
_CREDIT = re.compile(
    r"^(?:(?:source|sources|crédit|credit|photo|photos|crédit photo|photo credit|image|"
    r"المصدر|المصادر|مصدر)\s*[:：]\s*(?P<what>.{1,120})|"
    r"[(\[]?(?P<agency>AFP|Reuters|AP|Anadolu|DPA|EFE|ANSA|Xinhua|الأناضول|رويترز|"
    r"فرانس برس|وكالات)[)\]]?)$", re.I)
_SHARE = re.compile(
    r"^(share( this( article| story)?)?|share on (facebook|twitter|x|whatsapp)|"
    r"subscribe( to our newsletter| now)?.*|follow us( on .*)?|sign up for .*newsletter.*|"
    r"partager( cet article)?|abonnez-vous.*|suivez-nous.*|inscrivez-vous à .*newsletter.*|"
    r"شارك|شارك الخبر|تابعونا.*|اشترك.*النشرة.*)\.?$", re.I)
_TITLE_TAG = re.compile(
    r"\s*[(\[]\s*(?P<tag>French|Arabic|English|Français|Anglais|Arabe|Video|Vidéo|"
    r"بالفيديو|فيديو|فرنسي|عربي|بالفرنسية|بالعربية|الفرنسية|العربية)\s*[)\]]\s*$", re.I)
_TAG_LANG = {"french": "fr", "français": "fr", "francais": "fr", "arabic": "ar", "arabe": "ar",
             "english": "en", "anglais": "en", "فرنسي": "fr", "بالفرنسية": "fr",
             "الفرنسية": "fr", "عربي": "ar", "بالعربية": "ar", "العربية": "ar"}
_PLACEHOLDER = re.compile(r"<\s*>|&lt;\s*&gt;|__NUM_?\d+__|\{\{[A-Z]-PLACEHOLDER|<unk>")
_SENTENCE_END = re.compile(r"[.!?؟…:;»\"”’)]$")
# A "Read also" headline is a short line: the three in the seed are 9-14 words. 20 words
# leaves room for long headlines while a body sentence after "Lire aussi" (ending in a full
# stop) is still kept by the sentence-end test.
HEADLINE_MAX_WORDS = 20
# Standalone section headings in the seed are 2-4 words ("Extra day", "Resumption of war",
# "Continuation of the truce"); 8 words and 60 characters keep real headings and leave any
# sentence-length paragraph alone.
HEADING_MAX_WORDS = 8
HEADING_MAX_CHARS = 60

_EN_STOP = frozenset("the of and to in a is that for on was with said as by at from it his "
                     "has have be are an its were which this who will had not but after".split())


def looks_english(text: str) -> bool:
    """A cheap test used only to decide whether French typography may be fixed: at least 12%
    of the Latin-script words are English function words (English news prose: 35-45%; French
    prose: under 3%, measured on the example drop and the seed).

    >>> looks_english("The ministry said the talks would resume on Friday.")
    True
    >>> looks_english("Le ministre a annoncé une enveloppe pour les communes.")
    False
    """
    words = re.findall(r"[A-Za-z]+", text.lower())
    if len(words) < 3:
        return False
    return sum(w in _EN_STOP for w in words) / len(words) >= 0.12


def is_heading(paragraph: str, next_paragraph: str | None) -> bool:
    """A short line with no sentence punctuation, followed by a longer paragraph.

    >>> is_heading("Extra day", "The Qatari Foreign Ministry announced this morning that ...")
    True
    >>> is_heading("He said so.", "More text follows here and it is long.")
    False
    """
    p = paragraph.strip()
    if not p or next_paragraph is None or len(p) > HEADING_MAX_CHARS:
        return False
    if len(p.split()) > HEADING_MAX_WORDS or _SENTENCE_END.search(p):
        return False
    if not (p[0].isupper() or "\u0600" <= p[0] <= "\u06ff"):
        return False
    return len(next_paragraph) > 2 * len(p)


class Removal(NamedTuple):
    index: int
    rule: str
    kind: str
    keep_as: str  # "related", "credit" or ""


def classify_paragraphs(paragraphs: list[str]) -> tuple[list[Removal], list[str]]:
    """Decide which paragraphs are boilerplate; returns (removals, mt signals seen)."""
    removals: list[Removal] = []
    signals: list[str] = []
    i = 0
    n = len(paragraphs)
    while i < n:
        p = paragraphs[i].strip()
        if _READ_ALSO.match(p):
            removals.append(Removal(i, "read_also_marker", "read_also", ""))
            j = i + 1
            widget_seen = False
            while j < n:
                q = paragraphs[j].strip()
                if _WIDGET.match(q):
                    widget_seen = True
                    removals.append(Removal(j, "list_widget", "widget", ""))
                    j += 1
                    if _END_WIDGET.match(q):
                        break
                    continue
                short = len(q.split()) <= HEADLINE_MAX_WORDS and not re.search(r"[.!?؟]$", q)
                if widget_seen or (short and j == i + 1):
                    removals.append(Removal(j, "read_also_headline", "related", "related"))
                    j += 1
                    if not widget_seen:
                        break
                    continue
                break
            if widget_seen:
                signals.append("widget_artifacts")
            i = j
            continue
        if _WIDGET.match(p):
            removals.append(Removal(i, "list_widget", "widget", ""))
            signals.append("widget_artifacts")
        elif _SHARE.match(p):
            removals.append(Removal(i, "share_line", "share", ""))
        else:
            m = _CREDIT.match(p)
            if m and (i >= n - 2 or i == 0):
                removals.append(Removal(i, "credit_line", "credit", "credit"))
                if re.match(r"^[A-Za-z]+ : ", p):
                    signals.append("french_typography_in_credit")
        i += 1
    return removals, sorted(set(signals))


def _paragraph_spans(body: str) -> list[tuple[int, int]]:
    spans, pos = [], 0
    for para in split_paragraphs(body):
        start = body.index(para, pos)
        spans.append((start, start + len(para)))
        pos = start + len(para)
    return spans


def paragraph_deletions(body: str, indexes: list[int]) -> list[tuple[int, int, int]]:
    r"""Non-overlapping (index, start, end) spans that delete paragraphs with one separator
    each, so the remaining body keeps exactly one blank line between paragraphs. A paragraph
    deletes its following separator, except in a removed run that reaches the end of the body,
    where each deletes its preceding separator.

    >>> paragraph_deletions("a\n\nb\n\nc", [1])
    [(1, 3, 6)]
    >>> paragraph_deletions("a\n\nb\n\nc", [1, 2])
    [(1, 1, 4), (2, 4, 7)]
    >>> paragraph_deletions("a\n\nb", [0, 1])
    [(0, 0, 3), (1, 3, 4)]
    """
    spans = _paragraph_spans(body)
    drop = set(indexes)
    n = len(spans)
    tail_start = n
    while tail_start > 0 and tail_start - 1 in drop:
        tail_start -= 1
    out = []
    for i in sorted(drop):
        s, e = spans[i]
        if i >= tail_start and tail_start > 0:
            out.append((i, spans[i - 1][1], e))
        elif i + 1 < n:
            out.append((i, s, spans[i + 1][0]))
        else:
            out.append((i, s, e))
    return out


class Stage(_Base):
    name = "boilerplate"

    def process(self, article: dict) -> dict:
        signals = set(article["mt_origin"].get("signals", []))
        # Title: a source-language tag such as "(French)".
        m = _TITLE_TAG.search(article["title"])
        if m:
            tag = m.group("tag")
            article["repairs"].append(make_step(
                STAGE, "title_language_tag", "language_tag", "title", article["title"],
                m.start(), m.end(), "", evidence=f"title ends with ({tag})"))
            article["title"] = article["title"][:m.start()]
            signals.add(f"title_language_tag:{_TAG_LANG.get(tag.lower(), tag.lower())}")
        paragraphs = split_paragraphs(article["body"])
        removals, seen = classify_paragraphs(paragraphs)
        signals.update(seen)
        if removals:
            rule = {r.index: r for r in removals}
            edits = paragraph_deletions(article["body"], list(rule))
            body = article["body"]
            steps = []
            shift = 0
            for index, s, e in edits:
                r = rule[index]
                steps.append(make_step(STAGE, r.rule, r.kind, "body", body, s - shift,
                                       e - shift, ""))
                body = body[:s - shift] + body[e - shift:]
                shift += e - s
            for r in removals:
                if r.keep_as:
                    article[r.keep_as].append(paragraphs[r.index].strip())
            article["body"] = body
            article["repairs"].extend(steps)
        if not article["body"].strip():
            raise Reject("empty_after_cleaning", "the body was all boilerplate")
        # French typography: a signal and a fix, only where the text is English.
        for field in ("title", "body"):
            edits = french_punctuation_spacing(article[field])
            if edits and looks_english(article[field]):
                # French spacing in English text: a sign it was translated from French.
                signals.add("french_typography")
                article[field], steps = apply_edits(STAGE, "french_punctuation_spacing",
                                                        "typography", field, article[field],
                                                        edits)
                article["repairs"].extend(steps)
        if _PLACEHOLDER.search(article["body"]) or _PLACEHOLDER.search(article["title"]):
            signals.add("number_placeholders")
        paragraphs = split_paragraphs(article["body"])
        article["headings"] = [i for i, p in enumerate(paragraphs)
                               if is_heading(p, paragraphs[i + 1] if i + 1 < len(paragraphs)
                                             else None)]
        # One signal of the structural kinds (widgets, placeholders, a language tag) is enough;
        # French typography alone is weak (an English writer may type "Note : ..."), so it
        # needs a second signal.
        article["mt_origin"] = {"likely": bool(signals - {"french_typography"}),
                                "signals": sorted(signals)}
        return article
